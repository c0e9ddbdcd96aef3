//! A fresh database and a connection to it: the start of every driver test
//! (tests/types.rs through `common`, tests/driver through `#[path]`).

pub use tusk_testkit::db;
use tusk_testkit::TestDb;

/// Connects to a test database over TCP.
pub async fn conn(db: &TestDb) -> tusk::Connection {
    tusk::connect(&db.url()).await.expect("connect")
}
