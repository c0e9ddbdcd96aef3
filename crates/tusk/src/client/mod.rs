//! The query layer over the engine: plans each query's flight (statement
//! cache, parameter modes), submits it, waits, retries stale plans once.

use postgres_protocol::message::frontend;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use crate::connection::TransactionStatus;
use crate::engine::{Response, Shared, SimpleQueryMessage, Submit, Ticket};
use crate::error::{Error, ErrorKind};
use crate::query::Query;
use crate::row::Row;
use crate::sql_text;
use crate::statement::Statement;
use crate::types::params::Param;

mod plan;
mod types;
pub(crate) use plan::GroupError;
use plan::{is_plain_read, map_err, Part, Plan};

/// The internal handle shared by `Connection` and `Transaction`.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) shared: Arc<Shared>,
    /// Types that are not built in, shared with the config's other
    /// connections (see `types::TypeRegistry`).
    pub(crate) types: Arc<crate::types::registry::TypeCache>,
}

impl Client {
    pub(crate) fn ticket(&self, id: u64) -> Ticket {
        Ticket {
            shared: self.shared.clone(),
            id,
            finished: false,
        }
    }

    /// Asks the server for the parameter and result types of `sql` with
    /// the unnamed statement (Parse/Describe/Sync): nothing stays prepared
    /// on the server, so this is safe behind a transaction pooler. The
    /// statement returned is unnamed: a flight that uses it parses it
    /// again, declaring the types described.
    pub(crate) async fn describe(&self, sql: &str) -> Result<Statement, Error> {
        let ticket = {
            let mut st = self.shared.lock();
            st.check()?;
            self.describe_flight(&mut st, String::new(), sql, &[], false)?
                .0
        };
        let stmt = ticket
            .wait()
            .await
            .into_result()?
            .stmt
            .ok_or_else(|| Error::protocol("describe lost its statement"))?;
        Ok(Box::pin(self.resolve_stmt(&stmt, false))
            .await?
            .unwrap_or(stmt))
    }

    /// Submits a query, waiting out any describe it needs first.
    pub(crate) async fn submit(
        &self,
        q: &Query<'_>,
        params: &[Param<'_>],
        stream_limit: Option<usize>,
    ) -> Result<Ticket, Error> {
        self.submit_part(q, params, stream_limit, Part::Whole).await
    }

    /// [`Client::submit`], as `part` (`Whole` or `Read`).
    async fn submit_part(
        &self,
        q: &Query<'_>,
        params: &[Param<'_>],
        stream_limit: Option<usize>,
        part: Part,
    ) -> Result<Ticket, Error> {
        let mut described: Option<Statement> = None;
        for _ in 0..3 {
            let plan = {
                let mut st = self.shared.lock();
                self.build(&mut st, q, params, described.as_ref(), stream_limit, part)?
            };
            match plan {
                Plan::Run(t) => return Ok(t),
                Plan::Describe(t, unnamed) => {
                    // (The response is not kept across the awaits below:
                    // this future stays small.)
                    let (stmt, cached) = {
                        let resp = t.wait().await.into_result()?;
                        (resp.stmt, resp.cached)
                    };
                    // Parameter types that are not built in are looked up
                    // before the statement's first Bind.
                    described = match unnamed {
                        Some(s) => Some(Box::pin(self.resolve_stmt(&s, false)).await?.unwrap_or(s)),
                        None => {
                            if let Some(s) = stmt {
                                Box::pin(self.resolve_stmt(&s, cached)).await?;
                            }
                            None
                        }
                    };
                }
                Plan::Resolve(s) => {
                    if Box::pin(self.resolve_stmt(&s, true)).await?.is_none() && !s.settled() {
                        let oids: Vec<u32> = s.params().iter().map(|t| t.oid()).collect();
                        return Err(Error::conversion(format!(
                            "the statement's parameter types (OIDs {oids:?}) could not be looked up \
                             in pg_type (is the transaction aborted?)"
                        )));
                    }
                }
                Plan::Undescribed => {
                    return Err(Error::new(
                        ErrorKind::Other,
                        "internal: a lone statement planned as part of an atomic group",
                    ))
                }
            }
        }
        Err(Error::new(
            ErrorKind::Other,
            "could not settle the statement's parameter types",
        ))
    }

    /// Runs a query to completion (one retry of a stale cached plan,
    /// outside a transaction; a read-group member that the server skipped
    /// or that wrote is sent again by the engine, in its place).
    pub(crate) async fn run(&self, q: &Query<'_>, params: &[Param<'_>]) -> Result<Response, Error> {
        let mut retried = false;
        loop {
            let ticket = self.submit_part(q, params, None, Part::Read).await?;
            // The response is not kept across an await below (the type
            // work is boxed and awaited outside this block): every query
            // method's future, and its callers', stay as small as before.
            let next = {
                let resp = self.wait(ticket, q.opts.timeout).await;
                self.after_run(resp, &mut retried)
            };
            match next {
                AfterRun::Retry => continue,
                AfterRun::Done(r) => return r,
                AfterRun::Work(f) => match f.await {
                    Some(r) => return r,
                    None => continue,
                },
            }
        }
    }

    /// What [`Client::run`] does with a response: retry, return it, or
    /// first do some type work (boxed; `None` from it: retry).
    fn after_run<'s>(&'s self, mut resp: Response, retried: &mut bool) -> AfterRun<'s> {
        if resp.stale_plan() {
            // What the statement's types meant may have changed too.
            self.types.clear();
            if !*retried && resp.status == Some(TransactionStatus::Idle) {
                tracing::debug!(error = ?resp.error, "stale cached statement; re-preparing once");
                *retried = true;
                return AfterRun::Retry;
            }
        }
        if !*retried
            && resp.status == Some(TransactionStatus::Idle)
            && resp.cached
            && resp.rows.is_empty()
            && resp.error.as_ref().is_some_and(no_binary_output)
        {
            // A first run asked for every column in binary, and one has
            // no binary form: the server failed as the first row was to be
            // sent, and rolled the statement back (outside a transaction);
            // the statement is described now, so it runs again asking for
            // that column as text. (Effects no rollback undoes, such as
            // `nextval`, happen twice.)
            *retried = true;
            let Some(stmt) = resp.stmt.take() else {
                return AfterRun::Retry;
            };
            return AfterRun::Work(Box::pin(async move {
                if let Err(e) = self.resolve_stmt(&stmt, true).await {
                    tracing::warn!(error = %e, "looking up the statement's types failed");
                }
                None
            }));
        }
        if resp.error.is_none() && self.needs_settling(&resp) {
            return AfterRun::Work(Box::pin(async move {
                self.settle_types(&mut resp).await;
                Some(resp.into_result())
            }));
        }
        AfterRun::Done(resp.into_result())
    }

    /// Waits for a ticket, enforcing a timeout with a server-side cancel.
    pub(crate) async fn wait(&self, mut ticket: Ticket, timeout: Option<Duration>) -> Response {
        let Some(t) = timeout else {
            return ticket.wait().await;
        };
        if let Ok(r) = tokio::time::timeout(t, poll_fn(|cx| ticket.poll_done(cx))).await {
            return r;
        }
        self.cancel_timed(ticket, t).await
    }

    async fn cancel_timed(&self, mut ticket: Ticket, t: Duration) -> Response {
        let id = ticket.id;
        let grace = crate::cancel::grace(t);
        // Wait until the server is answering this very query (everything
        // before it is done, nothing after it was written), however long
        // other callers' queries in front of it take: the timeout is this
        // query's own, so it may cancel or fail this query only. A query
        // that timed out while queued is canceled as soon as it starts.
        poll_fn(|cx| {
            self.shared
                .poll_wait(cx, id, |st, r| {
                    st.current_id() == Some(id) && st.is_written(r)
                })
                .map(|_| ())
        })
        .await;
        // Cancel until the server answers: a cancel that reaches the
        // backend while it reads the query's messages is ignored by the
        // server (likely when the query only just reached the front), so
        // it is sent again, at growing intervals (from 5 ms: a short query
        // must not outrun the second cancel), within the grace period.
        // Each one holds the connection's writes until the server acted on
        // it, and nothing behind this query is written before it completes
        // (its barrier): a cancel can only hit this query, or an idle
        // backend, which ignores it.
        let deadline = tokio::time::Instant::now() + grace;
        let mut interval = Duration::from_millis(5);
        loop {
            let done = self.shared.lock().req(id).is_none_or(|r| r.done());
            if !done {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                crate::cancel::cancel_held(&self.shared, left).await;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let wait = interval.min(left);
            if let Ok(r) = tokio::time::timeout(wait, poll_fn(|cx| ticket.poll_done(cx))).await {
                return canceled_as_timeout(r, t);
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            interval = (interval * 2).min(Duration::from_millis(500));
        }
        let gave_up = {
            let mut st = self.shared.lock();
            if st.req(id).is_none_or(|r| r.done()) {
                None
            } else {
                Some(crate::cancel::give_up(&mut st, t, grace).0)
            }
        };
        let Some(err) = gave_up else {
            // It answered at the last moment.
            return canceled_as_timeout(ticket.wait().await, t);
        };
        // Kept: dropping the ticket abandons the query, whose answer the
        // driver reads and discards when it comes.
        drop(ticket);
        let mut r = Response::extended();
        r.error = Some(err);
        r
    }

    /// Prepares a named statement that the caller owns. In pooler mode
    /// nothing is named: the statement is described with the unnamed
    /// statement, and every flight that runs it parses it again.
    pub(crate) async fn prepare(
        &self,
        sql: &str,
        types: &[postgres_types::Type],
    ) -> Result<Statement, Error> {
        let ticket = {
            let mut st = self.shared.lock();
            st.check()?;
            let name = if st.pooler_mode() {
                String::new()
            } else {
                st.new_statement_name("tusk_p")
            };
            let oids = types.iter().map(|t| t.oid()).collect::<Vec<_>>();
            self.describe_flight(&mut st, name, sql, &oids, false)?.0
        };
        let stmt = ticket
            .wait()
            .await
            .into_result()?
            .stmt
            .ok_or_else(|| Error::protocol("prepare lost its statement"))?;
        Ok(Box::pin(self.resolve_stmt(&stmt, false))
            .await?
            .unwrap_or(stmt))
    }

    /// Parses and describes `sql` into the statement cache, so that its
    /// first run sends Bind/Execute only. Nothing runs. A no-op when the
    /// cache already holds it, or when there is no cache (pooler mode).
    pub(crate) async fn prepare_cached(&self, sql: &str) -> Result<(), Error> {
        let ticket = {
            let mut st = self.shared.lock();
            st.check()?;
            if st.pooler_mode() || st.cache().disabled() || st.cache_mut().get(sql).is_some() {
                return Ok(());
            }
            let name = st.new_statement_name("tusk_s");
            let (ticket, stmt) = self.describe_flight(&mut st, name, sql, &[], true)?;
            stmt.set_groupable(is_plain_read(sql));
            stmt.set_pending(ticket.id);
            st.cache_mut().insert(sql, stmt);
            ticket
        };
        let stmt = ticket.wait().await.into_result()?.stmt;
        if let Some(s) = stmt {
            Box::pin(self.resolve_stmt(&s, true)).await?;
        }
        Ok(())
    }

    /// Runs a query and returns all rows.
    pub(crate) async fn query(
        &self,
        q: &Query<'_>,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, Error> {
        let resp = self.run(q, params).await?;
        Ok(resp.rows.into())
    }

    /// Runs a statement and returns the rows it affected.
    pub(crate) async fn execute(&self, q: &Query<'_>, params: &[Param<'_>]) -> Result<u64, Error> {
        let resp = self.run(q, params).await?;
        Ok(resp.rows_affected())
    }

    /// Runs SQL through the simple query protocol (several statements allowed).
    pub(crate) async fn simple_query(&self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        let ticket = self.submit_simple(sql, false)?;
        let resp = ticket.wait().await.into_result()?;
        if resp.simple.iter().any(|m| {
            matches!(m, SimpleQueryMessage::CommandComplete { tag, .. }
                if crate::engine::response::invalidates_cache(tag))
        }) {
            self.types.clear();
        }
        Ok(resp.simple)
    }

    pub(crate) fn submit_simple(&self, sql: &str, abandon: bool) -> Result<Ticket, Error> {
        let mut st = self.shared.lock();
        st.check()?;
        // A COPY's CopyFail must go right behind it (see `push`).
        let how = Submit {
            barrier: sql_text::may_copy(sql),
            ..Submit::WHOLE
        };
        let id = st.submit(how, Response::simple(), |w| {
            frontend::query(sql, w).map_err(map_err)
        })?;
        if abandon {
            st.abandon(id);
            // Nobody waits for it: push it out now if nobody is driving.
            if st.driver().is_none() {
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                let _ = st.drive(&mut cx);
            }
        }
        Ok(self.ticket(id))
    }

    /// Queues SQL with nobody waiting for it (rollback on drop).
    pub(crate) fn fire_and_forget(&self, sql: &str) {
        if let Ok(mut t) = self.submit_simple(sql, true) {
            t.finished = true;
        }
    }
}

/// Type work a response needs before [`Client::run`] answers (boxed): the
/// answer, or `None` to send the query again.
type TypeWork<'s> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Option<Result<Response, Error>>> + Send + 's>,
>;

/// What [`Client::run`] does next with a response.
enum AfterRun<'s> {
    /// Send the query again.
    Retry,
    /// The answer.
    Done(Result<Response, Error>),
    /// Type work first.
    Work(TypeWork<'s>),
}

/// The server cannot send a column's type in binary (`42883` "no binary
/// output function available for type ..."), raised as the first row is
/// to be sent.
fn no_binary_output(e: &Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code == crate::error::SqlState::UNDEFINED_FUNCTION
            && db.routine.as_deref() == Some("getTypeBinaryOutputInfo")
    })
}

/// A timed query's response, with the server's `57014` (its cancel landed)
/// as the timeout it is.
fn canceled_as_timeout(mut r: Response, t: Duration) -> Response {
    if let Some(e) = &r.error {
        if e.code() == Some(crate::error::SqlState::QUERY_CANCELED) {
            r.error = Some(Error::timed_out(t, Some(e)));
        }
    }
    r
}
