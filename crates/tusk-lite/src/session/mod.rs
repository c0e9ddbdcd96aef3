//! A session: one client's transaction state, settings and the
//! execution of its statements.

mod cursor;
pub(crate) mod listen;
mod run;

pub use cursor::CursorView;

pub use run::CopyProgress;
mod settings;

use pg_query::protobuf as pb;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::TableId;
use crate::error::{code, Result, SqlError};
use crate::exec::{Exec, Rows, SessionInfo};
use crate::sql::bind::{isolation_from_name, Binder};
use crate::sql::plan::OutColumn;
use crate::sql::Statement;
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::txn::{Engine, Isolation, Savepoint, Txn};
use crate::types::{ColType, Type, Value};

/// What a statement produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Result columns, for statements that return rows.
    pub columns: Option<Vec<OutColumn>>,
    pub rows: Rows,
    pub tag: String,
    /// NOTICE and WARNING messages: (severity, sqlstate, message).
    pub notices: Vec<(&'static str, &'static str, String)>,
    /// COPY ... FROM STDIN: the data is to be read from the client.
    pub copy_in: Option<Box<crate::sql::statement::Copy>>,
    /// COPY ... TO STDOUT: the formatted data.
    pub copy_out: Option<CopyOut>,
    /// The error a query hit after computing `rows` (a division by zero in
    /// row 55): the reader gets the rows before it, then the error, as
    /// from PostgreSQL, which computes rows as they are read. Only with
    /// [`Session::rows_before_errors`]; otherwise the statement fails.
    pub late_error: Option<SqlError>,
}

/// The data of a COPY ... TO STDOUT.
#[derive(Debug)]
pub struct CopyOut {
    pub columns: usize,
    pub binary: bool,
    pub data: Vec<u8>,
    /// Where each CopyData message ends (one per row).
    pub ends: Vec<usize>,
}

impl Outcome {
    pub(crate) fn tag(tag: impl Into<String>) -> Outcome {
        Outcome {
            tag: tag.into(),
            ..Outcome::default()
        }
    }
}

/// A statement's plan, bound once and reused by later runs of the same
/// statement while they would bind it the same way: against the same
/// catalog (DDL, committed or in the running transaction, makes a new one)
/// and under the same `search_path`. Only plans whose binding reads
/// nothing else are kept (queries, DML, transaction control).
#[derive(Default)]
pub struct PlanCache {
    bound: Option<CachedPlan>,
    /// Describe's answer (parameter and result types) for the given
    /// parameter types, under the same conditions as a plan.
    described: Option<(Key, Described)>,
}

/// What a plan or a description was made under.
struct Key {
    /// The catalog, held so that its address cannot be reused by another
    /// catalog while the entry lives.
    catalog: Arc<crate::catalog::Catalog>,
    search_path: String,
    param_types: Vec<Type>,
    /// Session::param_oids when it was made.
    param_oids: Vec<u32>,
}

impl Key {
    fn matches(
        &self,
        catalog: &Arc<crate::catalog::Catalog>,
        search_path: &str,
        param_types: &[Type],
        param_oids: &[u32],
    ) -> bool {
        Arc::ptr_eq(&self.catalog, catalog)
            && self.search_path == search_path
            && self.param_types == param_types
            && self.param_oids == param_oids
    }
}

/// Parameter types and result columns, as Describe reports them.
/// (The third: the parameter type OIDs, an array's included.)
type Described = (Vec<Type>, Option<Vec<OutColumn>>, Vec<u32>);

struct CachedPlan {
    key: Key,
    stmt: Arc<Statement>,
    /// The tables the statement names (see [`Binder::tables`]).
    tables: Arc<[TableId]>,
}

impl PlanCache {
    fn get(
        &self,
        catalog: &Arc<crate::catalog::Catalog>,
        search_path: &str,
        param_types: &[Type],
        param_oids: &[u32],
    ) -> Option<(Arc<Statement>, Arc<[TableId]>)> {
        let c = self.bound.as_ref()?;
        c.key
            .matches(catalog, search_path, param_types, param_oids)
            .then(|| (c.stmt.clone(), c.tables.clone()))
    }
}

/// What a protocol-level prepared statement said it returns (at Parse),
/// and the catalog it was described against. PostgreSQL re-plans such a
/// statement after DDL but refuses to return another row shape.
pub struct FixedResult<'a> {
    pub catalog: &'a Arc<crate::catalog::Catalog>,
    pub columns: Option<&'a [OutColumn]>,
}

/// The columns a statement returns (None: it returns no rows).
fn result_columns(stmt: &Statement) -> Option<&[OutColumn]> {
    match stmt {
        Statement::Query(q) => Some(&q.columns),
        Statement::Insert(i) if i.returning.is_some() => Some(&i.returning_cols),
        Statement::Update(u) if u.returning.is_some() => Some(&u.returning_cols),
        Statement::Delete(d) if d.returning.is_some() => Some(&d.returning_cols),
        _ => None,
    }
}

/// Whether two row shapes are the same to a client: names and types
/// (PostgreSQL's equalTupleDescs; the source table may differ).
fn same_shape(a: Option<&[OutColumn]>, b: Option<&[OutColumn]>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.name == y.name && x.ty == y.ty)
        }
        _ => false,
    }
}

/// Whether a bound statement may be reused: its binding depends on the
/// catalog, the parameter types and `search_path` only.
/// Binds `node` against `catalog`, keeping the plan in `cache` when it
/// can be reused; gives the plan (or the binding error) and the tables
/// binding looked up.
fn bind_for_cache(
    catalog: &Arc<crate::catalog::Catalog>,
    search_path: &str,
    node: &pb::Node,
    param_types: &[Type],
    param_oids: &[u32],
    cache: Option<&mut PlanCache>,
) -> (Result<Arc<Statement>>, Arc<[TableId]>) {
    let mut b = Binder::new(catalog, param_types.to_vec());
    b.param_oids = param_oids.to_vec();
    let bound = b.bind_statement(node).map(Arc::new);
    let tables: Arc<[TableId]> = b.tables.take().into();
    if let Ok(s) = &bound {
        if let Some(c) = cache.filter(|_| reusable(s)) {
            c.bound = Some(CachedPlan {
                key: Key {
                    catalog: catalog.clone(),
                    search_path: search_path.to_string(),
                    param_types: param_types.to_vec(),
                    param_oids: param_oids.to_vec(),
                },
                stmt: s.clone(),
                tables: tables.clone(),
            });
        }
    }
    (bound, tables)
}

/// Whether `node` is a query or DML statement, whose tables are locked
/// before it runs (see [`Session::execute_cached`]).
fn names_tables(node: &pb::Node) -> bool {
    use pb::node::Node as N;
    matches!(
        node.node,
        Some(N::SelectStmt(_) | N::InsertStmt(_) | N::UpdateStmt(_) | N::DeleteStmt(_))
    )
}

fn reusable(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Begin { .. }
            | Statement::Commit
            | Statement::Rollback
    )
}

/// Settings a session can SET and SHOW: (canonical name, default, reported
/// to the client in ParameterStatus).
const SETTINGS: &[(&str, &str, bool)] = &[
    ("application_name", "", true),
    ("client_encoding", "UTF8", true),
    ("DateStyle", "ISO, MDY", true),
    ("default_transaction_isolation", "read committed", false),
    ("default_transaction_read_only", "off", true),
    ("extra_float_digits", "1", false),
    ("in_hot_standby", "off", true),
    ("integer_datetimes", "on", true),
    ("IntervalStyle", "postgres", true),
    ("is_superuser", "on", true),
    ("lock_timeout", "0", false),
    ("search_path", "\"$user\", public", false),
    ("server_encoding", "UTF8", true),
    ("server_version", crate::SERVER_VERSION, true),
    ("server_version_num", crate::SERVER_VERSION_NUM, false),
    ("session_authorization", "", true),
    ("standard_conforming_strings", "on", true),
    ("statement_timeout", "0", false),
    ("TimeZone", "UTC", true),
    ("idle_in_transaction_session_timeout", "0", false),
    ("max_identifier_length", "63", false),
    ("lc_messages", "C", false),
    ("lc_monetary", "C", false),
    ("lc_numeric", "C", false),
    ("lc_time", "C", false),
    ("bytea_output", "hex", false),
    ("client_min_messages", "notice", false),
    ("synchronous_commit", "on", false),
    // Kept and shown as PostgreSQL does; tusk-lite's executor does not
    // size its sorts and hashes by it (pools set and reset it).
    ("work_mem", "4MB", false),
];

const READ_ONLY_SETTINGS: &[&str] = &[
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "in_hot_standby",
    "is_superuser",
    "max_identifier_length",
    "lc_collate",
    "lc_ctype",
];

fn canonical(name: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, _, _)| *n)
}

pub struct Session {
    pub engine: Arc<Engine>,
    pub info: SessionInfo,
    pub txn: Option<Txn>,
    settings: BTreeMap<&'static str, String>,
    /// Settings changed by the last statements that the client must be told of.
    pub reported: Vec<(String, String)>,
    /// Statements prepared with SQL PREPARE, by name.
    pub(crate) prepared: std::collections::HashMap<String, crate::prepare::Prepared>,
    /// LISTEN/NOTIFY state.
    listen: listen::ListenState,
    /// Set by DISCARD ALL and DEALLOCATE: the wire layer drops its named
    /// protocol-level statements (or the one named, and, for DISCARD ALL,
    /// every portal) after the statement.
    pub discarded: Option<Discarded>,
    /// Cursors declared with SQL DECLARE.
    cursors: cursor::Cursors,
    /// The query text of the DECLARE CURSOR about to run (pg_cursors'
    /// `statement`), set by the wire layer.
    statement_text: String,
    /// The wire protocol's named portals now open (see `set_portals`).
    portal_names: std::collections::BTreeSet<String>,
    /// A query that fails after some rows answers those rows and the
    /// error ([`Outcome::late_error`]) instead of failing: for a reader
    /// that sends the rows before the error (the wire layer). Off by
    /// default.
    pub rows_before_errors: bool,
    /// The parameter type OIDs of the protocol-level statement being
    /// described or run (set by the wire layer; empty for a simple
    /// query): an array parameter's element type is known only from its
    /// OID ([`Binder::param_oids`]).
    pub param_oids: Vec<u32>,
}

/// What the wire layer drops after DISCARD ALL or DEALLOCATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discarded {
    /// DEALLOCATE name of a protocol-level statement.
    One(String),
    /// DEALLOCATE ALL: named prepared statements.
    Statements,
    /// DISCARD ALL: named prepared statements and portals.
    Everything,
}

pub(crate) fn failed_txn() -> SqlError {
    SqlError::new(
        code::IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

impl Session {
    pub fn new(engine: Arc<Engine>, user: String, database: String) -> Session {
        let mut settings = BTreeMap::new();
        for (n, d, _) in SETTINGS {
            settings.insert(*n, (*d).to_string());
        }
        settings.insert("session_authorization", user.clone());
        Session {
            engine,
            info: SessionInfo {
                user,
                database,
                cancel: Default::default(),
                terminate: Default::default(),
                currval: Default::default(),
                lock_timeout: None,
                prepared: Default::default(),
                pid: 0,
                settings: Arc::new(parking_lot::Mutex::new(settings.clone())),
                notify: Default::default(),
                cursors: Default::default(),
            },
            txn: None,
            settings,
            reported: Vec::new(),
            prepared: Default::default(),
            listen: Default::default(),
            discarded: None,
            cursors: Default::default(),
            statement_text: String::new(),
            portal_names: Default::default(),
            param_oids: Vec::new(),
            rows_before_errors: false,
        }
    }

    /// The parameters sent at startup, in ParameterStatus order.
    pub fn startup_parameters(&self) -> Vec<(String, String)> {
        SETTINGS
            .iter()
            .filter(|(_, _, report)| *report)
            .map(|(n, _, _)| {
                (
                    n.to_string(),
                    self.settings.get(n).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Applies a startup-packet option (`application_name`, `DateStyle`, ...).
    pub fn startup_option(&mut self, name: &str, value: &str) -> Result<()> {
        if matches!(name, "user" | "database" | "replication" | "options") {
            return Ok(());
        }
        self.set(name, Some(value.to_string()))
    }

    /// ReadyForQuery's status byte.
    pub fn status(&self) -> u8 {
        match &self.txn {
            Some(t) if t.failed => b'E',
            Some(t) if t.explicit => b'T',
            _ => b'I',
        }
    }

    /// Ends an implicit transaction (end of a simple Query, or Sync).
    pub fn end_implicit(&mut self) -> Result<()> {
        if self.txn.as_ref().is_some_and(|t| !t.explicit) {
            if let Some(e) = self.held_cursor_error() {
                // A cursor WITH HOLD declared outside a block is read to
                // its end at this commit, as at an explicit COMMIT: its
                // error fails the commit, which rolls back.
                if let Some(t) = self.txn.take() {
                    self.engine.rollback(t);
                }
                self.cursors_at_end(false);
                return Err(e);
            }
            if let Some(t) = self.txn.take() {
                self.engine.commit(t)?;
                self.after_commit();
                self.cursors_at_end(true);
            }
        }
        Ok(())
    }

    /// An error ends an implicit transaction and fails an explicit one.
    pub fn on_error(&mut self) {
        match &mut self.txn {
            Some(t) if t.explicit => t.failed = true,
            Some(_) => {
                if let Some(t) = self.txn.take() {
                    self.engine.rollback(t);
                    self.cursors_at_end(false);
                }
            }
            None => {}
        }
    }

    fn default_isolation(&self) -> Isolation {
        self.settings
            .get("default_transaction_isolation")
            .and_then(|s| isolation_from_name(s).ok())
            .unwrap_or(Isolation::ReadCommitted)
    }

    /// Takes a shared lock on each of `tables` for the transaction (as
    /// the statement's run would), waiting for other transactions' DDL.
    fn lock_tables(&mut self, tables: &[TableId]) -> Result<()> {
        let engine = self.engine.clone();
        let cancel = self.info.cancel.clone();
        let lock_timeout = self.info.lock_timeout;
        let txn = self.ensure_txn();
        for &oid in tables {
            if txn.table_locks.iter().any(|&(t, _)| t == oid) {
                continue;
            }
            let deadline = lock_timeout.map(|d| std::time::Instant::now() + d);
            engine.locks.acquire_until(
                txn.id,
                LockTag::Table(oid),
                Mode::Shared,
                Wait::Block,
                Some(&cancel),
                deadline,
            )?;
            txn.table_locks.push((oid, Mode::Shared));
        }
        Ok(())
    }

    pub(crate) fn ensure_txn(&mut self) -> &mut Txn {
        if self.txn.is_none() {
            let ro = self
                .settings
                .get("default_transaction_read_only")
                .map(|s| s == "on")
                .unwrap_or(false);
            self.txn = Some(self.engine.begin(self.default_isolation(), ro, false));
            self.reset_pending();
        }
        self.txn.as_mut().expect("transaction just started")
    }

    /// The catalog the session's next statement sees.
    pub(crate) fn current_catalog(&self) -> Arc<crate::catalog::Catalog> {
        match &self.txn {
            Some(t) => self.engine.catalog_for(t),
            None => self.engine.published_catalog(),
        }
    }

    fn search_path(&self) -> &str {
        self.settings
            .get("search_path")
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// [`Session::describe`], answered from `cache` when it holds the
    /// answer binding would give now (and kept there otherwise).
    pub fn describe_cached(
        &mut self,
        node: &pb::Node,
        param_types: &[Type],
        cache: &mut PlanCache,
    ) -> Result<Described> {
        let catalog = self.current_catalog();
        if let Some((k, d)) = &cache.described {
            if k.matches(&catalog, self.search_path(), param_types, &self.param_oids) {
                return Ok(d.clone());
            }
        }
        let d = self.describe(node, param_types)?;
        let reusable = !matches!(
            &node.node,
            Some(
                pb::node::Node::PrepareStmt(_)
                    | pb::node::Node::FetchStmt(_)
                    | pb::node::Node::ExecuteStmt(_)
                    | pb::node::Node::DeallocateStmt(_)
            )
        );
        if reusable {
            cache.described = Some((
                Key {
                    catalog,
                    search_path: self.search_path().to_string(),
                    param_types: param_types.to_vec(),
                    param_oids: self.param_oids.clone(),
                },
                d.clone(),
            ));
        }
        Ok(d)
    }

    /// At Bind: a statement described against another catalog than the
    /// current one (DDL since) must still return the rows it said it
    /// would, else 0A000 "cached plan must not change result type"
    /// before anything runs, as PostgreSQL's RevalidateCachedQuery raises
    /// it at Bind (drivers re-prepare on it when nothing was bound).
    /// Returns the current catalog when the statement was described again
    /// against it (and still returns the same columns).
    pub fn revalidate(
        &mut self,
        node: &pb::Node,
        param_types: &[Type],
        fixed: FixedResult<'_>,
    ) -> Result<Option<Arc<crate::catalog::Catalog>>> {
        let catalog = self.current_catalog();
        if Arc::ptr_eq(fixed.catalog, &catalog)
            || matches!(
                &node.node,
                Some(
                    pb::node::Node::VariableShowStmt(_)
                        | pb::node::Node::FetchStmt(_)
                        | pb::node::Node::TransactionStmt(_)
                )
            )
        {
            return Ok(None);
        }
        let (_, cols, _) = self.describe(node, param_types)?;
        if !same_shape(fixed.columns, cols.as_deref()) {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "cached plan must not change result type",
            ));
        }
        Ok(Some(catalog))
    }

    /// Sets [`Session::param_oids`] for the statement about to be
    /// described or run, reusing its buffer (once per Bind and Execute).
    pub fn set_param_oids(&mut self, oids: &[u32]) {
        self.param_oids.clear();
        self.param_oids.extend_from_slice(oids);
    }

    /// Binds a statement to learn its parameter and result types (Describe).
    pub fn describe(&mut self, node: &pb::Node, param_types: &[Type]) -> Result<Described> {
        let catalog = self.current_catalog();
        let mut b = Binder::new(&catalog, param_types.to_vec());
        b.param_oids = self.param_oids.clone();
        let stmt = b.bind_statement(node)?;
        let cols = match &stmt {
            Statement::Query(q) => Some(q.columns.clone()),
            Statement::Insert(i) if i.returning.is_some() => Some(i.returning_cols.clone()),
            Statement::Update(u) if u.returning.is_some() => Some(u.returning_cols.clone()),
            Statement::Delete(d) if d.returning.is_some() => Some(d.returning_cols.clone()),
            Statement::Show(name) => Some(vec![show_column(name)]),
            Statement::Fetch(f) if !f.is_move => self.cursor_columns(&f.name),
            _ => None,
        };
        Ok((b.param_types(), cols, b.param_type_oids()))
    }

    /// Executes one statement.
    pub fn execute(
        &mut self,
        node: &pb::Node,
        param_types: &[Type],
        params: &[Value],
    ) -> Result<Outcome> {
        self.execute_cached(node, param_types, params, None, None)
    }

    /// Executes one statement, reusing the plan `cache` holds for it when
    /// that is still the plan binding would give (and keeping the new one
    /// there otherwise).
    ///
    /// With `fixed`, a statement that the catalog's changes since it was
    /// described would make return other columns fails (0A000) instead.
    pub fn execute_cached(
        &mut self,
        node: &pb::Node,
        param_types: &[Type],
        params: &[Value],
        cache: Option<&mut PlanCache>,
        fixed: Option<FixedResult<'_>>,
    ) -> Result<Outcome> {
        if self.txn.as_ref().is_some_and(|t| t.failed) {
            // Only ROLLBACK (and COMMIT, which rolls back) get through.
            if let Some(pb::node::Node::TransactionStmt(t)) = &node.node {
                use pb::TransactionStmtKind as K;
                match K::try_from(t.kind) {
                    Ok(K::TransStmtRollback) | Ok(K::TransStmtCommit) => {
                        if let Some(t) = self.txn.take() {
                            self.engine.rollback(t);
                            self.cursors_at_end(false);
                        }
                        return Ok(Outcome::tag("ROLLBACK"));
                    }
                    Ok(K::TransStmtRollbackTo) => {}
                    _ => return Err(failed_txn()),
                }
            } else {
                return Err(failed_txn());
            }
        }
        if let Some(r) = self.sql_prepared(node) {
            return r;
        }
        let mut catalog = self.current_catalog();
        let search_path = self.search_path().to_string();
        let mut cache = cache;
        let cached = cache
            .as_deref()
            .and_then(|c| c.get(&catalog, &search_path, param_types, &self.param_oids));
        let (mut bound, mut tables) = match cached {
            Some((s, t)) => (Ok(s), t),
            None => bind_for_cache(
                &catalog,
                &search_path,
                node,
                param_types,
                &self.param_oids,
                cache.as_deref_mut(),
            ),
        };
        // PostgreSQL locks the tables a statement names while it analyses
        // it, so a statement that waits behind ALTER TABLE, TRUNCATE or
        // DROP binds against what they committed. Lock them now (even if
        // binding failed: the new definition may bind); if the catalog
        // changed meanwhile, bind again against the new one (its tables
        // are then locked too; a dropped one gives 42P01).
        if names_tables(node) {
            for _ in 0..8 {
                if tables.is_empty() {
                    break;
                }
                self.lock_tables(&tables)?;
                let now = self.current_catalog();
                if Arc::ptr_eq(&now, &catalog) {
                    break;
                }
                catalog = now;
                (bound, tables) = bind_for_cache(
                    &catalog,
                    &search_path,
                    node,
                    param_types,
                    &self.param_oids,
                    cache.as_deref_mut(),
                );
            }
        }
        let stmt = bound?;
        if let Some(f) = fixed {
            if !Arc::ptr_eq(f.catalog, &catalog)
                && !matches!(*stmt, Statement::Show(_) | Statement::Fetch(_))
                && !same_shape(f.columns, result_columns(&stmt))
            {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    "cached plan must not change result type",
                ));
            }
        }
        drop(catalog);
        if let Some(out) = self.execute_plan(&stmt, params) {
            return out;
        }
        let stmt = Arc::unwrap_or_clone(stmt);
        match stmt {
            Statement::Begin {
                isolation,
                read_only,
            } => {
                let mut out = Outcome::tag("BEGIN");
                match &mut self.txn {
                    Some(t) if t.explicit => out.notices.push((
                        "WARNING",
                        code::ACTIVE_SQL_TRANSACTION,
                        "there is already a transaction in progress".into(),
                    )),
                    _ => {
                        let t = self.ensure_txn();
                        t.explicit = true;
                        if let Some(i) = isolation {
                            t.isolation = i;
                        }
                        if let Some(r) = read_only {
                            t.read_only = r;
                        }
                    }
                }
                Ok(out)
            }
            Statement::Commit | Statement::Rollback => {
                let commit = matches!(stmt, Statement::Commit);
                let tag = if commit { "COMMIT" } else { "ROLLBACK" };
                match self.txn.take() {
                    Some(t) if t.explicit => {
                        if let Some(e) = commit.then(|| self.held_cursor_error()).flatten() {
                            // A cursor WITH HOLD is read to its end at
                            // COMMIT; an error there rolls it all back.
                            self.engine.rollback(t);
                            self.cursors_at_end(false);
                            return Err(e);
                        }
                        if commit {
                            self.engine.commit(t)?;
                            self.after_commit();
                            self.cursors_at_end(true);
                        } else {
                            self.engine.rollback(t);
                            self.cursors_at_end(false);
                        }
                        Ok(Outcome::tag(tag))
                    }
                    other => {
                        self.txn = other;
                        let mut out = Outcome::tag(tag);
                        out.notices.push((
                            "WARNING",
                            code::NO_ACTIVE_SQL_TRANSACTION,
                            "there is no transaction in progress".into(),
                        ));
                        Ok(out)
                    }
                }
            }
            Statement::Savepoint(name) => {
                let engine = self.engine.clone();
                let t = self.explicit_txn("SAVEPOINT")?;
                let sp = Savepoint {
                    name,
                    writes: t.writes.mark()?,
                    catalog: t.catalog.clone(),
                    dropped: t.dropped.clone(),
                    locks: engine.locks.held_count(t.id),
                };
                t.savepoints.push(sp);
                let mark = self.info.notify.lock().mark();
                self.listen.marks.push(mark);
                Ok(Outcome::tag("SAVEPOINT"))
            }
            Statement::Release(name) => {
                let t = self.explicit_txn("RELEASE SAVEPOINT")?;
                let i = t
                    .savepoints
                    .iter()
                    .rposition(|s| s.name == name)
                    .ok_or_else(|| {
                        SqlError::new(
                            code::INVALID_SAVEPOINT,
                            format!("savepoint \"{name}\" does not exist"),
                        )
                    })?;
                t.savepoints.truncate(i);
                self.listen.marks.truncate(i);
                Ok(Outcome::tag("RELEASE"))
            }
            Statement::RollbackTo(name) => {
                let t = self.explicit_txn("ROLLBACK TO SAVEPOINT")?;
                let i = t
                    .savepoints
                    .iter()
                    .rposition(|s| s.name == name)
                    .ok_or_else(|| {
                        SqlError::new(
                            code::INVALID_SAVEPOINT,
                            format!("savepoint \"{name}\" does not exist"),
                        )
                    })?;
                let sp = t.savepoints[i].clone();
                t.savepoints.truncate(i + 1);
                t.writes.restore(sp.writes);
                t.catalog = sp.catalog;
                t.dropped = sp.dropped;
                t.failed = false;
                let id = t.id;
                t.table_locks.clear();
                self.engine.locks.release_after(id, sp.locks);
                self.listen.marks.truncate(i + 1);
                if let Some(mark) = self.listen.marks.get(i).copied() {
                    self.info.notify.lock().restore(mark);
                }
                Ok(Outcome::tag("ROLLBACK"))
            }
            Statement::SetTransaction {
                isolation,
                read_only,
            } => {
                let Ok(t) = self.explicit_txn("SET TRANSACTION") else {
                    let mut out = Outcome::tag("SET");
                    out.notices.push((
                        "WARNING",
                        code::NO_ACTIVE_SQL_TRANSACTION,
                        "SET TRANSACTION can only be used in transaction blocks".into(),
                    ));
                    return Ok(out);
                };
                if let Some(i) = isolation {
                    if t.snapshot.is_some() && t.isolation != i {
                        return Err(SqlError::new(
                            code::ACTIVE_SQL_TRANSACTION,
                            "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                        ));
                    }
                    t.isolation = i;
                }
                if let Some(r) = read_only {
                    t.read_only = r;
                }
                Ok(Outcome::tag("SET"))
            }
            Statement::Set { name, value, local } => {
                if local {
                    return Err(SqlError::unsupported("SET LOCAL"));
                }
                self.ensure_txn();
                self.set(&name, value)?;
                Ok(Outcome::tag("SET"))
            }
            Statement::Reset(name) => {
                self.set(&name, None)?;
                Ok(Outcome::tag("RESET"))
            }
            Statement::Discard(what) => self.discard(what),
            Statement::DeclareCursor(d) => self.declare_cursor(&d, params),
            Statement::Fetch(f) => self.fetch(&f),
            Statement::CloseCursor(name) => self.close_cursor(name.as_deref()),
            Statement::ResetAll => {
                let names: Vec<&'static str> = SETTINGS
                    .iter()
                    .filter(|(n, _, _)| {
                        !READ_ONLY_SETTINGS.contains(n) && *n != "session_authorization"
                    })
                    .map(|(n, _, _)| *n)
                    .collect();
                for n in names {
                    self.set(n, None)?;
                }
                Ok(Outcome::tag("RESET"))
            }
            Statement::Show(name) => {
                let col = show_column(&name);
                let value = self.show(&name)?;
                Ok(Outcome {
                    columns: Some(vec![col]),
                    rows: vec![vec![Value::Text(value)]],
                    tag: "SHOW".into(),
                    ..Outcome::default()
                })
            }
            Statement::Listen(op) => {
                let tag = if matches!(op, crate::notify::ListenOp::Listen(_)) {
                    "LISTEN"
                } else {
                    "UNLISTEN"
                };
                self.queue_listen(op);
                Ok(Outcome::tag(tag))
            }
            Statement::Notify { channel, payload } => {
                self.queue_notify(&channel, &payload)?;
                Ok(Outcome::tag("NOTIFY"))
            }
            Statement::Maintenance(tag) => {
                if matches!(tag, "VACUUM") && self.txn.as_ref().is_some_and(|t| t.explicit) {
                    return Err(SqlError::new(
                        code::ACTIVE_SQL_TRANSACTION,
                        "VACUUM cannot run inside a transaction block",
                    ));
                }
                if tag == "CHECKPOINT" {
                    // PostgreSQL runs it inside a transaction block too.
                    self.engine.store.checkpoint()?;
                }
                Ok(Outcome::tag(tag))
            }
            other => self.execute_in_txn(other, params),
        }
    }

    /// DISCARD: ALL is CLOSE ALL, SET SESSION AUTHORIZATION DEFAULT,
    /// RESET ALL, DEALLOCATE ALL, UNLISTEN *, pg_advisory_unlock_all()
    /// and DISCARD SEQUENCES (there are no temporary tables or cached
    /// plans to drop);
    /// SEQUENCES forgets currval; PLANS and TEMP have nothing to drop.
    fn discard(&mut self, what: &'static str) -> Result<Outcome> {
        if what == "ALL" {
            if self.txn.as_ref().is_some_and(|t| t.explicit) {
                return Err(SqlError::new(
                    code::ACTIVE_SQL_TRANSACTION,
                    "DISCARD ALL cannot run inside a transaction block",
                ));
            }
            self.close_cursor(None)?;
            self.prepared.clear();
            self.info.prepared.lock().clear();
            self.discarded = Some(Discarded::Everything);
            let names: Vec<&'static str> = SETTINGS
                .iter()
                .filter(|(n, _, _)| {
                    !READ_ONLY_SETTINGS.contains(n) && *n != "session_authorization"
                })
                .map(|(n, _, _)| *n)
                .collect();
            for n in names {
                self.set(n, None)?;
            }
            self.queue_listen(crate::notify::ListenOp::UnlistenAll);
            self.engine.advisory.unlock_all(self.info.pid);
        }
        if matches!(what, "ALL" | "SEQUENCES") {
            self.info.currval.lock().clear();
        }
        Ok(Outcome::tag(format!("DISCARD {what}")))
    }

    fn explicit_txn(&mut self, what: &str) -> Result<&mut Txn> {
        match &mut self.txn {
            Some(t) if t.explicit => Ok(t),
            _ => Err(SqlError::new(
                code::NO_ACTIVE_SQL_TRANSACTION,
                format!("{what} can only be used in transaction blocks"),
            )),
        }
    }
}

/// A session that ends (disconnect, or a panic unwinding its thread)
/// rolls back its transaction and releases its locks.
impl Drop for Session {
    fn drop(&mut self) {
        self.stop_listening();
        self.engine.advisory.unlock_all(self.info.pid);
        if let Some(t) = self.txn.take() {
            self.engine.rollback(t);
        }
    }
}

fn show_column(name: &str) -> OutColumn {
    let label = match name {
        "transaction isolation level" => "transaction_isolation".to_string(),
        n => canonical(n)
            .map(str::to_string)
            .unwrap_or_else(|| n.to_string()),
    };
    OutColumn {
        name: label,
        ty: ColType::plain(Type::Text),
        table_oid: 0,
        attnum: 0,
    }
}
