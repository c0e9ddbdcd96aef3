//! The lock manager: table, row and catalog locks held until the end of
//! the transaction, with waiting and deadlock detection (a waits-for
//! cycle fails the waiter that closes it with 40P01).

use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalog::TableId;
use crate::error::{code, Result, SqlError};

pub type TxnId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockTag {
    /// Serializes DDL: held exclusively by a transaction that changes the catalog.
    Catalog,
    /// A table: DML holds it shared, DROP/TRUNCATE/ALTER exclusively.
    Table(TableId),
    /// A row (by its storage key): writers and FOR UPDATE hold it exclusively.
    Row(TableId, Vec<u8>),
    /// A row's key, as PostgreSQL's KEY SHARE lock guards it: a foreign
    /// key check holds it shared on the referenced row, so deleting that
    /// row (or changing its key) waits, while other updates of it do not.
    Key(TableId, Vec<u8>),
    /// A value of a unique index (index OID, encoded values): held by the
    /// transaction inserting or removing that value until it ends, so a
    /// second inserter of the same value waits for its outcome.
    Value(TableId, Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

#[derive(Default)]
struct Entry {
    shared: HashSet<TxnId>,
    exclusive: Option<TxnId>,
    /// Sessions waiting for this lock sleep here (always with the
    /// manager's state mutex), so that releasing a lock wakes only its
    /// own waiters, not every waiting session.
    waiters: Option<Arc<Condvar>>,
    waiting: usize,
}

impl Entry {
    fn blockers(&self, txn: TxnId, mode: Mode) -> Vec<TxnId> {
        let mut b: Vec<TxnId> = self
            .exclusive
            .iter()
            .copied()
            .filter(|t| *t != txn)
            .collect();
        if mode == Mode::Exclusive {
            b.extend(self.shared.iter().copied().filter(|t| *t != txn));
        }
        b
    }

    fn is_empty(&self) -> bool {
        self.shared.is_empty() && self.exclusive.is_none() && self.waiting == 0
    }

    /// Wakes the sessions waiting for this lock.
    fn wake(&self) {
        if self.waiting > 0 {
            if let Some(cv) = &self.waiters {
                cv.notify_all();
            }
        }
    }
}

#[derive(Default)]
struct State {
    locks: HashMap<LockTag, Entry>,
    held: HashMap<TxnId, Vec<LockTag>>,
    waits_for: HashMap<TxnId, Vec<TxnId>>,
}

impl State {
    /// True when `from` reaches `target` through waits-for edges.
    fn reaches(&self, from: TxnId, target: TxnId) -> bool {
        let mut stack = vec![from];
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if t == target {
                return true;
            }
            if seen.insert(t) {
                if let Some(next) = self.waits_for.get(&t) {
                    stack.extend(next.iter().copied());
                }
            }
        }
        false
    }
}

/// What to do when a lock is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    Block,
    NoWait,
    SkipLocked,
}

#[derive(Default)]
pub struct LockManager {
    state: Mutex<State>,
}

impl LockManager {
    /// Takes `tag` in `mode` for `txn`. Ok(false) only with
    /// `Wait::SkipLocked` when the lock is held by another transaction.
    pub fn acquire(
        &self,
        txn: TxnId,
        tag: LockTag,
        mode: Mode,
        wait: Wait,
        cancel: Option<&AtomicBool>,
    ) -> Result<bool> {
        self.acquire_until(txn, tag, mode, wait, cancel, None)
    }

    /// [`LockManager::acquire`], failing with 55P03 (PostgreSQL's
    /// `lock_timeout`) when the lock is still not granted at `deadline`.
    pub fn acquire_until(
        &self,
        txn: TxnId,
        tag: LockTag,
        mode: Mode,
        wait: Wait,
        cancel: Option<&AtomicBool>,
        deadline: Option<Instant>,
    ) -> Result<bool> {
        let mut st = self.state.lock();
        loop {
            let blockers = st
                .locks
                .get(&tag)
                .map(|e| e.blockers(txn, mode))
                .unwrap_or_default();
            if blockers.is_empty() {
                let entry = st.locks.entry(tag.clone()).or_default();
                let already = entry.exclusive == Some(txn)
                    || (mode == Mode::Shared && entry.shared.contains(&txn));
                if !already {
                    match mode {
                        Mode::Exclusive => {
                            entry.exclusive = Some(txn);
                            entry.shared.remove(&txn);
                        }
                        Mode::Shared => {
                            entry.shared.insert(txn);
                        }
                    }
                    st.held.entry(txn).or_default().push(tag);
                }
                st.waits_for.remove(&txn);
                return Ok(true);
            }
            match wait {
                Wait::NoWait => {
                    st.waits_for.remove(&txn);
                    return Err(SqlError::new(
                        code::LOCK_NOT_AVAILABLE,
                        match &tag {
                            LockTag::Row(..) => {
                                "could not obtain lock on row in relation".to_string()
                            }
                            _ => "could not obtain lock on relation".to_string(),
                        },
                    ));
                }
                Wait::SkipLocked => {
                    st.waits_for.remove(&txn);
                    return Ok(false);
                }
                Wait::Block => {}
            }
            if blockers.iter().any(|b| st.reaches(*b, txn)) {
                st.waits_for.remove(&txn);
                return Err(SqlError::new(code::DEADLOCK_DETECTED, "deadlock detected")
                    .with_detail(
                        "Process waits for a lock held by another process that waits for this one.",
                    )
                    .with_hint("See server log for query details."));
            }
            st.waits_for.insert(txn, blockers);
            // Wake periodically so a cancel or a lost wakeup never hangs.
            let mut nap = Duration::from_millis(50);
            if let Some(d) = deadline {
                nap = nap.min(d.saturating_duration_since(Instant::now()));
            }
            let cv = {
                let e = st.locks.entry(tag.clone()).or_default();
                e.waiting += 1;
                e.waiters.get_or_insert_with(Default::default).clone()
            };
            cv.wait_for(&mut st, nap);
            if let Some(e) = st.locks.get_mut(&tag) {
                e.waiting -= 1;
                if e.is_empty() {
                    st.locks.remove(&tag);
                }
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                st.waits_for.remove(&txn);
                return Err(SqlError::new(
                    code::QUERY_CANCELED,
                    "canceling statement due to user request",
                ));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                st.waits_for.remove(&txn);
                return Err(SqlError::new(
                    code::LOCK_NOT_AVAILABLE,
                    "canceling statement due to lock timeout",
                ));
            }
        }
    }

    /// How many lock acquisitions `txn` has made (a savepoint's mark).
    pub fn held_count(&self, txn: TxnId) -> usize {
        self.state.lock().held.get(&txn).map_or(0, Vec::len)
    }

    /// ROLLBACK TO SAVEPOINT: releases the locks `txn` took after `mark`
    /// (those it already held before stay).
    pub fn release_after(&self, txn: TxnId, mark: usize) {
        let mut st = self.state.lock();
        let Some(mut tags) = st.held.remove(&txn) else {
            return;
        };
        let later = tags.split_off(mark.min(tags.len()));
        for tag in later {
            if tags.contains(&tag) {
                continue;
            }
            release(&mut st, txn, &tag);
        }
        st.held.insert(txn, tags);
    }

    /// Releases every lock `txn` holds and wakes the waiters.
    pub fn release_all(&self, txn: TxnId) {
        let mut st = self.state.lock();
        if let Some(tags) = st.held.remove(&txn) {
            for tag in tags {
                release(&mut st, txn, &tag);
            }
        }
        st.waits_for.remove(&txn);
    }
}

/// Gives up `txn`'s hold on `tag` and wakes the lock's waiters.
fn release(st: &mut State, txn: TxnId, tag: &LockTag) {
    if let Some(e) = st.locks.get_mut(tag) {
        if e.exclusive == Some(txn) {
            e.exclusive = None;
        }
        e.shared.remove(&txn);
        e.wake();
        if e.is_empty() {
            st.locks.remove(tag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_waits_and_deadlock_is_detected() {
        let lm = Arc::new(LockManager::default());
        let a = LockTag::Row(1, vec![1]);
        let b = LockTag::Row(1, vec![2]);
        assert!(lm
            .acquire(1, a.clone(), Mode::Exclusive, Wait::Block, None)
            .unwrap());
        assert!(lm
            .acquire(2, b.clone(), Mode::Exclusive, Wait::Block, None)
            .unwrap());
        assert!(!lm
            .acquire(2, a.clone(), Mode::Exclusive, Wait::SkipLocked, None)
            .unwrap());
        let lm2 = lm.clone();
        let a2 = a.clone();
        let t = std::thread::spawn(move || lm2.acquire(2, a2, Mode::Exclusive, Wait::Block, None));
        std::thread::sleep(Duration::from_millis(50));
        let err = lm
            .acquire(1, b, Mode::Exclusive, Wait::Block, None)
            .unwrap_err();
        assert_eq!(err.code, "40P01");
        lm.release_all(1);
        assert!(t.join().unwrap().unwrap());
    }
}
