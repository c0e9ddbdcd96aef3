//! Joins: a nested loop over every pair, a hash join on the ON clause's
//! equalities, or an index nested loop reading each left row's matches
//! through the right table's primary key or an index
//! ([`crate::sql::join::choose`] picks). Every strategy gives the nested
//! loop's rows in its order: each left row's matches in the right side's
//! order, an unmatched left row padded after them (LEFT, FULL), then the
//! unmatched right rows (RIGHT, FULL).

use std::collections::HashMap;

use super::{Exec, Rows};
use crate::catalog::Table;
use crate::error::Result;
use crate::sql::join::{choose, EquiKey, Strategy};
use crate::sql::plan::{Expr, JoinKind, Lookup, Plan};
use crate::storage::keys;
use crate::txn::locks::Mode;
use crate::types::Value;

/// A `Plan::Join`'s parts.
pub(super) struct JoinSpec<'p> {
    pub left: &'p Plan,
    pub right: &'p Plan,
    pub kind: JoinKind,
    pub on: Option<&'p Expr>,
    pub left_width: usize,
    pub right_width: usize,
}

impl Exec<'_> {
    pub(super) fn join(&mut self, j: &JoinSpec<'_>) -> Result<Rows> {
        match choose(j.left, j.right, j.kind, j.on, j.left_width, j.right_width) {
            Strategy::NestedLoop => {
                let l = self.run(j.left)?;
                let r = self.run(j.right)?;
                self.nested_loop(j, &l, &r)
            }
            Strategy::Hash { keys, .. } => {
                let l = self.run(j.left)?;
                let r = self.run(j.right)?;
                if l.is_empty() || r.is_empty() {
                    // No pair to check: as the nested loop, pad only.
                    return self.nested_loop(j, &l, &r);
                }
                self.hash_join(j, &keys, &l, &r)
            }
            Strategy::Index {
                table,
                filter,
                lookup,
                ..
            } => {
                let l = self.run(j.left)?;
                self.index_join(j, table, filter, &lookup, l)
            }
            Strategy::IndexLeft {
                table,
                filter,
                lookup,
                ..
            } => {
                let r = self.run(j.right)?;
                self.index_join_left(j, table, filter, &lookup, &r)
            }
        }
    }

    /// Does `on` accept the pair? (No ON: every pair.)
    fn on_accepts(&mut self, on: Option<&Expr>, row: &[Value]) -> Result<bool> {
        Ok(match on {
            Some(p) => self.eval(p, row)?.as_bool() == Some(true),
            None => true,
        })
    }

    fn nested_loop(&mut self, j: &JoinSpec<'_>, l: &Rows, r: &Rows) -> Result<Rows> {
        let mut out = Vec::new();
        let mut right_matched = vec![false; r.len()];
        for lr in l {
            let mut matched = false;
            for (i, rr) in r.iter().enumerate() {
                let mut row = lr.clone();
                row.extend(rr.iter().cloned());
                if self.on_accepts(j.on, &row)? {
                    matched = true;
                    right_matched[i] = true;
                    out.push(row);
                }
            }
            if !matched {
                pad_left_row(j, lr, &mut out);
            }
        }
        pad_right_rows(j, r, &right_matched, &mut out);
        Ok(out)
    }

    /// The key of `row` under `exprs`: None when a value is NULL (NULL
    /// never equals anything).
    pub(super) fn hash_key(&mut self, exprs: &[&Expr], row: &[Value]) -> Result<Option<Vec<u8>>> {
        let mut k = Vec::new();
        for e in exprs {
            let v = self.eval(e, row)?;
            if v.is_null() {
                return Ok(None);
            }
            keys::encode(&v, &mut k);
        }
        Ok(Some(k))
    }

    fn hash_join(
        &mut self,
        j: &JoinSpec<'_>,
        keys: &[EquiKey<'_>],
        l: &Rows,
        r: &Rows,
    ) -> Result<Rows> {
        let right_keys: Vec<&Expr> = keys.iter().map(|k| &k.right).collect();
        let left_keys: Vec<&Expr> = keys.iter().map(|k| &k.left).collect();
        // Right rows by key, each list in the right side's order.
        let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (i, rr) in r.iter().enumerate() {
            if i % 4096 == 0 {
                self.check_cancel()?;
            }
            if let Some(k) = self.hash_key(&right_keys, rr)? {
                table.entry(k).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        let mut right_matched = vec![false; r.len()];
        for (n, lr) in l.iter().enumerate() {
            if n % 4096 == 0 {
                self.check_cancel()?;
            }
            let mut matched = false;
            if let Some(k) = self.hash_key(&left_keys, lr)? {
                if let Some(cands) = table.get(&k) {
                    for &i in cands {
                        let mut row = lr.clone();
                        row.extend(r[i].iter().cloned());
                        if self.on_accepts(j.on, &row)? {
                            matched = true;
                            right_matched[i] = true;
                            out.push(row);
                        }
                    }
                }
            }
            if !matched {
                pad_left_row(j, lr, &mut out);
            }
        }
        pad_right_rows(j, r, &right_matched, &mut out);
        Ok(out)
    }

    /// Inner and left joins whose right side scans `table`: each left
    /// row's candidates come from `lookup`, in the table's key order (the
    /// order a scan reads them), pass `filter`, then ON.
    fn index_join(
        &mut self,
        j: &JoinSpec<'_>,
        table: &Table,
        filter: Option<&Expr>,
        lookup: &Lookup,
        l: Rows,
    ) -> Result<Rows> {
        // As a scan of it would, whether or not a row is looked up.
        self.lock_table(table, Mode::Shared)?;
        let mut out = Vec::new();
        for (n, lr) in l.into_iter().enumerate() {
            if n % 1024 == 0 {
                self.check_cancel()?;
            }
            let mut cands = self.key_rows(table, lookup, &lr)?;
            cands.sort_by(|a, b| a.0.cmp(&b.0));
            let mut matched = false;
            for (_, rr) in cands {
                if let Some(f) = filter {
                    if self.eval(f, &rr)?.as_bool() != Some(true) {
                        continue;
                    }
                }
                let mut row = lr.clone();
                row.extend(rr.iter().cloned());
                if self.on_accepts(j.on, &row)? {
                    matched = true;
                    out.push(row);
                }
            }
            if !matched {
                pad_left_row(j, &lr, &mut out);
            }
        }
        Ok(out)
    }
}

impl Exec<'_> {
    /// Inner and right joins whose left side scans `table`: each right
    /// row's candidates come from `lookup`, pass `filter`, then ON; the
    /// pairs are put in the nested loop's order (the left rows' key
    /// order, then the right side's), then the unmatched right rows.
    fn index_join_left(
        &mut self,
        j: &JoinSpec<'_>,
        table: &Table,
        filter: Option<&Expr>,
        lookup: &Lookup,
        r: &Rows,
    ) -> Result<Rows> {
        self.lock_table(table, Mode::Shared)?;
        let mut pairs: Vec<(Vec<u8>, usize, Vec<Value>)> = Vec::new();
        let mut right_matched = vec![false; r.len()];
        for (i, rr) in r.iter().enumerate() {
            if i % 1024 == 0 {
                self.check_cancel()?;
            }
            for (key, lr) in self.key_rows(table, lookup, rr)? {
                if let Some(f) = filter {
                    if self.eval(f, &lr)?.as_bool() != Some(true) {
                        continue;
                    }
                }
                let mut row = lr.to_vec();
                row.extend(rr.iter().cloned());
                if self.on_accepts(j.on, &row)? {
                    right_matched[i] = true;
                    pairs.push((key, i, row));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out: Rows = pairs.into_iter().map(|(_, _, row)| row).collect();
        pad_right_rows(j, r, &right_matched, &mut out);
        Ok(out)
    }
}

/// LEFT and FULL: a left row no right row joined, with NULLs for the
/// right side.
fn pad_left_row(j: &JoinSpec<'_>, lr: &[Value], out: &mut Rows) {
    if matches!(j.kind, JoinKind::Left | JoinKind::Full) {
        let mut row = lr.to_vec();
        row.extend(std::iter::repeat_n(Value::Null, j.right_width));
        out.push(row);
    }
}

/// RIGHT and FULL: the right rows no left row joined, after the rest.
fn pad_right_rows(j: &JoinSpec<'_>, r: &Rows, matched: &[bool], out: &mut Rows) {
    if matches!(j.kind, JoinKind::Right | JoinKind::Full) {
        for (rr, _) in r.iter().zip(matched).filter(|(_, m)| !**m) {
            let mut row: Vec<Value> = std::iter::repeat_n(Value::Null, j.left_width).collect();
            row.extend(rr.iter().cloned());
            out.push(row);
        }
    }
}
