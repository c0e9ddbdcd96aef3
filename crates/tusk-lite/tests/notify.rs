//! LISTEN/UNLISTEN/NOTIFY/pg_notify between sessions of one database,
//! checked against PostgreSQL 15 and tusk-lite with the same code: what
//! each session receives (channel, payload, and which session sent it,
//! by its pg_backend_pid()) is compared with one expected list.
//!
//! Where a check is "nothing was delivered", the scenario sends a marker
//! notification after it: delivery is in commit order, so the marker
//! arriving first proves the earlier one never came.

mod common;

use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// A session: its client, its backend pid and its notifications.
struct Session {
    client: Client,
    pid: i32,
    rx: mpsc::UnboundedReceiver<(i32, String, String)>,
}

fn drive<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
) -> mpsc::UnboundedReceiver<(i32, String, String)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if let Ok(AsyncMessage::Notification(n)) = m {
                let _ = tx.send((
                    n.process_id(),
                    n.channel().to_string(),
                    n.payload().to_string(),
                ));
            }
        }
    });
    rx
}

async fn session(client: Client, rx: mpsc::UnboundedReceiver<(i32, String, String)>) -> Session {
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pg_backend_pid")
        .get(0);
    Session { client, pid, rx }
}

async fn lite_session(db: &tusk_lite::Database) -> Session {
    let (c, conn) = common::lite_raw(db).await;
    let rx = drive(conn);
    session(c, rx).await
}

async fn pg_session(url: &str) -> Session {
    let (c, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    let rx = drive(conn);
    session(c, rx).await
}

/// The next notification session `i` receives, as "from N: channel payload"
/// (N the sender's session index).
async fn next(s: &mut [Session], i: usize) -> String {
    let (pid, channel, payload) = tokio::time::timeout(Duration::from_secs(10), s[i].rx.recv())
        .await
        .unwrap_or_else(|_| panic!("session {i} got no notification within 10 s"))
        .expect("the connection is open");
    let from = s
        .iter()
        .position(|x| x.pid == pid)
        .map_or_else(|| format!("pid {pid}"), |n| n.to_string());
    format!("from {from}: {channel} {payload}")
}

async fn run(s: &mut [Session], i: usize, sql: &str) {
    s[i].client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("session {i}: {sql}: {e}"));
}

/// The scenario; returns every session's notifications in order.
async fn scenario(s: &mut [Session]) -> Vec<String> {
    let mut log = Vec::new();
    run(s, 0, "LISTEN a; LISTEN b; LISTEN \"Mixed Case\"").await;
    // One transaction: in order, duplicates (same channel and payload)
    // once, a channel nobody listens on is nobody's.
    run(
        s,
        1,
        "BEGIN; NOTIFY a, '1'; NOTIFY b, '2'; NOTIFY a, '1'; SELECT pg_notify('a', '3'); \
         NOTIFY nobody, 'x'; NOTIFY a; SELECT pg_notify('a', NULL); NOTIFY \"Mixed Case\", 'm'; COMMIT",
    )
    .await;
    for _ in 0..5 {
        log.push(format!("0 {}", next(s, 0).await));
    }
    // Rolled back: nothing; a savepoint rolled back: its part only.
    run(s, 1, "BEGIN; NOTIFY a, 'rolled back'; ROLLBACK").await;
    run(
        s,
        1,
        "BEGIN; NOTIFY a, 'kept'; SAVEPOINT s; NOTIFY a, 'to savepoint'; ROLLBACK TO s; \
         SAVEPOINT t; NOTIFY b, 'released'; RELEASE t; COMMIT",
    )
    .await;
    log.push(format!("0 {}", next(s, 0).await));
    log.push(format!("0 {}", next(s, 0).await));
    // A failed transaction block sends nothing.
    let _ = s[1]
        .client
        .batch_execute("BEGIN; NOTIFY a, 'failed'; SELECT 1/0")
        .await
        .expect_err("division by zero");
    run(s, 1, "COMMIT").await;
    // A session hears its own notifications, before its ReadyForQuery.
    run(s, 0, "NOTIFY a, 'self'").await;
    log.push(format!("0 {}", next(s, 0).await));
    // Inside a transaction block a listener gets nothing until it ends.
    run(s, 0, "BEGIN; SELECT 1").await;
    run(s, 1, "NOTIFY a, 'while in a block'").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    log.push(format!("0 early: {}", s[0].rx.try_recv().is_ok()));
    run(s, 0, "COMMIT").await;
    log.push(format!("0 {}", next(s, 0).await));
    // LISTEN rolled back does not listen; UNLISTEN takes effect at commit.
    run(s, 2, "BEGIN; LISTEN a; ROLLBACK; LISTEN marker").await;
    run(s, 0, "BEGIN; UNLISTEN a; LISTEN marker").await;
    run(s, 1, "NOTIFY a, 'before the unlisten commits'").await;
    // Sent while session 0 still listened, but read after its UNLISTEN
    // committed: dropped, as PostgreSQL checks the channel at reading.
    run(s, 0, "COMMIT").await;
    run(s, 1, "NOTIFY a, 'after the unlisten'; NOTIFY marker, 'm1'").await;
    log.push(format!("0 {}", next(s, 0).await));
    log.push(format!("2 {}", next(s, 2).await));
    // UNLISTEN *, and two sessions hear one notification.
    run(s, 0, "UNLISTEN *; LISTEN c").await;
    run(s, 2, "LISTEN c").await;
    run(s, 1, "NOTIFY b, 'unlistened'; NOTIFY c, 'both'").await;
    log.push(format!("0 {}", next(s, 0).await));
    log.push(format!("2 {}", next(s, 2).await));
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_sent_at_commit_in_order_once() {
    let expected = [
        "0 from 1: a 1",
        "0 from 1: b 2",
        "0 from 1: a 3",
        "0 from 1: a ",
        "0 from 1: Mixed Case m",
        "0 from 1: a kept",
        "0 from 1: b released",
        "0 from 0: a self",
        "0 early: false",
        "0 from 1: a while in a block",
        "0 from 1: marker m1",
        "2 from 1: marker m1",
        "0 from 1: c both",
        "2 from 1: c both",
    ];

    let db = tusk_lite::Database::open_in_memory();
    let mut s = Vec::new();
    for _ in 0..3 {
        s.push(lite_session(&db).await);
    }
    assert_eq!(scenario(&mut s).await, expected, "tusk-lite");

    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    let url = pg.url();
    let mut s = Vec::new();
    for _ in 0..3 {
        s.push(pg_session(&url).await);
    }
    assert_eq!(scenario(&mut s).await, expected, "PostgreSQL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_disconnects_is_forgotten() {
    let db = tusk_lite::Database::open_in_memory();
    let mut s = vec![lite_session(&db).await, lite_session(&db).await];
    run(&mut s, 0, "LISTEN gone").await;
    let gone = s.remove(0);
    drop(gone);
    s.push(lite_session(&db).await);
    run(&mut s, 1, "LISTEN gone").await;
    // The sender neither fails nor waits for the closed session.
    for i in 0..100 {
        run(&mut s, 0, &format!("NOTIFY gone, '{i}'")).await;
    }
    for i in 0..100 {
        assert_eq!(next(&mut s, 1).await, format!("from 0: gone {i}"));
    }
}
