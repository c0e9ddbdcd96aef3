//! Prepared statements: named (cached or explicit) or unnamed.

use parking_lot::Mutex;
use postgres_types::Type;
use std::sync::{Arc, OnceLock, Weak};

use crate::row::{Column, RowDesc};

/// How one parameter travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ParamMode {
    /// Declared with this type in Parse, sent in binary.
    Binary(Type),
    /// Declared as unspecified (OID 0) so the server infers the type from
    /// the query, sent in text format; the value is encoded as this textual
    /// type (TEXT or JSON), whose binary form is its text form.
    Text(Type),
    /// Declared as unspecified and sent in binary with the type the server
    /// inferred (needs a Describe before the first Bind).
    Infer,
}

impl ParamMode {
    pub(crate) fn declared_oid(&self) -> u32 {
        match self {
            ParamMode::Binary(t) => t.oid(),
            ParamMode::Text(_) | ParamMode::Infer => 0,
        }
    }
}

/// What the server said about a statement.
#[derive(Debug)]
pub(crate) struct Described {
    pub params: Vec<Type>,
    pub desc: Arc<RowDesc>,
}

pub(crate) struct StmtInner {
    /// The server-side name; empty for an unnamed statement (pooler mode),
    /// which is parsed again in every flight that uses it.
    pub name: String,
    /// The SQL text.
    pub sql: Arc<str>,
    /// The SQL is a COPY (see `sql_text::is_copy`), decided once.
    pub copy: bool,
    pub modes: Vec<ParamMode>,
    pub described: OnceLock<Described>,
    /// Where to queue a Close when the last handle goes; `None` for the unnamed statement.
    pub closer: Option<Weak<Mutex<Vec<String>>>>,
    /// A cached plain `SELECT` that may join a read group; cleared for good
    /// when it turns out to write (25006 inside a group).
    pub groupable: std::sync::atomic::AtomicBool,
    /// For a cached statement: the id of the request whose Parse creates
    /// it, until the server confirms it (ParseComplete); then 0. Only the
    /// request's own atomic group may use it before.
    pub pending: std::sync::atomic::AtomicU64,
    /// The server-side statement now belongs to another handle (one
    /// described with looked-up types, see [`Statement::replaced`]): no
    /// Close when this one goes.
    pub handed_over: std::sync::atomic::AtomicBool,
    /// The type registry's generation when this statement's looked-up
    /// types were resolved (`u64::MAX`: it has none): a statement resolved
    /// before the registry was cleared is resolved again before it runs.
    pub types_gen: std::sync::atomic::AtomicU64,
    /// Its description holds no type left to look up and marks the
    /// columns to ask for as text: nothing to resolve until the type
    /// registry is cleared.
    pub settled: std::sync::atomic::AtomicBool,
}

impl Drop for StmtInner {
    fn drop(&mut self) {
        if self.handed_over.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        if let Some(w) = self.closer.as_ref().and_then(Weak::upgrade) {
            w.lock().push(std::mem::take(&mut self.name));
        }
    }
}

/// A prepared statement.
///
/// Cheap to clone. The server-side statement is closed (in the same flight
/// as a later query, never with a round trip of its own) when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Statement(pub(crate) Arc<StmtInner>);

impl Statement {
    pub(crate) fn new(
        name: String,
        sql: Arc<str>,
        modes: Vec<ParamMode>,
        closer: Option<Weak<Mutex<Vec<String>>>>,
    ) -> Statement {
        Statement(Arc::new(StmtInner {
            name,
            copy: crate::sql_text::is_copy(&sql),
            sql,
            modes,
            described: OnceLock::new(),
            closer,
            groupable: std::sync::atomic::AtomicBool::new(false),
            pending: std::sync::atomic::AtomicU64::new(0),
            handed_over: std::sync::atomic::AtomicBool::new(false),
            types_gen: std::sync::atomic::AtomicU64::new(u64::MAX),
            settled: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Whether [`StmtInner::settled`].
    pub(crate) fn settled(&self) -> bool {
        self.0.settled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets [`StmtInner::settled`].
    pub(crate) fn set_settled(&self) {
        self.0
            .settled
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this statement's looked-up types were resolved before the
    /// registry's generation `current` (cleared since).
    pub(crate) fn types_stale(&self, current: u64) -> bool {
        let g = self.0.types_gen.load(std::sync::atomic::Ordering::Relaxed);
        g != u64::MAX && g != current
    }

    /// The same server-side statement, described with `described` (its
    /// types looked up at the registry's generation `gen`). Exactly one
    /// of the two handles must then [`hand_over`](Statement::hand_over),
    /// so one closes it.
    pub(crate) fn replaced(&self, described: Described, gen: u64) -> Statement {
        let new = Statement(Arc::new(StmtInner {
            name: self.0.name.clone(),
            sql: self.0.sql.clone(),
            copy: self.0.copy,
            modes: self.0.modes.clone(),
            described: OnceLock::new(),
            closer: self.0.closer.clone(),
            groupable: std::sync::atomic::AtomicBool::new(self.groupable()),
            pending: std::sync::atomic::AtomicU64::new(self.pending()),
            handed_over: std::sync::atomic::AtomicBool::new(false),
            types_gen: std::sync::atomic::AtomicU64::new(gen),
            settled: std::sync::atomic::AtomicBool::new(true),
        }));
        let _ = new.0.described.set(described);
        new
    }

    /// This handle no longer closes the server-side statement (another
    /// handle of the same statement does, see [`Statement::replaced`]).
    pub(crate) fn hand_over(&self) {
        self.0
            .handed_over
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The request whose Parse creates this cached statement, until the
    /// server confirmed it; 0 once confirmed (see [`StmtInner::pending`]).
    pub(crate) fn pending(&self) -> u64 {
        self.0.pending.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets [`Statement::pending`].
    pub(crate) fn set_pending(&self, id: u64) {
        self.0
            .pending
            .store(id, std::sync::atomic::Ordering::Relaxed);
    }

    /// The SQL text.
    pub(crate) fn sql(&self) -> &str {
        &self.0.sql
    }

    /// Whether the SQL is a COPY.
    pub(crate) fn is_copy(&self) -> bool {
        self.0.copy
    }

    /// Whether runs of this statement may join a read group.
    pub(crate) fn groupable(&self) -> bool {
        self.0.groupable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets [`Statement::groupable`].
    pub(crate) fn set_groupable(&self, yes: bool) {
        self.0
            .groupable
            .store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn name(&self) -> &str {
        &self.0.name
    }

    pub(crate) fn described(&self) -> Option<&Described> {
        self.0.described.get()
    }

    /// The parameter types the server resolved (empty until described).
    pub fn params(&self) -> &[Type] {
        self.described().map(|d| d.params.as_slice()).unwrap_or(&[])
    }

    /// The result columns (empty until described, or for a statement that returns no rows).
    pub fn columns(&self) -> &[Column] {
        self.described()
            .map(|d| d.desc.columns.as_slice())
            .unwrap_or(&[])
    }
}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("name", &self.0.name)
            .field("params", &self.params())
            .field("columns", &self.columns())
            .finish()
    }
}
