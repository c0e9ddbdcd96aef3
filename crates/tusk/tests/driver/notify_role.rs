//! A notification stream meeting queries on the same connection: held
//! and not polled, polled in a task of its own while queries take the
//! driver role over, dropped mid-wait with a query queued behind it.

use std::time::Duration;

use futures_util::StreamExt;
use tusk::Executor;

async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 20 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_stream_does_not_block_queries_and_gets_its_notifications_later() {
    let db = crate::db();
    let conn = crate::conn(&db).await;
    let sender = crate::conn(&db).await;
    conn.execute("LISTEN jobs", &[]).await.unwrap();
    // Held, never polled yet: queries run, notifications queue.
    let mut stream = conn.notifications();
    for i in 0..3 {
        sender
            .execute(&format!("NOTIFY jobs, 'held{i}'"), &[])
            .await
            .unwrap();
        let one: i32 = bounded("query", conn.query_scalar("SELECT 1", &[]))
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
    // Polled now: what arrived while it was held, in order.
    for i in 0..3 {
        let n = bounded("held", stream.next()).await.unwrap().unwrap();
        assert_eq!(n.payload, format!("held{i}"));
    }
    // Polled with nothing there: it waits, holding the driver role;
    // a query takes the role over (and does not hang).
    assert!(
        tokio::time::timeout(Duration::from_millis(100), stream.next())
            .await
            .is_err()
    );
    let one: i32 = bounded(
        "query after a timed-out poll",
        conn.query_scalar("SELECT 1", &[]),
    )
    .await
    .unwrap();
    assert_eq!(one, 1);
    sender.execute("NOTIFY jobs, 'after'", &[]).await.unwrap();
    let n = bounded("after", stream.next()).await.unwrap().unwrap();
    assert_eq!(n.payload, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_stream_in_its_own_task_is_woken_after_queries_take_the_role() {
    let db = crate::db();
    let conn = std::sync::Arc::new(crate::conn(&db).await);
    let sender = crate::conn(&db).await;
    conn.execute("LISTEN jobs", &[]).await.unwrap();
    let stream = conn.notifications();
    let waiter = tokio::spawn(async move {
        stream
            .take(3)
            .map(|n| n.unwrap().payload)
            .collect::<Vec<_>>()
            .await
    });
    // Let the waiter take the driver role, then queries take it over.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..20 {
        bounded("query", conn.query_scalar::<i32>("SELECT 1", &[]))
            .await
            .unwrap();
    }
    // A notification that arrives while a query drives.
    let slow = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.execute("SELECT pg_sleep(0.3)", &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    sender.execute("NOTIFY jobs, 'during'", &[]).await.unwrap();
    bounded("slow query", slow).await.unwrap().unwrap();
    // Notifications sent once no query runs: only the waiter reads them.
    tokio::time::sleep(Duration::from_millis(50)).await;
    sender.execute("NOTIFY jobs, 'idle1'", &[]).await.unwrap();
    sender.execute("NOTIFY jobs, 'idle2'", &[]).await.unwrap();
    let got = bounded("waiter", waiter).await.unwrap();
    assert_eq!(got, ["during", "idle1", "idle2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_mid_wait_with_a_query_queued_behind_it() {
    let db = crate::db();
    let conn = std::sync::Arc::new(crate::conn(&db).await);
    let sender = crate::conn(&db).await;
    conn.execute("LISTEN jobs", &[]).await.unwrap();
    for round in 0..10 {
        let mut stream = conn.notifications();
        let waiter = tokio::spawn(async move { stream.next().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // A query queued while the stream waits, then the stream's task
        // dropped mid-wait.
        let q = {
            let conn = conn.clone();
            tokio::spawn(async move {
                conn.query_scalar::<i32>("SELECT 1 FROM pg_sleep(0.05)", &[])
                    .await
            })
        };
        if round % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        waiter.abort();
        let _ = waiter.await;
        let r = bounded("queued query", q).await.unwrap();
        assert_eq!(r.unwrap(), 1, "round {round}");
        let one: i32 = bounded("query after", conn.query_scalar("SELECT 1", &[]))
            .await
            .unwrap();
        assert_eq!(one, 1, "round {round}");
        // A new stream gets a notification sent after the drop.
        sender
            .execute(&format!("NOTIFY jobs, 'r{round}'"), &[])
            .await
            .unwrap();
        let n = bounded("next stream", conn.next_notification())
            .await
            .unwrap();
        assert_eq!(n.payload, format!("r{round}"));
    }
}
