//! Transactions: snapshots, buffered writes, commit as one atomic batch,
//! savepoints. Isolation follows PostgreSQL: READ COMMITTED takes a new
//! snapshot per statement, REPEATABLE READ one per transaction.

pub mod locks;
pub mod writeset;

use parking_lot::{Mutex, RwLock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::catalog::{Catalog, TableId};
use crate::error::Result;
use crate::storage::horizon::{Horizon, Pin};
use crate::storage::{Commit, Store, StreamCommit, Ts, Write};
use locks::{LockManager, TxnId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
}

impl Isolation {
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read committed",
            Isolation::RepeatableRead => "repeatable read",
        }
    }
}

pub use writeset::WriteSet;

#[derive(Clone)]
pub struct Savepoint {
    pub name: String,
    pub writes: writeset::Mark,
    pub catalog: Option<Arc<Catalog>>,
    pub dropped: Vec<TableId>,
    /// The lock manager's mark for this transaction at the savepoint.
    pub locks: usize,
}

pub struct Txn {
    pub id: TxnId,
    pub isolation: Isolation,
    pub read_only: bool,
    /// The transaction snapshot (REPEATABLE READ: set by the first statement).
    pub snapshot: Option<Ts>,
    pub writes: WriteSet,
    /// The catalog as this transaction's DDL changed it.
    pub catalog: Option<Arc<Catalog>>,
    pub dropped: Vec<TableId>,
    pub savepoints: Vec<Savepoint>,
    pub started: SystemTime,
    /// Opened by BEGIN (not an implicit, single-message transaction).
    pub explicit: bool,
    /// An error happened in the block: everything but ROLLBACK fails.
    pub failed: bool,
    /// Table locks this transaction took through `Exec::lock_table`, so
    /// that taking one again skips the lock manager (cleared when ROLLBACK
    /// TO SAVEPOINT may have released some).
    pub table_locks: Vec<(TableId, locks::Mode)>,
    /// Holds the store's garbage collection below this transaction's
    /// snapshots until the transaction ends.
    _pin: Pin,
}

/// A transaction's changes waiting in the group-commit queue.
struct Job {
    writes: Vec<Write>,
    catalog: Option<Arc<Catalog>>,
    dropped: Vec<TableId>,
}

#[derive(Default)]
struct Group {
    queue: Vec<(u64, Job)>,
    leader: bool,
    next_ticket: u64,
    done: std::collections::HashMap<u64, Result<()>>,
}

/// A sequence's state: the last value handed out and the high-water mark
/// already recorded in the store (values up to it are never reused).
struct SeqState {
    last: i64,
    called: bool,
    recorded: i64,
}

/// Values a sequence records ahead, like PostgreSQL's SEQ_LOG_VALS.
const SEQ_LOG_VALS: i64 = 32;

/// The shared engine: store, published catalog, commit clock, locks.
pub struct Engine {
    pub store: Box<dyn Store>,
    catalog: RwLock<Arc<Catalog>>,
    clock: AtomicU64,
    group: Mutex<Group>,
    group_cv: parking_lot::Condvar,
    pub locks: LockManager,
    next_txn: AtomicU64,
    /// Hidden row ids of tables without a primary key.
    pub next_rowid: AtomicU64,
    seqs: Mutex<std::collections::HashMap<u32, SeqState>>,
    /// LISTEN/NOTIFY between this database's sessions.
    pub notify: crate::notify::Hub,
    /// Session-level advisory locks.
    pub advisory: crate::advisory::Advisory,
    /// Where transactions pin their snapshots (see [`Horizon`]).
    horizon: Arc<Horizon>,
}

impl Engine {
    pub fn new(store: Box<dyn Store>, catalog: Catalog, clock: Ts, next_rowid: u64) -> Engine {
        let horizon = store.horizon().unwrap_or_else(|| Horizon::new(clock));
        horizon.publish(clock);
        Engine {
            horizon,
            store,
            catalog: RwLock::new(Arc::new(catalog)),
            clock: AtomicU64::new(clock),
            group: Mutex::new(Group::default()),
            group_cv: parking_lot::Condvar::new(),
            locks: LockManager::default(),
            next_txn: AtomicU64::new(1),
            next_rowid: AtomicU64::new(next_rowid.max(1)),
            seqs: Mutex::new(std::collections::HashMap::new()),
            notify: Default::default(),
            advisory: Default::default(),
        }
    }

    /// The newest committed timestamp: a snapshot that sees every commit so far.
    pub fn now(&self) -> Ts {
        self.clock.load(Ordering::Acquire)
    }

    pub fn published_catalog(&self) -> Arc<Catalog> {
        self.catalog.read().clone()
    }

    pub fn begin(&self, isolation: Isolation, read_only: bool, explicit: bool) -> Txn {
        Txn {
            id: self.next_txn.fetch_add(1, Ordering::Relaxed),
            isolation,
            read_only,
            snapshot: None,
            writes: WriteSet::new(self.store.spiller()),
            catalog: None,
            dropped: Vec::new(),
            savepoints: Vec::new(),
            started: SystemTime::now(),
            explicit,
            failed: false,
            table_locks: Vec::new(),
            _pin: self.horizon.pin(|| self.now()),
        }
    }

    /// The catalog a statement of `txn` sees.
    pub fn catalog_for(&self, txn: &Txn) -> Arc<Catalog> {
        match &txn.catalog {
            Some(c) => c.clone(),
            None => self.published_catalog(),
        }
    }

    /// The catalog a session sees: its transaction's, or the published one.
    pub fn catalog_for_session(&self, txn: Option<&Txn>) -> Arc<Catalog> {
        match txn {
            Some(t) => self.catalog_for(t),
            None => self.published_catalog(),
        }
    }

    /// The snapshot for the next statement of `txn`.
    pub fn statement_snapshot(&self, txn: &mut Txn) -> Ts {
        // Each statement takes its snapshot first: statement_timestamp().
        crate::dtfuncs::statement_started();
        match txn.isolation {
            Isolation::ReadCommitted => self.now(),
            Isolation::RepeatableRead => *txn.snapshot.get_or_insert_with(|| self.now()),
        }
    }

    /// Makes `txn`'s writes and catalog changes durable and visible
    /// atomically, then releases its locks. Concurrent committers form a
    /// group: the first becomes the leader and writes every queued commit
    /// with one journal sync; the others wait for its result.
    pub fn commit(&self, txn: Txn) -> Result<()> {
        let id = txn.id;
        if txn.writes.is_empty() && txn.catalog.is_none() {
            self.locks.release_all(id);
            return Ok(());
        }
        let writes = txn.writes.into_writes();
        if !writes.in_memory() {
            let r = self.commit_stream(writes, txn.catalog, &txn.dropped);
            self.locks.release_all(id);
            return r;
        }
        let job = Job {
            writes: writes.into_vec(),
            catalog: txn.catalog,
            dropped: txn.dropped,
        };
        let mut st = self.group.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.queue.push((ticket, job));
        let result = loop {
            if let Some(r) = st.done.remove(&ticket) {
                break r;
            }
            if st.leader {
                self.group_cv.wait(&mut st);
                continue;
            }
            st.leader = true;
            let jobs = std::mem::take(&mut st.queue);
            drop(st);
            let r = self.write_group(&jobs);
            st = self.group.lock();
            for (t, _) in &jobs {
                st.done.insert(*t, r.clone());
            }
            st.leader = false;
            self.group_cv.notify_all();
        };
        drop(st);
        self.locks.release_all(id);
        result
    }

    /// Commits a transaction whose writes were spilled: as the group's
    /// leader, alone, streaming its writes to the store.
    fn commit_stream(
        &self,
        writes: writeset::WriteStream,
        catalog: Option<Arc<Catalog>>,
        dropped: &[TableId],
    ) -> Result<()> {
        let mut st = self.group.lock();
        while st.leader {
            self.group_cv.wait(&mut st);
        }
        st.leader = true;
        drop(st);
        let ts = self.now() + 1;
        let catalog = catalog.map(|c| c.stamped(ts, self.horizon.get()));
        let r = writes.with_merged(|stream| {
            self.store.commit_stream(StreamCommit {
                ts,
                writes: stream,
                catalog: catalog.as_deref(),
                dropped,
                next_rowid: self.next_rowid.load(Ordering::Relaxed),
            })
        });
        if r.is_ok() {
            if let Some(c) = catalog {
                *self.catalog.write() = c;
            }
            self.clock.store(ts, Ordering::Release);
            self.horizon.publish(ts);
        }
        let mut st = self.group.lock();
        st.leader = false;
        self.group_cv.notify_all();
        drop(st);
        r
    }

    /// Writes a group of commits (the leader's work) and publishes them.
    fn write_group(&self, jobs: &[(u64, Job)]) -> Result<()> {
        let base = self.now();
        let next_rowid = self.next_rowid.load(Ordering::Relaxed);
        let horizon = self.horizon.get();
        let catalogs: Vec<Option<Arc<Catalog>>> = jobs
            .iter()
            .enumerate()
            .map(|(i, (_, j))| {
                j.catalog
                    .as_ref()
                    .map(|c| c.stamped(base + 1 + i as u64, horizon))
            })
            .collect();
        let commits: Vec<Commit<'_>> = jobs
            .iter()
            .zip(&catalogs)
            .enumerate()
            .map(|(i, ((_, j), catalog))| Commit {
                ts: base + 1 + i as u64,
                writes: &j.writes,
                catalog: catalog.as_deref(),
                dropped: &j.dropped,
                next_rowid,
            })
            .collect();
        self.store.commit(&commits)?;
        for c in catalogs.into_iter().flatten() {
            *self.catalog.write() = c;
        }
        self.clock
            .store(base + jobs.len() as u64, Ordering::Release);
        self.horizon.publish(base + jobs.len() as u64);
        Ok(())
    }

    fn seq_state<'a>(
        &self,
        map: &'a mut std::collections::HashMap<u32, SeqState>,
        seq: &crate::catalog::Sequence,
    ) -> &'a mut SeqState {
        map.entry(seq.oid).or_insert_with(|| {
            match self
                .store
                .sequence_values()
                .into_iter()
                .find(|(o, _)| *o == seq.oid)
            {
                Some((_, v)) => SeqState {
                    last: v,
                    called: true,
                    recorded: v,
                },
                None => SeqState {
                    last: seq.start,
                    called: false,
                    recorded: seq.start,
                },
            }
        })
    }

    /// nextval(): not transactional; a value handed out is never reused.
    pub fn nextval(&self, seq: &crate::catalog::Sequence) -> Result<i64> {
        let mut map = self.seqs.lock();
        let st = self.seq_state(&mut map, seq);
        let next = if !st.called {
            st.last
        } else {
            match st.last.checked_add(seq.increment) {
                Some(n) if n >= seq.min && n <= seq.max => n,
                _ if seq.cycle => {
                    if seq.increment > 0 {
                        seq.min
                    } else {
                        seq.max
                    }
                }
                _ => {
                    let which = if seq.increment > 0 {
                        "maximum"
                    } else {
                        "minimum"
                    };
                    let bound = if seq.increment > 0 { seq.max } else { seq.min };
                    return Err(crate::error::SqlError::new(
                        "2200H",
                        format!(
                            "nextval: reached {which} value of sequence \"{}\" ({bound})",
                            seq.name
                        ),
                    ));
                }
            }
        };
        st.last = next;
        st.called = true;
        let beyond = if seq.increment > 0 {
            next >= st.recorded
        } else {
            next <= st.recorded
        };
        if beyond {
            let mark = next.saturating_add(seq.increment.saturating_mul(SEQ_LOG_VALS));
            self.store.put_sequence(seq.oid, mark)?;
            st.recorded = mark;
        }
        Ok(next)
    }

    /// A sequence's (last_value, log_cnt, is_called) as its relation shows
    /// them: log_cnt counts the values handed out before the next one is
    /// written ahead (PostgreSQL's count between checkpoints).
    pub fn sequence_peek(&self, seq: &crate::catalog::Sequence) -> (i64, i64, bool) {
        let mut map = self.seqs.lock();
        let st = self.seq_state(&mut map, seq);
        let ahead = if seq.increment == 0 {
            0
        } else {
            st.recorded.saturating_sub(st.last) / seq.increment
        };
        (st.last, ahead.max(0), st.called)
    }

    /// setval(): the next nextval() returns `value` (+ increment when `called`).
    pub fn setval(&self, seq: &crate::catalog::Sequence, value: i64, called: bool) -> Result<i64> {
        if value < seq.min || value > seq.max {
            return Err(crate::error::SqlError::new(
                "22003",
                format!(
                    "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                    seq.name, seq.min, seq.max
                ),
            ));
        }
        let mut map = self.seqs.lock();
        let st = self.seq_state(&mut map, seq);
        st.last = value;
        st.called = called;
        self.store.put_sequence(seq.oid, value)?;
        st.recorded = value;
        Ok(value)
    }

    pub fn rollback(&self, txn: Txn) {
        self.locks.release_all(txn.id);
    }
}
