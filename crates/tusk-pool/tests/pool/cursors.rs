//! Portals and cursors in pooled transactions, directly and behind a
//! transaction-mode PgBouncer: the same rows as `query`, and the
//! connection goes back to the pool in step.

use std::time::Duration;

use tusk::Executor;
use tusk_pool::{Pool, PooledTransactionOptions};

fn ids(rows: &[tusk::Row]) -> Vec<i64> {
    rows.iter().map(|r| r.get::<i64>(0)).collect()
}

async fn batches(p: &mut tusk::Portal<'_>, max: usize) -> Vec<tusk::Row> {
    let mut all = Vec::new();
    while let Some(b) = crate::bounded("batch", p.next_batch()).await.unwrap() {
        assert!(b.len() <= max);
        all.extend(b);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_in_a_pooled_transaction() {
    let db = crate::db();
    db.psql("CREATE TABLE t AS SELECT g::int8 AS id FROM generate_series(1, 1000) g")
        .unwrap();
    let pool = crate::pool(&db, 1);
    let sql = "SELECT id FROM t WHERE id > $1 ORDER BY id";
    let oracle = ids(&pool.query(sql, &[&100i64]).await.unwrap());
    {
        let mut conn = pool.acquire().await.unwrap();
        let tx = conn.transaction().await.unwrap();
        let mut p = tx.query_portal(sql, &[&100i64], 64).await.unwrap();
        assert_eq!(ids(&batches(&mut p, 64).await), oracle);
        // One left open (a batch taken) when the transaction commits.
        let mut open = tx.query_portal(sql, &[&100i64], 10).await.unwrap();
        open.next_batch().await.unwrap();
        let mut cur = tx
            .declare_cursor("c", sql, &[&100i64], false)
            .await
            .unwrap();
        assert_eq!(ids(&cur.fetch(5).await.unwrap()), oracle[..5]);
        tx.commit().await.unwrap();
        drop((p, open, cur));
    }
    // Through the closure API (retried transactions).
    let got = pool
        .transaction(PooledTransactionOptions::new(), async |tx| {
            let mut p = tx.query_portal(sql, &[&100i64], 100).await?;
            let mut all = Vec::new();
            while let Some(b) = p.next_batch().await? {
                all.extend(ids(&b));
            }
            Ok(all)
        })
        .await
        .unwrap();
    assert_eq!(got, oracle);
    // The connection came back in step, nothing left open on it.
    let conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(conn.transaction_status(), tusk::TransactionStatus::Idle);
    let n: i64 = conn
        .query_scalar("SELECT count(*) FROM pg_cursors WHERE name <> ''", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_behind_a_transaction_mode_pgbouncer() {
    use tusk_testkit::{Cluster, PgBouncer, PoolMode};
    let db = crate::db();
    db.psql("CREATE TABLE t AS SELECT g::int8 AS id FROM generate_series(1, 2000) g")
        .unwrap();
    let bouncer = PgBouncer::start(Cluster::shared(), PoolMode::Transaction).unwrap();
    bouncer.admin("SET default_pool_size = 2").unwrap();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let pool = Pool::new(
        tusk_pool::PoolConfig::builder()
            .url(&url)
            .expect("url")
            .max_size(4)
            .acquire_timeout(Duration::from_secs(20))
            .build(),
    )
    .expect("pool");
    let mut tasks = Vec::new();
    for t in 0..4i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let sql = "SELECT id FROM t WHERE id % 4 = $1 ORDER BY id";
            for round in 0..5 {
                let mut conn = pool.acquire().await.unwrap();
                let oracle = ids(&conn.query(sql, &[&t]).await.unwrap());
                let tx = conn.transaction().await.unwrap();
                let mut a = tx.query_portal(sql, &[&t], 37).await.unwrap();
                let mut b = tx.query_portal(sql, &[&t], 100).await.unwrap();
                let (ga, gb) = futures_util::future::join(
                    async {
                        let mut v = Vec::new();
                        while let Some(x) = a.next_batch().await.unwrap() {
                            v.extend(ids(&x));
                            tokio::task::yield_now().await;
                        }
                        v
                    },
                    async {
                        let mut v = Vec::new();
                        while let Some(x) = b.next_batch().await.unwrap() {
                            v.extend(ids(&x));
                        }
                        v
                    },
                )
                .await;
                assert_eq!(ga, oracle, "task {t} round {round}");
                assert_eq!(gb, oracle, "task {t} round {round}");
                drop((a, b));
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        crate::bounded("task", t).await.unwrap();
    }
    assert_eq!(pool.query_scalar::<i32>("SELECT 1", &[]).await.unwrap(), 1);
}

/// A `declare_cursor` future dropped midway in a pooled transaction, on a
/// pool of its own and behind a transaction-mode PgBouncer: dropped before
/// its answer, with or without hold, the cursor is closed before the next
/// query of the transaction; the transaction commits; the connection goes
/// back with nothing left open on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declare_dropped_midway_in_a_pooled_transaction_leaves_no_cursor() {
    use tusk_testkit::{Cluster, PgBouncer, PoolMode};
    let db = crate::db();
    let bouncer = PgBouncer::start(Cluster::shared(), PoolMode::Transaction).unwrap();
    bouncer.admin("SET default_pool_size = 1").unwrap();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let bounced = Pool::new(
        tusk_pool::PoolConfig::builder()
            .url(&url)
            .expect("url")
            .max_size(1)
            .acquire_timeout(Duration::from_secs(20))
            .build(),
    )
    .expect("pool");
    let direct = crate::pool(&db, 1);
    for (what, pool) in [("direct", &direct), ("pgbouncer", &bounced)] {
        for hold in [false, true] {
            for polls in 1..4 {
                let mut conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
                let tx = conn.transaction().await.unwrap();
                {
                    let mut f =
                        Box::pin(tx.declare_cursor("h", "SELECT 1 FROM pg_sleep(0.05)", &[], hold));
                    for _ in 0..polls {
                        if futures_util::poll!(f.as_mut()).is_ready() {
                            break;
                        }
                    }
                }
                let n: i64 = crate::bounded(
                    "count",
                    tx.query_scalar("SELECT count(*) FROM pg_cursors WHERE name = 'h'", &[]),
                )
                .await
                .unwrap();
                assert_eq!(n, 0, "{what}, hold {hold}, polled {polls} times");
                tx.commit().await.unwrap();
            }
        }
        // Dropped, then the transaction and the connection dropped too.
        {
            let mut conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
            let tx = conn.transaction().await.unwrap();
            let mut f = Box::pin(tx.declare_cursor("h", "SELECT 1 FROM pg_sleep(0.05)", &[], true));
            // Usually still waiting for the DECLARE's answer; on a loaded
            // machine the answer may be in before the first poll reads,
            // and the Cursor it returns is dropped at once. Either way no
            // cursor may be left on the connection that goes back.
            let _ = futures_util::poll!(f.as_mut());
        }
        let conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
        let tx_status = conn.transaction_status();
        assert_eq!(tx_status, tusk::TransactionStatus::Idle, "{what}");
        let n: i64 = crate::bounded(
            "count",
            conn.query_scalar("SELECT count(*) FROM pg_cursors WHERE name <> ''", &[]),
        )
        .await
        .unwrap();
        assert_eq!(n, 0, "{what}: left open on the connection returned");
    }
}
