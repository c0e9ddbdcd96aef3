//! COPY on every handle: the argument handling the asyncio and sync
//! methods share, and `CopyOut`/`SyncCopyOut`, the iterators of a
//! `copy_out` without an output file.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::mpsc::Receiver;

use crate::awaitable;
use crate::copy::{self, CopyOptions, OutMsg};
use crate::core::Target;
use crate::errors::to_py;

/// `copy_in`/`copy_out`'s keyword options, as the methods take them.
#[allow(clippy::too_many_arguments)]
pub(super) fn options(
    format: Option<String>,
    columns: Option<Vec<String>>,
    schema_name: Option<String>,
    delimiter: Option<String>,
    null: Option<String>,
    header: Option<bool>,
    quote: Option<String>,
    escape: Option<String>,
    encoding: Option<String>,
    freeze: Option<bool>,
    force_quote: Option<Vec<String>>,
    force_not_null: Option<Vec<String>>,
    force_null: Option<Vec<String>>,
    where_: Option<String>,
) -> CopyOptions {
    CopyOptions {
        format,
        columns,
        schema_name,
        delimiter,
        null,
        header,
        quote,
        escape,
        encoding,
        freeze,
        force_quote,
        force_not_null,
        force_null,
        where_,
    }
}

/// The state behind a `copy_out` iterator: the task's channel, and the
/// rows copied once it ended.
pub(super) struct OutCore {
    rx: tokio::sync::Mutex<Option<Receiver<Result<OutMsg, tusk::Error>>>>,
    rows: Mutex<Option<u64>>,
}

impl OutCore {
    pub(super) fn start(t: Target, sql: String) -> Arc<OutCore> {
        Arc::new(OutCore {
            rx: tokio::sync::Mutex::new(Some(copy::copy_out_task(t, sql))),
            rows: Mutex::new(None),
        })
    }

    /// The next chunk; None at the end.
    async fn next(&self) -> Result<Option<bytes::Bytes>, tusk::Error> {
        let mut rx = self.rx.lock().await;
        let Some(r) = rx.as_mut() else {
            return Ok(None);
        };
        let msg = r.recv().await;
        match msg {
            Some(Ok(OutMsg::Data(b))) => Ok(Some(b)),
            Some(Ok(OutMsg::End(n))) => {
                *self.rows.lock() = Some(n);
                *rx = None;
                Ok(None)
            }
            Some(Err(e)) => {
                *rx = None;
                Err(e)
            }
            None => {
                *rx = None;
                Ok(None)
            }
        }
    }

    async fn close(&self) {
        *self.rx.lock().await = None;
    }
}

/// The data of a `copy_out` as it arrives (`async for chunk in ...`):
/// `bytes` chunks of up to 64 KiB; nothing more is buffered than a few.
#[pyclass(module = "tusk", frozen)]
pub struct CopyOut(pub(super) Arc<OutCore>);

#[pymethods]
impl CopyOut {
    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        awaitable::spawn(py, async move {
            match core.next().await.map_err(to_py)? {
                Some(b) => Python::attach(|py| Ok(PyBytes::new(py, &b).unbind())),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    /// Rows copied, once the data has ended (None before).
    #[getter]
    fn rows(&self) -> Option<u64> {
        *self.0.rows.lock()
    }

    /// Stops early: the rest is discarded and the connection let go.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        awaitable::spawn(py, async move {
            core.close().await;
            Ok(())
        })
    }
}

/// The data of a `copy_out` for blocking code (`for chunk in ...`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncCopyOut(pub(super) Arc<OutCore>);

#[pymethods]
impl SyncCopyOut {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let core = self.0.clone();
        match super::block(py, async move { core.next().await }).map_err(to_py)? {
            Some(b) => Ok(PyBytes::new(py, &b)),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// Rows copied, once the data has ended (None before).
    #[getter]
    fn rows(&self) -> Option<u64> {
        *self.0.rows.lock()
    }

    /// Stops early: the rest is discarded and the connection let go.
    fn close(&self, py: Python<'_>) {
        let core = self.0.clone();
        super::block(py, async move { core.close().await });
    }
}
