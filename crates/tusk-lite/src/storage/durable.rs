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
//!
//! A transaction whose writes were spilled (see [`super::spill`]) commits
//! as a stream instead of one batch: `meta.pending` names its commit ts
//! (synced) before its versions go straight into new tables (fjall's
//! ingestion: no journal, no memtable, synced), and a last batch (synced)
//! sets `clock` and removes the mark. Its versions are invisible until
//! then, as every snapshot is below that ts. After a crash in between,
//! opening removes every version with that ts. A major compaction follows
//! such a commit.
//!
//! Compactions of `rows` drop the versions no snapshot can read any more
//! (older than a row's newest version at or below the
//! [`Horizon`](super::horizon::Horizon)). The keyspaces are made by the
//! first commit, so opening a new database is only fjall's own setup.

use fjall::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use fjall::config::{CompressionPolicy, PartitioningPolicy, PinningPolicy};
use fjall::{CompressionType, KeyspaceCreateOptions, PersistMode};
use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::codec::{decode_row, encode_row};
use super::horizon::Horizon;
use super::spill::{FjallSpiller, Spiller};
use super::{Commit, Row, Store, StreamCommit, Ts};
use crate::catalog::{Catalog, TableId};
use crate::error::{Result, SqlError};

fn io_err(e: impl std::fmt::Display) -> SqlError {
    super::storage_error(e)
}

pub struct DurableStore {
    db: fjall::Database,
    /// Versioned rows; made by the first write (see [`DurableStore::rows`]).
    rows: OnceLock<fjall::Keyspace>,
    /// Catalog, clock, row id mark and sequences; made by the first write.
    meta: OnceLock<fjall::Keyspace>,
    spiller: Arc<FjallSpiller>,
    /// The oldest snapshot in use: compactions of `rows` drop versions
    /// superseded at or below it.
    horizon: Arc<Horizon>,
    /// The commit timestamps of streamed commits that did not finish (see
    /// [`Aborted`]).
    aborted: Aborted,
    /// A streamed commit failed part way and left versions behind: no
    /// further commit until the database is opened again (which removes
    /// them), or they could become visible under a later commit's ts.
    broken: std::sync::atomic::AtomicBool,
}

/// What a durable database holds when it is opened.
pub struct Recovered {
    pub store: DurableStore,
    pub catalog: Catalog,
    pub clock: Ts,
    pub next_rowid: u64,
}

/// A decoded version: the row, or None for a deletion.
type StoredRow = Option<Vec<crate::types::Value>>;

/// The smallest key greater than every key that starts with `k` (None:
/// there is none).
fn successor(k: &[u8]) -> Option<Vec<u8>> {
    let mut s = k.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

fn version_key(table: TableId, key: &[u8], ts: Ts) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + key.len() + 8);
    k.extend_from_slice(&table.to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&(!ts).to_be_bytes());
    k
}

/// The timestamps of streamed commits that did not finish, kept in `meta`
/// as `aborted:<ts>`. Their versions are shadowed by tombstones, but a
/// compaction that does not include those tombstones still sees them: the
/// GC filter must not take one for a row's newest version (it would drop
/// the older, committed versions the row still needs). A later commit may
/// reuse such a timestamp; its versions then only settle a row one
/// compaction later, which keeps at most one extra version.
type Aborted = Arc<Mutex<BTreeSet<Ts>>>;

fn aborted_key(ts: Ts) -> String {
    format!("aborted:{ts:016x}")
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
        let horizon = Horizon::new(0);
        let aborted: Aborted = Arc::default();
        let gc: Arc<dyn Factory> = Arc::new(GcFactory {
            horizon: horizon.clone(),
            aborted: aborted.clone(),
        });
        let db = fjall::Database::builder(dir)
            .max_journaling_size(64 * 1024 * 1024)
            .with_compaction_filter_factories(Arc::new(move |name: &str| {
                (name == "rows").then(|| gc.clone())
            }))
            .open()
            .map_err(io_err)?;
        // The keyspaces are made by the first commit that writes to them:
        // making one costs fjall a dozen fsyncs, which would be most of
        // opening a new, empty database.
        let open_existing = |name: &str| -> Result<OnceLock<fjall::Keyspace>> {
            let cell = OnceLock::new();
            if db.keyspace_exists(name) {
                let ks = db
                    .keyspace(name, KeyspaceCreateOptions::default)
                    .map_err(io_err)?;
                let _ = cell.set(ks);
            }
            Ok(cell)
        };
        let rows = open_existing("rows")?;
        let meta = open_existing("meta")?;
        let (catalog, clock, next_rowid, pending) = match meta.get() {
            Some(meta) => (
                match meta.get("catalog").map_err(io_err)? {
                    Some(v) => serde_json::from_slice(&v).map_err(io_err)?,
                    None => Catalog::new(),
                },
                read_u64(meta, "clock")?,
                read_u64(meta, "rowid")?,
                read_u64(meta, "pending")?,
            ),
            None => (Catalog::new(), 0, 0, 0),
        };
        horizon.publish(clock);
        if let Some(meta) = meta.get() {
            let mut set = aborted.lock().unwrap_or_else(|e| e.into_inner());
            for item in meta.prefix("aborted:") {
                let k = item.key().map_err(io_err)?;
                let ts = std::str::from_utf8(&k["aborted:".len()..])
                    .ok()
                    .and_then(|h| Ts::from_str_radix(h, 16).ok())
                    .ok_or_else(|| io_err("bad meta key"))?;
                set.insert(ts);
            }
        }
        FjallSpiller::remove_leftovers(&db)?;
        if let (Some(meta), true) = (meta.get(), pending != 0) {
            let cut_short = pending > clock;
            if cut_short {
                aborted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(pending);
            }
            if let (Some(rows), true) = (rows.get(), cut_short) {
                remove_versions(&db, rows, pending)?;
            }
            let mut b = db.batch().durability(Some(PersistMode::SyncData));
            b.remove(meta, "pending");
            if cut_short {
                b.insert(meta, aborted_key(pending), Vec::<u8>::new());
            }
            b.commit().map_err(io_err)?;
        }
        let spiller = FjallSpiller::new(db.clone());
        Ok(Recovered {
            store: DurableStore {
                db,
                rows,
                meta,
                spiller,
                horizon,
                aborted,
                broken: std::sync::atomic::AtomicBool::new(false),
            },
            catalog,
            clock,
            next_rowid,
        })
    }
}

/// Makes the compaction filter of `rows`: MVCC garbage collection.
struct GcFactory {
    horizon: Arc<Horizon>,
    aborted: Aborted,
}

impl Factory for GcFactory {
    fn name(&self) -> &str {
        "tusk-lite-mvcc-gc"
    }

    fn make_filter(&self, _ctx: &Context) -> Box<dyn CompactionFilter> {
        Box::new(GcFilter {
            horizon: self.horizon.get(),
            aborted: self
                .aborted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            row: Vec::new(),
            settled: false,
        })
    }
}

/// Drops the versions of a row that are older than its newest version at
/// or below the horizon: no snapshot can read them any more. A compaction
/// sees its keys in order, and a row's versions newest first (the key
/// ends in !commit_ts), so the version every live snapshot reads comes
/// before the ones it supersedes. Only versions the same compaction sees
/// superseded go; a removal leaves a tombstone, as a reused key (a ts
/// taken again after a failed commit) may exist deeper down.
struct GcFilter {
    horizon: Ts,
    /// Timestamps whose versions never settle a row (see [`Aborted`]).
    aborted: BTreeSet<Ts>,
    /// The table ‖ row key of the last version seen.
    row: Vec<u8>,
    /// A version of `row` at or below the horizon was kept.
    settled: bool,
}

impl CompactionFilter for GcFilter {
    fn filter_item(
        &mut self,
        item: ItemAccessor<'_>,
        _ctx: &Context,
    ) -> fjall::compaction::filter::CompactionFilterResult {
        let k = item.key();
        let Some(split) = k.len().checked_sub(8).filter(|n| *n >= 4) else {
            return Ok(Verdict::Keep);
        };
        let (row, ts) = k.split_at(split);
        let Ok(ts) = <[u8; 8]>::try_from(ts).map(|b| !u64::from_be_bytes(b)) else {
            return Ok(Verdict::Keep);
        };
        if row == self.row.as_slice() {
            if self.settled {
                return Ok(Verdict::Remove);
            }
        } else {
            self.row.clear();
            self.row.extend_from_slice(row);
            self.settled = false;
        }
        if ts <= self.horizon && !self.aborted.contains(&ts) {
            self.settled = true;
        }
        Ok(Verdict::Keep)
    }
}

/// Removes every version committed at `ts` (a streamed commit that did not
/// finish).
fn remove_versions(db: &fjall::Database, rows: &fjall::Keyspace, ts: Ts) -> Result<()> {
    let tail = (!ts).to_be_bytes();
    let mut batch = db.batch();
    for item in rows.iter() {
        let k = item.key().map_err(io_err)?;
        if k.len() >= 12 && k[k.len() - 8..] == tail {
            batch.remove(rows, k);
            if batch.len() >= 10_000 {
                std::mem::replace(&mut batch, db.batch())
                    .commit()
                    .map_err(io_err)?;
            }
        }
    }
    batch.commit().map_err(io_err)?;
    db.persist(PersistMode::SyncData).map_err(io_err)
}

/// How the `rows` keyspace is made.
fn rows_options() -> KeyspaceCreateOptions {
    // lz4 on every level (fjall's default leaves the first two
    // uncompressed): rows are repetitive (padded char(n), small integers
    // in 8 bytes), and the versions of a bulk load go straight into
    // level-1 tables.
    //
    // Every table keeps its whole block index in memory (fjall pins and
    // keeps whole only the first levels' by default, and partitions the
    // deeper ones, where a CHECKPOINT puts everything): a point read then
    // looks up one data block in the block cache instead of an index
    // partition and a data block. It costs about 1 MiB per million rows
    // (one entry per 4 KiB data block). Applies to databases made from
    // now on; fjall keeps a keyspace's policies as it was made.
    KeyspaceCreateOptions::default()
        .max_memtable_size(16 * 1024 * 1024)
        .data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
        .index_block_partitioning_policy(PartitioningPolicy::all(false))
        .index_block_pinning_policy(PinningPolicy::all(true))
}

/// The keyspace in `cell`, made in `db` under `name` when it is not yet.
fn made<'a>(
    db: &fjall::Database,
    cell: &'a OnceLock<fjall::Keyspace>,
    name: &str,
    options: fn() -> KeyspaceCreateOptions,
) -> Result<&'a fjall::Keyspace> {
    if let Some(ks) = cell.get() {
        return Ok(ks);
    }
    // Two racing callers both get fjall's one keyspace of that name.
    let ks = db.keyspace(name, options).map_err(io_err)?;
    Ok(cell.get_or_init(|| ks))
}

impl DurableStore {
    /// The `rows` keyspace, made now when no commit has made it yet.
    fn rows(&self) -> Result<&fjall::Keyspace> {
        made(&self.db, &self.rows, "rows", rows_options)
    }

    /// The `meta` keyspace, made now when no commit has made it yet.
    fn meta(&self) -> Result<&fjall::Keyspace> {
        made(&self.db, &self.meta, "meta", KeyspaceCreateOptions::default)
    }

    fn check_usable(&self) -> Result<()> {
        if self.broken.load(std::sync::atomic::Ordering::Acquire) {
            return Err(io_err(
                "an earlier commit failed part way; reopen the database to recover",
            ));
        }
        Ok(())
    }

    /// Adds the end of a commit to `batch`: dropped tables, the catalog,
    /// the clock and the row id mark.
    fn finish_batch(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        dropped: &[TableId],
        catalog: Option<&Catalog>,
    ) -> Result<()> {
        if let Some(rows) = self.rows.get() {
            for t in dropped {
                for item in rows.prefix(t.to_be_bytes()) {
                    if let Ok(k) = item.key() {
                        batch.remove(rows, k);
                    }
                }
            }
        }
        if let Some(cat) = catalog {
            batch.insert(
                self.meta()?,
                "catalog",
                serde_json::to_vec(cat).map_err(io_err)?,
            );
        }
        Ok(())
    }

    fn stream(&self, c: StreamCommit<'_>) -> Result<()> {
        let (rows, meta) = (self.rows()?, self.meta()?);
        let mut mark = self.db.batch().durability(Some(PersistMode::SyncData));
        mark.insert(meta, "pending", c.ts.to_be_bytes().to_vec());
        mark.commit().map_err(io_err)?;
        // The versions bypass the journal and the memtables: fjall writes
        // them straight into new (synced) tables, so a bulk load holds no
        // memtables full of them, and writes them once rather than to the
        // journal and again at flush.
        let mut ingestion = rows.start_ingestion().map_err(io_err)?;
        let mut last: Option<Vec<u8>> = None;
        for w in c.writes {
            let w = w?;
            let key = version_key(w.table, &w.key, c.ts);
            // fjall panics on keys out of order: a typed error instead.
            if last.as_ref().is_some_and(|l| key <= *l) {
                return Err(SqlError::internal(
                    "a streamed commit's writes are out of key order",
                ));
            }
            let mut v = Vec::new();
            encode_row(w.row.as_deref(), &mut v)?;
            ingestion.write(key.clone(), v).map_err(io_err)?;
            last = Some(key);
        }
        ingestion.finish().map_err(io_err)?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        self.finish_batch(&mut batch, c.dropped, c.catalog)?;
        batch.insert(meta, "clock", c.ts.to_be_bytes().to_vec());
        batch.insert(meta, "rowid", c.next_rowid.to_be_bytes().to_vec());
        batch.remove(meta, "pending");
        batch.commit().map_err(io_err)?;
        // A large commit (a bulk load, a table rewrite) left a large new
        // run beside the versions it superseded: one major compaction now
        // merges them and drops what no snapshot can read (see GcFilter),
        // rather than leaving the garbage on disk until writes trigger
        // compactions. Not part of the commit: a failure only keeps the
        // space in use.
        let _ = rows.major_compact();
        Ok(())
    }
}

impl Store for DurableStore {
    fn get(&self, table: TableId, key: &[u8], snapshot: Ts) -> Option<(Ts, Option<Row>)> {
        // No stored key is this long (keys::MAX_KEY); fjall would refuse it.
        if key.len() > 2 * super::keys::MAX_KEY {
            return None;
        }
        let from = version_key(table, key, snapshot);
        // The first version at or after `from` is the row's newest one at
        // `snapshot` if it belongs to the row at all. The range is left
        // open above and the row checked here: a bounded range makes every
        // table iterator of fjall also seek its upper end (in the block
        // index and in the data block), about a third of a point read.
        let first = self.rows.get()?.range(from.as_slice()..).next()?;
        let (k, v) = first.into_inner().ok()?;
        let head = from.len() - 8;
        if k.len() != from.len() || k[..head] != from[..head] {
            return None;
        }
        let ts = !u64::from_be_bytes(k.get(head..)?.try_into().ok()?);
        let row = decode_row(&v).ok()?;
        Some((ts, row.map(Arc::from)))
    }

    fn scan(&self, table: TableId, snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        self.scan_prefix(table, &[], snapshot)
    }

    fn scan_page(
        &self,
        table: TableId,
        snapshot: Ts,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        if after.is_some_and(|a| a.len() > 2 * super::keys::MAX_KEY) {
            return Vec::new();
        }
        let mut start = table.to_be_bytes().to_vec();
        start.extend_from_slice(after.unwrap_or_default());
        let end = (table + 1).to_be_bytes().to_vec();
        let mut out = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        let Some(rows) = self.rows.get() else {
            return out;
        };
        let items = if table == TableId::MAX {
            rows.range(start..)
        } else {
            rows.range(start..end)
        };
        for item in items {
            if out.len() >= limit {
                break;
            }
            let Ok((k, v)) = item.into_inner() else {
                continue;
            };
            if k.len() < 12 {
                continue;
            }
            let row_key = &k[4..k.len() - 8];
            if after.is_some_and(|a| row_key <= a) || last.as_deref() == Some(row_key) {
                continue;
            }
            let Ok(ts_bytes) = <[u8; 8]>::try_from(&k[k.len() - 8..]) else {
                continue;
            };
            if !u64::from_be_bytes(ts_bytes) > snapshot {
                continue;
            }
            last = Some(row_key.to_vec());
            if let Ok(Some(row)) = decode_row(&v) {
                out.push((row_key.to_vec(), Arc::from(row)));
            }
        }
        out
    }

    fn scan_range(
        &self,
        table: TableId,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        let mut out = Vec::new();
        if super::range_is_empty(from, to) {
            return out;
        }
        // Start at the lower bound (cut to a length fjall takes: a shorter
        // start is lower, and keys below the bound are skipped), stop at
        // the first key past the upper one: keys are prefix-free, so the
        // versions' order is their keys' order.
        let mut start = table.to_be_bytes().to_vec();
        if let Bound::Included(f) | Bound::Excluded(f) = from {
            start.extend_from_slice(&f[..f.len().min(2 * super::keys::MAX_KEY)]);
        }
        let end = (table + 1).to_be_bytes().to_vec();
        let Some(rows) = self.rows.get() else {
            return out;
        };
        let items = if table == TableId::MAX {
            rows.range(start..)
        } else {
            rows.range(start..end)
        };
        let mut last: Option<Vec<u8>> = None;
        for item in items {
            if out.len() >= limit {
                break;
            }
            let Ok((k, v)) = item.into_inner() else {
                continue;
            };
            if k.len() < 12 {
                continue;
            }
            let row_key = &k[4..k.len() - 8];
            if super::past_end(row_key, to) {
                break;
            }
            let below = match from {
                Bound::Included(f) => row_key < f,
                Bound::Excluded(f) => row_key <= f,
                Bound::Unbounded => false,
            };
            if below || last.as_deref() == Some(row_key) {
                continue;
            }
            let Ok(ts_bytes) = <[u8; 8]>::try_from(&k[k.len() - 8..]) else {
                continue;
            };
            if !u64::from_be_bytes(ts_bytes) > snapshot {
                continue; // too new: look at the next (older) version
            }
            last = Some(row_key.to_vec());
            if let Ok(Some(row)) = decode_row(&v) {
                out.push((row_key.to_vec(), Arc::from(row)));
            }
        }
        out
    }

    fn scan_range_rev(
        &self,
        table: TableId,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        let mut out = Vec::new();
        if super::range_is_empty(from, to) {
            return out;
        }
        // From above every version of the keys up to `to` (cut to a
        // length fjall takes, then past every key it starts), down to
        // the lower bound. Backwards, a key's versions come oldest first:
        // the last one the snapshot sees is its version.
        let cut = |k: &[u8]| {
            let mut s = table.to_be_bytes().to_vec();
            s.extend_from_slice(&k[..k.len().min(2 * super::keys::MAX_KEY)]);
            s
        };
        let end = match to {
            Bound::Included(t) | Bound::Excluded(t) => successor(&cut(t)),
            Bound::Unbounded => (table < TableId::MAX).then(|| (table + 1).to_be_bytes().to_vec()),
        };
        let start = match from {
            Bound::Included(f) | Bound::Excluded(f) => cut(f),
            Bound::Unbounded => table.to_be_bytes().to_vec(),
        };
        let Some(rows) = self.rows.get() else {
            return out;
        };
        let items: Box<dyn DoubleEndedIterator<Item = _>> = match end {
            Some(end) => Box::new(rows.range(start..end)),
            None => Box::new(rows.range(start..)),
        };
        // The key being read and the newest of its versions seen so far
        // that the snapshot sees (Some(None): a deletion).
        let mut cur: Option<(Vec<u8>, Option<StoredRow>)> = None;
        let flush = |cur: &mut Option<(Vec<u8>, Option<StoredRow>)>,
                     out: &mut Vec<(Vec<u8>, Row)>| {
            if let Some((k, Some(Some(row)))) = cur.take() {
                out.push((k, Arc::from(row)));
            }
        };
        for item in items.rev() {
            let Ok((k, v)) = item.into_inner() else {
                continue;
            };
            if k.len() < 12 {
                continue;
            }
            let row_key = &k[4..k.len() - 8];
            let below = match from {
                Bound::Included(f) => row_key < f,
                Bound::Excluded(f) => row_key <= f,
                Bound::Unbounded => false,
            };
            if below {
                break;
            }
            if !super::in_range(row_key, Bound::Unbounded, to) {
                continue;
            }
            if cur.as_ref().is_none_or(|(ck, _)| ck.as_slice() != row_key) {
                flush(&mut cur, &mut out);
                if out.len() >= limit {
                    return out;
                }
                cur = Some((row_key.to_vec(), None));
            }
            let Ok(ts_bytes) = <[u8; 8]>::try_from(&k[k.len() - 8..]) else {
                continue;
            };
            if !u64::from_be_bytes(ts_bytes) <= snapshot {
                if let (Some((_, seen)), Ok(row)) = (cur.as_mut(), decode_row(&v)) {
                    *seen = Some(row);
                }
            }
        }
        flush(&mut cur, &mut out);
        out
    }

    fn scan_prefix(&self, table: TableId, prefix: &[u8], snapshot: Ts) -> Vec<(Vec<u8>, Row)> {
        let mut out = Vec::new();
        if prefix.len() > 2 * super::keys::MAX_KEY {
            return out;
        }
        let mut last: Option<Vec<u8>> = None;
        let mut start = table.to_be_bytes().to_vec();
        start.extend_from_slice(prefix);
        let Some(rows) = self.rows.get() else {
            return out;
        };
        for item in rows.prefix(start) {
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
        self.meta()?
            .insert(format!("seq:{oid}"), value.to_be_bytes().to_vec())
            .map_err(io_err)
    }

    fn sequence_values(&self) -> Vec<(u32, i64)> {
        let mut out = Vec::new();
        let Some(meta) = self.meta.get() else {
            return out;
        };
        for item in meta.prefix("seq:") {
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

    fn spiller(&self) -> Option<Arc<dyn Spiller>> {
        Some(self.spiller.clone())
    }

    fn horizon(&self) -> Option<Arc<Horizon>> {
        Some(self.horizon.clone())
    }

    fn checkpoint(&self) -> Result<()> {
        self.check_usable()?;
        // Keyspaces no commit has made yet hold nothing to write.
        for ks in [self.rows.get(), self.meta.get()].into_iter().flatten() {
            ks.rotate_memtable_and_wait().map_err(io_err)?;
        }
        // Level 0 holds what was just flushed (and what background
        // compaction has not merged yet): merge everything into one level,
        // so reads afterwards look in as few tables as possible. Nothing
        // there: nothing was written since the last compaction.
        if let Some(rows) = self.rows.get() {
            if rows.l0_table_count() > 0 {
                rows.major_compact().map_err(io_err)?;
            }
        }
        self.db.persist(PersistMode::SyncAll).map_err(io_err)
    }

    fn commit_stream(&self, c: StreamCommit<'_>) -> Result<()> {
        self.check_usable()?;
        let ts = c.ts;
        let r = self.stream(c);
        if r.is_err() {
            // Take back what went in; failing that, refuse commits until
            // a reopen does it. The ts never settles a row from now on.
            self.aborted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(ts);
            let cleaned = self
                .rows()
                .and_then(|rows| remove_versions(&self.db, rows, ts))
                .and_then(|()| {
                    let mut b = self.db.batch().durability(Some(PersistMode::SyncData));
                    b.remove(self.meta()?, "pending");
                    b.insert(self.meta()?, aborted_key(ts), Vec::<u8>::new());
                    b.commit().map_err(io_err)
                });
            if cleaned.is_err() {
                self.broken
                    .store(true, std::sync::atomic::Ordering::Release);
            }
        }
        r
    }

    fn commit(&self, group: &[Commit<'_>]) -> Result<()> {
        self.check_usable()?;
        let Some(last) = group.last() else {
            return Ok(());
        };
        // fdatasync, as PostgreSQL syncs its WAL on Linux (wal_sync_method).
        let (rows, meta) = (self.rows()?, self.meta()?);
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        for c in group {
            for w in c.writes {
                let mut v = Vec::new();
                encode_row(w.row.as_deref(), &mut v)?;
                batch.insert(rows, version_key(w.table, &w.key, c.ts), v);
            }
            self.finish_batch(&mut batch, c.dropped, c.catalog)?;
        }
        batch.insert(meta, "clock", last.ts.to_be_bytes().to_vec());
        let rowid = group.iter().map(|c| c.next_rowid).max().unwrap_or(0);
        batch.insert(meta, "rowid", rowid.to_be_bytes().to_vec());
        batch.commit().map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Write;
    use crate::types::Value;

    fn fresh_dir(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("tusk-lite-durable-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn row(v: i64) -> Row {
        Arc::from(vec![Value::Int(v)])
    }

    #[test]
    fn a_streamed_commit_that_fails_part_way_leaves_nothing() {
        let d = fresh_dir("fail");
        let store = DurableStore::open(&d).expect("open").store;
        // More than one batch of versions, then a failure.
        let mut n = 0u64;
        let mut writes = std::iter::from_fn(|| {
            n += 1;
            match n {
                ..=200_000 => Some(Ok(Write {
                    table: 7,
                    key: n.to_be_bytes().to_vec(),
                    row: Some(row(1)),
                })),
                200_001 => Some(Err(SqlError::internal("the stream broke"))),
                _ => None,
            }
        });
        let r = store.commit_stream(StreamCommit {
            ts: 1,
            writes: &mut writes,
            catalog: None,
            dropped: &[],
            next_rowid: 1,
        });
        assert!(r.is_err());
        assert!(store.get(7, &1u64.to_be_bytes(), Ts::MAX).is_none());
        assert!(store.scan(7, Ts::MAX).is_empty());
        // The next commit takes the same ts and shows only its own rows.
        store
            .commit(&[Commit {
                ts: 1,
                writes: &[Write {
                    table: 7,
                    key: 2u64.to_be_bytes().to_vec(),
                    row: Some(row(2)),
                }],
                catalog: None,
                dropped: &[],
                next_rowid: 1,
            }])
            .expect("commit");
        assert_eq!(store.scan(7, 1).len(), 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn opening_removes_a_streamed_commit_cut_short() {
        let d = fresh_dir("cut");
        {
            let store = DurableStore::open(&d).expect("open").store;
            // What a crash between the mark and the last batch leaves: the
            // mark, and versions at its ts.
            let mut b = store.db.batch().durability(Some(PersistMode::SyncData));
            b.insert(
                store.meta().expect("meta"),
                "pending",
                1u64.to_be_bytes().to_vec(),
            );
            let mut v = Vec::new();
            encode_row(Some(&[Value::Int(1)]), &mut v).expect("encode");
            b.insert(store.rows().expect("rows"), version_key(7, b"k", 1), v);
            b.commit().expect("write");
        }
        let r = DurableStore::open(&d).expect("reopen");
        assert_eq!(r.clock, 0);
        assert!(r.store.get(7, b"k", Ts::MAX).is_none());
        assert_eq!(
            read_u64(r.store.meta().expect("meta"), "pending").expect("meta"),
            0
        );
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Review probe: a streamed commit cut short after its tables went in
    /// leaves versions at its ts that opening shadows with tombstones (in
    /// the memtable). A compaction of the tables alone still sees those
    /// versions; once the horizon reaches that ts (the next commit reuses
    /// it) the filter took them for the rows' newest versions and dropped
    /// the older, committed ones: the rows vanished.
    #[test]
    fn a_cut_short_streamed_commit_does_not_take_older_versions_with_it() {
        let d = fresh_dir("cutgc");
        {
            let store = DurableStore::open(&d).expect("open").store;
            commit_one(&store, 1, 1, Some(1));
            let rows = store.rows().expect("rows");
            rows.rotate_memtable_and_wait().expect("flush");
            let mut b = store.db.batch().durability(Some(PersistMode::SyncData));
            b.insert(
                store.meta().expect("meta"),
                "pending",
                2u64.to_be_bytes().to_vec(),
            );
            b.commit().expect("mark");
            let mut ing = rows.start_ingestion().expect("ingest");
            let mut v = Vec::new();
            encode_row(Some(&[Value::Int(2)]), &mut v).expect("encode");
            ing.write(version_key(3, &1u64.to_be_bytes(), 2), v)
                .expect("write");
            ing.finish().expect("finish");
            // The crash: no last batch.
        }
        let r = DurableStore::open(&d).expect("reopen");
        assert_eq!(r.clock, 1);
        let store = r.store;
        assert_eq!(store.get(3, &1u64.to_be_bytes(), 9).map(|v| v.0), Some(1));
        commit_one(&store, 2, 5, Some(5));
        store.horizon.publish(2);
        commit_one(&store, 3, 6, Some(6));
        store.horizon.publish(3);
        store
            .rows()
            .expect("rows")
            .major_compact()
            .expect("compact");
        assert_eq!(
            store.get(3, &1u64.to_be_bytes(), 3).map(|v| v.0),
            Some(1),
            "row 1 as committed at ts 1"
        );
        assert_eq!(store.scan(3, 3).len(), 3);
        drop(store);
        let r = DurableStore::open(&d).expect("reopen");
        assert_eq!(r.store.scan(3, 3).len(), 3);
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }

    fn commit_one(store: &DurableStore, ts: Ts, key: u64, v: Option<i64>) {
        store
            .commit(&[Commit {
                ts,
                writes: &[Write {
                    table: 3,
                    key: key.to_be_bytes().to_vec(),
                    row: v.map(row),
                }],
                catalog: None,
                dropped: &[],
                next_rowid: 1,
            }])
            .expect("commit");
    }

    /// Every version stored, visible or not.
    fn raw_versions(store: &DurableStore) -> usize {
        store.rows.get().map_or(0, |r| r.iter().count())
    }

    #[test]
    fn compaction_drops_versions_no_snapshot_can_read() {
        let d = fresh_dir("gc");
        let store = DurableStore::open(&d).expect("open").store;
        let h = store.horizon.clone();
        for ts in 1..=3 {
            commit_one(&store, ts, 1, Some(i64::try_from(ts).unwrap_or(0)));
            h.publish(ts);
        }
        commit_one(&store, 4, 2, Some(4));
        h.publish(4);
        // A transaction that began at ts 2 still reads row 1 as of 2.
        let pin = h.pin(|| 2);
        let rows = store.rows().expect("rows");
        rows.rotate_memtable_and_wait().expect("flush");
        rows.major_compact().expect("compact");
        assert_eq!(
            raw_versions(&store),
            3,
            "the version at 1 went, 2 and 3 stay"
        );
        assert_eq!(store.get(3, &1u64.to_be_bytes(), 2).map(|v| v.0), Some(2));
        drop(pin);
        rows.major_compact().expect("compact");
        assert_eq!(raw_versions(&store), 2, "only the newest of each row");
        assert_eq!(store.get(3, &1u64.to_be_bytes(), 4).map(|v| v.0), Some(3));
        assert_eq!(store.scan(3, 4).len(), 2);
        drop(store);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_new_database_makes_its_keyspaces_at_the_first_commit() {
        let d = fresh_dir("lazy");
        {
            let r = DurableStore::open(&d).expect("open");
            assert_eq!(r.store.db.keyspace_count(), 0);
            assert!(r.store.get(3, b"k", Ts::MAX).is_none());
            assert!(r.store.scan(3, Ts::MAX).is_empty());
            assert!(r.store.sequence_values().is_empty());
        }
        let r = DurableStore::open(&d).expect("reopen");
        assert_eq!(r.store.db.keyspace_count(), 0);
        commit_one(&r.store, 1, 1, Some(1));
        drop(r);
        let r = DurableStore::open(&d).expect("reopen");
        assert_eq!(r.clock, 1);
        assert_eq!(r.store.scan(3, 1).len(), 1);
        drop(r);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn pages_cover_a_table_once_at_a_snapshot() {
        let d = fresh_dir("pages");
        let store = DurableStore::open(&d).expect("open").store;
        for ts in 1..=2u64 {
            let writes: Vec<Write> = (0..10u64)
                .map(|k| Write {
                    table: 3,
                    key: k.to_be_bytes().to_vec(),
                    row: Some(row(i64::try_from(ts).unwrap_or(0))),
                })
                .collect();
            store
                .commit(&[Commit {
                    ts,
                    writes: &writes,
                    catalog: None,
                    dropped: &[],
                    next_rowid: 1,
                }])
                .expect("commit");
        }
        let mut seen = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = store.scan_page(3, 1, after.as_deref(), 3);
            let done = page.len() < 3;
            after = page.last().map(|(k, _)| k.clone());
            seen.extend(page);
            if done {
                break;
            }
        }
        assert_eq!(seen.len(), 10);
        assert!(seen.iter().all(|(_, r)| r[0] == Value::Int(1)));
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
        drop(store);
        let _ = std::fs::remove_dir_all(&d);
    }
}
