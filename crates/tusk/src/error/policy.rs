//! The SQLSTATE policy: one table saying, for each SQLSTATE that matters,
//! which [`ErrorKind`] the driver reports and what a pool does about it
//! (DESIGN.md: "One SQLSTATE policy drives retry, eviction, failover and the
//! breaker"). Both [`Error`](crate::Error)'s kind and tusk-pool's
//! classification read it; it is keyed by the generated [`SqlState`]
//! constants, never by string literals. Pure: no I/O.
//!
//! | SQLSTATE | kind | action |
//! |---|---|---|
//! | `40001`, `40P01` | Serialization | retry the transaction with jittered backoff |
//! | `57014` | Canceled | keep |
//! | `57P01`-`57P03` | Connection | evict the connection |
//! | `42501` | Permission | keep (a connect error: permanent) |
//! | `25006` | Database | check whether the server itself is read-only (failover) |
//! | `53300` | Database | open the circuit breaker |
//! | `3D000` | Database | keep (a connect error: permanent) |
//! | class `08` | Connection | evict the connection |
//! | class `23` | Integrity | keep |
//! | class `22` | Data | keep |
//! | class `28` | Permission | keep (a connect error: permanent) |
//! | class `42` | Syntax | keep |
//! | anything else | Database | keep |
//!
//! ```
//! use tusk::error::{Action, SqlState};
//! use tusk::ErrorKind;
//!
//! let p = SqlState::DEADLOCK_DETECTED.policy();
//! assert_eq!(p.kind, ErrorKind::Serialization);
//! assert_eq!(p.action, Action::RetryTransaction);
//! assert_eq!(SqlState::from_code("08006").policy().action, Action::Evict);
//! ```

use super::{ErrorKind, SqlState};

/// What a pool does about an error with a given SQLSTATE.
///
/// Exhaustive on purpose: a new action must be handled by every pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing: the connection is fine.
    Keep,
    /// Close this connection instead of returning it (the server is going
    /// away or the connection is broken).
    Evict,
    /// `25006`: on return, ask whether the server itself is read-only
    /// (failover: then retire every connection so new ones re-resolve the
    /// primary). A caller's own `READ ONLY` transaction changes nothing.
    CheckReadOnly,
    /// Retry the whole transaction (serialization failure, deadlock).
    RetryTransaction,
    /// Open the circuit breaker (and close this connection): the server
    /// refuses more connections.
    OpenBreaker,
}

/// The policy for one SQLSTATE: what the driver calls it and what a pool
/// does about it. See the [module table](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Policy {
    /// The kind an [`Error`](crate::Error) with this SQLSTATE has.
    pub kind: ErrorKind,
    /// What a pool does about it.
    pub action: Action,
    /// Whether a connect attempt that failed with it will fail again the
    /// same way (bad password, unknown database): a pool returns it at once
    /// instead of retrying.
    pub permanent: bool,
}

const fn rule(kind: ErrorKind, action: Action, permanent: bool) -> Policy {
    Policy {
        kind,
        action,
        permanent,
    }
}

/// Rules for single codes; checked before [`BY_CLASS`].
const BY_CODE: &[(SqlState, Policy)] = &[
    (
        SqlState::SERIALIZATION_FAILURE,
        rule(ErrorKind::Serialization, Action::RetryTransaction, false),
    ),
    (
        SqlState::DEADLOCK_DETECTED,
        rule(ErrorKind::Serialization, Action::RetryTransaction, false),
    ),
    (
        SqlState::QUERY_CANCELED,
        rule(ErrorKind::Canceled, Action::Keep, false),
    ),
    (
        SqlState::ADMIN_SHUTDOWN,
        rule(ErrorKind::Connection, Action::Evict, false),
    ),
    (
        SqlState::CRASH_SHUTDOWN,
        rule(ErrorKind::Connection, Action::Evict, false),
    ),
    (
        SqlState::CANNOT_CONNECT_NOW,
        rule(ErrorKind::Connection, Action::Evict, false),
    ),
    (
        SqlState::INSUFFICIENT_PRIVILEGE,
        rule(ErrorKind::Permission, Action::Keep, true),
    ),
    (
        SqlState::READ_ONLY_SQL_TRANSACTION,
        rule(ErrorKind::Database, Action::CheckReadOnly, false),
    ),
    (
        SqlState::TOO_MANY_CONNECTIONS,
        rule(ErrorKind::Database, Action::OpenBreaker, false),
    ),
    (
        SqlState::INVALID_CATALOG_NAME,
        rule(ErrorKind::Database, Action::Keep, true),
    ),
];

/// Rules for whole classes, keyed by the class's own constant (`08000` for
/// class `08`).
const BY_CLASS: &[(SqlState, Policy)] = &[
    (
        SqlState::CONNECTION_EXCEPTION,
        rule(ErrorKind::Connection, Action::Evict, false),
    ),
    (
        SqlState::INTEGRITY_CONSTRAINT_VIOLATION,
        rule(ErrorKind::Integrity, Action::Keep, false),
    ),
    (
        SqlState::DATA_EXCEPTION,
        rule(ErrorKind::Data, Action::Keep, false),
    ),
    (
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        rule(ErrorKind::Permission, Action::Keep, true),
    ),
    (
        SqlState::SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
        rule(ErrorKind::Syntax, Action::Keep, false),
    ),
];

/// Every other SQLSTATE.
const OTHERWISE: Policy = rule(ErrorKind::Database, Action::Keep, false);

impl SqlState {
    /// The policy for this SQLSTATE: its error kind and what a pool does
    /// about it (see the [policy table](crate::error::policy)).
    pub fn policy(&self) -> Policy {
        if let Some((_, p)) = BY_CODE.iter().find(|(c, _)| c == self) {
            return *p;
        }
        BY_CLASS
            .iter()
            .find(|(c, _)| c.class() == self.class())
            .map_or(OTHERWISE, |(_, p)| *p)
    }

    /// Whether this SQLSTATE is in `class`, given as any code of that class
    /// (usually the class's own constant, e.g.
    /// [`SqlState::TRANSACTION_ROLLBACK`] for class `40`).
    ///
    /// ```
    /// use tusk::error::SqlState;
    /// assert!(SqlState::DEADLOCK_DETECTED.is_in_class(SqlState::TRANSACTION_ROLLBACK));
    /// assert!(!SqlState::QUERY_CANCELED.is_in_class(SqlState::TRANSACTION_ROLLBACK));
    /// ```
    pub fn is_in_class(&self, class: SqlState) -> bool {
        self.class() == class.class()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(code: &str) -> Policy {
        SqlState::from_code(code).policy()
    }

    #[test]
    fn single_codes_win_over_their_class() {
        // 42501 is in class 42 (Syntax) but is a permission error.
        assert_eq!(p("42501").kind, ErrorKind::Permission);
        assert!(p("42501").permanent);
        assert_eq!(p("42601").kind, ErrorKind::Syntax);
        // 57014 and 57P0x share class 57 and differ.
        assert_eq!(p("57014").kind, ErrorKind::Canceled);
        assert_eq!(p("57014").action, Action::Keep);
        for c in ["57P01", "57P02", "57P03"] {
            assert_eq!(p(c).kind, ErrorKind::Connection, "{c}");
            assert_eq!(p(c).action, Action::Evict, "{c}");
        }
        assert_eq!(p("57000").action, Action::Keep);
    }

    #[test]
    fn the_pool_actions() {
        assert_eq!(p("40001").action, Action::RetryTransaction);
        assert_eq!(p("40P01").action, Action::RetryTransaction);
        // Other class-40 codes are not retried.
        assert_eq!(p("40002").action, Action::Keep);
        assert_eq!(p("25006").action, Action::CheckReadOnly);
        assert_eq!(p("25001").action, Action::Keep);
        assert_eq!(p("53300").action, Action::OpenBreaker);
        assert_eq!(p("53200").action, Action::Keep);
        assert_eq!(p("08006").action, Action::Evict);
        assert_eq!(p("08P01").action, Action::Evict);
        assert_eq!(p("23505").action, Action::Keep);
    }

    #[test]
    fn permanent_connect_errors() {
        assert!(p("3D000").permanent);
        assert!(p("28P01").permanent);
        assert!(p("28000").permanent);
        assert!(!p("53300").permanent);
        assert!(!p("08006").permanent);
        assert!(!p("57P03").permanent);
    }

    #[test]
    fn unknown_codes_are_plain_database_errors() {
        assert_eq!(p("XX000"), OTHERWISE);
        assert_eq!(p("ZZ999"), OTHERWISE);
        assert_eq!(p("P0001").kind, ErrorKind::Database);
    }

    #[test]
    fn every_rule_key_is_a_known_code() {
        for (c, _) in BY_CODE.iter().chain(BY_CLASS) {
            assert!(c.name().is_some(), "{c} is not in errcodes.txt");
        }
        // Class keys are the class's own `xx000` code.
        for (c, _) in BY_CLASS {
            assert!(c.code().ends_with("000"), "{c}");
        }
    }

    #[test]
    fn class_membership() {
        assert!(SqlState::from_code("08P01").is_in_class(SqlState::CONNECTION_EXCEPTION));
        assert!(!SqlState::from_code("09000").is_in_class(SqlState::CONNECTION_EXCEPTION));
    }
}
