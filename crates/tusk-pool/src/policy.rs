//! The pool's side of the SQLSTATE policy (DESIGN.md, "One SQLSTATE policy
//! drives retry, eviction, failover and the breaker"). The table itself is
//! the driver's, `tusk::error::policy`, shared with `Error::kind`; this
//! module adds what has no SQLSTATE (I/O errors, fatal severities) and the
//! server check behind `25006`. Pure except [`server_read_only`].
//!
//! | error | action |
//! |---|---|
//! | a SQLSTATE | its row in `tusk::error::policy` (evict for `08`, `57P01`-`57P03`; retry the transaction for `40001`, `40P01`; check for failover on `25006`, HikariCP #2185, vertx-sql-client #981; open the breaker on `53300`) |
//! | a SQLSTATE the table keeps, with severity FATAL or PANIC | evict |
//! | no SQLSTATE, fatal (I/O, protocol, closed) | evict |

use tusk::error::SqlState;
use tusk::{Error, ErrorKind};

pub(crate) use tusk::error::Action;

/// Classifies an error by its SQLSTATE first (the driver's policy table),
/// then by its kind.
pub(crate) fn classify(e: &Error) -> Action {
    if let Some(code) = e.code() {
        return match code.policy().action {
            Action::Keep if e.is_fatal() => Action::Evict,
            action => action,
        };
    }
    if e.is_fatal() || matches!(e.kind(), ErrorKind::Connection | ErrorKind::Closed) {
        Action::Evict
    } else {
        Action::Keep
    }
}

/// The label under which an eviction is counted: the SQLSTATE class when it
/// is one the policy table acts on (`08`, `57`, `25`, `53`), `"other"` for
/// any other SQLSTATE, or `"io"` when the error has no SQLSTATE.
pub(crate) fn eviction_class(e: &Error) -> &'static str {
    const LABELLED: [(SqlState, &str); 4] = [
        (SqlState::CONNECTION_EXCEPTION, "08"),
        (SqlState::OPERATOR_INTERVENTION, "57"),
        (SqlState::INVALID_TRANSACTION_STATE, "25"),
        (SqlState::INSUFFICIENT_RESOURCES, "53"),
    ];
    match e.code() {
        None => "io",
        Some(code) => LABELLED
            .iter()
            .find(|(class, _)| code.is_in_class(*class))
            .map_or("other", |(_, label)| label),
    }
}

/// Whether the server behind `conn` is read-only by its own settings
/// (in recovery, or `default_transaction_read_only` on once the session is
/// reset), when `connect` asked for a server that accepts writes. Run
/// after a reset, outside a transaction.
pub(crate) async fn server_read_only(
    conn: &tusk::Connection,
    attrs: tusk::config::TargetSessionAttrs,
) -> Result<bool, Error> {
    use tusk::config::TargetSessionAttrs as T;
    use tusk::Executor;
    if matches!(attrs, T::ReadOnly | T::Standby | T::PreferStandby) {
        // A read-only server is what was asked for: a new one would be too.
        return Ok(false);
    }
    let row = conn
        .query_one(
            "SELECT pg_catalog.pg_is_in_recovery() \
             OR pg_catalog.current_setting('default_transaction_read_only')::bool",
            &[],
        )
        .await?;
    row.try_get::<bool>(0)
}

/// True for errors a transaction retry can cure.
pub(crate) fn is_retryable_tx(e: &Error) -> bool {
    classify(e) == Action::RetryTransaction
}

/// True for connect errors that retrying will not cure (bad password,
/// unknown database, bad configuration): they are returned at once.
pub(crate) fn is_permanent_connect_error(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Configuration | ErrorKind::Permission)
        || e.code().is_some_and(|c| c.policy().permanent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_and_closed_evict() {
        let e = Error::new(ErrorKind::Connection, "reset by peer");
        assert_eq!(classify(&e), Action::Evict);
        assert_eq!(eviction_class(&e), "io");
        let e = Error::new(ErrorKind::Closed, "closed");
        assert_eq!(classify(&e), Action::Evict);
        let e = Error::new(ErrorKind::Data, "bad value");
        assert_eq!(classify(&e), Action::Keep);
        assert!(!is_retryable_tx(&e));
        assert!(is_permanent_connect_error(&Error::new(
            ErrorKind::Permission,
            "no"
        )));
    }
}
