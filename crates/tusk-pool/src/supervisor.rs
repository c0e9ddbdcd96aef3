//! The reconnect supervisor: one tokio task per pool, stopped when the
//! pool closes. It keeps `min_idle` connections open, opens connections
//! for waiters, reopens after failures with exponential backoff and
//! jitter (through the circuit breaker's half-open probes), checks every
//! idle connection after a connection-class error (the server may have
//! restarted), closes connections past their idle timeout or lifetime, and
//! runs the leak scan.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::Executor;

use crate::backoff::Backoff;
use crate::conn::Conn;
use crate::inner::Inner;
use crate::metrics::CloseReason;

/// Starts the supervisor on the current tokio runtime.
pub(crate) fn spawn(inner: &Arc<Inner>) -> Result<(), tusk::Error> {
    let rt = tokio::runtime::Handle::try_current().map_err(|_| {
        tusk::Error::new(
            tusk::ErrorKind::Configuration,
            "Pool::new must be called inside a tokio runtime (the pool's supervisor is a tokio task)",
        )
    })?;
    rt.spawn(run(inner.clone()));
    Ok(())
}

fn wants_connection(inner: &Inner) -> bool {
    let total = inner.total.load(Acquire);
    if inner.is_closed() || total >= inner.hot.max_size.load(Relaxed) {
        return false;
    }
    let idle = inner.idle.load(Acquire);
    let opening = total.saturating_sub(inner.live.load(Acquire));
    let demand = inner.waiting.load(Acquire) + inner.shared_waiting.load(Acquire);
    idle + opening < inner.hot.min_idle.load(Relaxed) || (demand > 0 && idle == 0)
}

/// How often the supervisor looks around when nothing wakes it.
fn tick(inner: &Inner) -> Duration {
    let mut t = Duration::from_secs(1);
    let leak = inner.hot.leak_us.load(Relaxed);
    if leak != 0 {
        t = t.min(Duration::from_micros(leak / 4));
    }
    t.max(Duration::from_millis(10))
}

async fn run(inner: Arc<Inner>) {
    let (min, max) = {
        let c = inner.cfg.read();
        (c.reconnect_backoff_min, c.reconnect_backoff_max)
    };
    let mut backoff = Backoff::new(min, max);
    let mut failing = false;
    loop {
        if inner.is_closed() {
            return;
        }
        if inner.sweep.swap(false, AcqRel) {
            sweep(&inner).await;
        }
        let mut delay = None;
        if wants_connection(&inner) {
            if let Some(res) = inner.reserve() {
                if inner.breaker_allows() {
                    match inner.open(res).await {
                        Ok(c) => {
                            if failing {
                                tracing::info!(pool = %inner.cfg.read().name, "connections are being opened again");
                            }
                            failing = false;
                            backoff.reset();
                            inner.put(c, Instant::now());
                            continue;
                        }
                        Err(e) => {
                            if !failing {
                                tracing::warn!(pool = %inner.cfg.read().name, error = %e,
                                    "cannot open a connection; retrying in the background with backoff");
                            }
                            failing = true;
                            delay = Some(backoff.next_delay());
                        }
                    }
                } else {
                    drop(res);
                    let until = inner.breaker.lock().open_until();
                    delay = Some(until.map_or(min, |t| {
                        t.saturating_duration_since(Instant::now())
                            .max(Duration::from_millis(1))
                    }));
                }
            }
        }
        reap(&inner);
        crate::leak::scan(&inner);
        let sleep = delay.unwrap_or_else(|| tick(&inner));
        let notified = inner.wake_supervisor.notified();
        tokio::pin!(notified);
        if delay.is_some() {
            // Backing off: only closing interrupts the sleep.
            tokio::time::sleep(sleep).await;
        } else {
            let _ = tokio::time::timeout(sleep, notified).await;
        }
    }
}

/// Checks every idle connection with an empty query; closes dead ones.
async fn sweep(inner: &Arc<Inner>) {
    let mut conns: Vec<Conn> = Vec::new();
    while let Some(c) = inner.take_idle() {
        conns.push(c);
    }
    for c in conns {
        let ok = !c.conn.is_closed()
            && matches!(
                tokio::time::timeout(Duration::from_secs(1), c.conn.simple_query("")).await,
                Ok(Ok(_))
            );
        if ok {
            inner.put(c, Instant::now());
        } else {
            inner.discard(c, CloseReason::CheckFailed);
        }
    }
}

/// Closes idle connections past their lifetime, their idle timeout (above
/// `min_idle`), or retired by a failover or reconfiguration.
fn reap(inner: &Inner) {
    let (idle_timeout, now) = (inner.cfg.read().idle_timeout, Instant::now());
    let generation = inner.generation.load(Acquire);
    let min_idle = inner.hot.min_idle.load(Relaxed);
    // After `reconfigure` shrank max_size: close idle ones above it (busy
    // ones close as they come back, `Inner::release`).
    while inner.idle.load(Acquire) > 0 && inner.claim_excess() {
        match inner.take_idle() {
            Some(c) => inner.close_counted(c, CloseReason::Reconfigured),
            None => {
                inner.live.fetch_add(1, AcqRel);
                break;
            }
        }
    }
    let mut out: Vec<(Conn, CloseReason)> = Vec::new();
    for shard in inner.shards.iter() {
        let mut s = shard.lock();
        let mut i = 0;
        while i < s.len() {
            let c = &s[i];
            let reason = if c.generation < generation {
                Some(CloseReason::Reconfigured)
            } else if c.expires.is_some_and(|e| now >= e) {
                Some(CloseReason::MaxLifetime)
            } else if c.conn.is_closed() {
                Some(CloseReason::Broken)
            } else if idle_timeout.is_some_and(|t| now.saturating_duration_since(c.last_used) >= t)
                && inner.idle.load(Acquire).saturating_sub(out.len()) > min_idle
            {
                Some(CloseReason::IdleTimeout)
            } else {
                None
            };
            match reason {
                Some(r) => {
                    if let Some(c) = s.remove(i) {
                        inner.idle.fetch_sub(1, AcqRel);
                        out.push((c, r));
                    }
                }
                None => i += 1,
            }
        }
    }
    for (c, r) in out {
        inner.discard(c, r);
    }
}
