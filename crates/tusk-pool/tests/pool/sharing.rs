//! Sharing busy connections is opt-in, and never shares a transaction or a
//! live stream (issue 11, items 4 and 5).

use std::time::Duration;

use tusk::{ErrorKind, Executor};
use tusk_pool::Pool;

fn shared_pool(db: &tusk_testkit::TestDb, max: usize) -> Pool {
    crate::app_pool(db, |b| b.max_size(max).share_connections(true))
}

fn items(db: &tusk_testkit::TestDb) {
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE items (v text); GRANT SELECT, INSERT ON items TO {};",
        crate::APP
    ))
    .expect("schema");
}

async fn committed(db: &tusk_testkit::TestDb, v: &str) -> i64 {
    crate::fresh(db)
        .await
        .query_scalar("SELECT count(*) FROM items WHERE v = $1", &[&v])
        .await
        .unwrap()
}

/// Holds the only connection with a shared statement while `f` runs.
async fn while_busy<F: std::future::Future>(pool: &Pool, f: F) -> F::Output {
    let p = pool.clone();
    let busy = tokio::spawn(async move { p.query("SELECT pg_sleep(0.4)", &[]).await });
    while pool.stats().in_use == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let out = f.await;
    busy.await.unwrap().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_each_call_has_a_connection_of_its_own() {
    let db = crate::db();
    let pool = crate::app_pool(&db, |b| {
        b.max_size(1).acquire_timeout(Duration::from_millis(150))
    });
    assert!(!pool.config().share_connections);
    let p = pool.clone();
    let busy = tokio::spawn(async move { p.query("SELECT pg_sleep(0.5)", &[]).await });
    while pool.stats().in_use == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The only connection is busy: the call waits for it (and times out
    // here) instead of joining it.
    let e = pool.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolExhausted, "{e}");
    busy.await.unwrap().unwrap();
    let n: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_callers_begin_never_rolls_back_an_acknowledged_write() {
    let db = crate::db();
    items(&db);
    let pool = shared_pool(&db, 1);
    let (a, b) = while_busy(&pool, async {
        let (pa, pb) = (pool.clone(), pool.clone());
        let a = tokio::spawn(async move { pa.execute("BEGIN", &[]).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b =
            tokio::spawn(
                async move { pb.execute("INSERT INTO items VALUES ('from b')", &[]).await },
            );
        (a.await.unwrap(), b.await.unwrap())
    })
    .await;
    a.unwrap();
    assert_eq!(b.unwrap(), 1);
    // Let every return path finish, then look from outside.
    drop(crate::bounded("acquire", pool.acquire()).await.unwrap());
    assert_eq!(
        committed(&db, "from b").await,
        1,
        "B's acknowledged row is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_opening_a_transaction_behind_a_comment_shares_nothing() {
    let db = crate::db();
    items(&db);
    let pool = shared_pool(&db, 1);
    let (a, b) = while_busy(&pool, async {
        let (pa, pb) = (pool.clone(), pool.clone());
        let a = tokio::spawn(async move {
            let mut batch = tusk::Batch::new();
            batch.push("/* x */ BEGIN", &[]).push("SELECT 1", &[]);
            pa.batch(&batch).await.map(|r| r.len())
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = tokio::spawn(async move {
            pb.execute("INSERT INTO items VALUES ('after batch')", &[])
                .await
        });
        (a.await.unwrap(), b.await.unwrap())
    })
    .await;
    a.unwrap();
    assert_eq!(b.unwrap(), 1);
    drop(crate::bounded("acquire", pool.acquire()).await.unwrap());
    assert_eq!(committed(&db, "after batch").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_callers_pipeline_and_get_their_own_answers() {
    let db = crate::db();
    let pool = shared_pool(&db, 2);
    let mut tasks = Vec::new();
    for t in 0..32i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20i64 {
                let v: i64 = pool
                    .query_scalar("SELECT $1::int8", &[&(t * 1000 + i)])
                    .await
                    .unwrap();
                assert_eq!(v, t * 1000 + i);
            }
        }));
    }
    for t in tasks {
        crate::bounded("shared task", t).await.unwrap();
    }
    assert!(pool.stats().size <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_is_not_lent_while_pool_query_stream_reads_from_it() {
    let db = crate::db();
    for share in [false, true] {
        let pool = crate::app_pool(&db, |b| {
            b.max_size(1)
                .share_connections(share)
                .acquire_timeout(Duration::from_millis(300))
        });
        let stream = pool
            .query_stream("SELECT generate_series(1, 50000)", &[])
            .await
            .unwrap();
        assert_eq!(pool.stats().in_use, 1, "share {share}");
        let e = pool.acquire().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PoolExhausted, "share {share}: {e}");
        let rows = stream.collect_all().await.unwrap();
        assert_eq!(rows.len(), 50000);
        let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
        let n: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
        assert_eq!(n, 1);
        drop(c);
        // Dropped before its end: back to the pool, usable.
        let stream = pool
            .query_stream("SELECT generate_series(1, 50000)", &[])
            .await
            .unwrap();
        drop(stream);
        let n: i32 = crate::bounded("query", pool.query_scalar("SELECT 2", &[]))
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_dropped_while_its_stream_lives_stays_out() {
    let db = crate::db();
    let pool = crate::app_pool(&db, |b| {
        b.max_size(1).acquire_timeout(Duration::from_millis(300))
    });
    let c = pool.acquire().await.unwrap();
    let stream = c
        .query_stream("SELECT generate_series(1, 50000)", &[])
        .await
        .unwrap();
    drop(c);
    assert_eq!(pool.stats().in_use, 1);
    let e = pool.acquire().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolExhausted, "{e}");
    let rows = crate::bounded("stream", stream.collect_all())
        .await
        .unwrap();
    assert_eq!(rows.len(), 50000);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let n: i32 = c.query_scalar("SELECT 3", &[]).await.unwrap();
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_taken_before_a_busy_one_is_shared() {
    let db = crate::db();
    crate::app_roles();
    let pool = shared_pool(&db, 2);
    let p = pool.clone();
    let slow = tokio::spawn(async move {
        p.query_scalar::<i32>("SELECT 1 FROM pg_sleep(1.5)", &[])
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A second connection opens (the pool is not full) and goes idle.
    let second: i32 = pool
        .query_scalar("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    // The pool is full now, one connection busy, one idle: the next call
    // takes the idle one instead of queueing behind the sleep.
    // (The pid says which connection answered; no wall-clock bound, which
    // a loaded CI machine could break.)
    for _ in 0..3 {
        let pid: i32 = pool
            .query_scalar("SELECT pg_backend_pid()", &[])
            .await
            .unwrap();
        assert_eq!(pid, second, "shared the busy connection");
    }
    assert!(!slow.is_finished());
    assert_eq!(slow.await.unwrap(), 1);
}

/// A caller waiting for room on a full shared connection gets the place
/// its user frees before that user's own next statement, which waits
/// behind it (before: the user coming back took the freed place at once,
/// and under load the waiters starved, W3 at a depth below its demand
/// saw waits of seconds). The order is the server's: each statement
/// reads the clock where it runs, on the pool's only connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_waiting_for_room_goes_before_a_user_coming_back() {
    const NOW: &str = "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8";
    let db = crate::db();
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE gate (id int); INSERT INTO gate VALUES (1); \
         GRANT SELECT, UPDATE ON gate TO {};",
        crate::APP
    ))
    .expect("schema");
    let pool = crate::app_pool(&db, |b| {
        b.max_size(1).max_pipeline_depth(1).share_connections(true)
    });
    // The gate: a row lock the user's first statement waits for.
    let blocker = crate::fresh(&db).await;
    blocker
        .execute_script("BEGIN; SELECT 1 FROM gate FOR UPDATE")
        .await
        .unwrap();
    let p = pool.clone();
    let user = tokio::spawn(async move {
        let _: i32 = p
            .query_scalar("SELECT id FROM gate FOR UPDATE", &[])
            .await
            .unwrap();
        // Back at once for its next statement.
        p.query_scalar::<i64>(NOW, &[]).await.unwrap()
    });
    crate::bounded("the user holds the only place", async {
        while pool.stats().in_use == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let p = pool.clone();
    let waiter = tokio::spawn(async move { p.query_scalar::<i64>(NOW, &[]).await.unwrap() });
    crate::bounded("the second caller waits for room", async {
        while pool.stats().waiting == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    blocker.execute_script("COMMIT").await.unwrap();
    let user_at = crate::bounded("user", user).await.unwrap();
    let waiter_at = crate::bounded("waiter", waiter).await.unwrap();
    assert!(
        waiter_at < user_at,
        "the waiter ran at {waiter_at}, after the user's next statement at {user_at}"
    );
    let s = pool.stats();
    assert_eq!((s.size, s.created_total), (1, 1), "{s:?}");
}
