//! Fault tests: real failures injected into a real PostgreSQL (terminated
//! backends, restarts, a black-holed network, rotated passwords, refused
//! connections), and a seeded stress run with cancellations.

mod auth;
mod breaker;
mod network;
mod observe;
mod stress;

use std::time::{Duration, Instant};
use tusk_pool::{Pool, PoolConfig};

#[path = "../common/mod.rs"]
mod common;
pub use common::bounded;

/// A seed from `TUSK_POOL_SEED`, or a fresh one; printed so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("TUSK_POOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("{test}: seed {seed} (replay with TUSK_POOL_SEED={seed})");
    seed
}

/// Waits (bounded) until `cond` holds; returns how long it took.
pub async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t0.elapsed()
}

/// Every error a pool call may return under faults is typed: a kind other
/// than `Other`, with a message.
pub fn assert_typed(e: &tusk::Error) {
    assert!(
        !matches!(e.kind(), tusk::ErrorKind::Other),
        "untyped error: {e:?}"
    );
    assert!(!e.to_string().is_empty());
}

/// A pool config for `url` with test-friendly timeouts.
pub fn config(url: &str) -> tusk_pool::PoolConfigBuilder {
    PoolConfig::builder()
        .url(url)
        .expect("url")
        .acquire_timeout(Duration::from_secs(5))
        .reconnect_backoff_min(Duration::from_millis(10))
        .reconnect_backoff_max(Duration::from_millis(200))
}

/// Stats that must hold once everything is back (a returned connection
/// whose reset is being sent alone is out of the idle list for a moment:
/// wait for it).
pub async fn assert_consistent(pool: &Pool) {
    let settled = |s: &tusk_pool::PoolStats| s.in_use == 0 && s.idle == s.size;
    let t0 = Instant::now();
    while !settled(&pool.stats()) && t0.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let s = pool.stats();
    assert_eq!(s.in_use, 0, "{s:?}");
    assert_eq!(s.idle, s.size, "{s:?}");
    assert!(s.size <= s.max_size, "{s:?}");
    assert_eq!(s.created_total - s.closed_sum(), s.size as u64, "{s:?}");
}
