//! Read groups (opt-in, `read_groups=on`): concurrent plain SELECTs share
//! one Sync (one implicit, read-only transaction); whatever writes, fails
//! or is skipped is sent again alone, in its place, so every caller still
//! gets its own answer, in the order the queries were issued.

use std::time::Duration;

use futures_util::future::join_all;
use tusk::{ErrorKind, Executor};

/// A connection with read groups on.
async fn grouped(db: &tusk_testkit::TestDb) -> tusk::Connection {
    tusk::connect(&format!("{}?read_groups=on", db.url()))
        .await
        .unwrap()
}

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
    let c = grouped(&db).await;
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
    let c = grouped(&db).await;
    c.execute_script(
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
    let mut c = grouped(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
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
    let c = grouped(&db).await;
    for round in 0..4 {
        match round {
            1 => c.execute_script("DEALLOCATE tusk_ro").await.unwrap(),
            2 => c.execute_script("DISCARD ALL").await.unwrap(),
            3 => {
                let _ = c.execute_script("DEALLOCATE ALL").await;
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
async fn read_groups_are_off_by_default() {
    let db = crate::db();
    for url in [db.url(), format!("{}?read_groups=off", db.url())] {
        let c = tusk::connect(&url).await.unwrap();
        // Even with reads in flight to group behind.
        echo_concurrently(&c, 16).await;
        every_query_its_own_transaction(&c).await;
        let n: i64 = c
            .query_scalar(
                "SELECT count(*) FROM pg_prepared_statements WHERE name = 'tusk_ro'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(n, 0, "{url}: the read-only prefix was prepared");
    }
    let e = tusk::connect(&format!("{}?read_groups=maybe", db.url()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("read_groups"), "{e}");
}

async fn every_query_its_own_transaction(c: &tusk::Connection) {
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
}

/// Runs `f` while a slow read is in flight, so that what `f` sends waits
/// in the write buffer and leaves in one write (grouped where it may).
async fn behind_a_slow_read<F: std::future::Future>(c: &tusk::Connection, f: F) -> F::Output {
    let (slow, out) = tokio::join!(
        c.query_scalar::<String>("SELECT pg_sleep(0.3)::text", &[]),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            f.await
        }
    );
    slow.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_member_is_sent_again_in_its_place() {
    let db = crate::db();
    let c = grouped(&db).await;
    c.execute_script("CREATE TABLE v (id int8 PRIMARY KEY, v int8)")
        .await
        .unwrap();
    // Warm up: the prefix statement gets prepared.
    for _ in 0..3 {
        echo_concurrently(&c, 8).await;
    }
    // (This harness does form groups: two reads share a transaction.)
    let (a, b) = behind_a_slow_read(&c, async {
        tokio::join!(
            c.query_scalar::<String>("SELECT transaction_timestamp()::text", &[]),
            c.query_scalar::<String>("SELECT transaction_timestamp()::text AS again", &[]),
        )
    })
    .await;
    assert_eq!(a.unwrap(), b.unwrap());
    for round in 0..5_i64 {
        c.execute("DELETE FROM v", &[]).await.unwrap();
        c.execute("INSERT INTO v VALUES (1, $1)", &[&round])
            .await
            .unwrap();
        let next = round + 100;
        let (p_round, p_next): ([tusk::Param<'_>; 1], [tusk::Param<'_>; 1]) = ([&round], [&next]);
        // One task: [SELECT 1/0, SELECT v, UPDATE v, SELECT v], pipelined.
        let (fail, before, update, after) = behind_a_slow_read(&c, async {
            tokio::join!(
                c.query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &p_round),
                c.query_scalar::<i64>("SELECT v FROM v WHERE id = 1", &[]),
                c.execute("UPDATE v SET v = $1 WHERE id = 1", &p_next),
                c.query_scalar::<i64>("SELECT v + 0 FROM v WHERE id = 1", &[]),
            )
        })
        .await;
        assert_eq!(fail.unwrap_err().kind(), ErrorKind::Data);
        assert_eq!(
            before.unwrap(),
            round,
            "round {round}: read after the later update"
        );
        assert_eq!(update.unwrap(), 1);
        assert_eq!(after.unwrap(), next);
    }
    // And the same with a member that writes (25006, sent again alone).
    c.execute_script(
        "CREATE TABLE log (n int8);
         CREATE FUNCTION note(x int8) RETURNS int8 LANGUAGE sql AS
           'INSERT INTO log VALUES (x) RETURNING x';",
    )
    .await
    .unwrap();
    for round in 0..3_i64 {
        let p_round: [tusk::Param<'_>; 1] = [&round];
        let (a, noted, count, b) = behind_a_slow_read(&c, async {
            tokio::join!(
                c.query_scalar::<i64>("SELECT $1::int8", &p_round),
                c.query_scalar::<i64>("SELECT note($1)", &p_round),
                c.query_scalar::<i64>("SELECT count(*) FROM log", &[]),
                c.execute("DELETE FROM log", &[]),
            )
        })
        .await;
        assert_eq!(a.unwrap(), round);
        assert_eq!(noted.unwrap(), round);
        assert_eq!(count.unwrap(), 1, "round {round}");
        assert_eq!(b.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_member_is_not_cached() {
    let db = crate::db();
    let mut c = grouped(&db).await;
    for _ in 0..3 {
        echo_concurrently(&c, 8).await;
    }
    for round in 0..3_i64 {
        let fresh = format!("SELECT {round}::int8 + $1::int8");
        let (p_round, p_one): ([tusk::Param<'_>; 1], [tusk::Param<'_>; 1]) = ([&round], [&1_i64]);
        let (fail, v) = behind_a_slow_read(&c, async {
            tokio::join!(
                c.query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &p_round),
                c.query_scalar::<i64>(fresh.as_str(), &p_one),
            )
        })
        .await;
        assert!(fail.is_err());
        assert_eq!(v.unwrap(), round + 1);
        let tx = c.transaction().await.unwrap();
        let v: i64 = tx.query_scalar(fresh.as_str(), &[&2_i64]).await.unwrap();
        assert_eq!(v, round + 2);
        tx.commit().await.unwrap();
    }
}
