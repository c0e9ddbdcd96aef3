//! W2: point select, pipelined: one connection shared by 64 concurrent
//! callers.

use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;

use sqlx::postgres::PgConnection;
use tokio::sync::Mutex;
use tusk::Executor;

use super::tasks::{tasks, SharedOp};
use super::w1::{ACCOUNTS, SQL};
use super::{connect, entry, pgbench, Bench, Workload};
use crate::error::Result;
use crate::measure::Rng;

/// Concurrent callers on the one connection (and queries per pgbench
/// pipeline).
pub const CALLERS: usize = 64;

/// W2's operation in one driver, callable from many tasks at once.
pub trait SharedPointSelect: Send + Sync + 'static {
    /// Runs W1's query for `aid` and returns `abalance`.
    fn select(&self, aid: i32) -> impl Future<Output = Result<i32>> + Send;
}

/// W2.
pub fn workload() -> Workload {
    Workload {
        id: "W2",
        what: "point select, pipelined (one connection, 64 concurrent callers)",
        unit: "queries/s",
        latency_of: "query",
        before_round: None,
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move { callers(connect::tusk(&t.url).await?) })
            }),
            // Read groups are an opt-in (issue 9): the same callers with
            // `read_groups=on`, to set beside pgbench's pipeline.
            entry("tusk-groups", |t| {
                Box::pin(async move {
                    let url = connect::with_param(&t.url, "read_groups=on");
                    callers(connect::tusk(&url).await?)
                })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    let client = connect::tokio_postgres(&t.url).await?;
                    let stmt = client.prepare(SQL).await?;
                    callers((client, stmt))
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move {
                    // sqlx cannot pipeline: the callers take turns on a mutex.
                    callers(Mutex::new(connect::sqlx(&t.url).await?))
                })
            }),
            entry("pgbench", |t| {
                Box::pin(async move {
                    let ops = u64::try_from(CALLERS).unwrap_or(64);
                    pgbench::timed(t, "W2", &pgbench_script(), ops, Some(0.1))
                })
            }),
            super::server::point_selects(),
        ],
    }
}

/// A pgbench script: 64 random keys, then 64 queries in one pipeline.
pub fn pgbench_script() -> String {
    let mut s = String::new();
    for i in 0..CALLERS {
        let _ = writeln!(s, "\\set a{i} random(1, 1000000)");
    }
    s.push_str("\\startpipeline\n");
    for i in 0..CALLERS {
        let _ = writeln!(
            s,
            "SELECT abalance FROM pgbench_accounts WHERE aid = :a{i};"
        );
    }
    s.push_str("\\endpipeline\n");
    s
}

impl SharedPointSelect for tusk::Connection {
    async fn select(&self, aid: i32) -> Result<i32> {
        Ok(self.query_scalar::<i32>(SQL, &[&aid]).await?)
    }
}

impl SharedPointSelect for (tokio_postgres::Client, tokio_postgres::Statement) {
    async fn select(&self, aid: i32) -> Result<i32> {
        Ok(self.0.query_one(&self.1, &[&aid]).await?.try_get(0)?)
    }
}

impl SharedPointSelect for Mutex<PgConnection> {
    async fn select(&self, aid: i32) -> Result<i32> {
        let mut conn = self.lock().await;
        Ok(sqlx::query_scalar::<_, i32>(SQL)
            .bind(aid)
            .fetch_one(&mut *conn)
            .await?)
    }
}

fn callers<T: SharedPointSelect>(inner: T) -> Result<Box<dyn Bench>> {
    tasks("W2", CALLERS, Select(inner))
}

/// A [`SharedPointSelect`] as the operation each of [`CALLERS`] tasks
/// repeats: W1's query for a random account.
struct Select<T>(T);

impl<T: SharedPointSelect> SharedOp for Select<T> {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        black_box(self.0.select(rng.key(ACCOUNTS)).await?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pgbench_script_pipelines_64_queries() {
        let s = super::pgbench_script();
        assert_eq!(s.matches("SELECT").count(), 64);
        assert!(s.contains("\\startpipeline\n") && s.ends_with("\\endpipeline\n"));
    }
}
