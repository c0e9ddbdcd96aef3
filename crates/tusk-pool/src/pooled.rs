//! The handle `acquire` gives: a connection of one's own until dropped.

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::{Error, ErrorKind, TransactionOptions};

use crate::conn::{Conn, HandleState};
use crate::inner::Inner;
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
pub struct PooledConnection {
    pub(crate) inner: Arc<Inner>,
    pub(crate) conn: Option<Conn>,
    pub(crate) state: HandleState,
}

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledConnection")
            .field("id", &self.conn.as_ref().map(|c| c.meta.id))
            .field(
                "process_id",
                &self.conn.as_ref().map(|c| c.conn.process_id()),
            )
            .finish()
    }
}

impl PooledConnection {
    pub(crate) fn new(inner: Arc<Inner>, conn: Conn) -> PooledConnection {
        let state = HandleState::default();
        state
            .sticky
            .store(conn.sticky.0, std::sync::atomic::Ordering::Relaxed);
        PooledConnection {
            inner,
            conn: Some(conn),
            state,
        }
    }

    pub(crate) fn meta(&self) -> &Arc<crate::conn::ConnMeta> {
        // Invariant: `conn` is only taken in Drop.
        &self
            .conn
            .as_ref()
            .expect("a PooledConnection holds its connection until dropped")
            .meta
    }

    /// A token that cancels this holder's running query from anywhere. It
    /// is revoked when the connection goes back to the pool: kept longer,
    /// it cancels nothing (never the next holder's query).
    pub fn cancel_token(&self) -> tusk::CancelToken {
        self.conn().cancel_token()
    }

    fn conn(&self) -> &tusk::Connection {
        // Invariant: `conn` is only taken in Drop.
        &self
            .conn
            .as_ref()
            .expect("a PooledConnection holds its connection until dropped")
            .conn
    }

    /// The pool's id for this connection (stable for its lifetime; shown in logs).
    pub fn id(&self) -> u64 {
        self.conn.as_ref().map_or(0, |c| c.meta.id)
    }

    /// The time left before this connection's maximum lifetime (it is
    /// closed when it comes back after that), if it has one.
    pub fn expires_in(&self) -> Option<Duration> {
        let e = self.conn.as_ref()?.expires?;
        Some(e.saturating_duration_since(Instant::now()))
    }

    /// Closes the connection instead of returning it to the pool.
    pub fn close(self) {
        self.state.set_evict(crate::metrics::CloseReason::Evicted);
    }

    /// Starts a transaction (`BEGIN`) with the server's defaults.
    pub async fn transaction(&mut self) -> Result<PooledTransaction<'_>, Error> {
        self.transaction_with(TransactionOptions::default()).await
    }

    /// Starts a transaction with an isolation level, read-only or deferrable mode.
    pub async fn transaction_with(
        &mut self,
        opts: TransactionOptions,
    ) -> Result<PooledTransaction<'_>, Error> {
        let PooledConnection { inner, conn, state } = self;
        let c = conn.as_mut().ok_or_else(|| {
            Error::new(
                ErrorKind::Closed,
                "the pooled connection was already returned",
            )
        })?;
        let raw = Arc::get_mut(&mut c.conn).ok_or_else(|| {
            Error::new(
                ErrorKind::Other,
                "this connection is shared by the pool's query methods; acquire one for a transaction",
            )
        })?;
        let meta = c.meta.clone();
        let tx = match raw.transaction_with(opts).await {
            Ok(tx) => tx,
            Err(e) => {
                crate::observe::on_error(inner, state, &e);
                return Err(e);
            }
        };
        Ok(PooledTransaction {
            tx,
            inner,
            state,
            meta,
        })
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
        if let Some(c) = self.conn.take() {
            let s = &self.state;
            let mut c = c;
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
        observe::run_request(&self.inner, &self.state, self.meta(), self.conn(), request)
    }
}

impl tusk::Prepare for PooledConnection {
    fn prepare_typed<'a>(
        &'a self,
        sql: &'a str,
        types: &'a [tusk::Type],
    ) -> impl std::future::Future<Output = Result<tusk::Statement, Error>> + Send + 'a {
        observe::prepare(&self.inner, &self.state, self.conn(), sql, types)
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
        observe::run_request(self.inner, self.state, &self.meta, &self.tx, request)
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
