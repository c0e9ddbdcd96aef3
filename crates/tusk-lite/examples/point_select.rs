//! L3 yardstick: point SELECTs through the tusk driver, embedded
//! tusk-lite over the in-process socket pair vs PostgreSQL over loopback
//! TCP (a tusk-testkit cluster).
//!
//! ```sh
//! cargo run --release -p tusk-lite --example point_select
//! ```

use std::time::Instant;
use tusk::Executor;

const ROWS: i32 = 10_000;
const QUERIES: i32 = 20_000;

async fn run(name: &str, conn: &tusk::Connection) -> Result<f64, Box<dyn std::error::Error>> {
    conn.execute("DROP TABLE IF EXISTS ps", &[]).await?;
    conn.execute("CREATE TABLE ps (id int PRIMARY KEY, v text)", &[])
        .await?;
    conn.execute(
        "INSERT INTO ps SELECT g, 'value ' || g FROM generate_series(1, 10000) g",
        &[],
    )
    .await?;
    let start = Instant::now();
    for i in 0..QUERIES {
        let id = i % ROWS + 1;
        let v: String = conn
            .query_scalar("SELECT v FROM ps WHERE id = $1", &[&id])
            .await?;
        assert!(v.ends_with(&id.to_string()));
    }
    let qps = f64::from(QUERIES) / start.elapsed().as_secs_f64();
    println!("{name}: {qps:.0} point selects/s");
    Ok(qps)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = tusk_lite::Database::open_in_memory();
    let lite = db.connect().await?;
    let a = run("tusk-lite embedded (in-process pair)", &lite).await?;
    let pg = tusk_testkit::Cluster::shared().database()?;
    let conn = tusk::connect(&pg.url()).await?;
    let b = run("PostgreSQL 15 (loopback TCP)", &conn).await?;
    println!("ratio: {:.2}x", a / b);
    Ok(())
}
