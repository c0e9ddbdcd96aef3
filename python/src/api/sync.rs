//! The classes for blocking code: `SyncConnection`, `SyncPool`,
//! `SyncTransaction`, `SyncPoolConnection`, `SyncQuery` and `SyncRowStream`,
//! on the same core calls as the asyncio ones.

use std::sync::Arc;

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::copy::SyncCopyOut;
use super::stream::StreamCore;
use super::tx::TxCore;
use super::{block, secs, stats};
use crate::core::{self, Stmt, Target};
use crate::errors::to_py;
use crate::out::{all_records, Out, Shape};

// ---- sync ----

/// A connection for blocking code (`tusk.connect_sync(url)`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncConnection(pub Arc<tusk::Connection>);

handle_kind!(SyncConnection, conn);

handle_methods!(SyncConnection, run = super::run_blocking, aio = false, query = SyncQuery, tx = SyncTransaction, copy_out = SyncCopyOut {
    fn close(&self) {}

    #[getter]
    fn process_id(&self) -> i32 {
        self.0.process_id()
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
});

/// A pool for blocking code (`tusk.create_pool_sync(url, ...)`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncPool(pub tusk_pool::Pool);

handle_kind!(SyncPool, pool);

handle_methods!(SyncPool, run = super::run_blocking, aio = false, query = SyncQuery, tx = SyncTransaction, copy_out = SyncCopyOut {
    #[pyo3(signature = (grace=5.0))]
    fn close(&self, py: Python<'_>, grace: f64) -> PyResult<usize> {
        let p = self.0.clone();
        let g = secs(Some(grace))?.unwrap_or_default();
        Ok(block(py, async move { p.close(g).await }))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats(py, &self.0)
    }

    fn metrics_prometheus(&self) -> String {
        self.0.metrics_prometheus()
    }

    fn acquire(&self) -> SyncPoolConnection {
        SyncPoolConnection(Arc::new(TxCore::plain(Target::Pool(self.0.clone()))))
    }
});

/// A connection held from a pool, for blocking code (`with pool.acquire() as conn`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncPoolConnection(Arc<TxCore>);

handle_kind!(SyncPoolConnection, held);

handle_methods!(SyncPoolConnection, run = super::run_blocking, aio = false, query = SyncQuery, tx = SyncTransaction, copy_out = SyncCopyOut {
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let core = slf.get().0.clone();
        block(slf.py(), core.enter()).map_err(to_py)?;
        Ok(slf)
    }

    fn __exit__(&self, py: Python<'_>, _exc_type: &Bound<'_, PyAny>, _exc: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) -> PyResult<bool> {
        let core = self.0.clone();
        block(py, core.exit(true)).map_err(to_py)?;
        Ok(false)
    }
});

/// A transaction for blocking code (`with conn.transaction() as tx`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncTransaction(Arc<TxCore>);

handle_kind!(SyncTransaction, tx);

handle_methods!(SyncTransaction, run = super::run_blocking, aio = false, query = SyncQuery, tx = SyncTransaction, copy_out = SyncCopyOut {
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let core = slf.get().0.clone();
        block(slf.py(), core.enter()).map_err(to_py)?;
        Ok(slf)
    }

    fn __exit__(&self, py: Python<'_>, exc_type: &Bound<'_, PyAny>, _exc: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) -> PyResult<bool> {
        let core = self.0.clone();
        let ok = exc_type.is_none();
        block(py, core.exit(ok)).map_err(to_py)?;
        Ok(false)
    }
});

/// A query for blocking code: its methods run it.
#[pyclass(module = "tusk", frozen)]
pub struct SyncQuery {
    target: Target,
    stmt: Stmt,
}

query_methods!(SyncQuery, run = super::run_blocking, stream = SyncRowStream);

/// Rows as they arrive, for blocking code (`for r in q.stream()`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncRowStream(Arc<StreamCore>);

#[pymethods]
impl SyncRowStream {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(r) = self.0.buf.lock().pop_front() {
            return Ok(r);
        }
        let core = self.0.clone();
        let rows = block(py, async move { core.fetch().await }).map_err(to_py)?;
        match self.0.take(py, &rows)? {
            Some(r) => Ok(r),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    fn close(&self, py: Python<'_>) {
        let core = self.0.clone();
        block(py, async move {
            *core.source.lock().await = None;
            *core.done.lock() = true;
        })
    }
}
