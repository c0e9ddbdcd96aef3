//! `Connection::notifications()` and `Connection::notices()`: the streams
//! over the per-connection queue.

use std::time::Duration;

use futures_util::StreamExt;
use tusk::Executor;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn notification_stream_in_a_task_of_its_own_sees_every_notify_in_order() {
    let db = crate::db();
    let conn = crate::conn(&db).await;
    let sender = crate::conn(&db).await;
    conn.execute_script(r#"LISTEN jobs; LISTEN "Mixed Case""#)
        .await
        .unwrap();
    // Sent before the stream exists: queued, not lost.
    sender.execute_script("NOTIFY jobs, 'early'").await.unwrap();
    conn.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
    let stream = conn.notifications();
    let task = tokio::spawn(async move {
        stream
            .take(1002)
            .map(|n| n.unwrap())
            .collect::<Vec<_>>()
            .await
    });
    sender
        .execute_script(r#"SELECT pg_notify('jobs', i::text) FROM generate_series(1, 1000) i; NOTIFY "Mixed Case", 'mixed'"#)
        .await
        .unwrap();
    // The connection keeps running queries while the task waits.
    let v: i32 = conn.query_scalar("SELECT 41 + 1", &[]).await.unwrap();
    assert_eq!(v, 42);
    let got = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert_eq!(got[0].payload, "early");
    let numbers: Vec<String> = got[1..1001].iter().map(|n| n.payload.clone()).collect();
    let expected: Vec<String> = (1..=1000).map(|i: i32| i.to_string()).collect();
    assert_eq!(numbers, expected);
    assert_eq!(got[1001].channel, "Mixed Case");
    assert_eq!(got[1001].process_id, sender.process_id());
}

#[tokio::test]
async fn notification_stream_yields_the_error_once_then_ends_when_the_backend_dies() {
    let db = crate::db();
    let conn = crate::conn(&db).await;
    let admin = crate::conn(&db).await;
    conn.execute_script("LISTEN jobs").await.unwrap();
    let mut stream = conn.notifications();
    let pid = conn.process_id();
    let killer = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
    };
    let (first, ()) = tokio::join!(tokio::time::timeout(WAIT, stream.next()), killer);
    let err = first.unwrap().expect("an item").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            tusk::ErrorKind::Connection | tusk::ErrorKind::Closed
        ),
        "{err}"
    );
    assert!(stream.next().await.is_none());
    assert!(conn.is_closed());
}

#[tokio::test]
async fn a_stream_dropped_while_waiting_leaves_the_connection_usable() {
    let db = crate::db();
    let conn = crate::conn(&db).await;
    conn.execute_script("LISTEN jobs").await.unwrap();
    let mut stream = conn.notifications();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), stream.next())
            .await
            .is_err()
    );
    drop(stream);
    let v: i32 = tokio::time::timeout(WAIT, conn.query_scalar("SELECT 7", &[]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 7);
    // And a later stream still gets what arrives.
    conn.execute_script("NOTIFY jobs, 'x'").await.unwrap();
    let n = tokio::time::timeout(WAIT, conn.notifications().next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(n.payload, "x");
}

#[tokio::test]
async fn notices_stream_replaces_the_handler_and_ends_with_the_connection() {
    let db = crate::db();
    let conn = crate::conn(&db).await;
    let mut notices = conn.notices();
    conn.execute_script("DO $$ BEGIN RAISE NOTICE 'one'; RAISE WARNING 'two'; END $$")
        .await
        .unwrap();
    let a = notices.recv().await.unwrap();
    let b = notices.next().await.unwrap();
    assert_eq!((a.message.as_str(), b.message.as_str()), ("one", "two"));
    assert_eq!(b.severity, tusk::error::Severity::Warning);
    assert_eq!(notices.dropped(), 0);
    // Over capacity: the newest are dropped and counted, the reads go on.
    let n = tusk::Notices::CAPACITY + 10;
    conn.execute_script(&format!(
        "DO $$ BEGIN FOR i IN 1..{n} LOOP RAISE NOTICE 'n%', i; END LOOP; END $$"
    ))
    .await
    .unwrap();
    assert_eq!(notices.dropped(), 10);
    assert_eq!(notices.recv().await.unwrap().message, "n1");
    drop(conn);
    let mut left = 1;
    while notices.recv().await.is_some() {
        left += 1;
    }
    assert_eq!(left, tusk::Notices::CAPACITY);
}

#[tokio::test]
async fn a_held_stream_that_is_not_polled_never_blocks_queries() {
    let db = crate::db();
    let conn = crate::conn(&db).await;
    conn.execute_script("LISTEN jobs").await.unwrap();
    let mut stream = conn.notifications();
    // Polled once (it takes the driver role to wait), then left alone.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), stream.next())
            .await
            .is_err()
    );
    let v: i32 = tokio::time::timeout(Duration::from_secs(5), conn.query_scalar("SELECT 3", &[]))
        .await
        .expect("the query must not wait for the idle stream")
        .unwrap();
    assert_eq!(v, 3);
    conn.execute_script("NOTIFY jobs, 'after'").await.unwrap();
    let n = tokio::time::timeout(WAIT, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(n.payload, "after");
}
