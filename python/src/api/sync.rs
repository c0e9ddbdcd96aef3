//! The classes for blocking code: `SyncConnection`, `SyncPool`,
//! `SyncTransaction`, `SyncPoolConnection`, `SyncQuery` and `SyncRowStream`,
//! on the same core calls as the asyncio ones.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::stream::StreamCore;
use super::tx::TxCore;
use super::{block, param_sets, secs, stats, stmt};
use crate::core::{self, Stmt, Target};
use crate::errors::{interface, to_py};
use crate::out::{all_records, Out, Shape};

/// Methods every sync handle has.
macro_rules! sync_handle {
    ($cls:ident { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn query(&self, sql: &str, args: &Bound<'_, PyTuple>, timeout: Option<f64>) -> PyResult<SyncQuery> {
                Ok(SyncQuery { target: self.target()?, stmt: stmt(sql, args, timeout)? })
            }

            #[pyo3(signature = (sql, *args, timeout=None))]
            fn execute(&self, py: Python<'_>, sql: &str, args: &Bound<'_, PyTuple>, timeout: Option<f64>) -> PyResult<u64> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                block(py, async move { core::execute(&t, &s).await }).map_err(to_py)
            }

            fn executemany(&self, py: Python<'_>, sql: String, args: &Bound<'_, PyAny>) -> PyResult<u64> {
                let (t, sets) = (self.target()?, param_sets(args)?);
                let atomic = !matches!(t, Target::Pooled(_)) && self.atomic_batches();
                block(py, async move { core::execute_many(&t, &sql, &sets, atomic).await }).map_err(to_py)
            }

            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetch<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                self.query(sql, args, timeout)?.all(py)
            }

            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchrow<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                self.query(sql, args, timeout)?.first(py)
            }

            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchval<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let q = self.query(sql, args, timeout)?;
                let rows = block(py, async move { core::query(&q.target, &q.stmt).await }).map_err(to_py)?;
                if rows.is_empty() { Ok(py.None().into_bound(py)) } else { Out::Scalar(rows).into_pyobject(py) }
            }

            #[pyo3(signature = (isolation=None, read_only=false, deferrable=false))]
            fn transaction(&self, isolation: Option<&str>, read_only: bool, deferrable: bool) -> PyResult<SyncTransaction> {
                let (parent, nested) = self.tx_parent()?;
                Ok(SyncTransaction(Arc::new(TxCore::new(parent, nested, isolation, read_only, deferrable)?)))
            }

            #[pyo3(signature = (table_or_sql, source, *, format=None, columns=None, schema_name=None, delimiter=None, null=None, header=None, quote=None, escape=None, encoding=None, freeze=None, force_not_null=None, force_null=None, r#where=None))]
            #[allow(clippy::too_many_arguments)]
            fn copy_in(&self, py: Python<'_>, table_or_sql: &str, source: &Bound<'_, PyAny>, format: Option<String>, columns: Option<Vec<String>>, schema_name: Option<String>, delimiter: Option<String>, null: Option<String>, header: Option<bool>, quote: Option<String>, escape: Option<String>, encoding: Option<String>, freeze: Option<bool>, force_not_null: Option<Vec<String>>, force_null: Option<Vec<String>>, r#where: Option<String>) -> PyResult<u64> {
                let o = super::copy::options(format, columns, schema_name, delimiter, null, header, quote, escape, encoding, freeze, None, force_not_null, force_null, r#where);
                let sql = crate::copy::copy_in_sql(table_or_sql, &o)?;
                let (t, src) = (self.target()?, crate::copy::Source::of(source, false)?);
                block(py, crate::copy::copy_in(t, sql, src, false))
            }

            #[pyo3(signature = (table, records, columns=None, schema_name=None))]
            fn copy_records_to_table(&self, py: Python<'_>, table: String, records: &Bound<'_, PyAny>, columns: Option<Vec<String>>, schema_name: Option<String>) -> PyResult<u64> {
                let (t, recs) = (self.target()?, crate::copy::Records::of(records, false)?);
                block(py, crate::copy::copy_records(t, table, columns, schema_name, recs, false))
            }

            #[pyo3(signature = (sql_or_table, output=None, *, format=None, columns=None, schema_name=None, delimiter=None, null=None, header=None, quote=None, escape=None, encoding=None, force_quote=None))]
            #[allow(clippy::too_many_arguments)]
            fn copy_out<'py>(&self, py: Python<'py>, sql_or_table: &str, output: Option<Py<PyAny>>, format: Option<String>, columns: Option<Vec<String>>, schema_name: Option<String>, delimiter: Option<String>, null: Option<String>, header: Option<bool>, quote: Option<String>, escape: Option<String>, encoding: Option<String>, force_quote: Option<Vec<String>>) -> PyResult<Bound<'py, PyAny>> {
                let o = super::copy::options(format, columns, schema_name, delimiter, null, header, quote, escape, encoding, None, force_quote, None, None, None);
                let sql = crate::copy::copy_out_sql(sql_or_table, &o)?;
                let t = self.target()?;
                match output {
                    Some(f) => Ok(block(py, crate::copy::copy_out_into(t, sql, crate::copy::Output(f), false))?.into_pyobject(py)?.into_any()),
                    None => Ok(Bound::new(py, super::copy::SyncCopyOut(super::copy::OutCore::start(t, sql)))?.into_any()),
                }
            }

            $($extra)*
        }
    };
}

// ---- sync ----

/// A connection for blocking code (`tusk.connect_sync(url)`).
#[pyclass(module = "tusk", frozen)]
pub struct SyncConnection(pub Arc<tusk::Connection>);

impl SyncConnection {
    fn target(&self) -> PyResult<Target> {
        Ok(Target::Conn(self.0.clone()))
    }
    fn tx_parent(&self) -> PyResult<(Target, bool)> {
        Ok(super::conn_tx_parent(&self.0))
    }
    fn atomic_batches(&self) -> bool {
        super::conn_idle(&self.0)
    }
}

sync_handle!(SyncConnection {
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

impl SyncPool {
    fn target(&self) -> PyResult<Target> {
        Ok(Target::Pool(self.0.clone()))
    }
    fn tx_parent(&self) -> PyResult<(Target, bool)> {
        Ok((self.target()?, false))
    }
    fn atomic_batches(&self) -> bool {
        true
    }
}

sync_handle!(SyncPool {
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

impl SyncPoolConnection {
    fn target(&self) -> PyResult<Target> {
        self.0.target()
    }
    fn tx_parent(&self) -> PyResult<(Target, bool)> {
        Ok((self.target()?, false))
    }
    fn atomic_batches(&self) -> bool {
        true
    }
}

sync_handle!(SyncPoolConnection {
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

impl SyncTransaction {
    fn target(&self) -> PyResult<Target> {
        self.0.target()
    }
    fn tx_parent(&self) -> PyResult<(Target, bool)> {
        Ok((self.target()?, true))
    }
    fn atomic_batches(&self) -> bool {
        false
    }
}

sync_handle!(SyncTransaction {
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

impl SyncQuery {
    fn run(&self, py: Python<'_>) -> PyResult<Vec<tusk::Row>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        block(py, async move { core::query(&t, &s).await }).map_err(to_py)
    }
}

#[pymethods]
impl SyncQuery {
    fn all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        Ok(block(py, async move { all_records(&t, &s).await })?
            .into_bound(py)
            .into_any())
    }
    fn one<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Out::One(self.run(py)?).into_pyobject(py)
    }
    fn first<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Out::First(self.run(py)?).into_pyobject(py)
    }
    fn scalar<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Out::Scalar(self.run(py)?).into_pyobject(py)
    }
    fn into<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let shape = Shape::of(shape)?;
        Out::Shaped(self.run(py)?, shape).into_pyobject(py)
    }
    fn model<'py>(
        &self,
        py: Python<'py>,
        model: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let shape = Shape::model(model)?;
        Out::Shaped(self.run(py)?, shape).into_pyobject(py)
    }
    #[pyo3(signature = (batch=1000))]
    fn stream(&self, batch: usize) -> PyResult<SyncRowStream> {
        if batch == 0 {
            return Err(interface("batch must be at least 1"));
        }
        Ok(SyncRowStream(Arc::new(StreamCore {
            target: self.target.clone(),
            stmt: self.stmt.clone(),
            batch,
            source: tokio::sync::Mutex::new(None),
            done: Mutex::new(false),
            buf: Mutex::new(VecDeque::new()),
        })))
    }
}

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
