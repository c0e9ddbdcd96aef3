//! The executor: runs plans over a transaction's view of the store, and
//! applies INSERT/UPDATE/DELETE with row locks and PostgreSQL's READ
//! COMMITTED re-check of changed rows.

mod agg;
pub mod expr;
mod fkey;
mod write;

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use crate::catalog::Table;
use crate::error::{code, Result, SqlError};
use crate::sql::plan::{Delete, Expr, Insert, JoinKind, Lookup, Plan, SetOpKind, SortKey, Update};
use crate::storage::{keys, Row, Ts};
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::txn::{Engine, Isolation, Txn};
use crate::types::{compare, format_text, Value};

/// Who is asking: for current_user, current_database.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user: String,
    pub database: String,
    /// Set by a CancelRequest: the running statement stops with 57014.
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// currval(): the last nextval() of each sequence in this session.
    pub currval: std::sync::Arc<parking_lot::Mutex<std::collections::HashMap<u32, i64>>>,
    /// `lock_timeout`: a lock wait longer than this fails with 55P03.
    pub lock_timeout: Option<std::time::Duration>,
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
                format_text(v, c.ty.ty)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hashable identity of a row for DISTINCT and set operations.
fn row_identity(r: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for v in r {
        match v {
            // Numerics equal in value must collide: keys::encode canonicalizes.
            Value::Float(f) if *f == 0.0 => keys::encode(&Value::Float(0.0), &mut k),
            _ => keys::encode(v, &mut k),
        }
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
        self.lock(LockTag::Table(table.oid), mode, Wait::Block)
            .map(|_| ())
    }

    /// The rows of `table` this statement sees: the snapshot plus the
    /// transaction's own writes, in key order.
    pub fn visible_rows(&mut self, table: &Table) -> Result<Vec<(Vec<u8>, Row)>> {
        self.lock_table(table, Mode::Shared)?;
        let base = self.engine.store.scan(table.oid, self.snapshot);
        let lo = (table.oid, Vec::new());
        let own: Vec<(&Vec<u8>, &Option<Row>)> = self
            .txn
            .writes
            .range(lo..)
            .take_while(|((t, _), _)| *t == table.oid)
            .map(|((_, k), v)| (k, v))
            .collect();
        if own.is_empty() {
            return Ok(base);
        }
        let mut merged: std::collections::BTreeMap<Vec<u8>, Row> = base.into_iter().collect();
        for (k, v) in own {
            match v {
                Some(r) => {
                    merged.insert(k.clone(), r.clone());
                }
                None => {
                    merged.remove(k);
                }
            }
        }
        Ok(merged.into_iter().collect())
    }

    /// The row under `key` as this statement sees it.
    fn visible_row(&mut self, table: &Table, key: &[u8]) -> Result<Option<Row>> {
        self.lock_table(table, Mode::Shared)?;
        if let Some(own) = self.txn.writes.get(&(table.oid, key.to_vec())) {
            return Ok(own.clone());
        }
        Ok(self
            .engine
            .store
            .get(table.oid, key, self.snapshot)
            .and_then(|(_, r)| r))
    }

    fn key_rows(
        &mut self,
        table: &Table,
        key: &Lookup,
        outer_row: &[Value],
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let exprs = match key {
            Lookup::Pk(e) | Lookup::Index(_, e) => e,
        };
        let mut vals = Vec::with_capacity(exprs.len());
        for k in exprs {
            let v = self.eval(k, outer_row)?;
            if v.is_null() {
                return Ok(Vec::new());
            }
            vals.push(v);
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

    /// Runs a query plan to completion.
    pub fn run(&mut self, plan: &Plan) -> Result<Rows> {
        self.check_cancel()?;
        Ok(match plan {
            Plan::OneRow => vec![Vec::new()],
            Plan::Values(rows) => {
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
            Plan::Scan { table, key } => {
                let rows = match key {
                    Some(k) => self.key_rows(table, k, &[])?,
                    None => self.visible_rows(table)?,
                };
                rows.into_iter().map(|(_, r)| r.to_vec()).collect()
            }
            Plan::Filter(input, pred) => {
                let rows = self.run(input)?;
                let mut out = Vec::new();
                for r in rows {
                    self.check_cancel()?;
                    if self.eval(pred, &r)?.as_bool() == Some(true) {
                        out.push(r);
                    }
                }
                out
            }
            Plan::Join {
                left,
                right,
                kind,
                on,
                left_width,
                right_width,
            } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                let mut out = Vec::new();
                let mut right_matched = vec![false; r.len()];
                for lr in &l {
                    let mut matched = false;
                    for (i, rr) in r.iter().enumerate() {
                        let mut row = lr.clone();
                        row.extend(rr.iter().cloned());
                        let ok = match on {
                            Some(p) => self.eval(p, &row)?.as_bool() == Some(true),
                            None => true,
                        };
                        if ok {
                            matched = true;
                            right_matched[i] = true;
                            out.push(row);
                        }
                    }
                    if !matched && matches!(kind, JoinKind::Left | JoinKind::Full) {
                        let mut row = lr.clone();
                        row.extend(std::iter::repeat_n(Value::Null, *right_width));
                        out.push(row);
                    }
                }
                if matches!(kind, JoinKind::Right | JoinKind::Full) {
                    for (i, rr) in r.iter().enumerate() {
                        if !right_matched[i] {
                            let mut row: Vec<Value> =
                                std::iter::repeat_n(Value::Null, *left_width).collect();
                            row.extend(rr.iter().cloned());
                            out.push(row);
                        }
                    }
                }
                out
            }
            Plan::Project(input, exprs) => {
                let rows = self.run(input)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut vals = Vec::with_capacity(exprs.len());
                    for e in exprs {
                        vals.push(self.eval(e, &r)?);
                    }
                    out.push(vals);
                }
                out
            }
            Plan::Aggregate {
                input,
                groups,
                aggs,
            } => {
                let rows = self.run(input)?;
                self.aggregate(rows, groups, aggs)?
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
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                let rows = self.run(input)?;
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
                rows.into_iter().skip(off).take(lim).collect()
            }
            Plan::SetOp {
                kind,
                all,
                left,
                right,
            } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                set_op(*kind, *all, l, r)
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
                let (Value::Int(a), Value::Int(b), Value::Int(s)) = (a, b, s) else {
                    return Ok(Vec::new());
                };
                if s == 0 {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        "step size cannot equal zero",
                    ));
                }
                let mut out = Vec::new();
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
                k.push(self.eval(&sk.expr, &r)?);
            }
            keyed.push((k, r));
        }
        keyed.sort_by(|(a, _), (b, _)| {
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
        });
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn lock_rows(
        &mut self,
        table: &Table,
        key: &Option<Lookup>,
        filter: Option<&Expr>,
        order: &[SortKey],
        exclusive: bool,
        wait: Wait,
        limit: Option<&Expr>,
        offset: Option<&Expr>,
    ) -> Result<Rows> {
        let count = |ex: &mut Exec<'_>, e: Option<&Expr>| -> Result<Option<usize>> {
            Ok(match e {
                Some(e) => match ex.eval(e, &[])? {
                    Value::Int(i) if i < 0 => {
                        return Err(SqlError::new("2201W", "LIMIT must not be negative"))
                    }
                    Value::Int(i) => Some(usize::try_from(i).unwrap_or(usize::MAX)),
                    _ => None,
                },
                None => None,
            })
        };
        let want = match (count(self, limit)?, count(self, offset)?) {
            (Some(l), o) => l.saturating_add(o.unwrap_or(0)),
            (None, _) => usize::MAX,
        };
        let mut rows = self.target_rows(table, key, &filter.cloned())?;
        if !order.is_empty() {
            let keyed: Rows = rows.iter().map(|(_, r)| r.to_vec()).collect();
            let idx: Vec<usize> = (0..keyed.len()).collect();
            // Sort the candidates by the ORDER BY keys of the versions seen.
            let mut with_idx: Rows = keyed
                .into_iter()
                .zip(idx)
                .map(|(mut r, i)| {
                    r.push(Value::Int(i64::try_from(i).unwrap_or(0)));
                    r
                })
                .collect();
            with_idx = self.sort(with_idx, order)?;
            let mut sorted = Vec::with_capacity(rows.len());
            let mut slots: Vec<Option<(Vec<u8>, Row)>> = rows.into_iter().map(Some).collect();
            for r in with_idx {
                if let Some(Value::Int(i)) = r.last() {
                    if let Some(item) = slots
                        .get_mut(usize::try_from(*i).unwrap_or(0))
                        .and_then(Option::take)
                    {
                        sorted.push(item);
                    }
                }
            }
            rows = sorted;
        }
        let mode = if exclusive {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        let mut out = Vec::new();
        for (k, seen) in rows {
            if out.len() >= want {
                break;
            }
            let got = self
                .lock(LockTag::Row(table.oid, k.clone()), mode, wait)
                .map_err(|e| {
                    if e.code == code::LOCK_NOT_AVAILABLE && wait == Wait::NoWait {
                        SqlError::new(
                            code::LOCK_NOT_AVAILABLE,
                            format!(
                                "could not obtain lock on row in relation \"{}\"",
                                table.name
                            ),
                        )
                    } else {
                        e
                    }
                })?;
            if !got {
                continue;
            }
            if let Some(r) = self.current_version(table, &k, seen, filter)? {
                out.push(r.to_vec());
            }
        }
        Ok(out)
    }

    /// After a row lock: the version to act on (own write, or the newest
    /// committed one re-checked against `filter` under READ COMMITTED).
    fn current_version(
        &mut self,
        table: &Table,
        key: &[u8],
        seen: Row,
        filter: Option<&Expr>,
    ) -> Result<Option<Row>> {
        if let Some(own) = self.txn.writes.get(&(table.oid, key.to_vec())) {
            return Ok(own.clone());
        }
        match self.engine.store.get(table.oid, key, Ts::MAX) {
            Some((ts, newest)) if ts > self.snapshot => {
                if self.txn.isolation == Isolation::RepeatableRead {
                    return Err(SqlError::new(
                        code::SERIALIZATION_FAILURE,
                        "could not serialize access due to concurrent update",
                    ));
                }
                let Some(newest) = newest else {
                    return Ok(None);
                };
                if let Some(f) = filter {
                    if self.eval(f, &newest)?.as_bool() != Some(true) {
                        return Ok(None);
                    }
                }
                Ok(Some(newest))
            }
            _ => Ok(Some(seen)),
        }
    }

    /// CHECK constraints: a row fails only when one is false (NULL passes).
    fn check_constraints(
        &mut self,
        table: &Table,
        checks: &[(String, Expr)],
        row: &[Value],
    ) -> Result<()> {
        for (name, e) in checks {
            if self.eval(e, row)?.as_bool() == Some(false) {
                return Err(SqlError::new(
                    "23514",
                    format!(
                        "new row for relation \"{}\" violates check constraint \"{name}\"",
                        table.name
                    ),
                )
                .with_detail(format!(
                    "Failing row contains ({}).",
                    failing_row(table, row)
                ))
                .on_table(&table.schema, &table.name, None, Some(name)));
            }
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        if self.txn.read_only {
            return Err(SqlError::new(
                code::READ_ONLY_SQL_TRANSACTION,
                "cannot execute statement in a read-only transaction",
            ));
        }
        Ok(())
    }

    /// Checks NOT NULL and builds the storage key of a new row version.
    fn row_key(&self, table: &Table, row: &[Value]) -> Result<Vec<u8>> {
        for (i, c) in table.columns.iter().enumerate() {
            if c.not_null && row[i].is_null() {
                let vals: Vec<String> = row
                    .iter()
                    .zip(&table.columns)
                    .map(|(v, c)| {
                        if v.is_null() {
                            "null".into()
                        } else {
                            format_text(v, c.ty.ty)
                        }
                    })
                    .collect();
                return Err(SqlError::new(
                    code::NOT_NULL_VIOLATION,
                    format!(
                        "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                        c.name, table.name
                    ),
                )
                .with_detail(format!("Failing row contains ({}).", vals.join(", ")))
                .on_table(&table.schema, &table.name, Some(&c.name), None));
            }
        }
        Ok(match &table.primary_key {
            Some(cols) => keys::row_key(row, cols),
            None => self
                .engine
                .next_rowid
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_be_bytes()
                .to_vec(),
        })
    }

    /// Claims `key` for a new row: locks it and fails with 23505 when a
    /// committed or own row already holds it. Ok(false): it exists and
    /// `skip_existing` (ON CONFLICT DO NOTHING) was asked for.
    fn claim_key(
        &mut self,
        table: &Table,
        key: &[u8],
        row: &[Value],
        skip_existing: bool,
    ) -> Result<bool> {
        if table.primary_key.is_none() {
            return Ok(true);
        }
        self.lock(
            LockTag::Row(table.oid, key.to_vec()),
            Mode::Exclusive,
            Wait::Block,
        )?;
        let exists = match self.txn.writes.get(&(table.oid, key.to_vec())) {
            Some(own) => own.is_some(),
            None => matches!(
                self.engine.store.get(table.oid, key, Ts::MAX),
                Some((_, Some(_)))
            ),
        };
        if exists {
            if skip_existing {
                return Ok(false);
            }
            return Err(unique_violation(table, row));
        }
        Ok(true)
    }

    pub fn insert(&mut self, ins: &Insert) -> Result<(u64, Rows)> {
        use crate::sql::plan::Arbiter;
        self.check_writable()?;
        let table = ins.table.clone();
        self.lock_table(&table, Mode::Shared)?;
        let source = self.run(&ins.source)?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        // Rows this command inserted or updated (ON CONFLICT DO UPDATE
        // may not touch one twice).
        let mut touched: HashSet<Vec<u8>> = HashSet::new();
        let on_conflict = ins.on_conflict_nothing || ins.upsert.is_some();
        for src in source {
            let mut row: Vec<Value> = Vec::with_capacity(table.columns.len());
            for d in &ins.defaults {
                row.push(match d {
                    Some(e) => self.eval(e, &[])?,
                    None => Value::Null,
                });
            }
            for (v, &t) in src.into_iter().zip(&ins.targets) {
                row[t] = v;
            }
            // NOT NULL (in row_key) before CHECK, as PostgreSQL checks them.
            let key = self.row_key(&table, &row)?;
            self.check_constraints(&table, &ins.checks, &row)?;
            let pk_arbiter = on_conflict && matches!(ins.arbiter, Arbiter::Any | Arbiter::Pk);
            let conflict = if !self.claim_key(&table, &key, &row, pk_arbiter)? {
                Some(key.clone())
            } else if let Some((pos, other)) = self.unique_conflict(&table, &key, &row, None)? {
                let arbiter = on_conflict
                    && match ins.arbiter {
                        Arbiter::Any => true,
                        Arbiter::Index(p) => p == pos,
                        Arbiter::Pk => false,
                    };
                if !arbiter {
                    return Err(self.unique_error(&table, pos, &row));
                }
                Some(other)
            } else {
                None
            };
            if let Some(ck) = conflict {
                if let Some(up) = &ins.upsert {
                    if touched.contains(&ck) {
                        return Err(SqlError::new(
                            code::CARDINALITY_VIOLATION,
                            "ON CONFLICT DO UPDATE command cannot affect row a second time",
                        )
                        .with_hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."));
                    }
                    self.lock(
                        LockTag::Row(table.oid, ck.clone()),
                        Mode::Exclusive,
                        Wait::Block,
                    )?;
                    if let Some((new_key, new_row)) =
                        self.upsert_row(&table, &ck, &row, up, &ins.checks)?
                    {
                        if let Some(ret) = &ins.returning {
                            let mut out = Vec::with_capacity(ret.len());
                            for e in ret {
                                out.push(self.eval(e, &new_row)?);
                            }
                            returned.push(out);
                        }
                        touched.insert(new_key);
                        count += 1;
                    }
                }
                continue;
            }
            if let Some(ret) = &ins.returning {
                let mut out = Vec::with_capacity(ret.len());
                for e in ret {
                    out.push(self.eval(e, &row)?);
                }
                returned.push(out);
            }
            if ins.upsert.is_some() {
                touched.insert(key.clone());
            }
            self.put_row(&table, None, Some((&key, Arc::from(row))))?;
            count += 1;
        }
        self.run_ri()?;
        Ok((count, returned))
    }

    /// ON CONFLICT DO UPDATE on the conflicting row under `key` (its row
    /// lock is held): the updated row, or None when the WHERE rejects it.
    fn upsert_row(
        &mut self,
        table: &Table,
        key: &[u8],
        proposed: &[Value],
        up: &crate::sql::plan::Upsert,
        checks: &[(String, Expr)],
    ) -> Result<Option<(Vec<u8>, Vec<Value>)>> {
        let existing = match self.txn.writes.get(&(table.oid, key.to_vec())) {
            Some(Some(r)) => r.clone(),
            _ => match self.engine.store.get(table.oid, key, Ts::MAX) {
                Some((ts, Some(r))) => {
                    if ts > self.snapshot && self.txn.isolation == Isolation::RepeatableRead {
                        return Err(SqlError::new(
                            code::SERIALIZATION_FAILURE,
                            "could not serialize access due to concurrent update",
                        ));
                    }
                    r
                }
                _ => return Err(SqlError::internal("conflicting row vanished")),
            },
        };
        let mut ctx = existing.to_vec();
        ctx.extend(proposed.iter().cloned());
        if let Some(f) = &up.filter {
            if self.eval(f, &ctx)?.as_bool() != Some(true) {
                return Ok(None);
            }
        }
        let mut new_row = existing.to_vec();
        let mut vals = Vec::with_capacity(up.sets.len());
        for (_, e) in &up.sets {
            vals.push(self.eval(e, &ctx)?);
        }
        for ((c, _), v) in up.sets.iter().zip(vals) {
            new_row[*c] = v;
        }
        let new_key = match &table.primary_key {
            Some(_) => self.row_key(table, &new_row)?,
            None => {
                self.row_key(table, &new_row)?;
                key.to_vec()
            }
        };
        self.check_constraints(table, checks, &new_row)?;
        if new_key != key {
            self.claim_key(table, &new_key, &new_row, false)?;
        }
        if let Some((pos, _)) =
            self.unique_conflict(table, &new_key, &new_row, Some((key, &existing)))?
        {
            return Err(self.unique_error(table, pos, &new_row));
        }
        self.put_row(
            table,
            Some((key, &existing)),
            Some((&new_key, Arc::from(new_row.clone()))),
        )?;
        Ok(Some((new_key, new_row)))
    }

    /// Locks a row found by a scan and returns the version to act on:
    /// the newest one. Under READ COMMITTED a row changed since the
    /// snapshot is re-checked against `filter` (EvalPlanQual); under
    /// REPEATABLE READ the change is a serialization failure.
    fn lock_for_write(
        &mut self,
        table: &Table,
        key: &[u8],
        seen: Row,
        filter: Option<&Expr>,
    ) -> Result<Option<Row>> {
        self.lock(
            LockTag::Row(table.oid, key.to_vec()),
            Mode::Exclusive,
            Wait::Block,
        )?;
        self.current_version(table, key, seen, filter)
    }

    fn target_rows(
        &mut self,
        table: &Table,
        key: &Option<Lookup>,
        filter: &Option<Expr>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let rows = match key {
            Some(k) => self.key_rows(table, k, &[])?,
            None => self.visible_rows(table)?,
        };
        let mut out = Vec::new();
        for (k, r) in rows {
            let ok = match filter {
                Some(f) => self.eval(f, &r)?.as_bool() == Some(true),
                None => true,
            };
            if ok {
                out.push((k, r));
            }
        }
        Ok(out)
    }

    pub fn update(&mut self, up: &Update) -> Result<(u64, Rows)> {
        self.check_writable()?;
        let table = up.table.clone();
        let targets = self.target_rows(&table, &up.key, &up.filter)?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        let mut done: HashSet<Vec<u8>> = HashSet::new();
        for (key, seen) in targets {
            if done.contains(&key) {
                continue;
            }
            let Some(cur) = self.lock_for_write(&table, &key, seen, up.filter.as_ref())? else {
                continue;
            };
            let mut row = cur.to_vec();
            let mut new_vals = Vec::with_capacity(up.sets.len());
            for (_, e) in &up.sets {
                new_vals.push(self.eval(e, &cur)?);
            }
            for ((c, _), v) in up.sets.iter().zip(new_vals) {
                row[*c] = v;
            }
            let new_key = match &table.primary_key {
                Some(_) => self.row_key(&table, &row)?,
                None => {
                    self.row_key(&table, &row)?;
                    key.clone()
                }
            };
            self.check_constraints(&table, &up.checks, &row)?;
            if new_key != key {
                self.claim_key(&table, &new_key, &row, false)?;
            }
            if let Some((pos, _)) =
                self.unique_conflict(&table, &new_key, &row, Some((&key, &cur)))?
            {
                return Err(self.unique_error(&table, pos, &row));
            }
            if let Some(ret) = &up.returning {
                let mut out = Vec::with_capacity(ret.len());
                for e in ret {
                    out.push(self.eval(e, &row)?);
                }
                returned.push(out);
            }
            done.insert(new_key.clone());
            self.put_row(&table, Some((&key, &cur)), Some((&new_key, Arc::from(row))))?;
            count += 1;
        }
        self.run_ri()?;
        Ok((count, returned))
    }

    pub fn delete(&mut self, del: &Delete) -> Result<(u64, Rows)> {
        self.check_writable()?;
        let table = del.table.clone();
        let targets = self.target_rows(&table, &del.key, &del.filter)?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        for (key, seen) in targets {
            let Some(cur) = self.lock_for_write(&table, &key, seen, del.filter.as_ref())? else {
                continue;
            };
            if let Some(ret) = &del.returning {
                let mut out = Vec::with_capacity(ret.len());
                for e in ret {
                    out.push(self.eval(e, &cur)?);
                }
                returned.push(out);
            }
            self.put_row(&table, Some((&key, &cur)), None)?;
            count += 1;
        }
        self.run_ri()?;
        Ok((count, returned))
    }
}

fn set_op(kind: SetOpKind, all: bool, l: Rows, r: Rows) -> Rows {
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
