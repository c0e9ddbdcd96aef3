//! Driver tests against a real PostgreSQL started by tusk-testkit.

mod atomic;
mod basic;
mod cache;
mod cancel;
mod faults;
mod groups;
mod pipeline;
mod server_messages;
mod session;
mod stream;

use tusk_testkit::{Cluster, TestDb};

/// A fresh database on the shared cluster.
pub fn db() -> TestDb {
    Cluster::shared().database().expect("test database")
}

/// Connects to a test database over TCP.
pub async fn conn(db: &TestDb) -> tusk::Connection {
    tusk::connect(&db.url()).await.expect("connect")
}
