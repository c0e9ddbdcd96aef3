use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tusk::{ErrorKind, Executor};
use tusk_pool::PooledTransactionOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_on_ok_rollback_on_err_and_savepoints() {
    let db = crate::db();
    db.psql("CREATE TABLE t (id int)").unwrap();
    let pool = crate::pool(&db, 2);
    let label = String::from("borrowed from the caller");
    let got = pool
        .transaction(PooledTransactionOptions::new(), async |tx| {
            tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
            // A savepoint rolled back keeps the outer work.
            let sp = tx.transaction().await?;
            sp.execute("INSERT INTO t VALUES (2)", &[]).await?;
            sp.rollback().await?;
            Ok(label.len())
        })
        .await
        .unwrap();
    assert_eq!(got, label.len());
    let r: Result<(), _> = pool
        .transaction(PooledTransactionOptions::new(), async |tx| {
            tx.execute("INSERT INTO t VALUES (3)", &[]).await?;
            Err(tusk::Error::new(ErrorKind::Other, "changed my mind"))
        })
        .await;
    assert!(r.is_err());
    let ids: Vec<i32> = pool
        .query("SELECT id FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1]);
    let s = pool.stats();
    assert_eq!((s.commits_total, s.rollbacks_total), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_reach_begin_and_the_future_is_send() {
    let db = crate::db();
    let pool = crate::pool(&db, 2);
    let p = pool.clone();
    let (iso, ro) = tokio::spawn(async move {
        p.transaction(
            PooledTransactionOptions::new()
                .serializable()
                .read_only()
                .deferrable(),
            async |tx| {
                let iso: String = tx.query_scalar("SHOW transaction_isolation", &[]).await?;
                let ro: String = tx.query_scalar("SHOW transaction_read_only", &[]).await?;
                Ok((iso, ro))
            },
        )
        .await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((iso.as_str(), ro.as_str()), ("serializable", "on"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failures_are_retried() {
    let db = crate::db();
    let pool = crate::pool(&db, 2);
    let calls = Arc::new(AtomicU32::new(0));
    let n = pool
        .transaction(PooledTransactionOptions::new().attempts(4), async |tx| {
            let k = calls.fetch_add(1, Ordering::SeqCst);
            if k < 2 {
                // A real 40001 from the server.
                tx.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
                    &[],
                )
                .await?;
            }
            Ok(k)
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(pool.stats().retries_total, 2);
    // Attempts run out: the last error is returned.
    let e = pool
        .transaction(PooledTransactionOptions::new().attempts(2), async |tx| {
            tx.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$",
                &[],
            )
            .await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Serialization, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_and_drop_roll_back() {
    let db = crate::db();
    db.psql("CREATE TABLE t (id int)").unwrap();
    let pool = crate::pool(&db, 1);
    // A panic inside the closure.
    let p = pool.clone();
    let r = tokio::spawn(async move {
        p.transaction(PooledTransactionOptions::new(), async |tx| {
            tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
            if tx.query_scalar::<i32>("SELECT 1", &[]).await? == 1 {
                panic!("boom");
            }
            Ok(())
        })
        .await
    })
    .await;
    assert!(r.unwrap_err().is_panic());
    // A transaction future dropped mid-way (a caller's timeout).
    let r = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        pool.transaction(PooledTransactionOptions::new(), async |tx| {
            tx.execute("INSERT INTO t VALUES (2)", &[]).await?;
            tx.execute("SELECT pg_sleep(5)", &[]).await?;
            Ok(())
        }),
    )
    .await;
    assert!(r.is_err());
    // Neither insert survived; the one connection is clean and reusable.
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 0);
}
