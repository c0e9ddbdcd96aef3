//! L3 yardstick: point SELECTs through the tusk driver, embedded
//! tusk-lite over the in-process socket pair vs PostgreSQL over loopback
//! TCP (a tusk-testkit cluster).
//!
//! ```sh
//! cargo run --release -p tusk-lite --example point_select
//! ```
//!
//! For profiling tusk-lite alone (`perf stat`, `perf record`, `strace -c`):
//!
//! - `POINT_SELECT_LITE_ONLY=1`: no PostgreSQL;
//! - `POINT_SELECT_QUERIES=N`: N measured queries (default 20,000);
//! - `POINT_SELECT_DURABLE=DIR`: a durable database in DIR (created anew)
//!   holding a `pgbench_accounts`-like table, queried as L3 queries it
//!   (`SELECT abalance FROM pgbench_accounts WHERE aid = $1`), instead of
//!   an in-memory one;
//! - `POINT_SELECT_ROWS=N`: rows of the table (default 10,000);
//! - `POINT_SELECT_KEEP=1`: the durable database in DIR is queried as it
//!   is, not made anew (for repeated runs on one load);
//! - `POINT_SELECT_SERVE=127.0.0.1:PORT` with `POINT_SELECT_DURABLE=DIR`:
//!   no queries, the database in DIR is served over TCP (e.g. to profile
//!   pgbench's TPC-B against it) until the process is killed.

use std::time::Instant;
use tusk::Executor;

/// CPU time of every thread of this process so far, in nanoseconds
/// (`/proc/self/task/*/schedstat`): the session threads included.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Prints the rate and the CPU time a query took, over `queries` queries
/// that began at `start` with `cpu` nanoseconds used.
fn report(name: &str, queries: i32, start: Instant, cpu: u64) -> f64 {
    let qps = f64::from(queries) / start.elapsed().as_secs_f64();
    let us = (cpu_ns() - cpu) as f64 / 1000.0 / f64::from(queries);
    println!("{name}: {qps:.0} point selects/s, {us:.2} us CPU/query (all threads)");
    qps
}

fn env_num(name: &str, default: i32) -> i32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(
    name: &str,
    conn: &tusk::Connection,
    rows: i32,
    queries: i32,
) -> Result<f64, Box<dyn std::error::Error>> {
    conn.execute("DROP TABLE IF EXISTS ps", &[]).await?;
    conn.execute("CREATE TABLE ps (id int PRIMARY KEY, v text)", &[])
        .await?;
    conn.execute(
        "INSERT INTO ps SELECT g, 'value ' || g FROM generate_series(1, $1) g",
        &[&rows],
    )
    .await?;
    let cpu = cpu_ns();
    let start = Instant::now();
    for i in 0..queries {
        let id = i % rows + 1;
        let v: String = conn
            .query_scalar("SELECT v FROM ps WHERE id = $1", &[&id])
            .await?;
        assert!(v.ends_with(&id.to_string()));
    }
    Ok(report(name, queries, start, cpu))
}

/// Loads L3's shape: pgbench_accounts on the durable store, checkpointed.
async fn load_accounts(
    conn: &tusk::Connection,
    rows: i32,
) -> Result<(), Box<dyn std::error::Error>> {
    conn.execute(
        "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
        &[],
    )
    .await?;
    conn.execute(
        "INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, $1) g",
        &[&rows],
    )
    .await?;
    conn.execute("CHECKPOINT", &[]).await?;
    Ok(())
}

/// L3's shape: a durable store, pgbench_accounts, random aids.
async fn run_accounts(
    conn: &tusk::Connection,
    rows: i32,
    queries: i32,
    keep: bool,
) -> Result<f64, Box<dyn std::error::Error>> {
    if !keep {
        load_accounts(conn, rows).await?;
    }
    let mut seed: u64 = 0x5eed_0001;
    let cpu = cpu_ns();
    let start = Instant::now();
    for _ in 0..queries {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let aid = i32::try_from((seed >> 33) % u64::from(rows.unsigned_abs()))? + 1;
        let b: i32 = conn
            .query_scalar(
                "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
                &[&aid],
            )
            .await?;
        assert_eq!(b, 0);
    }
    Ok(report("tusk-lite durable", queries, start, cpu))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = env_num("POINT_SELECT_ROWS", 10_000);
    let queries = env_num("POINT_SELECT_QUERIES", 20_000);
    if let Ok(dir) = std::env::var("POINT_SELECT_DURABLE") {
        let keep = std::env::var_os("POINT_SELECT_KEEP").is_some();
        if !keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
        let db = tusk_lite::Database::open(&dir)?;
        if let Ok(addr) = std::env::var("POINT_SELECT_SERVE") {
            let listener = std::net::TcpListener::bind(&addr)?;
            println!("serving {dir} on {}", listener.local_addr()?);
            db.serve(listener)?;
            return Ok(());
        }
        let lite = db.connect().await?;
        run_accounts(&lite, rows, queries, keep).await?;
        return Ok(());
    }
    let db = tusk_lite::Database::open_in_memory();
    let lite = db.connect().await?;
    let a = run("tusk-lite embedded (in-process pair)", &lite, rows, queries).await?;
    if std::env::var_os("POINT_SELECT_LITE_ONLY").is_some() {
        return Ok(());
    }
    let pg = tusk_testkit::Cluster::shared().database()?;
    let conn = tusk::connect(&pg.url()).await?;
    let b = run("PostgreSQL 15 (loopback TCP)", &conn, rows, queries).await?;
    println!("ratio: {:.2}x", a / b);
    Ok(())
}
