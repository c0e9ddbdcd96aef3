//! W6: batch write: 1,000 single-row INSERTs into a scratch table, sent as
//! one batch (or pipeline, or one at a time where that is all a driver
//! can do), repeated; the table is truncated before every round.

use std::fmt::Write as _;
use std::future::Future;
use std::time::Instant;

use futures::future::try_join_all;
use sqlx::postgres::PgConnection;
use tokio_postgres::types::ToSql;
use tusk::{Batch, Executor};

use super::{connect, entry, pgbench, Bench, BoxFut, Plan, Workload};
use crate::error::{BenchError, Result};
use crate::measure::{Meter, Sample};

/// The INSERT of W6.
pub const SQL: &str = "INSERT INTO bench_w6 (id, name, score) VALUES ($1, $2, $3)";

/// INSERTs per batch.
pub const BATCH: usize = 1_000;

/// One row to insert.
#[derive(Debug, Clone)]
pub struct ScratchRow {
    /// `id int8`.
    pub id: i64,
    /// `name text`.
    pub name: String,
    /// `score float8`.
    pub score: f64,
}

/// W6's operation in one driver: insert these rows, one INSERT each.
pub trait InsertBatch: Send {
    /// Inserts `rows`, one statement per row.
    fn insert<'a>(
        &'a mut self,
        rows: &'a [ScratchRow],
    ) -> impl Future<Output = Result<()>> + Send + 'a;
}

/// W6.
pub fn workload() -> Workload {
    Workload {
        id: "W6",
        what: "batch write (1,000 single-row INSERTs per batch, repeated)",
        unit: "inserts/s",
        latency_of: "batch of 1,000",
        before_round: Some("TRUNCATE bench_w6"),
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move { batches("tusk", TuskBatch(connect::tusk(&t.url).await?)) })
            }),
            entry("tusk-isolated", |t| {
                Box::pin(async move {
                    batches(
                        "tusk-isolated",
                        TuskIsolatedBatch(connect::tusk(&t.url).await?),
                    )
                })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    let client = connect::tokio_postgres(&t.url).await?;
                    let stmt = client.prepare(SQL).await?;
                    batches("tokio-postgres", OneAtATime(client, stmt))
                })
            }),
            entry("tokio-postgres-pipelined", |t| {
                Box::pin(async move {
                    let client = connect::tokio_postgres(&t.url).await?;
                    let stmt = client.prepare(SQL).await?;
                    batches("tokio-postgres-pipelined", JoinAll(client, stmt))
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move { batches("sqlx", connect::sqlx(&t.url).await?) })
            }),
            entry("pgbench", |t| {
                Box::pin(async move {
                    let ops = u64::try_from(BATCH).unwrap_or(1_000);
                    pgbench::timed(t, "W6", &pgbench_script(), ops, None)
                })
            }),
            super::server::inserts(),
        ],
    }
}

/// A pgbench script: one random id, then 1,000 INSERTs in one pipeline.
pub fn pgbench_script() -> String {
    let mut s = String::from("\\set id random(1, 1000000)\n\\startpipeline\n");
    for _ in 0..BATCH {
        let _ = writeln!(
            s,
            "INSERT INTO bench_w6 (id, name, score) VALUES (:id, 'row', :id * 0.5);"
        );
    }
    s.push_str("\\endpipeline\n");
    s
}

/// The rows every in-process driver inserts, batch after batch.
pub fn rows() -> Vec<ScratchRow> {
    (0..1_000i32)
        .map(|i| ScratchRow {
            id: i64::from(i),
            name: "row".to_owned(),
            score: f64::from(i) * 0.5,
        })
        .collect()
}

/// tusk: one atomic [`Batch`] of 1,000 statements: one flight, one Sync,
/// one transaction, the protocol shape of pgbench's pipelined script.
struct TuskBatch(tusk::Connection);

impl InsertBatch for TuskBatch {
    async fn insert<'a>(&'a mut self, rows: &'a [ScratchRow]) -> Result<()> {
        let mut batch = Batch::atomic();
        for r in rows {
            batch.push(SQL, &[&r.id, &r.name, &r.score]);
        }
        for result in self.0.batch(&batch).await? {
            result?;
        }
        Ok(())
    }
}

/// tusk: the same statements as a plain [`Batch`]: one flight, but a Sync
/// (and so an implicit transaction, a commit and an answer) per INSERT, so
/// that each statement's error is its own.
struct TuskIsolatedBatch(tusk::Connection);

impl InsertBatch for TuskIsolatedBatch {
    async fn insert<'a>(&'a mut self, rows: &'a [ScratchRow]) -> Result<()> {
        let mut batch = Batch::new();
        for r in rows {
            batch.push(SQL, &[&r.id, &r.name, &r.score]);
        }
        for result in self.0.batch(&batch).await? {
            result?;
        }
        Ok(())
    }
}

/// tokio-postgres, each INSERT awaited before the next is sent.
struct OneAtATime(tokio_postgres::Client, tokio_postgres::Statement);

impl InsertBatch for OneAtATime {
    async fn insert<'a>(&'a mut self, rows: &'a [ScratchRow]) -> Result<()> {
        for r in rows {
            self.0.execute(&self.1, &[&r.id, &r.name, &r.score]).await?;
        }
        Ok(())
    }
}

/// tokio-postgres, all 1,000 futures at once (`try_join_all`): it
/// pipelines them.
struct JoinAll(tokio_postgres::Client, tokio_postgres::Statement);

impl InsertBatch for JoinAll {
    async fn insert<'a>(&'a mut self, rows: &'a [ScratchRow]) -> Result<()> {
        let (client, stmt) = (&self.0, &self.1);
        let params: Vec<[&(dyn ToSql + Sync); 3]> = rows
            .iter()
            .map(|r| [&r.id as _, &r.name as _, &r.score as _])
            .collect();
        try_join_all(params.iter().map(|p| client.execute(stmt, p))).await?;
        Ok(())
    }
}

/// sqlx, one at a time (it has no pipeline).
impl InsertBatch for PgConnection {
    async fn insert<'a>(&'a mut self, rows: &'a [ScratchRow]) -> Result<()> {
        for r in rows {
            sqlx::query(SQL)
                .bind(r.id)
                .bind(&r.name)
                .bind(r.score)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}

fn batches<T: InsertBatch + 'static>(driver: &'static str, inner: T) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Batches {
        driver,
        inner,
        rows: rows(),
    }))
}

/// Runs an [`InsertBatch`] over and over for a round.
struct Batches<T> {
    driver: &'static str,
    inner: T,
    rows: Vec<ScratchRow>,
}

impl<T: InsertBatch + 'static> Bench for Batches<T> {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            let deadline = m.started() + plan.duration();
            let n = u64::try_from(self.rows.len()).unwrap_or(0);
            if n == 0 {
                return Err(BenchError::Check {
                    workload: "W6",
                    driver: self.driver,
                    detail: "no rows to insert".into(),
                });
            }
            while m.before(deadline) {
                let t = Instant::now();
                self.inner.insert(&self.rows).await?;
                m.record(t, n);
            }
            Ok(m.finish())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pgbench_script_pipelines_1000_inserts() {
        let s = super::pgbench_script();
        assert_eq!(s.matches("INSERT").count(), 1_000);
        assert_eq!(super::rows().len(), 1_000);
    }
}
