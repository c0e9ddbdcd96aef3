//! Interleaved rounds: every driver of a workload runs once per round, in
//! alternating order (A B C, C B A, ...), so that a slow minute on the
//! machine hits every driver alike.

use tusk::Executor;

use crate::error::Result;
use crate::measure::Sample;
use crate::workloads::{Bench, Plan, Target, Workload};

/// Everything one driver measured in one workload.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The driver's key.
    pub driver: &'static str,
    /// One sample per round, in round order.
    pub samples: Vec<Sample>,
    /// Figures measured once after the rounds (`peak_rss_mib`).
    pub extras: Vec<(&'static str, f64)>,
}

/// Runs `rounds` interleaved rounds of `workload` for the drivers that
/// `wanted` accepts; progress goes to stderr.
pub async fn run(
    workload: &Workload,
    target: &Target,
    admin: &tusk::Connection,
    plan: &Plan,
    rounds: usize,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<Outcome>> {
    let mut benches: Vec<Box<dyn Bench>> = Vec::new();
    for entry in workload.entries.iter().filter(|e| wanted(e.driver)) {
        benches.push((entry.make)(target).await?);
    }
    if benches.is_empty() {
        return Ok(Vec::new());
    }
    let warmup = plan.warmup();
    for bench in &mut benches {
        before_round(workload, admin).await?;
        eprintln!("{} warm-up {}", workload.id, bench.driver());
        bench.warmup(&warmup).await?;
    }
    let mut samples: Vec<Vec<Sample>> = benches.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..benches.len()).collect()
        } else {
            (0..benches.len()).rev().collect()
        };
        for i in order {
            before_round(workload, admin).await?;
            let sample = benches[i].round(plan).await?;
            eprintln!(
                "{} round {}/{} {:<26} {:>12.0} {} {:>9.2} us CPU/op",
                workload.id,
                round + 1,
                rounds,
                benches[i].driver(),
                sample.throughput(),
                workload.unit,
                sample.cpu_us_per_op()
            );
            samples[i].push(sample);
        }
    }
    let mut outcomes = Vec::new();
    for (bench, samples) in benches.iter_mut().zip(samples) {
        let extras = bench.extras().await?;
        outcomes.push(Outcome {
            driver: bench.driver(),
            samples,
            extras,
        });
    }
    Ok(outcomes)
}

async fn before_round(workload: &Workload, admin: &tusk::Connection) -> Result<()> {
    if let Some(sql) = workload.before_round {
        admin.batch_execute(sql).await?;
    }
    Ok(())
}
