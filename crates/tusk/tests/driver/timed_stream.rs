//! A timed stream's watchdog waits on the engine (it is woken when the
//! stream's query starts being answered, and when it ends), not on a
//! polling tick: it cancels the query only once the server runs it.

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tusk::{Executor, Query};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_stream_queued_behind_a_long_query_is_canceled_once_it_runs() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let started = Instant::now();
    let (long, streamed) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(
            // Untimed, in front: left alone.
            c.query_scalar::<i32>("SELECT 7 FROM pg_sleep(0.5)", &[]),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut s = c
                    .query_stream(
                        Query::new("SELECT g FROM generate_series(1, 3) g, pg_sleep(5)")
                            .timeout(Duration::from_millis(100)),
                        &[],
                    )
                    .await?;
                let mut n = 0;
                while let Some(r) = s.next().await {
                    r?;
                    n += 1;
                }
                Ok::<i32, tusk::Error>(n)
            }
        )
    })
    .await
    .expect("both ended");
    assert_eq!(
        long.unwrap(),
        7,
        "the untimed query in front was left alone"
    );
    let e = streamed.expect_err("the stream timed out");
    assert_eq!(e.kind(), tusk::ErrorKind::Timeout, "{e}");
    // Canceled once it ran (after the 0.5 s in front), long before its
    // own 5 s.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // A stream that finishes in time: the watchdog ends with it.
    let mut s = c
        .query_stream(
            Query::new("SELECT g FROM generate_series(1, 3) g").timeout(Duration::from_secs(5)),
            &[],
        )
        .await
        .unwrap();
    let mut n = 0;
    while let Some(r) = s.next().await {
        r.unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
}
