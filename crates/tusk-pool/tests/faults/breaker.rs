//! The circuit breaker: open on 53300 and on repeated connect failures,
//! half-open probes, closed again once the server answers.

use std::sync::Arc;
use std::time::Duration;

use tusk::Executor;
use tusk_pool::{BreakerState, HealthStatus, Pool};
use tusk_testkit::{auth::PasswordEncryption, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_connections_opens_the_breaker() {
    let cluster = Cluster::builder()
        .hba(&["local all all trust", "host all all 127.0.0.1/32 trust"])
        .start()
        .unwrap();
    cluster
        .create_user("limited", None, PasswordEncryption::Scram)
        .unwrap();
    cluster
        .psql("postgres", "ALTER ROLE limited CONNECTION LIMIT 1")
        .unwrap();
    let url = format!(
        "postgresql://limited@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port()
    );
    let pool = Pool::new(
        crate::config(&url)
            .max_size(3)
            .acquire_timeout(Duration::from_millis(500))
            .reconnect_backoff_min(Duration::from_millis(300))
            .reconnect_backoff_max(Duration::from_millis(300))
            .build(),
    )
    .unwrap();
    let first = pool.acquire().await.unwrap();
    // The second connection is refused with 53300: the breaker opens at once.
    let e = crate::bounded("acquire", pool.acquire()).await.unwrap_err();
    println!("second acquire: {e}");
    assert_eq!(pool.stats().breaker, BreakerState::Open);
    let h = pool.health();
    assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
    drop(first);
    // The held connection still serves while the breaker is open.
    let _: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_connect_failures_open_then_half_open_then_close() {
    let cluster = Arc::new(Cluster::start().unwrap());
    let url = cluster.url("postgres");
    let pool = Pool::new(
        crate::config(&url)
            .max_size(2)
            .min_idle(1)
            .breaker_threshold(3)
            .reconnect_backoff_min(Duration::from_millis(200))
            .reconnect_backoff_max(Duration::from_millis(400))
            .build(),
    )
    .unwrap();
    let _: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop())
        .await
        .unwrap()
        .unwrap();
    pool.retire_all();
    // The supervisor's reconnects fail: the breaker opens, and callers fail
    // fast instead of waiting out the acquire timeout.
    crate::eventually("breaker open", Duration::from_secs(10), || {
        pool.stats().breaker == BreakerState::Open
    })
    .await;
    let e = crate::bounded("acquire", pool.acquire()).await.unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Connection, "{e}");
    println!("acquire with the breaker open: {e}");
    assert_eq!(pool.health().status, HealthStatus::Down);
    // After each cooldown it lets one probe through (half-open); a failed
    // probe opens it again.
    let opened = pool.stats().breaker_opened_total;
    crate::eventually("a half-open probe failed", Duration::from_secs(10), || {
        pool.stats().breaker_opened_total > opened
    })
    .await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start_again())
        .await
        .unwrap()
        .unwrap();
    let took = crate::eventually("breaker closed", Duration::from_secs(10), || {
        pool.stats().breaker == BreakerState::Closed && pool.stats().idle >= 1
    })
    .await;
    println!("breaker closed {took:?} after the server came back");
    let _: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(
        pool.health().status,
        HealthStatus::Ok,
        "{:?}",
        pool.health()
    );
}
