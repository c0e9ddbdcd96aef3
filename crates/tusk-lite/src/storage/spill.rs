//! Spill areas: where a large transaction's uncommitted writes go so that
//! they need not all stay in memory until COMMIT.
//!
//! A spill area holds numbered runs; each run maps (table, key) to a new
//! version or a deletion. The durable store's area is a fjall keyspace of
//! its own (`spill-…`), written as tables without the journal and deleted when
//! the transaction ends. Nothing in it is ever read as committed data: a
//! crash leaves only a keyspace that the next open deletes, so an
//! uncommitted transaction leaves nothing behind.

use fjall::KeyspaceCreateOptions;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::codec::{decode_row, encode_row};
use super::Row;
use crate::catalog::TableId;
use crate::error::{Result, SqlError};

/// One spilled write: ((table, key), new version or None for a deletion).
pub type SpilledWrite = ((TableId, Vec<u8>), Option<Row>);

/// Makes spill areas (one per transaction that spills).
pub trait Spiller: Send + Sync {
    /// A new, empty spill area.
    fn create(&self) -> Result<Box<dyn SpillArea>>;
}

/// One transaction's spilled writes, in runs. Dropping the area deletes it.
pub trait SpillArea: Send + Sync {
    /// Writes `entries` (in key order) into `run`; an entry replaces the
    /// run's earlier entry for the same key.
    fn write_run(
        &self,
        run: u32,
        entries: &mut dyn Iterator<Item = (&(TableId, Vec<u8>), &Option<Row>)>,
    ) -> Result<()>;

    /// The entry for (table, key) in `run`: Some(None) for a deletion,
    /// None when the run has no entry for it.
    fn get(&self, run: u32, table: TableId, key: &[u8]) -> Result<Option<Option<Row>>>;

    /// The entries of `run` for `table` whose keys start with `prefix`, in
    /// key order.
    fn scan(&self, run: u32, table: TableId, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Option<Row>)>>;

    /// Every entry of `run`, in key order.
    fn iter(&self, run: u32) -> Box<dyn Iterator<Item = Result<SpilledWrite>> + '_>;
}

fn io_err(e: impl std::fmt::Display) -> SqlError {
    super::storage_error(e)
}

/// The prefix of spill keyspaces' names.
pub const SPILL_PREFIX: &str = "spill-";

/// Makes spill keyspaces in a fjall database.
pub struct FjallSpiller {
    db: fjall::Database,
    next: AtomicU64,
    /// Distinguishes this process's keyspaces from any a crash left.
    epoch: u64,
}

impl FjallSpiller {
    /// A spiller making keyspaces in `db`.
    pub fn new(db: fjall::Database) -> Arc<FjallSpiller> {
        Arc::new(FjallSpiller {
            db,
            next: AtomicU64::new(0),
            epoch: fastrand::u64(..),
        })
    }

    /// Deletes every spill keyspace (those a crash left behind).
    pub fn remove_leftovers(db: &fjall::Database) -> Result<()> {
        for name in db.list_keyspace_names() {
            if !name.starts_with(SPILL_PREFIX) {
                continue;
            }
            let ks = db
                .keyspace(&name, KeyspaceCreateOptions::default)
                .map_err(io_err)?;
            db.delete_keyspace(ks).map_err(io_err)?;
        }
        Ok(())
    }
}

impl Spiller for FjallSpiller {
    fn create(&self) -> Result<Box<dyn SpillArea>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{SPILL_PREFIX}{:016x}-{n}", self.epoch);
        let ks = self
            .db
            .keyspace(&name, KeyspaceCreateOptions::default)
            .map_err(io_err)?;
        Ok(Box::new(FjallSpill {
            db: self.db.clone(),
            ks: Some(ks),
        }))
    }
}

/// A spill keyspace: key = run (4 bytes) ‖ table (4) ‖ row key; value =
/// the encoded version.
struct FjallSpill {
    db: fjall::Database,
    ks: Option<fjall::Keyspace>,
}

fn spill_key(run: u32, table: TableId, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + key.len());
    k.extend_from_slice(&run.to_be_bytes());
    k.extend_from_slice(&table.to_be_bytes());
    k.extend_from_slice(key);
    k
}

fn decode_entry(k: &[u8], v: &[u8]) -> Result<SpilledWrite> {
    let table = k
        .get(4..8)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| io_err("bad spill key"))?;
    let row = decode_row(v)?.map(Arc::from);
    Ok(((table, k[8..].to_vec()), row))
}

impl FjallSpill {
    fn ks(&self) -> Result<&fjall::Keyspace> {
        self.ks.as_ref().ok_or_else(|| io_err("spill area gone"))
    }
}

impl SpillArea for FjallSpill {
    fn write_run(
        &self,
        run: u32,
        entries: &mut dyn Iterator<Item = (&(TableId, Vec<u8>), &Option<Row>)>,
    ) -> Result<()> {
        let ks = self.ks()?;
        // Straight into tables of their own (fjall's ingestion): no
        // journal, no memtable, so a spill frees the transaction's memory
        // without filling fjall's. Each spill is one more sorted run in
        // the keyspace, newer than the ones before it.
        let mut ingestion = ks.start_ingestion().map_err(io_err)?;
        let mut last: Option<Vec<u8>> = None;
        for ((table, key), row) in entries {
            let k = spill_key(run, *table, key);
            // fjall panics on keys out of order: a typed error instead.
            if last.as_ref().is_some_and(|l| k <= *l) {
                return Err(io_err("spilled writes out of key order"));
            }
            let mut v = Vec::new();
            encode_row(row.as_deref(), &mut v)?;
            ingestion.write(k.clone(), v).map_err(io_err)?;
            last = Some(k);
        }
        ingestion.finish().map_err(io_err)
    }

    fn get(&self, run: u32, table: TableId, key: &[u8]) -> Result<Option<Option<Row>>> {
        match self.ks()?.get(spill_key(run, table, key)).map_err(io_err)? {
            Some(v) => Ok(Some(decode_row(&v)?.map(Arc::from))),
            None => Ok(None),
        }
    }

    fn scan(&self, run: u32, table: TableId, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Option<Row>)>> {
        let mut out = Vec::new();
        for item in self.ks()?.prefix(spill_key(run, table, prefix)) {
            let (k, v) = item.into_inner().map_err(io_err)?;
            let ((_, key), row) = decode_entry(&k, &v)?;
            out.push((key, row));
        }
        Ok(out)
    }

    fn iter(&self, run: u32) -> Box<dyn Iterator<Item = Result<SpilledWrite>> + '_> {
        let ks = match self.ks() {
            Ok(ks) => ks,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        Box::new(ks.prefix(run.to_be_bytes()).map(|item| {
            let (k, v) = item.into_inner().map_err(io_err)?;
            decode_entry(&k, &v)
        }))
    }
}

impl Drop for FjallSpill {
    fn drop(&mut self) {
        if let Some(ks) = self.ks.take() {
            // A failure leaves the keyspace to the next open, which deletes it.
            let _ = self.db.delete_keyspace(ks);
        }
    }
}
