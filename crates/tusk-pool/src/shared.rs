//! The pool's own query methods (`tusk::Executor for Pool`): one statement
//! per checkout, and connections shared between callers once the pool is
//! full, so many tasks pipeline their statements on few connections.
//!
//! A caller takes an idle connection, or opens one below `max_size`; when
//! the pool is full it joins the least-loaded connection already serving
//! the pool's query methods (up to `max_pipeline_depth` callers each)
//! instead of waiting, unless an `acquire` caller is queued (FIFO: queued
//! acquirers go first, so sharing never starves them). A statement that
//! may change session state runs on a connection of its own, which is
//! reset when it comes back, so shared connections never carry session state.

use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::{Error, ErrorKind, Executor};

use crate::acquire;
use crate::conn::{Conn, HandleState};
use crate::inner::Inner;
use crate::metrics::CloseReason;
use crate::observe;
use crate::Pool;

/// A connection serving the pool's query methods, with its users.
pub(crate) struct SharedEntry {
    pub(crate) conn: Conn,
    pub(crate) users: usize,
    pub(crate) evict: Option<CloseReason>,
    pub(crate) interrupted: bool,
}

/// One caller's use of a shared connection.
pub(crate) struct Lease {
    inner: Arc<Inner>,
    id: u64,
    conn: Option<Arc<tusk::Connection>>,
    pub(crate) state: HandleState,
}

impl Lease {
    fn conn(&self) -> &tusk::Connection {
        // Invariant: `conn` is only taken in Drop.
        self.conn
            .as_deref()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Drop our reference first, so a connection that goes back to the
        // pool is uniquely owned again (transactions need that).
        drop(self.conn.take());
        let done = {
            let mut s = self.inner.shared.lock();
            let Some(i) = s.iter().position(|e| e.conn.meta.id == self.id) else {
                return;
            };
            let e = &mut s[i];
            e.users -= 1;
            if let Some(r) = self.state.evict() {
                e.evict = Some(r);
            }
            e.interrupted |= self.state.interrupted.load(Relaxed);
            if e.users == 0 {
                Some(s.swap_remove(i))
            } else {
                None
            }
        };
        match done {
            Some(e) => self
                .inner
                .release(e.conn, Default::default(), e.evict, e.interrupted),
            None => self.inner.notify_shared(),
        }
    }
}

impl Inner {
    /// Wakes callers waiting for room on a shared connection.
    pub(crate) fn notify_shared(&self) {
        std::sync::atomic::fence(SeqCst);
        if self.shared_waiting.load(SeqCst) > 0 {
            self.shared_changed.notify_waiters();
        }
    }

    fn piggyback(self: &Arc<Self>) -> Option<Lease> {
        let depth = self.hot.depth.load(Relaxed);
        // A connection retired by `reconfigure` or a failover takes no new users.
        let generation = self.generation.load(Acquire);
        let mut s = self.shared.lock();
        let e = s
            .iter_mut()
            .filter(|e| e.users < depth && e.evict.is_none() && e.conn.generation >= generation)
            .min_by_key(|e| e.users)?;
        e.users += 1;
        Some(Lease {
            inner: self.clone(),
            id: e.conn.meta.id,
            conn: Some(e.conn.conn.clone()),
            state: HandleState::default(),
        })
    }

    fn register(self: &Arc<Self>, c: Conn) -> Lease {
        let lease = Lease {
            inner: self.clone(),
            id: c.meta.id,
            conn: Some(c.conn.clone()),
            state: HandleState::default(),
        };
        self.shared.lock().push(SharedEntry {
            conn: c,
            users: 1,
            evict: None,
            interrupted: false,
        });
        self.notify_shared();
        lease
    }

    fn full(&self) -> bool {
        self.total.load(Acquire) >= self.hot.max_size.load(Relaxed)
    }

    /// A live connection for one statement of the pool's query methods: one
    /// the driver already knows is dead is evicted and another taken (nothing
    /// was sent on it, so this retry is safe).
    async fn lease(self: &Arc<Self>, location: &'static Location<'static>) -> Result<Lease, Error> {
        let mut tries = self.hot.max_size.load(Relaxed) + 1;
        loop {
            let l = self.lease_any(location).await?;
            tries -= 1;
            if tries == 0 || !l.conn().is_closed() {
                return Ok(l);
            }
            l.state.set_evict(CloseReason::Broken);
        }
    }

    /// A connection for one statement of the pool's query methods.
    async fn lease_any(
        self: &Arc<Self>,
        location: &'static Location<'static>,
    ) -> Result<Lease, Error> {
        let start = Instant::now();
        let timeout = Duration::from_micros(self.hot.acquire_timeout_us.load(Relaxed));
        let deadline = start + timeout;
        let mut last_err = None;
        loop {
            if self.is_closed() {
                return Err(self.closed_error());
            }
            // Queued acquirers go first: no sharing while one waits.
            let queued = self.waiting.load(Acquire) > 0;
            if self.full() && !queued {
                if let Some(l) = self.piggyback() {
                    return Ok(l);
                }
            }
            if let Some(c) = acquire::attempt(self, deadline, &mut last_err).await? {
                let c = acquire::finish(self, c, start, location);
                return Ok(self.register(c));
            }
            if let Some(e) = acquire::breaker_fail_fast(self) {
                return Err(e);
            }
            // Wait for room: a shared connection with a free place, an idle
            // one, or a free slot (or the breaker's next probe).
            let _waiting = SharedWaiting::new(self);
            let notified = self.shared_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.full() && self.waiting.load(Acquire) == 0 {
                if let Some(l) = self.piggyback() {
                    return Ok(l);
                }
            }
            if self.idle.load(Acquire) > 0 {
                continue;
            }
            // A safety net re-check every 250 ms; wake-ups come from
            // returns, new shared connections, freed slots and closes.
            let until = deadline.min(Instant::now() + Duration::from_millis(250));
            if tokio::time::timeout_at(until.into(), notified)
                .await
                .is_err()
                && Instant::now() >= deadline
            {
                return Err(acquire::timed_out(self, timeout, last_err.as_ref()));
            }
        }
    }
}

/// Counts a caller waiting for room while its future lives.
struct SharedWaiting<'a>(&'a Inner);

impl<'a> SharedWaiting<'a> {
    fn new(inner: &'a Inner) -> Self {
        inner.shared_waiting.fetch_add(1, SeqCst);
        SharedWaiting(inner)
    }
}

impl Drop for SharedWaiting<'_> {
    fn drop(&mut self) {
        self.0.shared_waiting.fetch_sub(1, SeqCst);
    }
}

/// Whether a batch opens or ends a transaction itself (`BEGIN; ..;
/// COMMIT` as plain statements): it runs on a connection of its own, so no
/// other caller's statement lands inside its transaction.
fn controls_transactions(batch: &tusk::Batch<'_>) -> bool {
    batch.statements().any(|(q, _)| {
        let head = q
            .sql()
            .unwrap_or("")
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        [
            "BEGIN",
            "START",
            "COMMIT",
            "END",
            "ROLLBACK",
            "ABORT",
            "SAVEPOINT",
            "RELEASE",
        ]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(head))
    })
}

fn no_prepare() -> Error {
    Error::new(
        ErrorKind::Other,
        "a Pool has no single connection to prepare a statement on: prepare it on a \
         connection from pool.acquire(), or pass the SQL text (each connection's statement \
         cache prepares it once)",
    )
}

impl Executor for Pool {
    async fn prepare_typed<'a>(
        &'a self,
        _sql: &'a str,
        _types: &'a [tusk::Type],
    ) -> Result<tusk::Statement, Error> {
        Err(no_prepare())
    }

    #[track_caller]
    fn query<'a>(
        &'a self,
        query: impl tusk::IntoQuery<'a> + Send + 'a,
        params: &'a [tusk::Param<'a>],
    ) -> impl std::future::Future<Output = Result<Vec<tusk::Row>, Error>> + Send + 'a {
        let location = Location::caller();
        let q = query.into_query();
        let ins = observe::inspect_query(&self.inner, &q);
        async move {
            if !ins.dirty.is_clean() {
                return self.acquire_at(location).await?.query(q, params).await;
            }
            let lease = self.inner.lease(location).await?;
            observe::run(
                &self.inner,
                &lease.state,
                ins,
                lease.conn().query(q, params),
            )
            .await
        }
    }

    #[track_caller]
    fn query_stream<'a>(
        &'a self,
        query: impl tusk::IntoQuery<'a> + Send + 'a,
        params: &'a [tusk::Param<'a>],
    ) -> impl std::future::Future<Output = Result<tusk::RowStream, Error>> + Send + 'a {
        let location = Location::caller();
        let q = query.into_query();
        let ins = observe::inspect_query(&self.inner, &q);
        async move {
            if !ins.dirty.is_clean() {
                return self
                    .acquire_at(location)
                    .await?
                    .query_stream(q, params)
                    .await;
            }
            let lease = self.inner.lease(location).await?;
            observe::run(
                &self.inner,
                &lease.state,
                ins,
                lease.conn().query_stream(q, params),
            )
            .await
        }
    }

    #[track_caller]
    fn execute<'a>(
        &'a self,
        query: impl tusk::IntoQuery<'a> + Send + 'a,
        params: &'a [tusk::Param<'a>],
    ) -> impl std::future::Future<Output = Result<u64, Error>> + Send + 'a {
        let location = Location::caller();
        let q = query.into_query();
        let ins = observe::inspect_query(&self.inner, &q);
        async move {
            if !ins.dirty.is_clean() {
                return self.acquire_at(location).await?.execute(q, params).await;
            }
            let lease = self.inner.lease(location).await?;
            observe::run(
                &self.inner,
                &lease.state,
                ins,
                lease.conn().execute(q, params),
            )
            .await
        }
    }

    #[track_caller]
    fn simple_query<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl std::future::Future<Output = Result<Vec<tusk::SimpleQueryMessage>, Error>> + Send + 'a
    {
        let location = Location::caller();
        let ins = observe::inspect_text(&self.inner, sql);
        async move {
            if !ins.dirty.is_clean() {
                return self.acquire_at(location).await?.simple_query(sql).await;
            }
            let lease = self.inner.lease(location).await?;
            observe::run(
                &self.inner,
                &lease.state,
                ins,
                lease.conn().simple_query(sql),
            )
            .await
        }
    }

    #[track_caller]
    fn batch<'a>(
        &'a self,
        batch: &'a tusk::Batch<'a>,
    ) -> impl std::future::Future<Output = Result<Vec<tusk::BatchResult>, Error>> + Send + 'a {
        let location = Location::caller();
        // Its statements are scanned like any other: a batch that may
        // change session state gets a connection of its own.
        let ins = observe::inspect_batch(&self.inner, batch);
        let own = !ins.dirty.is_clean() || controls_transactions(batch);
        async move {
            if own {
                return self.acquire_at(location).await?.batch(batch).await;
            }
            let lease = self.inner.lease(location).await?;
            observe::run(&self.inner, &lease.state, ins, lease.conn().batch(batch)).await
        }
    }
}
