//! Pool tests against a real PostgreSQL started by tusk-testkit.

mod copy;
mod core;
mod crossing;
mod cursors;
mod cursors_review;
mod handover;
mod hostile;
mod hot;
mod leaks;
mod lifecycle;
mod reload;
mod reset;
mod review;
mod sharing;
mod tx;
mod types;

use std::time::Duration;
use tusk_pool::{Pool, PoolConfig, PoolConfigBuilder};
use tusk_testkit::{Cluster, TestDb};

#[path = "../common/mod.rs"]
mod common;
pub use common::bounded;
pub use tusk_testkit::db;

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

/// The non-superuser application role the leak tests run as (the shared
/// cluster's pg_hba.conf trusts it over TCP).
pub const APP: &str = tusk_testkit::auth::TRUST_USER;
/// A role `APP` may `SET ROLE` to, with rights `APP` lacks.
pub const ADMIN: &str = "pool_admin";

/// Creates the application roles once per test binary.
pub fn app_roles() {
    static ONCE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let c = Cluster::shared();
        c.psql(
            "postgres",
            &format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ADMIN}') \
                 THEN CREATE ROLE {ADMIN} NOLOGIN; END IF; END $$; GRANT {ADMIN} TO {APP};"
            ),
        )
        .expect("admin role");
    });
}

/// The test database's URL for the application role.
pub fn app_url(db: &TestDb) -> String {
    app_roles();
    db.url().replacen("postgres@", &format!("{APP}@"), 1)
}

/// A pool on a test database as the application role.
pub fn app_pool(db: &TestDb, edit: impl FnOnce(PoolConfigBuilder) -> PoolConfigBuilder) -> Pool {
    let b = PoolConfig::builder()
        .url(&app_url(db))
        .expect("url")
        .acquire_timeout(Duration::from_secs(10));
    Pool::new(edit(b).build()).expect("pool")
}

/// A fresh connection as the application role: what a pooled connection
/// must look like to its next holder.
pub async fn fresh(db: &TestDb) -> tusk::Connection {
    tusk::connect(&app_url(db)).await.expect("fresh connection")
}
