//! The per-transaction work queue: which TVIEW keys are pending, in which
//! subtransaction each was queued, what flushes inside open subtransactions
//! applied, and whether the transaction holds the marker row that makes
//! PostgreSQL call the flush at COMMIT or PREPARE TRANSACTION.
//!
//! Nothing here outlives a transaction: the extension clears it at commit,
//! abort and prepare. Savepoints are followed exactly:
//!
//! - work queued in a subtransaction that rolls back is dropped (its base
//!   changes are gone);
//! - work *applied* by a flush that ran inside a subtransaction which later
//!   rolls back (`SET CONSTRAINTS ... IMMEDIATE` in a savepoint) comes back
//!   to the queue, unless it was also queued there: the refresh was rolled
//!   back but the base change it followed was not. PostgreSQL fires the
//!   marker's deferred trigger again in that case.

use std::collections::{BTreeMap, HashMap};

/// A key: the text form of each key column, in key order.
pub type Key = Vec<String>;

/// A captured row of a join-mapped table: its captured columns as text.
pub type JoinRow = Vec<Option<String>>;

/// A subtransaction id (PostgreSQL's `SubTransactionId`; 1 is the top level).
pub type Sub = u32;

/// Pending work for one TVIEW; each item remembers the outermost open
/// subtransaction it was queued in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Keys to recompute.
    pub keys: HashMap<Key, Sub>,
    /// Captured rows of join-mapped sources, by source index; mapped to
    /// keys at flush time.
    pub joins: BTreeMap<i32, HashMap<JoinRow, Sub>>,
    /// Join-value lock group values carried by changed rows, by lock group:
    /// locked at flush so that a concurrent join source probing them waits
    /// (see `sql::locks`).
    pub values: BTreeMap<i32, HashMap<JoinRow, Sub>>,
    /// Recompute everything (TRUNCATE, an unmapped table, or too many keys).
    pub full: Option<Sub>,
}

impl Pending {
    /// A full refresh queued in `sub`.
    #[must_use]
    pub fn full(sub: Sub) -> Self {
        Pending {
            full: Some(sub),
            ..Pending::default()
        }
    }

    /// These keys, queued in `sub`.
    #[must_use]
    pub fn keys(keys: impl IntoIterator<Item = Key>, sub: Sub) -> Self {
        Pending {
            keys: keys.into_iter().map(|k| (k, sub)).collect(),
            ..Pending::default()
        }
    }

    fn size(&self) -> usize {
        self.keys.len()
            + self.joins.values().map(HashMap::len).sum::<usize>()
            + self.values.values().map(HashMap::len).sum::<usize>()
    }

    fn is_empty(&self) -> bool {
        self.full.is_none() && self.size() == 0
    }

    /// The outermost subtransaction any item was queued in.
    fn outermost(&self) -> Option<Sub> {
        let keys = self.keys.values().copied();
        let joins = self.joins.values().flat_map(|m| m.values().copied());
        let values = self.values.values().flat_map(|m| m.values().copied());
        keys.chain(joins).chain(values).chain(self.full).min()
    }

    fn go_full(&mut self, sub: Sub) {
        let outer = self.outermost().map_or(sub, |o| o.min(sub));
        self.full = Some(outer);
        self.keys = HashMap::new();
        self.joins.clear();
        self.values.clear();
    }

    /// Merges `other` in, keeping the outermost tag of each item.
    fn merge(&mut self, other: Pending, max_size: usize) {
        if let Some(f) = other.full {
            self.go_full(f);
        }
        if self.full.is_some() {
            let outer = other.outermost().into_iter().chain(self.full).min();
            self.full = outer;
            return;
        }
        for (k, s) in other.keys {
            let e = self.keys.entry(k).or_insert(s);
            *e = (*e).min(s);
        }
        for (idx, rows) in other.joins {
            merge_rows(self.joins.entry(idx).or_default(), rows);
        }
        for (g, rows) in other.values {
            merge_rows(self.values.entry(g).or_default(), rows);
        }
        if self.size() > max_size {
            let outer = self.outermost().unwrap_or(1);
            self.go_full(outer);
        }
    }

    /// Renames tag `from` to `to` (a subtransaction committed into its parent).
    fn retag(&mut self, from: Sub, to: Sub) {
        let fix = |s: &mut Sub| {
            if *s == from {
                *s = to;
            }
        };
        self.keys.values_mut().for_each(fix);
        self.joins
            .values_mut()
            .chain(self.values.values_mut())
            .flat_map(|m| m.values_mut())
            .for_each(fix);
        if let Some(s) = self.full.as_mut() {
            fix(s);
        }
    }

    /// Removes the items tagged `sub`, returning them.
    fn split_off(&mut self, sub: Sub) -> Pending {
        let mut out = Pending::default();
        self.keys.retain(|k, s| {
            if *s == sub {
                out.keys.insert(k.clone(), *s);
                false
            } else {
                true
            }
        });
        split_rows(&mut self.joins, &mut out.joins, sub);
        split_rows(&mut self.values, &mut out.values, sub);
        if self.full == Some(sub) {
            out.full = self.full.take();
        }
        out
    }
}

fn merge_rows(into: &mut HashMap<JoinRow, Sub>, rows: HashMap<JoinRow, Sub>) {
    for (r, s) in rows {
        let e = into.entry(r).or_insert(s);
        *e = (*e).min(s);
    }
}

/// Moves the rows tagged `sub` from `from` to `to`.
fn split_rows(
    from: &mut BTreeMap<i32, HashMap<JoinRow, Sub>>,
    to: &mut BTreeMap<i32, HashMap<JoinRow, Sub>>,
    sub: Sub,
) {
    for (idx, rows) in from.iter_mut() {
        rows.retain(|r, s| {
            if *s == sub {
                to.entry(*idx).or_default().insert(r.clone(), *s);
                false
            } else {
                true
            }
        });
    }
    from.retain(|_, rows| !rows.is_empty());
}

/// The queue of one transaction, per TVIEW (by `pg_class.oid`), plus the
/// log of work applied by flushes inside still-open subtransactions.
#[derive(Debug, Default)]
pub struct Queue {
    tviews: BTreeMap<u32, Pending>,
    /// `(subtransaction the flush ran in, TVIEW, work applied)`.
    applied: Vec<(Sub, u32, Pending)>,
}

impl Queue {
    /// Adds keys queued in `sub`; past `max_size` pending entries the TVIEW
    /// falls back to a full refresh (bounded memory).
    pub fn add_keys(
        &mut self,
        tview: u32,
        keys: impl IntoIterator<Item = Key>,
        sub: Sub,
        max_size: usize,
    ) {
        let p = self.tviews.entry(tview).or_default();
        if p.full.is_some() {
            p.full = p.full.map(|f| f.min(sub));
            return;
        }
        for k in keys {
            let e = p.keys.entry(k).or_insert(sub);
            *e = (*e).min(sub);
            if p.size() > max_size {
                p.go_full(sub);
                return;
            }
        }
    }

    /// Adds captured rows of a join-mapped source, queued in `sub`.
    pub fn add_join_rows(
        &mut self,
        tview: u32,
        source: i32,
        rows: impl IntoIterator<Item = JoinRow>,
        sub: Sub,
        max_size: usize,
    ) {
        self.add_rows(tview, source, rows, sub, max_size, false);
    }

    /// Adds lock-group values carried by changed rows, queued in `sub`.
    pub fn add_values(
        &mut self,
        tview: u32,
        group: i32,
        rows: impl IntoIterator<Item = JoinRow>,
        sub: Sub,
        max_size: usize,
    ) {
        self.add_rows(tview, group, rows, sub, max_size, true);
    }

    fn add_rows(
        &mut self,
        tview: u32,
        at: i32,
        rows: impl IntoIterator<Item = JoinRow>,
        sub: Sub,
        max_size: usize,
        values: bool,
    ) {
        let p = self.tviews.entry(tview).or_default();
        if p.full.is_some() {
            p.full = p.full.map(|f| f.min(sub));
            return;
        }
        for r in rows {
            let map = if values { &mut p.values } else { &mut p.joins };
            let e = map.entry(at).or_default().entry(r).or_insert(sub);
            *e = (*e).min(sub);
            if p.size() > max_size {
                p.go_full(sub);
                return;
            }
        }
    }

    /// Marks a TVIEW for a full refresh, queued in `sub`.
    pub fn mark_full(&mut self, tview: u32, sub: Sub) {
        self.tviews.entry(tview).or_default().go_full(sub);
    }

    /// Puts work back (a refresh failed, or was rolled back).
    pub fn requeue(&mut self, tview: u32, work: Pending, max_size: usize) {
        if work.is_empty() {
            return;
        }
        self.tviews.entry(tview).or_default().merge(work, max_size);
    }

    /// Whether nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tviews.values().all(Pending::is_empty)
    }

    /// TVIEWs with pending work.
    pub fn tviews(&self) -> impl Iterator<Item = u32> + '_ {
        self.tviews
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(t, _)| *t)
    }

    /// Removes and returns the pending work of the TVIEW that comes first in
    /// refresh order (lowest `rank`, then lowest oid).
    pub fn take_next(&mut self, rank: impl Fn(u32) -> i64) -> Option<(u32, Pending)> {
        let next = self.tviews().min_by_key(|t| (rank(*t), *t))?;
        self.tviews.remove(&next).map(|p| (next, p))
    }

    /// Records work applied by a flush running in subtransaction `sub`
    /// (only needed below the top level: a top-level flush is undone only
    /// with the whole transaction).
    pub fn applied(&mut self, sub: Sub, tview: u32, work: Pending) {
        if sub > 1 && !work.is_empty() {
            self.applied.push((sub, tview, work));
        }
    }

    /// Subtransaction `sub` committed into `parent`.
    pub fn subxact_commit(&mut self, sub: Sub, parent: Sub) {
        for p in self.tviews.values_mut() {
            p.retag(sub, parent);
        }
        for (s, _, w) in &mut self.applied {
            if *s == sub {
                *s = parent;
            }
            w.retag(sub, parent);
        }
    }

    /// Subtransaction `sub` rolled back: its queued work is dropped, and
    /// work its flushes applied comes back unless it was queued in it too.
    pub fn subxact_abort(&mut self, sub: Sub, max_size: usize) {
        for p in self.tviews.values_mut() {
            p.split_off(sub);
        }
        let (undone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.applied)
            .into_iter()
            .partition(|(s, _, _)| *s == sub);
        self.applied = kept;
        for (_, tview, mut work) in undone {
            work.split_off(sub);
            self.requeue(tview, work, max_size);
        }
        for (_, _, w) in &mut self.applied {
            w.split_off(sub);
        }
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.tviews.clear();
        self.applied.clear();
    }
}

/// Where the flush marker stands in the current transaction.
///
/// The marker is one row inserted into `tviews._pending`, whose deferred
/// constraint trigger runs the flush at COMMIT or PREPARE TRANSACTION. A
/// marker placed in a subtransaction that rolls back is gone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    owner: Option<Sub>,
}

impl Marker {
    /// Whether a marker must be placed before work is queued.
    #[must_use]
    pub fn needed(&self) -> bool {
        self.owner.is_none()
    }

    /// A marker was placed in subtransaction `sub`.
    pub fn placed(&mut self, sub: Sub) {
        self.owner = Some(sub);
    }

    /// Subtransaction `sub` committed into `parent`.
    pub fn subxact_commit(&mut self, sub: Sub, parent: Sub) {
        if self.owner == Some(sub) {
            self.owner = Some(parent);
        }
    }

    /// Subtransaction `sub` rolled back; returns whether the marker went
    /// with it.
    pub fn subxact_abort(&mut self, sub: Sub) -> bool {
        if self.owner == Some(sub) {
            self.owner = None;
            true
        } else {
            false
        }
    }

    /// The flush ran (the marker row is deleted) or the transaction ended.
    pub fn reset(&mut self) {
        self.owner = None;
    }
}

#[cfg(test)]
mod tests;
