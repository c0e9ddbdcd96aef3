//! The durable store on fjall (an LSM key-value store).
//!
//! Layout, keyspace `rows`: key = table oid (4 bytes, big-endian) ‖ row
//! key (self-delimiting memcomparable bytes) ‖ !commit_ts (8 bytes, so the
//! newest version of a row sorts first); value = the encoded version.
//! Keyspace `meta`: `catalog` (JSON), `clock` (the last commit ts) and
//! `rowid` (the hidden row id high-water mark). A commit is one fjall
//! write batch over both keyspaces whose journal is synced before it
//! returns: a crash keeps a commit whole or not at all, and recovery is
//! fjall replaying its journal.

use fjall::{KeyspaceCreateOptions, PersistMode};
use std::path::Path;
use std::sync::Arc;

use super::codec::{decode_row, encode_row};
use super::{Commit, Row, Store, Ts};
use crate::catalog::{Catalog, TableId};
use crate::error::{code, Result, SqlError};

fn io_err(e: impl std::fmt::Display) -> SqlError {
    SqlError::new(code::IO_ERROR, format!("storage error: {e}"))
}

pub struct DurableStore {
    db: fjall::Database,
    rows: fjall::Keyspace,
    meta: fjall::Keyspace,
}

/// What a durable database holds when it is opened.
pub struct Recovered {
    pub store: DurableStore,
    pub catalog: Catalog,
    pub clock: Ts,
    pub next_rowid: u64,
}

fn version_key(table: TableId, key: &[u8], ts: Ts) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + key.len() + 8);
    k.extend_from_slice(&table.to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&(!ts).to_be_bytes());
    k
}

fn read_u64(meta: &fjall::Keyspace, name: &str) -> Result<u64> {
    Ok(match meta.get(name).map_err(io_err)? {
        Some(v) => u64::from_be_bytes(
            v.as_ref()
                .try_into()
                .map_err(|_| io_err("bad meta value"))?,
        ),
        None => 0,
    })
}

impl DurableStore {
    /// Opens (creating or recovering) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Recovered> {
        // fjall's defaults let the journal grow to 512 MiB before it forces
        // memtables to disk: a loaded database then holds that much in
        // memory and replays it on every open (scale 10: ~1 GiB RSS after
        // the load, 7 s to reopen). A 64 MiB journal (fjall's minimum) and
        // 16 MiB row memtables bound both.
        let db = fjall::Database::builder(dir)
            .max_journaling_size(64 * 1024 * 1024)
            .open()
            .map_err(io_err)?;
        let rows = db
            .keyspace("rows", || {
                KeyspaceCreateOptions::default().max_memtable_size(16 * 1024 * 1024)
            })
            .map_err(io_err)?;
        let meta = db
            .keyspace("meta", KeyspaceCreateOptions::default)
            .map_err(io_err)?;
        let catalog = match meta.get("catalog").map_err(io_err)? {
            Some(v) => serde_json::from_slice(&v).map_err(io_err)?,
            None => Catalog::new(),
        };
        let clock = read_u64(&meta, "clock")?;
        let next_rowid = read_u64(&meta, "rowid")?;
        Ok(Recovered {
            store: DurableStore { db, rows, meta },
            catalog,
            clock,
            next_rowid,
        })
    }
}

impl Store for DurableStore {
    fn get(&self, table: TableId, key: &[u8], snapshot: Ts) -> Option<(Ts, Option<Row>)> {
        let from = version_key(table, key, snapshot);
        let to = version_key(table, key, 0);
        let first = self.rows.range(from..=to).next()?;
        let (k, v) = first.into_inner().ok()?;
        let ts = !u64::from_be_bytes(k.get(k.len().checked_sub(8)?..)?.try_into().ok()?);
        let row = decode_row(&v).ok()?;
        Some((ts, row.map(Arc::from)))
    }

    fn scan(&self, table: TableId, snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        self.scan_prefix(table, &[], snapshot)
    }

    fn scan_prefix(&self, table: TableId, prefix: &[u8], snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        let mut out = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        let mut start = table.to_be_bytes().to_vec();
        start.extend_from_slice(prefix);
        for item in self.rows.prefix(start) {
            let Ok((k, v)) = item.into_inner() else {
                continue;
            };
            if k.len() < 12 {
                continue;
            }
            let row_key = &k[4..k.len() - 8];
            if last.as_deref() == Some(row_key) {
                continue; // an older version of a row already decided
            }
            let Ok(ts_bytes) = <[u8; 8]>::try_from(&k[k.len() - 8..]) else {
                continue;
            };
            let ts = !u64::from_be_bytes(ts_bytes);
            if ts > snapshot {
                continue; // too new: look at the next (older) version
            }
            last = Some(row_key.to_vec());
            if let Ok(Some(row)) = decode_row(&v) {
                out.push((row_key.to_vec(), Arc::from(row)));
            }
        }
        out
    }

    fn put_sequence(&self, oid: u32, value: i64) -> Result<()> {
        self.meta
            .insert(format!("seq:{oid}"), value.to_be_bytes().to_vec())
            .map_err(io_err)
    }

    fn sequence_values(&self) -> Vec<(u32, i64)> {
        let mut out = Vec::new();
        for item in self.meta.prefix("seq:") {
            let Ok((k, v)) = item.into_inner() else {
                continue;
            };
            let oid = std::str::from_utf8(&k[4..])
                .ok()
                .and_then(|s| s.parse().ok());
            let val = <[u8; 8]>::try_from(v.as_ref()).ok().map(i64::from_be_bytes);
            if let (Some(o), Some(v)) = (oid, val) {
                out.push((o, v));
            }
        }
        out
    }

    fn commit(&self, group: &[Commit<'_>]) -> Result<()> {
        let Some(last) = group.last() else {
            return Ok(());
        };
        // fdatasync, as PostgreSQL syncs its WAL on Linux (wal_sync_method).
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        for c in group {
            for w in c.writes {
                let mut v = Vec::new();
                encode_row(w.row.as_deref(), &mut v)?;
                batch.insert(&self.rows, version_key(w.table, &w.key, c.ts), v);
            }
            for t in c.dropped {
                for item in self.rows.prefix(t.to_be_bytes()) {
                    if let Ok(k) = item.key() {
                        batch.remove(&self.rows, k);
                    }
                }
            }
            if let Some(cat) = c.catalog {
                batch.insert(
                    &self.meta,
                    "catalog",
                    serde_json::to_vec(cat).map_err(io_err)?,
                );
            }
        }
        batch.insert(&self.meta, "clock", last.ts.to_be_bytes().to_vec());
        let rowid = group.iter().map(|c| c.next_rowid).max().unwrap_or(0);
        batch.insert(&self.meta, "rowid", rowid.to_be_bytes().to_vec());
        batch.commit().map_err(io_err)
    }
}
