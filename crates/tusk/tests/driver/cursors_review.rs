//! Adversarial review of portals, cursors and the COPY IN buffer swap,
//! with `query` (and COPY OUT) as the oracle.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tusk::{ErrorKind, Executor, Row};

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer (connection wedged)"))
}

/// Polls `f` at most `n` times (yielding between polls), then drops it.
async fn poll_n<F: Future>(f: F, n: usize) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    for _ in 0..n {
        if let Poll::Ready(v) = futures_util::poll!(f.as_mut()) {
            return Some(v);
        }
        tokio::task::yield_now().await;
    }
    None
}

fn ids(rows: &[Row]) -> Vec<i64> {
    rows.iter().map(|r| r.get::<i64>(0)).collect()
}

async fn numbers(c: &tusk::Connection, n: i64) {
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY, body text)")
        .await
        .unwrap();
    let values: Vec<String> = (1..=n).map(|i| format!("({i}, 'row {i}')")).collect();
    c.execute_script(&format!("INSERT INTO t VALUES {}", values.join(", ")))
        .await
        .unwrap();
}

const SQL: &str = "SELECT id, body FROM t ORDER BY id";

#[tokio::test]
async fn next_batch_dropped_at_every_await_point_loses_and_duplicates_nothing() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 300).await;
    let oracle = ids(&c.query(SQL, &[]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    let mut p = within("open", tx.query_portal(SQL, &[], 7)).await.unwrap();
    let mut got = Vec::new();
    let mut k = 0i32;
    loop {
        k += 1;
        match within(
            "batch",
            poll_n(p.next_batch(), usize::try_from(k % 5).unwrap()),
        )
        .await
        {
            Some(Ok(Some(b))) => got.extend(ids(&b)),
            Some(Ok(None)) => break,
            Some(Err(e)) => panic!("batch {k}: {e}"),
            None => {}
        }
        // Other queries in between, on the same connection.
        let one: i32 = within("between", tx.query_scalar("SELECT $1::int4", &[&k]))
            .await
            .unwrap();
        assert_eq!(one, k);
    }
    assert_eq!(got, oracle);
    drop(p);
    tx.commit().await.unwrap();
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 300);
}

#[tokio::test]
async fn portals_and_pipelined_queries_from_concurrent_futures_keep_step() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 500).await;
    let oracle = ids(&c.query(SQL, &[]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    let read = |fetch: u32| {
        let tx = &tx;
        async move {
            let mut p = tx.query_portal(SQL, &[], fetch).await.unwrap();
            let mut got = Vec::new();
            while let Some(b) = p.next_batch().await.unwrap() {
                got.extend(ids(&b));
                tokio::task::yield_now().await;
            }
            got
        }
    };
    let chatter = async {
        for i in 0..200i64 {
            let v: i64 = tx.query_scalar("SELECT $1::int8 * 2", &[&i]).await.unwrap();
            assert_eq!(v, i * 2);
        }
    };
    let (a, b, c1, ()) = within(
        "concurrent",
        futures_util::future::join4(read(1), read(13), read(1_000_000), chatter),
    )
    .await;
    assert_eq!(a, oracle);
    assert_eq!(b, oracle);
    assert_eq!(c1, oracle);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn fetch_size_zero_is_a_typed_error_and_the_transaction_goes_on() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 10).await;
    let tx = c.transaction().await.unwrap();
    let e = within("zero", tx.query_portal(SQL, &[], 0))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let mut p = tx.query_portal(SQL, &[], u32::MAX).await.unwrap();
    assert_eq!(p.next_batch().await.unwrap().map(|b| b.len()), Some(10));
    assert!(p.set_fetch_size(0).is_err());
    assert!(p.next_batch().await.unwrap().is_none());
    drop(p);
    tx.commit().await.unwrap();
}

/// A portal whose transaction ended, read once a NEW transaction block is
/// open (begun by hand on the connection): the docs say such a portal's
/// next batch fails with `NotInTransaction`, nothing sent. It must not
/// send its Execute into the new transaction (the server's 34000 would
/// abort it).
#[tokio::test]
async fn a_stale_portal_does_not_abort_the_next_transaction() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    numbers(&c, 50).await;
    c.execute("BEGIN", &[]).await.unwrap();
    let mut p = c.query_portal(SQL, &[], 10).await.unwrap();
    assert_eq!(p.next_batch().await.unwrap().map(|b| b.len()), Some(10));
    c.execute("COMMIT", &[]).await.unwrap();
    c.execute("BEGIN", &[]).await.unwrap();
    c.execute("INSERT INTO t VALUES (1000, 'new')", &[])
        .await
        .unwrap();
    let e = within("stale batch", p.next_batch()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotInTransaction, "{e}");
    drop(p);
    c.execute("COMMIT", &[]).await.unwrap();
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE id = 1000", &[])
        .await
        .unwrap();
    assert_eq!(n, 1, "the new transaction was aborted by the stale portal");
}

/// A cursor (without hold) whose transaction ended, dropped after a new
/// transaction declared a cursor of the same name: its Close must not
/// close the new cursor.
#[tokio::test]
async fn a_stale_cursor_dropped_does_not_close_a_new_one_of_the_same_name() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    numbers(&c, 20).await;
    c.execute("BEGIN", &[]).await.unwrap();
    let old = c.declare_cursor("c", SQL, &[], false).await.unwrap();
    c.execute("COMMIT", &[]).await.unwrap();
    c.execute("BEGIN", &[]).await.unwrap();
    let mut new = c
        .declare_cursor(
            "c",
            "SELECT id FROM t WHERE id > 10 ORDER BY id",
            &[],
            false,
        )
        .await
        .unwrap();
    drop(old);
    let rows = within("fetch", new.fetch(100)).await.unwrap();
    assert_eq!(ids(&rows), (11..=20).collect::<Vec<_>>());
    drop(new);
    c.execute("COMMIT", &[]).await.unwrap();
}

#[tokio::test]
async fn cursor_names_collide_as_typed_errors_and_cannot_inject() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 20).await;
    {
        let tx = c.transaction().await.unwrap();
        let evil = "x\" CURSOR FOR SELECT 1; DROP TABLE t; --";
        let mut cur = tx.declare_cursor(evil, SQL, &[], false).await.unwrap();
        assert_eq!(cur.fetch(5).await.unwrap().len(), 5);
        let n: i64 = tx
            .query_scalar("SELECT count(*) FROM pg_cursors WHERE name = $1", &[&evil])
            .await
            .unwrap();
        assert_eq!(n, 1);
        // A cursor named like the driver's own portals.
        let mut p = tx.query_portal(SQL, &[], 3).await.unwrap();
        let pname = p.name().to_string();
        let e = tx
            .declare_cursor(&pname, SQL, &[], false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(tusk::SqlState::DUPLICATE_CURSOR), "{e}");
        // The error failed the transaction: the portal's first batch (read
        // when it opened) is handed out, the next fetch is the server's error.
        assert_eq!(p.next_batch().await.unwrap().map(|b| b.len()), Some(3));
        let e = p.next_batch().await.unwrap_err();
        assert_eq!(
            e.code(),
            Some(tusk::SqlState::IN_FAILED_SQL_TRANSACTION),
            "{e}"
        );
        drop(p);
        drop(cur);
        tx.rollback().await.unwrap();
    }
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 20);
}

/// COPY IN of many small writes, each flushed (so each chunk is swapped
/// into the connection's emptied buffer), with big writes in between,
/// against COPY OUT byte for byte.
#[tokio::test]
async fn copy_in_small_flushed_writes_round_trip_byte_for_byte() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8, body text)")
        .await
        .unwrap();
    let mut want = Vec::new();
    for i in 0..3000i64 {
        let body = if i % 500 == 0 {
            "y".repeat(70_000 + usize::try_from(i).unwrap())
        } else {
            format!("r{}", "z".repeat(usize::try_from(i % 37).unwrap()))
        };
        want.extend_from_slice(format!("{i}\t{body}\n").as_bytes());
    }
    let mut sink = within("copy_in", c.copy_in("COPY t FROM STDIN"))
        .await
        .unwrap();
    let mut at = 0usize;
    let mut step = 1usize;
    while at < want.len() {
        let n = step.min(want.len() - at);
        within("write", sink.write(&want[at..at + n]))
            .await
            .unwrap();
        if !step.is_multiple_of(3) {
            within("flush", sink.flush()).await.unwrap();
        }
        at += n;
        step = if step > 90_000 { 1 } else { step * 2 + 1 };
    }
    assert_eq!(within("finish", sink.finish()).await.unwrap(), 3000);
    let mut out = c
        .copy_out("COPY (SELECT * FROM t ORDER BY id) TO STDOUT")
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut out).await {
        got.extend_from_slice(&chunk.unwrap());
    }
    if got != want {
        let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
        let show = |v: &[u8]| {
            String::from_utf8_lossy(&v[at.saturating_sub(40)..(at + 40).min(v.len())]).into_owned()
        };
        panic!(
            "COPY OUT differs at byte {at} of {} / {}: got {:?}, want {:?}",
            got.len(),
            want.len(),
            show(&got),
            show(&want)
        );
    }
}

/// A COPY IN cancelled right after a chunk was swapped in: a typed error,
/// nothing kept, the connection usable.
#[tokio::test]
async fn copy_in_cancelled_after_a_swap_keeps_nothing_and_the_connection_lives() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let token = c.cancel_token();
    let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\n2\n").await.unwrap();
    sink.flush().await.unwrap();
    within("cancel", token.cancel()).await.unwrap();
    let mut err = None;
    for i in 0..2000 {
        if let Err(e) = within("write", sink.write(format!("{i}\n").as_bytes())).await {
            err = Some(e);
            break;
        }
        if let Err(e) = within("flush", sink.flush()).await {
            err = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let e = match err {
        Some(e) => e,
        None => within("finish", sink.finish()).await.unwrap_err(),
    };
    assert_eq!(e.code(), Some(tusk::SqlState::QUERY_CANCELED), "{e}");
    let n: i64 = within("after", c.query_scalar("SELECT count(*) FROM t", &[]))
        .await
        .unwrap();
    assert_eq!(n, 0);
    let one: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(one, 1);
}

/// The portal's statement evicted from the cache (and closed on the
/// server) between batches: the portal reads on, the same rows.
#[tokio::test]
async fn a_portal_reads_on_when_its_statement_is_evicted_between_batches() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 200).await;
    let oracle = ids(&c.query(SQL, &[]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    let mut p = tx.query_portal(SQL, &[], 50).await.unwrap();
    let mut got = ids(&p.next_batch().await.unwrap().unwrap());
    for i in 0..600i64 {
        let sql = format!("SELECT {i}::int8 + $1");
        let v: i64 = tx.query_scalar(&sql, &[&1i64]).await.unwrap();
        assert_eq!(v, i + 1);
    }
    while let Some(b) = within("batch", p.next_batch()).await.unwrap() {
        got.extend(ids(&b));
    }
    assert_eq!(got, oracle);
    drop(p);
    tx.commit().await.unwrap();
}

/// A cached statement made stale by another session's DDL, opened as a
/// portal (always in a transaction): a typed error or the rows, but the
/// statement never runs twice.
#[tokio::test]
async fn a_portal_over_a_stale_cached_statement_never_runs_it_twice() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("CREATE TABLE w (id int8); CREATE TABLE n (k int8)")
        .await
        .unwrap();
    let sql = "INSERT INTO w SELECT k FROM n RETURNING *";
    c.execute_script("INSERT INTO n SELECT 1").await.unwrap();
    assert_eq!(c.query(sql, &[]).await.unwrap().len(), 1);
    other
        .execute_script("ALTER TABLE w ADD COLUMN extra text DEFAULT 'x'")
        .await
        .unwrap();
    let tx = c.transaction().await.unwrap();
    let ran = match within("open", tx.query_portal(sql, &[], 1)).await {
        Ok(mut p) => {
            let rows = p.next_batch().await.unwrap().unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].len(), 2, "the new result type");
            assert!(p.next_batch().await.unwrap().is_none());
            drop(p);
            tx.commit().await.unwrap();
            true
        }
        Err(e) => {
            assert_eq!(e.code(), Some(tusk::SqlState::FEATURE_NOT_SUPPORTED), "{e}");
            tx.rollback().await.unwrap();
            false
        }
    };
    eprintln!("stale cached statement as a portal: ran = {ran}");
    let n: i64 = c.query_scalar("SELECT count(*) FROM w", &[]).await.unwrap();
    assert_eq!(n, if ran { 2 } else { 1 }, "ran {ran}");
    // Healed for the next one.
    let tx = c.transaction().await.unwrap();
    let p = tx.query_portal(sql, &[], 1).await.unwrap();
    assert_eq!(p.collect_all().await.unwrap()[0].len(), 2);
    tx.commit().await.unwrap();
}

/// A portal read in small batches while notifications pour in (read by
/// another task) and other futures pipeline queries on the same
/// transaction: every notification, every row, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_with_notifications_and_pipelined_queries_keeps_everything() {
    use futures_util::StreamExt;
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    let sender = crate::conn(&db).await;
    numbers(&c, 400).await;
    let oracle = ids(&c.query(SQL, &[]).await.unwrap());
    c.execute_script("LISTEN jobs").await.unwrap();
    let stream = c.notifications();
    let task = tokio::spawn(async move {
        stream
            .take(500)
            .map(|n| n.unwrap().payload)
            .collect::<Vec<_>>()
            .await
    });
    let send = tokio::spawn(async move {
        for i in 0..50 {
            sender
                .execute_script(&format!(
                    "SELECT pg_notify('jobs', g::text) FROM generate_series({}, {}) g",
                    i * 10,
                    i * 10 + 9
                ))
                .await
                .unwrap();
            tokio::task::yield_now().await;
        }
    });
    let tx = c.transaction().await.unwrap();
    let read = async {
        let mut p = tx.query_portal(SQL, &[], 3).await.unwrap();
        let mut got = Vec::new();
        let mut k = 0;
        loop {
            k += 1;
            match poll_n(p.next_batch(), k % 4).await {
                Some(r) => match r.unwrap() {
                    Some(b) => got.extend(ids(&b)),
                    None => break,
                },
                None => tokio::task::yield_now().await,
            }
        }
        got
    };
    let chatter = async {
        for i in 0..300i64 {
            let v: i64 = tx.query_scalar("SELECT $1::int8 + 1", &[&i]).await.unwrap();
            assert_eq!(v, i + 1);
        }
    };
    let (got, ()) = within("portal", futures_util::future::join(read, chatter)).await;
    assert_eq!(got, oracle);
    tx.commit().await.unwrap();
    within("send", send).await.unwrap();
    // Notifications are delivered when the connection reads: keep it reading.
    let pump = async {
        loop {
            c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let payloads = tokio::select! {
        r = within("notifications", task) => r.unwrap(),
        () = pump => unreachable!(),
    };
    let want: Vec<String> = (0..500).map(|i: i32| i.to_string()).collect();
    assert_eq!(payloads, want);
}

/// COPY IN chunks swapped in while other futures queue queries behind
/// the COPY on the same connection; then a second COPY dropped midway
/// (CopyFail after a swapped chunk): every byte of the first in place,
/// nothing of the second, every query answered.
#[tokio::test]
async fn copy_in_swaps_with_queries_queued_behind_and_a_dropped_copy() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8, body text)")
        .await
        .unwrap();
    let mut want = Vec::new();
    for i in 0..20_000i64 {
        want.extend_from_slice(
            format!(
                "{i}\tbody {i} {}\n",
                "q".repeat(usize::try_from(i % 13).unwrap())
            )
            .as_bytes(),
        );
    }
    let copy = async {
        let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
        for (k, part) in want.chunks(977).enumerate() {
            sink.write(part).await.unwrap();
            if k.is_multiple_of(2) {
                sink.flush().await.unwrap();
            }
            tokio::task::yield_now().await;
        }
        sink.finish().await.unwrap()
    };
    let chatter = async {
        for i in 0..100i64 {
            let v: i64 = c.query_scalar("SELECT $1::int8 * 3", &[&i]).await.unwrap();
            assert_eq!(v, i * 3);
        }
    };
    let (n, ()) = within("copy + queries", futures_util::future::join(copy, chatter)).await;
    assert_eq!(n, 20_000);
    {
        let mut sink = c.copy_in("COPY t FROM STDIN").await.unwrap();
        sink.write(b"-1\tgone\n").await.unwrap();
        sink.flush().await.unwrap();
        sink.write(b"-2\tgone\n").await.unwrap();
        sink.flush().await.unwrap();
    }
    let mut out = c
        .copy_out("COPY (SELECT * FROM t ORDER BY id) TO STDOUT")
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut out).await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(
        got == want,
        "COPY OUT differs ({} vs {} bytes)",
        got.len(),
        want.len()
    );
}

/// A `query_portal` future dropped midway, in a connection's second
/// transaction (a block has ended before): the portal it may have opened
/// is closed all the same.
#[tokio::test]
async fn an_opening_dropped_midway_in_a_later_transaction_closes_its_portal() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 100).await;
    c.transaction().await.unwrap().commit().await.unwrap();
    let tx = c.transaction().await.unwrap();
    for k in 1..6 {
        let _ = poll_n(tx.query_portal(SQL, &[], 10), k).await;
        let n: i64 = within(
            "count",
            tx.query_scalar(
                "SELECT count(*) FROM pg_cursors WHERE name LIKE 'tusk_portal%'",
                &[],
            ),
        )
        .await
        .unwrap();
        assert_eq!(n, 0, "polled {k} times: a portal left open");
    }
    tx.commit().await.unwrap();
}

/// A `declare_cursor` future dropped midway (a `select!` that lost): the
/// cursor it may have declared WITH HOLD must not stay open on the
/// session, and the name must be usable again.
#[tokio::test]
async fn a_declare_dropped_midway_leaves_no_held_cursor() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    numbers(&c, 10).await;
    for k in 1..6 {
        let _ = poll_n(c.declare_cursor("h", SQL, &[], true), k).await;
        let n = cursors_named(&c, "h").await;
        assert_eq!(n, 0, "polled {k} times: the held cursor was left open");
    }
}

/// `close()` with a batch in flight (its future dropped), then more
/// queries and another portal: in step, the portal gone on the server.
#[tokio::test]
async fn close_with_a_batch_in_flight_keeps_the_connection_in_step() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 100).await;
    let oracle = ids(&c.query(SQL, &[]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    let mut p = tx.query_portal(SQL, &[], 10).await.unwrap();
    p.next_batch().await.unwrap();
    let _ = poll_n(p.next_batch(), 1).await;
    within("close", p.close()).await.unwrap();
    let v: i32 = within("after", tx.query_scalar("SELECT 7", &[]))
        .await
        .unwrap();
    assert_eq!(v, 7);
    let all = within(
        "again",
        tx.query_portal(SQL, &[], 9).await.unwrap().collect_all(),
    )
    .await
    .unwrap();
    assert_eq!(ids(&all), oracle);
    tx.commit().await.unwrap();
}

/// How many cursors named `name` the session of `c` has open.
async fn cursors_named(c: &(impl tusk::Executor + ?Sized), name: &str) -> i64 {
    within(
        "count",
        c.query_scalar("SELECT count(*) FROM pg_cursors WHERE name = $1", &[&name]),
    )
    .await
    .unwrap()
}

/// Declares `h` for `sql` (held) and drops the future only once its
/// answer has arrived: a slow query ahead of it holds the driver role, a
/// query behind it drives the connection past the DECLARE's answer, and
/// the DECLARE's future is never polled again.
async fn answered_then_dropped(c: &tusk::Connection, sql: &str) {
    let mut ahead = Box::pin(c.query_scalar::<i32>("SELECT 1 FROM pg_sleep(0.1)", &[]));
    assert!(futures_util::poll!(ahead.as_mut()).is_pending());
    let mut d = Box::pin(c.declare_cursor("h", sql, &[], true));
    assert!(futures_util::poll!(d.as_mut()).is_pending());
    let mut behind = Box::pin(c.query_scalar::<i32>("SELECT 7", &[]));
    assert!(futures_util::poll!(behind.as_mut()).is_pending());
    assert_eq!(within("ahead", ahead).await.unwrap(), 1);
    assert_eq!(within("behind", behind).await.unwrap(), 7);
    drop(d);
}

/// A held cursor whose DECLARE takes ~200 ms (its rows are computed when
/// the implicit transaction commits): a future polled once and dropped
/// has sent it and surely not had its answer.
const SLOW: &str = "SELECT g::int8 AS id FROM generate_series(1, 3) g, pg_sleep(0.2) s";

/// A `declare_cursor` future dropped at each point of its life: before
/// anything was sent, after the DECLARE went out but before its answer,
/// after the answer arrived but before the future took it, and the cursor
/// made and dropped. Every time the very next query on the session (queued
/// right behind) finds no cursor, and the name is free again.
#[tokio::test]
async fn a_declare_dropped_at_every_point_leaves_no_cursor() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    // Before anything is sent: never polled.
    drop(c.declare_cursor("h", SLOW, &[], true));
    assert_eq!(cursors_named(&c, "h").await, 0, "never polled");
    // Sent, its answer ~200 ms away.
    for params in [false, true] {
        let mut f = Box::pin(async {
            if params {
                c.declare_cursor("h", "SELECT $1::int8, pg_sleep(0.2)", &[&5i64], true)
                    .await
            } else {
                c.declare_cursor("h", SLOW, &[], true).await
            }
        });
        assert!(futures_util::poll!(f.as_mut()).is_pending());
        drop(f);
        assert_eq!(
            cursors_named(&c, "h").await,
            0,
            "dropped before its answer (params: {params})"
        );
    }
    // Answered, not taken: dropped after another caller drove the
    // connection past its answer.
    answered_then_dropped(&c, SLOW).await;
    assert_eq!(cursors_named(&c, "h").await, 0, "dropped with its answer");
    // Made, then dropped: the Cursor's own drop.
    let cur = within("declare", c.declare_cursor("h", SLOW, &[], true))
        .await
        .unwrap();
    assert_eq!(cursors_named(&c, "h").await, 1);
    drop(cur);
    assert_eq!(cursors_named(&c, "h").await, 0, "the Cursor dropped");
    // The name is free: a cursor of it works end to end.
    let mut cur = within("declare", c.declare_cursor("h", SLOW, &[], true))
        .await
        .unwrap();
    assert_eq!(cur.fetch_all().await.unwrap().len(), 3);
    cur.close().await.unwrap();
}

/// A dropped DECLARE that failed closes nothing: the cursor of that name
/// declared before (whose name made it fail) stays open and readable.
#[tokio::test]
async fn a_dropped_declare_that_failed_leaves_the_other_cursor_of_its_name() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    numbers(&c, 10).await;
    let mut first = within("first", c.declare_cursor("h", SQL, &[], true))
        .await
        .unwrap();
    for k in 1..6 {
        let r = poll_n(c.declare_cursor("h", SLOW, &[], true), k).await;
        if let Some(r) = r {
            let e = r.unwrap_err();
            assert_eq!(e.code(), Some(tusk::SqlState::DUPLICATE_CURSOR), "{e}");
        }
        assert_eq!(cursors_named(&c, "h").await, 1, "polled {k} times");
    }
    // Also when its (failed) answer came before the future was dropped.
    answered_then_dropped(&c, SLOW).await;
    assert_eq!(cursors_named(&c, "h").await, 1, "answered, then dropped");
    assert_eq!(
        ids(&first.fetch_all().await.unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    first.close().await.unwrap();
    assert_eq!(cursors_named(&c, "h").await, 0);
}

/// In a transaction: a DECLARE (with or without hold) dropped before its
/// answer is closed, the transaction is not aborted by it, and a cursor
/// declared before keeps working; one that fails (a name in use) fails
/// the transaction as any error does, and closes nothing.
#[tokio::test]
async fn a_declare_dropped_in_a_transaction_is_closed_and_the_block_goes_on() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    numbers(&c, 10).await;
    let tx = c.transaction().await.unwrap();
    let mut kept = within("kept", tx.declare_cursor("kept", SQL, &[], false))
        .await
        .unwrap();
    for (k, hold) in [(1, false), (1, true), (3, false), (3, true)] {
        let _ = poll_n(tx.declare_cursor("h", "SELECT pg_sleep(0.1)", &[], hold), k).await;
        let n = cursors_named(&tx, "h").await;
        assert_eq!(n, 0, "polled {k} times (hold: {hold})");
    }
    assert_eq!(ids(&kept.fetch(3).await.unwrap()), vec![1, 2, 3]);
    let _ = poll_n(tx.declare_cursor("kept", SQL, &[], false), 2).await;
    let e = tx.query_scalar::<i32>("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(tusk::SqlState::IN_FAILED_SQL_TRANSACTION),
        "{e}"
    );
    tx.rollback().await.unwrap();
    drop(kept);
    let v: i32 = within("after", c.query_scalar("SELECT 7", &[]))
        .await
        .unwrap();
    assert_eq!(v, 7);
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM pg_cursors WHERE name <> ''", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
}
