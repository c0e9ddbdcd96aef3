//! Terminated backends, a restarted server, a black-holed network.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::{ErrorKind, Executor, Query};
use tusk_pool::Pool;
use tusk_testkit::{Cluster, Proxy};

/// Runs `tasks` loops of pool calls until `stop`; counts ok and errors and
/// checks every error is typed.
fn load(
    pool: &Pool,
    tasks: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<(u64, u64)>> {
    (0..tasks)
        .map(|t| {
            let (pool, stop) = (pool.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut ok, mut err) = (0, 0);
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let r = if (t + i).is_multiple_of(3) {
                        match pool.acquire().await {
                            Ok(c) => c.query_scalar::<i32>("SELECT 1", &[]).await.map(|_| ()),
                            Err(e) => Err(e),
                        }
                    } else {
                        pool.query_scalar::<i32>("SELECT 1", &[]).await.map(|_| ())
                    };
                    match r {
                        Ok(()) => ok += 1,
                        Err(e) => {
                            crate::assert_typed(&e);
                            err += 1;
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
                (ok, err)
            })
        })
        .collect()
}

async fn finish(tasks: Vec<tokio::task::JoinHandle<(u64, u64)>>) -> (u64, u64) {
    let mut total = (0, 0);
    for t in tasks {
        let (ok, err) = crate::bounded("load task", t).await.unwrap();
        total.0 += ok;
        total.1 += err;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_under_load() {
    let seed = crate::seed("terminated_backends_under_load");
    let mut rng = fastrand::Rng::with_seed(seed);
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let pool = Pool::new(crate::config(&db.url()).max_size(6).min_idle(4).build()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = load(&pool, 12, &stop);
    let killer = tusk::connect(&db.url()).await.unwrap();
    let killed = AtomicU64::new(0);
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(rng.u64(20..80))).await;
        let pids: Vec<i32> = killer
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        if pids.is_empty() {
            continue;
        }
        let pid = pids[rng.usize(..pids.len())];
        let _ = killer
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await;
        killed.fetch_add(1, Ordering::Relaxed);
    }
    stop.store(true, Ordering::Relaxed);
    let (ok, err) = finish(tasks).await;
    println!(
        "terminated {} backends; {ok} calls ok, {err} typed errors",
        killed.load(Ordering::Relaxed)
    );
    assert!(ok > 0);
    let took = crate::eventually("back at min_idle", Duration::from_secs(10), || {
        pool.stats().idle >= 4
    })
    .await;
    println!("back at min_idle {took:?} after the load stopped");
    // Every idle connection works.
    for _ in 0..4 {
        let c = pool.acquire().await.unwrap();
        let _: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    }
    crate::assert_consistent(&pool).await;
    let s = pool.stats();
    let evicted: u64 = s.evicted_total.iter().map(|(_, n)| n).sum();
    println!("evicted by class: {:?}", s.evicted_total);
    assert!(evicted > 0 || s.closed_sum() > 0, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_under_load() {
    let cluster = Arc::new(Cluster::start().unwrap());
    let url = cluster.url("postgres");
    // Eight callers on six connections: shared (opt-in), so that nobody
    // queues and the health check is not "exhausted" once recovered.
    let pool = Pool::new(
        crate::config(&url)
            .max_size(6)
            .min_idle(4)
            .share_connections(true)
            .build(),
    )
    .unwrap();
    crate::eventually("min_idle at start", Duration::from_secs(10), || {
        pool.stats().idle >= 4
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = load(&pool, 8, &stop);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart())
        .await
        .unwrap()
        .unwrap();
    let took = crate::eventually("min_idle after restart", Duration::from_secs(10), || {
        pool.stats().idle + pool.stats().in_use >= 4
            && pool.health().status == tusk_pool::HealthStatus::Ok
    })
    .await;
    println!("pool back at min_idle {took:?} after the server was healthy again");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (ok, err) = finish(tasks).await;
    println!("restart: {ok} calls ok, {err} typed errors");
    // Quiet again: min_idle live connections, all working.
    crate::eventually("min_idle idle", Duration::from_secs(10), || {
        pool.stats().idle >= 4
    })
    .await;
    for _ in 0..4 {
        let _: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
    }
    crate::assert_consistent(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_holed_connections_time_out() {
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let proxy = Proxy::start(([127, 0, 0, 1], cluster.port()).into()).unwrap();
    let url = format!(
        "postgresql://postgres@127.0.0.1:{}/{}?sslmode=disable",
        proxy.port(),
        db.name()
    );
    let pool = Pool::new(
        crate::config(&url)
            .max_size(1)
            .acquire_timeout(Duration::from_millis(500))
            .idle_check_threshold(Duration::ZERO)
            .build(),
    )
    .unwrap();
    let c = pool.acquire().await.unwrap();
    proxy.blackhole(true);
    // A query timeout fires on a held connection.
    let e = crate::bounded(
        "timed query",
        c.query(
            Query::new("SELECT 1").timeout(Duration::from_millis(200)),
            &[],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    drop(c);
    // Acquire times out: the idle check hangs, a new connect hangs.
    let t0 = Instant::now();
    let e = crate::bounded("acquire", pool.acquire()).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::PoolExhausted | ErrorKind::Timeout),
        "{e}"
    );
    println!("acquire gave up after {:?}: {e}", t0.elapsed());
    let e = crate::bounded("pool query", pool.query("SELECT 1", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::PoolExhausted | ErrorKind::Timeout),
        "{e}"
    );
    proxy.blackhole(false);
    // Once the network is back the pool serves again.
    let n: i32 = crate::bounded("recovery", async {
        loop {
            match pool.query_scalar("SELECT 1", &[]).await {
                Ok(n) => break n,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await;
    assert_eq!(n, 1);
}

/// The server restarts while the pool's connections sit idle, each with
/// its previous holder's reset queued or sent: the next `pool.query`
/// calls just work (each stale connection is found dead before use, or its
/// carried reset fails and the statement, which provably did not run,
/// runs again on a fresh connection), with no error reaching the caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_query_after_a_server_restart_just_works() {
    let cluster = Arc::new(Cluster::start().unwrap());
    let pool = Pool::new(crate::config(&cluster.url("postgres")).max_size(3).build()).unwrap();
    for round in 0..3 {
        {
            let held: Vec<_> = futures_join(&pool, 3).await;
            for c in &held {
                c.execute("SET work_mem = '2MB'", &[]).await.unwrap();
            }
        }
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.restart())
            .await
            .unwrap()
            .unwrap();
        for i in 0..6 {
            let wm: String = pool
                .query_scalar("SELECT current_setting('work_mem')", &[])
                .await
                .unwrap_or_else(|e| panic!("round {round}, call {i}: {e}"));
            assert_ne!(wm, "2MB");
        }
    }
}

/// `n` connections held at once.
async fn futures_join(pool: &Pool, n: usize) -> Vec<tusk_pool::PooledConnection> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(pool.acquire().await.unwrap());
    }
    v
}
