//! The methods the asyncio and sync classes share, written once: each
//! macro below takes the way its family runs a call (`$run`: an asyncio
//! Future from `awaitable::spawn`, or the result itself from
//! `super::run_blocking`) and the family's sibling classes.

/// The methods of every handle (connection, pool, held connection,
/// transaction). `$cls` has `fn target(&self) -> PyResult<Target>`,
/// `fn tx_parent(&self) -> PyResult<(Target, bool)>` and
/// `fn atomic_batches(&self) -> bool`.
macro_rules! handle_methods {
    ($cls:ident, run = $run:path, aio = $aio:expr, query = $Query:ident, tx = $Tx:ident, copy_out = $CopyOut:ident { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            /// A query, run when one of its methods is called (awaited).
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn query(&self, sql: &str, args: &Bound<'_, PyTuple>, timeout: Option<f64>) -> PyResult<$Query> {
                Ok($Query { target: self.target()?, stmt: $crate::api::stmt(sql, args, timeout)? })
            }

            /// Runs a statement; returns the rows it affected.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn execute<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, $crate::api::stmt(sql, args, timeout)?);
                $run(py, async move { Ok(Out::Count(core::execute(&t, &s).await.map_err(to_py)?)) })
            }

            /// Runs one statement once per parameter set, all in one flight;
            /// outside a transaction, all or nothing.
            fn executemany<'py>(&self, py: Python<'py>, sql: String, args: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
                let (t, sets) = (self.target()?, $crate::api::param_sets(args)?);
                let atomic = !matches!(t, Target::Pooled(_)) && self.atomic_batches();
                $run(py, async move { Ok(Out::Count(core::execute_many(&t, &sql, &sets, atomic).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetch`: every row.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetch<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, $crate::api::stmt(sql, args, timeout)?);
                $run(py, async move { all_records(&t, &s).await })
            }

            /// asyncpg's `fetchrow`: the first row or None.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchrow<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, $crate::api::stmt(sql, args, timeout)?);
                $run(py, async move { Ok(Out::First(core::query(&t, &s).await.map_err(to_py)?)) })
            }

            /// asyncpg's `fetchval`: the first column of the first row, or None.
            #[pyo3(signature = (sql, *args, timeout=None))]
            fn fetchval<'py>(&self, py: Python<'py>, sql: &str, args: &Bound<'py, PyTuple>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target()?, $crate::api::stmt(sql, args, timeout)?);
                $run(py, async move {
                    let rows = core::query(&t, &s).await.map_err(to_py)?;
                    Ok(if rows.is_empty() { Out::Nothing } else { Out::Scalar(rows) })
                })
            }

            /// A transaction (`async with` / `with`): commits on success,
            /// rolls back on an exception or cancellation; inside another, a
            /// savepoint.
            #[pyo3(signature = (isolation=None, read_only=false, deferrable=false))]
            fn transaction(&self, isolation: Option<&str>, read_only: bool, deferrable: bool) -> PyResult<$Tx> {
                let (parent, nested) = self.tx_parent()?;
                Ok($Tx(Arc::new(TxCore::new(parent, nested, isolation, read_only, deferrable)?)))
            }

            /// `COPY ... FROM STDIN` from `source` (bytes, str, a file object,
            /// or an iterable or async iterable of bytes/str), with
            /// backpressure; `table_or_sql` is a table name (quoted here) or a
            /// whole COPY statement. Returns the rows copied.
            #[pyo3(signature = (table_or_sql, source, *, format=None, columns=None, schema_name=None, delimiter=None, null=None, header=None, quote=None, escape=None, encoding=None, freeze=None, force_not_null=None, force_null=None, r#where=None))]
            #[allow(clippy::too_many_arguments)]
            fn copy_in<'py>(&self, py: Python<'py>, table_or_sql: &str, source: &Bound<'py, PyAny>, format: Option<String>, columns: Option<Vec<String>>, schema_name: Option<String>, delimiter: Option<String>, null: Option<String>, header: Option<bool>, quote: Option<String>, escape: Option<String>, encoding: Option<String>, freeze: Option<bool>, force_not_null: Option<Vec<String>>, force_null: Option<Vec<String>>, r#where: Option<String>) -> PyResult<Bound<'py, PyAny>> {
                let o = $crate::api::copy::options(format, columns, schema_name, delimiter, null, header, quote, escape, encoding, freeze, None, force_not_null, force_null, r#where);
                let sql = $crate::copy::copy_in_sql(table_or_sql, &o)?;
                let (t, src) = (self.target()?, $crate::copy::Source::of(source, $aio)?);
                $run(py, $crate::copy::copy_in(t, sql, src, $aio))
            }

            /// Rows of Python values into `table` through binary COPY, each
            /// value encoded in Rust for its column's type (looked up once).
            /// Returns the rows copied.
            #[pyo3(signature = (table, records, columns=None, schema_name=None))]
            fn copy_records_to_table<'py>(&self, py: Python<'py>, table: String, records: &Bound<'py, PyAny>, columns: Option<Vec<String>>, schema_name: Option<String>) -> PyResult<Bound<'py, PyAny>> {
                let (t, recs) = (self.target()?, $crate::copy::Records::of(records, $aio)?);
                $run(py, $crate::copy::copy_records(t, table, columns, schema_name, recs, $aio))
            }

            /// `COPY ... TO STDOUT` of a query, a table (quoted here) or a whole
            /// COPY statement: with `output` (a file object), written into it
            /// and the rows returned; without, an iterator of `bytes`.
            #[pyo3(signature = (sql_or_table, output=None, *, format=None, columns=None, schema_name=None, delimiter=None, null=None, header=None, quote=None, escape=None, encoding=None, force_quote=None))]
            #[allow(clippy::too_many_arguments)]
            fn copy_out<'py>(&self, py: Python<'py>, sql_or_table: &str, output: Option<Py<PyAny>>, format: Option<String>, columns: Option<Vec<String>>, schema_name: Option<String>, delimiter: Option<String>, null: Option<String>, header: Option<bool>, quote: Option<String>, escape: Option<String>, encoding: Option<String>, force_quote: Option<Vec<String>>) -> PyResult<Bound<'py, PyAny>> {
                let o = $crate::api::copy::options(format, columns, schema_name, delimiter, null, header, quote, escape, encoding, None, force_quote, None, None, None);
                let sql = $crate::copy::copy_out_sql(sql_or_table, &o)?;
                let t = self.target()?;
                match output {
                    Some(f) => $run(py, $crate::copy::copy_out_into(t, sql, $crate::copy::Output(f), $aio)),
                    None => Ok(Bound::new(py, $CopyOut($crate::api::copy::OutCore::start(t, sql)))?.into_any()),
                }
            }

            $($extra)*
        }
    };
}

/// Where a handle class runs and how it takes part in transactions:
/// `conn` (a connection of one's own), `pool`, `held` (a connection held
/// from a pool) or `tx` (a transaction: nested ones are savepoints, its
/// batches are never made atomic of their own).
macro_rules! handle_kind {
    ($cls:ident, conn) => {
        impl $cls {
            fn target(&self) -> PyResult<Target> {
                Ok(Target::Conn(self.0.clone()))
            }
            fn tx_parent(&self) -> PyResult<(Target, bool)> {
                Ok($crate::api::conn_tx_parent(&self.0))
            }
            fn atomic_batches(&self) -> bool {
                $crate::api::conn_idle(&self.0)
            }
        }
    };
    ($cls:ident, pool) => {
        impl $cls {
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
    };
    ($cls:ident, held) => {
        impl $cls {
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
    };
    ($cls:ident, tx) => {
        impl $cls {
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
    };
}

/// The methods of `Query` and `SyncQuery` (fields `target` and `stmt`).
macro_rules! query_methods {
    ($cls:ident, run = $run:path, stream = $Stream:ident) => {
        #[pymethods]
        impl $cls {
            /// Every row, as a list of `Record`s.
            fn all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target.clone(), self.stmt.clone());
                $run(py, async move { all_records(&t, &s).await })
            }

            /// Exactly one row, else `PgRowCountError` naming the count.
            fn one<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target.clone(), self.stmt.clone());
                $run(py, async move {
                    Ok(Out::One(core::query(&t, &s).await.map_err(to_py)?))
                })
            }

            /// The first row, or None.
            fn first<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target.clone(), self.stmt.clone());
                $run(py, async move {
                    Ok(Out::First(core::query(&t, &s).await.map_err(to_py)?))
                })
            }

            /// The first column of exactly one row.
            fn scalar<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let (t, s) = (self.target.clone(), self.stmt.clone());
                $run(py, async move {
                    Ok(Out::Scalar(core::query(&t, &s).await.map_err(to_py)?))
                })
            }

            /// Every row as `shape`: `tuple`, `dict`, a class (a dataclass: called
            /// with the columns as keywords), or `list[...]` of one.
            fn into<'py>(
                &self,
                py: Python<'py>,
                shape: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let shape = Shape::of(shape)?;
                let (t, s) = (self.target.clone(), self.stmt.clone());
                $run(py, async move {
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
                $run(py, async move {
                    Ok(Out::Shaped(
                        core::query(&t, &s).await.map_err(to_py)?,
                        shape,
                    ))
                })
            }

            /// Rows as they arrive, `batch` at a time from the server.
            #[pyo3(signature = (batch=1000))]
            fn stream(&self, batch: usize) -> PyResult<$Stream> {
                Ok($Stream(Arc::new(StreamCore::new(
                    self.target.clone(),
                    self.stmt.clone(),
                    batch,
                )?)))
            }
        }
    };
}
