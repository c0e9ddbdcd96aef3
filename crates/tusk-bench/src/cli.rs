//! The command line, and the run it drives: server, data set, rounds,
//! table, JSON and chart.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::error::{BenchError, Result};
use crate::pin::Pin;
use crate::report::{chart, json as report_json, table, targets, WorkloadReport};
use crate::workloads::{self, Plan, Target};
use crate::{machine, pin, rounds, rss, setup};

/// Side-by-side benchmark of tusk against tokio-postgres, sqlx and pgbench
/// on a throwaway PostgreSQL (see crates/tusk-bench/README.md).
#[derive(Debug, Parser)]
#[command(name = "tusk-bench", version)]
pub struct Args {
    /// A short run (under 3 minutes): 3 rounds of 1 s, one W4 scan per round.
    #[arg(long)]
    pub quick: bool,
    /// Interleaved rounds per workload (default 7, --quick 3).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Seconds per timed round (default 4, --quick 1).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Full scans of bench_wide per W4 round (default 3, --quick 1).
    #[arg(long)]
    pub scans: Option<u64>,
    /// Only these workloads: W1, W2, W3, W4, W5, W5o, W6, W7, N1, L1, L1c1, L2, L3 (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Only these drivers: tusk, tusk-shared, tusk-tracked, tusk-stream, tusk-arrow, tusk-groups,
    /// tusk-isolated, tusk-acquire, tusk-tx, tusk-noreset, tokio-postgres, tokio-postgres-pipelined,
    /// deadpool-tokio-postgres, deadpool-clean, deadpool-full, sqlx, pgbench, server, and for L1-L3
    /// postgres and tusk-lite.
    #[arg(long = "driver", value_delimiter = ',')]
    pub drivers: Vec<String>,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Draw the chart here: a PNG or an SVG, by the file's extension.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Draw `--chart` from this JSON of an earlier run (`--json`) instead
    /// of running anything.
    #[arg(long, requires = "chart")]
    pub chart_from: Option<PathBuf>,
    /// Use this server instead of starting one (its `bench` data set is
    /// loaded where missing). With `--serve`, runs can share one cluster.
    #[arg(long)]
    pub url: Option<String>,
    /// Start the cluster, load the data set, print its URL and wait for
    /// Ctrl-C: for strace or perf runs of the client alone with `--url`.
    #[arg(long)]
    pub serve: bool,
    /// Times a disturbed round (others took over a quarter of a core) runs
    /// again; the quietest attempt counts.
    #[arg(long, default_value_t = 1)]
    pub retries: usize,
    /// Run the clients on tokio's current-thread runtime instead of the
    /// multi-thread one (one worker per core).
    #[arg(long)]
    pub current_thread: bool,
    /// Pin the client and the server: `split` (client CPU 0, server CPU
    /// 1), `shared` (both on CPU 1) or `none` (the scheduler decides, and
    /// sequential workloads flip between the two from round to round).
    /// Needs the benchmark's own cluster for the server side.
    #[arg(long, value_enum, default_value_t = Pin::None)]
    pub pin: Pin,
    /// Internal: read bench_wide once with tusk and print the peak RSS.
    #[arg(long, hide = true, requires = "url")]
    pub rss_probe: Option<rss::Mode>,
}

impl Args {
    fn plan(&self) -> (usize, Plan) {
        let (rounds, seconds, scans) = if self.quick { (3, 1, 1) } else { (7, 4, 3) };
        (
            self.rounds.unwrap_or(rounds).max(1),
            Plan {
                seconds: self.seconds.unwrap_or(seconds).max(1),
                scans: self.scans.unwrap_or(scans).max(1),
            },
        )
    }
}

/// Parses the command line and runs; the exit code says whether it worked.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = if args.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tusk-bench: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tusk-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs what `args` ask for.
pub async fn run(args: Args) -> Result<()> {
    if let Some(mode) = args.rss_probe {
        let url = args.url.as_deref().unwrap_or_default();
        let bytes = rss::run(mode, url).await?;
        println!("peak_rss_bytes {bytes}");
        return Ok(());
    }
    if let (Some(json), Some(chart)) = (&args.chart_from, &args.chart) {
        let text = std::fs::read_to_string(json).map_err(|e| BenchError::file(json, e))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| BenchError::Usage(format!("{}: not JSON: {e}", json.display())))?;
        return chart::write(&doc, chart);
    }
    if let Some(path) = &args.chart {
        chart::check(path)?;
    }
    let selected = select(&args)?;
    let load_before = machine::load_average();
    let pgbench = setup::bindir()?.join("pgbench");
    let pgbench_version = version(&pgbench);
    let cluster = match &args.url {
        Some(_) => None,
        None => {
            eprintln!("tusk-bench: starting PostgreSQL ...");
            let started = tokio::task::spawn_blocking(setup::start_cluster)
                .await
                .map_err(|e| BenchError::process("tusk-testkit", e.to_string()))?;
            Some(started?)
        }
    };
    let url = match (&args.url, &cluster) {
        (Some(url), _) => url.clone(),
        (None, Some(c)) => c.url(setup::DATABASE),
        (None, None) => unreachable!("a cluster is started when no --url is given"),
    };
    setup::load(&url, &pgbench).await?;
    let postmaster = cluster
        .as_ref()
        .and_then(|c| pin::postmaster_pid(c.data_dir()));
    if args.pin != Pin::None && postmaster.is_none() {
        eprintln!("tusk-bench: --pin with --url pins the client only");
    }
    pin::apply(args.pin, postmaster)?;
    if args.serve {
        println!("{url}");
        eprintln!("tusk-bench: serving; Ctrl-C stops the cluster");
        let _ = tokio::signal::ctrl_c().await;
        return Ok(());
    }
    let work_dir = std::env::temp_dir().join(format!("tusk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir).map_err(|e| BenchError::file(&work_dir, e))?;
    let target = Target {
        url: url.clone(),
        pgbench: pgbench.clone(),
        work_dir: work_dir.clone(),
        server_cpu: args.pin.server_cpu(),
    };
    let result = measure(&args, &selected, &target, &pgbench_version, load_before).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    drop(cluster);
    result
}

async fn measure(
    args: &Args,
    selected: &[workloads::Workload],
    target: &Target,
    pgbench_version: &str,
    load_before: Option<f64>,
) -> Result<()> {
    let (rounds, plan) = args.plan();
    let admin = tusk::connect(&target.url).await?;
    let schedule = rounds::Schedule {
        plan,
        rounds,
        measure_noise: args.url.is_none(),
        retries: args.retries,
    };
    let wanted = |driver: &str| args.drivers.is_empty() || args.drivers.iter().any(|d| d == driver);
    let mut reports = Vec::new();
    let (mut total_ops, mut warmup_ops) = (0u64, 0u64);
    for workload in selected {
        let outcomes = rounds::run(workload, target, &admin, &schedule, &wanted).await?;
        total_ops += outcomes
            .iter()
            .flat_map(|o| o.samples.iter().map(|s| s.ops))
            .sum::<u64>();
        warmup_ops += outcomes.iter().map(|o| o.warmup_ops).sum::<u64>();
        reports.push(WorkloadReport::new(workload, &outcomes));
    }
    let targets = targets::evaluate(&reports);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(table::render(&reports, &targets).as_bytes());
    let _ = writeln!(
        stdout,
        "\noperations, all drivers: {total_ops} in measured rounds, {warmup_ops} in warm-ups"
    );
    let machine = machine::describe(&admin, pgbench_version, load_before).await;
    let command: Vec<String> = std::env::args().collect();
    let run = json!({
        "command": command.join(" "),
        "quick": args.quick,
        "rounds": rounds,
        "round_seconds": plan.seconds,
        "pin": args.pin.as_str(),
        "w4_scans_per_round": plan.scans,
        "runtime": if args.current_thread {
            "tokio current-thread; every round in a spawned task"
        } else {
            "tokio multi-thread, one worker per core; every round in a spawned task"
        },
        "server_settings": setup::SETTINGS.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
    });
    let doc = report_json::document(&reports, &targets, machine, run);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| BenchError::process("serde_json", e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| BenchError::file(path, e))?;
    }
    if let Some(path) = &args.chart {
        chart::write(&doc, path)?;
    }
    Ok(())
}

/// The workloads `--only` and `--driver` ask for.
fn select(args: &Args) -> Result<Vec<workloads::Workload>> {
    let all = workloads::all();
    for id in &args.only {
        if !all.iter().any(|w| w.id.eq_ignore_ascii_case(id)) {
            return Err(BenchError::Usage(format!(
                "no workload {id:?}; choose from W1, W2, W3, W4, W5, W5o, W6, W7, N1, L1, L1c1, L2, L3"
            )));
        }
    }
    for d in &args.drivers {
        if !all.iter().any(|w| w.entries.iter().any(|e| e.driver == d)) {
            return Err(BenchError::Usage(format!(
                "no driver {d:?}; choose from tusk, tusk-shared, tusk-tracked, tusk-stream, tusk-arrow, tusk-groups, tusk-isolated, tusk-acquire, tusk-tx, tusk-noreset, tokio-postgres, tokio-postgres-pipelined, deadpool-tokio-postgres, deadpool-clean, deadpool-full, sqlx, pgbench, server"
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|w| {
            args.only.is_empty() || args.only.iter().any(|id| w.id.eq_ignore_ascii_case(id))
        })
        .collect())
}

fn version(pgbench: &std::path::Path) -> String {
    std::process::Command::new(pgbench)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
