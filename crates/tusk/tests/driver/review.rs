//! Adversarial probes where the issue-9 mechanisms meet: COPY barriers and
//! the server's idea of a comment, streams dropped half-way among other
//! callers, 1 ms timeouts among untimed callers, read groups with failures
//! and dropped futures, the statement cache under DEALLOCATE.

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::StreamExt;
use tusk::{Batch, Executor, Query};

const LIMIT: Duration = Duration::from_secs(15);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {LIMIT:?} (connection wedged)"))
}

/// PostgreSQL ends a `--` comment at a carriage return as well as at a
/// newline (`non_newline [^\n\r]` in scan.l): `-- x\rCOPY t FROM STDIN` is
/// a COPY; and the grammar drops empty statements, so `; COPY t FROM STDIN`
/// is one statement, a COPY, even in the extended protocol. Among concurrent callers it must fail cleanly like any other
/// COPY FROM STDIN, not close the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_after_a_comment_ended_by_cr_fails_cleanly_among_callers() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    for sql in [
        "-- load\rCOPY t FROM STDIN",
        "; COPY t FROM STDIN",
        ";;/* x */;copy t from stdin",
    ] {
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
        assert!(!c.is_closed(), "{sql:?}");
    }
}

/// The same comment hides transaction control from the atomic batch's
/// refusal: `-- x\rCOMMIT` is a COMMIT to the server, and so is `; COMMIT`
/// (the grammar drops empty statements, so it is one statement).
#[tokio::test]
async fn commit_after_a_comment_ended_by_cr_is_refused_in_an_atomic_batch() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let one = 1_i64;
    for commit in ["-- x\rCOMMIT", "; COMMIT", ";;END"] {
        let mut b = Batch::atomic();
        b.push("INSERT INTO t VALUES ($1)", &[&one]);
        b.push(commit, &[]);
        b.push("SELECT 1/0", &[]);
        let out = within("batch", c.batch(&b)).await.unwrap();
        let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
        assert!(out.iter().all(Result::is_err), "{commit:?}");
        assert_eq!(
            n, 0,
            "{commit:?}: the batch reported failure but its insert committed"
        );
        let e = out[1].as_ref().unwrap_err();
        assert!(
            e.to_string().contains("transaction control"),
            "{commit:?}: {e}"
        );
    }
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
                            assert_eq!(r.get::<i32>(0), i32::try_from(k).unwrap());
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
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY)")
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
                            Duration::from_micros(300 + 97 * i.unsigned_abs()),
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
    c.execute_script(
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
                            Duration::from_micros(200 + 50 * i.unsigned_abs()),
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
    assert_eq!(usize::try_from(n).unwrap(), bumped.len());
    assert_eq!(usize::try_from(all).unwrap(), bumped.len());
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
                    c.execute_script("DEALLOCATE ALL").await.unwrap();
                } else {
                    let v: i64 = c
                        .query_scalar(
                            [
                                "SELECT $1::int8",
                                "SELECT $1::int8 + 0",
                                "SELECT $1::int8 * 1",
                            ][usize::try_from(i % 3).unwrap()],
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

/// COPY FROM STDIN futures dropped at random points among pipelined
/// callers, then inside an explicit transaction behind pipelined callers:
/// the COPY fails, the others are untouched (outside the transaction) or
/// fail as the server fails them (inside it), and the connection lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_dropped_and_copy_in_a_transaction_behind_pipelined_callers() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    for round in 0..4_u64 {
        let futs = (0..40_i64).map(|i| {
            let c = &c;
            async move {
                if i % 8 == 3 {
                    let sql = ["COPY t FROM STDIN", "SELECT 1; COPY t FROM STDIN"]
                        [usize::try_from(i % 2).unwrap()];
                    let d = Duration::from_micros(50 + 40 * i.unsigned_abs() + 13 * round);
                    if i % 2 == 0 {
                        let _ = tokio::time::timeout(d, c.execute(sql, &[])).await;
                    } else {
                        let _ = tokio::time::timeout(d, c.execute_script(sql)).await;
                    }
                } else {
                    c.execute("INSERT INTO t VALUES ($1)", &[&i]).await.unwrap();
                }
            }
        });
        within("round", join_all(futs)).await;
        assert!(!c.is_closed());
    }
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 4 * 35);
    {
        let tx = c.transaction().await.unwrap();
        let (a, b, d) = within("tx", async {
            tokio::join!(
                tx.execute("INSERT INTO t VALUES (-1)", &[]),
                tx.execute("COPY t FROM STDIN", &[]),
                tx.execute("INSERT INTO t VALUES (-2)", &[]),
            )
        })
        .await;
        assert!(a.is_ok());
        assert!(b.unwrap_err().to_string().contains("COPY"));
        assert_eq!(d.unwrap_err().code().unwrap().code(), "25P02");
        assert!(tx.commit().await.is_err());
    }
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE id < 0", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert!(!c.is_closed());
}

/// Many callers issuing the same new SQL at once (some dropped at once):
/// one statement stays cached, and the duplicates prepared by the others
/// are closed on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_new_sql_from_many_callers_leaves_one_statement() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for r in 0..15_i64 {
        let sql = format!("SELECT $1::int8 + {r}");
        let futs = (0..30_i64).map(|i| {
            let (c, sql) = (&c, sql.as_str());
            async move {
                if i % 5 == 4 {
                    let _ = tokio::time::timeout(
                        Duration::from_micros(30 * i.unsigned_abs()),
                        c.query_scalar::<i64>(sql, &[&i]),
                    )
                    .await;
                } else {
                    let v: i64 = c.query_scalar(sql, &[&i]).await.unwrap();
                    assert_eq!(v, i + r);
                }
            }
        });
        within("round", join_all(futs)).await;
    }
    within("idle", c.wait_idle()).await.unwrap();
    // A round trip sends the Closes of dropped duplicates.
    let _: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    let cached = c.cached_statements();
    assert!(cached <= 17, "{cached} statements cached for 16 SQL texts");
    let on_server: i64 = c
        .query_scalar(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int8 + %'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        on_server <= 15,
        "{on_server} prepared on the server for 15 SQL texts"
    );
}

/// Read groups meet streams, 1 ms timeouts and a result type changed by
/// DDL from another connection: every answer is the statement's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_groups_with_streams_timeouts_and_ddl() {
    let db = crate::db();
    let c = tusk::connect(&format!("{}?read_groups=on", db.url()))
        .await
        .unwrap();
    let ddl = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY, v int4); INSERT INTO t SELECT g, 1 FROM generate_series(1, 100) g")
        .await
        .unwrap();
    for round in 0..6_i64 {
        if round % 2 == 1 {
            let ty = if round % 4 == 1 { "int8" } else { "int4" };
            ddl.execute_script(&format!("ALTER TABLE t ALTER COLUMN v TYPE {ty}"))
                .await
                .unwrap();
        }
        let futs = (0..40_i64).map(|i| {
            let c = &c;
            async move {
                match i % 5 {
                    0 => {
                        let mut s = c
                            .query_stream("SELECT id FROM t ORDER BY id", &[])
                            .await
                            .unwrap();
                        let mut n = 0;
                        while let Some(r) = s.next().await {
                            r.unwrap();
                            n += 1;
                        }
                        assert_eq!(n, 100);
                    }
                    1 => {
                        let r = c
                            .query_scalar::<i64>(
                                Query::new("SELECT $1::int8 FROM pg_sleep(0.001)")
                                    .timeout(Duration::from_millis(1)),
                                &[&i],
                            )
                            .await;
                        if let Ok(v) = r {
                            assert_eq!(v, i);
                        }
                    }
                    2 => {
                        let rows = c
                            .query("SELECT * FROM t WHERE id = $1", &[&(i + 1)])
                            .await
                            .unwrap();
                        assert_eq!(rows.len(), 1);
                    }
                    _ => {
                        let v: i64 = c
                            .query_scalar("SELECT id FROM t WHERE id = $1", &[&(i + 1)])
                            .await
                            .unwrap();
                        assert_eq!(v, i + 1);
                    }
                }
            }
        });
        within("round", join_all(futs)).await;
        assert!(!c.is_closed());
    }
}

/// A stream read in a loop that issues 1 ms timed queries and atomic
/// batches on the same connection: no deadlock, every answer right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_loop_with_timed_queries_and_batches() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let mut s = within(
        "stream",
        c.query_stream("SELECT g::int8 FROM generate_series(1, 6000) g", &[]),
    )
    .await
    .unwrap();
    let mut k = 0_i64;
    while let Some(r) = within("next", s.next()).await {
        let g: i64 = r.unwrap().get(0);
        k += 1;
        assert_eq!(g, k);
        if k % 1000 == 0 {
            let r = within(
                "timed",
                c.query_scalar::<i64>(
                    Query::new("SELECT $1::int8").timeout(Duration::from_millis(1)),
                    &[&g],
                ),
            )
            .await;
            if let Ok(v) = r {
                assert_eq!(v, g);
            }
            let mut b = Batch::atomic();
            b.push("INSERT INTO t VALUES ($1)", &[&g]);
            b.push("INSERT INTO t VALUES ($1)", &[&g]);
            for r in within("batch", c.batch(&b)).await.unwrap() {
                r.unwrap();
            }
        }
    }
    assert_eq!(k, 6000);
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 12);
}

/// Transaction control can hide in a procedure (`CALL`) or a `DO` block:
/// at the top level of the extended protocol they run non-atomically and
/// may COMMIT, ending the atomic batch's transaction midway. A batch whose
/// every statement reports failure ("rolled back") must have committed
/// nothing (issue 9 item 8 through a procedure): `CALL` and `DO` are
/// refused in an atomic batch before anything is sent.
#[tokio::test]
async fn commit_inside_a_procedure_in_an_atomic_batch() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(
        "CREATE TABLE t (id int8);
         CREATE PROCEDURE p() LANGUAGE plpgsql AS 'BEGIN COMMIT; END';",
    )
    .await
    .unwrap();
    let mut wrong = Vec::new();
    for (k, sql) in ["CALL p()", "DO 'BEGIN COMMIT; END'"]
        .into_iter()
        .enumerate()
    {
        let id = i64::try_from(k).unwrap();
        let mut b = Batch::atomic();
        b.push("INSERT INTO t VALUES ($1)", &[&id]);
        b.push(sql, &[]);
        b.push("SELECT 1/0", &[]);
        let out = within("batch", c.batch(&b)).await.unwrap();
        let n: i64 = c
            .query_scalar("SELECT count(*) FROM t WHERE id = $1", &[&id])
            .await
            .unwrap();
        if n == 1 && out[0].is_err() {
            wrong.push(format!(
                "{sql}: the insert committed, the batch said {:?}",
                out[0]
            ));
        }
        let refused = out[1].as_ref().expect_err("refused");
        assert!(refused.to_string().contains("atomic batch"), "{refused}");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A stale cached plan in the second statement of an atomic batch: the
/// first statement already ran (and was rolled back), so resending the
/// batch repeats what a rollback does not undo (here `nextval`). The
/// batch's answer must be what the statements give when run once.
#[tokio::test]
async fn a_stale_plan_midway_through_an_atomic_batch_does_not_rerun_earlier_statements() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script(
        "CREATE SEQUENCE s; CREATE TABLE t (id int4, v int4); INSERT INTO t VALUES (1, 10)",
    )
    .await
    .unwrap();
    let batch = || {
        let mut b = Batch::atomic();
        b.push("SELECT nextval('s')", &[]);
        b.push("SELECT * FROM t", &[]);
        b
    };
    // Both statements cached.
    for r in within("warm", c.batch(&batch())).await.unwrap() {
        r.unwrap();
    }
    let before: i64 = c
        .query_scalar("SELECT last_value FROM s", &[])
        .await
        .unwrap();
    other
        .execute_script("ALTER TABLE t ALTER COLUMN v TYPE int8")
        .await
        .unwrap();
    let out = within("batch", c.batch(&batch())).await.unwrap();
    let after: i64 = c
        .query_scalar("SELECT last_value FROM s", &[])
        .await
        .unwrap();
    assert_eq!(
        after,
        before + 1,
        "nextval ran {} times: {out:?}",
        after - before
    );
    // And the next run is healed.
    for r in within("again", c.batch(&batch())).await.unwrap() {
        r.unwrap();
    }
}

/// A timed query's future dropped while its cancel request is on its way:
/// the cancel may still land after the timed query ended by itself, so no
/// other caller's query may be written before the server acted on it.
/// Another caller's untimed query must never be canceled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_query_dropped_while_canceling_never_cancels_the_next_caller() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let mut hit = Vec::new();
    for round in 0..150_u64 {
        let drop_after = Duration::from_micros(1000 + (round * 37) % 1500);
        let (_, b) = within("round", async {
            tokio::join!(
                tokio::time::timeout(
                    drop_after,
                    c.query_scalar::<String>(
                        Query::new("SELECT pg_sleep(0.0015)::text")
                            .timeout(Duration::from_millis(1)),
                        &[],
                    ),
                ),
                async {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    c.query_scalar::<i32>("SELECT 7 FROM pg_sleep(0.004)", &[])
                        .await
                }
            )
        })
        .await;
        if let Err(e) = b {
            hit.push(format!("round {round}: {e}"));
        }
    }
    assert!(hit.is_empty(), "untimed queries canceled: {hit:#?}");
}

/// `CancelToken::cancel` promises that queries sent after the call are
/// never affected, even when its future is dropped before it completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_cancel_call_never_cancels_a_later_query() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let token = c.cancel_token();
    let mut hit = Vec::new();
    for round in 0..150_u64 {
        let drop_after = Duration::from_micros(100 + (round * 37) % 900);
        let (a, _) = within("round", async {
            tokio::join!(
                c.query_scalar::<String>("SELECT pg_sleep(0.0015)::text", &[]),
                async {
                    tokio::time::sleep(Duration::from_micros(1200)).await;
                    let _ = tokio::time::timeout(drop_after, token.cancel()).await;
                }
            )
        })
        .await;
        let _ = a;
        if let Err(e) = within(
            "after",
            c.query_scalar::<i32>("SELECT 7 FROM pg_sleep(0.004)", &[]),
        )
        .await
        {
            hit.push(format!("round {round}: {e}"));
        }
    }
    assert!(hit.is_empty(), "later queries canceled: {hit:#?}");
}

/// `Query::timeout` on a stream: the query is canceled after its time
/// like any other (it used to wait for the whole query: the option only
/// gave it a write barrier).
#[tokio::test]
async fn a_timed_stream_is_canceled_after_its_time() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let started = std::time::Instant::now();
    let r = within(
        "timed stream",
        c.query_stream(
            Query::new("SELECT 1 FROM pg_sleep(3)").timeout(Duration::from_millis(100)),
            &[],
        ),
    )
    .await;
    let elapsed = started.elapsed();
    let e = match r {
        Err(e) => e,
        Ok(mut s) => match within("next", s.next()).await {
            Some(Err(e)) => e,
            other => panic!("no timeout after {elapsed:?}: {other:?}"),
        },
    };
    assert_eq!(e.kind(), tusk::ErrorKind::Timeout, "{e}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

/// A timed stream canceled while its rows come, and one that ends in time:
/// the first ends with a timeout, the second with all its rows, and
/// untimed queries around them are never canceled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_stream_cancels_only_itself() {
    use futures_util::StreamExt;
    let db = crate::db();
    let c = crate::conn(&db).await;
    let started = std::time::Instant::now();
    let (slow, other) = within("slow stream", async {
        tokio::join!(
            async {
                let mut s = c
                    .query_stream(
                        Query::new("SELECT g, pg_sleep(0.02) FROM generate_series(1, 200) g")
                            .timeout(Duration::from_millis(200)),
                        &[],
                    )
                    .await?;
                let mut n = 0;
                while let Some(r) = s.next().await {
                    r?;
                    n += 1;
                }
                Ok::<i32, tusk::Error>(n)
            },
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                c.query_scalar::<i32>("SELECT 7 FROM pg_sleep(0.3)", &[])
                    .await
            }
        )
    })
    .await;
    let e = slow.expect_err("canceled");
    assert_eq!(e.kind(), tusk::ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(other.unwrap(), 7);
    let rows = within(
        "fast stream",
        c.query_stream(
            Query::new("SELECT g FROM generate_series(1, 5000) g").timeout(Duration::from_secs(5)),
            &[],
        ),
    )
    .await
    .unwrap()
    .collect_all()
    .await
    .unwrap();
    assert_eq!(rows.len(), 5000);
    let v: i32 = c.query_scalar("SELECT 3", &[]).await.unwrap();
    assert_eq!(v, 3);
}

/// Two streams read alternately on one task, a third dropped half-way,
/// inside a transaction whose writes must all commit; then a stream that
/// fails mid-way aborts its transaction as the server says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_streams_in_a_transaction() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    {
        let tx = c.transaction().await.unwrap();
        let mut a = within(
            "a",
            tx.query_stream("SELECT g::int8 FROM generate_series(1, 3000) g", &[]),
        )
        .await
        .unwrap();
        let mut b = within(
            "b",
            tx.query_stream("SELECT -g::int8 FROM generate_series(1, 3000) g", &[]),
        )
        .await
        .unwrap();
        {
            let mut d = within(
                "d",
                tx.query_stream("SELECT g FROM generate_series(1, 100000) g", &[]),
            )
            .await
            .unwrap();
            within("d1", d.next()).await.unwrap().unwrap();
        }
        for k in 1..=3000_i64 {
            let x: i64 = within("a.next", a.next()).await.unwrap().unwrap().get(0);
            let y: i64 = within("b.next", b.next()).await.unwrap().unwrap().get(0);
            assert_eq!((x, y), (k, -k));
            if k % 700 == 0 {
                within("insert", tx.execute("INSERT INTO t VALUES ($1)", &[&k]))
                    .await
                    .unwrap();
            }
        }
        assert!(within("a end", a.next()).await.is_none());
        assert!(within("b end", b.next()).await.is_none());
        within("commit", tx.commit()).await.unwrap();
    }
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 4);
    {
        let tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (-1)", &[]).await.unwrap();
        let mut s = within(
            "failing",
            tx.query_stream("SELECT 1 / (g - 2000) FROM generate_series(1, 3000) g", &[]),
        )
        .await
        .unwrap();
        let mut failed = false;
        while let Some(r) = within("next", s.next()).await {
            failed |= r.is_err();
        }
        assert!(failed);
        let e = tx
            .execute("INSERT INTO t VALUES (-2)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.code().unwrap().code(), "25P02");
        assert!(tx.commit().await.is_err());
    }
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 4);
    assert!(!c.is_closed());
}

/// The oracle for read groups: pipelined (non-atomic) batches mixing a
/// failing read, reads, a writer disguised as a read (25006, sent again)
/// and updates give, on `read_groups=on`, exactly the answers the same
/// statements give one by one on a plain connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_group_batches_match_one_by_one() {
    let db = crate::db();
    let setup = crate::conn(&db).await;
    setup
        .execute_script(
            "CREATE TABLE t (id int8 PRIMARY KEY, v int8);
             CREATE FUNCTION bump(k int8) RETURNS int8 LANGUAGE sql AS
               'UPDATE t SET v = v + 1 WHERE id = k RETURNING v';",
        )
        .await
        .unwrap();
    let grouped = tusk::connect(&format!("{}?read_groups=on", db.url()))
        .await
        .unwrap();
    let plain = crate::conn(&db).await;
    let script: &[&str] = &[
        "SELECT 1 / (v - v) FROM t WHERE id = $1",
        "SELECT v FROM t WHERE id = $1",
        "SELECT bump($1)",
        "SELECT v FROM t WHERE id = $1",
        "UPDATE t SET v = v + 10 WHERE id = $1 RETURNING v",
        "SELECT v FROM t WHERE id = $1",
        "SELECT bump($1)",
        "SELECT v * 2 FROM t WHERE id = $1",
    ];
    async fn run(c: &tusk::Connection, script: &[&str], id: i64) -> Vec<String> {
        let mut b = Batch::new();
        for sql in script {
            b.push(*sql, &[&id]);
        }
        c.batch(&b)
            .await
            .unwrap()
            .into_iter()
            .map(|r| match r {
                Ok(q) => format!(
                    "{:?}",
                    q.rows.iter().map(|r| r.get::<i64>(0)).collect::<Vec<_>>()
                ),
                Err(e) => format!("error {:?}", e.code().map(|c| c.code().to_string())),
            })
            .collect()
    }
    for round in 0..3_i64 {
        let ids: Vec<i64> = (0..30).map(|i| round * 100 + i).collect();
        for id in &ids {
            setup
                .execute("INSERT INTO t VALUES ($1, 1), ($1 + 10000, 1)", &[id])
                .await
                .unwrap();
        }
        let got = within(
            "grouped",
            join_all(ids.iter().map(|id| run(&grouped, script, *id))),
        )
        .await;
        for (id, g) in ids.iter().zip(got) {
            let want = within("plain", run(&plain, script, id + 10000)).await;
            assert_eq!(g, want, "id {id}");
        }
    }
}

/// Thousands of distinct statements: the cache stays within its bound and
/// so do the statements prepared on the server (evicted ones are closed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_statements_stay_bounded_in_the_cache_and_on_the_server() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for chunk in 0..30_i64 {
        let futs = (0..100_i64).map(|i| {
            let c = &c;
            async move {
                let k = chunk * 100 + i;
                let sql = format!("SELECT $1::int8 + {k}");
                let v: i64 = c.query_scalar(sql.as_str(), &[&1_i64]).await.unwrap();
                assert_eq!(v, k + 1);
            }
        });
        within("chunk", join_all(futs)).await;
    }
    let _: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    let cached = i64::try_from(c.cached_statements()).unwrap();
    let on_server: i64 = c
        .query_scalar("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap();
    assert!(cached <= 1000, "{cached}");
    assert!(
        on_server <= cached + 101,
        "{on_server} on the server, {cached} cached"
    );
}

/// COPY FROM STDIN in a pipelined (non-atomic) batch, behind an open
/// stream, behind a timed query, and on a read-group connection: the COPY
/// alone fails; everything around it gives its one-by-one answer. The
/// timed query (1 ms, 50 ms of work) reaches the server behind the stream:
/// its first cancel may come while the backend still reads it (ignored), so
/// the next one must follow well within the query's own time; it came 50 ms
/// later, and the query ran to its end about one run in two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_a_pipelined_batch_behind_streams_and_timed_queries() {
    let db = crate::db();
    for url in [db.url(), format!("{}?read_groups=on", db.url())] {
        let c = tusk::connect(&url).await.unwrap();
        c.execute_script("DROP TABLE IF EXISTS t; CREATE TABLE t (id int8)")
            .await
            .unwrap();
        let (one, two) = (1_i64, 2_i64);
        let mut b = Batch::new();
        b.push("INSERT INTO t VALUES ($1)", &[&one]);
        b.push("COPY t FROM STDIN", &[]);
        b.push("INSERT INTO t VALUES ($1)", &[&two]);
        b.push("SELECT count(*) FROM t", &[]);
        let mut s = within(
            "stream",
            c.query_stream("SELECT g FROM generate_series(1, 5000) g", &[]),
        )
        .await
        .unwrap();
        let (timed, out, plain) = within("all", async {
            tokio::join!(
                c.query_scalar::<i32>(
                    Query::new("SELECT 5 FROM pg_sleep(0.05)").timeout(Duration::from_millis(1)),
                    &[],
                ),
                c.batch(&b),
                c.query_scalar::<i32>("SELECT 6", &[]),
            )
        })
        .await;
        assert_eq!(timed.unwrap_err().kind(), tusk::ErrorKind::Timeout, "{url}");
        let out = out.unwrap();
        assert!(out[0].is_ok() && out[2].is_ok(), "{url}: {out:?}");
        assert!(out[1].as_ref().unwrap_err().to_string().contains("COPY"));
        assert_eq!(out[3].as_ref().unwrap().rows[0].get::<i64>(0), 2);
        assert_eq!(plain.unwrap(), 6);
        let mut n = 0;
        while let Some(r) = within("rest", s.next()).await {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 5000);
        assert!(!c.is_closed());
    }
}

/// Statements the server runs outside any transaction block (VACUUM,
/// CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY) in an atomic batch: the
/// batch reports truthfully what committed.
#[tokio::test]
async fn statements_outside_transaction_blocks_in_an_atomic_batch() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let mut wrong = Vec::new();
    for (k, sql) in [
        "VACUUM t",
        "CREATE INDEX CONCURRENTLY i ON t (id)",
        "REINDEX TABLE CONCURRENTLY t",
    ]
    .into_iter()
    .enumerate()
    {
        let id = i64::try_from(k).unwrap();
        let mut b = Batch::atomic();
        b.push("INSERT INTO t VALUES ($1)", &[&id]);
        b.push(sql, &[]);
        b.push("SELECT 1/0", &[]);
        let out = within("batch", c.batch(&b)).await.unwrap();
        let n: i64 = c
            .query_scalar("SELECT count(*) FROM t WHERE id = $1", &[&id])
            .await
            .unwrap();
        if n == 1 && out[0].is_err() {
            wrong.push(format!(
                "{sql}: the insert committed, the batch said {:?}",
                out[0]
            ));
        }
    }
    c.execute_script("ALTER SYSTEM RESET work_mem")
        .await
        .unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A transparent `#[derive(ToSql)]` newtype over a built-in type works as
/// a parameter, alone and in atomic batches, without cache growth.
#[tokio::test]
async fn a_transparent_newtype_parameter_works_without_cache_growth() {
    #[derive(Debug, postgres_types::ToSql)]
    #[postgres(transparent)]
    struct UserId(i64);
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let mut sizes = Vec::new();
    for k in 0..10_i64 {
        c.execute("INSERT INTO t VALUES ($1)", &[&UserId(k)])
            .await
            .unwrap();
        let (a, b) = (UserId(100 + k), UserId(200 + k));
        let mut batch = Batch::atomic();
        batch.push("INSERT INTO t VALUES ($1)", &[&a]);
        batch.push("INSERT INTO t SELECT $1 WHERE $1 > 0", &[&b]);
        for r in within("batch", c.batch(&batch)).await.unwrap() {
            r.unwrap();
        }
        let n: i64 = c
            .query_scalar("SELECT count(*) FROM t WHERE id >= $1", &[&UserId(0)])
            .await
            .unwrap();
        assert_eq!(n, 3 * (k + 1));
        sizes.push(c.cached_statements());
    }
    assert_eq!(sizes[2], sizes[9], "cache grew: {sizes:?}");
}

/// This process's CPU time (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// A stream held open (not read, not dropped) after other callers came and
/// went on its connection, and after a failed stream and a dropped one:
/// reading stops (bounded memory) and nothing spins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_stream_neither_spins_nor_reads_without_bound() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    // Some history on the connection first.
    let _ = within("failing", async {
        let mut s = c
            .query_stream("SELECT 1 / (g - 10) FROM generate_series(1, 20) g", &[])
            .await
            .unwrap();
        while s.next().await.is_some() {}
    })
    .await;
    {
        let mut s = within(
            "dropped",
            c.query_stream("SELECT g FROM generate_series(1, 100000) g", &[]),
        )
        .await
        .unwrap();
        within("one", s.next()).await.unwrap().unwrap();
    }
    let _ = tokio::time::timeout(
        Duration::from_micros(300),
        c.query_scalar::<i32>("SELECT 1", &[]),
    )
    .await;
    within("idle", c.wait_idle()).await.unwrap();
    let mut s = within(
        "held",
        c.query_stream(
            "SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g",
            &[],
        ),
    )
    .await
    .unwrap();
    within("one", s.next()).await.unwrap().unwrap();
    // Other callers come and go while it is held.
    for i in 0..3_i32 {
        let v: i32 = within("other", c.query_scalar("SELECT $1::int4", &[&i]))
            .await
            .unwrap();
        assert_eq!(v, i);
    }
    let received = c.bytes_received();
    let cpu = cpu_time();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let spent = cpu_time().saturating_sub(cpu);
    let more = c.bytes_received() - received;
    assert!(
        spent < Duration::from_millis(300),
        "{spent:?} of CPU while idle"
    );
    assert!(
        more < 4 << 20,
        "{more} bytes read while the stream was held"
    );
    drop(s);
    let v: i32 = within("after", c.query_scalar("SELECT 9", &[]))
        .await
        .unwrap();
    assert_eq!(v, 9);
}

/// Everything at once on one connection, with and without read groups:
/// timed and untimed inserts, atomic batches, COPY, streams dropped or
/// failing, failing reads and futures dropped at random. Every write that
/// reported success is there, every one that reported failure is not, every
/// atomic batch is all or nothing, and the connection stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_at_once_matches_the_oracle() {
    let db = crate::db();
    for (u, url) in [db.url(), format!("{}?read_groups=on", db.url())]
        .into_iter()
        .enumerate()
    {
        let c = tusk::connect(&url).await.unwrap();
        c.execute_script("DROP TABLE IF EXISTS t; CREATE TABLE t (id int8 PRIMARY KEY)")
            .await
            .unwrap();
        let mut reports: Vec<(i64, Option<bool>)> = Vec::new();
        for round in 0..5_i64 {
            let futs = (0..60_i64).map(|i| {
                let c = &c;
                let id = i64::try_from(u).unwrap() * 100_000 + round * 1000 + i * 2;
                async move {
                    let dropped = Duration::from_micros(100 + 61 * i.unsigned_abs());
                    match i % 10 {
                        0 => {
                            let q =
                                Query::new("INSERT INTO t SELECT $1::int8 FROM pg_sleep(0.001)")
                                    .timeout(Duration::from_millis(1));
                            vec![(id, Some(c.execute(q, &[&id]).await.is_ok()))]
                        }
                        1 => {
                            let id2 = id + 1;
                            let mut b = Batch::atomic();
                            b.push("INSERT INTO t VALUES ($1)", &[&id]);
                            b.push("INSERT INTO t VALUES ($1)", &[&id2]);
                            let ok = c.batch(&b).await.unwrap().iter().all(Result::is_ok);
                            vec![(id, Some(ok)), (id2, Some(ok))]
                        }
                        2 => {
                            let e = c.execute("COPY t FROM STDIN", &[]).await.unwrap_err();
                            assert!(!e.is_fatal(), "{e}");
                            vec![]
                        }
                        3 => {
                            let mut s = c
                                .query_stream("SELECT g FROM generate_series(1, 20000) g", &[])
                                .await
                                .unwrap();
                            for _ in 0..(i % 7) {
                                s.next().await.unwrap().unwrap();
                            }
                            vec![]
                        }
                        4 => {
                            c.query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &[&id])
                                .await
                                .unwrap_err();
                            vec![]
                        }
                        5 => {
                            // Dropped at a random point: unknown outcome,
                            // but all or nothing.
                            let id2 = id + 1;
                            let mut b = Batch::atomic();
                            b.push("INSERT INTO t VALUES ($1)", &[&id]);
                            b.push("INSERT INTO t VALUES ($1)", &[&id2]);
                            match tokio::time::timeout(dropped, c.batch(&b)).await {
                                Ok(r) => {
                                    let ok = r.unwrap().iter().all(Result::is_ok);
                                    vec![(id, Some(ok)), (id2, Some(ok))]
                                }
                                Err(_) => vec![(id, None), (id2, None)],
                            }
                        }
                        6 => match tokio::time::timeout(
                            dropped,
                            c.execute("INSERT INTO t VALUES ($1)", &[&id]),
                        )
                        .await
                        {
                            Ok(r) => vec![(id, Some(r.is_ok()))],
                            Err(_) => vec![],
                        },
                        _ => {
                            c.execute("INSERT INTO t VALUES ($1)", &[&id])
                                .await
                                .unwrap();
                            let v: i64 = c
                                .query_scalar("SELECT id FROM t WHERE id = $1", &[&id])
                                .await
                                .unwrap();
                            assert_eq!(v, id);
                            vec![(id, Some(true))]
                        }
                    }
                }
            });
            let mut all = std::pin::pin!(join_all(futs));
            let Ok(done) = tokio::time::timeout(LIMIT, all.as_mut()).await else {
                panic!("{url} round {round}: wedged: {}", c.debug_state())
            };
            for r in done {
                reports.extend(r);
            }
            assert!(!c.is_closed(), "{url}");
        }
        within("idle", c.wait_idle()).await.unwrap();
        let rows: std::collections::HashSet<i64> = c
            .query("SELECT id FROM t", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for (id, ok) in &reports {
            if let Some(ok) = ok {
                assert_eq!(rows.contains(id), *ok, "{url}: id {id} reported ok={ok}");
            }
        }
        // Dropped atomic batches: both rows or neither.
        for (id, ok) in &reports {
            if ok.is_none() && id % 2 == 0 {
                assert_eq!(
                    rows.contains(id),
                    rows.contains(&(id + 1)),
                    "{url}: half a batch at {id}"
                );
            }
        }
    }
}

/// The wedge `everything_at_once` found, alone: a stream read a few rows
/// while other callers wait behind it, then dropped: the others must get
/// their answers. (The callers are futures of one `join_all` of more than
/// 30, which wakes each on its own waker, as separate tasks would be.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_behind_a_stream_read_then_dropped_get_answers() {
    use std::future::Future;
    use std::pin::Pin;
    let db = crate::db();
    let c = crate::conn(&db).await;
    for _ in 0..3 {
        let mut futs: Vec<Pin<Box<dyn Future<Output = Option<i64>> + Send + '_>>> = Vec::new();
        let c = &c;
        futs.push(Box::pin(async move {
            let mut s = c
                .query_stream("SELECT g FROM generate_series(1, 20000) g", &[])
                .await
                .unwrap();
            for _ in 0..3 {
                s.next().await.unwrap().unwrap();
            }
            None
        }));
        for i in 0..40_i64 {
            futs.push(Box::pin(async move {
                Some(
                    c.query_scalar::<i64>("SELECT $1::int8", &[&i])
                        .await
                        .unwrap(),
                )
            }));
        }
        let got = within("callers behind the stream", join_all(futs)).await;
        let want: Vec<Option<i64>> = std::iter::once(None).chain((0..40).map(Some)).collect();
        assert_eq!(got, want);
    }
}

/// A stream read a few rows and then held while its consumer waits for
/// other tasks' queries on the same connection (documented to work: the
/// rest of the stream is read into memory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_stream_whose_consumer_waits_for_other_tasks() {
    let db = crate::db();
    let c = std::sync::Arc::new(crate::conn(&db).await);
    for _ in 0..3 {
        let mut s = within(
            "stream",
            c.query_stream("SELECT g FROM generate_series(1, 20000) g", &[]),
        )
        .await
        .unwrap();
        let tasks: Vec<_> = (0..10_i64)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move { c.query_scalar::<i64>("SELECT $1::int8", &[&i]).await })
            })
            .collect();
        for _ in 0..3 {
            within("row", s.next()).await.unwrap().unwrap();
        }
        // The stream is held (not read, not dropped) meanwhile.
        for (i, t) in (0..10_i64).zip(tasks) {
            assert_eq!(within("task", t).await.unwrap().unwrap(), i);
        }
        let mut n = 3;
        while let Some(r) = within("rest", s.next()).await {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 20000);
    }
}
