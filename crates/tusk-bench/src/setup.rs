//! The server and the data set of BENCHMARKS.md: a throwaway cluster from
//! the test kit, `pgbench -i -s 10` and `bench_wide`.

use std::path::{Path, PathBuf};
use std::process::Command;

use tusk::{Executor, SimpleQueryMessage};
use tusk_testkit::Cluster;

use crate::error::{BenchError, Result};

/// Settings of the benchmark's cluster, after the test kit's own (fsync,
/// synchronous_commit and full_page_writes are already off there).
pub const SETTINGS: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    // The data set (about 220 MB with indexes) fits with room to spare.
    ("shared_buffers", "512MB"),
    // No checkpoint or autovacuum in the middle of a round.
    ("max_wal_size", "8GB"),
    ("checkpoint_timeout", "1h"),
    ("autovacuum", "off"),
    ("jit", "off"),
];

/// The database the data set lives in.
pub const DATABASE: &str = "bench";

/// Starts the benchmark's own cluster and creates [`DATABASE`] in it.
pub fn start_cluster() -> Result<Cluster> {
    let mut builder = Cluster::builder();
    for (key, value) in SETTINGS {
        builder = builder.setting(key, value);
    }
    let cluster = builder.start()?;
    cluster.psql("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
    Ok(cluster)
}

/// The directory of the server's client binaries: `TUSK_PG_BINDIR`, else
/// `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TUSK_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && Path::new(&dir).join("pgbench").is_file() {
            return Ok(PathBuf::from(dir));
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| BenchError::file("/usr/lib/postgresql", e))?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, dir)| dir)
        .ok_or_else(|| BenchError::process("pgbench", "not found: install postgresql (Debian: apt-get install postgresql) or set TUSK_PG_BINDIR"))
}

/// Loads whatever part of the data set is missing: `pgbench -i -s 10`
/// (1,000,000 accounts), `bench_wide` (1,000,000 rows made on the server),
/// the W6 scratch table; then `VACUUM ANALYZE` and `pg_prewarm`.
pub async fn load(url: &str, pgbench: &Path) -> Result<()> {
    let admin = tusk::connect(url).await?;
    if count(&admin, "pgbench_accounts").await != Some(1_000_000) {
        eprintln!("tusk-bench: loading pgbench -i -s 10 ...");
        let out = Command::new(pgbench)
            .args(["-i", "-s", "10", "-I", "dtGvp", "-q"])
            .arg(url)
            .output()
            .map_err(|e| BenchError::process(pgbench.display().to_string(), e.to_string()))?;
        if !out.status.success() {
            return Err(BenchError::process(
                "pgbench -i",
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
    }
    if count(&admin, "bench_wide").await != Some(1_000_000) {
        eprintln!("tusk-bench: loading bench_wide (1,000,000 rows) ...");
        admin
            .execute_script(
                "DROP TABLE IF EXISTS bench_wide;
                 CREATE TABLE bench_wide (id int8, name text, score float8, ts timestamptz, flag bool);
                 INSERT INTO bench_wide
                   SELECT g, 'name-' || g, g * 0.25,
                          timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
                          g % 2 = 0
                   FROM generate_series(1, 1000000) AS g;",
            )
            .await?;
        // VACUUM refuses to run in the implicit transaction of a
        // multi-statement simple query.
        admin.execute_script("VACUUM ANALYZE bench_wide").await?;
    }
    admin
        .execute_script("CREATE TABLE IF NOT EXISTS bench_w6 (id int8, name text, score float8)")
        .await?;
    // Warm the buffers; pg_prewarm is in the server's contrib package,
    // and a plain scan does almost as well where it is missing.
    let prewarm = admin
        .execute_script(
            "CREATE EXTENSION IF NOT EXISTS pg_prewarm;
             SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey'),
                    pg_prewarm('bench_wide');",
        )
        .await;
    if prewarm.is_err() {
        admin
            .execute_script(
                "SELECT count(*) FROM pgbench_accounts; SELECT count(*) FROM bench_wide",
            )
            .await?;
    }
    Ok(())
}

/// Rows in `table`, or `None` when it does not exist.
async fn count(admin: &tusk::Connection, table: &str) -> Option<u64> {
    let messages = admin
        .simple_query(&format!("SELECT count(*) FROM {table}"))
        .await
        .ok()?;
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get_text(0usize).ok()??.parse().ok(),
        _ => None,
    })
}
