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
/// awaitables and sync calls share one).
pub fn rt() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
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
