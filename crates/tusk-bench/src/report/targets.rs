//! The targets of issues 3 (W1, W2, W4, W6), 5 (W3, W7), 13 (L1-L3, tusk-lite
//! against PostgreSQL) and 15 (W5, W5o), checked against one run's medians.

use super::{WorkloadReport, TUSK};

/// What a target compares.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// tusk's throughput over the fastest of these peers, paired by round.
    Throughput(&'static [&'static str]),
    /// tusk's client CPU per operation over this peer's.
    Cpu(&'static str),
    /// A driver's RSS figure in MiB (the extra of that name).
    Rss(&'static str, &'static str),
}

/// One target of the issue.
#[derive(Debug, Clone)]
pub struct Target {
    /// The workload.
    pub workload: &'static str,
    /// The target in words (`throughput >= 1.0x pgbench`).
    pub what: String,
    /// The bound.
    pub goal: f64,
    /// Whether the measured value must be at least (true) or at most
    /// (false) the goal.
    pub at_least: bool,
    /// What this run measured (`None` when a driver did not run).
    pub measured: Option<f64>,
}

impl Target {
    /// Whether this run meets the target.
    pub fn met(&self) -> Option<bool> {
        let m = self.measured?;
        Some(if self.at_least {
            m >= self.goal
        } else {
            m <= self.goal
        })
    }
}

const TARGETS: &[(&str, Measure, bool, f64)] = &[
    ("W1", Measure::Throughput(&["pgbench"]), true, 1.0),
    ("W1", Measure::Throughput(&["tokio-postgres"]), true, 1.15),
    ("W1", Measure::Throughput(&["sqlx"]), true, 1.10),
    ("W1", Measure::Cpu("tokio-postgres"), false, 0.6),
    ("W2", Measure::Throughput(&["pgbench"]), true, 1.0),
    ("W2", Measure::Cpu("tokio-postgres"), false, 0.4),
    ("W3", Measure::Throughput(&["pgbench"]), true, 1.10),
    (
        "W3",
        Measure::Throughput(&["deadpool-tokio-postgres"]),
        true,
        1.10,
    ),
    ("W3", Measure::Throughput(&["sqlx"]), true, 2.2),
    (
        "W4",
        Measure::Throughput(&["tokio-postgres", "sqlx"]),
        true,
        1.0,
    ),
    ("W4", Measure::Cpu("tokio-postgres"), false, 0.6),
    (
        "W4",
        Measure::Rss("tusk-stream", "peak_rss_mib"),
        false,
        64.0,
    ),
    (
        "W5",
        Measure::Throughput(&["tokio-postgres", "sqlx"]),
        true,
        1.0,
    ),
    ("W5", Measure::Throughput(&["server"]), true, 0.8),
    ("W5", Measure::Rss("tusk", "rss_growth_mib"), false, 64.0),
    ("W5o", Measure::Throughput(&["tokio-postgres"]), true, 1.0),
    ("W5o", Measure::Rss("tusk", "rss_growth_mib"), false, 64.0),
    ("W6", Measure::Throughput(&["tokio-postgres"]), true, 5.0),
    ("W6", Measure::Throughput(&["pgbench"]), true, 1.0),
    ("W7", Measure::Throughput(&["pgbench"]), true, 1.0),
    ("L1", Measure::Throughput(&["postgres"]), true, 1.0),
    ("L1c1", Measure::Throughput(&["postgres"]), true, 1.0),
    ("L2", Measure::Throughput(&["postgres"]), true, 0.5),
    ("L3", Measure::Throughput(&["postgres"]), true, 1.5),
];

/// The targets for the workloads in `reports`.
pub fn evaluate(reports: &[WorkloadReport]) -> Vec<Target> {
    let mut out = Vec::new();
    for &(id, measure, at_least, goal) in TARGETS {
        let Some(report) = reports.iter().find(|r| r.id == id) else {
            continue;
        };
        let (what, measured) = match measure {
            Measure::Throughput(peers) => (
                format!("throughput >= {goal:.2}x {}", peers.join(" / ")),
                throughput_ratio(report, peers),
            ),
            Measure::Cpu(peer) => (
                format!("client CPU per op <= {goal:.2}x {peer}"),
                report
                    .driver(peer)
                    .and_then(|d| d.cpu_ratio)
                    .map(|s| s.median),
            ),
            Measure::Rss(driver, key) => (
                format!("{driver} {} < {goal:.0} MiB", key.replace('_', " ")),
                report
                    .driver(driver)
                    .and_then(|d| d.extras.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)),
            ),
        };
        out.push(Target {
            workload: id,
            what,
            goal,
            at_least,
            measured,
        });
    }
    out
}

/// tusk's throughput over the fastest of `peers`: paired by round against
/// one peer, median over median against several.
fn throughput_ratio(report: &WorkloadReport, peers: &[&str]) -> Option<f64> {
    if let [peer] = peers {
        return report.driver(peer).and_then(|d| d.ratio).map(|s| s.median);
    }
    let tusk = report.driver(TUSK)?.throughput.median;
    let best = peers
        .iter()
        .filter_map(|p| report.driver(p).map(|d| d.throughput.median))
        .fold(None::<f64>, |acc, x| Some(acc.map_or(x, |a| a.max(x))))?;
    (best > 0.0).then(|| tusk / best)
}

/// A short verdict: `met`, `MISSED` or `not run`.
pub fn verdict(t: &Target) -> &'static str {
    match t.met() {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not run",
    }
}
