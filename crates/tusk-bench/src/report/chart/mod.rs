//! The chart (`--chart PATH`, or `--chart-from JSON --chart PATH` to draw
//! an earlier run's): a PNG or an SVG drawn with `plotters`, two panels
//! (throughput, then client CPU per operation), every driver relative to
//! tusk on a log axis, so a peer at 0.5x and the server's limit at 20x are
//! both readable. A bar runs from tusk's 1.0 to the driver's value; the
//! server, a limit rather than a client, is a marker. Each series has its
//! own colour, the legend wraps, and every label has room of its own
//! ([`layout`] sizes the chart from the widest text).
//!
//! The chart is drawn from the JSON document ([`super::json`]), so a run's
//! chart and a chart redrawn later from its JSON are the same.

use serde_json::Value;

use super::table::thousands;
use super::TUSK;

mod draw;
pub mod layout;

pub use draw::{check, write};

/// A driver's colour (`0xRRGGBB`), the same in every panel and every run;
/// tusk's variants each have their own.
pub fn colour(driver: &str) -> u32 {
    match driver {
        "tusk" => 0xd9480f,
        "tusk-shared" => 0xf59f00,
        "tusk-tracked" => 0xe64980,
        "tusk-stream" => 0xc92a2a,
        "tusk-arrow" => 0x0ca678,
        "tusk-groups" => 0xb08968,
        "tusk-isolated" => 0xff922b,
        "tusk-acquire" => 0x862e9c,
        "tusk-tx" => 0x8f5b34,
        "tusk-noreset" => 0xf783ac,
        "tokio-postgres" => 0x1c7ed6,
        "tokio-postgres-pipelined" => 0x74c0fc,
        "deadpool-tokio-postgres" => 0x3b5bdb,
        "deadpool-clean" => 0x9775fa,
        "deadpool-full" => 0x5f3dc4,
        "sqlx" => 0x2f9e44,
        "pgbench" => 0x495057,
        "server" => 0x000000,
        _ => 0x868e96,
    }
}

/// Every driver the benchmark knows, in legend order: tusk and its
/// variants first.
pub const DRIVERS: [&str; 18] = [
    "tusk",
    "tusk-shared",
    "tusk-tracked",
    "tusk-stream",
    "tusk-arrow",
    "tusk-groups",
    "tusk-isolated",
    "tusk-acquire",
    "tusk-tx",
    "tusk-noreset",
    "tokio-postgres",
    "tokio-postgres-pipelined",
    "deadpool-tokio-postgres",
    "deadpool-clean",
    "deadpool-full",
    "sqlx",
    "pgbench",
    "server",
];

/// The driver that is a limit, drawn as a marker: the server alone.
pub const LIMIT: &str = "server";

/// A series' name in the legend: tusk is the dashed line at 1.0.
pub fn legend_label(driver: &str) -> String {
    if driver == TUSK {
        "tusk (= 1.0)".to_owned()
    } else {
        driver.to_owned()
    }
}

/// Where a driver stands in the legend and in each group.
fn rank(driver: &str) -> usize {
    DRIVERS
        .iter()
        .position(|d| *d == driver)
        .unwrap_or(DRIVERS.len())
}

/// One driver's value in one workload, relative to tusk.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The driver's key.
    pub driver: String,
    /// The driver's figure over tusk's (tusk = 1.0).
    pub value: f64,
}

/// One workload in one panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The caption under the group: the workload id, what it is, and
    /// tusk's own figure.
    pub caption: [String; 3],
    /// The drivers other than tusk, in legend order.
    pub bars: Vec<Bar>,
}

/// One panel: a title and a group per workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// What the panel shows.
    pub title: String,
    /// One group per workload, in the document's order.
    pub groups: Vec<Group>,
}

/// Everything the chart shows, read from a run's JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// Machine, date and run parameters.
    pub subtitle: String,
    /// The series in the legend (tusk first), each once.
    pub series: Vec<String>,
    /// Throughput, then client CPU per operation.
    pub panels: [Panel; 2],
}

/// tusk's figure over a peer's, round by round (`paired`), inverted so
/// that the peer is relative to tusk; or the ratio of the medians.
fn relative(paired: &Value, peer: &Value, tusk: &Value) -> Option<f64> {
    let value = match paired["median"].as_f64() {
        Some(p) if p > 0.0 => 1.0 / p,
        _ => peer.as_f64()? / tusk.as_f64().filter(|t| *t > 0.0)?,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

fn op_name(unit: &str) -> &str {
    match unit {
        "rows/s" => "row",
        "inserts/s" => "insert",
        "transactions/s" => "transaction",
        _ => "query",
    }
}

/// `1,234` for a count, two decimals for a small figure.
fn figure(v: f64) -> String {
    if v >= 100.0 {
        thousands(v)
    } else {
        format!("{v:.2}")
    }
}

impl Chart {
    /// The chart of a document in [`super::json::document`]'s layout;
    /// `None` when it has no workload with a tusk figure.
    pub fn from_json(doc: &Value) -> Option<Chart> {
        let mut throughput = Vec::new();
        let mut cpu = Vec::new();
        let mut series = vec![TUSK.to_owned()];
        for (id, drivers) in doc["workloads"].as_object()? {
            let Some(drivers) = drivers.as_object() else {
                continue;
            };
            let Some(tusk) = drivers.get(TUSK) else {
                continue;
            };
            let unit = &doc["units"][id];
            let throughput_unit = unit["throughput"].as_str().unwrap_or("ops/s");
            let what = unit["what"].as_str().unwrap_or("");
            let what = what.split(" (").next().unwrap_or(what).to_owned();
            let id_line = if unit["disturbed"].as_bool() == Some(true) {
                format!("{id} (disturbed)")
            } else {
                id.clone()
            };
            let mut names: Vec<&String> = drivers.keys().filter(|d| *d != TUSK).collect();
            names.sort_by_key(|d| (rank(d), d.to_string()));
            let (mut t_bars, mut c_bars) = (Vec::new(), Vec::new());
            for name in names {
                let d = &drivers[name];
                if !series.contains(name) {
                    series.push(name.clone());
                }
                let t = relative(
                    &d["tusk_over_this_throughput"],
                    &d["throughput"],
                    &tusk["throughput"],
                );
                if let Some(value) = t {
                    t_bars.push(Bar {
                        driver: name.clone(),
                        value,
                    });
                }
                // The server has no client: its CPU is not comparable.
                let c = relative(
                    &d["tusk_over_this_cpu"],
                    &d["client_cpu_us_per_op"],
                    &tusk["client_cpu_us_per_op"],
                );
                if let Some(value) = c.filter(|_| name != LIMIT) {
                    c_bars.push(Bar {
                        driver: name.clone(),
                        value,
                    });
                }
            }
            let tusk_throughput = tusk["throughput"].as_f64().unwrap_or(0.0);
            let tusk_cpu = tusk["client_cpu_us_per_op"].as_f64().unwrap_or(0.0);
            throughput.push(Group {
                caption: [
                    id_line.clone(),
                    what.clone(),
                    format!("tusk: {} {throughput_unit}", figure(tusk_throughput)),
                ],
                bars: t_bars,
            });
            cpu.push(Group {
                caption: [
                    id_line,
                    what,
                    format!(
                        "tusk: {} µs per {}",
                        figure(tusk_cpu),
                        op_name(throughput_unit)
                    ),
                ],
                bars: c_bars,
            });
        }
        if throughput.is_empty() {
            return None;
        }
        series.sort_by_key(|d| (rank(d), d.clone()));
        Some(Chart {
            title: "tusk against its peers, same server, same run (tusk = 1.0)".into(),
            subtitle: subtitle(doc),
            series,
            panels: [
                Panel {
                    title: "Throughput relative to tusk (higher is faster; the server is the limit)"
                        .into(),
                    groups: throughput,
                },
                Panel {
                    title: "Client CPU per operation relative to tusk (lower leaves more CPU to the server)"
                        .into(),
                    groups: cpu,
                },
            ],
        })
    }
}

/// Machine, pinning, rounds and date, from the document.
fn subtitle(doc: &Value) -> String {
    let machine = &doc["machine"];
    let run = &doc["run"];
    format!(
        "{} cores, {}; pinned: {}; {} rounds of {} s (W4: {} scans); medians; {}",
        machine["cores"].as_u64().unwrap_or(0),
        machine["cpu"].as_str().unwrap_or("unknown CPU"),
        run["pin"].as_str().unwrap_or("none"),
        run["rounds"].as_u64().unwrap_or(0),
        run["round_seconds"].as_u64().unwrap_or(0),
        run["w4_scans_per_round"].as_u64().unwrap_or(0),
        machine["date"]
            .as_str()
            .unwrap_or("")
            .get(..16)
            .unwrap_or("")
            .replace('T', " ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latest() -> Value {
        let text = include_str!("../../../bench-latest.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn every_series_has_a_colour_of_its_own() {
        for (i, a) in DRIVERS.iter().enumerate() {
            for b in &DRIVERS[i + 1..] {
                assert_ne!(colour(a), colour(b), "{a} and {b}");
            }
        }
    }

    #[test]
    fn the_checked_in_run_reads_as_a_chart() {
        let chart = Chart::from_json(&latest()).unwrap();
        assert_eq!(chart.series[0], "tusk");
        for d in ["sqlx", "pgbench", "server", "tusk-stream", "tusk-tx"] {
            assert!(
                chart.series.iter().any(|s| s == d),
                "{d}: {:?}",
                chart.series
            );
        }
        let [throughput, cpu] = &chart.panels;
        assert_eq!(throughput.groups.len(), 6);
        let w1 = &throughput.groups[0];
        assert_eq!(w1.caption[0], "W1");
        let server = w1.bars.iter().find(|b| b.driver == LIMIT).unwrap();
        // 1 / tusk_over_this_throughput's median.
        assert!((server.value - 1.0 / 0.044_186_027_300_117_8).abs() < 1e-6);
        assert!(cpu
            .groups
            .iter()
            .all(|g| g.bars.iter().all(|b| b.driver != LIMIT)));
        assert!(chart.subtitle.starts_with("2 cores"), "{}", chart.subtitle);
    }

    #[test]
    fn a_document_without_tusk_has_no_chart() {
        let doc = serde_json::json!({"workloads": {"W1": {"sqlx": {"throughput": 1.0}}}});
        assert_eq!(Chart::from_json(&doc), None);
        assert_eq!(Chart::from_json(&serde_json::json!([])), None);
    }
}
