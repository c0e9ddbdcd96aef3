//! The asyncio classes: `Connection`, `Pool`, `Transaction`,
//! `PoolConnection`, `Query` and `RowStream`.

use std::sync::Arc;

use crate::awaitable;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::copy::CopyOut;
use super::stream::StreamCore;
use super::tx::TxCore;
use super::{secs, stats};
use crate::core::{self, Stmt, Target};
use crate::errors::to_py;
use crate::out::{all_records, Out, Shape};

// ---- asyncio ----

/// A connection of one's own (`await tusk.connect(url)`).
#[pyclass(module = "tusk", frozen)]
pub struct Connection(pub Arc<tusk::Connection>);

handle_kind!(Connection, conn);

handle_methods!(Connection, run = awaitable::spawn, aio = true, query = Query, tx = Transaction, copy_out = CopyOut {
    /// Closes the connection.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.0.clone();
        awaitable::spawn(py, async move {
            // The last handle closes it; a Terminate for this one.
            drop(c);
            Ok(())
        })
    }

    /// The server's process id for this connection.
    #[getter]
    fn process_id(&self) -> i32 {
        self.0.process_id()
    }

    /// True once the connection is closed or lost.
    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
});

/// A pool (`await tusk.create_pool(url, ...)`).
#[pyclass(module = "tusk", frozen)]
pub struct Pool(pub tusk_pool::Pool);

handle_kind!(Pool, pool);

handle_methods!(Pool, run = awaitable::spawn, aio = true, query = Query, tx = Transaction, copy_out = CopyOut {
    /// Closes the pool: refuses new work, waits up to `grace` seconds for
    /// busy connections, then closes them all.
    #[pyo3(signature = (grace=5.0))]
    fn close<'py>(&self, py: Python<'py>, grace: f64) -> PyResult<Bound<'py, PyAny>> {
        let p = self.0.clone();
        let g = secs(Some(grace))?.unwrap_or_default();
        awaitable::spawn(py, async move { Ok(p.close(g).await) })
    }

    /// Gauges and counters (a dict).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats(py, &self.0)
    }

    /// A connection of one's own from the pool (`async with pool.acquire() as conn`),
    /// given back (and reset) when the block ends.
    fn acquire(&self) -> PoolConnection {
        PoolConnection(Arc::new(TxCore::plain(Target::Pool(self.0.clone()))))
    }

    /// `acquire()` as `role` with session `settings` (for row-level
    /// security profiles); both are reset before anyone else gets the connection.
    #[pyo3(signature = (role, settings=None))]
    fn acquire_as(&self, role: String, settings: Option<std::collections::HashMap<String, String>>) -> PoolConnection {
        let mut core = TxCore::plain(Target::Pool(self.0.clone()));
        let mut pairs: Vec<(String, String)> = settings.unwrap_or_default().into_iter().collect();
        pairs.sort();
        core.role = Some((role, pairs));
        PoolConnection(Arc::new(core))
    }

    /// The pool's metrics in Prometheus text format.
    fn metrics_prometheus(&self) -> String {
        self.0.metrics_prometheus()
    }
});

/// A transaction (`async with conn.transaction() as tx`).
#[pyclass(module = "tusk", frozen)]
pub struct Transaction(Arc<TxCore>);

handle_kind!(Transaction, tx);

handle_methods!(Transaction, run = awaitable::spawn, aio = true, query = Query, tx = Transaction, copy_out = CopyOut {
    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let core = slf.get().0.clone();
        let me = slf.clone().unbind();
        awaitable::spawn(slf.py(), async move {
            core.enter().await.map_err(to_py)?;
            Ok(me)
        })
    }

    fn __aexit__<'py>(&self, py: Python<'py>, exc_type: &Bound<'py, PyAny>, _exc: &Bound<'py, PyAny>, _tb: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        let ok = exc_type.is_none();
        awaitable::spawn(py, async move {
            core.exit(ok).await.map_err(to_py)?;
            Ok(false)
        })
    }
});

/// A connection held from a pool (`async with pool.acquire() as conn`).
#[pyclass(module = "tusk", frozen)]
pub struct PoolConnection(Arc<TxCore>);

handle_kind!(PoolConnection, held);

handle_methods!(PoolConnection, run = awaitable::spawn, aio = true, query = Query, tx = Transaction, copy_out = CopyOut {
    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let core = slf.get().0.clone();
        let me = slf.clone().unbind();
        awaitable::spawn(slf.py(), async move {
            core.enter().await.map_err(to_py)?;
            Ok(me)
        })
    }

    fn __aexit__<'py>(&self, py: Python<'py>, _exc_type: &Bound<'py, PyAny>, _exc: &Bound<'py, PyAny>, _tb: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        awaitable::spawn(py, async move {
            core.exit(true).await.map_err(to_py)?;
            Ok(false)
        })
    }
});

/// A query, run when one of its methods is awaited.
#[pyclass(module = "tusk", frozen)]
pub struct Query {
    target: Target,
    stmt: Stmt,
}

query_methods!(Query, run = awaitable::spawn, stream = RowStream);

/// Rows of a query as they arrive: nothing is buffered beyond one batch.
#[pyclass(module = "tusk", frozen)]
pub struct RowStream(Arc<StreamCore>);

#[pymethods]
impl RowStream {
    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(r) = self.0.buf.lock().pop_front() {
            return Ok(Bound::new(py, awaitable::Ready::new(r))?.into_any());
        }
        let core = self.0.clone();
        awaitable::spawn(py, async move {
            let rows = core.fetch().await.map_err(to_py)?;
            Python::attach(|py| match core.take(py, &rows)? {
                Some(r) => Ok(r),
                None => Err(PyStopAsyncIteration::new_err(())),
            })
        })
    }

    /// Stops early and releases the connection.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        awaitable::spawn(py, async move {
            *core.source.lock().await = None;
            *core.done.lock() = true;
            Ok(())
        })
    }
}
