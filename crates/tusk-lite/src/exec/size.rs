//! The relation-size functions (pg_table_size, pg_relation_size,
//! pg_indexes_size, pg_total_relation_size) and pg_size_pretty.
//!
//! tusk-lite's sizes are the bytes it stores for a relation as the
//! statement sees it: each row's key and encoded values, and for each
//! index one entry per row (the indexed values and the row's key). They
//! are not PostgreSQL's page counts (no 8 kB pages, TOAST, free space or
//! visibility maps), so they never match PostgreSQL's figures byte for
//! byte; an empty table is 0 bytes. An OID that names no relation gives
//! NULL, as in PostgreSQL.

use super::write::encode_values;
use super::Exec;
use crate::error::Result;
use crate::numeric::Numeric;
use crate::sql::plan::SizeOf;
use crate::sql::syscat::Snapshot;
use crate::storage::codec::encode_row;
use crate::types::Value;

impl Exec<'_> {
    /// The size `of` measures for relation `oid`, in bytes; None when no
    /// relation has that OID (or the size does not apply to its kind, as
    /// pg_indexes_size of an index).
    pub(super) fn relation_size(&mut self, of: SizeOf, oid: i64) -> Result<Option<i64>> {
        let cat = self.engine.catalog_for(self.txn);
        let snap = Snapshot::new(&cat);
        let Some(rel) = snap.rels.iter().find(|r| r.oid == oid) else {
            return Ok(None);
        };
        match rel.kind {
            // A sequence stores its one counter.
            'S' => return Ok(Some(8)),
            'i' => {
                let Some(ix) = &rel.index else {
                    return Ok(None);
                };
                return Ok(Some(match of {
                    SizeOf::Indexes => 0,
                    _ => {
                        self.table_bytes(&ix.table, std::slice::from_ref(&ix.columns))?
                            .1
                    }
                }));
            }
            _ => {}
        }
        let Some(table) = &rel.table else {
            return Ok(None);
        };
        let mut indexes: Vec<Vec<usize>> =
            table.indexes.iter().map(|i| i.columns.clone()).collect();
        if let Some(pk) = &table.primary_key {
            indexes.push(pk.clone());
        }
        let (data, idx) = self.table_bytes(table, &indexes)?;
        Ok(Some(match of {
            SizeOf::Relation | SizeOf::Table => data,
            SizeOf::Indexes => idx,
            SizeOf::Total => data + idx,
        }))
    }

    /// (row bytes, index entry bytes) of `table` as this statement sees
    /// it, for indexes over `indexes`' columns.
    fn table_bytes(
        &mut self,
        table: &crate::catalog::Table,
        indexes: &[Vec<usize>],
    ) -> Result<(i64, i64)> {
        let (mut data, mut idx) = (0usize, 0usize);
        let mut buf = Vec::new();
        self.for_each_visible_page(table, |_, page| {
            for (key, row) in page {
                buf.clear();
                encode_row(Some(&row), &mut buf)?;
                data += key.len() + buf.len();
                for cols in indexes {
                    let vals: Vec<Value> = cols.iter().map(|c| row[*c].clone()).collect();
                    idx += encode_values(&vals).len() + key.len();
                }
            }
            Ok(())
        })?;
        let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
        Ok((n(data), n(idx)))
    }
}

/// pg_size_pretty: bytes below 10 kB, then kB, MB, GB, TB and PB, each
/// used below 20 × 1024 − 1 of it and rounded half away from zero, as
/// PostgreSQL 15 prints them.
pub fn size_pretty(size: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if size.unsigned_abs() < 10 * 1024 {
        return format!("{size} bytes");
    }
    // One extra bit is kept for the half rounding.
    let mut size = size / (1 << 9);
    let mut unit = 0;
    while unit < UNITS.len() - 1 && size.unsigned_abs() >= 20 * 1024 - 1 {
        size /= 1 << 10;
        unit += 1;
    }
    let half = (size + if size < 0 { -1 } else { 1 }) / 2;
    format!("{half} {}", UNITS[unit])
}

/// pg_size_pretty of a numeric: below 10 kB its digits as they are
/// ("1.50 bytes"), else its integral part as [`size_pretty`] prints it.
/// (Beyond bigint's range tusk-lite prints the bytes.)
pub fn size_pretty_numeric(n: &Numeric) -> String {
    match n.trunc(0).to_i64_round() {
        Some(i) if i.unsigned_abs() >= 10 * 1024 => size_pretty(i),
        _ => format!("{n} bytes"),
    }
}
