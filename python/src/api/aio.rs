//! The asyncio classes: `Connection`, `Pool`, `Transaction`,
//! `PoolConnection`, `Query` and `RowStream`.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::awaitable;
use parking_lot::Mutex;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::stream::StreamCore;
use super::tx::TxCore;
use super::{param_sets, secs, stats, stmt};
use crate::core::{self, Stmt, Target};
use crate::errors::{interface, to_py};
use crate::out::{all_records, Out, Shape};

/// Methods every asyncio handle has; `$cls` has `fn target(&self) -> PyResult<Target>`.
macro_rules! async_handle {
    ($cls:ident { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            /// A query, run when one of its methods is awaited.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn query(&self, sql: &str, args: &Bound<'_, PyTuple>, timeout: Option<f64>) -> PyResult<Query> {
                Ok(Query { target: self.target()?, stmt: stmt(sql, args, timeout)? })
            }

            /// Runs a statement; returns the rows it affected.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn execute<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                awaitable::spawn(py, async move { Ok(Out::Count(core::execute(&t, &s).await.map_err(to_py)?)) })
            }

            /// Runs one statement once per parameter set, all in one flight;
            /// outside a transaction, all or nothing.
            fn executemany<'py>(&self, py: Python<'py>, sql: String, args: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                let (t, sets) = (self.target()?, param_sets(args)?);
                let atomic = !matches!(t, Target::Pooled(_)) && self.atomic_batches();
                awaitable::spawn(py, async move { Ok(Out::Count(core::execute_many(&t, &sql, &sets, atomic).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetch`: every row.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetch<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                awaitable::spawn(py, async move { all_records(&t, &s).await })
            }

            /// asyncpg's `fetchrow`: the first row or None.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchrow<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                awaitable::spawn(py, async move { Ok(Out::First(core::query(&t, &s).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetchval`: the first column of the first row, or None.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchval<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                awaitable::spawn(py, async move {
                    let rows = core::query(&t, &s).await.map_err(to_py)?;
                    Ok(if rows.is_empty() { Out::Nothing } else { Out::Scalar(rows) })
                })
            }

            /// A transaction (`async with`): commits on success, rolls back on
            /// an exception or cancellation; inside another, a savepoint.
            #[pyo3(signature = (isolation=None, read_only=false, deferrable=false))]
            fn transaction(&self, isolation: Option<&str>, read_only: bool, deferrable: bool) -> PyResult<Transaction> {
                let (parent, nested) = self.tx_parent()?;
                Ok(Transaction(Arc::new(TxCore::new(parent, nested, isolation, read_only, deferrable)?)))
            }

            /// `COPY ... FROM STDIN` from `source` (bytes, str, a file object,
            /// or an iterable or async iterable of bytes/str), with
            /// backpressure; `table_or_sql` is a table name (quoted here) or a
            /// whole COPY statement. Returns the rows copied.
            #[pyo3(signature = (table_or_sql, source, *, format=None, columns=None, schema_name=None, delimiter=None, null=None, header=None, quote=None, escape=None, encoding=None, freeze=None, force_not_null=None, force_null=None, r#where=None))]
            #[allow(clippy::too_many_arguments)]
            fn copy_in<'py>(&self, py: Python<'py>, table_or_sql: &str, source: &Bound<'py, PyAny>, format: Option<String>, columns: Option<Vec<String>>, schema_name: Option<String>, delimiter: Option<String>, null: Option<String>, header: Option<bool>, quote: Option<String>, escape: Option<String>, encoding: Option<String>, freeze: Option<bool>, force_not_null: Option<Vec<String>>, force_null: Option<Vec<String>>, r#where: Option<String>) -> PyResult<Bound<'py, PyAny>> {
                let o = super::copy::options(format, columns, schema_name, delimiter, null, header, quote, escape, encoding, freeze, None, force_not_null, force_null, r#where);
                let sql = crate::copy::copy_in_sql(table_or_sql, &o)?;
                let (t, src) = (self.target()?, crate::copy::Source::of(source, true)?);
                awaitable::spawn(py, crate::copy::copy_in(t, sql, src, true))
            }

            /// Rows of Python values into `table` through binary COPY, each
            /// value encoded in Rust for its column's type (looked up once).
            /// Returns the rows copied.
            #[pyo3(signature = (table, records, columns=None, schema_name=None))]
            fn copy_records_to_table<'py>(&self, py: Python<'py>, table: String, records: &Bound<'py, PyAny>, columns: Option<Vec<String>>, schema_name: Option<String>) -> PyResult<Bound<'py, PyAny>> {
                let (t, recs) = (self.target()?, crate::copy::Records::of(records, true)?);
                awaitable::spawn(py, crate::copy::copy_records(t, table, columns, schema_name, recs, true))
            }

            /// `COPY ... TO STDOUT` of a query, a table (quoted here) or a whole
            /// COPY statement: with `output` (a file object), written into it
            /// and the rows returned; without, an async iterator of `bytes`.
            #[pyo3(signature = (sql_or_table, output=None, *, format=None, columns=None, schema_name=None, delimiter=None, null=None, header=None, quote=None, escape=None, encoding=None, force_quote=None))]
            #[allow(clippy::too_many_arguments)]
            fn copy_out<'py>(&self, py: Python<'py>, sql_or_table: &str, output: Option<Py<PyAny>>, format: Option<String>, columns: Option<Vec<String>>, schema_name: Option<String>, delimiter: Option<String>, null: Option<String>, header: Option<bool>, quote: Option<String>, escape: Option<String>, encoding: Option<String>, force_quote: Option<Vec<String>>) -> PyResult<Bound<'py, PyAny>> {
                let o = super::copy::options(format, columns, schema_name, delimiter, null, header, quote, escape, encoding, None, force_quote, None, None, None);
                let sql = crate::copy::copy_out_sql(sql_or_table, &o)?;
                let t = self.target()?;
                match output {
                    Some(f) => awaitable::spawn(py, crate::copy::copy_out_into(t, sql, crate::copy::Output(f), true)),
                    None => Ok(Bound::new(py, super::copy::CopyOut(super::copy::OutCore::start(t, sql)))?.into_any()),
                }
            }

            $($extra)*
        }
    };
}

// ---- asyncio ----

/// A connection of one's own (`await tusk.connect(url)`).
#[pyclass(module = "tusk", frozen)]
pub struct Connection(pub Arc<tusk::Connection>);

impl Connection {
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

async_handle!(Connection {
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

impl Pool {
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

async_handle!(Pool {
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

impl Transaction {
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

async_handle!(Transaction {
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

impl PoolConnection {
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

async_handle!(PoolConnection {
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

#[pymethods]
impl Query {
    /// Every row, as a list of `Record`s.
    fn all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        awaitable::spawn(py, async move { all_records(&t, &s).await })
    }

    /// Exactly one row, else `PgRowCountError` naming the count.
    fn one<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        awaitable::spawn(py, async move {
            Ok(Out::One(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// The first row, or None.
    fn first<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        awaitable::spawn(py, async move {
            Ok(Out::First(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// The first column of exactly one row.
    fn scalar<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        awaitable::spawn(py, async move {
            Ok(Out::Scalar(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// Every row as `shape`: `tuple`, `dict`, a class (a dataclass: called
    /// with the columns as keywords), or `list[...]` of one.
    fn into<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let shape = Shape::of(shape)?;
        let (t, s) = (self.target.clone(), self.stmt.clone());
        awaitable::spawn(py, async move {
            Ok(Out::Shaped(
                core::query(&t, &s).await.map_err(to_py)?,
                shape,
            ))
        })
    }

    /// Every row validated into a pydantic model (`M.model_validate`).
    fn model<'py>(
        &self,
        py: Python<'py>,
        model: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let shape = Shape::model(model)?;
        let (t, s) = (self.target.clone(), self.stmt.clone());
        awaitable::spawn(py, async move {
            Ok(Out::Shaped(
                core::query(&t, &s).await.map_err(to_py)?,
                shape,
            ))
        })
    }

    /// Rows as they arrive (`async for`), `batch` at a time from the server.
    #[pyo3(signature = (batch=1000))]
    fn stream(&self, batch: usize) -> PyResult<RowStream> {
        if batch == 0 {
            return Err(interface("batch must be at least 1"));
        }
        Ok(RowStream(Arc::new(StreamCore {
            target: self.target.clone(),
            stmt: self.stmt.clone(),
            batch,
            source: tokio::sync::Mutex::new(None),
            done: Mutex::new(false),
            buf: Mutex::new(VecDeque::new()),
        })))
    }
}

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
