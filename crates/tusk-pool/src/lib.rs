//! tusk-pool: a sharded, pipelining PostgreSQL connection pool for tusk.
//!
//! ```no_run
//! use std::time::Duration;
//! use tusk::Executor;
//! use tusk_pool::{Pool, PoolConfig, PooledTransactionOptions};
//!
//! # async fn run() -> Result<(), tusk::Error> {
//! let pool = Pool::new(
//!     PoolConfig::builder()
//!         .url("postgresql://app@localhost/app")?
//!         .max_size(8)
//!         .min_idle(2)
//!         .leak_detection_threshold(Duration::from_secs(10))
//!         .build(),
//! )?;
//!
//! // The pool is an executor: one statement per checkout, on a connection
//! // of its own (reset when it comes back, at no round trip).
//! let n: i64 = pool.query_scalar("SELECT $1::int8 + 1", &[&41i64]).await?;
//! assert_eq!(n, 42);
//!
//! // A connection of one's own; back to the pool (rolled back and reset
//! // if needed) when dropped.
//! let conn = pool.acquire().await?;
//! conn.execute("INSERT INTO events (kind) VALUES ($1)", &[&"login"]).await?;
//! drop(conn);
//!
//! // A transaction, retried on serialization failures and deadlocks.
//! pool.transaction(PooledTransactionOptions::new().serializable(), async |tx| {
//!     tx.execute("UPDATE counters SET n = n + 1 WHERE id = $1", &[&1i64]).await?;
//!     Ok(())
//! })
//! .await?;
//!
//! println!("{}", pool.metrics_prometheus());
//! pool.close(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! | | |
//! |---|---|
//! | Acquire | idle from the caller's shard (one per tokio worker), stolen from another, opened below `max_size`, or FIFO wait; no I/O unless idle past `idle_check_threshold` (one empty query) |
//! | Sharing (opt-in) | with [`PoolConfig::share_connections`], `Pool`'s own query methods pipeline many callers on one connection once the pool is full (`max_pipeline_depth`), PgBouncer transaction-mode contract; transaction control, session statements and streams never shared |
//! | Lifetime | `max_lifetime` with jitter, enforced on busy connections when they come back; `idle_timeout` above `min_idle` |
//! | Reset on return | by default everything `DISCARD ALL` resets but the driver's cached statements, queued on return and sent with the next holder's first statement, without waiting (no round trip); notifications, notice handler, cancel tokens of the previous holder gone; open or failed transactions rolled back; untrusted connections closed; [`ResetPolicy::Tracked`] opt-in |
//! | Roles | [`Pool::acquire_as`]: `SET ROLE` and settings, reset on return |
//! | Credentials | a [`CredentialsProvider`] asked per new connection: rotation needs no restart |
//! | Leaks | `#[track_caller]` acquire site (optional backtrace), a warning and `leaked_total` past `leak_detection_threshold`, a log on return |
//! | Supervisor | keeps `min_idle`, reopens in the background with exponential backoff and jitter, checks idle connections after connection errors |
//! | SQLSTATE policy | evict on 08xxx, 57P01-03; on 25006 retire all when the server really is read-only; breaker on 53300 and repeated connect failures, half-open probes |
//! | Transactions | [`Pool::transaction`]: isolation, read only, deferrable; commit/rollback; retry on 40001/40P01 with jittered backoff; savepoints |
//! | Observability | [`Pool::stats`], [`Pool::health`], Prometheus text, OpenTelemetry names, `tracing` spans with OTel attributes, bytes in and out |
//! | Shutdown | [`Pool::close`]: refuse, drain up to a deadline, cancel, close |
//! | Config | [`PoolConfig::from_url`] (`pool_<key>` parameters), [`PoolConfig::from_env`] (`TUSK_POOL_<KEY>`), [`PoolConfig::from_toml_str`] (`[pool]`), layered by [`PoolConfig::load`]; [`PoolConfig::validate`] corrects with [`ConfigWarning`]s; [`Pool::reconfigure`] live, recycling on connection changes |
//! | Hot statements | [`PoolConfig::hot_statements`] prepared into each new connection's statement cache in one flight before first use |
//!
//! See `docs/pool.md` for the policies in full.

#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod acquire;
mod backoff;
mod breaker;
mod config;
mod conn;
mod credentials;
mod health;
mod hot;
mod inner;
mod leak;
pub mod metrics;
mod observe;
mod policy;
mod pool;
mod pooled;
mod release;
mod reset;
mod shared;
mod supervisor;
mod transaction;

pub use breaker::BreakerState;
pub use config::{ConfigWarning, PoolConfig, PoolConfigBuilder, ResetPolicy};
pub use credentials::{CredentialsFuture, CredentialsProvider};
pub use health::{Health, HealthStatus};
pub use leak::LeakReport;
pub use metrics::PoolStats;
pub use pool::Pool;
pub use pooled::{PooledConnection, PooledTransaction};
pub use transaction::PooledTransactionOptions;

/// The old name of [`PooledTransaction`].
#[deprecated(since = "0.1.0", note = "renamed to `PooledTransaction`")]
pub type PoolTransaction<'c> = PooledTransaction<'c>;

/// The old name of [`PooledTransactionOptions`].
#[deprecated(since = "0.1.0", note = "renamed to `PooledTransactionOptions`")]
pub type TxOptions = PooledTransactionOptions;
