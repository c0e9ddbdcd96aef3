//! A fixed number of W1/W2-shaped point selects (tusk-bench's query), for
//! counting the driver's client cost per query with deterministic tools
//! (`perf stat -e instructions:u`, callgrind, a counting allocator) rather
//! than wall-clock figures on a loaded machine. It prints the heap
//! allocations made per query in the timed part.
//!
//! ```text
//! HOT_LOOP_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p tusk-driver --example hot_loop -- w2 100000
//! ```
//!
//! `w1`: one query at a time. `w2`: 64 concurrent callers on the one
//! connection (pipelined). A third argument `mt` runs them on tokio's
//! multi-thread runtime instead of the current-thread one. The table
//! `pgbench_accounts` (`pgbench -i`) must exist.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tusk::Executor;

/// The system allocator, counting allocations.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to `System` unchanged.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SQL: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
const CALLERS: u64 = 64;

/// A key in 1..=100,000 (pgbench scale 1) from a simple LCG.
fn key(state: &mut u64) -> i32 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    i32::try_from((*state >> 33) % 100_000).unwrap_or(0) + 1
}

async fn run(mode: &str, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("HOT_LOOP_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55488/postgres".into());
    let conn = Arc::new(tusk::connect(&url).await?);
    // Warm: the statement is cached before counting.
    let _: i32 = conn.query_scalar(SQL, &[&1i32]).await?;
    let before = ALLOCS.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    match mode {
        "w1" => {
            let mut s = 1;
            for _ in 0..n {
                let aid = key(&mut s);
                let v: i32 = conn.query_scalar(SQL, &[&aid]).await?;
                std::hint::black_box(v);
            }
        }
        "w2" => {
            let per = n / CALLERS;
            let mut tasks = Vec::new();
            for c in 0..CALLERS {
                let conn = Arc::clone(&conn);
                tasks.push(tokio::spawn(async move {
                    let mut s = c + 1;
                    for _ in 0..per {
                        let aid = key(&mut s);
                        let v: i32 = conn.query_scalar(SQL, &[&aid]).await?;
                        std::hint::black_box(v);
                    }
                    Ok::<_, tusk::Error>(())
                }));
            }
            for t in tasks {
                t.await??;
            }
        }
        other => return Err(format!("unknown mode {other} (w1 or w2)").into()),
    }
    let elapsed = started.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    #[allow(clippy::cast_precision_loss)]
    let per_query = allocs as f64 / n.max(1) as f64;
    println!("{mode} {n} queries in {elapsed:?}: {per_query:.2} allocations/query");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("w2", String::as_str).to_owned();
    let n: u64 = args.get(2).map_or(Ok(64_000), |s| s.parse())?;
    let mut builder = if args.get(3).map(String::as_str) == Some("mt") {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()?.block_on(run(&mode, n))
}
