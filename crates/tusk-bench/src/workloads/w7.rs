//! W7: transaction mix: pgbench's TPC-B-like transaction (update an
//! account, read it back, update a teller and a branch, log the change in
//! the history) with pgbench's random keys at scale 10, from many tasks
//! on a pool of 8 connections.

use std::hint::black_box;

use tusk::{Batch, Executor};
use tusk_pool::{Pool, PooledTransactionOptions};

use super::pgbench;
use super::tasks::{tasks, SharedOp};
use super::w3::{self, PGBENCH_CLIENTS};
use super::{entry, Workload};
use crate::error::{BenchError, Result};
use crate::measure::Rng;

/// Tasks sharing the pool: twice its connections, so that a connection
/// coming back always has a caller waiting for it.
pub const TASKS: usize = 16;

/// The account's update.
pub const UPDATE_ACCOUNT: &str =
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2";
/// The account's balance, read back.
pub const SELECT_ACCOUNT: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
/// The teller's update.
pub const UPDATE_TELLER: &str =
    "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2";
/// The branch's update.
pub const UPDATE_BRANCH: &str =
    "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2";
/// The history row.
pub const INSERT_HISTORY: &str = "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) \
     VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)";

/// Scale of the data set (`pgbench -i -s 10`).
pub const SCALE: u32 = 10;

/// One transaction's keys, drawn as pgbench's `tpcb-like` script draws
/// them: `aid` in 1..=100,000 × scale, `bid` in 1..=scale, `tid` in
/// 1..=10 × scale, `delta` in -5,000..=5,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// The account.
    pub aid: i32,
    /// The branch.
    pub bid: i32,
    /// The teller.
    pub tid: i32,
    /// The amount.
    pub delta: i32,
}

impl Keys {
    /// The next transaction's keys.
    pub fn draw(rng: &mut Rng) -> Keys {
        Keys {
            aid: rng.key(100_000 * SCALE),
            bid: rng.key(SCALE),
            tid: rng.key(10 * SCALE),
            delta: rng.key(10_001) - 5_001,
        }
    }
}

/// W7.
pub fn workload() -> Workload {
    Workload {
        id: "W7",
        what: "transaction mix (pgbench TPC-B-like, 16 tasks sharing 8 connections)",
        unit: "transactions/s",
        latency_of: "transaction",
        // What pgbench does before a run unless told not to (`-n`, which
        // the harness always gives it): vacuum the small, hot tables, so
        // every driver's round starts from the same state.
        before_round: Some("VACUUM pgbench_branches, pgbench_tellers"),
        entries: vec![
            entry("tusk", |t| {
                Box::pin(async move { tasks("W7", TASKS, TuskAtomic(w3::tusk_pool(&t.url)?)) })
            }),
            entry("tusk-noreset", |t| {
                Box::pin(async move { tasks("W7", TASKS, TuskNoReset(w3::tusk_pool(&t.url)?)) })
            }),
            entry("tusk-tx", |t| {
                Box::pin(async move { tasks("W7", TASKS, TuskTx(w3::tusk_pool(&t.url)?)) })
            }),
            entry("deadpool-tokio-postgres", |t| {
                Box::pin(async move { tasks("W7", TASKS, Deadpool(w3::deadpool(&t.url)?)) })
            }),
            entry("sqlx", |t| {
                Box::pin(async move { tasks("W7", TASKS, Sqlx(w3::sqlx_pool(&t.url).await?)) })
            }),
            entry("pgbench", |t| {
                Box::pin(async move {
                    pgbench::builtin(t, "W7", "tpcb-like", Some(0.1), PGBENCH_CLIENTS)
                })
            }),
        ],
    }
}

/// The balance from the SELECT's rows, or a check failure.
fn balance(driver: &'static str, found: Option<i32>) -> Result<i32> {
    found.ok_or_else(|| BenchError::Check {
        workload: "W7",
        driver,
        detail: "the account's SELECT returned no row".into(),
    })
}

impl Keys {
    /// The five statements of one transaction as an atomic [`Batch`].
    fn atomic_batch(&self) -> Batch<'_> {
        let mut b = Batch::atomic();
        b.push(UPDATE_ACCOUNT, &[&self.delta, &self.aid]);
        b.push(SELECT_ACCOUNT, &[&self.aid]);
        b.push(UPDATE_TELLER, &[&self.delta, &self.tid]);
        b.push(UPDATE_BRANCH, &[&self.delta, &self.bid]);
        b.push(
            INSERT_HISTORY,
            &[&self.tid, &self.bid, &self.aid, &self.delta],
        );
        b
    }
}

/// Runs [`Keys::atomic_batch`] on `db` and checks the balance it read.
async fn run_atomic(driver: &'static str, db: &impl Executor, k: &Keys) -> Result<()> {
    let mut found = None;
    for (i, result) in db.batch(&k.atomic_batch()).await?.into_iter().enumerate() {
        let result = result?;
        if i == 1 {
            found = result
                .rows
                .first()
                .map(|r| r.try_get::<i32>(0))
                .transpose()?;
        }
    }
    black_box(balance(driver, found)?);
    Ok(())
}

/// tusk: the five statements as one atomic [`Batch`] on the pool: one
/// flight, one Sync, one transaction (they do not depend on each other's
/// results, so nothing needs to wait for an answer in between).
struct TuskAtomic(Pool);

impl SharedOp for TuskAtomic {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        run_atomic("tusk", &self.0, &Keys::draw(rng)).await
    }
}

/// tusk: the same atomic batch on a connection from `acquire()`, sent
/// through its `Deref` target (the plain `tusk::Connection`), which
/// bypasses the pool's bookkeeping: what that bookkeeping (the statement
/// scan, the reset rule) costs `Pool::batch`.
struct TuskNoReset(Pool);

impl SharedOp for TuskNoReset {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let k = Keys::draw(rng);
        let conn = self.0.acquire().await?;
        run_atomic("tusk-noreset", &*conn, &k).await
    }
}

/// tusk: `Pool::transaction` (BEGIN, the five statements one after the
/// other, COMMIT), the statement-by-statement shape of pgbench's script.
struct TuskTx(Pool);

impl SharedOp for TuskTx {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let k = Keys::draw(rng);
        let found = self
            .0
            .transaction(PooledTransactionOptions::new(), async move |tx| {
                tx.execute(UPDATE_ACCOUNT, &[&k.delta, &k.aid]).await?;
                let b: i32 = tx.query_scalar(SELECT_ACCOUNT, &[&k.aid]).await?;
                tx.execute(UPDATE_TELLER, &[&k.delta, &k.tid]).await?;
                tx.execute(UPDATE_BRANCH, &[&k.delta, &k.bid]).await?;
                tx.execute(INSERT_HISTORY, &[&k.tid, &k.bid, &k.aid, &k.delta])
                    .await?;
                Ok(b)
            })
            .await?;
        black_box(found);
        Ok(())
    }
}

/// deadpool-postgres: a client per transaction, its statements from the
/// client's cache, `transaction()` then one statement after the other.
struct Deadpool(deadpool_postgres::Pool);

impl SharedOp for Deadpool {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let k = Keys::draw(rng);
        let mut client = self.0.get().await.map_err(w3::pool_error)?;
        let ua = client.prepare_cached(UPDATE_ACCOUNT).await?;
        let sa = client.prepare_cached(SELECT_ACCOUNT).await?;
        let ut = client.prepare_cached(UPDATE_TELLER).await?;
        let ub = client.prepare_cached(UPDATE_BRANCH).await?;
        let ih = client.prepare_cached(INSERT_HISTORY).await?;
        let tx = client.transaction().await?;
        tx.execute(&ua, &[&k.delta, &k.aid]).await?;
        let b: i32 = tx.query_one(&sa, &[&k.aid]).await?.try_get(0)?;
        tx.execute(&ut, &[&k.delta, &k.tid]).await?;
        tx.execute(&ub, &[&k.delta, &k.bid]).await?;
        tx.execute(&ih, &[&k.tid, &k.bid, &k.aid, &k.delta]).await?;
        tx.commit().await?;
        black_box(b);
        Ok(())
    }
}

/// sqlx: `pool.begin()`, one statement after the other (its statement
/// cache), `commit()`.
struct Sqlx(sqlx::PgPool);

impl SharedOp for Sqlx {
    async fn run(&self, rng: &mut Rng) -> Result<()> {
        let k = Keys::draw(rng);
        let mut tx = self.0.begin().await?;
        sqlx::query(UPDATE_ACCOUNT)
            .bind(k.delta)
            .bind(k.aid)
            .execute(&mut *tx)
            .await?;
        let b: i32 = sqlx::query_scalar(SELECT_ACCOUNT)
            .bind(k.aid)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(UPDATE_TELLER)
            .bind(k.delta)
            .bind(k.tid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(UPDATE_BRANCH)
            .bind(k.delta)
            .bind(k.bid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_HISTORY)
            .bind(k.tid)
            .bind(k.bid)
            .bind(k.aid)
            .bind(k.delta)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        black_box(b);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;
    use crate::measure::Rng;

    #[test]
    fn keys_follow_pgbench_ranges_at_scale_10() {
        let mut rng = Rng::new(11);
        let (mut lo, mut hi) = (0, 0);
        for _ in 0..100_000 {
            let k = Keys::draw(&mut rng);
            assert!((1..=1_000_000).contains(&k.aid));
            assert!((1..=10).contains(&k.bid));
            assert!((1..=100).contains(&k.tid));
            assert!((-5_000..=5_000).contains(&k.delta));
            lo = lo.min(k.delta);
            hi = hi.max(k.delta);
        }
        assert_eq!((lo, hi), (-5_000, 5_000));
    }
}
