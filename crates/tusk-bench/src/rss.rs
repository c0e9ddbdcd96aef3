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
            let n = w5::tusk_load(&conn, w5::ROWS, false, "bench_w5_probe").await?;
            conn.execute_script("DROP TABLE bench_w5_probe").await?;
            return growth(n, base);
        }
        Mode::CopyOut => return growth(w5::tusk_read(&conn).await?, base),
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
    if rows != w5::ROWS {
        return Err(BenchError::Check {
            workload: "W5",
            driver: "tusk",
            detail: format!("the RSS probe copied {rows} rows, expected {}", w5::ROWS),
        });
    }
    let peak = peak_rss_bytes()
        .ok_or_else(|| BenchError::process("/proc/self/status", "no VmHWM line"))?;
    Ok(peak.saturating_sub(base))
}
