//! Pool tests against a real PostgreSQL started by tusk-testkit.

mod core;
mod hot;
mod reload;
mod reset;
mod tx;

use std::time::Duration;
use tusk_pool::{Pool, PoolConfig, PoolConfigBuilder};
use tusk_testkit::{Cluster, TestDb};

/// A fresh database on the shared cluster.
pub fn db() -> TestDb {
    Cluster::shared().database().expect("test database")
}

/// A config builder for a test database, with short timeouts.
pub fn config(db: &TestDb) -> PoolConfigBuilder {
    PoolConfig::builder()
        .url(&db.url())
        .expect("url")
        .acquire_timeout(Duration::from_secs(10))
}

/// A pool on a test database.
pub fn pool(db: &TestDb, max: usize) -> Pool {
    Pool::new(config(db).max_size(max).build()).expect("pool")
}

/// Fails the test instead of hanging.
pub async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 60 s"))
}
