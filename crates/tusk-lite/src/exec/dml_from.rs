//! UPDATE ... FROM and DELETE ... USING: the target rows the WHERE joins
//! to the other tables' rows, each acted on once, with the first row it
//! joins (PostgreSQL uses an arbitrary one), locked and, under READ
//! COMMITTED, re-checked against that same joined row when it changed
//! since the snapshot (as EvalPlanQual re-checks the join).

use std::sync::Arc;

use super::{Exec, Rows};
use crate::catalog::Table;
use crate::error::Result;
use crate::sql::plan::{Delete, Expr, Plan, Update};
use crate::storage::Row;
use crate::types::Value;

/// A target row's key, the version read, and the FROM row it joined.
type Joined = (Vec<u8>, Row, Vec<Value>);

impl Exec<'_> {
    fn joins(&mut self, filter: Option<&Expr>, target: &[Value], other: &[Value]) -> Result<bool> {
        let Some(f) = filter else {
            return Ok(true);
        };
        let ctx: Vec<Value> = target.iter().chain(other).cloned().collect();
        Ok(self.eval(f, &ctx)?.as_bool() == Some(true))
    }

    /// The target rows the statement's snapshot sees that `filter` joins
    /// to a row of `from`, each with the first such row.
    fn joined_targets(
        &mut self,
        table: &Table,
        from: &Plan,
        filter: Option<&Expr>,
    ) -> Result<Vec<Joined>> {
        let others = self.run(from)?;
        let mut out = Vec::new();
        if others.is_empty() {
            return Ok(out);
        }
        let width = table.columns.len();
        let keys = filter
            .map(|f| crate::sql::join::hash_keys(f, width, others[0].len()))
            .unwrap_or_default();
        if !keys.is_empty() {
            return self.hash_joined_targets(table, &others, filter, &keys);
        }
        for (key, row) in self.target_rows(table, &None, &None)? {
            for other in &others {
                if self.joins(filter, &row, other)? {
                    out.push((key, row, other.clone()));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// [`Self::joined_targets`] when the WHERE equates target columns to
    /// the other rows' (`keys`): each target row tries only the other
    /// rows with its key values, in their order, so it still takes the
    /// first row it joins.
    fn hash_joined_targets(
        &mut self,
        table: &Table,
        others: &Rows,
        filter: Option<&Expr>,
        keys: &[crate::sql::join::EquiKey<'_>],
    ) -> Result<Vec<Joined>> {
        let other_keys: Vec<&Expr> = keys.iter().map(|k| &k.right).collect();
        let target_keys: Vec<&Expr> = keys.iter().map(|k| &k.left).collect();
        let mut by_key: std::collections::HashMap<Vec<u8>, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, o) in others.iter().enumerate() {
            if let Some(k) = self.hash_key(&other_keys, o)? {
                by_key.entry(k).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        for (key, row) in self.target_rows(table, &None, &None)? {
            let Some(k) = self.hash_key(&target_keys, &row)? else {
                continue;
            };
            for &i in by_key.get(&k).map(Vec::as_slice).unwrap_or_default() {
                if self.joins(filter, &row, &others[i])? {
                    out.push((key, row, others[i].clone()));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Locks a joined target row: the version to act on, None when it is
    /// gone or, changed, no longer joins `other`.
    fn lock_joined(
        &mut self,
        table: &Table,
        key: &[u8],
        seen: Row,
        other: &[Value],
        filter: Option<&Expr>,
    ) -> Result<Option<Row>> {
        let Some(cur) = self.lock_for_write(table, key, seen.clone(), None, None)? else {
            return Ok(None);
        };
        if !Arc::ptr_eq(&cur, &seen) && !self.joins(filter, &cur, other)? {
            return Ok(None);
        }
        Ok(Some(cur))
    }

    pub(super) fn update_from(&mut self, up: &Update, from: &Plan) -> Result<(u64, Rows)> {
        let table = up.table.clone();
        let targets = self.joined_targets(&table, from, up.filter.as_ref())?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        for (key, seen, other) in targets {
            let Some(cur) = self.lock_joined(&table, &key, seen, &other, up.filter.as_ref())?
            else {
                continue;
            };
            let (_, out) = self.update_one(&table, up, &key, &cur, &other)?;
            returned.extend(out);
            count += 1;
        }
        self.run_ri()?;
        Ok((count, returned))
    }

    pub(super) fn delete_using(&mut self, del: &Delete, using: &Plan) -> Result<(u64, Rows)> {
        let table = del.table.clone();
        let targets = self.joined_targets(&table, using, del.filter.as_ref())?;
        let mut count = 0u64;
        let mut returned = Vec::new();
        for (key, seen, other) in targets {
            let Some(cur) = self.lock_joined(&table, &key, seen, &other, del.filter.as_ref())?
            else {
                continue;
            };
            if let Some(ret) = &del.returning {
                let ctx: Vec<Value> = cur.iter().chain(&other).cloned().collect();
                let mut out = Vec::with_capacity(ret.len());
                for e in ret {
                    out.push(self.eval(e, &ctx)?);
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
