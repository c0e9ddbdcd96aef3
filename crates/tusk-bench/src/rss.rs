//! W4's memory figure: the peak RSS of a fresh process that reads all of
//! `bench_wide` once through tusk, so that nothing the benchmark did before
//! (other drivers' million-row vectors) counts.

use crate::error::{BenchError, Result};
use crate::measure::peak_rss_bytes;
use crate::workloads::w4::{Collect, ScanWide, Stream, ROWS};
use crate::workloads::{connect, w5};
use tusk::Executor;

/// Which tusk API the probe reads with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// `query`: every row in one `Vec`.
    Query,
    /// `query_stream`: rows as they arrive.
    Stream,
    /// W5's COPY IN of 1M rows (the figure is the growth over the
    /// process's RSS before the load).
    CopyIn,
    /// W5o's COPY OUT of 1M rows (growth, as for `CopyIn`).
    CopyOut,
}

impl Mode {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Query => "query",
            Mode::Stream => "stream",
            Mode::CopyIn => "copy-in",
            Mode::CopyOut => "copy-out",
        }
    }
}

/// The environment variable that sets the rows of the COPY probes (W5's
/// and W5o's `rss_growth_mib`); 1,000,000 when unset. The bound
/// (< 64 MiB) is for 10,000,000 rows:
/// `TUSK_BENCH_COPY_RSS_ROWS=10000000 tusk-bench --only W5,W5o`.
pub const COPY_ROWS_ENV: &str = "TUSK_BENCH_COPY_RSS_ROWS";

/// The rows of the COPY probes (see [`COPY_ROWS_ENV`]).
pub fn copy_rows() -> u64 {
    std::env::var(COPY_ROWS_ENV)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(w5::ROWS)
}

/// Runs the probe in a child process (`tusk-bench --rss-probe MODE --url
/// URL`) and returns its peak RSS in bytes.
pub async fn probe(mode: Mode, url: &str) -> Result<u64> {
    let exe = std::env::current_exe()
        .map_err(|e| BenchError::process("tusk-bench (RSS probe)", e.to_string()))?;
    let out = tokio::process::Command::new(&exe)
        .arg("--rss-probe")
        .arg(mode.as_str())
        .arg("--url")
        .arg(url)
        .output()
        .await
        .map_err(|e| BenchError::process(exe.display().to_string(), e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BenchError::process(
            "tusk-bench --rss-probe",
            format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| {
            BenchError::process(
                "tusk-bench --rss-probe",
                format!("no peak_rss_bytes line in {stdout:?}"),
            )
        })
}

/// The child's side: one scan, then the peak RSS (printed as
/// `peak_rss_bytes N`).
pub async fn run(mode: Mode, url: &str) -> Result<u64> {
    let conn = connect::tusk(url).await?;
    let base = crate::measure::rss_bytes().unwrap_or(0);
    let rows = match mode {
        Mode::Query => Collect(conn).scan().await?,
        Mode::Stream => Stream(conn).scan().await?,
        Mode::CopyIn => {
            conn.execute_script("CREATE UNLOGGED TABLE IF NOT EXISTS bench_w5_probe (id int8, name text, score float8, ts timestamptz); TRUNCATE bench_w5_probe").await?;
            let n = w5::tusk_load(&conn, copy_rows(), false, "bench_w5_probe").await?;
            conn.execute_script("DROP TABLE bench_w5_probe").await?;
            return growth(n, base);
        }
        Mode::CopyOut if copy_rows() == w5::ROWS => {
            return growth(w5::tusk_read(&conn).await?, base)
        }
        Mode::CopyOut => {
            // Another row count: a table of that many rows, made by the
            // server (nothing of it passes through this process).
            let rows = copy_rows();
            conn.execute_script(&format!(
                "CREATE UNLOGGED TABLE IF NOT EXISTS bench_w5o_probe (id int8, name text, score float8, ts timestamptz); \
                 TRUNCATE bench_w5o_probe; \
                 INSERT INTO bench_w5o_probe SELECT g, 'name ' || g, g * 0.5, now() FROM generate_series(1, {rows}) g"
            ))
            .await?;
            let base = crate::measure::rss_bytes().unwrap_or(base);
            let n = w5::tusk_read_from(&conn, "bench_w5o_probe").await?;
            conn.execute_script("DROP TABLE bench_w5o_probe").await?;
            return growth(n, base);
        }
    };
    if rows != ROWS {
        return Err(BenchError::Check {
            workload: "W4",
            driver: "tusk",
            detail: format!("the RSS probe read {rows} rows, expected {ROWS}"),
        });
    }
    peak_rss_bytes().ok_or_else(|| BenchError::process("/proc/self/status", "no VmHWM line"))
}

/// A COPY probe's figure: the peak RSS over `base`, the RSS before it.
fn growth(rows: u64, base: u64) -> Result<u64> {
    if rows != copy_rows() {
        return Err(BenchError::Check {
            workload: "W5",
            driver: "tusk",
            detail: format!("the RSS probe copied {rows} rows, expected {}", copy_rows()),
        });
    }
    let peak = peak_rss_bytes()
        .ok_or_else(|| BenchError::process("/proc/self/status", "no VmHWM line"))?;
    Ok(peak.saturating_sub(base))
}
