//! The per-transaction work queue: which TVIEW keys are pending, and whether
//! the transaction holds the marker row that makes PostgreSQL call the flush
//! at COMMIT or PREPARE TRANSACTION.
//!
//! Nothing here outlives a transaction: the extension clears it at commit,
//! abort and prepare, and [`Marker`] follows savepoints so a rolled-back
//! marker is placed again.

use std::collections::{BTreeMap, HashSet};

/// A key: the text form of each key column, in key order.
pub type Key = Vec<String>;

/// A captured row of a join-mapped table: its captured columns as text.
pub type JoinRow = Vec<Option<String>>;

/// Pending work for one TVIEW.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Keys to recompute.
    pub keys: HashSet<Key>,
    /// Captured rows of join-mapped sources, by source index; mapped to
    /// keys at flush time.
    pub joins: BTreeMap<i32, HashSet<JoinRow>>,
    /// Recompute everything (TRUNCATE, an unmapped table, or too many keys).
    pub full: bool,
}

impl Pending {
    fn size(&self) -> usize {
        self.keys.len() + self.joins.values().map(HashSet::len).sum::<usize>()
    }

    fn go_full(&mut self) {
        self.full = true;
        self.keys = HashSet::new();
        self.joins.clear();
    }
}

/// The queue of one transaction, per TVIEW (by `pg_class.oid`).
#[derive(Debug, Default)]
pub struct Queue {
    tviews: BTreeMap<u32, Pending>,
}

impl Queue {
    /// Adds keys; past `max_size` pending entries the TVIEW falls back to a
    /// full refresh (bounded memory).
    pub fn add_keys(&mut self, tview: u32, keys: impl IntoIterator<Item = Key>, max_size: usize) {
        let p = self.tviews.entry(tview).or_default();
        if p.full {
            return;
        }
        for k in keys {
            p.keys.insert(k);
            if p.size() > max_size {
                p.go_full();
                return;
            }
        }
    }

    /// Adds captured rows of a join-mapped source.
    pub fn add_join_rows(
        &mut self,
        tview: u32,
        source: i32,
        rows: impl IntoIterator<Item = JoinRow>,
        max_size: usize,
    ) {
        let p = self.tviews.entry(tview).or_default();
        if p.full {
            return;
        }
        for r in rows {
            p.joins.entry(source).or_default().insert(r);
            if p.size() > max_size {
                p.go_full();
                return;
            }
        }
    }

    /// Marks a TVIEW for a full refresh.
    pub fn mark_full(&mut self, tview: u32) {
        self.tviews.entry(tview).or_default().go_full();
    }

    /// Whether nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tviews.is_empty()
    }

    /// TVIEWs with pending work.
    pub fn tviews(&self) -> impl Iterator<Item = u32> + '_ {
        self.tviews.keys().copied()
    }

    /// Removes and returns the pending work of the TVIEW that comes first in
    /// refresh order (lowest `rank`, then lowest oid).
    pub fn take_next(&mut self, rank: impl Fn(u32) -> i64) -> Option<(u32, Pending)> {
        let next = self.tviews.keys().copied().min_by_key(|t| (rank(*t), *t))?;
        self.tviews.remove(&next).map(|p| (next, p))
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.tviews.clear();
    }
}

/// Where the flush marker stands in the current transaction.
///
/// The marker is one row inserted into `tviews._pending`, whose deferred
/// constraint trigger runs the flush at COMMIT or PREPARE TRANSACTION. A
/// marker placed in a subtransaction that rolls back is gone, and so is the
/// work queued since (it was all queued inside that subtransaction).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    owner: Option<u32>,
}

impl Marker {
    /// Whether a marker must be placed before work is queued.
    #[must_use]
    pub fn needed(&self) -> bool {
        self.owner.is_none()
    }

    /// A marker was placed in subtransaction `subxact`.
    pub fn placed(&mut self, subxact: u32) {
        self.owner = Some(subxact);
    }

    /// Subtransaction `subxact` committed into `parent`.
    pub fn subxact_commit(&mut self, subxact: u32, parent: u32) {
        if self.owner == Some(subxact) {
            self.owner = Some(parent);
        }
    }

    /// Subtransaction `subxact` rolled back; returns whether the marker (and
    /// so all queued work) went with it.
    pub fn subxact_abort(&mut self, subxact: u32) -> bool {
        if self.owner == Some(subxact) {
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
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        vec![s.to_owned()]
    }

    #[test]
    fn deduplicates_keys() {
        let mut q = Queue::default();
        for _ in 0..100 {
            q.add_keys(7, [k("1")], 10);
        }
        let (t, p) = q.take_next(|_| 0).unwrap();
        assert_eq!((t, p.keys.len(), p.full), (7, 1, false));
        assert!(q.is_empty());
    }

    #[test]
    fn overflows_to_full_refresh() {
        let mut q = Queue::default();
        q.add_keys(1, (0..5).map(|i| k(&i.to_string())), 3);
        q.add_keys(1, [k("x")], 3);
        q.add_join_rows(1, 0, [vec![None]], 3);
        let (_, p) = q.take_next(|_| 0).unwrap();
        assert!(p.full && p.keys.is_empty() && p.joins.is_empty());
    }

    #[test]
    fn takes_in_rank_order() {
        let mut q = Queue::default();
        q.add_keys(10, [k("a")], 9);
        q.add_keys(20, [k("a")], 9);
        q.mark_full(30);
        let rank = |t: u32| if t == 10 { 2 } else { 1 };
        let order: Vec<u32> = std::iter::from_fn(|| q.take_next(rank).map(|(t, _)| t)).collect();
        assert_eq!(order, [20, 30, 10]);
    }

    #[test]
    fn marker_follows_savepoints() {
        let mut m = Marker::default();
        assert!(m.needed());
        m.placed(3);
        m.subxact_commit(3, 2);
        assert!(!m.subxact_abort(3));
        assert!(m.subxact_abort(2));
        assert!(m.needed());
        m.placed(1);
        assert!(!m.subxact_abort(5));
        m.reset();
        assert!(m.needed());
    }
}
