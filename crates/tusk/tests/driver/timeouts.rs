//! A query's timeout cancels or fails that query only: never another
//! caller's query that happens to be in front of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::{ErrorKind, Executor, Query};

/// Waits until the connection has a query in flight (the other caller's
/// long query was submitted before ours).
async fn until_in_flight(c: &tusk::Connection) {
    while c.in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_query_queued_behind_a_long_one_leaves_it_alone() {
    let db = crate::db();
    let c = Arc::new(crate::conn(&db).await);
    for _ in 0..2 {
        let long = {
            let c = c.clone();
            tokio::spawn(async move {
                c.query_scalar::<String>("SELECT pg_sleep(2)::text || 'done'", &[])
                    .await
            })
        };
        until_in_flight(&c).await;
        let started = Instant::now();
        let timed = c
            .query_scalar::<i32>(
                Query::new("SELECT 1").timeout(Duration::from_millis(100)),
                &[],
            )
            .await;
        // It ran after the long query (or was canceled as it started).
        match timed {
            Ok(v) => assert_eq!(v, 1),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Timeout, "{e}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        let done = long
            .await
            .unwrap()
            .expect("the long query was not disturbed");
        assert_eq!(done, "done");
        assert!(!c.is_closed());
        let v: i32 = c.query_scalar("SELECT 2", &[]).await.unwrap();
        assert_eq!(v, 2);
    }
    // Its own slow query is still canceled.
    let e = c
        .query(
            Query::new("SELECT pg_sleep(5)").timeout(Duration::from_millis(100)),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let v: i32 = c.query_scalar("SELECT 3", &[]).await.unwrap();
    assert_eq!(v, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_query_behind_a_long_one_is_canceled_when_it_starts_if_still_slow() {
    let db = crate::db();
    let c = Arc::new(crate::conn(&db).await);
    let long = {
        let c = c.clone();
        tokio::spawn(async move {
            c.query_scalar::<String>("SELECT pg_sleep(2)::text", &[])
                .await
        })
    };
    until_in_flight(&c).await;
    let started = Instant::now();
    // (A timeout of a second: the cancel's grace is a second too, which a
    // loaded machine may need.)
    let e = c
        .query(
            Query::new("SELECT pg_sleep(30)").timeout(Duration::from_secs(1)),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    long.await.unwrap().unwrap();
    let v: i32 = c.query_scalar("SELECT 4", &[]).await.unwrap();
    assert_eq!(v, 4);
}
