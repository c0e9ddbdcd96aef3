//! A query's rows as they arrive, for `RowStream` and `SyncRowStream`:
//! nothing is buffered beyond one batch.

use std::collections::VecDeque;

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::core::{self, Stmt, Streaming, Target};
use crate::out::record_list;

/// A stream's state: its source (opened on the first fetch), whether it ended, and the records of the last batch not yet handed out.
pub(super) struct StreamCore {
    pub(super) target: Target,
    pub(super) stmt: Stmt,
    pub(super) batch: usize,
    pub(super) source: tokio::sync::Mutex<Option<Streaming>>,
    pub(super) done: Mutex<bool>,
    pub(super) buf: Mutex<VecDeque<Py<PyAny>>>,
}

impl StreamCore {
    /// A stream of `stmt`'s rows on `target`, `batch` at a time.
    pub(super) fn new(target: Target, stmt: Stmt, batch: usize) -> PyResult<StreamCore> {
        if batch == 0 {
            return Err(crate::errors::interface("batch must be at least 1"));
        }
        Ok(StreamCore {
            target,
            stmt,
            batch,
            source: tokio::sync::Mutex::new(None),
            done: Mutex::new(false),
            buf: Mutex::new(VecDeque::new()),
        })
    }

    /// The next batch of rows; empty at the end (the connection is then released).
    pub(super) async fn fetch(&self) -> Result<Vec<tusk::Row>, tusk::Error> {
        let mut src = self.source.lock().await;
        if *self.done.lock() {
            return Ok(Vec::new());
        }
        if src.is_none() {
            *src = Some(core::stream(&self.target, &self.stmt).await?);
        }
        let rows = match src.as_mut() {
            Some(s) => core::next_rows(s, self.batch).await,
            None => Ok(Vec::new()),
        };
        if !matches!(&rows, Ok(r) if !r.is_empty()) {
            *src = None;
            *self.done.lock() = true;
        }
        rows
    }

    /// Puts a batch's records in the buffer and takes the first.
    pub(super) fn take(&self, py: Python<'_>, rows: &[tusk::Row]) -> PyResult<Option<Py<PyAny>>> {
        let list = record_list(py, rows)?;
        let mut buf = self.buf.lock();
        buf.extend(list.iter().map(|r| r.unbind()));
        Ok(buf.pop_front())
    }
}
