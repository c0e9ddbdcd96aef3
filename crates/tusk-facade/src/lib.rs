//! tusk: PostgreSQL for Rust in one crate. Everything of the driver
//! (`tusk::connect`, [`Connection`], [`Executor`], [`Config`], ...) and,
//! with the default feature `pool`, the connection pool: [`Pool`] and its
//! configuration at the top, the rest of tusk-pool under [`pool`].
//!
//! ```no_run
//! use tusk::Executor;
//! # async fn run() -> Result<(), tusk::Error> {
//! let pool = tusk::Pool::new(tusk::PoolConfig::from_url("postgresql://app@localhost/app")?)?;
//! let n: i64 = pool.query_scalar("SELECT count(*) FROM users", &[]).await?;
//! # let _ = n;
//! # Ok(())
//! # }
//! ```
//!
//! Why a crate of its own: the pool is built on the driver (tusk-pool
//! depends on it), so the driver cannot re-export the pool without a
//! dependency cycle, which cargo forbids. This crate sits above both. The
//! driver alone is the package `tusk-driver` (library name `tusk`), for
//! code that wants no pool: `default-features = false` here gives the same.
//!
//! With the default feature `migrate`: migrations and seeds ([`migrate`],
//! the tusk-migrate crate), and `tusk::migrate!("migrations")`, which
//! embeds a directory of migrations in the binary:
//!
//! ```no_run
//! # async fn run() -> Result<(), tusk::Error> {
//! let migrations = tusk::migrate!("tests/migrations")?;
//! let config = tusk::Config::parse("postgresql://app@localhost/app")?;
//! tusk::migrate::Migrator::new(migrations).up(&config).await?;
//! # Ok(()) }
//! ```
//!
//! With the feature `listen`, the LISTEN/NOTIFY dispatcher of tusk-listen:
//! `tusk::Listener` at the top, the rest under `tusk::listen` (wildcard topics
//! over real `LISTEN`s, reconnect with `Resync` events, an outbox for
//! large payloads; docs/notifications.md).
//!
//! With the feature `cron`, the scheduler of tusk-cron under `tusk::cron`:
//! jobs in a table on cron schedules in IANA time zones, SQL or Rust
//! handlers, run by any number of workers (docs/cron.md).
//!
//! With the feature `test` (for dev-dependencies): `#[tusk::test]`, a
//! fresh database per test cloned from a template the migrations built
//! once, or one rolled-back transaction per test; fixtures; a check that
//! no pooled connection was left checked out; with `insta`, snapshots of
//! query results ([`testing`], docs/testing.md).
//!
//! With the feature `sea-query`: `stmt.build_tusk()` ([`sea_query`]) runs
//! sea-query statements with their values as real bind parameters.
//!
//! The driver's optional features pass through: the `with-*` type
//! mappings, and `arrow` (off by default) for `Executor::query_arrow`,
//! results as Arrow record batches.

pub use driver::*;

#[cfg(feature = "pool")]
pub use tusk_pool::{
    Pool, PoolConfig, PoolConfigBuilder, PooledConnection, PooledTransaction,
    PooledTransactionOptions, ResetPolicy,
};

/// The connection pool (tusk-pool): everything it exports.
#[cfg(feature = "pool")]
pub mod pool {
    pub use tusk_pool::*;
}

/// Migrations and seeds (tusk-migrate): everything it exports. See
/// `docs/migrations.md`.
#[cfg(feature = "migrate")]
pub mod migrate {
    pub use tusk_migrate::*;
}

/// `tusk::migrate!("migrations")`: embeds every `.sql` file of the
/// directory (relative to your crate's `Cargo.toml`) in the binary; evaluates
/// to `Result<tusk::migrate::Migrations, tusk::migrate::MigrateError>`, read
/// by the same parser as [`migrate::Migrations::from_dir`]. Cargo rebuilds
/// when an embedded file changes; for a new file to be picked up, add a
/// build script with `println!("cargo:rerun-if-changed=migrations");`.
#[cfg(feature = "migrate")]
pub use tusk_macros::migrate;

/// A model of a database read from pg_catalog in one round trip, drift
/// between two, and DDL and Rust structs from it (tusk-inspect; feature
/// `inspect`). See `docs/inspect.md`.
#[cfg(feature = "inspect")]
pub mod inspect {
    pub use tusk_inspect::*;
}

#[cfg(feature = "listen")]
pub use tusk_listen::Listener;

/// The LISTEN/NOTIFY dispatcher (tusk-listen): everything it exports.
#[cfg(feature = "listen")]
pub mod listen {
    pub use tusk_listen::*;
}

/// Cron jobs in a table (tusk-cron; feature `cron`): everything it
/// exports. See `docs/cron.md`.
#[cfg(feature = "cron")]
pub mod cron {
    pub use tusk_cron::*;
}

/// docs/cron.md, whose examples compile as doctests here.
#[cfg(all(doctest, feature = "cron"))]
#[doc = include_str!("../../../docs/cron.md")]
mod cron_md {}

/// `#[tusk::test]`: an async test with a database of its own (feature
/// `test`). See [`testing`] and docs/testing.md.
///
/// Attributes: `migrations = "dir"` or `migrations = false` (default:
/// `./migrations` when it exists), `fixtures = ["a.sql", ..]`,
/// `fixtures_dir = "tests/fixtures"`, `transaction`.
#[cfg(feature = "test")]
pub use tusk_macros::test;

/// sea-query statements with their values as bind parameters (feature
/// `sea-query`).
#[cfg(feature = "sea-query")]
pub mod sea_query;

/// Support for `#[tusk::test]` (feature `test`).
#[cfg(feature = "test")]
pub mod testing;

/// docs/notifications.md, whose examples compile as doctests here.
#[cfg(all(doctest, feature = "listen"))]
#[doc = include_str!("../../../docs/notifications.md")]
mod notifications_md {}

/// docs/testing.md, whose examples compile as doctests here.
#[cfg(all(doctest, feature = "insta"))]
#[doc = include_str!("../../../docs/testing.md")]
mod testing_md {}
