//! Review probes: portals and cursors left in odd states when a pooled
//! connection goes back (a batch in flight, a future dropped midway, a
//! held cursor forgotten); the next holder must see a clean session and
//! the same rows as `query`.

use std::future::Future;
use std::task::Poll;

use tusk::Executor;

async fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    match futures_util::poll!(f.as_mut()) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn ids(rows: &[tusk::Row]) -> Vec<i64> {
    rows.iter().map(|r| r.get::<i64>(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_portals_and_cursors_at_return_leave_the_next_holder_a_clean_session() {
    let db = crate::db();
    db.psql("CREATE TABLE t AS SELECT g::int8 AS id FROM generate_series(1, 2000) g")
        .unwrap();
    let pool = crate::pool(&db, 1);
    let sql = "SELECT id FROM t ORDER BY id";
    let oracle = ids(&pool.query(sql, &[]).await.unwrap());
    for round in 0..3 {
        {
            let mut conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
            conn.execute("SET work_mem = '1234kB'", &[]).await.unwrap();
            let tx = conn.transaction().await.unwrap();
            let mut p = tx.query_portal(sql, &[], 7).await.unwrap();
            assert_eq!(p.next_batch().await.unwrap().map(|b| b.len()), Some(7));
            // A batch put in flight, its future dropped at once.
            let _ = poll_once(p.next_batch()).await;
            let held = tx.declare_cursor("held", sql, &[], true).await.unwrap();
            match round {
                0 => {
                    // Rolled back on drop, the portal's batch still in flight.
                    drop(tx);
                    drop(p);
                    drop(held);
                }
                1 => {
                    tx.commit().await.unwrap();
                    // The held cursor outlives the commit; forgotten (no
                    // Close at all): the reset must close it.
                    std::mem::forget(held);
                    drop(p);
                }
                _ => {
                    drop(p);
                    std::mem::forget(held);
                    tx.commit().await.unwrap();
                }
            }
        }
        let conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
        let n: i64 = crate::bounded(
            "cursors",
            conn.query_scalar("SELECT count(*) FROM pg_cursors WHERE name <> ''", &[]),
        )
        .await
        .unwrap();
        assert_eq!(n, 0, "round {round}: cursors left open");
        let wm: String = conn.query_scalar("SHOW work_mem", &[]).await.unwrap();
        assert_ne!(wm, "1234kB", "round {round}: session not reset");
        assert_eq!(conn.transaction_status(), tusk::TransactionStatus::Idle);
        // A held cursor of the same name can be declared again.
        let mut again = conn.declare_cursor("held", sql, &[], true).await.unwrap();
        assert_eq!(ids(&again.fetch_all().await.unwrap()), oracle);
        again.close().await.unwrap();
        assert_eq!(ids(&conn.query(sql, &[]).await.unwrap()), oracle);
    }
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}
