//! The pool's own query methods (`tusk::Executor for Pool`): one statement
//! per checkout, on a connection of the caller's own by default (as sqlx's
//! and deadpool's pools do), reset when it comes back.
//!
//! With [`PoolConfig::share_connections`](crate::PoolConfig::share_connections)
//! on, connections are shared between callers once the pool is full, so
//! many tasks pipeline their statements on few connections, under
//! PgBouncer's transaction-mode contract (no session state): a caller
//! takes an idle connection, or opens one below `max_size`; when the pool
//! is full it joins the least-loaded connection already serving the pool's
//! query methods (up to `max_pipeline_depth` callers each) instead of
//! waiting, unless an `acquire` caller is queued (FIFO: queued acquirers go
//! first, so sharing never starves them). What the contract forbids is
//! enforced where it can be: transaction control and statements that
//! change session state (recognised by the driver's lexer, comments and
//! literals included) and streams run on a connection of their own; after
//! every shared statement the transaction status is checked, and a
//! statement that ended inside a transaction block (opened out of sight)
//! closes the connection and fails instead of reporting success for work
//! that would be rolled back.

use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::executor::{Reply, Request};
use tusk::{Error, ErrorKind, Executor};

use crate::acquire;
use crate::conn::{Conn, HandleState, Returned};
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
    pub(crate) read_only_check: bool,
}

impl SharedEntry {
    /// Whether a place it frees may go straight to a caller queued for
    /// room (instead of it going back to the pool when it empties):
    /// nothing marks it for closing, it is of the current generation, not
    /// past its lifetime, not beyond a lowered `max_size`, and its session
    /// is idle.
    fn may_stay(&self, inner: &Inner) -> bool {
        self.evict.is_none()
            && !self.interrupted
            && !self.read_only_check
            && !inner.is_closed()
            && self.conn.generation >= inner.generation.load(Acquire)
            && self.conn.expires.is_none_or(|e| Instant::now() < e)
            && inner.total.load(Acquire) <= inner.hot.max_size.load(Relaxed)
            && !self.conn.conn.is_closed()
            && self.conn.conn.transaction_status() == tusk::TransactionStatus::Idle
    }
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
        let mut next = Vec::new();
        let handed;
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
            e.read_only_check |= self.state.read_only_check.load(Relaxed);
            // The freed place goes to the first caller queued for room
            // (when no `acquire` caller waits: they go first), without the
            // connection going back to the pool if it emptied (no reset: a
            // shared statement changes no session state). Handed over
            // here, it cannot be taken by a caller who just came (or came
            // back) ahead of those who waited, and nobody else is woken.
            if self.inner.waiting.load(SeqCst) == 0 && e.may_stay(&self.inner) {
                let depth = self.inner.hot.depth.load(Relaxed);
                let mut q = self.inner.shared_queue.lock();
                while e.users < depth {
                    let Some(tx) = q.pop_front() else { break };
                    if tx.is_closed() {
                        continue;
                    }
                    e.users += 1;
                    next.push((
                        tx,
                        Lease {
                            inner: self.inner.clone(),
                            id: self.id,
                            conn: Some(e.conn.conn.clone()),
                            state: HandleState::default(),
                        },
                    ));
                }
            }
            handed = !next.is_empty();
            if e.users > 0 {
                None
            } else {
                Some(s.swap_remove(i))
            }
        };
        // Outside the lock: a lease whose caller left meanwhile comes back
        // here (its drop takes the lock).
        for (tx, lease) in next {
            drop(tx.send(lease));
        }
        match done {
            Some(e) => self.inner.release(
                e.conn,
                Returned {
                    evict: e.evict,
                    interrupted: e.interrupted,
                    read_only_check: e.read_only_check,
                    ..Returned::default()
                },
            ),
            // A place handed to a queued caller wakes that caller alone.
            None if handed => {}
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
            read_only_check: false,
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
        // Counted as waiting from the first wait to the end of the call.
        let mut waiting = None;
        // The place in the queue for room on a shared connection, kept
        // from the first wait to the end of the call (a lease handed to it
        // after the call returned comes back at once).
        let mut queued_for: Option<tokio::sync::oneshot::Receiver<Lease>> = None;
        loop {
            if self.is_closed() {
                return Err(self.closed_error());
            }
            if let Some(Ok(l)) = queued_for.as_mut().map(|rx| rx.try_recv()) {
                return Ok(l);
            }
            // Queued acquirers go first: no sharing while one waits. An
            // idle connection is the least loaded of all: it is taken
            // before a busy one is shared (else a connection whose users
            // all left stayed idle while the others' pipelines grew).
            // Callers queued for room go before one who has not waited:
            // a caller coming back for its next statement took the place
            // freed by its last one ahead of them, and they starved (W3 at
            // a pipeline depth below its demand: waits of seconds).
            let queued = self.waiting.load(Acquire) > 0;
            let may_join = waiting.is_some() || self.shared_waiting.load(SeqCst) == 0;
            if self.full() && !queued && may_join && self.idle.load(Acquire) == 0 {
                if let Some(l) = self.piggyback() {
                    return Ok(l);
                }
            }
            if let Some(c) = acquire::attempt(self, deadline, &mut last_err).await? {
                let c = acquire::finish(self, c, start, location);
                return Ok(self.register(c));
            }
            if self.full() && self.waiting.load(Acquire) == 0 && may_join {
                // The idle connection went to someone else meanwhile.
                if let Some(l) = self.piggyback() {
                    return Ok(l);
                }
            }
            if let Some(e) = acquire::breaker_fail_fast(self) {
                return Err(e);
            }
            // Wait for room: a place freed on a shared connection (queued,
            // first come first served, handed over by the user leaving
            // it), a new shared connection with a free place, an idle one,
            // or a free slot (or the breaker's next probe).
            if waiting.is_none() {
                waiting = Some(SharedWaiting::new(self));
            }
            let notified = self.shared_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if queued_for.is_none() {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let mut q = self.shared_queue.lock();
                if q.len() >= 256 {
                    // Places of callers who left (timed out, dropped).
                    q.retain(|t| !t.is_closed());
                }
                q.push_back(tx);
                drop(q);
                queued_for = Some(rx);
            }
            if self.full() && self.waiting.load(Acquire) == 0 {
                if let Some(l) = self.piggyback() {
                    return Ok(l);
                }
            }
            if self.idle.load(Acquire) > 0 {
                continue;
            }
            // A safety net re-check every 250 ms; wake-ups come from a
            // handed place, returns, new shared connections, freed slots
            // and closes.
            let until = deadline.min(Instant::now() + Duration::from_millis(250));
            let Some(rx) = queued_for.as_mut() else {
                continue;
            };
            tokio::select! {
                biased;
                lease = rx => {
                    queued_for = None;
                    if let Ok(l) = lease {
                        return Ok(l);
                    }
                }
                () = &mut notified => {}
                () = tokio::time::sleep_until(until.into()) => {
                    if Instant::now() >= deadline {
                        return Err(acquire::timed_out(self, timeout, last_err.as_ref()));
                    }
                }
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

/// Whether a statement must run on a connection of its own even when
/// sharing is on: transaction control, anything that changes session state
/// or reads another statement's (`lastval()`), cursors, procedures and `DO`
/// blocks (whose bodies cannot be read). Read with the driver's lexer, every
/// statement of a multi-statement text, so `/* x */ BEGIN` or a keyword
/// after a comment is seen and a keyword inside a literal is not.
pub(crate) fn must_own(sql: &str) -> bool {
    const OWN: [&str; 26] = [
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
        "PREPARE",
        "SET",
        "RESET",
        "LISTEN",
        "UNLISTEN",
        "DISCARD",
        "DEALLOCATE",
        "DECLARE",
        "CLOSE",
        "FETCH",
        "MOVE",
        "LOAD",
        "DO",
        "CALL",
        "LOCK",
        "COPY",
        "EXECUTE",
        "NOTIFY",
    ];
    const WORDS: [&str; 4] = ["lastval", "currval", "nextval", "setval"];
    if !crate::reset::scan(sql).is_clean() {
        return true;
    }
    tusk::sql::statements(sql).iter().any(|s| {
        s.first()
            .is_some_and(|h| OWN.iter().any(|k| h.is_keyword(k)))
            || s.iter().any(|t| WORDS.iter().any(|w| t.is_keyword(w)))
    })
}

/// Whether a batch must run on a connection of its own (any of its
/// statements does).
fn batch_must_own(batch: &tusk::Batch<'_>) -> bool {
    batch
        .statements()
        .any(|(q, _)| q.sql().is_none_or(must_own))
}

impl Lease {
    /// After a shared statement: it must have left no transaction block
    /// open. If it did (a transaction opened out of sight), the connection
    /// is closed when its last user leaves (the server rolls back), and
    /// this caller gets an error instead of a success that would be
    /// rolled back.
    fn settle<T>(&self, r: Result<T, Error>) -> Result<T, Error> {
        if self.conn().transaction_status() == tusk::TransactionStatus::Idle {
            return r;
        }
        self.state.set_evict(CloseReason::Evicted);
        r?;
        Err(Error::new(
            ErrorKind::Connection,
            "a statement run through a shared pool connection ended inside a transaction \
             block; the connection is closed and the work rolled back. Run transactions on a \
             connection of their own (pool.transaction or pool.acquire)",
        ))
    }
}

impl Pool {
    /// Whether this statement may share a connection.
    fn shares(&self, sql: Option<&str>) -> bool {
        self.inner.hot.share.load(Relaxed) && sql.is_some_and(|s| !must_own(s))
    }
}

/// One statement per checkout: on a connection of the caller's own (a
/// stream, a statement that must own its connection, or sharing off), or
/// on a shared one. No `Prepare`: a pool has no single connection to
/// prepare a statement on (prepare it on `pool.acquire()`'s connection, or
/// pass the SQL text, which each connection's statement cache prepares
/// once).
impl Executor for Pool {
    #[track_caller]
    fn run<'a>(
        &'a self,
        request: Request<'a>,
    ) -> impl std::future::Future<Output = Result<Reply, Error>> + Send + 'a {
        let location = Location::caller();
        // Streams always run on a connection of their own (also with
        // sharing on): it is not lent to anyone else until the stream ends
        // or is dropped.
        let own = match &request {
            Request::Stream(..) => true,
            Request::Batch(batch) => !self.inner.hot.share.load(Relaxed) || batch_must_own(batch),
            r => !self.shares(r.sql()),
        };
        // Boxed: the driver's query methods nest this future two deep and
        // capture it before awaiting it (each layer holds it twice), so an
        // inline future of some kilobytes was copied tens of kilobytes per
        // call (`examples/future_sizes.rs`); a box moves a pointer.
        Box::pin(async move {
            // A statement behind a session reset that failed provably did
            // not run (`Error::not_run`): it runs again on another
            // connection (the failed one is closed), as often as there are
            // connections that may be stale (a restarted server, backends
            // terminated by an administrator), and once more.
            let mut retries = self.inner.hot.max_size.load(Relaxed);
            loop {
                let r = if own {
                    let conn = self.acquire_at(location).await?;
                    conn.run(request.clone()).await.map(|reply| match reply {
                        Reply::Stream(stream) => Reply::Stream(stream.with_guard(conn)),
                        reply => reply,
                    })
                } else {
                    let ins = observe::inspect(&self.inner, &request);
                    let lease = self.inner.lease(location).await?;
                    let r = observe::run(
                        &self.inner,
                        &lease.state,
                        ins,
                        lease.conn().run(request.clone()),
                    )
                    .await;
                    lease.settle(r)
                };
                match r {
                    Err(e) if e.not_run() && retries > 0 => {
                        retries -= 1;
                        self.inner.metrics.retries.fetch_add(1, Relaxed);
                        tracing::debug!(error = %e, "the session reset in front of a statement failed; running it on another connection");
                    }
                    r => return r,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::must_own;

    #[test]
    fn what_never_shares() {
        for sql in [
            "BEGIN",
            "/* x */ BEGIN",
            "-- note\nbegin isolation level serializable",
            "SELECT 1; COMMIT",
            "start transaction",
            "SET app.tenant = '42'",
            "-- update the tenant\nSET app.tenant = '42'",
            "SELECT set_config('app.tenant', '42', false)",
            "LISTEN jobs",
            "CREATE TEMP TABLE t (a int)",
            "SELECT lastval()",
            "INSERT INTO t VALUES (nextval('s'))",
            "DO $$ BEGIN PERFORM 1; END $$",
            "CALL p()",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "SELECT pg_advisory_lock(1)",
        ] {
            assert!(must_own(sql), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "SELECT 'BEGIN', $$COMMIT$$ -- ROLLBACK",
            "INSERT INTO t (a) VALUES ($1)",
            "UPDATE t SET a = 1 WHERE id = $1",
            "SELECT \"begin\" FROM t",
            "/* SET */ SELECT 2",
        ] {
            assert!(!must_own(sql), "{sql}");
        }
    }
}
