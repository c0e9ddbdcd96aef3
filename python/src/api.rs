//! The Python classes: `Connection`, `Pool`, `Transaction`, `Query`,
//! `RowStream` (asyncio) and their `Sync*` twins, on the same core calls.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3_async_runtimes::tokio::future_into_py;

use crate::core::{self, Stmt, Streaming, Target};
use crate::errors::{interface, to_py};
use crate::out::{record_list, Out, Shape};
use crate::params;

/// The module's tokio runtime (pyo3-async-runtimes' own, so asyncio
/// awaitables and sync calls share one).
pub fn rt() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs a future to completion with the GIL released.
fn block<F>(py: Python<'_>, f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    py.detach(|| rt().block_on(f))
}

fn secs(t: Option<f64>) -> PyResult<Option<Duration>> {
    t.map(|s| Duration::try_from_secs_f64(s).map_err(|_| interface(format!("bad timeout {s}"))))
        .transpose()
}

pub fn stmt(sql: &str, args: &Bound<'_, PyTuple>, timeout: Option<f64>) -> PyResult<Stmt> {
    Ok(Stmt {
        sql: Arc::from(sql),
        params: params::from_args(args)?.into(),
        timeout: secs(timeout)?,
    })
}

fn param_sets(sets: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<params::Param>>> {
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

static SAVEPOINTS: AtomicU64 = AtomicU64::new(0);

/// A transaction's progress.
enum TxState {
    New,
    Open(Target),
    Done,
}

/// What a transaction needs: where it runs, how it begins and ends.
struct TxCore {
    parent: Target,
    /// `Some(name)`: a savepoint in the parent's transaction.
    savepoint: Option<String>,
    begin: String,
    /// For `pool.acquire_as()`: the role and session settings.
    role: Option<(String, Vec<(String, String)>)>,
    state: Mutex<TxState>,
}

impl TxCore {
    /// A connection held from a pool with no transaction (`pool.acquire()`).
    fn plain(parent: Target) -> TxCore {
        TxCore {
            parent,
            savepoint: None,
            begin: String::new(),
            role: None,
            state: Mutex::new(TxState::New),
        }
    }

    fn new(
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
            parent,
            savepoint,
            begin,
            role: None,
            state: Mutex::new(TxState::New),
        })
    }

    fn target(&self) -> PyResult<Target> {
        match &*self.state.lock() {
            TxState::Open(t) => Ok(t.clone()),
            TxState::New => Err(interface("not begun: use it with `async with` (or `with`)")),
            TxState::Done => Err(interface("the block is over: the connection went back")),
        }
    }

    async fn enter(self: Arc<Self>) -> Result<(), tusk::Error> {
        let t = if self.savepoint.is_some() {
            self.parent.clone()
        } else if let Some((role, settings)) = &self.role {
            core::dedicated_as(&self.parent, role, settings).await?
        } else {
            core::dedicated(&self.parent).await?
        };
        if !self.begin.is_empty() {
            core::simple(&t, &self.begin).await?;
        }
        *self.state.lock() = TxState::Open(t);
        Ok(())
    }

    async fn exit(self: Arc<Self>, ok: bool) -> Result<(), tusk::Error> {
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
                future_into_py(py, async move { Ok(Out::Count(core::execute(&t, &s).await.map_err(to_py)?)) })
            }

            /// Runs one statement once per parameter set, all in one flight;
            /// outside a transaction, all or nothing.
            fn executemany<'py>(&self, py: Python<'py>, sql: String, args: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                let (t, sets) = (self.target()?, param_sets(args)?);
                let atomic = !matches!(t, Target::Pooled(_)) && self.atomic_batches();
                future_into_py(py, async move { Ok(Out::Count(core::execute_many(&t, &sql, &sets, atomic).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetch`: every row.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetch<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                future_into_py(py, async move { Ok(Out::All(core::query(&t, &s).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetchrow`: the first row or None.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchrow<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                future_into_py(py, async move { Ok(Out::First(core::query(&t, &s).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetchval`: the first column of the first row, or None.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchval<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, stmt(sql, args, timeout)?);
                future_into_py(py, async move {
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

            $($extra)*
        }
    };
}

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
        Ok((
            self.target()?,
            !matches!(self.0.transaction_status(), tusk::TransactionStatus::Idle),
        ))
    }
    fn atomic_batches(&self) -> bool {
        matches!(self.0.transaction_status(), tusk::TransactionStatus::Idle)
    }
}

async_handle!(Connection {
    /// Closes the connection.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.0.clone();
        future_into_py(py, async move {
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
        future_into_py(py, async move { Ok(p.close(g).await) })
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
        future_into_py(slf.py(), async move {
            core.enter().await.map_err(to_py)?;
            Ok(me)
        })
    }

    fn __aexit__<'py>(&self, py: Python<'py>, exc_type: &Bound<'py, PyAny>, _exc: &Bound<'py, PyAny>, _tb: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        let ok = exc_type.is_none();
        future_into_py(py, async move {
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
        future_into_py(slf.py(), async move {
            core.enter().await.map_err(to_py)?;
            Ok(me)
        })
    }

    fn __aexit__<'py>(&self, py: Python<'py>, _exc_type: &Bound<'py, PyAny>, _exc: &Bound<'py, PyAny>, _tb: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.0.clone();
        future_into_py(py, async move {
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
        future_into_py(py, async move {
            Ok(Out::All(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// Exactly one row, else `PgRowCountError` naming the count.
    fn one<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        future_into_py(py, async move {
            Ok(Out::One(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// The first row, or None.
    fn first<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        future_into_py(py, async move {
            Ok(Out::First(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// The first column of exactly one row.
    fn scalar<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (t, s) = (self.target.clone(), self.stmt.clone());
        future_into_py(py, async move {
            Ok(Out::Scalar(core::query(&t, &s).await.map_err(to_py)?))
        })
    }

    /// Every row as `shape`: `tuple`, `dict`, a class (a dataclass: called
    /// with the columns as keywords), or `list[...]` of one.
    fn into<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let shape = Shape::of(shape)?;
        let (t, s) = (self.target.clone(), self.stmt.clone());
        future_into_py(py, async move {
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
        future_into_py(py, async move {
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

struct StreamCore {
    target: Target,
    stmt: Stmt,
    batch: usize,
    source: tokio::sync::Mutex<Option<Streaming>>,
    done: Mutex<bool>,
    buf: Mutex<VecDeque<Py<PyAny>>>,
}

impl StreamCore {
    /// The next batch of rows; empty at the end (the connection is then released).
    async fn fetch(&self) -> Result<Vec<tusk::Row>, tusk::Error> {
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
    fn take(&self, py: Python<'_>, rows: &[tusk::Row]) -> PyResult<Option<Py<PyAny>>> {
        let list = record_list(py, rows)?;
        let mut buf = self.buf.lock();
        buf.extend(list.iter().map(|r| r.unbind()));
        Ok(buf.pop_front())
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
            let fut = pyo3_async_runtimes::get_running_loop(py)?.call_method0("create_future")?;
            fut.call_method1("set_result", (r,))?;
            return Ok(fut);
        }
        let core = self.0.clone();
        future_into_py(py, async move {
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
        future_into_py(py, async move {
            *core.source.lock().await = None;
            *core.done.lock() = true;
            Ok(())
        })
    }
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
        Ok((
            self.target()?,
            !matches!(self.0.transaction_status(), tusk::TransactionStatus::Idle),
        ))
    }
    fn atomic_batches(&self) -> bool {
        matches!(self.0.transaction_status(), tusk::TransactionStatus::Idle)
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
        Out::All(self.run(py)?).into_pyobject(py)
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

fn stats<'py>(py: Python<'py>, p: &tusk_pool::Pool) -> PyResult<Bound<'py, PyDict>> {
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
