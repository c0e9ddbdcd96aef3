//! One executor trait for everything that runs queries: a connection, a
//! transaction, a pooled connection and a pool. Not sealed: wrap it in your
//! own types freely.
//!
//! An implementor writes one method, [`Executor::run`], which answers a
//! [`Request`] with a [`Reply`]; every query method (`query`, `query_one`,
//! `execute`, `batch`, ...) is provided on top of it. Preparing a
//! statement needs one server connection, so it is a second trait,
//! [`Prepare`], which a pool does not implement.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Future;
use postgres_types::{FromSqlOwned, Type};

use crate::batch::{Batch, BatchResult};
use crate::client::Client;
use crate::engine::SimpleQueryMessage;
use crate::error::{Error, ErrorKind};
use crate::from_row::{FromRow, RowStreamAs};
use crate::query::{IntoQuery, Query};
use crate::row::Row;
use crate::statement::Statement;
use crate::stream::RowStream;
use crate::types::params::Param;

/// One thing an [`Executor`] is asked to do: what the provided query
/// methods build and hand to [`Executor::run`].
#[derive(Clone)]
pub enum Request<'a> {
    /// Run a query and collect all its rows ([`Reply::Rows`]).
    Query(Query<'a>, &'a [Param<'a>]),
    /// Run a query and stream its rows ([`Reply::Stream`]).
    Stream(Query<'a>, &'a [Param<'a>]),
    /// Run a statement and count the rows it affected ([`Reply::Affected`]).
    Execute(Query<'a>, &'a [Param<'a>]),
    /// Run SQL with the simple query protocol ([`Reply::Simple`]).
    Simple(&'a str),
    /// Run a batch in one flight ([`Reply::Batch`]).
    Batch(&'a Batch<'a>),
}

impl<'a> Request<'a> {
    /// The SQL text of the request, when it has exactly one (not for a
    /// prepared statement or a batch).
    pub fn sql(&self) -> Option<&'a str> {
        match self {
            Request::Query(q, _) | Request::Stream(q, _) | Request::Execute(q, _) => q.sql(),
            Request::Simple(sql) => Some(sql),
            Request::Batch(_) => None,
        }
    }
}

/// The answer to a [`Request`], variant for variant.
pub enum Reply {
    /// For [`Request::Query`].
    Rows(Vec<Row>),
    /// For [`Request::Stream`].
    Stream(RowStream),
    /// For [`Request::Execute`].
    Affected(u64),
    /// For [`Request::Simple`].
    Simple(Vec<SimpleQueryMessage>),
    /// For [`Request::Batch`].
    Batch(Vec<BatchResult>),
}

fn mismatch(want: &str) -> Error {
    Error::protocol(format!(
        "an executor answered a request with the wrong kind of reply (wanted {want})"
    ))
}

/// Runs queries. Implemented by [`Connection`](crate::Connection),
/// [`Transaction`](crate::Transaction) and tusk-pool's pool, pooled
/// connection and pool transaction; write generic code against it.
///
/// ```no_run
/// use tusk::Executor;
/// async fn count_users(db: &impl Executor) -> Result<i64, tusk::Error> {
///     db.query_scalar("SELECT count(*) FROM users", &[]).await
/// }
/// ```
///
/// To implement it (a wrapper that logs, say), write [`run`](Self::run);
/// every other method is provided.
pub trait Executor: Send + Sync {
    /// The one primitive: runs `request` and answers with the [`Reply`]
    /// variant of the same name. A caller's location is tracked through
    /// it (a pool reports where a leaked connection was taken).
    #[track_caller]
    fn run<'a>(
        &'a self,
        request: Request<'a>,
    ) -> impl Future<Output = Result<Reply, Error>> + Send + 'a;

    /// Runs a query and returns all its rows.
    #[track_caller]
    fn query<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send + 'a {
        map(
            self.run(Request::Query(query.into_query(), params)),
            |r| match r? {
                Reply::Rows(rows) => Ok(rows),
                _ => Err(mismatch("rows")),
            },
        )
    }

    /// Runs a query and returns its rows as they arrive; memory stays
    /// bounded however many rows there are.
    #[track_caller]
    fn query_stream<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send + 'a {
        map(
            self.run(Request::Stream(query.into_query(), params)),
            |r| match r? {
                Reply::Stream(s) => Ok(s),
                _ => Err(mismatch("a row stream")),
            },
        )
    }

    /// Runs a statement and returns the number of rows it affected.
    #[track_caller]
    fn execute<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<u64, Error>> + Send + 'a {
        map(
            self.run(Request::Execute(query.into_query(), params)),
            |r| match r? {
                Reply::Affected(n) => Ok(n),
                _ => Err(mismatch("a row count")),
            },
        )
    }

    /// Runs SQL with the simple query protocol: several statements, no
    /// parameters, text results.
    #[track_caller]
    fn simple_query<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, Error>> + Send + 'a {
        map(self.run(Request::Simple(sql)), |r| match r? {
            Reply::Simple(m) => Ok(m),
            _ => Err(mismatch("simple query messages")),
        })
    }

    /// Runs every statement of a batch in one flight; one result (or error)
    /// per statement. A failing statement does not stop the others.
    #[track_caller]
    fn batch<'a>(
        &'a self,
        batch: &'a Batch<'a>,
    ) -> impl Future<Output = Result<Vec<BatchResult>, Error>> + Send + 'a {
        map(self.run(Request::Batch(batch)), |r| match r? {
            Reply::Batch(r) => Ok(r),
            _ => Err(mismatch("batch results")),
        })
    }

    /// Runs a query that must return exactly one row.
    #[track_caller]
    fn query_one<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Row, Error>> + Send + 'a {
        map(self.query(query, params), |rows| {
            let rows = rows?;
            let n = rows.len();
            let mut it = rows.into_iter();
            match (it.next(), n) {
                (Some(r), 1) => Ok(r),
                _ => Err(Error::new(
                    ErrorKind::RowCount,
                    format!("query_one expected exactly one row, the query returned {n}"),
                )),
            }
        })
    }

    /// Runs a query that returns zero or one row.
    #[track_caller]
    fn query_opt<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send + 'a {
        map(self.query(query, params), |rows| {
            let rows = rows?;
            let n = rows.len();
            if n > 1 {
                return Err(Error::new(
                    ErrorKind::RowCount,
                    format!("query_opt expected at most one row, the query returned {n}"),
                ));
            }
            Ok(rows.into_iter().next())
        })
    }

    /// Runs a query that returns exactly one row and returns its first column.
    #[track_caller]
    fn query_scalar<'a, T: FromSqlOwned + Send + 'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<T, Error>> + Send + 'a {
        map(self.query_one(query, params), |row| {
            let row = row?;
            if row.is_empty() {
                return Err(Error::new(
                    ErrorKind::RowCount,
                    "query_scalar: the query returned no columns",
                ));
            }
            row.try_get::<T>(0usize)
        })
    }

    /// Runs a query and returns its rows as `T` (a `#[derive(FromRow)]`
    /// struct, a tuple by position, ...): `db.query_as::<User>(sql, &[])`.
    /// A row that does not convert fails the whole call with a
    /// [`Conversion`](ErrorKind::Conversion) error naming the column
    /// ([`Error::as_row_error`]).
    #[track_caller]
    fn query_as<'a, T: FromRow + Send + 'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send + 'a {
        map(self.query(query, params), |rows| {
            rows?.iter().map(T::from_row).collect()
        })
    }

    /// Runs a query that must return exactly one row, as `T`.
    #[track_caller]
    fn query_one_as<'a, T: FromRow + Send + 'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<T, Error>> + Send + 'a {
        map(self.query_one(query, params), |row| T::from_row(&row?))
    }

    /// Runs a query that returns zero or one row, as `T`.
    #[track_caller]
    fn query_opt_as<'a, T: FromRow + Send + 'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Option<T>, Error>> + Send + 'a {
        map(self.query_opt(query, params), |row| {
            row?.as_ref().map(T::from_row).transpose()
        })
    }

    /// Runs a query and returns its rows as `T` as they arrive, with the
    /// bounded memory of [`query_stream`](Self::query_stream).
    #[track_caller]
    fn query_stream_as<'a, T: FromRow + Send + 'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<RowStreamAs<T>, Error>> + Send + 'a {
        map(self.query_stream(query, params), |s| {
            Ok(RowStreamAs::new(s?))
        })
    }

    /// Runs a query and returns its rows as Arrow record batches of at
    /// most [`BATCH_ROWS`](crate::arrow::BATCH_ROWS) rows, decoded straight
    /// from the binary column values (feature `arrow`; see [`crate::arrow`]
    /// for the types). The rows are streamed: memory holds the batches,
    /// not the rows. No rows, no batches.
    #[cfg(feature = "arrow")]
    #[track_caller]
    fn query_arrow<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Vec<arrow_array::RecordBatch>, Error>> + Send + 'a {
        let f = self.query_stream(query, params);
        async move { crate::arrow::collect(f.await?).await }
    }

    /// Runs SQL (several statements allowed, no parameters) with the simple
    /// query protocol and discards any rows: for scripts and DDL.
    #[track_caller]
    fn execute_script<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        map(self.simple_query(sql), |r| r.map(drop))
    }

    /// The old name of [`execute_script`](Self::execute_script).
    #[deprecated(since = "0.1.0", note = "renamed to `execute_script`")]
    #[track_caller]
    fn batch_execute<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.execute_script(sql)
    }
}

/// Prepares statements: an [`Executor`] bound to one server connection
/// (a connection, a transaction, a pooled connection). A pool is not one: a
/// statement is prepared on a connection of one's own
/// (`pool.acquire()`), or passed as SQL text and prepared once per
/// connection by the statement cache.
pub trait Prepare: Executor {
    /// Prepares a statement whose parameter types the server infers (or
    /// takes from `types`, which may be shorter than the parameter list).
    /// In pooler mode nothing is named on the server: the statement is
    /// described with the unnamed statement, and every flight that runs it
    /// parses it again (with the types described), so a transaction pooler
    /// may hand each flight to any server connection.
    fn prepare_typed<'a>(
        &'a self,
        sql: &'a str,
        types: &'a [Type],
    ) -> impl Future<Output = Result<Statement, Error>> + Send + 'a;

    /// Prepares a statement whose parameter types the server infers.
    fn prepare<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Statement, Error>> + Send + 'a {
        self.prepare_typed(sql, &[])
    }
}

/// `fut`'s output passed through `f`, as a future. The provided query
/// methods use it rather than an `async` block awaiting a future it
/// captured: such a block holds the inner future twice (the capture and
/// the awaited copy), so each layer (`query_scalar` over `query_one` over
/// `query`) doubled the size of what every caller's `await` moves
/// (`examples/future_sizes.rs`: `query_scalar` was 5,112 bytes).
fn map<F: Future, T>(
    fut: F,
    f: impl FnOnce(F::Output) -> T,
) -> Map<F, impl FnOnce(F::Output) -> T> {
    Map { fut, f: Some(f) }
}

pin_project_lite::pin_project! {
    /// The future [`map`] returns.
    struct Map<F, G> {
        #[pin]
        fut: F,
        f: Option<G>,
    }
}

impl<F: Future, G: FnOnce(F::Output) -> T, T> Future for Map<F, G> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        let out = std::task::ready!(this.fut.poll(cx));
        let f = this
            .f
            .take()
            .expect("a query future polled after it finished");
        Poll::Ready(f(out))
    }
}

/// [`Executor::run`] on the driver's client: what a connection and a
/// transaction both do.
pub(crate) async fn run_on(client: &Client, request: Request<'_>) -> Result<Reply, Error> {
    Ok(match request {
        Request::Query(q, params) => Reply::Rows(client.query(&q, params).await?),
        // Streams and batches are boxed (one allocation each): the query
        // methods' futures, nested in their callers', stay small.
        Request::Stream(q, params) => {
            Reply::Stream(Box::pin(RowStream::start(client, &q, params)).await?)
        }
        Request::Execute(q, params) => Reply::Affected(client.execute(&q, params).await?),
        Request::Simple(sql) => Reply::Simple(client.simple_query(sql).await?),
        Request::Batch(batch) => Reply::Batch(Box::pin(batch.run(client)).await?),
    })
}
