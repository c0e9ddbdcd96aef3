//! Driver tests against a real PostgreSQL started by tusk-testkit.

mod atomic;
mod atomic_control;
mod basic;
mod cache;
mod cache_confirmed;
mod cancel;
mod copy;
mod faults;
mod groups;
mod low_water;
mod pipeline;
mod pooler;
mod review;
mod review_pooler;
mod server_messages;
mod session;
mod stale_plan;
mod stream;
mod stream_release;
mod timed_stream;
mod timeouts;
mod user_types;

use tusk_testkit::{Cluster, TestDb};

/// A fresh database on the shared cluster.
pub fn db() -> TestDb {
    Cluster::shared().database().expect("test database")
}

/// Connects to a test database over TCP.
pub async fn conn(db: &TestDb) -> tusk::Connection {
    tusk::connect(&db.url()).await.expect("connect")
}
