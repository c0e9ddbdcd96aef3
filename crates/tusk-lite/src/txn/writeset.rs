//! A transaction's writes until COMMIT, keyed by (table, row key); None
//! deletes. Small transactions keep them in a B-tree in memory; once they
//! pass [`SPILL_BYTES`], the memory part goes to the store's spill area
//! (see [`crate::storage::spill`]) and the transaction goes on with an
//! empty one, so a bulk load's memory stays bounded. Reads see the newest
//! write: memory first, then the spilled runs from newest to oldest.
//!
//! Runs exist for savepoints: a savepoint freezes the runs written so far,
//! so later spills go to a new run that ROLLBACK TO drops. Without
//! savepoints every spill goes to one run, overwriting older entries.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::TableId;
use crate::error::Result;
use crate::storage::spill::{SpillArea, SpilledWrite, Spiller};
use crate::storage::{Row, Write};
use crate::types::Value;

/// Memory the in-memory part may use (estimated) before it spills.
pub const SPILL_BYTES: usize = 16 << 20;

type Key = (TableId, Vec<u8>);

/// A transaction's buffered writes.
pub struct WriteSet {
    mem: BTreeMap<Key, Option<Row>>,
    /// Estimated bytes held by `mem`.
    mem_bytes: usize,
    /// How a spill area is made, when the store has one.
    spiller: Option<Arc<dyn Spiller>>,
    spill: Option<Spill>,
    /// Tables and indexes whose writes were dropped (DROP TABLE, DROP
    /// INDEX): their entries in the first n runs no longer count.
    forgotten: BTreeMap<TableId, usize>,
}

struct Spill {
    area: Box<dyn SpillArea>,
    /// Run ids, oldest first.
    runs: Vec<u32>,
    /// `runs[..frozen]` belong to savepoints and are not written again.
    frozen: usize,
    next_run: u32,
}

/// The state of a write set at a savepoint.
#[derive(Clone)]
pub struct Mark {
    mem: BTreeMap<Key, Option<Row>>,
    mem_bytes: usize,
    runs: usize,
    forgotten: BTreeMap<TableId, usize>,
}

fn value_bytes(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Text(s) => s.len(),
            Value::Array(a) => a.iter().map(value_bytes).sum(),
            Value::Numeric(_) => 32,
            _ => 0,
        }
}

/// An estimate of what an entry costs in the B-tree.
fn entry_bytes(key: &[u8], row: &Option<Row>) -> usize {
    64 + key.len() + row.as_ref().map_or(0, |r| r.iter().map(value_bytes).sum())
}

impl WriteSet {
    /// An empty write set that spills through `spiller`, when given.
    pub fn new(spiller: Option<Arc<dyn Spiller>>) -> WriteSet {
        WriteSet {
            mem: BTreeMap::new(),
            mem_bytes: 0,
            spiller,
            spill: None,
            forgotten: BTreeMap::new(),
        }
    }

    /// Whether run number `pos` (its position, oldest first) still counts
    /// for `table`.
    fn counts(&self, table: TableId, pos: usize) -> bool {
        self.forgotten.get(&table).is_none_or(|n| pos >= *n)
    }

    /// No writes at all.
    pub fn is_empty(&self) -> bool {
        self.mem.is_empty() && self.spill.as_ref().is_none_or(|s| s.runs.is_empty())
    }

    /// Some writes went to the spill area.
    pub fn is_spilled(&self) -> bool {
        self.spill.as_ref().is_some_and(|s| !s.runs.is_empty())
    }

    /// This transaction's write of (table, key): Some(None) for a
    /// deletion, None when it has not written the key.
    pub fn get(&self, table: TableId, key: &[u8]) -> Result<Option<Option<Row>>> {
        if let Some(v) = self.mem.get(&(table, key.to_vec())) {
            return Ok(Some(v.clone()));
        }
        let Some(sp) = &self.spill else {
            return Ok(None);
        };
        for (pos, run) in sp.runs.iter().enumerate().rev() {
            if !self.counts(table, pos) {
                break;
            }
            if let Some(v) = sp.area.get(*run, table, key)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The writes to `table` whose keys start with `prefix`, in key order.
    pub fn range(&self, table: TableId, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Option<Row>)>> {
        let from_mem = || {
            self.mem
                .range((table, prefix.to_vec())..)
                .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
                .map(|((_, k), v)| (k.clone(), v.clone()))
        };
        let spilled = match &self.spill {
            Some(sp) if !sp.runs.is_empty() => sp,
            _ => return Ok(from_mem().collect()),
        };
        let mut merged: BTreeMap<Vec<u8>, Option<Row>> = BTreeMap::new();
        for (pos, run) in spilled.runs.iter().enumerate() {
            if self.counts(table, pos) {
                merged.extend(spilled.area.scan(*run, table, prefix)?);
            }
        }
        merged.extend(from_mem());
        Ok(merged.into_iter().collect())
    }

    /// The writes to `table` whose keys lie between `from` and `to`, in
    /// key order.
    pub fn range_between(
        &self,
        table: TableId,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
    ) -> Result<Vec<(Vec<u8>, Option<Row>)>> {
        if crate::storage::range_is_empty(from, to) {
            return Ok(Vec::new());
        }
        if self.is_spilled() {
            let mut all = self.range(table, &[])?;
            all.retain(|(k, _)| crate::storage::in_range(k, from, to));
            return Ok(all);
        }
        let start = match from {
            Bound::Included(f) => Bound::Included((table, f.to_vec())),
            Bound::Excluded(f) => Bound::Excluded((table, f.to_vec())),
            Bound::Unbounded => Bound::Included((table, Vec::new())),
        };
        Ok(self
            .mem
            .range((start, Bound::Unbounded))
            .take_while(|((t, k), _)| *t == table && !crate::storage::past_end(k, to))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Records a write (None deletes); spills when memory is past the limit.
    pub fn insert(&mut self, table: TableId, key: Vec<u8>, row: Option<Row>) -> Result<()> {
        // Replacing an entry counts it again: an overestimate, which only
        // makes the next spill come a little early.
        self.mem_bytes += entry_bytes(&key, &row);
        self.mem.insert((table, key), row);
        if self.mem_bytes > SPILL_BYTES && self.spiller.is_some() {
            self.spill_mem()?;
        }
        Ok(())
    }

    /// Drops every write to `table` (a dropped table or index).
    pub fn forget(&mut self, table: TableId) {
        self.mem.retain(|(t, _), _| *t != table);
        if let Some(sp) = self.spill.as_mut() {
            if !sp.runs.is_empty() {
                // Later writes go to a new run, which counts again.
                self.forgotten.insert(table, sp.runs.len());
                sp.frozen = sp.runs.len();
            }
        }
    }

    /// Moves the in-memory writes to the spill area's open run.
    fn spill_mem(&mut self) -> Result<()> {
        if self.mem.is_empty() {
            return Ok(());
        }
        if self.spill.is_none() {
            let Some(spiller) = &self.spiller else {
                return Ok(());
            };
            self.spill = Some(Spill {
                area: spiller.create()?,
                runs: Vec::new(),
                frozen: 0,
                next_run: 0,
            });
        }
        let Some(sp) = self.spill.as_mut() else {
            return Ok(());
        };
        if sp.runs.len() <= sp.frozen {
            sp.runs.push(sp.next_run);
            sp.next_run += 1;
        }
        let run = *sp.runs.last().unwrap_or(&0);
        sp.area.write_run(run, &mut self.mem.iter())?;
        self.mem.clear();
        self.mem_bytes = 0;
        Ok(())
    }

    /// The state to return to at ROLLBACK TO (a savepoint).
    pub fn mark(&mut self) -> Result<Mark> {
        if self.is_spilled() {
            // Keep the copy small: what is in memory goes to a run first.
            self.spill_mem()?;
        }
        let runs = match self.spill.as_mut() {
            Some(sp) => {
                sp.frozen = sp.runs.len();
                sp.runs.len()
            }
            None => 0,
        };
        Ok(Mark {
            mem: self.mem.clone(),
            mem_bytes: self.mem_bytes,
            runs,
            forgotten: self.forgotten.clone(),
        })
    }

    /// Returns to the state at `mark` (ROLLBACK TO a savepoint).
    pub fn restore(&mut self, mark: Mark) {
        self.mem = mark.mem;
        self.mem_bytes = mark.mem_bytes;
        self.forgotten = mark.forgotten;
        if let Some(sp) = self.spill.as_mut() {
            sp.runs.truncate(mark.runs);
            sp.frozen = mark.runs;
        }
    }

    /// Every write, in key order, newest version of each key (for COMMIT).
    pub fn into_writes(self) -> WriteStream {
        let WriteSet {
            mem,
            spill,
            forgotten,
            ..
        } = self;
        WriteStream {
            spill,
            mem,
            forgotten,
        }
    }
}

/// A write set's writes for COMMIT: in memory, or merged from the runs.
pub struct WriteStream {
    spill: Option<Spill>,
    mem: BTreeMap<Key, Option<Row>>,
    forgotten: BTreeMap<TableId, usize>,
}

impl WriteStream {
    /// True when every write is in memory ([`WriteStream::into_vec`]).
    pub fn in_memory(&self) -> bool {
        self.spill.as_ref().is_none_or(|s| s.runs.is_empty())
    }

    /// The writes, when all are in memory.
    pub fn into_vec(self) -> Vec<Write> {
        self.mem
            .into_iter()
            .map(|((table, key), row)| Write { table, key, row })
            .collect()
    }

    /// Calls `f` with an iterator over every write in key order: the
    /// newest entry of each key across the runs and memory.
    pub fn with_merged<R>(self, f: impl FnOnce(&mut dyn Iterator<Item = Result<Write>>) -> R) -> R {
        let forgotten = self.forgotten;
        let mut sources: Vec<Source<'_>> = Vec::new();
        // Highest priority first: memory, then runs newest to oldest.
        sources.push(Source::new(Box::new(self.mem.into_iter().map(Ok)), None));
        if let Some(sp) = &self.spill {
            for (pos, run) in sp.runs.iter().enumerate().rev() {
                sources.push(Source::new(sp.area.iter(*run), Some(pos)));
            }
        }
        let mut merged = Merge { sources, forgotten };
        f(&mut merged)
    }
}

type Items<'a> = Box<dyn Iterator<Item = Result<SpilledWrite>> + 'a>;

struct Source<'a> {
    items: Items<'a>,
    head: Option<SpilledWrite>,
    failed: Option<crate::error::SqlError>,
    /// The run's position (oldest first); None for memory.
    run: Option<usize>,
}

impl<'a> Source<'a> {
    fn new(items: Items<'a>, run: Option<usize>) -> Source<'a> {
        let mut s = Source {
            run,
            items,
            head: None,
            failed: None,
        };
        s.advance();
        s
    }

    fn advance(&mut self) {
        self.head = match self.items.next() {
            Some(Ok(w)) => Some(w),
            Some(Err(e)) => {
                self.failed = Some(e);
                None
            }
            None => None,
        };
    }
}

/// A k-way merge of sorted sources; on equal keys the earliest source wins.
struct Merge<'a> {
    sources: Vec<Source<'a>>,
    forgotten: BTreeMap<TableId, usize>,
}

impl Iterator for Merge<'_> {
    type Item = Result<Write>;

    fn next(&mut self) -> Option<Result<Write>> {
        loop {
            if let Some(e) = self.sources.iter_mut().find_map(|s| s.failed.take()) {
                return Some(Err(e));
            }
            let mut best: Option<usize> = None;
            for (i, s) in self.sources.iter().enumerate() {
                let Some((k, _)) = &s.head else { continue };
                match best {
                    Some(b) if self.sources[b].head.as_ref().is_some_and(|(bk, _)| bk <= k) => {}
                    _ => best = Some(i),
                }
            }
            let b = best?;
            let ((table, key), row) = self.sources[b].head.take()?;
            let run = self.sources[b].run;
            self.sources[b].advance();
            // Older entries of the same key lose to this one, or, when this
            // one no longer counts, they count even less (older runs).
            for s in self.sources.iter_mut().skip(b + 1) {
                if s.head
                    .as_ref()
                    .is_some_and(|(k, _)| k.0 == table && k.1 == key)
                {
                    s.advance();
                }
            }
            let forgotten = match (run, self.forgotten.get(&table)) {
                (Some(pos), Some(n)) => pos < *n,
                _ => false,
            };
            if forgotten {
                continue;
            }
            return Some(Ok(Write { table, key, row }));
        }
    }
}
