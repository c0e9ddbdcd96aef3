//! The Python classes: `Connection`, `Pool`, `Transaction`, `Query`,
//! `RowStream` (asyncio) and their `Sync*` twins, on the same core calls.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::core::Stmt;
use crate::errors::interface;
use crate::params;

/// Whether a connection is outside a transaction block (so batches may be
/// atomic, and a transaction opened on it is not nested): the asyncio and
/// sync connection handles both ask.
fn conn_idle(c: &tusk::Connection) -> bool {
    matches!(c.transaction_status(), tusk::TransactionStatus::Idle)
}

/// A connection handle's parent for a transaction: the connection, and
/// whether the transaction is nested (a savepoint).
fn conn_tx_parent(c: &Arc<tusk::Connection>) -> (crate::core::Target, bool) {
    (crate::core::Target::Conn(c.clone()), !conn_idle(c))
}

#[macro_use]
mod shared;
mod aio;
mod copy;
mod stream;
mod sync;
mod tx;

pub use aio::{Connection, Pool, PoolConnection, Query, RowStream, Transaction};
pub use copy::{CopyOut, SyncCopyOut};
pub use sync::{
    SyncConnection, SyncPool, SyncPoolConnection, SyncQuery, SyncRowStream, SyncTransaction,
};

/// The module's tokio runtime (pyo3-async-runtimes' own, so asyncio
/// awaitables and sync calls share one), or, in a process forked after
/// it was made, one of the child's own (see [`forked_runtime`]).
pub fn rt() -> &'static tokio::runtime::Runtime {
    static AT_FORK: std::sync::Once = std::sync::Once::new();
    AT_FORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic
        // (async-signal-safe, as a child handler must be).
        #[allow(unsafe_code)]
        unsafe {
            libc::pthread_atfork(None, None, Some(mark_forked));
        }
    });
    if FORKED.load(std::sync::atomic::Ordering::Relaxed) {
        return forked_runtime();
    }
    let own = CHILD_RT.load(std::sync::atomic::Ordering::Acquire);
    if own.is_null() {
        pyo3_async_runtimes::tokio::get_runtime()
    } else {
        // SAFETY: a leaked runtime, never freed.
        #[allow(unsafe_code)]
        unsafe {
            &*own
        }
    }
}

/// Set in a forked child (by the `pthread_atfork` child handler).
static FORKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The runtime of a forked child (leaked), once it made one.
static CHILD_RT: std::sync::atomic::AtomicPtr<tokio::runtime::Runtime> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

extern "C" fn mark_forked() {
    FORKED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// A new runtime for a forked child: the inherited one has no threads in
/// the child (its tasks and timers never run), and its reactor's `epoll`
/// instance is shared with the parent, so a socket the child registered
/// there woke the parent's reactor with a token of the child's (which
/// aborted the parent) and the child's wake-ups could be taken by the
/// parent. The inherited runtime is leaked (dropping it would deregister
/// the parent's sockets from that shared `epoll`); connections and pools
/// made before the fork stay unusable in the child.
fn forked_runtime() -> &'static tokio::runtime::Runtime {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if FORKED.swap(false, std::sync::atomic::Ordering::SeqCst) {
        let fresh = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for a forked child");
        CHILD_RT.store(
            Box::into_raw(Box::new(fresh)),
            std::sync::atomic::Ordering::Release,
        );
    }
    let own = CHILD_RT.load(std::sync::atomic::Ordering::Acquire);
    // SAFETY: set just above or by an earlier call; leaked, never freed.
    #[allow(unsafe_code)]
    unsafe {
        &*own
    }
}

/// Runs a call to completion with the GIL released and converts its
/// value (the sync classes' `$run`, as `awaitable::spawn` is the asyncio
/// ones').
pub(super) fn run_blocking<'py, F, T>(py: Python<'py>, f: F) -> PyResult<Bound<'py, PyAny>>
where
    F: std::future::Future<Output = PyResult<T>> + Send,
    T: for<'a> IntoPyObject<'a> + Send,
{
    use pyo3::IntoPyObjectExt;
    block(py, f)?.into_bound_py_any(py)
}

/// Runs a future to completion with the GIL released.
pub(super) fn block<F>(py: Python<'_>, f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    py.detach(|| rt().block_on(f))
}

pub(super) fn secs(t: Option<f64>) -> PyResult<Option<Duration>> {
    t.map(|s| Duration::try_from_secs_f64(s).map_err(|_| interface(format!("bad timeout {s}"))))
        .transpose()
}

pub(super) fn stmt(sql: &str, args: &Bound<'_, PyTuple>, timeout: Option<f64>) -> PyResult<Stmt> {
    Ok(Stmt {
        sql: Arc::from(sql),
        params: params::from_args(args)?.into(),
        timeout: secs(timeout)?,
    })
}

pub(super) fn param_sets(sets: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<params::Param>>> {
    let mut out = Vec::new();
    for s in sets.try_iter()? {
        let s = s?;
        let mut one = Vec::new();
        for v in s.try_iter()? {
            one.push(params::from_py(&v?)?);
        }
        out.push(one);
    }
    Ok(out)
}

pub(super) fn stats<'py>(py: Python<'py>, p: &tusk_pool::Pool) -> PyResult<Bound<'py, PyDict>> {
    let s = p.stats();
    let d = PyDict::new(py);
    d.set_item("name", &s.name)?;
    d.set_item("size", s.size)?;
    d.set_item("idle", s.idle)?;
    d.set_item("in_use", s.in_use)?;
    d.set_item("waiting", s.waiting)?;
    d.set_item("min_idle", s.min_idle)?;
    d.set_item("max_size", s.max_size)?;
    d.set_item("created_total", s.created_total)?;
    d.set_item("acquire_total", s.acquire_total)?;
    d.set_item("acquire_timeouts_total", s.acquire_timeouts_total)?;
    d.set_item("leaked_total", s.leaked_total)?;
    d.set_item("connect_errors_total", s.connect_errors_total)?;
    Ok(d)
}
