//! Batches: N statements in one flight, one result or error each.

use crate::client::{Client, GroupError};
use crate::connection::TransactionStatus;
use crate::engine::Ticket;
use crate::error::Error;
use crate::query::{IntoQuery, Query};
use crate::row::Row;
use crate::statement::Statement;
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
    atomic: bool,
}

impl<'a> Batch<'a> {
    /// An empty batch: each statement runs on its own (its own implicit
    /// transaction, its own Sync), so one statement's error leaves the
    /// others' results alone.
    pub fn new() -> Batch<'a> {
        Batch::default()
    }

    /// An empty *atomic* batch: all its statements go in one flight with
    /// one Sync, so they run as one transaction: all of them commit, or,
    /// when one fails, none does. This is the shape of a libpq pipeline
    /// with one `PQpipelineSync` (pgbench's `\startpipeline` ...
    /// `\endpipeline`), and the fastest way to send many writes: the
    /// server commits once and answers once.
    ///
    /// When a statement fails, its result is its error, the statements
    /// before it report that they were rolled back, and those after it
    /// that they did not run (each error's [`source`](std::error::Error::source)
    /// is the failure). Inside an explicit transaction the batch runs in
    /// that transaction, and a failure leaves it failed, as any error does.
    /// Statements whose parameter types only the server can tell are
    /// described first, in a round trip of their own (with the unnamed
    /// statement, so this is safe behind a transaction pooler); per-query
    /// timeouts do not apply inside an atomic batch.
    ///
    /// Transaction control (`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`,
    /// `RELEASE`, `PREPARE TRANSACTION`, ...), `COPY`, and `CALL` and `DO`
    /// are refused before anything is sent: the server would end the
    /// batch's transaction midway (a procedure or `DO` block runs
    /// non-atomically there and may `COMMIT`), and the batch's results
    /// could not say truthfully what was committed. Run a `CALL` or `DO` on
    /// its own, or in a [`Transaction`](crate::Transaction), where the
    /// server refuses a `COMMIT` inside it.
    ///
    /// ```no_run
    /// # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
    /// use tusk::{Batch, Executor};
    /// let (from, to, amount) = (1_i64, 2_i64, 100_i64);
    /// let mut b = Batch::atomic();
    /// b.push("UPDATE accounts SET balance = balance - $2 WHERE id = $1", &[&from, &amount]);
    /// b.push("UPDATE accounts SET balance = balance + $2 WHERE id = $1", &[&to, &amount]);
    /// for r in conn.batch(&b).await? {
    ///     r?; // both applied, or neither
    /// }
    /// # Ok(()) }
    /// ```
    pub fn atomic() -> Batch<'a> {
        Batch {
            items: Vec::new(),
            atomic: true,
        }
    }

    /// The statements and their parameters, in order.
    pub fn statements(&self) -> impl Iterator<Item = (&Query<'a>, &[Param<'a>])> + '_ {
        self.items.iter().map(|(q, p)| (q, p.as_slice()))
    }

    /// Whether the batch runs as one transaction (see [`Batch::atomic`]).
    pub fn is_atomic(&self) -> bool {
        self.atomic
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
        if self.atomic {
            return self.run_atomic(client).await;
        }
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
                Ok(t) => {
                    let r = client.wait(t, q.opts.timeout).await;
                    let r = match client.settle_now(r) {
                        Ok(r) => r,
                        Err(f) => f.await,
                    };
                    r.into_result().map(|r| QueryResult {
                        rows_affected: r.rows_affected(),
                        tag: r.tag.clone().unwrap_or_default(),
                        rows: r.rows.into(),
                    })
                }
                Err(e) => Err(e),
            });
        }
        Ok(out)
    }
}

impl<'a> Batch<'a> {
    /// One flight, one Sync; one retry of a stale cached plan when nothing
    /// of the batch ran (the stale statement is its first), else the error
    /// (the stale statement has left the cache, so the next run heals).
    async fn run_atomic(&'a self, client: &'a Client) -> Result<Vec<BatchResult>, Error> {
        let n = self.items.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        // What cannot be part of one transaction sent as one flight is
        // refused before anything is sent.
        for (i, (q, _)) in self.items.iter().enumerate() {
            let sql = q.stmt.map_or(q.sql, Statement::sql);
            if let Some(e) = crate::sql_text::refused_in_atomic_batch(sql) {
                return Ok(group_failed(n, i, e, false));
            }
        }
        // Statements whose parameters only the server can type are
        // described first (a group cannot stop midway for a describe),
        // with the unnamed statement: nothing named, nothing that a
        // transaction pooler could hand to another client.
        let mut described: Vec<Option<Statement>> = vec![None; n];
        for (i, (q, params)) in self.items.iter().enumerate() {
            if client.needs_describe(q, params) {
                match client.describe(q.sql).await {
                    Ok(s) => described[i] = Some(s),
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => return Ok(group_failed(n, i, e, false)),
                }
            }
        }
        let mut retried = false;
        let mut describes = 0;
        loop {
            let items: Vec<(&Query<'_>, &[Param<'_>], Option<&Statement>)> = self
                .items
                .iter()
                .zip(&described)
                .map(|((q, params), d)| (q, params.as_slice(), d.as_ref()))
                .collect();
            let tickets = match client.submit_group(&items) {
                Ok(t) => t,
                Err(GroupError::Describe(i)) if describes < n + 2 => {
                    // The cached statement that needed no describe was
                    // evicted meanwhile.
                    describes += 1;
                    match client.describe(self.items[i].0.sql).await {
                        Ok(s) => described[i] = Some(s),
                        Err(e) if e.is_fatal() => return Err(e),
                        Err(e) => return Ok(group_failed(n, i, e, false)),
                    }
                    continue;
                }
                Err(GroupError::Describe(i)) => {
                    return Ok(group_failed(
                        n,
                        i,
                        Error::new(
                            crate::ErrorKind::Other,
                            "could not settle the statement's parameter types",
                        ),
                        false,
                    ))
                }
                Err(GroupError::Failed(i, e)) if e.kind() == crate::ErrorKind::Conversion => {
                    return Ok(group_failed(n, i, e, false));
                }
                Err(GroupError::Failed(_, e)) => return Err(e),
            };
            let mut resps = Vec::with_capacity(tickets.len());
            for t in tickets {
                resps.push(t.wait().await);
            }
            let failed = resps.iter().position(|r| r.error.is_some());
            let Some(i) = failed else {
                let mut settled = Vec::with_capacity(resps.len());
                for r in resps {
                    settled.push(match client.settle_now(r) {
                        Ok(r) => r,
                        Err(f) => f.await,
                    });
                }
                let resps = settled;
                return Ok(resps
                    .into_iter()
                    .map(|r| {
                        Ok(QueryResult {
                            rows_affected: r.rows_affected(),
                            tag: r.tag.clone().unwrap_or_default(),
                            rows: r.rows.into(),
                        })
                    })
                    .collect());
            };
            let r = &resps[i];
            if r.stale_plan() {
                client.types.clear();
            }
            let status = resps
                .last()
                .map_or(Some(TransactionStatus::Idle), |r| r.status);
            let e = r.error.clone().unwrap_or_else(Error::closed);
            if e.kind() == crate::ErrorKind::Connection || e.kind() == crate::ErrorKind::Closed {
                return Err(e);
            }
            // Resent whole only when nothing of it ran: a statement before
            // the stale one that ran may have done what the rollback does
            // not undo (nextval, dblink, NOTICEs), and would do it twice.
            let nothing_ran = resps[..i].iter().all(|r| !r.bound);
            if r.stale_plan() && status == Some(TransactionStatus::Idle) && !retried && nothing_ran
            {
                tracing::debug!(error = %e, "stale cached statement in an atomic batch; retrying once");
                retried = true;
                continue;
            }
            return Ok(group_failed(n, i, e, true));
        }
    }
}

/// The results of an atomic batch of `n` statements whose statement
/// `failed` failed with `cause` (`ran`: the statements before it ran and
/// were rolled back; else nothing was sent).
fn group_failed(n: usize, failed: usize, cause: Error, ran: bool) -> Vec<BatchResult> {
    (0..n)
        .map(|i| {
            if i == failed {
                return Err(cause.clone());
            }
            let what = if i < failed && ran {
                "rolled back"
            } else {
                "not run"
            };
            Err(Error::with_source(
                cause.kind(),
                format!(
                    "{what}: statement {} of the atomic batch failed: {}",
                    failed + 1,
                    first_line(&cause)
                ),
                cause.clone(),
            ))
        })
        .collect()
}

fn first_line(e: &Error) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or_default().to_string()
}
