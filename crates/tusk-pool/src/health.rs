//! `Pool::health()`: ok, degraded or down, with the reasons.

use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::Instant;

use crate::breaker::BreakerState;
use crate::inner::Inner;

/// The pool's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HealthStatus {
    /// Serving normally.
    Ok,
    /// Serving, with a problem worth a look (see the reasons).
    Degraded,
    /// Not serving: closed, or no connection and none can be opened.
    Down,
}

/// The pool's health with the reasons behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The overall state: the worst of the reasons.
    pub status: HealthStatus,
    /// Why it is not `Ok`, one line each.
    pub reasons: Vec<String>,
}

pub(crate) fn health(inner: &Inner) -> Health {
    let mut status = HealthStatus::Ok;
    let mut reasons = Vec::new();
    let mut add = |s: HealthStatus, r: String| {
        status = status.max(s);
        reasons.push(r);
    };
    if inner.is_closed() {
        add(HealthStatus::Down, "the pool is closed".into());
    }
    let live = inner.live.load(Acquire);
    let (breaker, last) = {
        let b = inner.breaker.lock();
        (b.state(Instant::now()), b.last_error.clone())
    };
    if breaker != BreakerState::Closed {
        let last = last.unwrap_or_default();
        if live == 0 {
            add(
                HealthStatus::Down,
                format!("circuit breaker {breaker:?} and no connection open; last connect error: {last}"),
            );
        } else {
            add(
                HealthStatus::Degraded,
                format!("circuit breaker {breaker:?}: new connections refused; last connect error: {last}"),
            );
        }
    }
    let min_idle = inner.hot.min_idle.load(Relaxed);
    if live < min_idle && !inner.is_closed() {
        add(
            HealthStatus::Degraded,
            format!("{live} connections open, below min_idle {min_idle}"),
        );
    }
    let waiting = inner.waiting.load(Acquire);
    let max = inner.hot.max_size.load(Relaxed);
    if waiting > 0 && inner.in_use() >= max {
        add(
            HealthStatus::Degraded,
            format!("exhausted: all {max} connections in use, {waiting} callers waiting"),
        );
    }
    let leaked = inner
        .registry
        .lock()
        .iter()
        .filter(|m| m.leak_reported.load(Relaxed))
        .count();
    if leaked > 0 {
        add(
            HealthStatus::Degraded,
            format!("{leaked} connections held past leak_detection_threshold"),
        );
    }
    Health { status, reasons }
}
