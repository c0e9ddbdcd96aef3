//! A stream never keeps the connection for itself: a failed stream, a
//! retried stream and an open stream all leave other queries free to run.

use std::time::Duration;

use futures_util::StreamExt;
use tusk::{ErrorKind, Executor};

const LIMIT: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {LIMIT:?} (connection wedged)"))
}

#[tokio::test]
async fn a_failed_stream_hands_the_connection_back() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for sql in [
        "SELECT 1 / 0",
        "SELECT g / (g - 3) FROM generate_series(1, 5) g",
        "SELEC 1",
    ] {
        let started = within(sql, c.query_stream(sql, &[])).await;
        match started {
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::Data | ErrorKind::Syntax),
                "{e}"
            ),
            Ok(mut s) => {
                // The rows before the error come, then the error.
                let mut failed = false;
                while let Some(r) = within(sql, s.next()).await {
                    if r.is_err() {
                        failed = true;
                    }
                }
                assert!(failed, "{sql}");
            }
        }
        let v: i64 = within(
            "a query after it",
            c.query_scalar("SELECT 41::int8 + 1", &[]),
        )
        .await
        .unwrap();
        assert_eq!(v, 42);
    }
    // Concurrent callers too.
    let (a, b) = within("concurrent", async {
        tokio::join!(
            c.query_stream("SELECT 1 / 0", &[]),
            c.query_scalar::<i32>("SELECT 7", &[])
        )
    })
    .await;
    assert!(a.is_err());
    assert_eq!(b.unwrap(), 7);
    let v: i32 = within("after", c.query_scalar("SELECT 8", &[]))
        .await
        .unwrap();
    assert_eq!(v, 8);
}

#[tokio::test]
async fn a_stream_retried_after_a_stale_plan_hands_the_connection_back() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int4, v int4); INSERT INTO t VALUES (1, 10), (2, 20)")
        .await
        .unwrap();
    let rows = c.query("SELECT * FROM t ORDER BY id", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    // The cached plan's result type changes behind this connection's back.
    other
        .execute_script("ALTER TABLE t ALTER COLUMN v TYPE int8")
        .await
        .unwrap();
    let s = within("stream", c.query_stream("SELECT * FROM t ORDER BY id", &[]))
        .await
        .unwrap();
    let rows = within("rows", s.collect_all()).await.unwrap();
    assert_eq!(rows[1].get::<i64>("v"), 20);
    let v: i32 = within("a query after it", c.query_scalar("SELECT 3", &[]))
        .await
        .unwrap();
    assert_eq!(v, 3);
}

#[tokio::test]
async fn queries_run_while_a_stream_is_read() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    // Fully received (fewer rows than the stream buffers) and far larger
    // than its buffer: a query inside the loop runs either way.
    for n in [10_i64, 20_000] {
        let mut s = within(
            "stream",
            c.query_stream("SELECT g FROM generate_series(1, $1::int8) g", &[&n]),
        )
        .await
        .unwrap();
        let mut seen = 0_i64;
        while let Some(row) = within("next row", s.next()).await {
            let g: i64 = row.unwrap().get(0usize);
            seen += 1;
            assert_eq!(g, seen);
            if g % 997 == 1 || n == 10 {
                let v: i64 = within(
                    "query inside the loop",
                    c.query_scalar("SELECT $1::int8 * 2", &[&g]),
                )
                .await
                .unwrap();
                assert_eq!(v, g * 2);
            }
        }
        assert_eq!(seen, n);
        assert_eq!(s.rows_affected(), Some(u64::try_from(n).unwrap()));
    }
    // A stream that is received but never read does not hold up others.
    let s = within(
        "stream",
        c.query_stream("SELECT g FROM generate_series(1, 5000) g", &[]),
    )
    .await
    .unwrap();
    let v: i32 = within(
        "query beside an unread stream",
        c.query_scalar("SELECT 5", &[]),
    )
    .await
    .unwrap();
    assert_eq!(v, 5);
    let rows = within("the rest", s.collect_all()).await.unwrap();
    assert_eq!(rows.len(), 5000);
    let v: i32 = within("after", c.query_scalar("SELECT 6", &[]))
        .await
        .unwrap();
    assert_eq!(v, 6);
}
