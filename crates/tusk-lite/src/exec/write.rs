//! Writing rows with their secondary index entries, unique indexes
//! enforced as PostgreSQL enforces them (a second inserter of a value
//! waits for the first transaction's outcome, then fails with 23505 or
//! goes ahead), and the lookups by primary key or index that plans and
//! constraint checks share.

use std::sync::Arc;

use super::Exec;
use crate::catalog::{Index, Table};
use crate::error::{code, Result, SqlError};
use crate::storage::{keys, Row, Ts};
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::types::{format_value, Value};

/// The memcomparable encoding of `vals` (equal values encode equally).
pub(crate) fn encode_values<'v>(vals: impl IntoIterator<Item = &'v Value>) -> Vec<u8> {
    let mut k = Vec::new();
    for v in vals {
        keys::encode(v, &mut k);
    }
    k
}

/// An index entry's key: the indexed values, then the row's storage key.
fn entry_key(idx: &Index, row: &[Value], key: &[u8]) -> Result<Vec<u8>> {
    let mut k = encode_values(idx.columns.iter().map(|c| &row[*c]));
    if k.len() > keys::MAX_KEY {
        return Err(keys::key_too_long(k.len(), &idx.name));
    }
    k.extend_from_slice(key);
    Ok(k)
}

/// An index entry's stored value: the row's storage key, as hex text.
fn entry_row(key: &[u8]) -> Row {
    let mut s = String::with_capacity(key.len() * 2);
    for b in key {
        s.push_str(&format!("{b:02x}"));
    }
    Arc::from(vec![Value::Text(s)])
}

/// The storage key an index entry points at.
pub(super) fn entry_target(entry: &[Value]) -> Option<Vec<u8>> {
    let Some(Value::Text(s)) = entry.first() else {
        return None;
    };
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// 23505 for `row` against the unique index `idx` of `table`.
pub(crate) fn duplicate_key(table: &Table, name: &str, cols: &[usize], row: &[Value]) -> SqlError {
    let names: Vec<&str> = cols
        .iter()
        .map(|c| table.columns[*c].name.as_str())
        .collect();
    let vals: Vec<String> = cols
        .iter()
        .map(|c| format_value(&row[*c], table.columns[*c].ty))
        .collect();
    SqlError::new(
        code::UNIQUE_VIOLATION,
        format!("duplicate key value violates unique constraint \"{name}\""),
    )
    .with_detail(format!(
        "Key ({})=({}) already exists.",
        names.join(", "),
        vals.join(", ")
    ))
    .on_table(&table.schema, &table.name, None, Some(name))
}

impl Exec<'_> {
    /// Takes a lock for this transaction, honouring cancel and
    /// `lock_timeout`.
    pub(crate) fn lock(&self, tag: LockTag, mode: Mode, wait: Wait) -> Result<bool> {
        let deadline = self
            .session
            .lock_timeout
            .map(|d| std::time::Instant::now() + d);
        self.engine.locks.acquire_until(
            self.txn.id,
            tag,
            mode,
            wait,
            Some(&self.session.cancel),
            deadline,
        )
    }

    /// The entries of index (or table) `oid` whose keys start with
    /// `prefix`, as of `snapshot`, with this transaction's own writes.
    pub(crate) fn entries(
        &self,
        oid: u32,
        prefix: &[u8],
        snapshot: Ts,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let base = self.engine.store.scan_prefix(oid, prefix, snapshot);
        let own = self.txn.writes.range(oid, prefix)?;
        Ok(super::merge_own(base, own))
    }

    /// The storage keys the index `idx` lists under the leading values
    /// `vals`, as of `snapshot` (`Ts::MAX`: the newest commits).
    pub(crate) fn index_keys(
        &self,
        idx: &Index,
        vals: &[Value],
        snapshot: Ts,
    ) -> Result<Vec<Vec<u8>>> {
        let prefix = encode_values(vals);
        Ok(self
            .entries(idx.oid, &prefix, snapshot)?
            .into_iter()
            .filter_map(|(_, e)| entry_target(&e))
            .collect())
    }

    /// The rows of `table` an index lookup finds, as this statement sees
    /// them (the caller re-checks its filter on each).
    pub(crate) fn index_rows(
        &mut self,
        table: &Table,
        idx: &Index,
        vals: &[Value],
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        self.lock_table(table, Mode::Shared)?;
        let mut out = Vec::new();
        for k in self.index_keys(idx, vals, self.snapshot)? {
            if let Some(r) = self.visible_row(table, &k)? {
                out.push((k, r));
            }
        }
        Ok(out)
    }

    /// The newest version of the row under `key` (this transaction's own
    /// write, or the newest commit), for constraint checks.
    pub(crate) fn newest_row(&self, table: &Table, key: &[u8]) -> Result<Option<Row>> {
        Ok(match self.txn.writes.get(table.oid, key)? {
            Some(own) => own,
            None => self
                .engine
                .store
                .get(table.oid, key, Ts::MAX)
                .and_then(|(_, r)| r),
        })
    }

    /// Checks the unique indexes of `table` for the new version `row`
    /// under `key` (replacing the row under `old_key`, if any): locks each
    /// new value, so a concurrent inserter of it waits for this
    /// transaction, and waits for one that holds it. Returns the first
    /// conflict: (index position, storage key of the conflicting row).
    pub(crate) fn unique_conflict(
        &mut self,
        table: &Table,
        key: &[u8],
        row: &[Value],
        old: Option<(&[u8], &[Value])>,
    ) -> Result<Option<(usize, Vec<u8>)>> {
        for (pos, idx) in table.indexes.iter().enumerate() {
            if !idx.unique || idx.columns.iter().any(|c| row[*c].is_null()) {
                continue;
            }
            let prefix = encode_values(idx.columns.iter().map(|c| &row[*c]));
            if let Some((_, o)) = old {
                if encode_values(idx.columns.iter().map(|c| &o[*c])) == prefix {
                    continue;
                }
            }
            self.lock(
                LockTag::Value(idx.oid, prefix.clone()),
                Mode::Exclusive,
                Wait::Block,
            )?;
            for (_, e) in self.entries(idx.oid, &prefix, Ts::MAX)? {
                let Some(target) = entry_target(&e) else {
                    continue;
                };
                if target.as_slice() != key && old.is_none_or(|(k, _)| k != target.as_slice()) {
                    return Ok(Some((pos, target)));
                }
            }
        }
        Ok(None)
    }

    /// 23505 for the conflict `unique_conflict` found.
    pub(crate) fn unique_error(&self, table: &Table, pos: usize, row: &[Value]) -> SqlError {
        let idx = &table.indexes[pos];
        duplicate_key(table, &idx.name, &idx.columns, row)
    }

    /// Replaces the row version `old` (storage key, row) with `new`
    /// (either may be absent: an insert or a delete), with the index
    /// entries that change and the foreign-key work the change brings.
    /// Removing a unique value locks it, so an inserter of that value
    /// waits for this transaction's outcome, as in PostgreSQL.
    pub(crate) fn put_row(
        &mut self,
        table: &Table,
        old: Option<(&[u8], &[Value])>,
        new: Option<(&[u8], Row)>,
    ) -> Result<()> {
        for idx in &table.indexes {
            let old_e = old.map(|(k, r)| entry_key(idx, r, k)).transpose()?;
            let new_e = new
                .as_ref()
                .map(|(k, r)| entry_key(idx, r, k))
                .transpose()?;
            if old_e == new_e {
                continue;
            }
            if let (Some(o), Some((_, orow))) = (old_e, old) {
                if idx.unique && idx.columns.iter().all(|c| !orow[*c].is_null()) {
                    let v = encode_values(idx.columns.iter().map(|c| &orow[*c]));
                    self.lock(LockTag::Value(idx.oid, v), Mode::Exclusive, Wait::Block)?;
                }
                self.txn.writes.insert(idx.oid, o, None)?;
            }
            if let (Some(n), Some((k, _))) = (new_e, &new) {
                self.txn.writes.insert(idx.oid, n, Some(entry_row(k)))?;
            }
        }
        self.queue_ri(table, old, new.as_ref().map(|(_, r)| &r[..]))?;
        if let Some((ok, _)) = old {
            if new.as_ref().is_none_or(|(nk, _)| *nk != ok) {
                self.txn.writes.insert(table.oid, ok.to_vec(), None)?;
            }
        }
        if let Some((nk, r)) = new {
            self.txn.writes.insert(table.oid, nk.to_vec(), Some(r))?;
        }
        Ok(())
    }

    /// Builds the entries of a new index over the rows of `table` (the
    /// caller holds the table exclusively, so the newest rows are final),
    /// failing with 23505 when a unique index finds a duplicate.
    pub(crate) fn build_index(&mut self, table: &Table, idx: &Index) -> Result<()> {
        self.snapshot = self.engine.now();
        let mut seen = std::collections::HashSet::new();
        self.for_each_visible_page(table, |ex, page| {
            for (key, row) in page {
                if idx.unique && idx.columns.iter().all(|c| !row[*c].is_null()) {
                    let v = encode_values(idx.columns.iter().map(|c| &row[*c]));
                    if !seen.insert(v) {
                        let names: Vec<&str> = idx
                            .columns
                            .iter()
                            .map(|c| table.columns[*c].name.as_str())
                            .collect();
                        let vals: Vec<String> = idx
                            .columns
                            .iter()
                            .map(|c| format_value(&row[*c], table.columns[*c].ty))
                            .collect();
                        return Err(SqlError::new(
                            code::UNIQUE_VIOLATION,
                            format!("could not create unique index \"{}\"", idx.name),
                        )
                        .with_detail(format!(
                            "Key ({})=({}) is duplicated.",
                            names.join(", "),
                            vals.join(", ")
                        )));
                    }
                }
                ex.txn.writes.insert(
                    idx.oid,
                    entry_key(idx, &row, &key)?,
                    Some(entry_row(&key)),
                )?;
            }
            Ok(())
        })
    }
}
