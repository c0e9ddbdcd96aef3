//! A transaction's (or a held pool connection's) life: where it runs,
//! how it begins and ends; shared by the asyncio and sync classes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::core::{self, Target};
use crate::errors::{interface, to_py};

static SAVEPOINTS: AtomicU64 = AtomicU64::new(0);

/// A transaction's progress.
pub(super) enum TxState {
    New,
    Open(Target),
    Done,
}

/// What a transaction needs: where it runs, how it begins and ends.
pub(super) struct TxCore {
    /// Where it runs; let go when the block ends, so that a savepoint's
    /// handle kept after its block does not hold the pool connection.
    parent: Mutex<Option<Target>>,
    /// `Some(name)`: a savepoint in the parent's transaction.
    savepoint: Option<String>,
    begin: String,
    /// For `pool.acquire_as()`: the role and session settings.
    pub(super) role: Option<(String, Vec<(String, String)>)>,
    state: Mutex<TxState>,
}

impl TxCore {
    /// A connection held from a pool with no transaction (`pool.acquire()`).
    pub(super) fn plain(parent: Target) -> TxCore {
        TxCore {
            parent: Mutex::new(Some(parent)),
            savepoint: None,
            begin: String::new(),
            role: None,
            state: Mutex::new(TxState::New),
        }
    }

    pub(super) fn new(
        parent: Target,
        nested: bool,
        isolation: Option<&str>,
        read_only: bool,
        deferrable: bool,
    ) -> PyResult<TxCore> {
        let (savepoint, begin) = if nested {
            let name = format!("tusk_sp_{}", SAVEPOINTS.fetch_add(1, Ordering::Relaxed));
            let sql = format!("SAVEPOINT {name}");
            (Some(name), sql)
        } else {
            (
                None,
                core::begin_sql(isolation, read_only, deferrable).map_err(to_py)?,
            )
        };
        Ok(TxCore {
            parent: Mutex::new(Some(parent)),
            savepoint,
            begin,
            role: None,
            state: Mutex::new(TxState::New),
        })
    }

    pub(super) fn target(&self) -> PyResult<Target> {
        match &*self.state.lock() {
            TxState::Open(t) => Ok(t.clone()),
            TxState::New => Err(interface("not begun: use it with `async with` (or `with`)")),
            TxState::Done => Err(interface("the block is over: the connection went back")),
        }
    }

    pub(super) async fn enter(self: Arc<Self>) -> Result<(), tusk::Error> {
        let Some(parent) = self.parent.lock().clone() else {
            return Err(tusk::Error::new(
                tusk::ErrorKind::Configuration,
                "the block is over: a transaction or held connection is entered once",
            ));
        };
        let t = if self.savepoint.is_some() {
            parent
        } else if let Some((role, settings)) = &self.role {
            core::dedicated_as(&parent, role, settings).await?
        } else {
            core::dedicated(&parent).await?
        };
        if !self.begin.is_empty() {
            core::simple(&t, &self.begin).await?;
        }
        *self.state.lock() = TxState::Open(t);
        Ok(())
    }

    pub(super) async fn exit(self: Arc<Self>, ok: bool) -> Result<(), tusk::Error> {
        drop(self.parent.lock().take());
        let t = match std::mem::replace(&mut *self.state.lock(), TxState::Done) {
            TxState::Open(t) => t,
            _ => return Ok(()),
        };
        if self.begin.is_empty() {
            // A plain held connection: give it back (the pool resets it).
            drop(t);
            return Ok(());
        }
        let sql = match (&self.savepoint, ok) {
            (None, true) => "COMMIT".to_string(),
            (None, false) => "ROLLBACK".to_string(),
            (Some(s), true) => format!("RELEASE SAVEPOINT {s}"),
            (Some(s), false) => format!("ROLLBACK TO SAVEPOINT {s}; RELEASE SAVEPOINT {s}"),
        };
        let r = core::simple(&t, &sql).await;
        // Dropping `t` gives a pool connection back (rolled back by the
        // pool if the statement above could not run).
        drop(t);
        if ok {
            r
        } else {
            Ok(())
        }
    }
}
