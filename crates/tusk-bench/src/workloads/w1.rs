//! W1: point select, sequential: one connection, one query at a time.

use std::future::Future;
use std::hint::black_box;
use std::time::Instant;

use sqlx::postgres::PgConnection;
use tusk::Executor;

use super::{connect, entry, pgbench, Bench, BoxFut, Plan, Workload};
use crate::error::Result;
use crate::measure::{Meter, Rng, Sample};

/// The query of W1 and W2.
pub const SQL: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";

/// Rows of `pgbench_accounts` at scale 10.
pub const ACCOUNTS: u32 = 1_000_000;

/// The pgbench script of W1 (`-M prepared`).
pub const PGBENCH_SCRIPT: &str = "\\set aid random(1, 1000000)\n\
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n";

/// W1's operation in one driver: fetch one account's balance.
pub trait PointSelect: Send {
    /// Runs the query for `aid` and returns `abalance`.
    fn select(&mut self, aid: i32) -> impl Future<Output = Result<i32>> + Send;
}

/// W1.
pub fn workload() -> Workload {
    Workload {
        id: "W1",
        what: "point select, sequential (one connection, one query at a time)",
        unit: "queries/s",
        latency_of: "query",
        before_round: None,
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move { sequential(connect::tusk(&t.url).await?) })
            }),
            entry("tokio-postgres", |t| {
                Box::pin(async move {
                    let client = connect::tokio_postgres(&t.url).await?;
                    let stmt = client.prepare(SQL).await?;
                    sequential((client, stmt))
                })
            }),
            entry("sqlx", |t| {
                Box::pin(async move { sequential(connect::sqlx(&t.url).await?) })
            }),
            entry("pgbench", |t| {
                Box::pin(async move { pgbench::timed(t, "W1", PGBENCH_SCRIPT, 1, Some(0.1)) })
            }),
            super::server::point_selects(),
        ],
    }
}

impl PointSelect for tusk::Connection {
    async fn select(&mut self, aid: i32) -> Result<i32> {
        Ok(self.query_scalar::<i32>(SQL, &[&aid]).await?)
    }
}

impl PointSelect for (tokio_postgres::Client, tokio_postgres::Statement) {
    async fn select(&mut self, aid: i32) -> Result<i32> {
        Ok(self.0.query_one(&self.1, &[&aid]).await?.try_get(0)?)
    }
}

impl PointSelect for PgConnection {
    async fn select(&mut self, aid: i32) -> Result<i32> {
        Ok(sqlx::query_scalar::<_, i32>(SQL)
            .bind(aid)
            .fetch_one(self)
            .await?)
    }
}

/// One point select at a time through `inner` (W1, and L3 for tusk-lite).
pub(crate) fn sequential<T: PointSelect + 'static>(inner: T) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Sequential {
        inner,
        rng: Rng::new(0x5eed_0001),
    }))
}

/// Runs a [`PointSelect`] one query at a time.
struct Sequential<T> {
    inner: T,
    rng: Rng,
}

impl<T: PointSelect + 'static> Bench for Sequential<T> {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            let deadline = m.started() + plan.duration();
            while m.before(deadline) {
                let aid = self.rng.key(ACCOUNTS);
                let t = Instant::now();
                let balance = self.inner.select(aid).await?;
                m.record(t, 1);
                black_box(balance);
            }
            Ok(m.finish())
        })
    }
}
