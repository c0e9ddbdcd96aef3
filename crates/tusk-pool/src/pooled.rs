//! The handle `acquire` gives: a connection of one's own until dropped.

use std::ops::Deref;
use std::panic::Location;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tusk::{Error, ErrorKind, TransactionOptions};

use crate::conn::{Conn, HandleState};
use crate::inner::Inner;
use crate::metrics::CloseReason;
use crate::observe;

/// A connection taken from the pool; it goes back when dropped.
///
/// Run queries on it through [`tusk::Executor`] exactly as on a
/// [`tusk::Connection`] (it derefs to one for everything else:
/// `process_id`, `cancel_token`, `next_notification`, ...). On return, an
/// open transaction is rolled back and session state its statements
/// changed is reset (docs/pool.md); a broken connection is closed.
///
/// Statements run through the `Deref` target directly (`(*conn).query(..)`)
/// bypass the pool's bookkeeping: their session changes are not reset.
///
/// The first statement carries the session reset of the connection's
/// previous holder. If that reset fails (the server refused it, or an
/// administrator terminated the backend), the statement provably did not
/// run: it runs again on another connection swapped in under this handle
/// (docs/pool.md, "Reset on return"), and [`id`](Self::id) changes.
pub struct PooledConnection {
    pub(crate) inner: Arc<Inner>,
    pub(crate) conn: Option<Conn>,
    /// Connections swapped in, in order, when the first statement found
    /// the connection before it unusable (its carried session reset
    /// failed: the statement provably did not run); the last is in use,
    /// the others are already closed and counted out of the pool.
    swapped: OnceLock<Box<Link>>,
    /// One swap at a time.
    swapping: tokio::sync::Mutex<()>,
    /// The connection in use was counted out of the pool and no other
    /// could be had: nothing goes back on drop.
    lost: AtomicBool,
    location: &'static Location<'static>,
    pub(crate) state: HandleState,
}

/// A connection swapped in (see [`PooledConnection::swapped`]).
struct Link {
    conn: Conn,
    next: OnceLock<Box<Link>>,
}

impl Link {
    fn last_mut(&mut self) -> &mut Conn {
        if self.next.get().is_some() {
            match self.next.get_mut() {
                Some(n) => n.last_mut(),
                None => &mut self.conn,
            }
        } else {
            &mut self.conn
        }
    }
}

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledConnection")
            .field("id", &self.active().map(|c| c.meta.id))
            .field("process_id", &self.active().map(|c| c.conn.process_id()))
            .finish()
    }
}

impl PooledConnection {
    pub(crate) fn new(
        inner: Arc<Inner>,
        conn: Conn,
        location: &'static Location<'static>,
    ) -> PooledConnection {
        let state = HandleState::default();
        state.sticky.store(conn.sticky.0, Relaxed);
        PooledConnection {
            inner,
            conn: Some(conn),
            swapped: OnceLock::new(),
            swapping: tokio::sync::Mutex::new(()),
            lost: AtomicBool::new(false),
            location,
            state,
        }
    }

    /// The connection in use: the last one swapped in, else the first.
    fn active(&self) -> Option<&Conn> {
        let mut c = self.conn.as_ref()?;
        let mut next = &self.swapped;
        while let Some(l) = next.get() {
            c = &l.conn;
            next = &l.next;
        }
        Some(c)
    }

    /// The connection in use, from the fields (so the others stay free).
    fn active_mut<'a>(
        conn: &'a mut Option<Conn>,
        swapped: &'a mut OnceLock<Box<Link>>,
    ) -> Option<&'a mut Conn> {
        if swapped.get().is_some() {
            return swapped.get_mut().map(|l| l.last_mut());
        }
        conn.as_mut()
    }

    fn held(&self) -> &Conn {
        // Invariant: `conn` is only taken in Drop.
        self.active()
            .expect("a PooledConnection holds its connection until dropped")
    }

    /// Replaces the connection `failed` (the one in use, whose carried
    /// reset failed: closed by the driver) with another from the pool.
    /// The failed one is counted out of the pool first, so a pool at
    /// `max_size` has room for its replacement.
    async fn swap(&self, failed: u64) -> Result<(), Error> {
        let _one = self.swapping.lock().await;
        let old = self.held();
        if old.meta.id != failed || self.lost.load(Relaxed) {
            // Swapped already (by a request running beside this one).
            return if self.lost.load(Relaxed) {
                Err(Error::new(
                    ErrorKind::Connection,
                    "this pooled connection's session could not be reset, and no other connection could be had",
                ))
            } else {
                Ok(())
            };
        }
        self.inner.forget(old, CloseReason::ResetFailed);
        self.lost.store(true, Relaxed);
        let c = crate::acquire::acquire(&self.inner, self.location).await?;
        // What the failed statement marked was about the old connection.
        self.state.evict.store(0, Relaxed);
        self.state.sticky.fetch_or(c.sticky.0, Relaxed);
        let mut tail = &self.swapped;
        while let Some(l) = tail.get() {
            tail = &l.next;
        }
        if let Err(link) = tail.set(Box::new(Link {
            conn: c,
            next: OnceLock::new(),
        })) {
            // (Unreachable: swaps are serialized.)
            self.inner
                .release(link.conn, crate::conn::Returned::default());
            return Ok(());
        }
        self.lost.store(false, Relaxed);
        Ok(())
    }

    /// Whether a request may run again on another connection (see
    /// [`first_use`](Self::first_use)): a statement prepared on this
    /// connection would not exist on the next, so requests by prepared
    /// statement are not run again.
    fn rerunnable(request: &tusk::executor::Request<'_>) -> bool {
        use tusk::executor::Request;
        match request {
            Request::Query(q, _) | Request::Stream(q, _) | Request::Execute(q, _) => {
                q.sql().is_some()
            }
            Request::Simple(_) => true,
            Request::Batch(b) => b.statements().all(|(q, _)| q.sql().is_some()),
        }
    }

    /// Runs `op` (a first use of the connection: a statement, a COPY, a
    /// prepare, a held cursor) on the connection in use; if it failed
    /// because the session reset carried in front of it failed (the
    /// server provably skipped it, [`Error::not_run`]), nothing of this
    /// checkout ran before it and it is `rerunnable`, it runs again on
    /// another connection swapped in under this handle (docs/pool.md,
    /// "Reset on return"). `op` must send nothing the server would act on
    /// before that answer is in (a COPY's data goes out only once the
    /// server switched to COPY mode).
    async fn first_use<'s, T, F>(
        &'s self,
        rerunnable: bool,
        op: impl Fn(&'s Conn) -> F,
    ) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>>,
    {
        let mut retries = self.inner.hot.max_size.load(Relaxed);
        loop {
            let c = self.held();
            match op(c).await {
                Err(e)
                    if rerunnable
                        && retries > 0
                        && e.not_run()
                        && !self.state.answered.load(Relaxed) =>
                {
                    retries -= 1;
                    self.inner.metrics.retries.fetch_add(1, Relaxed);
                    tracing::debug!(error = %e, "the session reset in front of a pooled connection's first use failed; running it on another connection");
                    self.swap(c.meta.id).await?;
                }
                r => {
                    if r.is_ok() {
                        self.state.answered.store(true, Relaxed);
                    }
                    return r;
                }
            }
        }
    }

    /// Starts a `COPY ... FROM STDIN` and returns its data sink (see
    /// [`tusk::copy`]). As the checkout's first use, the COPY carries the
    /// previous holder's session reset; if that failed, the COPY provably
    /// did not start (no data was sent: the sink exists only once the
    /// server is ready for it) and starts again on another connection
    /// swapped in under this handle.
    pub async fn copy_in(&self, sql: &str) -> Result<tusk::copy::CopyInSink<'_>, Error> {
        self.first_use(true, |c| c.conn.copy_in(sql)).await
    }

    /// Starts a `COPY ... TO STDOUT` and returns the stream of its data
    /// (see [`tusk::copy`]); behind a failed carried reset it starts again
    /// on another connection, as [`copy_in`](Self::copy_in) does.
    pub async fn copy_out(&self, sql: &str) -> Result<tusk::copy::CopyOutStream<'_>, Error> {
        self.first_use(true, |c| c.conn.copy_out(sql)).await
    }

    /// Prepares `sql` into the connection's statement cache (see
    /// [`tusk::Connection::prepare_cached`]); behind a failed carried
    /// reset it runs again on another connection, as a first statement
    /// does.
    pub async fn prepare_cached(&self, sql: &str) -> Result<(), Error> {
        self.first_use(true, |c| c.conn.prepare_cached(sql)).await
    }

    /// `DECLARE`s a cursor (see [`tusk::Connection::declare_cursor`]);
    /// behind a failed carried reset it is declared again on another
    /// connection, as a first statement runs. Outside a transaction only
    /// a held cursor (`hold`) can exist; its `DECLARE ... WITH HOLD` is
    /// seen by the reset on return (`CLOSE ALL`).
    pub async fn declare_cursor(
        &self,
        name: &str,
        sql: &str,
        params: &[tusk::Param<'_>],
        hold: bool,
    ) -> Result<tusk::Cursor<'_>, Error> {
        self.state
            .mark(crate::reset::scan(sql).union(crate::reset::Dirty::CURSOR));
        self.first_use(true, |c| c.conn.declare_cursor(name, sql, params, hold))
            .await
    }

    /// A token that cancels this holder's running query from anywhere. It
    /// is revoked when the connection goes back to the pool: kept longer,
    /// it cancels nothing (never the next holder's query).
    pub fn cancel_token(&self) -> tusk::CancelToken {
        self.conn().cancel_token()
    }

    fn conn(&self) -> &tusk::Connection {
        &self.held().conn
    }

    /// The pool's id for this connection (stable for its lifetime; shown
    /// in logs). It changes if the first statement found the connection's
    /// session reset failed and another connection was swapped in.
    pub fn id(&self) -> u64 {
        self.active().map_or(0, |c| c.meta.id)
    }

    /// The time left before this connection's maximum lifetime (it is
    /// closed when it comes back after that), if it has one.
    pub fn expires_in(&self) -> Option<Duration> {
        let e = self.active()?.expires?;
        Some(e.saturating_duration_since(Instant::now()))
    }

    /// Closes the connection instead of returning it to the pool.
    pub fn close(self) {
        self.state.set_evict(CloseReason::Evicted);
    }

    /// Starts a transaction (`BEGIN`) with the server's defaults.
    pub async fn transaction(&mut self) -> Result<PooledTransaction<'_>, Error> {
        self.transaction_with(TransactionOptions::default()).await
    }

    /// Starts a transaction with an isolation level, read-only or deferrable mode.
    ///
    /// As the checkout's first statement, its `BEGIN` carries the previous
    /// holder's session reset; if that failed, the `BEGIN` provably did
    /// not run and runs again on another connection swapped in under this
    /// handle, as any first statement does.
    pub async fn transaction_with(
        &mut self,
        opts: TransactionOptions,
    ) -> Result<PooledTransaction<'_>, Error> {
        // A connection of its own, checked before anything is sent.
        {
            let c = Self::active_mut(&mut self.conn, &mut self.swapped)
                .ok_or_else(Self::returned_error)?;
            if Arc::get_mut(&mut c.conn).is_none() {
                return Err(Self::shared_error());
            }
        }
        // The BEGIN through this handle's executor (which runs a first
        // statement again behind a failed reset); if this future is
        // dropped before the answer, a ROLLBACK is queued behind it.
        let begun = {
            let mut guard = RollbackUnlessBegun(Some(self));
            let r = tusk::Executor::execute_script(self, &opts.begin_sql()).await;
            guard.0 = None;
            r
        };
        begun?;
        let PooledConnection {
            inner,
            conn,
            swapped,
            state,
            ..
        } = self;
        let c = Self::active_mut(conn, swapped).ok_or_else(Self::returned_error)?;
        let meta = c.meta.clone();
        if Arc::get_mut(&mut c.conn).is_none() {
            // (Unreachable: it was checked above, and `self` is borrowed.)
            c.conn.queue_rollback();
            return Err(Self::shared_error());
        }
        let Some(raw) = Arc::get_mut(&mut c.conn) else {
            return Err(Self::shared_error());
        };
        let tx = raw.transaction_begun()?;
        Ok(PooledTransaction {
            tx,
            inner,
            state,
            meta,
        })
    }

    fn returned_error() -> Error {
        Error::new(
            ErrorKind::Closed,
            "the pooled connection was already returned",
        )
    }

    fn shared_error() -> Error {
        Error::new(
            ErrorKind::Other,
            "this connection is shared by the pool's query methods; acquire one for a transaction",
        )
    }
}

/// Queues a `ROLLBACK` on the connection in use when dropped: for a
/// `BEGIN` whose future was dropped before its answer (forgotten once
/// the answer is in).
struct RollbackUnlessBegun<'a>(Option<&'a PooledConnection>);

impl Drop for RollbackUnlessBegun<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0.take().and_then(|p| p.active()) {
            c.conn.queue_rollback();
        }
    }
}

impl Deref for PooledConnection {
    type Target = tusk::Connection;

    fn deref(&self) -> &tusk::Connection {
        self.conn()
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        // Every connection but the last swapped in was counted out of the
        // pool when it was swapped out (and closed by the driver).
        let mut active = self.conn.take();
        let mut next = self.swapped.take();
        while let Some(mut link) = next {
            next = link.next.take();
            active = Some(link.conn);
        }
        if self.lost.load(Relaxed) {
            return;
        }
        if let Some(mut c) = active {
            let s = &self.state;
            c.sticky = s.sticky();
            self.inner.release(c, s.returned());
        }
    }
}

impl tusk::Executor for PooledConnection {
    fn run<'a>(
        &'a self,
        request: tusk::executor::Request<'a>,
    ) -> impl std::future::Future<Output = Result<tusk::executor::Reply, Error>> + Send + 'a {
        // Boxed, see `Pool`'s `run`: the driver's query methods copy an
        // inline future several times over.
        Box::pin(async move {
            // The first statement of a checkout carries the session reset;
            // if that failed, the statement provably did not run and runs
            // again on another connection.
            self.first_use(Self::rerunnable(&request), |c| {
                observe::run_request(&self.inner, &self.state, &c.meta, &*c.conn, request.clone())
            })
            .await
        })
    }
}

impl tusk::Prepare for PooledConnection {
    fn prepare_typed<'a>(
        &'a self,
        sql: &'a str,
        types: &'a [tusk::Type],
    ) -> impl std::future::Future<Output = Result<tusk::Statement, Error>> + Send + 'a {
        // Behind a failed carried reset, prepared again on the connection
        // swapped in (the statement belongs to the connection it is
        // prepared on, which is then the one in use).
        self.first_use(true, move |c| {
            observe::prepare(&self.inner, &self.state, &*c.conn, sql, types)
        })
    }
}

/// A transaction on a pooled connection (or, nested, a savepoint). Ends
/// with [`commit`](Self::commit) or [`rollback`](Self::rollback); dropped
/// without either, it rolls back.
pub struct PooledTransaction<'c> {
    pub(crate) tx: tusk::Transaction<'c>,
    pub(crate) inner: &'c Inner,
    pub(crate) state: &'c HandleState,
    pub(crate) meta: Arc<crate::conn::ConnMeta>,
}

impl std::fmt::Debug for PooledTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledTransaction").finish_non_exhaustive()
    }
}

impl<'c> PooledTransaction<'c> {
    /// Starts a `COPY ... FROM STDIN` in this transaction (see
    /// [`tusk::copy`]); rolled back with it.
    pub async fn copy_in(&self, sql: &str) -> Result<tusk::copy::CopyInSink<'_>, Error> {
        self.tx.copy_in(sql).await
    }

    /// Starts a `COPY ... TO STDOUT` in this transaction (see [`tusk::copy`]).
    pub async fn copy_out(&self, sql: &str) -> Result<tusk::copy::CopyOutStream<'_>, Error> {
        self.tx.copy_out(sql).await
    }

    /// Opens a portal for `query` in this transaction and fetches its
    /// first batch of at most `fetch_size` rows; the next batches come on
    /// demand (see [`tusk::Portal`]). Behind a transaction pooler too: the
    /// transaction keeps its server connection.
    pub async fn query_portal<'a>(
        &'a self,
        query: impl tusk::IntoQuery<'a>,
        params: &'a [tusk::Param<'a>],
        fetch_size: u32,
    ) -> Result<tusk::Portal<'c>, Error> {
        self.tx.query_portal(query, params, fetch_size).await
    }

    /// `DECLARE`s a cursor named `name` for `sql` in this transaction
    /// (`hold`: `WITH HOLD`; see [`tusk::Cursor`]).
    pub async fn declare_cursor(
        &self,
        name: &str,
        sql: &str,
        params: &[tusk::Param<'_>],
        hold: bool,
    ) -> Result<tusk::Cursor<'c>, Error> {
        self.tx.declare_cursor(name, sql, params, hold).await
    }

    /// Starts a nested transaction (a savepoint).
    pub async fn transaction(&mut self) -> Result<PooledTransaction<'_>, Error> {
        let tx = self.tx.transaction().await?;
        Ok(PooledTransaction {
            tx,
            inner: self.inner,
            state: self.state,
            meta: self.meta.clone(),
        })
    }

    /// Commits (or releases the savepoint).
    pub async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await
    }

    /// Rolls back (to the savepoint, for a nested transaction).
    pub async fn rollback(self) -> Result<(), Error> {
        self.tx.rollback().await
    }
}

impl tusk::Executor for PooledTransaction<'_> {
    fn run<'a>(
        &'a self,
        request: tusk::executor::Request<'a>,
    ) -> impl std::future::Future<Output = Result<tusk::executor::Reply, Error>> + Send + 'a {
        Box::pin(observe::run_request(
            self.inner, self.state, &self.meta, &self.tx, request,
        ))
    }
}

impl tusk::Prepare for PooledTransaction<'_> {
    fn prepare_typed<'a>(
        &'a self,
        sql: &'a str,
        types: &'a [tusk::Type],
    ) -> impl std::future::Future<Output = Result<tusk::Statement, Error>> + Send + 'a {
        observe::prepare(self.inner, self.state, &self.tx, sql, types)
    }
}
