//! Measures how long opening an embedded database takes: a new (empty)
//! directory, then reopening it, then a first query over the in-process
//! connection. A measurement for the notes, not a test.
//!
//! ```sh
//! cargo run --release -p tusk-lite --example open_time -- [DIR]
//! ```

use std::time::Instant;
use tusk::Executor;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("tusk-lite-open-{}", std::process::id()))
        });
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    let db = tusk_lite::Database::open(&dir)?;
    let create = t.elapsed();
    drop(db);
    let t = Instant::now();
    let db = tusk_lite::Database::open(&dir)?;
    let reopen = t.elapsed();
    let t = Instant::now();
    let conn = db.connect().await?;
    let one: i32 = conn.query_scalar("SELECT 1", &[]).await?;
    let first_query = t.elapsed();
    assert_eq!(one, 1);
    let t = Instant::now();
    let mem = tusk_lite::Database::open_in_memory();
    let in_memory = t.elapsed();
    drop(mem);
    println!(
        "open new: {:.1} ms, reopen empty: {:.1} ms, connect + SELECT 1: {:.1} ms, open_in_memory: {:.3} ms",
        create.as_secs_f64() * 1e3,
        reopen.as_secs_f64() * 1e3,
        first_query.as_secs_f64() * 1e3,
        in_memory.as_secs_f64() * 1e3
    );
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
