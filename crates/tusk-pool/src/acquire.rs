//! Getting a connection: idle in the caller's shard, stolen from another,
//! newly opened below `max_size`, or waited for in FIFO order.

use std::future::poll_fn;
use std::panic::Location;
use std::sync::atomic::{fence, Ordering::*};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tusk::{Error, ErrorKind, Executor};

use crate::breaker::BreakerState;
use crate::conn::Conn;
use crate::inner::{Inner, Slot, Waiter};
use crate::metrics::CloseReason;
use crate::policy;

/// Holds a connection across an await; returns it to the pool if the
/// future is dropped.
struct Held<'a>(&'a Arc<Inner>, Option<Conn>);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.1.take() {
            self.0.release(
                c,
                crate::conn::Returned {
                    interrupted: true,
                    ..Default::default()
                },
            );
        }
    }
}

/// The longest a liveness check may take.
const CHECK_LIMIT: Duration = Duration::from_secs(5);

/// Checks a connection about to be handed out; `None` when it was closed.
/// Only a connection idle past `idle_check_threshold` costs a round trip.
async fn check(inner: &Arc<Inner>, c: Conn, deadline: Instant) -> Option<Conn> {
    if c.generation < inner.generation.load(Acquire) {
        inner.discard(c, CloseReason::Evicted);
        return None;
    }
    if c.conn.is_closed() {
        inner.discard(c, CloseReason::Broken);
        return None;
    }
    let now = Instant::now();
    if c.expires.is_some_and(|e| now >= e) {
        inner.discard(c, CloseReason::MaxLifetime);
        return None;
    }
    let mut c = c;
    if c.conn.in_flight() > 0 {
        // Its reset was sent alone when it went idle: the answer (there by
        // now, as a rule) is read before anyone uses the session, and a
        // failed reset closes the connection instead of failing the next
        // holder's first statement.
        let conn = c.conn.clone();
        let mut held = Held(inner, Some(c));
        let limit = deadline
            .max(now + Duration::from_millis(100))
            .min(now + CHECK_LIMIT);
        let ok = matches!(
            tokio::time::timeout_at(limit.into(), conn.wait_idle()).await,
            Ok(Ok(()))
        );
        c = held.1.take()?;
        if !ok || conn.transaction_status() != tusk::TransactionStatus::Idle {
            inner.discard(c, CloseReason::ResetFailed);
            return None;
        }
    }
    let threshold = Duration::from_micros(inner.hot.idle_check_us.load(Relaxed));
    if now.saturating_duration_since(c.last_used) < threshold {
        return Some(c);
    }
    let conn = c.conn.clone();
    let mut held = Held(inner, Some(c));
    let limit = deadline
        .max(now + Duration::from_millis(100))
        .min(now + CHECK_LIMIT);
    let ok = matches!(
        tokio::time::timeout_at(limit.into(), conn.simple_query("")).await,
        Ok(Ok(_))
    );
    let c = held.1.take()?;
    if ok {
        Some(c)
    } else {
        inner.discard(c, CloseReason::CheckFailed);
        inner.sweep.store(true, Release);
        inner.wake_supervisor.notify_one();
        None
    }
}

/// Takes a connection for exclusive use.
pub(crate) async fn acquire(
    inner: &Arc<Inner>,
    location: &'static Location<'static>,
) -> Result<Conn, Error> {
    if inner.is_closed() {
        return Err(inner.closed_error());
    }
    let start = Instant::now();
    let timeout = Duration::from_micros(inner.hot.acquire_timeout_us.load(Relaxed));
    let deadline = start + timeout;
    let mut last_err: Option<Error> = None;
    loop {
        if let Some(c) = attempt(inner, deadline, &mut last_err).await? {
            return Ok(finish(inner, c, start, location));
        }
        if let Some(e) = breaker_fail_fast(inner) {
            return Err(e);
        }
        if inner.is_closed() {
            return Err(inner.closed_error());
        }
        if Instant::now() >= deadline {
            return Err(timed_out(inner, timeout, last_err.as_ref()));
        }
        let c = wait(inner, deadline).await.map_err(|e| match e {
            None => timed_out(inner, timeout, last_err.as_ref()),
            Some(e) => e,
        })?;
        if let Some(c) = check(inner, c, deadline).await {
            return Ok(finish(inner, c, start, location));
        }
    }
}

/// A connection without waiting: idle (checked), else newly opened below
/// `max_size` when the breaker allows. `Ok(None)`: the caller must wait.
/// A connect error that retrying cannot cure is returned; others are kept
/// in `last_err` for the timeout message.
pub(crate) async fn attempt(
    inner: &Arc<Inner>,
    deadline: Instant,
    last_err: &mut Option<Error>,
) -> Result<Option<Conn>, Error> {
    while let Some(c) = inner.take_idle() {
        if let Some(c) = check(inner, c, deadline).await {
            return Ok(Some(c));
        }
    }
    if let Some(res) = inner.reserve() {
        if inner.breaker_allows() {
            // Boxed: a connect's future is kilobytes, and inline it made
            // every acquire's future as large (copied at each call).
            match tokio::time::timeout_at(deadline.into(), Box::pin(inner.open(res))).await {
                Ok(Ok(c)) => return Ok(Some(c)),
                Ok(Err(e)) => {
                    if policy::is_permanent_connect_error(&e) || e.kind() == ErrorKind::Closed {
                        return Err(e);
                    }
                    *last_err = Some(e);
                }
                Err(_) => {}
            }
        }
    }
    Ok(None)
}

/// With the breaker open and no connection alive, waiting is pointless:
/// the error says so at once.
pub(crate) fn breaker_fail_fast(inner: &Inner) -> Option<Error> {
    let (state, last) = {
        let b = inner.breaker.lock();
        (b.state(Instant::now()), b.last_error.clone())
    };
    (state == BreakerState::Open && inner.live.load(Acquire) == 0).then(|| {
        Error::new(
            ErrorKind::Connection,
            format!(
                "pool {}: the circuit breaker is open after connection failures \
                 (last: {}); new connections are retried in the background",
                inner.cfg.read().name,
                last.as_deref().unwrap_or("unknown")
            ),
        )
    })
}

pub(crate) fn finish(
    inner: &Inner,
    mut c: Conn,
    start: Instant,
    location: &'static Location<'static>,
) -> Conn {
    inner.metrics.acquires.fetch_add(1, Relaxed);
    inner.metrics.acquire_wait.record(start.elapsed());
    inner.mark_acquired(&mut c, location);
    c
}

pub(crate) fn timed_out(inner: &Inner, timeout: Duration, last: Option<&Error>) -> Error {
    inner.metrics.acquire_timeouts.fetch_add(1, Relaxed);
    let max = inner.hot.max_size.load(Relaxed);
    let mut msg = format!(
        "pool {}: no connection within {timeout:?} ({} open of max_size {max}, {} in use, {} waiting); \
         raise max_size or acquire_timeout, or look for connections held too long (leak_detection_threshold)",
        inner.cfg.read().name,
        inner.live.load(Acquire),
        inner.in_use(),
        inner.waiting.load(Acquire),
    );
    if let Some(e) = last
        .map(|e| e.to_string())
        .or_else(|| inner.breaker.lock().last_error.clone())
    {
        msg.push_str(&format!("; last connect error: {e}"));
    }
    Error::new(ErrorKind::PoolExhausted, msg)
}

/// Removes a waiter from the queue when its future ends, returning a
/// connection that reached it too late.
struct WaitGuard<'a> {
    inner: &'a Arc<Inner>,
    w: Arc<Waiter>,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        let late = std::mem::replace(&mut *self.w.slot.lock(), Slot::Gone);
        {
            let mut q = self.inner.waiters.lock();
            if let Some(i) = q.iter().position(|x| Arc::ptr_eq(x, &self.w)) {
                q.remove(i);
                self.inner.waiting.fetch_sub(1, AcqRel);
            }
        }
        if let Slot::Ready(c) = late {
            self.inner.put(c, Instant::now());
        }
    }
}

/// Waits in FIFO order for a connection; `Err(None)` on timeout.
async fn wait(inner: &Arc<Inner>, deadline: Instant) -> Result<Conn, Option<Error>> {
    let w = Arc::new(Waiter {
        slot: Mutex::new(Slot::Waiting(None)),
    });
    {
        let mut q = inner.waiters.lock();
        q.push_back(w.clone());
        inner.waiting.fetch_add(1, SeqCst);
    }
    fence(SeqCst);
    // The supervisor opens connections for waiters while below max_size;
    // at max_size there is nothing for it to do (waking it on every wait
    // cost a reap and a leak scan per query under load).
    if inner.total.load(Acquire) < inner.hot.max_size.load(Relaxed) {
        inner.wake_supervisor.notify_one();
    }
    inner.dispatch();
    let guard = WaitGuard {
        inner,
        w: w.clone(),
    };
    let fut = poll_fn(|cx| {
        let mut slot = w.slot.lock();
        match std::mem::replace(&mut *slot, Slot::Gone) {
            Slot::Ready(c) => Poll::Ready(Ok(c)),
            Slot::Failed(e) => Poll::Ready(Err(Some(e))),
            Slot::Waiting(_) => {
                *slot = Slot::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
            Slot::Gone => Poll::Ready(Err(Some(inner.closed_error()))),
        }
    });
    let r = tokio::time::timeout_at(deadline.into(), fut).await;
    drop(guard);
    r.unwrap_or(Err(None))
}
