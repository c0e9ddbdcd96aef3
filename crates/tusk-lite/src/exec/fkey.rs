//! FOREIGN KEY checks and actions. Writes queue them; they run at the end
//! of the statement, as PostgreSQL's RI triggers do (so one statement may
//! insert a parent and its child in either order). A check locks the
//! referenced row's key (PostgreSQL's KEY SHARE), so deleting that row
//! waits for the checking transaction, and reads the newest commit.

use std::sync::Arc;

use super::write::encode_values;
use super::Exec;
use crate::catalog::{FkAction, ForeignKey, Table, TableId};
use crate::error::{code, Result, SqlError};
use crate::storage::Row;
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::types::{format_value, Value};

/// A foreign-key obligation a write left for the end of the statement.
#[derive(Debug)]
pub(crate) enum RiEvent {
    /// A referencing row was written: its key must exist in the
    /// referenced table. (table, foreign key position, the row)
    Check(TableId, usize, Vec<Value>),
    /// A referenced row went away or its key changed: (table, old row,
    /// new row).
    Parent(TableId, Vec<Value>, Option<Vec<Value>>),
}

/// Cascaded changes one statement may make before it fails (a guard
/// against update cycles between tables).
const MAX_RI_EVENTS: usize = 10_000_000;

fn key_text(table: &Table, cols: &[usize], vals: &[Value]) -> (String, String) {
    let names: Vec<&str> = cols
        .iter()
        .map(|c| table.columns[*c].name.as_str())
        .collect();
    let v: Vec<String> = cols
        .iter()
        .zip(vals)
        .map(|(c, v)| format_value(v, table.columns[*c].ty))
        .collect();
    (names.join(", "), v.join(", "))
}

fn values(row: &[Value], cols: &[usize]) -> Vec<Value> {
    cols.iter().map(|c| row[*c].clone()).collect()
}

impl Exec<'_> {
    /// Queues the foreign-key work a write of `table` brings: checks of
    /// the new row's references, and actions on rows referencing the old
    /// row's keys (whose key lock this takes now, as PostgreSQL's row
    /// lock on DELETE/UPDATE does).
    pub(crate) fn queue_ri(
        &mut self,
        table: &Table,
        old: Option<(&[u8], &[Value])>,
        new: Option<&[Value]>,
    ) -> Result<()> {
        if let Some(n) = new {
            for (i, fk) in table.foreign_keys.iter().enumerate() {
                if fk.columns.iter().any(|c| n[*c].is_null()) {
                    continue;
                }
                let changed = old.is_none_or(|(_, o)| {
                    encode_values(fk.columns.iter().map(|c| &o[*c]))
                        != encode_values(fk.columns.iter().map(|c| &n[*c]))
                });
                if changed {
                    self.ri.push_back(RiEvent::Check(table.oid, i, n.to_vec()));
                }
            }
        }
        let Some((key, o)) = old else {
            return Ok(());
        };
        let referencing = self.engine.catalog_for(self.txn).referencing(table.oid);
        let key_changed = referencing.iter().any(|(_, fk)| match new {
            None => true,
            Some(n) => {
                encode_values(fk.ref_columns.iter().map(|c| &o[*c]))
                    != encode_values(fk.ref_columns.iter().map(|c| &n[*c]))
            }
        });
        if key_changed {
            self.lock(
                LockTag::Key(table.oid, key.to_vec()),
                Mode::Exclusive,
                Wait::Block,
            )?;
            self.ri.push_back(RiEvent::Parent(
                table.oid,
                o.to_vec(),
                new.map(<[Value]>::to_vec),
            ));
        }
        Ok(())
    }

    /// The newest rows of `table` (own writes included) whose `cols`
    /// equal `vals`, found by the primary key or an index when one fits.
    pub(crate) fn rows_with(
        &mut self,
        table: &Table,
        cols: &[usize],
        vals: &[Value],
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        self.lock_table(table, Mode::Shared)?;
        let want = encode_values(vals);
        let matches = |r: &[Value]| encode_values(cols.iter().map(|c| &r[*c])) == want;
        let value_of = |c: usize| cols.iter().position(|x| *x == c).map(|p| &vals[p]);
        if let Some(pk) = &table.primary_key {
            if let Some(pv) = pk.iter().map(|c| value_of(*c)).collect::<Option<Vec<_>>>() {
                let key = encode_values(pv);
                return Ok(self
                    .newest_row(table, &key)?
                    .filter(|r| matches(r))
                    .map(|r| vec![(key, r)])
                    .unwrap_or_default());
            }
        }
        let best = table
            .indexes
            .iter()
            .map(|idx| {
                let lead: Vec<Value> = idx
                    .columns
                    .iter()
                    .map_while(|c| value_of(*c).cloned())
                    .collect();
                (idx, lead)
            })
            .filter(|(_, lead)| !lead.is_empty())
            .max_by_key(|(_, lead)| lead.len());
        let keys: Vec<Vec<u8>> = match best {
            Some((idx, lead)) => self.index_keys(idx, &lead, crate::storage::Ts::MAX)?,
            None => {
                return Ok(self
                    .newest_rows(table)?
                    .into_iter()
                    .filter(|(_, r)| matches(r))
                    .collect())
            }
        };
        let mut out = Vec::new();
        for k in keys {
            if let Some(r) = self.newest_row(table, &k)? {
                if matches(&r) {
                    out.push((k, r));
                }
            }
        }
        Ok(out)
    }

    /// Runs the queued foreign-key checks and actions (and those the
    /// actions queue) at the end of a statement.
    pub(crate) fn run_ri(&mut self) -> Result<()> {
        let mut n = 0usize;
        while let Some(ev) = self.ri.pop_front() {
            n += 1;
            if n > MAX_RI_EVENTS {
                return Err(SqlError::new(
                    "54001",
                    "too many cascaded foreign key changes in one statement",
                ));
            }
            self.check_cancel()?;
            let cat = self.engine.catalog_for(self.txn);
            match ev {
                RiEvent::Check(oid, i, row) => {
                    let Some(table) = cat.table_by_oid(oid).cloned() else {
                        continue;
                    };
                    let Some(fk) = table.foreign_keys.get(i).cloned() else {
                        continue;
                    };
                    let Some(parent) = cat.table_by_oid(fk.ref_table).cloned() else {
                        continue;
                    };
                    self.check_reference(&table, &fk, &parent, &row)?;
                }
                RiEvent::Parent(oid, old, new) => {
                    let Some(parent) = cat.table_by_oid(oid).cloned() else {
                        continue;
                    };
                    for (child, fk) in cat.referencing(oid) {
                        self.parent_changed(&parent, &child, &fk, &old, new.as_deref())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The referenced row must exist: found, key-locked, and still there.
    pub(crate) fn check_reference(
        &mut self,
        table: &Table,
        fk: &ForeignKey,
        parent: &Table,
        row: &[Value],
    ) -> Result<()> {
        let vals = values(row, &fk.columns);
        for _ in 0..3 {
            let Some((key, _)) = self.rows_with(parent, &fk.ref_columns, &vals)?.pop() else {
                break;
            };
            self.lock(
                LockTag::Key(parent.oid, key.clone()),
                Mode::Shared,
                Wait::Block,
            )?;
            let still = self.newest_row(parent, &key)?.is_some_and(|r| {
                encode_values(fk.ref_columns.iter().map(|c| &r[*c])) == encode_values(&vals)
            });
            if still {
                return Ok(());
            }
        }
        let (cols, v) = key_text(table, &fk.columns, &vals);
        Err(SqlError::new(
            code::FOREIGN_KEY_VIOLATION,
            format!(
                "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                table.name, fk.name
            ),
        )
        .with_detail(format!(
            "Key ({cols})=({v}) is not present in table \"{}\".",
            parent.name
        ))
        .on_table(&table.schema, &table.name, None, Some(&fk.name)))
    }

    /// A referenced key went away: fail, or cascade to the referencing rows.
    fn parent_changed(
        &mut self,
        parent: &Table,
        child: &Arc<Table>,
        fk: &ForeignKey,
        old: &[Value],
        new: Option<&[Value]>,
    ) -> Result<()> {
        let old_vals = values(old, &fk.ref_columns);
        if old_vals.iter().any(Value::is_null) {
            return Ok(());
        }
        let new_vals = new.map(|n| values(n, &fk.ref_columns));
        if new_vals.as_ref().map(encode_values) == Some(encode_values(&old_vals)) {
            return Ok(());
        }
        let action = if new.is_some() {
            fk.on_update
        } else {
            fk.on_delete
        };
        if action == FkAction::NoAction
            && !self
                .rows_with(parent, &fk.ref_columns, &old_vals)?
                .is_empty()
        {
            return Ok(()); // the key exists again
        }
        let rows = self.rows_with(child, &fk.columns, &old_vals)?;
        if rows.is_empty() {
            return Ok(());
        }
        match action {
            FkAction::NoAction | FkAction::Restrict | FkAction::SetDefault => {
                let (cols, v) = key_text(parent, &fk.ref_columns, &old_vals);
                Err(SqlError::new(
                    code::FOREIGN_KEY_VIOLATION,
                    format!(
                        "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
                        parent.name, fk.name, child.name
                    ),
                )
                .with_detail(format!(
                    "Key ({cols})=({v}) is still referenced from table \"{}\".",
                    child.name
                ))
                .on_table(&child.schema, &child.name, None, Some(&fk.name)))
            }
            FkAction::Cascade | FkAction::SetNull => {
                for (key, _) in rows {
                    self.lock(
                        LockTag::Row(child.oid, key.clone()),
                        Mode::Exclusive,
                        Wait::Block,
                    )?;
                    let Some(cur) = self.newest_row(child, &key)? else {
                        continue;
                    };
                    if encode_values(fk.columns.iter().map(|c| &cur[*c]))
                        != encode_values(&old_vals)
                    {
                        continue;
                    }
                    let replacement = match (&new_vals, action) {
                        (None, FkAction::Cascade) => None,
                        (Some(nv), FkAction::Cascade) => {
                            let mut r = cur.to_vec();
                            for (c, v) in fk.columns.iter().zip(nv) {
                                r[*c] = v.clone();
                            }
                            Some(r)
                        }
                        _ => {
                            let mut r = cur.to_vec();
                            for c in &fk.columns {
                                r[*c] = Value::Null;
                            }
                            Some(r)
                        }
                    };
                    match replacement {
                        None => {
                            self.put_row(child, Some((&key, &cur)), None)?;
                        }
                        Some(r) => {
                            let new_key = self.row_key(child, &r)?;
                            let new_key = if child.primary_key.is_some() {
                                new_key
                            } else {
                                key.clone()
                            };
                            if new_key != key {
                                self.claim_key(child, &new_key, &r, false)?;
                            }
                            if let Some((pos, _)) =
                                self.unique_conflict(child, &new_key, &r, Some((&key, &cur)))?
                            {
                                return Err(self.unique_error(child, pos, &r));
                            }
                            self.put_row(
                                child,
                                Some((&key, &cur)),
                                Some((&new_key, Arc::from(r))),
                            )?;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Every newest row of `table` (own writes included), in key order.
    fn newest_rows(&self, table: &Table) -> Result<Vec<(Vec<u8>, Row)>> {
        self.entries(table.oid, &[], crate::storage::Ts::MAX)
    }
}
