//! tusk-lite: an embedded database that answers as PostgreSQL 15 does.
//!
//! PostgreSQL's own parser (`pg_query`) feeds a binder, planner and
//! executor of our own; rows live in a versioned store under our own MVCC
//! (snapshots, row locks with waiting, deadlock detection); clients speak
//! the PostgreSQL protocol to it, over TCP (`serve`) or, embedded, over an
//! in-process socket pair (`Database::connect`), so the ordinary `tusk`
//! driver works unchanged. What it does not support fails with SQLSTATE
//! 0A000 naming the construct.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tusk::Executor;
//! let db = tusk_lite::Database::open_in_memory();
//! let conn = db.connect().await?;
//! conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text)", &[]).await?;
//! conn.execute("INSERT INTO t VALUES ($1, $2)", &[&1i32, &"one"]).await?;
//! let name: String = conn.query_scalar("SELECT name FROM t WHERE id = $1", &[&1i32]).await?;
//! assert_eq!(name, "one");
//! # Ok(()) }
//! ```

pub mod catalog;
pub mod copy;
pub mod datetime;
mod ddl;
pub mod error;
mod exec;
pub mod numeric;
mod session;
pub mod sql;
pub mod storage;
pub mod txn;
pub mod types;
mod wire;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

pub use error::SqlError;

/// The version tusk-lite reports: the PostgreSQL release whose behaviour
/// (and catalogs, for psql's queries) it follows.
pub const SERVER_VERSION: &str = "15.13";
pub const SERVER_VERSION_NUM: &str = "150013";
pub const VERSION_STRING: &str =
    "PostgreSQL 15.13 (tusk-lite 0.1.0) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit";

/// A database: its store, catalog, transactions and locks. Cheap to clone;
/// every clone is the same database.
#[derive(Clone)]
pub struct Database {
    engine: Arc<txn::Engine>,
}

impl Database {
    /// A database that lives in memory and disappears with the process.
    pub fn open_in_memory() -> Database {
        let store = storage::memory::MemoryStore::new();
        Database {
            engine: Arc::new(txn::Engine::new(
                Box::new(store),
                catalog::Catalog::new(),
                0,
                1,
            )),
        }
    }

    /// Opens the database stored in `dir`, creating it when it does not
    /// exist. A COMMIT that returned is on disk; after a crash, opening
    /// recovers to the last commit.
    pub fn open(dir: impl AsRef<std::path::Path>) -> Result<Database, SqlError> {
        let r = storage::durable::DurableStore::open(dir.as_ref())?;
        Ok(Database {
            engine: Arc::new(txn::Engine::new(
                Box::new(r.store),
                r.catalog,
                r.clock,
                r.next_rowid,
            )),
        })
    }

    /// Serves one client connection on `stream` on a thread of its own.
    pub fn serve_stream<S: Read + Write + Send + 'static>(
        &self,
        stream: S,
    ) -> std::thread::JoinHandle<()> {
        let engine = self.engine.clone();
        std::thread::Builder::new()
            .name("tusk-lite-session".into())
            .spawn(move || {
                let _ = wire::run_session(engine, stream);
            })
            .expect("spawning a session thread")
    }

    /// Accepts PostgreSQL clients on `listener` until it fails; each
    /// connection gets its own session thread.
    pub fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (sock, _) = listener.accept()?;
            let _ = sock.set_nodelay(true);
            self.serve_stream(sock);
        }
    }

    /// Connects the tusk driver over an in-process socket pair: no TCP
    /// port, no file. Needs a tokio runtime.
    pub async fn connect(&self) -> Result<tusk::Connection, tusk::Error> {
        let config = tusk::Config::parse("user=tusk dbname=tusk")?;
        tusk::connect_in_process(&config, |server| {
            self.serve_stream(server);
        })
        .await
    }
}

/// Serves `db` on a TCP listener (e.g. `127.0.0.1:0`), on a background
/// thread. Returns the bound address.
pub fn serve(db: &Database, addr: &str) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let db = db.clone();
    std::thread::Builder::new()
        .name("tusk-lite-listener".into())
        .spawn(move || {
            let _ = db.serve(listener);
        })?;
    Ok(local)
}
