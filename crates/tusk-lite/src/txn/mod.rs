//! Transactions: snapshots, buffered writes, commit as one atomic batch,
//! savepoints. Isolation follows PostgreSQL: READ COMMITTED takes a new
//! snapshot per statement, REPEATABLE READ one per transaction.

pub mod locks;

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::catalog::{Catalog, TableId};
use crate::error::Result;
use crate::storage::{Commit, Row, Store, Ts, Write};
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

/// Writes buffered until COMMIT, keyed by (table, row key); None deletes.
pub type WriteSet = BTreeMap<(TableId, Vec<u8>), Option<Row>>;

#[derive(Clone)]
pub struct Savepoint {
    pub name: String,
    pub writes: WriteSet,
    pub catalog: Option<Arc<Catalog>>,
    pub dropped: Vec<TableId>,
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
}

/// The shared engine: store, published catalog, commit clock, locks.
pub struct Engine {
    pub store: Box<dyn Store>,
    catalog: RwLock<Arc<Catalog>>,
    clock: AtomicU64,
    commit_lock: Mutex<()>,
    pub locks: LockManager,
    next_txn: AtomicU64,
    /// Hidden row ids of tables without a primary key.
    pub next_rowid: AtomicU64,
}

impl Engine {
    pub fn new(store: Box<dyn Store>, catalog: Catalog, clock: Ts, next_rowid: u64) -> Engine {
        Engine {
            store,
            catalog: RwLock::new(Arc::new(catalog)),
            clock: AtomicU64::new(clock),
            commit_lock: Mutex::new(()),
            locks: LockManager::default(),
            next_txn: AtomicU64::new(1),
            next_rowid: AtomicU64::new(next_rowid.max(1)),
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
            writes: BTreeMap::new(),
            catalog: None,
            dropped: Vec::new(),
            savepoints: Vec::new(),
            started: SystemTime::now(),
            explicit,
            failed: false,
        }
    }

    /// The catalog a statement of `txn` sees.
    pub fn catalog_for(&self, txn: &Txn) -> Arc<Catalog> {
        match &txn.catalog {
            Some(c) => c.clone(),
            None => self.published_catalog(),
        }
    }

    /// The snapshot for the next statement of `txn`.
    pub fn statement_snapshot(&self, txn: &mut Txn) -> Ts {
        match txn.isolation {
            Isolation::ReadCommitted => self.now(),
            Isolation::RepeatableRead => *txn.snapshot.get_or_insert_with(|| self.now()),
        }
    }

    /// Makes `txn`'s writes and catalog changes durable and visible
    /// atomically, then releases its locks.
    pub fn commit(&self, txn: Txn) -> Result<()> {
        let result = if txn.writes.is_empty() && txn.catalog.is_none() {
            Ok(())
        } else {
            let guard = self.commit_lock.lock();
            let ts = self.now() + 1;
            let writes: Vec<Write> = txn
                .writes
                .into_iter()
                .map(|((table, key), row)| Write { table, key, row })
                .collect();
            let r = self.store.commit(&Commit {
                ts,
                writes: &writes,
                catalog: txn.catalog.as_deref(),
                dropped: &txn.dropped,
                next_rowid: self.next_rowid.load(Ordering::Relaxed),
            });
            if r.is_ok() {
                if let Some(c) = txn.catalog {
                    *self.catalog.write() = c;
                }
                self.clock.store(ts, Ordering::Release);
            }
            drop(guard);
            r
        };
        self.locks.release_all(txn.id);
        result
    }

    pub fn rollback(&self, txn: Txn) {
        self.locks.release_all(txn.id);
    }
}
