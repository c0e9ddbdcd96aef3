//! Portals and cursors: a query's rows fetched in batches, on demand.
//!
//! A [`Portal`] is the protocol's own cursor: the query is bound into a
//! named portal and each batch is an `Execute` with a row limit
//! (`PortalSuspended` says rows are left). It lives as long as its
//! transaction, so it is opened inside one
//! ([`Transaction::query_portal`](crate::Transaction::query_portal));
//! asked for outside one it fails with
//! [`ErrorKind::NotInTransaction`] before anything is sent. Unlike
//! [`query_stream`](crate::Executor::query_stream), which reads the whole
//! result as fast as the reader takes it, a portal asks the server for
//! each batch: the server holds the rest, the client holds at most one
//! batch, and other queries run on the connection between batches (two
//! portals can be read in turns).
//!
//! A [`Cursor`] is one made with SQL (`DECLARE ... CURSOR`), fetched with
//! `FETCH FORWARD n`; declared `WITH HOLD` it outlives its transaction and
//! can be used outside one (the server keeps its rows until it is closed).
//!
//! Both close themselves when dropped (a `Close` message, queued like a
//! dropped transaction's `ROLLBACK`, whose answer is read and dropped: the
//! connection stays in step), and a dropped `next_batch` future loses no
//! rows: the batch in flight is handed out by the next call.
//!
//! ```no_run
//! use tusk::Executor;
//! # async fn run(conn: &mut tusk::Connection) -> Result<(), tusk::Error> {
//! let tx = conn.transaction().await?;
//! let mut portal = tx
//!     .query_portal("SELECT id, name FROM users ORDER BY id", &[], 1000)
//!     .await?;
//! while let Some(batch) = portal.next_batch().await? {
//!     for row in batch {
//!         let id: i64 = row.get("id");
//!         // Other queries may run on the transaction between batches.
//!         tx.execute("UPDATE users SET seen = true WHERE id = $1", &[&id]).await?;
//!     }
//! }
//! drop(portal);
//! tx.commit().await?;
//! # Ok(()) }
//! ```

use futures_core::Stream;
use postgres_protocol::message::frontend;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::client::Client;
use crate::connection::TransactionStatus;
use crate::engine::{Driver, Response, Submit, Ticket};
use crate::error::{Error, ErrorKind};
use crate::query::Query;
use crate::row::{Row, RowDesc};
use crate::types::params::Param;

/// Longest name PostgreSQL keeps for a cursor (NAMEDATALEN - 1 bytes): a
/// longer one is truncated by the server, and could then not be closed
/// by the name given.
const MAX_NAME: usize = 63;

fn encode_err(e: std::io::Error) -> Error {
    Error::with_source(ErrorKind::Conversion, "cannot encode message", e)
}

fn not_in_transaction(what: &str) -> Error {
    Error::new(
        ErrorKind::NotInTransaction,
        format!(
            "{what} needs an open transaction block (the server destroys it when the \
             transaction ends): open it in a transaction (`conn.transaction()`), or use a \
             cursor declared WITH HOLD"
        ),
    )
}

impl Client {
    /// Opens a portal for `q` and fetches its first batch (see
    /// [`Portal`]).
    pub(crate) async fn query_portal<'c>(
        &'c self,
        q: &Query<'_>,
        params: &[Param<'_>],
        fetch_size: u32,
    ) -> Result<Portal<'c>, Error> {
        let limit = batch_limit(fetch_size, "fetch_size")?;
        // The block it lives in is the one open now (one ending before
        // its answer takes the portal with it).
        let (name, block) = {
            let mut st = self.shared.lock();
            st.check()?;
            if st.tx_status() == TransactionStatus::Idle {
                return Err(not_in_transaction("a portal"));
            }
            (st.new_statement_name("tusk_portal"), st.tx_ends())
        };
        // From here on the portal may exist on the server: if this future
        // is dropped, the portal's drop closes it.
        let mut portal = Portal {
            client: self,
            name,
            fetch_size: limit,
            desc: None,
            buffered: VecDeque::new(),
            pending: None,
            done: true,
            closed: false,
            tag: None,
            block,
        };
        let q = Query {
            portal: Some((&portal.name, limit)),
            ..q.clone()
        };
        let ticket = self.submit(&q, params, None).await?;
        let resp = self.wait(ticket, q.opts.timeout).await;
        let resp = match self.settle_now(resp) {
            Ok(r) => r,
            Err(settling) => settling.await,
        }
        .into_result()?;
        if resp.suspended && resp.status == Some(TransactionStatus::Idle) {
            // A COMMIT or ROLLBACK ran ahead of it: the portal is gone.
            return Err(not_in_transaction("a portal"));
        }
        portal.desc = resp
            .rows
            .front()
            .map(|r| r.desc.clone())
            .or_else(|| resp.desc.clone());
        portal.done = !resp.suspended;
        portal.tag = resp.tag;
        portal.buffered = resp.rows;
        Ok(portal)
    }

    /// `DECLARE`s cursor `name` for `sql` (see [`Cursor`]).
    pub(crate) async fn declare_cursor<'c>(
        &'c self,
        name: &str,
        sql: &str,
        params: &[Param<'_>],
        hold: bool,
    ) -> Result<Cursor<'c>, Error> {
        check_name(name)?;
        let block = {
            let st = self.shared.lock();
            if !hold && st.tx_status() == TransactionStatus::Idle {
                return Err(not_in_transaction("a cursor declared without WITH HOLD"));
            }
            st.tx_ends()
        };
        let quoted = quote_ident(name);
        let declare = format!(
            "DECLARE {quoted} NO SCROLL CURSOR {} FOR {sql}",
            if hold { "WITH HOLD" } else { "WITHOUT HOLD" }
        );
        // Uncached: the text names this very cursor. Guarded: if this
        // future is dropped once the DECLARE is sent, the engine closes the
        // cursor if (and only if) it was declared, before anything queued
        // behind it runs.
        let q = Query {
            declare_guard: true,
            ..Query::new(&declare).uncached()
        };
        let ticket = self.submit(&q, params, None).await?;
        let mut guard = DeclareGuard {
            name,
            ticket: Some(ticket),
        };
        let resp = match guard.ticket.as_mut() {
            Some(t) => std::future::poll_fn(|cx| t.poll_done(cx)).await,
            None => return Err(Error::closed()),
        };
        // Answered and taken: the Cursor (or nobody, on error) owns it now.
        guard.ticket = None;
        resp.into_result()?;
        Ok(Cursor {
            client: self,
            name: name.to_string(),
            quoted,
            hold,
            closed: false,
            block,
        })
    }

    /// Queues `Close` for portal `name` with nobody waiting for its answer
    /// (a dropped portal or cursor); pushed out now if nobody drives.
    fn close_portal_later(&self, name: &str) {
        let mut st = self.shared.lock();
        if st.check().is_err() {
            return;
        }
        let Ok(id) = st.submit(Submit::WHOLE, Response::extended(), |w| {
            frontend::close(b'P', name, w).map_err(encode_err)
        }) else {
            return;
        };
        st.abandon(id);
        if st.driver().is_none() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = st.drive(&mut cx);
        }
    }

    /// Closes portal `name` and waits for the server's answer.
    async fn close_portal(&self, name: &str) -> Result<(), Error> {
        let ticket = {
            let mut st = self.shared.lock();
            st.check()?;
            let id = st.submit(Submit::WHOLE, Response::extended(), |w| {
                frontend::close(b'P', name, w).map_err(encode_err)
            })?;
            self.ticket(id)
        };
        ticket.wait().await.into_result().map(|_| ())
    }
}

/// A `DECLARE` in flight: dropped before its answer was taken, it leaves
/// the engine to close the cursor if the answer says it was declared (see
/// `engine::guard`).
struct DeclareGuard<'n> {
    name: &'n str,
    /// The `DECLARE`'s ticket; `None` once its answer was taken. Dropped
    /// after the guard's own `drop`, which so still finds the request.
    ticket: Option<Ticket>,
}

impl Drop for DeclareGuard<'_> {
    fn drop(&mut self) {
        let Some(t) = &self.ticket else {
            return;
        };
        let mut st = t.shared.lock();
        st.guard_declare(t.id, self.name);
        // A Close queued now must go out even if nobody drives.
        if st.driver().is_none() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = st.drive(&mut cx);
        }
    }
}

/// A row count for the protocol (at least 1; larger than `i32::MAX` is
/// `i32::MAX`).
fn batch_limit(n: u32, what: &str) -> Result<i32, Error> {
    if n == 0 {
        return Err(Error::conversion(format!("{what} must be at least 1")));
    }
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// A cursor name the server keeps as given.
fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME || name.contains('\0') {
        return Err(Error::conversion(format!(
            "a cursor name must be 1 to {MAX_NAME} bytes without NUL (got {} bytes)",
            name.len()
        )));
    }
    Ok(())
}

/// `name` as a quoted SQL identifier (`"` doubled inside).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A query's rows, fetched from a named portal in batches of at most
/// `fetch_size` rows: each batch is one `Execute` with that row limit, one
/// round trip, and the client holds at most one batch.
///
/// Opened by [`Transaction::query_portal`](crate::Transaction::query_portal)
/// (or [`Connection::query_portal`](crate::Connection::query_portal) inside
/// a transaction block started by hand), which returns once the first
/// batch arrived, so that a bad query fails there. Read it batch by batch
/// with [`next_batch`](Self::next_batch), or row by row as a `Stream`
/// (`futures::StreamExt::next`), which fetches the next batch when the
/// last one is used up.
///
/// Several portals may be open at once in one transaction, and read in
/// turns; other queries run between batches. The portal ends with its
/// transaction: after a commit or rollback, asking for another batch fails
/// with [`ErrorKind::NotInTransaction`] (nothing is sent), also once another
/// block was begun by hand. A batch that
/// fails (an error the server raises midway) ends the portal, and, as any
/// error does, fails its transaction.
///
/// Dropped, it is closed on the server (a `Close` queued with nobody
/// waiting; the connection stays in step), so a long transaction does not
/// pile up portals; [`close`](Self::close) does the same and waits. A
/// `next_batch` future dropped midway loses nothing: the batch in flight
/// is handed out by the next call.
///
/// A portal opened in a savepoint (a nested transaction) that is rolled
/// back is destroyed with it: the server then answers the next batch with
/// `34000` (invalid cursor name), which, as any error, fails the
/// enclosing transaction. Read it before rolling the savepoint back.
///
/// A [`Query::timeout`] applies to the opening flight only.
///
/// Read as a `Stream`, the portal drives the connection while a batch is
/// in flight, as a [`RowStream`](crate::RowStream) does: poll the stream's
/// `next()` to its end (or drop the portal) before awaiting another query
/// on the same connection from the same task; `next_batch` has no such
/// rule.
pub struct Portal<'c> {
    client: &'c Client,
    name: String,
    fetch_size: i32,
    /// The rows' description, for the batches after the first (whose
    /// Execute carries no Describe).
    desc: Option<Arc<RowDesc>>,
    /// Rows received and not handed out.
    buffered: VecDeque<Row>,
    /// The Execute of the next batch, in flight.
    pending: Option<Ticket>,
    /// The server said the result is complete (CommandComplete), or a
    /// batch failed: nothing more to fetch.
    done: bool,
    /// Closed by [`Portal::close`]: nothing to do when dropped.
    closed: bool,
    tag: Option<String>,
    /// The count of transaction blocks ended when it opened: a
    /// different count now means its transaction ended (and the portal
    /// with it), even if another block is open now.
    block: u64,
}

impl std::fmt::Debug for Portal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("name", &self.name)
            .field("fetch_size", &self.fetch_size)
            .field("buffered", &self.buffered.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'c> Portal<'c> {
    /// The portal's name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The row limit of each batch fetched.
    pub fn fetch_size(&self) -> u32 {
        u32::try_from(self.fetch_size).unwrap_or(1)
    }

    /// Changes the row limit of the batches fetched from now on (a batch
    /// already in flight keeps its own). 0 is refused.
    pub fn set_fetch_size(&mut self, n: u32) -> Result<(), Error> {
        self.fetch_size = batch_limit(n, "fetch_size")?;
        Ok(())
    }

    /// True once every row was fetched from the server (some may still be
    /// buffered), or a batch failed.
    pub fn is_exhausted(&self) -> bool {
        self.done
    }

    /// The command tag (`SELECT 1000`: rows in the whole result), once the
    /// last batch arrived.
    pub fn command_tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The next batch: the rows buffered if any (the first batch, or what
    /// a `Stream` reader left), else at most `fetch_size` rows from the
    /// server; `None` once the result is exhausted.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, Error> {
        // Dropped midway, this future must not keep the driver role for
        // the batch in flight (which outlives it, in the portal): nobody
        // would drive the connection for the other callers.
        struct Release<'p, 'c>(&'p mut Portal<'c>);
        impl Drop for Release<'_, '_> {
            fn drop(&mut self) {
                if let Some(t) = &self.0.pending {
                    self.0
                        .client
                        .shared
                        .lock()
                        .release_if(Driver::Request(t.id));
                }
            }
        }
        let g = Release(self);
        if !std::future::poll_fn(|cx| g.0.poll_fill(cx)).await? {
            return Ok(None);
        }
        Ok(Some(Vec::from(std::mem::take(&mut g.0.buffered))))
    }

    /// Fetches every remaining row.
    pub async fn collect_all(mut self) -> Result<Vec<Row>, Error> {
        let mut all = Vec::new();
        while let Some(batch) = self.next_batch().await? {
            all.extend(batch);
        }
        Ok(all)
    }

    /// Closes the portal on the server and waits for the answer (what a
    /// drop does without waiting). A portal whose transaction has ended is
    /// gone already: nothing is sent.
    pub async fn close(mut self) -> Result<(), Error> {
        self.closed = true;
        // A batch in flight is abandoned: read and dropped.
        self.pending = None;
        if self.gone() {
            return Ok(());
        }
        self.client.close_portal(&self.name).await
    }

    /// Ready with true once rows are buffered, false once there are none
    /// left; fetches a batch when needed.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        loop {
            if !self.buffered.is_empty() {
                return Poll::Ready(Ok(true));
            }
            if self.done {
                return Poll::Ready(Ok(false));
            }
            if self.pending.is_none() {
                match self.submit_fetch() {
                    Ok(t) => self.pending = Some(t),
                    Err(e) => {
                        self.done = true;
                        return Poll::Ready(Err(e));
                    }
                }
            }
            let Some(ticket) = self.pending.as_mut() else {
                continue;
            };
            let resp = match ticket.poll_done(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            self.pending = None;
            if let Some(e) = resp.error {
                self.done = true;
                return Poll::Ready(Err(e));
            }
            // (A suspended batch always has rows: the limit is at least 1.
            // One without any is taken as the end, never fetched again.)
            self.done = !resp.suspended || resp.rows.is_empty();
            if resp.tag.is_some() {
                self.tag = resp.tag;
            }
            self.buffered = resp.rows;
        }
    }

    /// Its transaction has ended (the session is idle, or another block
    /// began since).
    fn gone(&self) -> bool {
        let st = self.client.shared.lock();
        st.tx_status() == TransactionStatus::Idle || st.tx_ends() != self.block
    }

    /// Queues the Execute of the next batch.
    fn submit_fetch(&self) -> Result<Ticket, Error> {
        let mut st = self.client.shared.lock();
        st.check()?;
        if st.tx_status() == TransactionStatus::Idle || st.tx_ends() != self.block {
            return Err(Error::new(
                ErrorKind::NotInTransaction,
                "the portal's transaction has ended (committed or rolled back), and the \
                 portal with it: fetch every batch before the transaction ends",
            ));
        }
        let mut resp = Response::extended();
        resp.desc = self.desc.clone();
        let id = st.submit(Submit::WHOLE, resp, |w| {
            frontend::execute(&self.name, self.fetch_size, w).map_err(encode_err)
        })?;
        Ok(self.client.ticket(id))
    }
}

impl Stream for Portal<'_> {
    type Item = Result<Row, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.poll_fill(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(false)) => Poll::Ready(None),
            Poll::Ready(Ok(true)) => Poll::Ready(this.buffered.pop_front().map(Ok)),
        }
    }
}

impl Drop for Portal<'_> {
    fn drop(&mut self) {
        // Its transaction has ended (nothing to close, and a portal of
        // the same name would be another's) when the session is idle or
        // another block began.
        if !self.closed && !self.gone() {
            // Queued behind the batch in flight, if any (abandoned next,
            // when `pending` drops).
            self.client.close_portal_later(&self.name);
        }
    }
}

/// A cursor declared with SQL (`DECLARE name NO SCROLL CURSOR ... FOR
/// query`), read with `FETCH FORWARD n`.
///
/// Made by [`Transaction::declare_cursor`](crate::Transaction::declare_cursor),
/// or, declared `WITH HOLD`, by
/// [`Connection::declare_cursor`](crate::Connection::declare_cursor) outside
/// a transaction: a held cursor's rows are computed when its transaction
/// commits and kept by the server until it is closed, so it can be read
/// across transactions. One without `WITH HOLD` ends with its transaction
/// (a fetch after that fails with [`ErrorKind::NotInTransaction`], nothing
/// sent). The name is quoted (any text of 1 to 63 bytes without NUL is a
/// valid name, used as given).
///
/// Dropped, it is closed (a `Close` message for its portal, queued with
/// nobody waiting: unlike the SQL `CLOSE`, it cannot fail, so it never
/// aborts a transaction in progress). A `declare_cursor` future dropped
/// after its `DECLARE` went out (a `select!` that lost) closes the cursor
/// too, if and only if the `DECLARE` succeeded (a cursor of the same name
/// that made it fail is left alone), before any query queued behind it
/// runs: the `DECLARE` is sent as a barrier (what is queued behind it on
/// the connection goes out once it is answered). Behind a transaction pooler
/// (PgBouncer in transaction mode) a held cursor cannot be used outside
/// a transaction: the next transaction may run on another server
/// connection.
///
/// ```no_run
/// # async fn run(conn: &tusk::Connection) -> Result<(), tusk::Error> {
/// let mut cur = conn
///     .declare_cursor("report", "SELECT * FROM events WHERE day = $1", &[&"2024-01-01"], true)
///     .await?;
/// loop {
///     let rows = cur.fetch(500).await?;
///     if rows.is_empty() {
///         break;
///     }
///     // ...
/// }
/// cur.close().await?;
/// # Ok(()) }
/// ```
pub struct Cursor<'c> {
    client: &'c Client,
    name: String,
    quoted: String,
    hold: bool,
    closed: bool,
    /// The count of transaction blocks ended when declared (see
    /// [`Portal`]'s): without hold, a different count means the cursor
    /// ended with its block, and its name may be another cursor's now.
    block: u64,
}

impl std::fmt::Debug for Cursor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("name", &self.name)
            .field("hold", &self.hold)
            .finish_non_exhaustive()
    }
}

impl<'c> Cursor<'c> {
    /// The cursor's name, as given (unquoted).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Declared `WITH HOLD`.
    pub fn is_held(&self) -> bool {
        self.hold
    }

    /// Fetches the next `n` rows (`FETCH FORWARD n`); fewer at the end,
    /// none once the cursor is exhausted. 0 is refused.
    pub async fn fetch(&mut self, n: u32) -> Result<Vec<Row>, Error> {
        batch_limit(n, "a fetch count")?;
        self.run_fetch(&format!("FETCH FORWARD {n} FROM {}", self.quoted))
            .await
    }

    /// Fetches every remaining row (`FETCH ALL`).
    pub async fn fetch_all(&mut self) -> Result<Vec<Row>, Error> {
        self.run_fetch(&format!("FETCH ALL FROM {}", self.quoted))
            .await
    }

    /// Declared without hold and its transaction has ended.
    fn gone(&self) -> bool {
        let st = self.client.shared.lock();
        !self.hold && (st.tx_status() == TransactionStatus::Idle || st.tx_ends() != self.block)
    }

    async fn run_fetch(&self, sql: &str) -> Result<Vec<Row>, Error> {
        if self.gone() {
            return Err(Error::new(
                ErrorKind::NotInTransaction,
                format!(
                    "cursor {} was declared without WITH HOLD and its transaction has ended, \
                     and the cursor with it",
                    self.quoted
                ),
            ));
        }
        // Uncached: the text names this very cursor.
        self.client.query(&Query::new(sql).uncached(), &[]).await
    }

    /// Closes the cursor on the server and waits (a `Close` message: a
    /// cursor already gone is no error).
    pub async fn close(mut self) -> Result<(), Error> {
        self.closed = true;
        if self.gone() {
            return Ok(());
        }
        self.client.close_portal(&self.name).await
    }
}

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        if !self.closed && !self.gone() {
            self.client.close_portal_later(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_and_checked() {
        assert_eq!(quote_ident("c"), "\"c\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert!(check_name("").is_err());
        assert!(check_name("a\0b").is_err());
        assert!(check_name(&"x".repeat(64)).is_err());
        assert!(check_name(&"x".repeat(63)).is_ok());
        assert!(check_name("Робот \"; DROP TABLE t; --").is_ok());
    }

    #[test]
    fn limits() {
        assert!(batch_limit(0, "n").is_err());
        assert_eq!(batch_limit(1, "n").ok(), Some(1));
        assert_eq!(batch_limit(u32::MAX, "n").ok(), Some(i32::MAX));
    }
}
