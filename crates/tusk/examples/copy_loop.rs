//! A fixed-size W5o-shaped binary COPY OUT (tusk-bench's statement), every
//! value decoded, for counting the driver's client cost per row with
//! deterministic tools (`perf stat -e instructions:u`, callgrind, a
//! counting allocator) rather than wall-clock figures on a loaded machine.
//! It prints the heap allocations made per row in the timed part.
//!
//! ```text
//! COPY_LOOP_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p tusk-driver --example copy_loop -- 1000000 mt
//! ```
//!
//! The first argument is the number of rows (at most the table's), the
//! second `mt` runs on tokio's multi-thread runtime (as tusk-bench does)
//! instead of the current-thread one. The table `bench_wide` (tusk-bench's
//! set-up) must exist; `perf stat` counts the client only (the server is
//! another process).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tusk::types::Type;

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

const TYPES: [Type; 4] = [Type::INT8, Type::TEXT, Type::FLOAT8, Type::TIMESTAMPTZ];

async fn run(n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("COPY_LOOP_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55488/postgres".into());
    let conn = tusk::connect(&url).await?;
    let sql = format!(
        "COPY (SELECT id, name, score, ts FROM bench_wide LIMIT {n}) TO STDOUT (FORMAT binary)"
    );
    let before = ALLOCS.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let out = conn.copy_out(&sql).await?;
    let mut r = tusk::copy::BinaryCopyOutReader::new(out, &TYPES);
    let mut rows = 0u64;
    while let Some(row) = r.next().await {
        let row = row?;
        let id: i64 = row.try_get(0)?;
        let name: &str = row.try_get(1)?;
        let score: f64 = row.try_get(2)?;
        let ts: DateTime<Utc> = row.try_get(3)?;
        std::hint::black_box((id, name, score, ts));
        rows += 1;
    }
    let elapsed = started.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    #[allow(clippy::cast_precision_loss)]
    let per_row = allocs as f64 / rows.max(1) as f64;
    println!("{rows} rows in {elapsed:?}: {per_row:.3} allocations/row");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let mut builder = if args.get(2).map(String::as_str) == Some("mt") {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()?.block_on(run(n))
}
