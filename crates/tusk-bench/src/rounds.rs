//! Interleaved rounds: every driver of a workload runs once per round, in
//! alternating order (A B C, C B A, ...), so that a slow minute on the
//! machine hits every driver alike.

use tusk::Executor;

use crate::error::{BenchError, Result};
use crate::measure::Sample;
use crate::noise;
use crate::workloads::{Bench, Plan, Target, Workload};

/// What a bench does on a worker thread.
#[derive(Debug, Clone, Copy)]
enum Step {
    Warmup,
    Round,
}

/// What a step returns.
enum Done {
    Warmup(u64),
    Round(Sample),
}

/// Runs one step of `bench` in a task of its own, as a server's handler
/// would run: on a runtime worker, next to the I/O driver, rather than on
/// the thread that blocks on the whole benchmark.
async fn on_worker(
    mut bench: Box<dyn Bench>,
    step: Step,
    plan: Plan,
) -> Result<(Box<dyn Bench>, Done)> {
    let task = tokio::spawn(async move {
        let result = match step {
            Step::Warmup => bench.warmup(&plan).await.map(Done::Warmup),
            Step::Round => bench.round(&plan).await.map(Done::Round),
        };
        result.map(|sample| (bench, sample))
    });
    task.await
        .map_err(|e| BenchError::process("a benchmark task", e.to_string()))?
}

/// Everything one driver measured in one workload.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The driver's key.
    pub driver: &'static str,
    /// One sample per round, in round order.
    pub samples: Vec<Sample>,
    /// Figures measured once after the rounds (`peak_rss_mib`).
    pub extras: Vec<(&'static str, f64)>,
    /// Operations done in the warm-up (for per-operation counts taken
    /// from outside, such as `strace -c`).
    pub warmup_ops: u64,
}

/// How many rounds, how long, and what to do with a disturbed one.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// What one round does.
    pub plan: Plan,
    /// Interleaved rounds per workload.
    pub rounds: usize,
    /// Whether to measure other processes' CPU (the server is a
    /// descendant of this process).
    pub measure_noise: bool,
    /// Extra attempts of a disturbed round.
    pub retries: usize,
}

/// Runs `rounds` interleaved rounds of `workload` for the drivers that
/// `wanted` accepts; progress goes to stderr. With `measure_noise` (the
/// server is a descendant of this process), each sample says how much CPU
/// other processes took meanwhile, and a round during which they took more
/// than [`noise::DISTURBED_CORES`] runs again, up to `retries` times (the
/// quietest attempt counts).
pub async fn run(
    workload: &Workload,
    target: &Target,
    admin: &tusk::Connection,
    schedule: &Schedule,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<Outcome>> {
    let Schedule {
        plan,
        rounds,
        measure_noise,
        retries,
    } = *schedule;
    let plan = &plan;
    let mut benches: Vec<Box<dyn Bench>> = Vec::new();
    let mut drivers: Vec<&'static str> = Vec::new();
    for entry in workload.entries.iter().filter(|e| wanted(e.driver)) {
        benches.push((entry.make)(target).await?);
        drivers.push(entry.driver);
    }
    if benches.is_empty() {
        return Ok(Vec::new());
    }
    let mut benches: Vec<Option<Box<dyn Bench>>> = benches.into_iter().map(Some).collect();
    let mut warmup_ops = vec![0u64; benches.len()];
    for ((slot, ops), driver) in benches.iter_mut().zip(&mut warmup_ops).zip(&drivers) {
        let Some(bench) = slot.take() else { continue };
        before_round(workload, admin).await?;
        eprintln!("{} warm-up {driver}", workload.id);
        let (bench, done) = on_worker(bench, Step::Warmup, plan.warmup()).await?;
        *slot = Some(bench);
        if let Done::Warmup(n) = done {
            *ops = n;
        }
    }
    let mut samples: Vec<Vec<Sample>> = benches.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..benches.len()).collect()
        } else {
            (0..benches.len()).rev().collect()
        };
        for i in order {
            let mut best: Option<Sample> = None;
            for attempt in 0..=retries {
                let Some(bench) = benches[i].take() else {
                    break;
                };
                before_round(workload, admin).await?;
                let before = noise::snapshot();
                let t0 = std::time::Instant::now();
                let (bench, done) = on_worker(bench, Step::Round, *plan).await?;
                let secs = t0.elapsed().as_secs_f64();
                let after = noise::snapshot();
                let driver = drivers[i];
                benches[i] = Some(bench);
                let Done::Round(mut sample) = done else { break };
                if let (Some(a), Some(b), true) = (before, after, measure_noise) {
                    sample.foreign_cores = Some(noise::foreign_cores(&a, &b, secs));
                }
                let foreign = sample.foreign_cores.unwrap_or(0.0);
                eprintln!(
                    "{} round {}/{} {:<26} {:>12.0} {} {:>9.2} us CPU/op{}",
                    workload.id,
                    round + 1,
                    rounds,
                    driver,
                    sample.throughput(),
                    workload.unit,
                    sample.cpu_us_per_op(),
                    sample
                        .foreign_cores
                        .map_or_else(String::new, |f| format!("  others {f:.2} cores"))
                );
                let quieter = best
                    .as_ref()
                    .is_none_or(|b| foreign < b.foreign_cores.unwrap_or(0.0));
                if quieter {
                    best = Some(sample);
                }
                if foreign <= noise::DISTURBED_CORES {
                    break;
                }
                if attempt < retries {
                    eprintln!(
                        "{} round {}: disturbed, running it again",
                        workload.id,
                        round + 1
                    );
                }
            }
            if let Some(sample) = best {
                samples[i].push(sample);
            }
        }
    }
    let mut outcomes = Vec::new();
    let all = benches.iter_mut().zip(drivers).zip(samples).zip(warmup_ops);
    for (((bench, driver), samples), warmup_ops) in all {
        let Some(bench) = bench else { continue };
        let extras = bench.extras().await?;
        outcomes.push(Outcome {
            driver,
            samples,
            extras,
            warmup_ops,
        });
    }
    Ok(outcomes)
}

async fn before_round(workload: &Workload, admin: &tusk::Connection) -> Result<()> {
    if let Some(sql) = workload.before_round {
        admin.execute_script(sql).await?;
    }
    Ok(())
}
