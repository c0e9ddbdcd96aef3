//! One error type for the whole library.
//!
//! [`Error`] carries a [`ErrorKind`] that callers can match on, and, for
//! errors the server reported, every field of the server's `ErrorResponse`
//! ([`DbError`]). `Display` shows the server's own words: message, detail,
//! hint and position, never a bare "db error".
//!
//! ```
//! use tusk::{Error, ErrorKind};
//! fn retryable(e: &Error) -> bool {
//!     matches!(e.kind(), ErrorKind::Serialization | ErrorKind::Connection)
//! }
//! ```

mod db;
pub mod policy;
mod sqlstate;

pub use db::{DbError, ErrorPosition, Severity};
pub use policy::{Action, Policy};
pub use sqlstate::SqlState;

use std::fmt;
use std::sync::Arc;

/// What went wrong, coarsely: the classes callers act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection failed or was lost (I/O error, server went away, SQLSTATE class 08, 57P01-03).
    Connection,
    /// A timeout elapsed: connect, query or cancel.
    Timeout,
    /// The query was canceled (SQLSTATE 57014 not caused by a tusk timeout).
    Canceled,
    /// A pool had no connection to give in time.
    PoolExhausted,
    /// An integrity constraint was violated (SQLSTATE class 23).
    Integrity,
    /// Bad data: a value out of range, a bad format, division by zero (class 22).
    Data,
    /// A serialization failure or deadlock: retry the transaction (40001, 40P01).
    Serialization,
    /// The SQL could not be parsed or refers to something that does not exist (class 42 except 42501).
    Syntax,
    /// Permission denied or authentication failed (42501, class 28).
    Permission,
    /// The server sent something that breaks the protocol, or a message tusk did not expect.
    Protocol,
    /// The configuration (connection string, environment, TLS files) is invalid.
    Configuration,
    /// A Rust value could not be converted to or from a PostgreSQL value
    /// (wrong type, wrong parameter count, a NULL into a non-`Option`, a value too large to send).
    Conversion,
    /// A query expected a number of rows and got another (`query_one` on 0 or 2 rows).
    RowCount,
    /// The connection is closed (by [`Connection::close`](crate::Connection::close) or after a fatal error).
    Closed,
    /// Something that needs an open transaction block was asked for
    /// outside one: a [`Portal`](crate::Portal) (the server destroys it at
    /// the Sync that ends its implicit transaction), a cursor declared
    /// without `WITH HOLD`, or the next batch of a portal whose
    /// transaction has ended. Nothing was sent.
    NotInTransaction,
    /// `COPY ... FROM STDIN` or `COPY ... TO STDOUT` was sent through a
    /// query method (`query`, `execute`, `simple_query`, ...), which cannot
    /// carry COPY data: use `copy_in` or `copy_out`. The COPY was aborted
    /// (or its output discarded) and the connection remains usable.
    CopyViaQuery,
    /// Any other error the server reported.
    Database,
    /// An error that fits no other kind.
    Other,
}

/// The error type of every fallible operation in tusk.
///
/// Cheap to clone (one `Arc`), so one failure can be handed to every caller
/// that was waiting on a broken connection.
#[derive(Clone)]
pub struct Error(Arc<Inner>);

struct Inner {
    kind: ErrorKind,
    /// The request this error answers provably never ran (see
    /// [`Error::not_run`]).
    not_run: bool,
    message: String,
    db: Option<DbError>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` with `message`, for layers built on the driver (a
    /// pool, a runtime service), so the whole library has one error type.
    ///
    /// ```
    /// let e = tusk::Error::new(tusk::ErrorKind::PoolExhausted, "no connection within 5s");
    /// assert_eq!(e.kind(), tusk::ErrorKind::PoolExhausted);
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Arc::new(Inner {
            kind,
            not_run: false,
            message: message.into(),
            db: None,
            source: None,
        }))
    }

    /// An error of `kind` with `message`, caused by `source` (kept for
    /// [`std::error::Error::source`]).
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error(Arc::new(Inner {
            kind,
            not_run: false,
            message: message.into(),
            db: None,
            source: Some(source.into()),
        }))
    }

    pub(crate) fn db(db: DbError) -> Error {
        let kind = kind_of(&db.code);
        Error(Arc::new(Inner {
            kind,
            not_run: false,
            message: String::new(),
            db: Some(db),
            source: None,
        }))
    }

    pub(crate) fn io(context: &str, e: std::io::Error) -> Error {
        let kind = if e.kind() == std::io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            ErrorKind::Connection
        };
        Error::with_source(kind, context.to_string(), e)
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message)
    }

    pub(crate) fn conversion(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conversion, message)
    }

    pub(crate) fn closed() -> Error {
        Error::new(ErrorKind::Closed, "the connection is closed")
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Configuration, message)
    }

    /// A query that tusk canceled because its timeout elapsed.
    pub(crate) fn timed_out(after: std::time::Duration, server: Option<&Error>) -> Error {
        Error(Arc::new(Inner {
            kind: ErrorKind::Timeout,
            not_run: false,
            message: format!("query timed out after {after:?}"),
            db: server.and_then(|e| e.0.db.clone()),
            source: None,
        }))
    }

    /// Returns a copy of this error with another kind (keeps the server fields).
    pub(crate) fn with_kind(&self, kind: ErrorKind) -> Error {
        Error(Arc::new(Inner {
            kind,
            not_run: false,
            message: self.0.message.clone(),
            db: self.0.db.clone(),
            source: None,
        }))
    }

    /// A [`Connection`](ErrorKind::Connection) error for a request that
    /// provably never ran: the session reset carried in front of it
    /// failed, so the server skipped it (see [`Error::not_run`]).
    pub(crate) fn reset_failed(message: String, source: Error) -> Error {
        Error(Arc::new(Inner {
            kind: ErrorKind::Connection,
            not_run: true,
            message,
            db: None,
            source: Some(Box::new(source)),
        }))
    }

    /// True when the request this error answers provably never ran on the
    /// server, so running it again elsewhere cannot run it twice: the
    /// session reset a pool queued in front of it
    /// ([`Connection::queue_session_reset`](crate::Connection::queue_session_reset))
    /// failed, and the server skipped everything behind it. (A connection
    /// that dies under a request is never such an error: whether that
    /// request ran cannot be known.)
    pub fn not_run(&self) -> bool {
        self.0.not_run
    }

    /// The coarse class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The server's error fields, when the server reported this error.
    pub fn as_db_error(&self) -> Option<&DbError> {
        self.0.db.as_ref()
    }

    /// The SQLSTATE code, when the server reported this error.
    pub fn code(&self) -> Option<SqlState> {
        self.0.db.as_ref().map(|d| d.code)
    }

    /// True when the connection this error came from can no longer be used.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::Connection | ErrorKind::Closed | ErrorKind::Protocol
        ) || self
            .0
            .db
            .as_ref()
            .is_some_and(|d| matches!(d.severity, Severity::Fatal | Severity::Panic))
    }
}

/// Maps a SQLSTATE to the kind callers act on: the kind column of the one
/// SQLSTATE policy table ([`policy`]).
pub(crate) fn kind_of(code: &SqlState) -> ErrorKind {
    code.policy().kind
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind);
        if !self.0.message.is_empty() {
            d.field("message", &self.0.message);
        }
        if let Some(db) = &self.0.db {
            d.field("db", db);
        }
        if let Some(s) = &self.0.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = &self.0.db {
            if !self.0.message.is_empty() {
                write!(f, "{}: ", self.0.message)?;
            }
            return fmt::Display::fmt(db, f);
        }
        f.write_str(&self.0.message)?;
        if let Some(s) = &self.0.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.source {
            Some(s) => Some(&**s as &(dyn std::error::Error + 'static)),
            None => self
                .0
                .db
                .as_ref()
                .map(|d| d as &(dyn std::error::Error + 'static)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_sqlstate_policy() {
        let k = |c: &str| kind_of(&SqlState::from_code(c));
        assert_eq!(k("23505"), ErrorKind::Integrity);
        assert_eq!(k("40001"), ErrorKind::Serialization);
        assert_eq!(k("40P01"), ErrorKind::Serialization);
        assert_eq!(k("08006"), ErrorKind::Connection);
        assert_eq!(k("57P01"), ErrorKind::Connection);
        assert_eq!(k("42601"), ErrorKind::Syntax);
        assert_eq!(k("42501"), ErrorKind::Permission);
        assert_eq!(k("28P01"), ErrorKind::Permission);
        assert_eq!(k("22012"), ErrorKind::Data);
        assert_eq!(k("57014"), ErrorKind::Canceled);
        assert_eq!(k("XX000"), ErrorKind::Database);
    }
}
