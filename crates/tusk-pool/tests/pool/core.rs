use std::time::Duration;
use tusk::{ErrorKind, Executor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_query_release() {
    let db = crate::db();
    let pool = crate::pool(&db, 4);
    let c = pool.acquire().await.unwrap();
    let n: i64 = c
        .query_scalar("SELECT $1::int8 + 1", &[&41i64])
        .await
        .unwrap();
    assert_eq!(n, 42);
    let pid = c.process_id();
    drop(c);
    let s = pool.stats();
    assert_eq!((s.size, s.idle, s.in_use), (1, 1, 0));
    // The same connection comes back (no new connect).
    let c = pool.acquire().await.unwrap();
    assert_eq!(c.process_id(), pid);
    drop(c);
    assert_eq!(pool.stats().created_total, 1);
    // The pool is itself an executor.
    let n: i64 = pool.query_scalar("SELECT 7::int8", &[]).await.unwrap();
    assert_eq!(n, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_fifo_and_time_out() {
    let db = crate::db();
    let pool = tusk_pool::Pool::new(
        crate::config(&db)
            .max_size(1)
            .acquire_timeout(Duration::from_millis(300))
            .build(),
    )
    .unwrap();
    let held = pool.acquire().await.unwrap();
    let e = pool.acquire().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolExhausted, "{e}");
    assert_eq!(pool.stats().acquire_timeouts_total, 1);

    // Three waiters queue in order; each records its turn.
    pool.reconfigure(tusk_pool::PoolConfig {
        acquire_timeout: Duration::from_secs(20),
        ..pool.config()
    });
    let order = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..3 {
        let (p, order) = (pool.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let c = p.acquire().await.unwrap();
            order.lock().push(i);
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(c);
        }));
        // Let each one reach the queue before the next.
        while pool.stats().waiting < i + 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    drop(held);
    for t in tasks {
        crate::bounded("waiter", t).await.unwrap();
    }
    assert_eq!(*order.lock(), vec![0, 1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_connections_past_their_lifetime_are_closed_on_return() {
    let db = crate::db();
    let pool = tusk_pool::Pool::new(
        crate::config(&db)
            .max_size(2)
            .max_lifetime(Some(Duration::from_millis(200)))
            .max_lifetime_jitter(Duration::ZERO)
            .build(),
    )
    .unwrap();
    let c = pool.acquire().await.unwrap();
    let pid = c.process_id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.query("SELECT 1", &[]).await.unwrap();
    drop(c);
    let s = pool.stats();
    assert_eq!(s.size, 0, "{s:?}");
    assert!(s.closed_total.contains(&("max_lifetime", 1)), "{s:?}");
    let c = pool.acquire().await.unwrap();
    assert_ne!(c.process_id(), pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_get_one_check_and_dead_ones_are_replaced() {
    let db = crate::db();
    let pool = tusk_pool::Pool::new(
        crate::config(&db)
            .max_size(2)
            .idle_check_threshold(Duration::ZERO)
            .build(),
    )
    .unwrap();
    let c = pool.acquire().await.unwrap();
    let pid = c.process_id();
    drop(c);
    Cluster::shared().terminate_backends(db.name()).unwrap();
    // The check finds the idle connection dead; a new one is opened.
    let c = pool.acquire().await.unwrap();
    assert_ne!(c.process_id(), pid);
    let n: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(n, 1);
    drop(c);
    let s = pool.stats();
    assert!(s.closed_total.contains(&("check_failed", 1)), "{s:?}");
}

use tusk_testkit::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_pipeline_on_few_connections() {
    let db = crate::db();
    let pool = crate::pool(&db, 4);
    let mut tasks = Vec::new();
    for t in 0..64i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50i64 {
                let v: i64 = pool
                    .query_scalar("SELECT $1::int8", &[&(t * 1000 + i)])
                    .await
                    .unwrap();
                assert_eq!(v, t * 1000 + i);
            }
        }));
    }
    for t in tasks {
        crate::bounded("pipelined task", t).await.unwrap();
    }
    let s = pool.stats();
    assert!(s.size <= 4, "{s:?}");
    assert_eq!(s.in_use, 0, "{s:?}");
    assert_eq!(s.idle, s.size, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_refuses_new_acquires_and_cancels_stragglers() {
    let db = crate::db();
    let pool = crate::pool(&db, 2);
    let idle = pool.acquire().await.unwrap();
    drop(idle);
    let p2 = pool.clone();
    let busy = tokio::spawn(async move {
        let c = p2.acquire().await.unwrap();
        let r = c.query("SELECT pg_sleep(30)", &[]).await;
        drop(c);
        r
    });
    while pool.stats().in_use == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let left = crate::bounded("close", pool.close(Duration::from_millis(200))).await;
    assert_eq!(left, 0);
    let r = crate::bounded("canceled query", busy).await.unwrap();
    assert!(r.is_err());
    let e = pool.acquire().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    assert_eq!(pool.stats().size, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfigure_applies_sizes_live() {
    let db = crate::db();
    let pool = crate::pool(&db, 4);
    let held: Vec<_> = futures_lite_join(&pool, 4).await;
    assert_eq!(pool.stats().size, 4);
    drop(held);
    pool.reconfigure(tusk_pool::PoolConfig {
        max_size: 2,
        min_idle: 1,
        ..pool.config()
    });
    let t0 = std::time::Instant::now();
    while pool.stats().size > 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = pool.stats();
    assert_eq!((s.max_size, s.min_idle), (2, 1));
    assert!(s.closed_total.contains(&("reconfigured", 2)), "{s:?}");
}

async fn futures_lite_join(pool: &tusk_pool::Pool, n: usize) -> Vec<tusk_pool::PooledConnection> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(pool.acquire().await.unwrap());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_keeps_min_idle_and_closes_the_surplus() {
    let db = crate::db();
    let pool = tusk_pool::Pool::new(
        crate::config(&db)
            .max_size(4)
            .min_idle(2)
            .idle_timeout(Some(Duration::from_millis(200)))
            .build(),
    )
    .unwrap();
    // min_idle opens in the background, with no caller.
    let t0 = std::time::Instant::now();
    while pool.stats().idle < 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let held = futures_lite_join(&pool, 4).await;
    drop(held);
    assert_eq!(pool.stats().idle, 4);
    // Above min_idle, idle connections past idle_timeout are closed.
    let t0 = std::time::Instant::now();
    while pool.stats().size > 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = pool.stats();
    assert_eq!(s.idle, 2, "{s:?}");
    assert!(s.closed_total.contains(&("idle_timeout", 2)), "{s:?}");
}

#[test]
fn a_pool_needs_a_runtime() {
    let e = tusk_pool::Pool::new(tusk_pool::PoolConfig::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}
