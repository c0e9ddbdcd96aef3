//! Leak detection (HikariCP's `leakDetectionThreshold`, plus a
//! `leaked_total` counter): the supervisor scans
//! the connections out on loan; one held past the threshold is reported
//! once, with where it was acquired (`#[track_caller]`, and a backtrace
//! with [`PoolConfig::leak_backtrace`](crate::PoolConfig::leak_backtrace)).
//! Its eventual return is logged too.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::inner::Inner;

/// How many recent leak reports [`Pool::leaks`](crate::Pool::leaks) keeps.
const KEEP: usize = 64;

/// A connection held past the leak detection threshold.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LeakReport {
    /// The pool's id for the connection.
    pub connection: u64,
    /// Where it was acquired (`file:line:column`).
    pub location: String,
    /// How long it had been held when reported.
    pub held: Duration,
    /// The backtrace at acquire, when enabled.
    pub backtrace: Option<String>,
}

/// Reports connections held past the threshold (once each).
pub(crate) fn scan(inner: &Inner) {
    let threshold_us = inner.hot.leak_us.load(Relaxed);
    if threshold_us == 0 {
        return;
    }
    let threshold = Duration::from_micros(threshold_us);
    let now = u64::try_from(inner.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let metas: Vec<_> = inner.registry.lock().clone();
    for m in metas {
        let at = m.acquired_at.load(Relaxed);
        if at == 0 {
            continue;
        }
        let held = Duration::from_nanos(now.saturating_sub(at - 1));
        if held < threshold || m.leak_reported.swap(true, Relaxed) {
            continue;
        }
        // Returned between the two loads: not a leak.
        if m.acquired_at.load(Relaxed) != at {
            m.leak_reported.store(false, Relaxed);
            continue;
        }
        let site = m.site.lock().clone();
        let location = site
            .as_ref()
            .map_or_else(|| "unknown".to_string(), |s| s.location.to_string());
        let backtrace = site
            .as_ref()
            .and_then(|s| s.backtrace.as_ref().map(|b| b.to_string()));
        inner.metrics.leaked.fetch_add(1, Relaxed);
        tracing::warn!(
            pool = %inner.cfg.read().name,
            connection = m.id,
            held = ?held,
            acquired_at = %location,
            backtrace = backtrace.as_deref().unwrap_or(""),
            "connection held past leak_detection_threshold: possible leak"
        );
        let mut leaks = inner.leaks.lock();
        if leaks.len() == KEEP {
            leaks.pop_front();
        }
        leaks.push_back(LeakReport {
            connection: m.id,
            location,
            held,
            backtrace,
        });
    }
}
