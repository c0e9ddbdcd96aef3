//! The SQLSTATE policy (DESIGN.md, "One SQLSTATE policy drives retry,
//! eviction, failover and the breaker"). Pure: no I/O.
//!
//! | SQLSTATE | Action |
//! |---|---|
//! | class `08`, `57P01`-`57P03` | evict the connection (HikariCP #1802) |
//! | `25006` (read-only transaction) | on return, ask the server: when it really is read-only (`pg_is_in_recovery()`, or `default_transaction_read_only` after a reset), retire every connection so new ones re-resolve the primary (HikariCP #2185, vertx-sql-client #981); a caller's own `READ ONLY` transaction changes nothing |
//! | `40001`, `40P01` | retry the transaction with jittered backoff (pgx #1040 declined to; dbos PR #426 does) |
//! | `53300` (too many connections) | open the circuit breaker |
//! | no SQLSTATE, fatal (I/O, protocol, closed) | evict |

use tusk::{Error, ErrorKind};

/// What the pool does about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing: the connection is fine.
    Keep,
    /// Close this connection instead of returning it.
    Evict,
    /// 25006: on return, check whether the server itself is read-only
    /// (failover: then retire every connection to re-resolve the primary).
    CheckReadOnly,
    /// Retry the whole transaction.
    RetryTransaction,
    /// Open the circuit breaker (and close this connection).
    OpenBreaker,
}

/// Classifies an error by its SQLSTATE first, then by its kind.
pub(crate) fn classify(e: &Error) -> Action {
    if let Some(code) = e.code() {
        return match code.code() {
            "40001" | "40P01" => Action::RetryTransaction,
            "25006" => Action::CheckReadOnly,
            "53300" => Action::OpenBreaker,
            "57P01" | "57P02" | "57P03" => Action::Evict,
            _ if code.class() == "08" => Action::Evict,
            _ if e.is_fatal() => Action::Evict,
            _ => Action::Keep,
        };
    }
    if e.is_fatal() || matches!(e.kind(), ErrorKind::Connection | ErrorKind::Closed) {
        Action::Evict
    } else {
        Action::Keep
    }
}

/// The label under which an eviction is counted: the SQLSTATE class, or
/// `"io"` when the error has no SQLSTATE.
pub(crate) fn eviction_class(e: &Error) -> &'static str {
    match e.code().as_ref().map(|c| c.class().to_string()).as_deref() {
        Some("08") => "08",
        Some("57") => "57",
        Some("25") => "25",
        Some("53") => "53",
        Some(_) => "other",
        None => "io",
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
        || e.code().is_some_and(|c| c.code() == "3D000")
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
