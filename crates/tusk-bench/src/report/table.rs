//! The table printed on stdout.

use std::fmt::Write as _;

use super::targets::{verdict, Target};
use super::{Stat, WorkloadReport};

/// `1234567.8` as `1,234,568`.
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 && out != "0" {
        out.insert(0, '-');
    }
    out
}

fn opt(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn ratio(s: Option<Stat>) -> String {
    s.map_or_else(String::new, |s| {
        format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max)
    })
}

/// The whole table: one block per workload, then the targets.
pub fn render(reports: &[WorkloadReport], targets: &[Target]) -> String {
    let mut out = String::new();
    for r in reports {
        let rounds = r.drivers.first().map_or(0, |d| d.rounds);
        let _ = writeln!(
            out,
            "\n{}  {}\n    throughput in {}, latency per {}, medians of {} interleaved rounds (min-max)",
            r.id, r.what, r.unit, r.latency_of, rounds
        );
        if let Some(max) = r.foreign_max() {
            let flag = if max > crate::noise::DISTURBED_CORES {
                "  DISTURBED: rerun when the machine is quiet"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    other processes took at most {max:.2} cores during a round{flag}"
            );
        }
        let _ = writeln!(
            out,
            "    {:<26} {:>12} {:>25} {:>10} {:>10} {:>10} {:>24} {:>24}",
            "driver",
            "throughput",
            "(min - max)",
            "p50 us",
            "p99 us",
            "CPU us/op",
            "tusk/peer throughput",
            "tusk/peer CPU"
        );
        for d in &r.drivers {
            let mut extras = String::new();
            for (k, v) in &d.extras {
                let _ = write!(extras, "  {k} = {v:.1}");
            }
            let _ = writeln!(
                out,
                "    {:<26} {:>12} {:>25} {:>10} {:>10} {:>10.2} {:>24} {:>24}{}",
                d.driver,
                thousands(d.throughput.median),
                format!(
                    "({} - {})",
                    thousands(d.throughput.min),
                    thousands(d.throughput.max)
                ),
                opt(d.p50_us, 1),
                opt(d.p99_us, 1),
                d.cpu_us_per_op.median,
                ratio(d.ratio),
                ratio(d.cpu_ratio),
                extras
            );
        }
    }
    if !targets.is_empty() {
        let _ = writeln!(
            out,
            "\nTargets (issues 3, 5, 13 and 15), medians of this run:"
        );
        for t in targets {
            let _ = writeln!(
                out,
                "    {:<4}  {:<44} measured {:>8}  {}",
                t.workload,
                t.what,
                opt(t.measured, 2),
                verdict(t)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(-1000.0), "-1,000");
    }
}
