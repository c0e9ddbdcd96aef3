//! Throughput of many tasks on few connections: the pool's own query
//! methods (shared, pipelined connections) against acquire-per-query,
//! on a throwaway PostgreSQL. A sanity check, not the benchmark
//! (tusk-bench's W3 is).
//!
//! ```text
//! cargo run --release -p tusk-pool --example pipelined [tasks] [connections] [seconds]
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusk::Executor;
use tusk_pool::{Pool, PoolConfig};

async fn run(pool: &Pool, tasks: usize, secs: u64, shared: bool) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let (pool, stop, count) = (pool.clone(), stop.clone(), count.clone());
            tokio::spawn(async move {
                let id = i64::try_from(i).unwrap_or(0);
                while !stop.load(Ordering::Relaxed) {
                    let r: Result<i64, tusk::Error> = if shared {
                        pool.query_scalar("SELECT $1::int8", &[&id]).await
                    } else {
                        match pool.acquire().await {
                            Ok(c) => c.query_scalar("SELECT $1::int8", &[&id]).await,
                            Err(e) => Err(e),
                        }
                    };
                    if r.is_ok() {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.await;
    }
    #[allow(clippy::cast_precision_loss)]
    let qps = count.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
    qps
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let conns: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let db = tusk_testkit::Cluster::shared().database()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let pool = Pool::new(
            PoolConfig::builder()
                .url(&db.url())?
                .max_size(conns)
                .min_idle(conns)
                .build(),
        )?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let shared = run(&pool, tasks, secs, true).await;
        let exclusive = run(&pool, tasks, secs, false).await;
        println!(
            "{tasks} tasks, {conns} connections: pool.query (shared, pipelined) {shared:.0} q/s; \
             acquire per query {exclusive:.0} q/s; ratio {:.2}",
            shared / exclusive
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
