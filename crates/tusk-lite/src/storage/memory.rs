//! The in-memory store: a B-tree per table of version chains.

use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use super::{Commit, Row, Store, Ts};
use crate::catalog::TableId;
use crate::error::Result;

/// Versions of one key, oldest first.
type Chain = Vec<(Ts, Option<Row>)>;

#[derive(Default)]
pub struct MemoryStore {
    tables: RwLock<HashMap<TableId, BTreeMap<Vec<u8>, Chain>>>,
    sequences: RwLock<HashMap<u32, i64>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

fn visible(chain: &Chain, snapshot: Ts) -> Option<&(Ts, Option<Row>)> {
    chain.iter().rev().find(|(ts, _)| *ts <= snapshot)
}

impl Store for MemoryStore {
    fn get(&self, table: TableId, key: &[u8], snapshot: Ts) -> Option<(Ts, Option<Row>)> {
        let tables = self.tables.read();
        let chain = tables.get(&table)?.get(key)?;
        visible(chain, snapshot).cloned()
    }

    fn scan(&self, table: TableId, snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        let tables = self.tables.read();
        let Some(t) = tables.get(&table) else {
            return Vec::new();
        };
        t.iter()
            .filter_map(|(k, chain)| match visible(chain, snapshot) {
                Some((_, Some(row))) => Some((k.clone(), row.clone())),
                _ => None,
            })
            .collect()
    }

    fn scan_prefix(&self, table: TableId, prefix: &[u8], snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        let tables = self.tables.read();
        let Some(t) = tables.get(&table) else {
            return Vec::new();
        };
        t.range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, chain)| match visible(chain, snapshot) {
                Some((_, Some(row))) => Some((k.clone(), row.clone())),
                _ => None,
            })
            .collect()
    }

    fn scan_range(
        &self,
        table: TableId,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        if super::range_is_empty(from, to) {
            return Vec::new();
        }
        let tables = self.tables.read();
        let Some(t) = tables.get(&table) else {
            return Vec::new();
        };
        t.range::<[u8], _>((from, to))
            .filter_map(|(k, chain)| match visible(chain, snapshot) {
                Some((_, Some(row))) => Some((k.clone(), row.clone())),
                _ => None,
            })
            .take(limit)
            .collect()
    }

    fn scan_range_rev(
        &self,
        table: TableId,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        if super::range_is_empty(from, to) {
            return Vec::new();
        }
        let tables = self.tables.read();
        let Some(t) = tables.get(&table) else {
            return Vec::new();
        };
        t.range::<[u8], _>((from, to))
            .rev()
            .filter_map(|(k, chain)| match visible(chain, snapshot) {
                Some((_, Some(row))) => Some((k.clone(), row.clone())),
                _ => None,
            })
            .take(limit)
            .collect()
    }

    fn put_sequence(&self, oid: u32, value: i64) -> Result<()> {
        self.sequences.write().insert(oid, value);
        Ok(())
    }

    fn sequence_values(&self) -> Vec<(u32, i64)> {
        self.sequences
            .read()
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    fn commit(&self, group: &[Commit<'_>]) -> Result<()> {
        let mut tables = self.tables.write();
        for c in group {
            for t in c.dropped {
                tables.remove(t);
            }
            let ts = c.ts;
            for w in c.writes {
                tables
                    .entry(w.table)
                    .or_default()
                    .entry(w.key.clone())
                    .or_default()
                    .push((ts, w.row.clone()));
            }
        }
        Ok(())
    }
}
