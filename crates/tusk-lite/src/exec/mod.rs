//! The executor: runs plans over a transaction's view of the store, and
//! applies INSERT/UPDATE/DELETE with row locks and PostgreSQL's READ
//! COMMITTED re-check of changed rows.

mod agg;
mod dml;
mod dml_from;
pub mod expr;
mod fkey;
mod join;
mod locking;
mod range;
pub mod size;
mod write;

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use crate::catalog::Table;
use crate::error::{code, Result, SqlError};
use crate::sql::plan::{Delete, Expr, Insert, KeyRange, Lookup, Plan, SetOpKind, SortKey, Update};
use crate::storage::{keys, Row, Ts};
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::txn::{Engine, Isolation, Txn};
use crate::types::{compare, format_value, Type, Value};

/// Who is asking: for current_user, current_database.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user: String,
    pub database: String,
    /// Set by a CancelRequest: the running statement stops with 57014.
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Set by pg_terminate_backend(): the session ends with FATAL 57P01.
    pub terminate: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// currval(): the last nextval() of each sequence in this session.
    pub currval: std::sync::Arc<parking_lot::Mutex<std::collections::HashMap<u32, i64>>>,
    /// `lock_timeout`: a lock wait longer than this fails with 55P03.
    pub lock_timeout: Option<std::time::Duration>,
    /// The session's named prepared statements (protocol and SQL
    /// PREPARE), as pg_prepared_statements lists them: name -> (the
    /// statement's text, made by SQL PREPARE).
    pub prepared:
        std::sync::Arc<parking_lot::Mutex<std::collections::BTreeMap<String, (String, bool)>>>,
    /// The backend pid the client was given (pg_backend_pid, and the pid
    /// its notifications carry).
    pub pid: i32,
    /// The session's settings as SHOW prints them, for current_setting().
    pub settings:
        std::sync::Arc<parking_lot::Mutex<std::collections::BTreeMap<&'static str, String>>>,
    /// NOTIFY/pg_notify and LISTEN/UNLISTEN of the open transaction.
    pub notify: std::sync::Arc<parking_lot::Mutex<crate::notify::Pending>>,
    /// The session's open cursors and named portals, as pg_cursors
    /// lists them.
    pub cursors: std::sync::Arc<
        parking_lot::Mutex<std::collections::BTreeMap<String, crate::session::CursorView>>,
    >,
}

pub struct Exec<'a> {
    pub engine: &'a Engine,
    pub txn: &'a mut Txn,
    pub snapshot: Ts,
    pub params: &'a [Value],
    pub outer: Vec<Vec<Value>>,
    pub session: &'a SessionInfo,
    /// Foreign-key checks and actions queued by this statement's writes.
    pub ri: std::collections::VecDeque<fkey::RiEvent>,
    /// The rows of this statement's uncorrelated subqueries, by their
    /// numbers (each runs once, as PostgreSQL's InitPlans do).
    pub initplans: std::collections::HashMap<u64, Arc<Rows>>,
}

pub type Rows = Vec<Vec<Value>>;

/// A row as PostgreSQL prints it in "Failing row contains (...)".
fn failing_row(table: &Table, row: &[Value]) -> String {
    row.iter()
        .zip(&table.columns)
        .map(|(v, c)| {
            if v.is_null() {
                "null".into()
            } else {
                format_value(v, c.ty)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hashable identity of a row for DISTINCT and set operations.
/// A snapshot's rows (`base`, key order) with the transaction's own
/// writes (`own`, key order; None deletes) laid over them.
fn merge_own(base: Vec<(Vec<u8>, Row)>, own: Vec<(Vec<u8>, Option<Row>)>) -> Vec<(Vec<u8>, Row)> {
    if own.is_empty() {
        return base;
    }
    let mut out = Vec::with_capacity(base.len() + own.len());
    let mut own = own.into_iter().peekable();
    for (k, r) in base {
        let mut replaced = false;
        while let Some((ok, orow)) = own.next_if(|(ok, _)| *ok <= k) {
            replaced = ok == k;
            if let Some(orow) = orow {
                out.push((ok, orow));
            }
            if replaced {
                break;
            }
        }
        if !replaced {
            out.push((k, r));
        }
    }
    out.extend(own.filter_map(|(k, r)| r.map(|r| (k, r))));
    out
}

/// A row's identity in a set operation: the bpchar columns without
/// their trailing blanks ('a'::char(3) and 'a'::char(5) are one row).
fn set_op_identity(r: &[Value], bpchar: &[usize]) -> Vec<u8> {
    if bpchar.is_empty() {
        return row_identity(r);
    }
    let mut k = Vec::new();
    for (i, v) in r.iter().enumerate() {
        match v {
            Value::Text(s) if bpchar.contains(&i) => {
                keys::encode(&Value::Text(s.trim_end_matches(' ').into()), &mut k);
            }
            _ => keys::encode(v, &mut k),
        }
    }
    k
}

/// `compare` with the type's own order where it differs from the
/// value's: bpchar ignores trailing blanks.
pub(super) fn compare_as(ty: Type, a: &Value, b: &Value) -> Ordering {
    match (ty, a, b) {
        (Type::Bpchar, Value::Text(x), Value::Text(y)) => {
            x.trim_end_matches(' ').cmp(y.trim_end_matches(' '))
        }
        _ => compare(a, b),
    }
}

fn row_identity(r: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for v in r {
        // Equal values must collide (-0 and 0, 1.0 and 1, '1 mon' and
        // '30 days'): keys::encode canonicalizes.
        keys::encode(v, &mut k);
    }
    k
}

fn unique_violation(table: &Table, row: &[Value]) -> SqlError {
    write::duplicate_key(
        table,
        table.pkey_name.as_deref().unwrap_or_default(),
        table.primary_key.as_deref().unwrap_or_default(),
        row,
    )
}

impl<'a> Exec<'a> {
    /// Locks `table` in `mode` until the end of the transaction.
    pub fn lock_table(&mut self, table: &Table, mode: Mode) -> Result<()> {
        let held = self
            .txn
            .table_locks
            .iter()
            .any(|&(t, m)| t == table.oid && (m == mode || m == Mode::Exclusive));
        if held {
            return Ok(());
        }
        self.lock(LockTag::Table(table.oid), mode, Wait::Block)?;
        self.txn.table_locks.push((table.oid, mode));
        Ok(())
    }

    /// The rows of `table` this statement sees: the snapshot plus the
    /// transaction's own writes, in key order.
    pub fn visible_rows(&mut self, table: &Table) -> Result<Vec<(Vec<u8>, Row)>> {
        self.lock_table(table, Mode::Shared)?;
        let mut base = self.engine.store.scan(table.oid, self.snapshot);
        if let Some(old) = table.old_layout(self.snapshot)? {
            base = old.convert(base);
        }
        let own = self.txn.writes.range(table.oid, &[])?;
        Ok(merge_own(base, own))
    }

    /// Calls `f` with the rows of `table` this statement sees, in key
    /// order, a page at a time, so a whole large table is never in memory
    /// at once (the transaction's own writes to it are read first).
    pub fn for_each_visible_page(
        &mut self,
        table: &Table,
        mut f: impl FnMut(&mut Self, Vec<(Vec<u8>, Row)>) -> Result<()>,
    ) -> Result<()> {
        const PAGE: usize = 4096;
        self.lock_table(table, Mode::Shared)?;
        let mut own = self
            .txn
            .writes
            .range(table.oid, &[])?
            .into_iter()
            .peekable();
        let mut after: Option<Vec<u8>> = None;
        let old = table.old_layout(self.snapshot)?;
        loop {
            let mut base =
                self.engine
                    .store
                    .scan_page(table.oid, self.snapshot, after.as_deref(), PAGE);
            let done = base.len() < PAGE;
            after = base.last().map(|(k, _)| k.clone());
            if let Some(old) = &old {
                base = old.convert(base);
            }
            let mut mine = Vec::new();
            while let Some(w) = own.next_if(|(k, _)| done || after.as_ref().is_some_and(|a| k <= a))
            {
                mine.push(w);
            }
            let page = merge_own(base, mine);
            if !page.is_empty() {
                f(self, page)?;
            }
            if done {
                return Ok(());
            }
        }
    }

    /// The row under `key` as this statement sees it.
    fn visible_row(&mut self, table: &Table, key: &[u8]) -> Result<Option<Row>> {
        self.lock_table(table, Mode::Shared)?;
        if let Some(own) = self.txn.writes.get(table.oid, key)? {
            return Ok(own);
        }
        let row = self
            .engine
            .store
            .get(table.oid, key, self.snapshot)
            .and_then(|(_, r)| r);
        Ok(match (row, table.old_layout(self.snapshot)?) {
            (Some(r), Some(old)) => old.convert_row(r),
            (row, _) => row,
        })
    }

    fn key_rows(
        &mut self,
        table: &Table,
        key: &Lookup,
        outer_row: &[Value],
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let exprs = match key {
            Lookup::Pk(e) | Lookup::Index(_, e) => e,
            Lookup::Range(r) => return self.range_rows(table, r),
        };
        let mut vals = Vec::with_capacity(exprs.len());
        for k in exprs {
            let v = self.eval(k, outer_row)?;
            if v.is_null() {
                return Ok(Vec::new());
            }
            vals.push(v);
        }
        let index = match key {
            Lookup::Index(pos, _) => Some(*pos),
            Lookup::Pk(_) | Lookup::Range(_) => None,
        };
        if table.lookup_is_newer(index, self.snapshot) {
            // The snapshot predates the index (or the keys): find the rows
            // by their values instead.
            let cols = match index {
                Some(i) => table.indexes.get(i).map(|x| x.columns.clone()),
                None => table.primary_key.clone(),
            }
            .unwrap_or_default();
            let want = write::encode_values(&vals);
            let cols = &cols[..vals.len().min(cols.len())];
            return Ok(self
                .visible_rows(table)?
                .into_iter()
                .filter(|(_, r)| keys::row_key(r, cols) == want)
                .collect());
        }
        if let Lookup::Index(pos, _) = key {
            let Some(idx) = table.indexes.get(*pos) else {
                return Err(SqlError::internal("index lookup on a missing index"));
            };
            return self.index_rows(table, idx, &vals);
        }
        let kb = write::encode_values(&vals);
        Ok(self
            .visible_row(table, &kb)?
            .map(|r| vec![(kb, r)])
            .unwrap_or_default())
    }

    /// Fails with 57014 when the client cancelled the statement.
    pub fn check_cancel(&self) -> Result<()> {
        if self
            .session
            .terminate
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(crate::wire::terminated());
        }
        if self
            .session
            .cancel
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(SqlError::new(
                code::QUERY_CANCELED,
                "canceling statement due to user request",
            ));
        }
        Ok(())
    }

    /// Runs `plan` as far as its first `max` rows need (all of them with
    /// `None`), the way PostgreSQL's executor pulls rows through a
    /// projection, a filter or a LIMIT: a row nobody asks for is not
    /// computed (a LIMIT stops reading, so an error or a
    /// `nextval` in a later row never happens), and an error comes after
    /// the rows before it. Returns those rows and the error, if one
    /// stopped it. Other plans run whole (PostgreSQL's sorts, aggregates
    /// and joins read their input whole too, or nearly). Not done: the
    /// constant folding of PostgreSQL's planner, which fails `SELECT 1 / 0
    /// FROM t LIMIT 0` (or `WHERE false`) before any row is read.
    pub fn run_upto(&mut self, plan: &Plan, max: Option<usize>) -> (Rows, Option<SqlError>) {
        let full = |n: usize| max.is_some_and(|m| n >= m);
        if let (Plan::Filter(..) | Plan::Project(..), Some((scan, layers))) =
            (plan, scan_pipeline(plan))
        {
            return self.run_pipeline_upto(scan, &layers, max);
        }
        match plan {
            Plan::Filter(input, pred) => {
                let (rows, err) = self.run_upto(input, None);
                let mut out = Vec::new();
                for r in rows {
                    if full(out.len()) {
                        return (out, None);
                    }
                    if let Err(e) = self.check_cancel() {
                        return (out, Some(e));
                    }
                    match self.eval(pred, &r) {
                        Ok(v) if v.as_bool() == Some(true) => out.push(r),
                        Ok(_) => {}
                        Err(e) => return (out, Some(e)),
                    }
                }
                let err = if full(out.len()) { None } else { err };
                (out, err)
            }
            Plan::Project(input, exprs) => {
                let (rows, err) = self.run_upto(input, max);
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if full(out.len()) {
                        return (out, None);
                    }
                    let mut vals = Vec::with_capacity(exprs.len());
                    for e in exprs {
                        match self.eval(e, &r) {
                            Ok(v) => vals.push(v),
                            Err(e) => return (out, Some(e)),
                        }
                    }
                    out.push(vals);
                }
                (out, err)
            }
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                // PostgreSQL evaluates both before it reads a row.
                let (off, lim) = match self.limit_offset(limit.as_ref(), offset.as_ref()) {
                    Ok(v) => v,
                    Err(e) => return (Vec::new(), Some(e)),
                };
                let want = lim.min(max.unwrap_or(usize::MAX));
                if want == 0 {
                    // (LIMIT 0 reads nothing, not even the offset's rows.)
                    return (Vec::new(), None);
                }
                let need = off.saturating_add(want);
                let (rows, err) = self.run_upto(input, (need != usize::MAX).then_some(need));
                let enough = rows.len() >= need;
                let out = rows.into_iter().skip(off).take(want).collect();
                (out, if enough { None } else { err })
            }
            Plan::SetOp {
                kind: SetOpKind::Union,
                all: true,
                left,
                right,
                ..
            } => {
                // UNION ALL appends, as PostgreSQL's Append: the right side
                // is read only when the left did not give enough rows.
                let (mut out, err) = self.run_upto(left, max);
                if err.is_some() {
                    return (out, err);
                }
                if full(out.len()) {
                    return (out, None);
                }
                let rest = max.map(|m| m - out.len());
                let (more, err) = self.run_upto(right, rest);
                out.extend(more);
                (out, err)
            }
            _ => match self.run(plan) {
                Ok(rows) => (rows, None),
                Err(e) => (Vec::new(), Some(e)),
            },
        }
    }

    /// A LIMIT's offset and count (no LIMIT: all rows).
    fn limit_offset(
        &mut self,
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> Result<(usize, usize)> {
        let off = match offset {
            Some(e) => match self.eval(e, &[])? {
                Value::Int(i) if i < 0 => {
                    return Err(SqlError::new("2201X", "OFFSET must not be negative"))
                }
                Value::Int(i) => usize::try_from(i).unwrap_or(usize::MAX),
                _ => 0,
            },
            None => 0,
        };
        let lim = match limit {
            Some(e) => match self.eval(e, &[])? {
                Value::Int(i) if i < 0 => {
                    return Err(SqlError::new("2201W", "LIMIT must not be negative"))
                }
                Value::Int(i) => usize::try_from(i).unwrap_or(usize::MAX),
                _ => usize::MAX,
            },
            None => usize::MAX,
        };
        Ok((off, lim))
    }

    /// Runs a query plan to completion.
    pub fn run(&mut self, plan: &Plan) -> Result<Rows> {
        self.check_cancel()?;
        Ok(match plan {
            Plan::OneRow => vec![Vec::new()],
            Plan::Values(rows) => {
                // Whole, not as far as read: PostgreSQL folds a constant
                // row at plan time (`VALUES (1), (1 / 0) LIMIT 1` fails).
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut vals = Vec::with_capacity(r.len());
                    for e in r {
                        vals.push(self.eval(e, &[])?);
                    }
                    out.push(vals);
                }
                out
            }
            Plan::Filter(..) | Plan::Project(..) | Plan::Limit { .. } => {
                match self.run_upto(plan, None) {
                    (rows, None) => rows,
                    (_, Some(e)) => return Err(e),
                }
            }
            Plan::Scan { table, key } => {
                let rows = match key {
                    Some(k) => self.key_rows(table, k, &[])?,
                    None => self.visible_rows(table)?,
                };
                rows.into_iter().map(|(_, r)| r.to_vec()).collect()
            }
            Plan::Join {
                left,
                right,
                kind,
                on,
                left_width,
                right_width,
            } => self.join(&join::JoinSpec {
                left,
                right,
                kind: *kind,
                on: on.as_ref(),
                left_width: *left_width,
                right_width: *right_width,
            })?,
            Plan::Lateral {
                left,
                right,
                outer_join,
                on,
                right_width,
            } => {
                let l = self.run(left)?;
                let mut out = Vec::new();
                for lr in l {
                    self.outer.push(lr.clone());
                    let r = self.run(right);
                    self.outer.pop();
                    let mut matched = false;
                    for rr in r? {
                        let mut row = lr.clone();
                        row.extend(rr);
                        let ok = match on {
                            Some(p) => self.eval(p, &row)?.as_bool() == Some(true),
                            None => true,
                        };
                        if ok {
                            matched = true;
                            out.push(row);
                        }
                    }
                    if !matched && *outer_join {
                        let mut row = lr;
                        row.extend(std::iter::repeat_n(Value::Null, *right_width));
                        out.push(row);
                    }
                }
                out
            }
            Plan::RecursiveUnion {
                base,
                step,
                all,
                work,
            } => {
                let mut seen = HashSet::new();
                let mut out: Rows = self
                    .run(base)?
                    .into_iter()
                    .filter(|r| *all || seen.insert(row_identity(r)))
                    .collect();
                let mut last = out.clone();
                while !last.is_empty() {
                    self.check_cancel()?;
                    *work.0.lock() = std::mem::take(&mut last);
                    let new = self.run(step);
                    work.0.lock().clear();
                    last = new?
                        .into_iter()
                        .filter(|r| *all || seen.insert(row_identity(r)))
                        .collect();
                    out.extend(last.iter().cloned());
                }
                out
            }
            Plan::WorkTable(work) => work.0.lock().clone(),
            Plan::Aggregate {
                input,
                groups,
                aggs,
            } => {
                // Over a plain table scan (filtered, projected), the rows
                // are aggregated a page at a time: a sum over a large
                // table never holds the whole table.
                if let Some((scan, layers)) = scan_pipeline(input) {
                    let mut run = agg::Aggregation::default();
                    self.for_each_scan_page(scan, |ex, page| {
                        ex.check_cancel()?;
                        let mut rows: Rows = page.into_iter().map(|(_, r)| r.to_vec()).collect();
                        for layer in &layers {
                            rows = ex.apply_layer(layer, rows)?;
                        }
                        ex.aggregate_rows(&mut run, &rows, groups, aggs)
                    })?;
                    self.aggregate_finish(run, groups, aggs)?
                } else {
                    let rows = self.run(input)?;
                    self.aggregate(rows, groups, aggs)?
                }
            }
            Plan::Sort(input, keys) => {
                let rows = self.run(input)?;
                self.sort(rows, keys)?
            }
            Plan::Distinct(input) => {
                let rows = self.run(input)?;
                let mut seen = HashSet::new();
                rows.into_iter()
                    .filter(|r| seen.insert(row_identity(r)))
                    .collect()
            }
            Plan::SetOp {
                kind,
                all,
                left,
                right,
                bpchar,
            } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                set_op(*kind, *all, l, r, bpchar)
            }
            Plan::LockRows {
                table,
                key,
                filter,
                order,
                exclusive,
                wait,
                limit,
                offset,
            } => self.lock_rows(
                table,
                key,
                filter.as_ref(),
                order,
                *exclusive,
                *wait,
                limit.as_ref(),
                offset.as_ref(),
            )?,
            Plan::Series { start, stop, step } => {
                let a = self.eval(start, &[])?;
                let b = self.eval(stop, &[])?;
                let s = match step {
                    Some(e) => self.eval(e, &[])?,
                    None => Value::Int(1),
                };
                if let (Value::Int(a), Value::Int(b), Value::Interval(s)) = (&a, &b, &s) {
                    return crate::dtfuncs::ts_series(*a, *b, *s);
                }
                let (Value::Int(a), Value::Int(b), Value::Int(s)) = (a, b, s) else {
                    return Ok(Vec::new());
                };
                if s == 0 {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        "step size cannot equal zero",
                    ));
                }
                // A result is computed whole before it is sent: a series
                // too long to hold is a clear error, not memory exhaustion.
                const MAX_ROWS: i128 = 50_000_000;
                let n = (i128::from(b) - i128::from(a)) / i128::from(s) + 1;
                if n > MAX_ROWS {
                    return Err(SqlError::new(
                        "54000",
                        format!(
                            "generate_series would return {n} rows; tusk-lite computes a result whole and stops at {MAX_ROWS}"
                        ),
                    ));
                }
                let mut out = Vec::with_capacity(usize::try_from(n.max(0)).unwrap_or(0));
                let mut i = a;
                while (s > 0 && i <= b) || (s < 0 && i >= b) {
                    out.push(vec![Value::Int(i)]);
                    match i.checked_add(s) {
                        Some(n) => i = n,
                        None => break,
                    }
                }
                out
            }
            Plan::PreparedStatements => self
                .session
                .prepared
                .lock()
                .iter()
                .map(|(name, (text, from_sql))| {
                    vec![
                        Value::Text(name.clone()),
                        Value::Text(text.clone()),
                        Value::Bool(*from_sql),
                    ]
                })
                .collect(),
            Plan::Cursors => self
                .session
                .cursors
                .lock()
                .iter()
                .map(|(name, c)| {
                    vec![
                        Value::Text(name.clone()),
                        Value::Text(c.statement.clone()),
                        Value::Bool(c.holdable),
                        Value::Bool(c.binary),
                        Value::Bool(c.scrollable),
                        Value::Int(c.created),
                    ]
                })
                .collect(),
            Plan::Unnest(e) => match self.eval(e, &[])? {
                Value::Array(items) => items.into_iter().map(|v| vec![v]).collect(),
                _ => Vec::new(),
            },
            Plan::UnnestRows(e) => match self.eval(e, &[])? {
                Value::Array(items) => items
                    .into_iter()
                    .map(|v| match v {
                        Value::Array(row) => row,
                        other => vec![other],
                    })
                    .collect(),
                _ => Vec::new(),
            },
            Plan::Truncate(input, n) => {
                let mut rows = self.run(input)?;
                for r in &mut rows {
                    r.truncate(*n);
                }
                rows
            }
        })
    }

    fn sort(&mut self, rows: Rows, keys: &[SortKey]) -> Result<Rows> {
        let mut keyed = Vec::with_capacity(rows.len());
        for r in rows {
            let mut k = Vec::with_capacity(keys.len());
            for sk in keys {
                let v = self.eval(&sk.expr, &r)?;
                // bpchar orders without its trailing blanks.
                let v = match v {
                    Value::Text(s) if sk.expr.ty.ty == Type::Bpchar && s.ends_with(' ') => {
                        Value::Text(s.trim_end_matches(' ').to_string())
                    }
                    v => v,
                };
                k.push(v);
            }
            keyed.push((k, r));
        }
        keyed.sort_by(|(a, _), (b, _)| compare_sort_keys(keys, a, b));
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }
}

/// A step over the rows of a table scan: a WHERE or a projection.
enum Layer<'a> {
    Filter(&'a Expr),
    Project(&'a [Expr]),
}

/// A table scan run a page at a time: the whole table, or a key range.
type PagedScan<'a> = (&'a Table, Option<&'a KeyRange>);

/// When `plan` is a whole-table (or key range) scan under filters and
/// projections only: the scan and those steps, innermost first, so the
/// scan can be run a page at a time.
fn scan_pipeline(plan: &Plan) -> Option<(PagedScan<'_>, Vec<Layer<'_>>)> {
    match plan {
        Plan::Scan { table, key: None } => Some(((table, None), Vec::new())),
        Plan::Scan {
            table,
            key: Some(Lookup::Range(r)),
        } => Some(((table, Some(r)), Vec::new())),
        Plan::Filter(input, pred) => {
            let (t, mut layers) = scan_pipeline(input)?;
            layers.push(Layer::Filter(pred));
            Some((t, layers))
        }
        Plan::Project(input, exprs) => {
            let (t, mut layers) = scan_pipeline(input)?;
            layers.push(Layer::Project(exprs));
            Some((t, layers))
        }
        _ => None,
    }
}

impl Exec<'_> {
    /// [`Exec::run_upto`] of a filtered or projected whole-table scan:
    /// the table is read a page at a time and each row goes through the
    /// steps in turn (as PostgreSQL's executor pulls it), so only the
    /// rows kept are held, and reading stops once `max` are.
    fn run_pipeline_upto(
        &mut self,
        scan: PagedScan<'_>,
        layers: &[Layer<'_>],
        max: Option<usize>,
    ) -> (Rows, Option<SqlError>) {
        let full = |n: usize| max.is_some_and(|m| n >= m);
        let mut out = Vec::new();
        let mut stop: Option<SqlError> = None;
        let r = self.for_each_scan_page(scan, |ex, page| {
            'rows: for (_, row) in page {
                if full(out.len()) {
                    break;
                }
                if let Err(e) = ex.check_cancel() {
                    stop = Some(e);
                    break;
                }
                let mut row = row.to_vec();
                for layer in layers {
                    match layer {
                        Layer::Filter(pred) => match ex.eval(pred, &row) {
                            Ok(v) if v.as_bool() == Some(true) => {}
                            Ok(_) => continue 'rows,
                            Err(e) => {
                                stop = Some(e);
                                break 'rows;
                            }
                        },
                        Layer::Project(exprs) => {
                            let mut vals = Vec::with_capacity(exprs.len());
                            for e in exprs.iter() {
                                match ex.eval(e, &row) {
                                    Ok(v) => vals.push(v),
                                    Err(e) => {
                                        stop = Some(e);
                                        break 'rows;
                                    }
                                }
                            }
                            row = vals;
                        }
                    }
                }
                out.push(row);
            }
            // Ends the scan early: enough rows, or an error.
            if stop.is_some() || full(out.len()) {
                return Err(SqlError::internal("scan stopped"));
            }
            Ok(())
        });
        match (r, stop) {
            (_, Some(e)) => (out, Some(e)),
            (Err(_), None) if full(out.len()) => (out, None),
            (Err(e), None) => (out, Some(e)),
            (Ok(()), None) => (out, None),
        }
    }

    /// [`Exec::for_each_visible_page`] of a [`PagedScan`].
    fn for_each_scan_page(
        &mut self,
        (table, range): PagedScan<'_>,
        f: impl FnMut(&mut Self, Vec<(Vec<u8>, Row)>) -> Result<()>,
    ) -> Result<()> {
        match range {
            None => self.for_each_visible_page(table, f),
            Some(r) => self.for_each_range_page(table, r, f),
        }
    }

    /// One [`Layer`] over a page of rows, as Filter and Project run.
    fn apply_layer(&mut self, layer: &Layer<'_>, rows: Rows) -> Result<Rows> {
        let mut out = Vec::with_capacity(rows.len());
        match layer {
            Layer::Filter(pred) => {
                for r in rows {
                    if self.eval(pred, &r)?.as_bool() == Some(true) {
                        out.push(r);
                    }
                }
            }
            Layer::Project(exprs) => {
                for r in rows {
                    let mut vals = Vec::with_capacity(exprs.len());
                    for e in exprs.iter() {
                        vals.push(self.eval(e, &r)?);
                    }
                    out.push(vals);
                }
            }
        }
        Ok(out)
    }
}

/// The order of two rows' ORDER BY values (`keys`' directions and NULLS
/// FIRST/LAST).
pub(super) fn compare_sort_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (i, sk) in keys.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if sk.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if sk.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = compare(x, y);
                if sk.desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn set_op(kind: SetOpKind, all: bool, l: Rows, r: Rows, bpchar: &[usize]) -> Rows {
    let row_identity = |x: &[Value]| set_op_identity(x, bpchar);
    use std::collections::HashMap;
    match kind {
        SetOpKind::Union => {
            let mut out = l;
            out.extend(r);
            if all {
                out
            } else {
                let mut seen = HashSet::new();
                out.into_iter()
                    .filter(|x| seen.insert(row_identity(x)))
                    .collect()
            }
        }
        SetOpKind::Intersect | SetOpKind::Except => {
            let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
            for x in &r {
                *counts.entry(row_identity(x)).or_default() += 1;
            }
            let mut out = Vec::new();
            let mut emitted = HashSet::new();
            for x in l {
                let id = row_identity(&x);
                let c = counts.get(&id).copied().unwrap_or(0);
                let keep = if kind == SetOpKind::Intersect {
                    c > 0
                } else {
                    c == 0
                };
                if all {
                    if kind == SetOpKind::Intersect {
                        if c > 0 {
                            counts.insert(id, c - 1);
                            out.push(x);
                        }
                    } else if c > 0 {
                        counts.insert(id, c - 1);
                    } else {
                        out.push(x);
                    }
                } else if keep && emitted.insert(id) {
                    out.push(x);
                }
            }
            out
        }
    }
}
