//! Measures acquire + release with no I/O (an idle connection used within
//! `idle_check_threshold`) on a throwaway PostgreSQL, single-threaded
//! runtime, and prints the latency quantiles.
//!
//! ```text
//! cargo run --release -p tusk-pool --example acquire_release
//! ```

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tusk_pool::{Pool, PoolConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = tusk_testkit::Cluster::shared().database()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let pool = Pool::new(
            PoolConfig::builder()
                .url(&db.url())?
                .max_size(4)
                .idle_check_threshold(Duration::from_secs(60))
                .build(),
        )?;
        drop(pool.acquire().await?);
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
        // Warm up, then measure each acquire + release pair.
        for _ in 0..10_000 {
            drop(pool.acquire().await?);
        }
        let n = 200_000u64;
        let t0 = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            let c = pool.acquire().await?;
            drop(c);
            h.saturating_record(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
        let total = t0.elapsed();
        println!(
            "acquire+release, {n} pairs: p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns, mean {:.0} ns (wall {:?})",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.mean(),
            total
        );
        let s = pool.stats();
        println!("connections opened: {}", s.created_total);
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
