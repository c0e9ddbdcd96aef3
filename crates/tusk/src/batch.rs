//! Batches: N statements in one flight, one result or error each.

use crate::client::Client;
use crate::engine::Ticket;
use crate::error::Error;
use crate::query::{IntoQuery, Query};
use crate::row::Row;
use crate::types::params::Param;

/// The result of one statement of a batch.
pub type BatchResult = Result<QueryResult, Error>;

/// Rows and row count of one statement.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// Rows returned (empty for statements that return none).
    pub rows: Vec<Row>,
    /// Rows affected or returned, from the command tag.
    pub rows_affected: u64,
    /// The command tag (`INSERT 0 1`, `SELECT 3`, ...).
    pub tag: String,
}

/// A list of statements to send in one flight.
///
/// ```no_run
/// # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
/// use tusk::{Batch, Executor};
/// // Parameters are borrowed: keep the values alive as long as the batch.
/// let ids: Vec<i64> = (0..1000).collect();
/// let mut b = Batch::new();
/// for id in &ids {
///     b.push("INSERT INTO t (id) VALUES ($1)", &[id]);
/// }
/// let results = conn.batch(&b).await?;
/// assert_eq!(results.len(), 1000);
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Batch<'a> {
    items: Vec<(Query<'a>, Vec<Param<'a>>)>,
}

impl<'a> Batch<'a> {
    /// An empty batch.
    pub fn new() -> Batch<'a> {
        Batch { items: Vec::new() }
    }

    /// Adds a statement.
    pub fn push(&mut self, query: impl IntoQuery<'a>, params: &[Param<'a>]) -> &mut Self {
        self.items.push((query.into_query(), params.to_vec()));
        self
    }

    /// Number of statements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the batch has no statement.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) async fn run(&'a self, client: &'a Client) -> Result<Vec<BatchResult>, Error> {
        let mut tickets: Vec<Result<Ticket, Error>> = Vec::with_capacity(self.items.len());
        for (q, params) in &self.items {
            match client.submit(q, params, None).await {
                Ok(t) => tickets.push(Ok(t)),
                Err(e) if e.kind() == crate::ErrorKind::Conversion => tickets.push(Err(e)),
                Err(e) => return Err(e),
            }
        }
        let mut out = Vec::with_capacity(tickets.len());
        for (t, (q, _)) in tickets.into_iter().zip(&self.items) {
            out.push(match t {
                Ok(t) => client
                    .wait(t, q.opts.timeout)
                    .await
                    .into_result()
                    .map(|r| QueryResult {
                        rows_affected: r.rows_affected(),
                        tag: r.tag.clone().unwrap_or_default(),
                        rows: r.rows.into(),
                    }),
                Err(e) => Err(e),
            });
        }
        Ok(out)
    }
}
