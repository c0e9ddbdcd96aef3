//! PostgreSQL's own C client as a peer: `pgbench -M prepared` with a
//! custom script, run as a child process against the same server. Its
//! throughput comes from its own report, its CPU time from
//! `getrusage(RUSAGE_CHILDREN)`, its latencies from its per-transaction log.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{Bench, BoxFut, Plan, Target};
use crate::error::{BenchError, Result};
use crate::measure::{cpu_time, histogram, Sample, Who};

/// How long a pgbench round runs.
#[derive(Debug, Clone, Copy)]
enum Length {
    /// `-T plan.seconds`.
    Timed,
    /// `-t plan.scans`.
    Counted,
}

/// How many clients pgbench runs, on how many threads (`-c`, `-j`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clients {
    /// `-c`: clients, one connection each.
    pub clients: u32,
    /// `-j`: worker threads.
    pub threads: u32,
}

impl Clients {
    /// One client on one thread (`-c 1 -j 1`): the sequential workloads.
    pub const ONE: Clients = Clients {
        clients: 1,
        threads: 1,
    };
}

/// What pgbench runs.
#[derive(Debug, Clone)]
enum Script {
    /// `-f FILE`: a script the harness wrote.
    File(PathBuf),
    /// `-b NAME`: one of pgbench's built-in scripts (`tpcb-like`).
    Builtin(&'static str),
}

/// pgbench running one script.
struct Pgbench {
    bin: PathBuf,
    url: String,
    script: Script,
    clients: Clients,
    log_dir: PathBuf,
    ops_per_tx: u64,
    length: Length,
    sampling: Option<f64>,
}

/// pgbench for a timed workload: `-T seconds`; each transaction of
/// `script` counts `ops_per_tx` operations; `sampling` logs that fraction
/// of transactions for latencies (all when `None`).
pub fn timed(
    t: &Target,
    workload: &str,
    script: &str,
    ops_per_tx: u64,
    sampling: Option<f64>,
) -> Result<Box<dyn Bench>> {
    timed_clients(t, workload, script, ops_per_tx, sampling, Clients::ONE)
}

/// [`timed`] with several clients (`-c`) on several threads (`-j`).
pub fn timed_clients(
    t: &Target,
    workload: &str,
    script: &str,
    ops_per_tx: u64,
    sampling: Option<f64>,
    clients: Clients,
) -> Result<Box<dyn Bench>> {
    let mut bench = make(t, workload, script, ops_per_tx, Length::Timed, sampling)?;
    bench.clients = clients;
    Ok(bench)
}

/// pgbench running one of its built-in scripts (`-b name`, e.g.
/// `tpcb-like`) for `-T seconds`, with `clients`; each transaction counts
/// one operation. pgbench reads the scale from `pgbench_branches`.
pub fn builtin(
    t: &Target,
    workload: &str,
    name: &'static str,
    sampling: Option<f64>,
    clients: Clients,
) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Pgbench {
        bin: t.pgbench.clone(),
        url: t.url.clone(),
        script: Script::Builtin(name),
        clients,
        log_dir: t.work_dir.join(format!("{workload}-pgbench-log")),
        ops_per_tx: 1,
        length: Length::Timed,
        sampling,
    }))
}

/// pgbench for W4: `-t scans` transactions of `script`, each counting
/// `ops_per_tx` operations (rows).
pub fn counted(
    t: &Target,
    workload: &str,
    script: &str,
    ops_per_tx: u64,
) -> Result<Box<dyn Bench>> {
    Ok(make(
        t,
        workload,
        script,
        ops_per_tx,
        Length::Counted,
        None,
    )?)
}

fn make(
    t: &Target,
    workload: &str,
    script: &str,
    ops_per_tx: u64,
    length: Length,
    sampling: Option<f64>,
) -> Result<Box<Pgbench>> {
    let path = t.work_dir.join(format!("{workload}.pgbench"));
    std::fs::write(&path, script).map_err(|e| BenchError::file(&path, e))?;
    Ok(Box::new(Pgbench {
        bin: t.pgbench.clone(),
        url: t.url.clone(),
        script: Script::File(path),
        clients: Clients::ONE,
        log_dir: t.work_dir.join(format!("{workload}-pgbench-log")),
        ops_per_tx,
        length,
        sampling,
    }))
}

impl Bench for Pgbench {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(self.run(plan))
    }

    fn warmup<'a>(&'a mut self, _plan: &'a Plan) -> BoxFut<'a, u64> {
        // Every round is a new process and connection that prepares its
        // statements itself; the server's buffers are warmed by the
        // in-process drivers and by pg_prewarm.
        Box::pin(async { Ok(0) })
    }
}

impl Pgbench {
    async fn run(&mut self, plan: &Plan) -> Result<Sample> {
        let _ = std::fs::remove_dir_all(&self.log_dir);
        std::fs::create_dir_all(&self.log_dir).map_err(|e| BenchError::file(&self.log_dir, e))?;
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(["-n", "-M", "prepared", "-l"])
            .arg("-c")
            .arg(self.clients.clients.to_string())
            .arg("-j")
            .arg(self.clients.threads.to_string())
            .arg(format!(
                "--log-prefix={}",
                self.log_dir.join("tx").display()
            ));
        match &self.script {
            Script::File(path) => cmd.arg("-f").arg(path),
            Script::Builtin(name) => cmd.arg("-b").arg(name),
        };
        match self.length {
            Length::Timed => cmd.arg("-T").arg(plan.seconds.max(1).to_string()),
            Length::Counted => cmd.arg("-t").arg(plan.scans.max(1).to_string()),
        };
        if let Some(rate) = self.sampling {
            cmd.arg(format!("--sampling-rate={rate}"));
        }
        cmd.arg(&self.url);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        let cpu0 = cpu_time(Who::Children);
        let t0 = Instant::now();
        let out = cmd
            .output()
            .await
            .map_err(|e| BenchError::process(self.bin.display().to_string(), e.to_string()))?;
        let wall = t0.elapsed();
        let cpu = cpu_time(Who::Children).saturating_sub(cpu0);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(BenchError::process(
                "pgbench",
                format!(
                    "{}: {}{}",
                    out.status,
                    stdout.trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        let report = Report::parse(&stdout).ok_or_else(|| {
            BenchError::process("pgbench", format!("could not read its report: {stdout}"))
        })?;
        if report.failed > 0 {
            return Err(BenchError::process(
                "pgbench",
                format!("{} transactions failed: {stdout}", report.failed),
            ));
        }
        let ops = report.transactions * self.ops_per_tx;
        // pgbench's own clock excludes its connection time.
        let elapsed = if report.tps > 0.0 {
            Duration::from_secs_f64(crate::measure::u64_f64(report.transactions) / report.tps)
        } else {
            wall
        };
        let latency = read_logs(&self.log_dir)?;
        Ok(Sample {
            ops,
            elapsed,
            cpu,
            latency,
            foreign_cores: None,
        })
    }
}

/// The figures of pgbench's closing report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `number of transactions actually processed: N`.
    pub transactions: u64,
    /// `number of failed transactions: N` (0 when absent).
    pub failed: u64,
    /// `tps = X (without initial connection time)`.
    pub tps: f64,
}

impl Report {
    /// Reads pgbench's stdout.
    pub fn parse(stdout: &str) -> Option<Report> {
        let mut transactions = None;
        let mut failed = 0;
        let mut tps = None;
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix("number of transactions actually processed:") {
                let n = rest.split_whitespace().next()?;
                transactions = n.split('/').next()?.parse().ok();
            } else if let Some(rest) = line.strip_prefix("number of failed transactions:") {
                failed = rest.split_whitespace().next()?.parse().ok()?;
            } else if let Some(rest) = line.strip_prefix("tps = ") {
                if rest.contains("without initial connection time") {
                    tps = rest.split_whitespace().next()?.parse().ok();
                }
            }
        }
        Some(Report {
            transactions: transactions?,
            failed,
            tps: tps?,
        })
    }
}

/// Latencies from pgbench's per-transaction logs (`-l`): the third field
/// of each line is the transaction's latency in microseconds.
fn read_logs(dir: &Path) -> Result<Histogram<u64>> {
    let mut hist = histogram();
    let entries = std::fs::read_dir(dir).map_err(|e| BenchError::file(dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let text = std::fs::read_to_string(&path).map_err(|e| BenchError::file(&path, e))?;
        for line in text.lines() {
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|f| f.parse::<u64>().ok())
            {
                let _ = hist.record((us * 1_000).max(1));
            }
        }
    }
    Ok(hist)
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[test]
    fn reads_the_report_of_pgbench_15() {
        let out = "pgbench (15.8 (Debian 15.8-0+deb12u1))\n\
transaction type: /tmp/W1.pgbench\n\
scaling factor: 1\n\
query mode: prepared\n\
number of clients: 1\n\
number of threads: 1\n\
maximum number of tries: 1\n\
duration: 1 s\n\
number of transactions actually processed: 15234\n\
number of failed transactions: 0 (0.000%)\n\
latency average = 0.065 ms\n\
initial connection time = 2.345 ms\n\
tps = 15301.123456 (without initial connection time)\n";
        let r = Report::parse(out).unwrap();
        assert_eq!(r.transactions, 15234);
        assert_eq!(r.failed, 0);
        assert!((r.tps - 15301.123456).abs() < 1e-6);
    }

    #[test]
    fn a_report_without_tps_is_not_read() {
        assert_eq!(
            Report::parse("number of transactions actually processed: 3\n"),
            None
        );
    }
}
