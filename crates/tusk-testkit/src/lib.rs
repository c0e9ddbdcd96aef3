//! Throwaway PostgreSQL clusters for tusk's tests, benchmarks and the `tusk`
//! command, made from the installed server binaries.
//!
//! ```no_run
//! use tusk_testkit::{Cluster, PgBouncer, PoolMode, Proxy};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // One cluster per test binary; a fresh database per test.
//! let db = Cluster::shared().database()?;
//! db.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")?;
//! assert_eq!(db.psql("SELECT count(*) FROM t")?.trim(), "1");
//! let url = db.url(); // postgresql://postgres@127.0.0.1:<port>/<name>
//! # let _ = url;
//!
//! // A cluster of its own, with TLS and every authentication method.
//! let cluster = Cluster::builder()
//!     .tls()
//!     .auth_matrix()
//!     .setting("log_statement", "all")
//!     .start()?;
//! let (cert, key) = cluster.client_cert(tusk_testkit::auth::CERT_USER)?;
//! # let _ = (cert, key);
//!
//! // Faults: crash and recover, terminate backends, a flaky network.
//! cluster.kill()?;
//! cluster.start_again()?;
//! cluster.terminate_backends("postgres")?;
//! let proxy = Proxy::start(([127, 0, 0, 1], cluster.port()).into())?;
//! proxy.set_delay(std::time::Duration::from_millis(5));
//! proxy.sever();
//!
//! // PgBouncer in transaction mode in front of it.
//! let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction)?;
//! let _ = bouncer.url("postgres");
//! # Ok(())
//! # }
//! ```
//!
//! # What it does
//!
//! | feature | how |
//! |---|---|
//! | find the server | `TUSK_PG_BINDIR`, else `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin` |
//! | root | PostgreSQL refuses to run as root, so initdb, postgres and pgbouncer run as the `postgres` user, in directories under `/tmp` that it owns (`TUSK_TESTKIT_TMPDIR` overrides) |
//! | fast clusters | `initdb` runs once into a template cached in the temporary directory (keyed by server version); each cluster is a `cp -a` of it, started in well under a second |
//! | test settings | `fsync`, `synchronous_commit`, `full_page_writes` off; `listen_addresses = '127.0.0.1'` on a free port; a private unix socket directory; `max_connections = 200`; `shared_buffers = 128MB` |
//! | a database per test | [`Cluster::database`]: `CREATE DATABASE .. TEMPLATE`, safe from many threads, dropped `WITH (FORCE)` |
//! | setup SQL | [`Cluster::psql`], via `psql` over the unix socket as `postgres` |
//! | authentication | [`ClusterBuilder::auth_matrix`], [`Cluster::create_user`], roles in [`auth`] |
//! | TLS | [`ClusterBuilder::tls`]: a CA and server certificate (rcgen); [`Cluster::client_cert`] |
//! | faults | [`Cluster::stop`], [`Cluster::restart`], [`Cluster::kill`] (crash), [`Cluster::terminate_backends`], [`Proxy`] (delay, black hole, RST, injected and garbled bytes) |
//! | poolers | [`PgBouncer`] (Debian package `pgbouncer`) in session, transaction or statement mode |
//! | cleanup | drop stops the server and removes its directory; a watchdog child does the same when the process dies without dropping (statics, panics, `kill -9`) |
//!
//! # Environment
//!
//! - Needs the PostgreSQL server (Debian: `apt-get install postgresql`) and,
//!   for [`PgBouncer`], `apt-get install pgbouncer`; `psql` runs all setup SQL.
//! - `TUSK_PG_BINDIR`: use the server binaries in this directory.
//! - `TUSK_TESTKIT_TMPDIR`: put run directories and the template cache here
//!   (default: `/tmp` when root, else the system temporary directory). Unix
//!   socket paths must stay under about 100 bytes, so keep it short.
//! - Caller `PG*` variables (PGPASSWORD, PGSSLMODE, ...) are removed from the
//!   testkit's own `psql` calls, so a developer's shell cannot change them.
//!
//! # Writing a test
//!
//! ```no_run
//! #[test]
//! fn inserts_a_row() {
//!     let db = tusk_testkit::Cluster::shared().database().unwrap();
//!     db.psql("CREATE TABLE t (id int)").unwrap();
//!     let url = db.url(); // hand this to the client under test
//!     # let _ = url;
//! }
//! ```
//!
//! This crate does not depend on the `tusk` driver (whose tests use it), and
//! needs no async runtime: it uses threads and child processes.

#![warn(missing_docs)]

pub mod auth;
mod cluster;
mod conf;
pub mod env;
mod error;
pub mod lite;
mod pgbouncer;
mod proxy;
mod template;
mod tls;
mod watchdog;

pub use auth::PasswordEncryption;
pub use cluster::{psql_conninfo, Cluster, ClusterBuilder, TestDb};
pub use error::{Error, Result};
pub use pgbouncer::{PgBouncer, PoolMode};
pub use proxy::Proxy;

/// A fresh database on this test binary's shared cluster
/// ([`Cluster::shared`], [`Cluster::database`]); panics, failing the test,
/// when the cluster cannot start or make the database.
///
/// With `TUSK_TESTKIT_LITE` set to a `tusk` binary built with the `lite`
/// feature, the database is a fresh in-memory tusk-lite server instead
/// ([`lite`]).
pub fn db() -> TestDb {
    if let Some(bin) = lite::lite_binary() {
        let server = lite::LiteServer::start(&bin).expect("tusk-lite server");
        return TestDb::lite(server, "app".to_string());
    }
    Cluster::shared().database().expect("test database")
}
