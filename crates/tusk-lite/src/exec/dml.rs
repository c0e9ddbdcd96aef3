//! INSERT, UPDATE and DELETE: NOT NULL and CHECK, claiming primary keys,
//! unique indexes, ON CONFLICT, and the row locks and READ COMMITTED
//! re-check of the rows they change.

use super::*;

/// A row an UPDATE or DELETE acts on: its storage key, the version the
/// statement saw, and the engine clock at which that was the newest.
type WriteTarget = (Vec<u8>, Row, Option<Ts>);

impl Exec<'_> {
    /// CHECK constraints: a row fails only when one is false (NULL passes).
    pub(super) fn check_constraints(
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

    pub(super) fn check_writable(&self, what: &str) -> Result<()> {
        if self.txn.read_only {
            return Err(SqlError::new(
                code::READ_ONLY_SQL_TRANSACTION,
                format!("cannot execute {what} in a read-only transaction"),
            ));
        }
        Ok(())
    }

    /// Checks NOT NULL and builds the storage key of a new row version.
    pub(super) fn row_key(&self, table: &Table, row: &[Value]) -> Result<Vec<u8>> {
        for (i, c) in table.columns.iter().enumerate() {
            if c.not_null && row[i].is_null() {
                let vals: Vec<String> = row
                    .iter()
                    .zip(&table.columns)
                    .map(|(v, c)| {
                        if v.is_null() {
                            "null".into()
                        } else {
                            crate::types::format_value(v, c.ty)
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
            Some(cols) => {
                let k = keys::row_key(row, cols);
                if k.len() > keys::MAX_KEY {
                    let name = table.pkey_name.as_deref().unwrap_or(&table.name);
                    return Err(keys::key_too_long(k.len(), name));
                }
                k
            }
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
    pub(super) fn claim_key(
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
        let exists = match self.txn.writes.get(table.oid, key)? {
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
        self.check_writable("INSERT")?;
        let table = ins.table.clone();
        self.lock_table(&table, Mode::Shared)?;
        let source = self.run(&ins.source)?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        // Rows this command inserted or updated (ON CONFLICT DO UPDATE
        // may not touch one twice).
        let mut touched: HashSet<Vec<u8>> = HashSet::new();
        let on_conflict = ins.on_conflict_nothing || ins.upsert.is_some();
        // A column given a value takes no default: a serial column's
        // sequence advances only for the rows that leave it out.
        let mut given = vec![false; table.columns.len()];
        for &t in &ins.targets {
            given[t] = true;
        }
        for src in source {
            let mut row: Vec<Value> = Vec::with_capacity(table.columns.len());
            for (d, &given) in ins.defaults.iter().zip(&given) {
                row.push(match d {
                    Some(e) if !given => self.eval(e, &[])?,
                    _ => Value::Null,
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
    pub(super) fn upsert_row(
        &mut self,
        table: &Table,
        key: &[u8],
        proposed: &[Value],
        up: &crate::sql::plan::Upsert,
        checks: &[(String, Expr)],
    ) -> Result<Option<(Vec<u8>, Vec<Value>)>> {
        let existing = match self.txn.writes.get(table.oid, key)? {
            Some(Some(r)) => r,
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
    ///
    /// `fresh`: the engine clock at which `seen` was read as the row's
    /// newest version. Every writer of the row holds its lock until its
    /// commit is published, so when the clock has not moved once the lock
    /// is ours, `seen` is still the newest version.
    pub(super) fn lock_for_write(
        &mut self,
        table: &Table,
        key: &[u8],
        seen: Row,
        filter: Option<&Expr>,
        fresh: Option<Ts>,
    ) -> Result<Option<Row>> {
        self.lock(
            LockTag::Row(table.oid, key.to_vec()),
            Mode::Exclusive,
            Wait::Block,
        )?;
        if fresh.is_some_and(|c| c == self.engine.now()) {
            return Ok(Some(seen));
        }
        self.current_version(table, key, seen, filter)
    }

    /// The rows an UPDATE or DELETE targets, as [`Exec::target_rows`]
    /// finds them, each with the engine clock at which the row read was
    /// also the row's newest version (a primary-key lookup reads the
    /// newest version first: when the statement's snapshot sees it, and
    /// nothing commits before the row lock is taken, the version to act
    /// on is known without reading the row again).
    fn write_targets(
        &mut self,
        table: &Table,
        key: &Option<Lookup>,
        filter: &Option<Expr>,
    ) -> Result<Vec<WriteTarget>> {
        // A snapshot older than a change of the table's rows reads them
        // through the catalog's record of it (catalog::Relayout).
        let current = table.relayouts.iter().all(|r| r.at <= self.snapshot);
        let Some(Lookup::Pk(exprs)) = key.as_ref().filter(|_| current) else {
            let rows = self.target_rows(table, key, filter)?;
            return Ok(rows.into_iter().map(|(k, r)| (k, r, None)).collect());
        };
        let mut vals = Vec::with_capacity(exprs.len());
        for e in exprs {
            let v = self.eval(e, &[])?;
            if v.is_null() {
                return Ok(Vec::new());
            }
            vals.push(v);
        }
        let kb = super::write::encode_values(&vals);
        self.lock_table(table, Mode::Shared)?;
        let (row, fresh) = match self.txn.writes.get(table.oid, &kb)? {
            Some(own) => (own, None),
            None => {
                let clock = self.engine.now();
                match self.engine.store.get(table.oid, &kb, Ts::MAX) {
                    Some((ts, r)) if ts <= self.snapshot => (r, Some(clock)),
                    Some(_) => (
                        self.engine
                            .store
                            .get(table.oid, &kb, self.snapshot)
                            .and_then(|(_, r)| r),
                        None,
                    ),
                    None => (None, Some(clock)),
                }
            }
        };
        let Some(row) = row else {
            return Ok(Vec::new());
        };
        if let Some(f) = filter {
            if self.eval(f, &row)?.as_bool() != Some(true) {
                return Ok(Vec::new());
            }
        }
        Ok(vec![(kb, row, fresh)])
    }

    pub(super) fn target_rows(
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
        self.check_writable("UPDATE")?;
        // PostgreSQL folds a constant SET value at plan time, so its
        // error (an integer out of range) surfaces even when no row
        // matches.
        for (_, e) in &up.sets {
            if folded_constant(e) {
                self.eval(e, &[])?;
            }
        }
        if let Some(from) = &up.from {
            return self.update_from(up, from);
        }
        let table = up.table.clone();
        let targets = self.write_targets(&table, &up.key, &up.filter)?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        let mut done: HashSet<Vec<u8>> = HashSet::new();
        for (key, seen, fresh) in targets {
            if done.contains(&key) {
                continue;
            }
            let Some(cur) = self.lock_for_write(&table, &key, seen, up.filter.as_ref(), fresh)?
            else {
                continue;
            };
            let (new_key, out) = self.update_one(&table, up, &key, &cur, &[])?;
            returned.extend(out);
            done.insert(new_key);
            count += 1;
        }
        self.run_ri()?;
        Ok((count, returned))
    }

    /// Updates the locked row `cur` under `key` (with `extra`, the FROM
    /// row an UPDATE ... FROM joined it to, after its columns): the
    /// row's new key and its RETURNING row.
    pub(super) fn update_one(
        &mut self,
        table: &Table,
        up: &Update,
        key: &[u8],
        cur: &Row,
        extra: &[Value],
    ) -> Result<(Vec<u8>, Option<Vec<Value>>)> {
        let with_extra = |r: &[Value]| -> Vec<Value> { r.iter().chain(extra).cloned().collect() };
        let ctx = if extra.is_empty() {
            None
        } else {
            Some(with_extra(cur))
        };
        let ctx_row: &[Value] = ctx.as_deref().unwrap_or(cur);
        let key = key.to_vec();
        {
            let mut row = cur.to_vec();
            let mut new_vals = Vec::with_capacity(up.sets.len());
            for (_, e) in &up.sets {
                new_vals.push(self.eval(e, ctx_row)?);
            }
            for ((c, _), v) in up.sets.iter().zip(new_vals) {
                row[*c] = v;
            }
            let new_key = match &table.primary_key {
                Some(_) => self.row_key(table, &row)?,
                None => {
                    self.row_key(table, &row)?;
                    key.clone()
                }
            };
            self.check_constraints(table, &up.checks, &row)?;
            if new_key != key {
                self.claim_key(table, &new_key, &row, false)?;
            }
            if let Some((pos, _)) =
                self.unique_conflict(table, &new_key, &row, Some((&key, cur)))?
            {
                return Err(self.unique_error(table, pos, &row));
            }
            let mut returned = None;
            if let Some(ret) = &up.returning {
                let ret_ctx = (!extra.is_empty()).then(|| with_extra(&row));
                let ret_row: &[Value] = ret_ctx.as_deref().unwrap_or(&row);
                let mut out = Vec::with_capacity(ret.len());
                for e in ret {
                    out.push(self.eval(e, ret_row)?);
                }
                returned = Some(out);
            }
            self.put_row(table, Some((&key, cur)), Some((&new_key, Arc::from(row))))?;
            Ok((new_key, returned))
        }
    }

    pub fn delete(&mut self, del: &Delete) -> Result<(u64, Rows)> {
        self.check_writable("DELETE")?;
        if let Some(using) = &del.using {
            return self.delete_using(del, using);
        }
        let table = del.table.clone();
        let targets = self.write_targets(&table, &del.key, &del.filter)?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        for (key, seen, fresh) in targets {
            let Some(cur) = self.lock_for_write(&table, &key, seen, del.filter.as_ref(), fresh)?
            else {
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

/// Whether `e` is a constant PostgreSQL's planner folds: a literal, or
/// negations and casts between numeric types of one.
fn folded_constant(e: &Expr) -> bool {
    match &e.kind {
        crate::sql::plan::ExprKind::Const(_) => true,
        crate::sql::plan::ExprKind::Neg(a) => folded_constant(a),
        crate::sql::plan::ExprKind::Cast(a, _) => {
            e.ty.ty.is_numeric_family() && a.ty.ty.is_numeric_family() && folded_constant(a)
        }
        _ => false,
    }
}
