//! The public connection handle.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

use crate::cancel::CancelToken;
use crate::client::Client;
use crate::engine::Shared;
use crate::error::Error;
use crate::notify::{Notice, Notices, Notification, Notifications};
use crate::transaction::{Transaction, TransactionOptions};

/// Where the session stands with respect to transactions (from the last ReadyForQuery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Not in a transaction block.
    Idle,
    /// In a transaction block.
    InTransaction,
    /// In a failed transaction block (statements are refused until ROLLBACK).
    Failed,
}

/// A connection to PostgreSQL.
///
/// Share it between tasks by reference (or `Arc`): queries from concurrent
/// callers are pipelined automatically, their writes coalesced, each with
/// its own Sync so one caller's error never disturbs another's. No task
/// needs to be spawned: whichever caller waits drives the connection.
/// Query methods come from the [`Executor`](crate::Executor) trait.
pub struct Connection {
    client: Client,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("process_id", &self.process_id())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    pub(crate) fn from_shared(
        shared: Arc<Shared>,
        types: Arc<crate::types::registry::TypeCache>,
    ) -> Connection {
        Connection {
            client: Client { shared, types },
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Connects with a URL or `key=value` string (see [`crate::connect`]).
    pub async fn connect(url: &str) -> Result<Connection, Error> {
        crate::connect(url).await
    }

    /// Starts a transaction (`BEGIN`).
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        Transaction::begin(&self.client, TransactionOptions::default()).await
    }

    /// Starts a transaction with an isolation level, read-only or deferrable mode.
    pub async fn transaction_with(
        &mut self,
        opts: TransactionOptions,
    ) -> Result<Transaction<'_>, Error> {
        Transaction::begin(&self.client, opts).await
    }

    /// Opens a portal for `query` and fetches its first batch (see
    /// [`Portal`](crate::Portal)). A portal lives as long as its
    /// transaction: this is for a transaction block begun by hand
    /// (`BEGIN`); with the session idle it fails with
    /// [`ErrorKind::NotInTransaction`](crate::ErrorKind::NotInTransaction)
    /// and nothing is sent. [`Transaction::query_portal`] is the usual way.
    pub async fn query_portal<'a>(
        &'a self,
        query: impl crate::IntoQuery<'a>,
        params: &'a [crate::Param<'a>],
        fetch_size: u32,
    ) -> Result<crate::Portal<'a>, Error> {
        self.client
            .query_portal(&query.into_query(), params, fetch_size)
            .await
    }

    /// `DECLARE`s a cursor named `name` (quoted: used as given) for `sql`
    /// with `params` (see [`Cursor`](crate::Cursor)). Outside a transaction
    /// block only a held cursor (`hold`: `WITH HOLD`) can exist; without
    /// `hold` this fails with
    /// [`ErrorKind::NotInTransaction`](crate::ErrorKind::NotInTransaction)
    /// when the session is idle.
    pub async fn declare_cursor(
        &self,
        name: &str,
        sql: &str,
        params: &[crate::Param<'_>],
        hold: bool,
    ) -> Result<crate::Cursor<'_>, Error> {
        self.client.declare_cursor(name, sql, params, hold).await
    }

    /// Starts a `COPY ... FROM STDIN` and returns its data sink, once the
    /// server is ready for the data (see [`crate::copy`]).
    pub async fn copy_in(&self, sql: &str) -> Result<crate::copy::CopyInSink<'_>, Error> {
        self.client.copy_in(sql).await
    }

    /// Starts a `COPY ... TO STDOUT` and returns the stream of its data
    /// (see [`crate::copy`]).
    pub async fn copy_out(&self, sql: &str) -> Result<crate::copy::CopyOutStream<'_>, Error> {
        self.client.copy_out(sql).await
    }

    /// A token that cancels this connection's running query from anywhere
    /// (until [`revoke_cancel_tokens`](Connection::revoke_cancel_tokens)).
    pub fn cancel_token(&self) -> CancelToken {
        CancelToken {
            target: self.client.shared.cancel.clone(),
            shared: Arc::downgrade(&self.client.shared),
            epoch: Some(self.client.shared.lock().cancel_epoch()),
        }
    }

    /// The backend's process id (`pg_backend_pid()`).
    pub fn process_id(&self) -> i32 {
        self.client.shared.cancel.process_id
    }

    /// A run-time parameter the server reported (`server_version`,
    /// `TimeZone`, `DateStyle`, `integer_datetimes`, `in_hot_standby`, ...),
    /// kept current as the server reports changes.
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.client.shared.lock().parameter(name)
    }

    /// The server version string (`server_version`).
    pub fn server_version(&self) -> Option<String> {
        self.parameter("server_version")
    }

    /// Replaces the notice handler (the default logs notices with `tracing`).
    pub fn set_notice_handler(&self, handler: impl Fn(&Notice) + Send + Sync + 'static) {
        self.client
            .shared
            .lock()
            .set_notice_handler(Some(Arc::new(handler)));
    }

    /// Forgets the types that are not built in (enums, composites,
    /// domains, ranges, extension types) looked up for this connection's
    /// database, for every connection sharing its type registry (a pool's):
    /// call it after `ALTER TYPE` (a new enum label, a new attribute) made
    /// on another connection. DDL on this connection, and the server's
    /// `26000`/`0A000` stale-plan errors, clear it by themselves.
    pub fn clear_type_cache(&self) {
        self.client.types.clear();
    }

    /// How many `pg_type` lookups the connections sharing this
    /// connection's type cache (the same database, through the same
    /// [`TypeRegistry`](crate::types::TypeRegistry)) have made.
    pub fn type_lookups(&self) -> u64 {
        self.client.types.lookups()
    }

    /// The transaction status from the last ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.client.shared.lock().tx_status()
    }

    /// Prepares `sql` into the automatic statement cache (Parse and
    /// Describe, nothing executed), so that its first run with parameters
    /// sends Bind/Execute only. Concurrent calls share one flight. A no-op
    /// when the cache already holds `sql`, or in pooler mode; an error when
    /// the server refuses the SQL (the statement then leaves the cache).
    ///
    /// ```no_run
    /// # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
    /// use tusk::Executor;
    /// let sql = "SELECT name FROM users WHERE id = $1";
    /// conn.prepare_cached(sql).await?;
    /// let row = conn.query_one(sql, &[&1i64]).await?; // Bind/Execute only
    /// # let _ = row; Ok(()) }
    /// ```
    pub async fn prepare_cached(&self, sql: &str) -> Result<(), Error> {
        self.client.prepare_cached(sql).await
    }

    /// Requests sent or queued on this connection and not answered yet
    /// (0 when it is idle): concurrent callers, dropped futures whose
    /// answers are still being drained, statements queued to close.
    pub fn in_flight(&self) -> usize {
        self.client.shared.lock().in_flight()
    }

    /// Bytes of protocol messages written to the server since the
    /// connection opened (before TLS framing).
    pub fn bytes_sent(&self) -> u64 {
        self.client.shared.lock().bytes_sent()
    }

    /// Bytes read from the server since the connection opened (after TLS
    /// decryption).
    pub fn bytes_received(&self) -> u64 {
        self.client.shared.lock().bytes_received()
    }

    /// True once the connection is broken or closed.
    pub fn is_closed(&self) -> bool {
        self.client.shared.lock().broken().is_some()
    }

    /// A one-line summary of the engine's state, for diagnostics.
    #[doc(hidden)]
    pub fn debug_state(&self) -> String {
        self.client.shared.lock().debug_state()
    }

    /// Statements in the statement cache.
    pub fn cached_statements(&self) -> usize {
        self.client.shared.lock().cache().len()
    }

    /// Drops every cached statement (they are closed on the server with the next query).
    pub fn clear_statement_cache(&self) {
        self.client.shared.lock().cache_mut().clear();
    }

    /// Waits for the next `NOTIFY` on a channel this connection `LISTEN`s to.
    ///
    /// Notifications are queued per connection as they arrive, so none is
    /// lost between two calls (see [`notifications`](Connection::notifications)
    /// for a stream, and what a pool does with the queue). Cancel-safe:
    /// dropping the future (a timeout) loses nothing.
    pub async fn next_notification(&self) -> Result<Notification, Error> {
        let mut stream = self.notifications();
        poll_fn(|cx| stream.poll_one(cx)).await.unwrap_or_else(|| {
            Err(Error::new(
                crate::error::ErrorKind::Other,
                "the session was reset for a new user while waiting for a notification",
            ))
        })
    }

    /// The notifications of this connection as a `Stream` of
    /// `Result<Notification, Error>`: every `NOTIFY` on a channel the
    /// session `LISTEN`s to, in the server's order; the connection's error
    /// once it closes or breaks, then the end.
    ///
    /// The queue is per connection (the server delivers to sessions), and
    /// notifications that arrived before the stream was made are in it. On
    /// a pooled connection the pool's reset on return runs `UNLISTEN *` and
    /// clears the queue, so `LISTEN` on a connection of your own; the
    /// `tusk::listen::Listener` (feature `listen`) keeps one, reconnects and
    /// re-`LISTEN`s for you.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), tusk::Error> {
    /// use futures_util::StreamExt;
    /// use tusk::Executor;
    ///
    /// let conn = tusk::connect("postgresql://app@localhost/app").await?;
    /// conn.execute("LISTEN jobs", &[]).await?;
    /// let mut stream = conn.notifications(); // owns a handle: can be moved to a task
    /// conn.execute("NOTIFY jobs, 'hello'", &[]).await?;
    /// let n = stream.next().await.expect("a notification or an error")?;
    /// assert_eq!((n.channel.as_str(), n.payload.as_str()), ("jobs", "hello"));
    /// # Ok(()) }
    /// ```
    pub fn notifications(&self) -> Notifications {
        Notifications::new(self.client.shared.clone())
    }

    /// The notices the server sends on this connection (`RAISE NOTICE`,
    /// `WARNING`s) as a stream, instead of the default `tracing` log;
    /// replaces the [`set_notice_handler`](Connection::set_notice_handler)
    /// callback. Notices arrive as the connection reads (with the queries
    /// that raise them). A consumer that falls [`Notices::CAPACITY`]
    /// behind loses the newest, counted in [`Notices::dropped`].
    ///
    /// ```no_run
    /// # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
    /// use tusk::Executor;
    /// let mut notices = conn.notices();
    /// conn.execute_script("DO $$ BEGIN RAISE NOTICE 'hi'; END $$").await?;
    /// assert_eq!(notices.recv().await.map(|n| n.message), Some("hi".into()));
    /// # Ok(()) }
    /// ```
    pub fn notices(&self) -> Notices {
        Notices::install(&self.client.shared)
    }

    /// Waits until every request sent on this connection has been answered
    /// (including queued rollbacks of dropped transactions).
    pub async fn wait_idle(&self) -> Result<(), Error> {
        let shared = &self.client.shared;
        poll_fn(|cx| {
            match shared.poll_external(cx, |st| st.is_idle(), |st, w| st.add_idle_waker(w)) {
                Poll::Ready(st) => Poll::Ready(match st.broken() {
                    Some(e) => Err(e.clone()),
                    None => Ok(()),
                }),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Closes the connection politely: waits for requests in flight, then
    /// sends Terminate.
    pub async fn close(self) -> Result<(), Error> {
        let r = self.wait_idle().await;
        terminate(&self.client);
        r
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // (A session reset queued and not sent is not worth sending now.)
        let idle = self.client.shared.lock().nothing_to_send();
        if idle {
            terminate(&self.client);
        }
    }
}

/// Sends Terminate without waiting (best effort) and marks the connection closed.
fn terminate(client: &Client) {
    let mut guard = client.shared.lock();
    let st = &mut *guard;
    if st.broken().is_none() {
        let mut out = bytes::BytesMut::new();
        postgres_protocol::message::frontend::terminate(&mut out);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let _ = st.io.poll_write(&mut cx, &mut out);
        st.fail(Error::closed());
    }
}

impl crate::Executor for Connection {
    fn run<'a>(
        &'a self,
        request: crate::executor::Request<'a>,
    ) -> impl std::future::Future<Output = Result<crate::executor::Reply, Error>> + Send + 'a {
        crate::executor::run_on(self.client(), request)
    }
}

impl crate::Prepare for Connection {
    fn prepare_typed<'a>(
        &'a self,
        sql: &'a str,
        types: &'a [crate::Type],
    ) -> impl std::future::Future<Output = Result<crate::Statement, Error>> + Send + 'a {
        self.client().prepare(sql, types)
    }
}
