//! Adversarial probes where the issue-9 mechanisms meet: COPY barriers and
//! the server's idea of a comment, streams dropped half-way among other
//! callers, 1 ms timeouts among untimed callers, read groups with failures
//! and dropped futures, the statement cache under DEALLOCATE.

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::StreamExt;
use tusk::{Batch, Executor, Query};

const LIMIT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {LIMIT:?} (connection wedged)"))
}

/// PostgreSQL ends a `--` comment at a carriage return as well as at a
/// newline (`non_newline [^\n\r]` in scan.l): `-- x\rCOPY t FROM STDIN` is
/// a COPY. Among concurrent callers it must fail cleanly like any other
/// COPY FROM STDIN, not close the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_after_a_comment_ended_by_cr_fails_cleanly_among_callers() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.batch_execute("CREATE TABLE t (id int8)").await.unwrap();
    let sql = "-- load\rCOPY t FROM STDIN";
    for _ in 0..5 {
        let futs = (0..40_i64).map(|i| {
            let c = &c;
            async move {
                if i % 10 == 3 {
                    let e = c.execute(sql, &[]).await.unwrap_err();
                    assert!(e.to_string().contains("COPY"), "{e}");
                    assert!(!e.is_fatal(), "{e}");
                } else {
                    let v: i64 = c.query_scalar("SELECT $1::int8 + 1", &[&i]).await.unwrap();
                    assert_eq!(v, i + 1);
                }
            }
        });
        within("round", join_all(futs)).await;
    }
    assert!(!c.is_closed());
}

/// The same comment hides transaction control from the atomic batch's
/// refusal: `-- x\rCOMMIT` is a COMMIT to the server.
#[tokio::test]
async fn commit_after_a_comment_ended_by_cr_is_refused_in_an_atomic_batch() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.batch_execute("CREATE TABLE t (id int8)").await.unwrap();
    let one = 1_i64;
    let mut b = Batch::atomic();
    b.push("INSERT INTO t VALUES ($1)", &[&one]);
    b.push("-- x\rCOMMIT", &[]);
    b.push("SELECT 1/0", &[]);
    let out = within("batch", c.batch(&b)).await.unwrap();
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert!(out.iter().all(Result::is_err));
    assert_eq!(n, 0, "the batch reported failure but its insert committed");
    let e = out[1].as_ref().unwrap_err();
    assert!(e.to_string().contains("transaction control"), "{e}");
}

/// Streams dropped half-way, and streams that fail half-way, among other
/// callers on the same connection: everybody else gets their answers and
/// the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_dropped_or_failing_half_way_among_callers() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for round in 0..4_i64 {
        let futs = (0..30_i64).map(|i| {
            let c = &c;
            async move {
                match i % 6 {
                    0 => {
                        // Dropped after a few rows of a large result.
                        let mut s = c
                            .query_stream("SELECT g FROM generate_series(1, 50000) g", &[])
                            .await
                            .unwrap();
                        for k in 1..=(5 + i) {
                            let r = s.next().await.unwrap().unwrap();
                            assert_eq!(r.get::<i32>(0), k as i32);
                        }
                    }
                    1 => {
                        // Fails after 3000 rows.
                        let mut s = c
                            .query_stream(
                                "SELECT 1 / (g - 3001) FROM generate_series(1, 5000) g",
                                &[],
                            )
                            .await
                            .unwrap();
                        let mut n = 0;
                        let mut failed = false;
                        while let Some(r) = s.next().await {
                            match r {
                                Ok(_) => n += 1,
                                Err(_) => failed = true,
                            }
                        }
                        assert!(failed);
                        assert_eq!(n, 3000);
                    }
                    2 => {
                        // Reading and querying in the same loop, dropped
                        // half-way.
                        let mut s = c
                            .query_stream("SELECT g FROM generate_series(1, 3000) g", &[])
                            .await
                            .unwrap();
                        let mut k = 0;
                        while let Some(r) = s.next().await {
                            let g: i32 = r.unwrap().get(0);
                            k += 1;
                            if k % 500 == 0 {
                                let v: i32 =
                                    c.query_scalar("SELECT $1::int4", &[&g]).await.unwrap();
                                assert_eq!(v, g);
                            }
                            if k == 1700 {
                                break;
                            }
                        }
                    }
                    _ => {
                        let v: i64 = c
                            .query_scalar("SELECT $1::int8 * 2", &[&(round * 100 + i)])
                            .await
                            .unwrap();
                        assert_eq!(v, (round * 100 + i) * 2);
                    }
                }
            }
        });
        within("round", join_all(futs)).await;
        let v: i32 = within("after", c.query_scalar("SELECT 5", &[]))
            .await
            .unwrap();
        assert_eq!(v, 5);
    }
    assert!(!c.is_closed());
}

/// 1 ms timeouts among untimed callers: a timeout fails only its own query,
/// a timed insert that reports failure left no row, one that reports
/// success left its row, and no untimed query ever fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ms_timeouts_among_untimed_callers_match_the_oracle() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.batch_execute("CREATE TABLE t (id int8 PRIMARY KEY)")
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for round in 0..6_i64 {
        let futs = (0..40_i64).map(|i| {
            let c = &c;
            let id = round * 1000 + i;
            async move {
                match i % 4 {
                    0 => {
                        let q = Query::new("INSERT INTO t SELECT $1::int8 FROM pg_sleep(0.002)")
                            .timeout(Duration::from_millis(1));
                        Some((id, c.execute(q, &[&id]).await.is_ok()))
                    }
                    1 => {
                        // Dropped while queued or while its cancel is out.
                        let q = Query::new("INSERT INTO t SELECT $1::int8 FROM pg_sleep(0.001)")
                            .timeout(Duration::from_millis(1));
                        let r = tokio::time::timeout(
                            Duration::from_micros(300 + 97 * i as u64),
                            c.execute(q, &[&id]),
                        )
                        .await;
                        match r {
                            Ok(r) => Some((id, r.is_ok())),
                            Err(_) => None,
                        }
                    }
                    2 => {
                        c.execute("INSERT INTO t VALUES ($1)", &[&id])
                            .await
                            .unwrap();
                        Some((id, true))
                    }
                    _ => {
                        let v: i64 = c
                            .query_scalar("SELECT $1::int8 FROM pg_sleep(0.001)", &[&id])
                            .await
                            .unwrap();
                        assert_eq!(v, id);
                        None
                    }
                }
            }
        });
        outcomes.extend(within("round", join_all(futs)).await.into_iter().flatten());
        assert!(!c.is_closed());
    }
    within("idle", c.wait_idle()).await.unwrap();
    let rows: Vec<i64> = c
        .query("SELECT id FROM t", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (id, ok) in outcomes {
        assert_eq!(rows.contains(&id), ok, "id {id}: reported ok={ok}");
    }
}

/// Read groups with failures, skipped members, 25006 writers and dropped
/// futures: every answer equals the answer of the statement run alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_groups_with_failures_and_drops_keep_every_answer() {
    let db = crate::db();
    let c = tusk::connect(&format!("{}?read_groups=on", db.url()))
        .await
        .unwrap();
    c.batch_execute(
        "CREATE TABLE t (id int8 PRIMARY KEY, v int8);
         CREATE FUNCTION bump(k int8) RETURNS int8 LANGUAGE sql AS
           'INSERT INTO t VALUES (k, 1) ON CONFLICT (id) DO UPDATE SET v = t.v + 1 RETURNING v';",
    )
    .await
    .unwrap();
    let mut bumped = Vec::new();
    for round in 0..6_i64 {
        let futs = (0..50_i64).map(|i| {
            let c = &c;
            let id = round * 1000 + i;
            async move {
                match i % 7 {
                    0 => {
                        let e = c
                            .query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &[&id])
                            .await
                            .unwrap_err();
                        assert_eq!(e.code().unwrap().code(), "22012");
                        None
                    }
                    1 => {
                        // A writer disguised as a read: once, exactly.
                        let v: i64 = c.query_scalar("SELECT bump($1)", &[&id]).await.unwrap();
                        assert_eq!(v, 1);
                        Some(id)
                    }
                    2 => {
                        let r = tokio::time::timeout(
                            Duration::from_micros(200 + 50 * i as u64),
                            c.query_scalar::<i64>("SELECT $1::int8 + 7", &[&id]),
                        )
                        .await;
                        if let Ok(r) = r {
                            assert_eq!(r.unwrap(), id + 7);
                        }
                        None
                    }
                    _ => {
                        let v: i64 = c.query_scalar("SELECT $1::int8 + 3", &[&id]).await.unwrap();
                        assert_eq!(v, id + 3);
                        None
                    }
                }
            }
        });
        bumped.extend(within("round", join_all(futs)).await.into_iter().flatten());
    }
    within("idle", c.wait_idle()).await.unwrap();
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE v = 1", &[])
        .await
        .unwrap();
    let all: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n as usize, bumped.len());
    assert_eq!(all as usize, bumped.len());
}

/// DEALLOCATE ALL from one caller while others run cached statements: no
/// caller outside a transaction sees 26000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deallocate_all_among_cached_callers() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for round in 0..5_i64 {
        let futs = (0..40_i64).map(|i| {
            let c = &c;
            async move {
                if i % 13 == 5 {
                    c.batch_execute("DEALLOCATE ALL").await.unwrap();
                } else {
                    let v: i64 = c
                        .query_scalar(
                            [
                                "SELECT $1::int8",
                                "SELECT $1::int8 + 0",
                                "SELECT $1::int8 * 1",
                            ][(i % 3) as usize],
                            &[&(round + i)],
                        )
                        .await
                        .unwrap();
                    assert_eq!(v, round + i);
                }
            }
        });
        within("round", join_all(futs)).await;
    }
}
