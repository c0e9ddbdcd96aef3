//! Read groups: concurrent plain SELECTs share one Sync (one implicit,
//! read-only transaction); whatever writes, fails or is skipped is sent
//! again alone, so every caller still gets its own answer.

use futures_util::future::join_all;
use tusk::{ErrorKind, Executor};

/// `n` concurrent `SELECT $1::int8` on `db`.
async fn echo_concurrently(db: &impl Executor, n: i64) {
    let futs = (0..n).map(|i| async move {
        db.query_scalar::<i64>("SELECT $1::int8", &[&i])
            .await
            .unwrap()
    });
    join_all(futs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_share_transactions_and_keep_their_answers() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    // Warm up: the prefix statement gets prepared.
    for _ in 0..3 {
        echo_concurrently(&c, 8).await;
    }
    let futs = (0..2000_i64).map(|i| {
        let c = &c;
        async move {
            if i % 101 == 7 {
                let e = c
                    .query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &[&i])
                    .await
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Data);
                return None;
            }
            // The start of the transaction that ran it: equal for the
            // members of one group.
            let row = c
                .query_one("SELECT $1::int8 * 3, transaction_timestamp()::text", &[&i])
                .await
                .unwrap();
            assert_eq!(row.get::<i64>(0), i * 3);
            Some(row.get::<String>(1))
        }
    });
    let out = join_all(futs).await;
    assert_eq!(out.iter().filter(|v| v.is_none()).count(), 20);
    let mut starts: Vec<String> = out.into_iter().flatten().collect();
    starts.sort();
    starts.dedup();
    eprintln!("{} transactions for 1,980 concurrent reads", starts.len());
    assert!(starts.len() < 1500, "{} transactions", starts.len());
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_that_writes_runs_once_alone() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.batch_execute(
        "CREATE TABLE log (n int8); CREATE SEQUENCE s;
         CREATE FUNCTION note(x int8) RETURNS int8 LANGUAGE sql AS
           'INSERT INTO log VALUES (x) RETURNING x';",
    )
    .await
    .unwrap();
    for round in 0..3_i64 {
        let futs = (0..200_i64).map(|i| {
            let c = &c;
            async move {
                match i % 4 {
                    0 => {
                        let v: i64 = c
                            .query_scalar("SELECT note($1)", &[&(round * 1000 + i)])
                            .await
                            .unwrap();
                        assert_eq!(v, round * 1000 + i);
                    }
                    1 => {
                        let _: i64 = c.query_scalar("SELECT nextval('s')", &[]).await.unwrap();
                    }
                    2 => {
                        let n: i64 = c
                            .query_scalar("SELECT count(*) FROM log FOR SHARE OF log", &[])
                            .await
                            .map_err(|e| e.to_string())
                            .unwrap_or(-1);
                        let _ = n;
                    }
                    _ => {
                        let v: i64 = c.query_scalar("SELECT $1::int8", &[&i]).await.unwrap();
                        assert_eq!(v, i);
                    }
                }
            }
        });
        join_all(futs).await;
    }
    // Every write happened exactly once, and nextval was called 150 times.
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM log", &[])
        .await
        .unwrap();
    assert_eq!(n, 150);
    let d: i64 = c
        .query_scalar("SELECT count(DISTINCT n) FROM log", &[])
        .await
        .unwrap();
    assert_eq!(d, 150);
    let s: i64 = c
        .query_scalar("SELECT last_value FROM s", &[])
        .await
        .unwrap();
    assert_eq!(s, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouping_never_reaches_a_transaction() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.batch_execute("CREATE TABLE t (id int8)").await.unwrap();
    // Warm the prefix up.
    echo_concurrently(&c, 16).await;
    let tx = c.transaction().await.unwrap();
    echo_concurrently(&tx, 50).await;
    // Still a read-write transaction.
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_prefix_statement_heals() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for round in 0..4 {
        match round {
            1 => c.batch_execute("DEALLOCATE tusk_ro").await.unwrap(),
            2 => c.batch_execute("DISCARD ALL").await.unwrap(),
            3 => {
                let _ = c.batch_execute("DEALLOCATE ALL").await;
            }
            _ => {}
        }
        let futs = (0..300_i64).map(|i| {
            let c = &c;
            async move {
                let v: i64 = c.query_scalar("SELECT $1::int8 + 1", &[&i]).await.unwrap();
                assert_eq!(v, i + 1);
            }
        });
        join_all(futs).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_groups_off_gives_every_query_its_own_transaction() {
    let db = crate::db();
    let c = tusk::connect(&format!("{}?read_groups=off", db.url()))
        .await
        .unwrap();
    let futs = (0..300_i64).map(|i| {
        let c = &c;
        async move {
            let row = c
                .query_one("SELECT $1::int8, transaction_timestamp()::text", &[&i])
                .await
                .unwrap();
            row.get::<String>(1)
        }
    });
    let mut starts = join_all(futs).await;
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), 300);
    let e = tusk::connect(&format!("{}?read_groups=maybe", db.url()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("read_groups"), "{e}");
}
