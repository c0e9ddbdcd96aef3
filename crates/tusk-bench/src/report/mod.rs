//! From samples to figures: medians and spreads per driver, ratios
//! tusk/peer paired round by round, the targets; then the table,
//! the JSON and the chart.

use crate::measure::Sample;
use crate::rounds::Outcome;
use crate::workloads::Workload;

pub mod chart;
pub mod json;
pub mod table;
pub mod targets;

/// The driver every ratio is taken against.
pub const TUSK: &str = "tusk";

/// The driver ratios are taken against in the tusk-lite workloads (L1-L3),
/// which have no [`TUSK`].
pub const LITE: &str = "tusk-lite";

/// A median with its min-max spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// The median (mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stat {
    /// The statistic of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Stat> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// One driver's figures in one workload.
#[derive(Debug, Clone)]
pub struct DriverReport {
    /// The driver's key.
    pub driver: &'static str,
    /// Rounds measured.
    pub rounds: usize,
    /// Operations per second.
    pub throughput: Stat,
    /// Client CPU microseconds per operation.
    pub cpu_us_per_op: Stat,
    /// Median latency over all rounds, microseconds.
    pub p50_us: Option<f64>,
    /// 99th percentile latency over all rounds, microseconds.
    pub p99_us: Option<f64>,
    /// tusk's throughput over this driver's, round by round (`None` for tusk).
    pub ratio: Option<Stat>,
    /// tusk's CPU per operation over this driver's, round by round.
    pub cpu_ratio: Option<Stat>,
    /// Figures measured once (`peak_rss_mib`).
    pub extras: Vec<(&'static str, f64)>,
    /// Cores' worth of CPU other processes took during this driver's rounds.
    pub foreign_cores: Option<Stat>,
}

/// One workload's figures.
#[derive(Debug, Clone)]
pub struct WorkloadReport {
    /// `W1`, ...
    pub id: &'static str,
    /// What it is.
    pub what: &'static str,
    /// Unit of throughput.
    pub unit: &'static str,
    /// What one latency sample is.
    pub latency_of: &'static str,
    /// The drivers, in the workload's order.
    pub drivers: Vec<DriverReport>,
}

impl WorkloadReport {
    /// Summarises the outcomes of a workload's rounds.
    pub fn new(workload: &Workload, outcomes: &[Outcome]) -> WorkloadReport {
        let tusk = outcomes
            .iter()
            .find(|o| o.driver == TUSK)
            .or_else(|| outcomes.iter().find(|o| o.driver == LITE));
        let drivers = outcomes
            .iter()
            .map(|o| {
                let paired = |f: fn(&Sample) -> f64| -> Option<Stat> {
                    let t = tusk.filter(|t| t.driver != o.driver)?;
                    let ratios: Vec<f64> = t
                        .samples
                        .iter()
                        .zip(&o.samples)
                        .map(|(a, b)| f(a) / f(b))
                        .collect();
                    Stat::of(&ratios)
                };
                let mut latency = crate::measure::histogram();
                for s in &o.samples {
                    let _ = latency.add(&s.latency);
                }
                let pct = |q: f64| {
                    (!latency.is_empty())
                        .then(|| crate::measure::u64_f64(latency.value_at_quantile(q)) / 1_000.0)
                };
                let throughputs: Vec<f64> = o.samples.iter().map(Sample::throughput).collect();
                let cpus: Vec<f64> = o.samples.iter().map(Sample::cpu_us_per_op).collect();
                let zero = Stat {
                    median: 0.0,
                    min: 0.0,
                    max: 0.0,
                };
                DriverReport {
                    driver: o.driver,
                    rounds: o.samples.len(),
                    throughput: Stat::of(&throughputs).unwrap_or(zero),
                    cpu_us_per_op: Stat::of(&cpus).unwrap_or(zero),
                    p50_us: pct(0.5),
                    p99_us: pct(0.99),
                    ratio: paired(Sample::throughput),
                    cpu_ratio: paired(Sample::cpu_us_per_op),
                    extras: o.extras.clone(),
                    foreign_cores: Stat::of(
                        &o.samples
                            .iter()
                            .filter_map(|s| s.foreign_cores)
                            .collect::<Vec<_>>(),
                    ),
                }
            })
            .collect();
        WorkloadReport {
            id: workload.id,
            what: workload.what,
            unit: workload.unit,
            latency_of: workload.latency_of,
            drivers,
        }
    }

    /// The most CPU other processes took during any round of this
    /// workload, in cores.
    pub fn foreign_max(&self) -> Option<f64> {
        self.drivers
            .iter()
            .filter_map(|d| d.foreign_cores.map(|s| s.max))
            .reduce(f64::max)
    }

    /// A driver's figures.
    pub fn driver(&self, driver: &str) -> Option<&DriverReport> {
        self.drivers.iter().find(|d| d.driver == driver)
    }
}

#[cfg(test)]
mod tests {
    use super::Stat;

    #[test]
    fn median_of_odd_and_even_counts() {
        let s = Stat::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Stat::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(Stat::of(&[]), None);
    }
}
