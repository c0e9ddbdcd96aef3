//! What a pool needs to hand a connection over (`src/session.rs`): a reset
//! queued without a write or a wait, the previous user's notifications,
//! notice handler and cancel tokens gone, a guard kept by a stream.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tusk::{Executor, TransactionStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reset_runs_before_the_next_statement_and_drops_old_notifications() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("LISTEN jobs; SET work_mem = '7MB'")
        .await
        .unwrap();
    other
        .execute("SELECT pg_notify('jobs', 'old')", &[])
        .await
        .unwrap();
    c.query("SELECT pg_sleep(0.1)", &[]).await.unwrap();
    let sent = c.bytes_sent();
    c.send_session_reset("BEGIN; RESET ALL; UNLISTEN *; COMMIT")
        .unwrap();
    // Queued, not written.
    assert_eq!(c.bytes_sent(), sent);
    let wm: String = c.query_scalar("SHOW work_mem", &[]).await.unwrap();
    assert_eq!(wm, "4MB");
    c.execute("LISTEN jobs", &[]).await.unwrap();
    let got = tokio::time::timeout(Duration::from_millis(200), c.next_notification()).await;
    assert!(got.is_err(), "{got:?}");
    // A reset that fails leaves the transaction aborted: what follows fails.
    c.send_session_reset("BEGIN; SELECT 1/0; COMMIT").unwrap();
    let e = c.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("25P02")
    );
    assert_eq!(c.transaction_status(), TransactionStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_cancel_tokens_cancel_nothing_and_the_notice_handler_detaches() {
    let db = crate::db();
    let c = Arc::new(crate::conn(&db).await);
    let old = c.cancel_token();
    let owner = c.owner_cancel_token();
    c.revoke_cancel_tokens();
    let c2 = c.clone();
    let q = tokio::spawn(async move { c2.query("SELECT pg_sleep(0.5)", &[]).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    old.cancel().await.unwrap();
    assert!(q.await.unwrap().is_ok());
    // The owner's token survives revocation.
    let c2 = c.clone();
    let q = tokio::spawn(async move { c2.query("SELECT pg_sleep(5)", &[]).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    owner.cancel().await.unwrap();
    assert!(q.await.unwrap().is_err());

    let heard = Arc::new(AtomicUsize::new(0));
    let h = heard.clone();
    c.set_notice_handler(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
    });
    c.detach_notice_handler();
    c.execute("DO $$ BEGIN RAISE NOTICE 'x'; END $$", &[])
        .await
        .unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 0);
}

struct Flag(Arc<AtomicBool>);

impl Drop for Flag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streams_guard_lives_until_its_end() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let dropped = Arc::new(AtomicBool::new(false));
    let s = c
        .query_stream("SELECT generate_series(1, 3000)", &[])
        .await
        .unwrap()
        .with_guard(Flag(dropped.clone()));
    assert!(!dropped.load(Ordering::SeqCst));
    let rows = s.collect_all().await.unwrap();
    assert_eq!(rows.len(), 3000);
    assert!(dropped.load(Ordering::SeqCst));
    // Dropped early: the guard goes with it.
    let dropped = Arc::new(AtomicBool::new(false));
    let s = c
        .query_stream("SELECT generate_series(1, 3000)", &[])
        .await
        .unwrap()
        .with_guard(Flag(dropped.clone()));
    drop(s);
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_notification_wait_does_not_wedge_the_connection() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute("LISTEN jobs", &[]).await.unwrap();
    // Gives up while it drives the connection (waiting for the socket).
    let got = tokio::time::timeout(Duration::from_millis(100), c.next_notification()).await;
    assert!(got.is_err());
    let n: i32 = tokio::time::timeout(Duration::from_secs(10), c.query_scalar("SELECT 1", &[]))
        .await
        .expect("the connection is wedged after a dropped next_notification")
        .unwrap();
    assert_eq!(n, 1);
}

/// A pool's full reset, as `queue_session_reset` statements.
const RESET: &[&str] = &[
    "BEGIN",
    "SET SESSION AUTHORIZATION DEFAULT",
    "RESET ALL",
    "UNLISTEN *",
    "SELECT pg_catalog.pg_advisory_unlock_all()",
    "COMMIT",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_reset_rides_in_the_next_requests_sync_group() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("LISTEN jobs; SET work_mem = '7MB'")
        .await
        .unwrap();
    other
        .execute("SELECT pg_notify('jobs', 'old')", &[])
        .await
        .unwrap();
    c.query("SELECT pg_sleep(0.1)", &[]).await.unwrap();
    let sent = c.bytes_sent();
    c.queue_session_reset(RESET).unwrap();
    // Queued, not written.
    assert_eq!(c.bytes_sent(), sent);
    // Behind an extended-protocol request, one that fails: the reset is
    // committed before it runs, so its failure does not undo the reset.
    assert!(c.query("SELECT 1/0", &[]).await.is_err());
    let wm: String = c.query_scalar("SHOW work_mem", &[]).await.unwrap();
    assert_eq!(wm, "4MB");
    let got = tokio::time::timeout(Duration::from_millis(200), c.next_notification()).await;
    assert!(got.is_err(), "{got:?}");
    // Behind a simple query of several statements.
    c.execute_script("SET work_mem = '7MB'").await.unwrap();
    c.queue_session_reset(RESET).unwrap();
    let rows = c.simple_query("SHOW work_mem; SELECT 2").await.unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let wm: String = c.query_scalar("SHOW work_mem", &[]).await.unwrap();
    assert_eq!(wm, "4MB");
    // Alone, when nothing else is sent: a wait for idle sends it.
    c.execute_script("SET work_mem = '7MB'").await.unwrap();
    c.queue_session_reset(RESET).unwrap();
    c.wait_idle().await.unwrap();
    assert!(c.bytes_sent() > sent);
    let wm: String = c.query_scalar("SHOW work_mem", &[]).await.unwrap();
    assert_eq!(wm, "4MB");
    // Its statements are unnamed: a DEALLOCATE ALL, a DISCARD ALL or a
    // user's statement of any name is no obstacle.
    for hostile in [
        "DEALLOCATE ALL",
        "DISCARD ALL",
        "DEALLOCATE ALL; PREPARE tusk_reset0 AS SELECT 1",
    ] {
        c.execute_script(hostile).await.unwrap();
        c.execute_script("SET work_mem = '7MB'").await.unwrap();
        c.queue_session_reset(RESET).unwrap();
        let wm: String = c.query_scalar("SHOW work_mem", &[]).await.unwrap();
        assert_eq!(wm, "4MB", "after {hostile}");
    }
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_reset_that_fails_runs_nothing_and_closes_the_connection() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE reset_victim (x int)")
        .await
        .unwrap();
    c.queue_session_reset(&["BEGIN", "SELECT 1/0", "COMMIT"])
        .unwrap();
    let e = c
        .execute("INSERT INTO reset_victim VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Connection, "{e}");
    assert!(e.to_string().contains("session reset"), "{e}");
    assert!(c.is_closed());
    assert!(c.query("SELECT 1", &[]).await.is_err());
    let other = crate::conn(&db).await;
    let n: i64 = other
        .query_scalar("SELECT count(*) FROM reset_victim", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Behind a simple query, too.
    let c = crate::conn(&db).await;
    c.queue_session_reset(&["BEGIN", "SELECT 1/0", "COMMIT"])
        .unwrap();
    assert!(c
        .execute_script("INSERT INTO reset_victim VALUES (2)")
        .await
        .is_err());
    assert!(c.is_closed());
    let n: i64 = other
        .query_scalar("SELECT count(*) FROM reset_victim", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_queued_reset_adds_to_the_first_instead_of_replacing_it() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("SET work_mem = '7MB'; LISTEN jobs")
        .await
        .unwrap();
    c.queue_session_reset(&["BEGIN", "RESET ALL", "COMMIT"])
        .unwrap();
    c.queue_session_reset(&["BEGIN", "UNLISTEN *", "COMMIT"])
        .unwrap();
    let seen: String = c
        .query_scalar(
            "SELECT current_setting('work_mem') || '/' || \
             (SELECT count(*) FROM pg_listening_channels())",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(seen, "4MB/0");
}
