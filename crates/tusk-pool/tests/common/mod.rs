//! What both pool test binaries (tests/pool, tests/faults) share, included
//! by `#[path]`.

use std::time::Duration;

/// Fails the test instead of hanging.
pub async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 60 s"))
}
