//! W2: point select, pipelined: one connection shared by 64 concurrent
//! callers.

use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use sqlx::postgres::PgConnection;
use tokio::sync::Mutex;
use tusk::Executor;

use super::w1::{ACCOUNTS, SQL};
use super::{connect, entry, pgbench, Bench, BoxFut, Plan, Workload};
use crate::error::{BenchError, Result};
use crate::measure::{histogram, Meter, Rng, Sample};

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
                Box::pin(async move { callers("tusk", connect::tusk(&t.url).await?) })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    let client = connect::tokio_postgres(&t.url).await?;
                    let stmt = client.prepare(SQL).await?;
                    callers("tokio-postgres", (client, stmt))
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move {
                    // sqlx cannot pipeline: the callers take turns on a mutex.
                    callers("sqlx", Mutex::new(connect::sqlx(&t.url).await?))
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

fn callers<T: SharedPointSelect>(driver: &'static str, inner: T) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Callers {
        driver,
        inner: Arc::new(inner),
        seed: 0x5eed_0002,
    }))
}

/// Runs a [`SharedPointSelect`] from [`CALLERS`] tasks at once.
struct Callers<T> {
    driver: &'static str,
    inner: Arc<T>,
    seed: u64,
}

impl<T: SharedPointSelect> Bench for Callers<T> {
    fn driver(&self) -> &'static str {
        self.driver
    }

    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            let deadline = m.started() + plan.duration();
            let mut tasks = Vec::with_capacity(CALLERS);
            for _ in 0..CALLERS {
                self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut rng = Rng::new(self.seed);
                let inner = Arc::clone(&self.inner);
                tasks.push(tokio::spawn(async move {
                    let mut hist = histogram();
                    let mut ops = 0u64;
                    loop {
                        let aid = rng.key(ACCOUNTS);
                        let t = Instant::now();
                        let balance = inner.select(aid).await?;
                        let now = Instant::now();
                        let _ = hist.record(crate::measure::nanos(now - t).max(1));
                        ops += 1;
                        black_box(balance);
                        if now >= deadline {
                            return Ok::<_, BenchError>((ops, hist));
                        }
                    }
                }));
            }
            for task in tasks {
                let (ops, hist) = task
                    .await
                    .map_err(|e| BenchError::process("a W2 caller task", e.to_string()))??;
                m.merge(ops, &hist);
            }
            Ok(m.finish())
        })
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
