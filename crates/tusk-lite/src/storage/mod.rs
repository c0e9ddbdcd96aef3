//! Storage: versioned rows under (table, key). The engine's MVCC sits on
//! top: a version is visible to a snapshot when its commit timestamp is at
//! or below the snapshot's. A commit writes all of a transaction's
//! versions in one atomic batch.
//!
//! Keys are the memcomparable encoding of the primary key (or an 8-byte
//! hidden row id), so a primary-key lookup is one point read and key order
//! is the primary key's order.

pub mod codec;
pub mod durable;
pub mod horizon;
pub mod keys;
pub mod memory;
pub mod spill;

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::catalog::TableId;
use crate::error::Result;
use crate::types::Value;

/// A storage failure as an error: 53100 (disk_full) when the disk is
/// full, as PostgreSQL reports it, else 58030 (io_error).
pub(crate) fn storage_error(e: impl std::fmt::Display) -> crate::error::SqlError {
    use crate::error::code;
    let msg = format!("storage error: {e}");
    let full = msg.contains("No space left on device") || msg.contains("os error 28");
    crate::error::SqlError::new(
        if full {
            code::DISK_FULL
        } else {
            code::IO_ERROR
        },
        msg,
    )
}

/// A commit timestamp: commits are numbered 1, 2, 3 ...; a snapshot at
/// `ts` sees every commit numbered `<= ts`.
pub type Ts = u64;

/// A stored row: one value per column.
pub type Row = Arc<[Value]>;

/// One write of a committing transaction: a new version of the row under
/// `key`, or a deletion (`row == None`).
#[derive(Clone, Debug)]
pub struct Write {
    pub table: TableId,
    pub key: Vec<u8>,
    pub row: Option<Row>,
}

/// One transaction's commit as the store receives it.
pub struct Commit<'a> {
    pub ts: Ts,
    pub writes: &'a [Write],
    /// The new catalog, when the transaction changed it.
    pub catalog: Option<&'a crate::catalog::Catalog>,
    /// Tables the transaction dropped (their rows go).
    pub dropped: &'a [TableId],
    /// The hidden row id high-water mark, so ids are never reused.
    pub next_rowid: u64,
}

/// The versioned row store the engine runs on.
pub trait Store: Send + Sync {
    /// The newest version of `key` committed at or before `snapshot`:
    /// `(commit ts, row or None for a deletion)`; None when no version is.
    fn get(&self, table: TableId, key: &[u8], snapshot: Ts) -> Option<(Ts, Option<Row>)>;

    /// Every row of `table` visible at `snapshot`, in key order.
    fn scan(&self, table: TableId, snapshot: Ts) -> Vec<(Vec<u8>, Row)>;

    /// The rows of `table` visible at `snapshot` whose keys start with
    /// `prefix`, in key order (an index lookup).
    fn scan_prefix(&self, table: TableId, prefix: &[u8], snapshot: Ts) -> Vec<(Vec<u8>, Row)>;

    /// Up to `limit` rows of `table` visible at `snapshot` whose keys come
    /// after `after` (from the first row when None), in key order: a scan
    /// in pages, for statements that go through a whole large table.
    fn scan_page(
        &self,
        table: TableId,
        snapshot: Ts,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)> {
        self.scan(table, snapshot)
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .collect()
    }

    /// Up to `limit` rows of `table` visible at `snapshot` whose keys lie
    /// between `from` and `to`, in key order: a range of the primary key
    /// (or of an index's entries) read a page at a time, the next page
    /// starting after the last key of this one. MVCC as in
    /// [`Store::scan_prefix`].
    fn scan_range(
        &self,
        table: TableId,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)>;

    /// [`Store::scan_range`] backwards: up to `limit` rows, the highest
    /// keys first (ORDER BY the key DESC; the next page ends before the
    /// last key of this one).
    fn scan_range_rev(
        &self,
        table: TableId,
        snapshot: Ts,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Row)>;

    /// Writes a group of commits' versions (and a catalog, when DDL
    /// changed it) atomically; when this returns, all of them are durable.
    /// Group commit: concurrent committers share one journal sync.
    fn commit(&self, group: &[Commit<'_>]) -> Result<()>;

    /// Records a sequence's high-water mark (not transactional; ordered
    /// before any later commit in the journal).
    fn put_sequence(&self, oid: u32, value: i64) -> Result<()>;

    /// The recorded sequence high-water marks.
    fn sequence_values(&self) -> Vec<(u32, i64)>;

    /// Where a large transaction's writes can go before COMMIT, so they
    /// need not all stay in memory; None when the store has no such place
    /// (the in-memory store: its rows are in memory anyway).
    fn spiller(&self) -> Option<Arc<dyn spill::Spiller>> {
        None
    }

    /// The horizon the store collects garbage below, when it does (the
    /// engine pins it for every transaction); None when it does not.
    fn horizon(&self) -> Option<Arc<horizon::Horizon>> {
        None
    }

    /// `CHECKPOINT`: writes what is only in memory and the journal to the
    /// store's files and compacts them, so the work that would otherwise
    /// run in the background afterwards is done when this returns. A
    /// no-op for a store with no files.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }

    /// Writes one commit whose writes arrive as a stream in key order (a
    /// transaction whose writes were spilled), atomically and durably like
    /// [`Store::commit`], without holding them all in memory at once. The
    /// caller makes sure no other commit is being written meanwhile.
    fn commit_stream(&self, commit: StreamCommit<'_>) -> Result<()> {
        let writes = commit.writes.collect::<Result<Vec<Write>>>()?;
        self.commit(&[Commit {
            ts: commit.ts,
            writes: &writes,
            catalog: commit.catalog,
            dropped: commit.dropped,
            next_rowid: commit.next_rowid,
        }])
    }
}

/// Whether no key lies between `from` and `to` (a B-tree's `range`
/// panics on such bounds).
pub fn range_is_empty(from: Bound<&[u8]>, to: Bound<&[u8]>) -> bool {
    match (from, to) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

/// Whether `key` lies between `from` and `to`.
pub fn in_range(key: &[u8], from: Bound<&[u8]>, to: Bound<&[u8]>) -> bool {
    RangeBounds::<[u8]>::contains(&(from, to), key)
}

/// Whether `key` lies past the upper bound `to` (a scan in key order
/// stops there).
pub fn past_end(key: &[u8], to: Bound<&[u8]>) -> bool {
    match to {
        Bound::Included(t) => key > t,
        Bound::Excluded(t) => key >= t,
        Bound::Unbounded => false,
    }
}

/// One commit whose writes are a stream (see [`Store::commit_stream`]).
pub struct StreamCommit<'a> {
    /// The commit's timestamp.
    pub ts: Ts,
    /// Its writes, in (table, key) order, one per key.
    pub writes: &'a mut dyn Iterator<Item = Result<Write>>,
    /// The new catalog, when the transaction changed it.
    pub catalog: Option<&'a crate::catalog::Catalog>,
    /// Tables the transaction dropped (their rows go).
    pub dropped: &'a [TableId],
    /// The hidden row id high-water mark.
    pub next_rowid: u64,
}
