//! What one request (one Sync group, or one simple Query) collects from the
//! server's messages.

use std::collections::VecDeque;
use std::sync::Arc;

use postgres_types::Type;

use crate::connection::TransactionStatus;
use crate::error::Error;
use crate::row::{Row, RowDesc};
use crate::statement::Statement;

/// One message of a simple-query result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SimpleQueryMessage {
    /// A row, all columns in text format (read with [`Row::get_text`]).
    Row(Row),
    /// A statement finished.
    CommandComplete {
        /// The command tag, e.g. `INSERT 0 3`.
        tag: String,
        /// Rows affected or returned, when the tag says.
        rows: u64,
    },
}

/// The request's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Proto {
    /// Parse/Bind/Describe/Execute/Sync.
    #[default]
    Extended,
    /// Query.
    Simple,
}

/// Everything a request collected. `Default` is an empty extended response.
#[derive(Default)]
pub(crate) struct Response {
    pub proto: Proto,
    /// The statement the flight parses, describes or binds.
    pub stmt: Option<Statement>,
    /// The statement is the cache's (so errors may evict it).
    pub cached: bool,
    /// Where the flight's Parse stands.
    pub parse: ParseStep,
    /// BindComplete arrived: the statement started to run, so an error
    /// from now on may come after side effects.
    pub bound: bool,
    /// A `Describe Statement` is in the flight.
    pub describing: bool,
    pub params: Option<Vec<Type>>,
    pub desc: Option<Arc<RowDesc>>,
    pub text_results: bool,
    pub rows: VecDeque<Row>,
    /// Set for streams: the driver stops reading while this many rows wait.
    pub stream_limit: Option<usize>,
    /// The last CommandComplete tag.
    pub tag: Option<String>,
    /// A PortalSuspended arrived: an Execute with a row limit stopped
    /// with rows left in its portal (see `crate::cursor`).
    pub suspended: bool,
    pub error: Option<Error>,
    pub simple: Vec<SimpleQueryMessage>,
    /// Transaction status from the ReadyForQuery that ended the request
    /// (for a part of an atomic group, the last one known when it ended).
    pub status: Option<TransactionStatus>,
    /// Skipping a COPY OUT this request did not ask for.
    pub skipping_copy: bool,
    /// Whether the request was sent in a read group (see
    /// `Engine::try_group`).
    pub group: Grouping,
    /// Whose request it is.
    pub purpose: Purpose,
    /// What is left of the answer to a session reset carried in front of
    /// this request (see `engine::reset`).
    pub reset: CarriedReset,
    /// Where a COPY of the COPY API stands (see `crate::copy`).
    pub copy: CopyPhase,
    /// COPY OUT data received and not taken yet (one CopyData each).
    pub copy_data: VecDeque<bytes::Bytes>,
}

/// Where a request made by the COPY API stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum CopyPhase {
    /// Not a COPY API request: a COPY answer is refused.
    #[default]
    None,
    /// A `COPY ... FROM STDIN`: its CopyInResponse is awaited.
    WantIn,
    /// A `COPY ... TO STDOUT`: its CopyOutResponse is awaited.
    WantOut,
    /// The server is in COPY IN mode for it: CopyData goes right behind it.
    In,
    /// The server sends its CopyData.
    Out,
}

/// Where a request's Parse stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ParseStep {
    /// Its flight has no Parse (the statement was prepared before).
    #[default]
    None,
    /// A Parse is in the flight, not confirmed yet.
    Sent,
    /// ParseComplete arrived: the server has the statement.
    Confirmed,
}

/// A request's place in a read group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Grouping {
    /// Not in a read group.
    #[default]
    Alone,
    /// It leads a read group, and the group's read-only prefix's answer
    /// (BindComplete, one DataRow, CommandComplete) comes first: that is
    /// not this request's.
    PrefixAhead,
    /// A member of a read group (the prefix's answer, if it led, is past).
    Member,
}

impl Grouping {
    /// The request was sent in a read group.
    pub(crate) fn grouped(self) -> bool {
        self != Grouping::Alone
    }
}

/// Whose request it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Purpose {
    /// A caller's.
    #[default]
    Caller,
    /// The engine's own, hidden request that prepares the read-only prefix
    /// of read groups.
    PreparePrefix,
}

/// The answer to a session reset carried in front of a request (see
/// `engine::reset`): none of it is the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum CarriedReset {
    /// No reset, or its answer is past.
    #[default]
    None,
    /// `left` (at least one) statements' CommandComplete are still to
    /// come, then, if the reset has a simple Query (`own_sync`), that
    /// Query's ReadyForQuery and the statements behind it (the check,
    /// `engine::reset::CHECK`, and the reset's last).
    Statements { left: usize, own_sync: bool },
    /// The ReadyForQuery of the reset's simple Query is still to come,
    /// then the statements behind it.
    ReadyForQuery,
}

impl CarriedReset {
    /// What is left with `left` statements still to answer.
    pub(crate) fn new(left: usize, own_sync: bool) -> CarriedReset {
        match (left, own_sync) {
            (0, false) => CarriedReset::None,
            (0, true) => CarriedReset::ReadyForQuery,
            (left, own_sync) => CarriedReset::Statements { left, own_sync },
        }
    }

    /// Some of the reset's answer is still to come: the server's messages
    /// are the reset's, not the request's.
    pub(crate) fn is_answering(self) -> bool {
        self != CarriedReset::None
    }

    /// Rows now are the reset's (its statements return none that matter).
    pub(crate) fn owns_rows(self) -> bool {
        matches!(self, CarriedReset::Statements { .. })
    }
}

impl TransactionStatus {
    /// The status byte of a ReadyForQuery; `None` for a byte the protocol
    /// does not define.
    pub(crate) fn from_byte(b: u8) -> Option<TransactionStatus> {
        match b {
            b'I' => Some(TransactionStatus::Idle),
            b'T' => Some(TransactionStatus::InTransaction),
            b'E' => Some(TransactionStatus::Failed),
            _ => None,
        }
    }
}

impl Response {
    pub(crate) fn extended() -> Response {
        Response::default()
    }

    pub(crate) fn simple() -> Response {
        Response {
            proto: Proto::Simple,
            ..Response::default()
        }
    }

    /// Rows (or COPY OUT chunks) received and not taken yet: what a
    /// stream's limit counts.
    pub(crate) fn buffered(&self) -> usize {
        self.rows.len() + self.copy_data.len()
    }

    /// Rows affected according to the last command tag.
    pub(crate) fn rows_affected(&self) -> u64 {
        self.tag.as_deref().map(rows_from_tag).unwrap_or(0)
    }

    /// Marks the request as never run: an earlier member of its group
    /// (atomic or read group) failed, or the group's prefix did.
    pub(crate) fn skip(&mut self) {
        self.error = Some(Error::new(
            crate::error::ErrorKind::Other,
            "not run: an earlier statement of the same atomic group failed",
        ));
    }

    /// Forgets what the server answered, for a read-group member sent
    /// again alone (`parse_again`: its Parse goes out again, the server
    /// having skipped it).
    pub(crate) fn reset_for_resend(&mut self, parse_again: bool) {
        self.parse = if parse_again {
            ParseStep::Sent
        } else {
            ParseStep::None
        };
        self.describing &= parse_again;
        self.bound = false;
        self.rows.clear();
        self.tag = None;
        self.error = None;
        self.simple.clear();
        self.status = None;
        self.skipping_copy = false;
        self.group = Grouping::Alone;
    }

    /// The statement failed because its cached plan is stale (its result
    /// type changed) or the server no longer has it: nothing of it ran
    /// (no BindComplete), so preparing it again and retrying is safe.
    pub(crate) fn stale_plan(&self) -> bool {
        self.cached && !self.bound && self.error.as_ref().is_some_and(is_stale_plan)
    }

    /// The error, if any, else `Ok`.
    pub(crate) fn into_result(self) -> Result<Response, Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

/// A cached statement the server cannot run as prepared: it no longer has
/// it (26000, from Bind), or its result type changed (0A000 "cached plan
/// must not change result type", raised by `RevalidateCachedQuery`; matched
/// by routine as pgjdbc does, or by the message), or a type it was
/// prepared with was dropped (XX000 "cache lookup failed for type", from
/// Bind). Any other 0A000 (feature_not_supported, raised by the statement
/// itself) is not.
pub(crate) fn is_stale_plan(e: &Error) -> bool {
    let Some(db) = e.as_db_error() else {
        return false;
    };
    use crate::error::SqlState;
    match db.code {
        SqlState::INVALID_SQL_STATEMENT_NAME => true,
        // A parameter type dropped since the statement was prepared
        // (`getTypeBinaryInputInfo` at Bind: nothing ran).
        SqlState::INTERNAL_ERROR => db.message.starts_with("cache lookup failed for type"),
        SqlState::FEATURE_NOT_SUPPORTED => {
            matches!(
                db.routine.as_deref(),
                Some("RevalidateCachedQuery" | "RevalidateCachedPlan")
            ) || db.message == "cached plan must not change result type"
        }
        _ => false,
    }
}

/// The row count at the end of a command tag (`INSERT 0 5`, `UPDATE 3`, `SELECT 10`).
pub(crate) fn rows_from_tag(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Command tags after which cached statements may describe stale result
/// types: the cache is dropped (and the statements closed) proactively.
/// `DISCARD ALL` and `DEALLOCATE` drop prepared statements; `DISCARD TEMP`,
/// `DISCARD SEQUENCES` and `DISCARD PLANS` (a pool's session reset) keep
/// them, and a plan a dropped temp table made stale is healed by the
/// re-prepare on `0A000`.
pub(crate) fn invalidates_cache(tag: &str) -> bool {
    tag.starts_with("ALTER ")
        || tag.starts_with("DROP ")
        || tag == "DISCARD ALL"
        || tag.starts_with("DEALLOCATE")
        || matches!(
            tag,
            "CREATE VIEW"
                | "CREATE FUNCTION"
                | "CREATE PROCEDURE"
                | "CREATE RULE"
                | "CREATE TYPE"
                | "CREATE DOMAIN"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn tags() {
        assert_eq!(rows_from_tag("INSERT 0 5"), 5);
        assert_eq!(rows_from_tag("UPDATE 3"), 3);
        assert_eq!(rows_from_tag("CREATE TABLE"), 0);
        assert!(invalidates_cache("ALTER TABLE"));
        assert!(invalidates_cache("DISCARD ALL"));
        assert!(invalidates_cache("DEALLOCATE ALL"));
        assert!(!invalidates_cache("DISCARD TEMP"));
        assert!(!invalidates_cache("DISCARD SEQUENCES"));
        assert!(!invalidates_cache("CREATE TABLE"));
        assert!(!invalidates_cache("SELECT 1"));
    }
}
