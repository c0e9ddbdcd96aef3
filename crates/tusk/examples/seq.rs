//! Sequential and pipelined point queries against `$DATABASE_URL`: a quick
//! sanity check of the engine's cost per query (the real comparison with
//! the peers is `tusk-bench`).

use std::time::Instant;
use tusk::Executor;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), tusk::Error> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1/postgres".into());
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let c = tusk::connect(&url).await?;
    let t = Instant::now();
    for i in 0..n {
        let v: i64 = c.query_scalar("SELECT $1::int8", &[&i]).await?;
        assert_eq!(v, i);
    }
    let e = t.elapsed();
    println!(
        "sequential: {n} queries in {e:?}: {:.0}/s",
        n as f64 / e.as_secs_f64()
    );
    let t = Instant::now();
    let futs = (0..n).map(|i| {
        let c = &c;
        async move { c.query_scalar::<i64>("SELECT $1::int8", &[&i]).await }
    });
    let _ = futures_util::future::join_all(futs).await;
    let e = t.elapsed();
    println!(
        "pipelined:  {n} queries in {e:?}: {:.0}/s",
        n as f64 / e.as_secs_f64()
    );
    Ok(())
}
