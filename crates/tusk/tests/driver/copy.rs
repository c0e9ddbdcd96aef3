//! COPY through the query methods (COPY proper comes later): it fails with
//! a clear error and the connection stays usable, for concurrent callers
//! too.

use std::time::Duration;

use futures_util::future::join_all;
use tusk::{Batch, Executor, Query};

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer (connection wedged)"))
}

#[tokio::test]
async fn copy_from_stdin_through_execute_fails_cleanly() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    for sql in [
        "COPY t FROM STDIN",
        "copy t (id) from stdin with (format csv)",
        "/* load */ COPY t FROM STDIN",
    ] {
        for q in [Query::new(sql), Query::new(sql).uncached()] {
            let e = within(sql, c.execute(q, &[])).await.unwrap_err();
            assert!(e.to_string().contains("COPY"), "{sql}: {e}");
            assert!(!e.is_fatal(), "{sql}: {e}");
            let v: i64 = within("after", c.query_scalar("SELECT count(*) FROM t", &[]))
                .await
                .unwrap();
            assert_eq!(v, 0);
        }
        let e = within(sql, c.execute_script(sql)).await.unwrap_err();
        assert!(e.to_string().contains("COPY"), "{sql}: {e}");
        let v: i32 = within("after", c.query_scalar("SELECT 1", &[]))
            .await
            .unwrap();
        assert_eq!(v, 1);
    }
    assert!(!c.is_closed());
    // Inside a transaction: the COPY's error fails it, as any error does.
    let mut c = c;
    let tx = c.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    assert!(within("copy in tx", tx.execute("COPY t FROM STDIN", &[]))
        .await
        .is_err());
    assert!(tx.commit().await.is_err());
    let v: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(v, 0);
}

#[tokio::test]
async fn copy_to_stdout_through_query_fails_cleanly() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8); INSERT INTO t SELECT generate_series(1, 10000)")
        .await
        .unwrap();
    for _ in 0..3 {
        let e = within("copy out", c.query("COPY t TO STDOUT", &[]))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("COPY"), "{e}");
        let e = within("copy out", c.execute_script("COPY (SELECT 1) TO STDOUT"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("COPY"), "{e}");
        let v: i64 = within("after", c.query_scalar("SELECT count(*) FROM t", &[]))
            .await
            .unwrap();
        assert_eq!(v, 10000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_among_concurrent_callers_touches_nobody_else() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    for round in 0..5_i64 {
        let futs = (0..60_i64).map(|i| {
            let c = &c;
            async move {
                match i % 10 {
                    3 => {
                        let e = c.execute("COPY t FROM STDIN", &[]).await.unwrap_err();
                        assert!(e.to_string().contains("COPY"), "{e}");
                    }
                    7 => {
                        let e = c.query("COPY t TO STDOUT", &[]).await.unwrap_err();
                        assert!(e.to_string().contains("COPY"), "{e}");
                    }
                    8 => {
                        let e = c
                            .execute_script("SELECT 1; COPY t FROM STDIN")
                            .await
                            .unwrap_err();
                        assert!(e.to_string().contains("COPY"), "{e}");
                    }
                    5 => {
                        c.execute("INSERT INTO t VALUES ($1)", &[&(round * 100 + i)])
                            .await
                            .unwrap();
                    }
                    _ => {
                        let v: i64 = c.query_scalar("SELECT $1::int8 + 1", &[&i]).await.unwrap();
                        assert_eq!(v, i + 1);
                    }
                }
            }
        });
        within("round", join_all(futs)).await;
    }
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 30);
    assert!(!c.is_closed());
}

#[tokio::test]
async fn copy_in_an_atomic_batch_is_refused_up_front() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let one = 1_i64;
    let mut b = Batch::atomic();
    b.push("INSERT INTO t VALUES ($1)", &[&one]);
    b.push("COPY t FROM STDIN", &[]);
    let out = within("batch", c.batch(&b)).await.unwrap();
    assert!(out.iter().all(Result::is_err));
    let e = out[1].as_ref().unwrap_err();
    assert!(e.to_string().contains("COPY"), "{e}");
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 0);
}
