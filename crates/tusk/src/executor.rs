//! One executor trait for everything that runs queries: a connection, a
//! transaction, and (later) a pooled connection. Not sealed: wrap it in your
//! own types freely.

use futures_core::Future;
use postgres_types::{FromSqlOwned, Type};

use crate::batch::{Batch, BatchResult};
use crate::engine::SimpleQueryMessage;
use crate::error::{Error, ErrorKind};
use crate::query::IntoQuery;
use crate::row::Row;
use crate::statement::Statement;
use crate::stream::RowStream;
use crate::types::params::Param;

/// Runs queries. Implemented by [`Connection`](crate::Connection) and
/// [`Transaction`](crate::Transaction); write generic code against it.
///
/// ```no_run
/// use tusk::Executor;
/// async fn count_users(db: &impl Executor) -> Result<i64, tusk::Error> {
///     db.query_scalar("SELECT count(*) FROM users", &[]).await
/// }
/// ```
pub trait Executor: Send + Sync {
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

    /// Runs a query and returns all its rows.
    fn query<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send + 'a;

    /// Runs a query and returns its rows as they arrive; memory stays
    /// bounded however many rows there are.
    fn query_stream<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send + 'a;

    /// Runs a statement and returns the number of rows it affected.
    fn execute<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<u64, Error>> + Send + 'a;

    /// Runs SQL with the simple query protocol: several statements, no
    /// parameters, text results.
    fn simple_query<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, Error>> + Send + 'a;

    /// Runs every statement of a batch in one flight; one result (or error)
    /// per statement. A failing statement does not stop the others.
    fn batch<'a>(
        &'a self,
        batch: &'a Batch<'a>,
    ) -> impl Future<Output = Result<Vec<BatchResult>, Error>> + Send + 'a;

    /// Prepares a statement whose parameter types the server infers.
    fn prepare<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Statement, Error>> + Send + 'a {
        self.prepare_typed(sql, &[])
    }

    /// Runs a query that must return exactly one row.
    fn query_one<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Row, Error>> + Send + 'a {
        async move {
            let rows = self.query(query, params).await?;
            let n = rows.len();
            let mut it = rows.into_iter();
            match (it.next(), n) {
                (Some(r), 1) => Ok(r),
                _ => Err(Error::new(
                    ErrorKind::RowCount,
                    format!("query_one expected exactly one row, the query returned {n}"),
                )),
            }
        }
    }

    /// Runs a query that returns zero or one row.
    fn query_opt<'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send + 'a {
        async move {
            let rows = self.query(query, params).await?;
            let n = rows.len();
            if n > 1 {
                return Err(Error::new(
                    ErrorKind::RowCount,
                    format!("query_opt expected at most one row, the query returned {n}"),
                ));
            }
            Ok(rows.into_iter().next())
        }
    }

    /// Runs a query that returns exactly one row and returns its first column.
    fn query_scalar<'a, T: FromSqlOwned + Send + 'a>(
        &'a self,
        query: impl IntoQuery<'a> + Send + 'a,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<T, Error>> + Send + 'a {
        async move {
            let row = self.query_one(query, params).await?;
            if row.is_empty() {
                return Err(Error::new(
                    ErrorKind::RowCount,
                    "query_scalar: the query returned no columns",
                ));
            }
            row.try_get::<T>(0usize)
        }
    }

    /// Runs SQL (several statements allowed) and discards any rows.
    fn batch_execute<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        async move {
            self.simple_query(sql).await?;
            Ok(())
        }
    }
}

/// Implements [`Executor`] by delegating to an inner `Client`.
macro_rules! delegate_executor {
    ($ty:ty, $client:ident) => {
        impl $crate::Executor for $ty {
            fn prepare_typed<'a>(
                &'a self,
                sql: &'a str,
                types: &'a [$crate::types::Type],
            ) -> impl std::future::Future<Output = Result<$crate::Statement, $crate::Error>> + Send + 'a {
                self.$client().prepare(sql, types)
            }
            fn query<'a>(
                &'a self,
                query: impl $crate::IntoQuery<'a> + Send + 'a,
                params: &'a [$crate::Param<'a>],
            ) -> impl std::future::Future<Output = Result<Vec<$crate::Row>, $crate::Error>> + Send + 'a {
                let q = query.into_query();
                async move { self.$client().query(&q, params).await }
            }
            fn query_stream<'a>(
                &'a self,
                query: impl $crate::IntoQuery<'a> + Send + 'a,
                params: &'a [$crate::Param<'a>],
            ) -> impl std::future::Future<Output = Result<$crate::RowStream, $crate::Error>> + Send + 'a {
                let q = query.into_query();
                async move { $crate::stream::RowStream::start(self.$client(), &q, params).await }
            }
            fn execute<'a>(
                &'a self,
                query: impl $crate::IntoQuery<'a> + Send + 'a,
                params: &'a [$crate::Param<'a>],
            ) -> impl std::future::Future<Output = Result<u64, $crate::Error>> + Send + 'a {
                let q = query.into_query();
                async move { self.$client().execute(&q, params).await }
            }
            fn simple_query<'a>(
                &'a self,
                sql: &'a str,
            ) -> impl std::future::Future<Output = Result<Vec<$crate::SimpleQueryMessage>, $crate::Error>> + Send + 'a {
                self.$client().simple_query(sql)
            }
            fn batch<'a>(
                &'a self,
                batch: &'a $crate::Batch<'a>,
            ) -> impl std::future::Future<Output = Result<Vec<$crate::BatchResult>, $crate::Error>> + Send + 'a {
                batch.run(self.$client())
            }
        }
    };
}
pub(crate) use delegate_executor;
