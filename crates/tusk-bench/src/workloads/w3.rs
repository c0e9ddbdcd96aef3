//! W3: point select, pooled: W1's query from 64 tasks sharing a pool of 8
//! connections. Also the runner W7 uses: many tasks repeating one
//! operation on a shared pool.

use std::hint::black_box;
use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;
use tusk::Executor;
use tusk_pool::{Pool, PoolConfig};

use super::pgbench::{self, Clients};
use super::tasks::{tasks, SharedOp};
use super::w1::{ACCOUNTS, PGBENCH_SCRIPT, SQL};
use super::{entry, Workload};
use crate::error::{BenchError, Result};
use crate::measure::Rng;

/// Tasks sharing the pool.
pub const TASKS: usize = 64;

/// Connections in every pool (and pgbench's clients).
pub const CONNECTIONS: u32 = 8;

/// pgbench's clients and threads in W3 and W7: `-c 8 -j 2`.
pub const PGBENCH_CLIENTS: Clients = Clients {
    clients: CONNECTIONS,
    threads: 2,
};

/// W3.
pub fn workload() -> Workload {
    Workload {
        id: "W3",
        what: "point select, pooled (64 tasks sharing 8 connections)",
        unit: "queries/s",
        latency_of: "query",
        before_round: None,
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move { tasks("W3", TASKS, TuskShared(tusk_pool(&t.url)?)) })
            }),
            entry("tusk-shared", |t| {
                Box::pin(
                    async move { tasks("W3", TASKS, TuskShared(tusk_pool_shared(&t.url, true)?)) },
                )
            }),
            entry("tusk-tracked", |t| {
                // The default, with the opt-in text-scan reset: what the
                // full reset costs is the difference.
                Box::pin(async move {
                    let pool = tusk_pool(&t.url)?;
                    pool.reconfigure(PoolConfig {
                        reset: tusk_pool::ResetPolicy::Tracked,
                        ..pool.config()
                    });
                    tasks("W3", TASKS, TuskShared(pool))
                })
            }),
            entry("tusk-acquire", |t| {
                Box::pin(async move { tasks("W3", TASKS, TuskAcquire(tusk_pool(&t.url)?)) })
            }),
            entry("deadpool-tokio-postgres", |t| {
                Box::pin(async move { tasks("W3", TASKS, Deadpool(deadpool(&t.url)?)) })
            }),
            entry("deadpool-clean", |t| {
                // deadpool with the reset that is as safe as tusk's default
                // (RecyclingMethod::Clean: the DISCARD ALL equivalent, one
                // round trip on every return): like with like.
                Box::pin(async move {
                    tasks(
                        "W3",
                        TASKS,
                        Deadpool(deadpool_with(&t.url, RecyclingMethod::Clean)?),
                    )
                })
            }),
            entry("deadpool-full", |t| {
                // deadpool running tusk's own full reset (the same
                // statements: its transaction and its prepared-statement
                // guard, which `Clean` lacks) as a simple Query on every
                // recycle, a round trip of its own: the same server work
                // as tusk's default, so the difference is how it is sent.
                Box::pin(async move {
                    let reset = tusk_pool::ResetPolicy::full_reset_statements().join("; ");
                    tasks(
                        "W3",
                        TASKS,
                        Deadpool(deadpool_with(&t.url, RecyclingMethod::Custom(reset))?),
                    )
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move { tasks("W3", TASKS, Sqlx(sqlx_pool(&t.url).await?)) })
            }),
            entry("pgbench", |t| {
                Box::pin(async move {
                    pgbench::timed_clients(t, "W3", PGBENCH_SCRIPT, 1, Some(0.1), PGBENCH_CLIENTS)
                })
            }),
        ],
    }
}

/// A tusk pool of [`CONNECTIONS`], all opened up front (`min_idle`), with
/// the defaults otherwise: a connection of its own per `pool.query` call,
/// the full reset on every return.
pub fn tusk_pool(url: &str) -> Result<Pool> {
    tusk_pool_shared(url, false)
}

/// [`tusk_pool()`], with `share_connections` as given (on: once all 8
/// connections are busy, callers share them, pipelined).
pub fn tusk_pool_shared(url: &str, share: bool) -> Result<Pool> {
    let max = usize::try_from(CONNECTIONS).unwrap_or(8);
    Ok(Pool::new(
        PoolConfig::builder()
            .url(url)?
            .max_size(max)
            .min_idle(max)
            .share_connections(share)
            .build(),
    )?)
}

/// A deadpool-postgres pool of [`CONNECTIONS`] tokio-postgres clients;
/// `RecyclingMethod::Fast` (no query when a client comes back), as its
/// documentation recommends for speed.
pub fn deadpool(url: &str) -> Result<deadpool_postgres::Pool> {
    deadpool_with(url, RecyclingMethod::Fast)
}

/// [`deadpool`] with the given recycling method.
pub fn deadpool_with(
    url: &str,
    recycling_method: RecyclingMethod,
) -> Result<deadpool_postgres::Pool> {
    let config = tokio_postgres::Config::from_str(url)?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig { recycling_method },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(usize::try_from(CONNECTIONS).unwrap_or(8))
        .build()
        .map_err(|e| BenchError::process("deadpool-postgres", e.to_string()))
}

/// A sqlx pool of [`CONNECTIONS`] (its defaults otherwise: a ping on every
/// acquire), statement logging off.
pub async fn sqlx_pool(url: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
    Ok(PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        .min_connections(CONNECTIONS)
        .connect_with(options)
        .await?)
}

/// A deadpool error as the benchmark's.
pub fn pool_error(e: deadpool_postgres::PoolError) -> BenchError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => BenchError::TokioPostgres(e),
        e => BenchError::process("deadpool-postgres", e.to_string()),
    }
}

/// tusk: the pool's own query method: by default a connection of one's
/// own per call; with `share_connections`, once all 8 connections are
/// busy, callers share them and their queries are pipelined.
struct TuskShared(Pool);

impl SharedOp for TuskShared {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let aid = rng.key(ACCOUNTS);
        black_box(self.0.query_scalar::<i32>(SQL, &[&aid]).await?);
        Ok(())
    }
}

/// tusk: a connection of one's own per query (`acquire`), as with the
/// other pools.
struct TuskAcquire(Pool);

impl SharedOp for TuskAcquire {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let aid = rng.key(ACCOUNTS);
        let conn = self.0.acquire().await?;
        black_box(conn.query_scalar::<i32>(SQL, &[&aid]).await?);
        Ok(())
    }
}

/// deadpool-postgres: a client per query, its statement from the client's
/// statement cache (`prepare_cached`).
struct Deadpool(deadpool_postgres::Pool);

impl SharedOp for Deadpool {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let aid = rng.key(ACCOUNTS);
        let client = self.0.get().await.map_err(pool_error)?;
        let stmt = client.prepare_cached(SQL).await?;
        let balance: i32 = client.query_one(&stmt, &[&aid]).await?.try_get(0)?;
        black_box(balance);
        Ok(())
    }
}

/// sqlx: `fetch_one` on the pool (a connection per query, its statement
/// cache).
struct Sqlx(PgPool);

impl SharedOp for Sqlx {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let aid = rng.key(ACCOUNTS);
        let balance = sqlx::query_scalar::<_, i32>(SQL)
            .bind(aid)
            .fetch_one(&self.0)
            .await?;
        black_box(balance);
        Ok(())
    }
}
