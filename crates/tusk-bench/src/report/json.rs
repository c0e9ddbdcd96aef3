//! The JSON file (`--json PATH`), in a layout other tools read:
//! `{"workloads": {"W1": {"tusk": {"throughput", "p50_us", "p99_us",
//! "client_cpu_us_per_op", ...}, ...}, ...}, "machine": {...}}`, plus the
//! run's parameters and the targets.

use serde_json::{json, Map, Value};

use super::targets::Target;
use super::{Stat, WorkloadReport};

fn stat(s: Option<Stat>) -> Value {
    s.map_or(
        Value::Null,
        |s| json!({"median": s.median, "min": s.min, "max": s.max}),
    )
}

/// The whole document.
pub fn document(
    reports: &[WorkloadReport],
    targets: &[Target],
    machine: Value,
    run: Value,
) -> Value {
    let mut workloads = Map::new();
    let mut units = Map::new();
    for r in reports {
        let mut drivers = Map::new();
        for d in &r.drivers {
            let mut o = Map::new();
            o.insert("throughput".into(), json!(d.throughput.median));
            o.insert("p50_us".into(), json!(d.p50_us));
            o.insert("p99_us".into(), json!(d.p99_us));
            o.insert("client_cpu_us_per_op".into(), json!(d.cpu_us_per_op.median));
            o.insert("throughput_min".into(), json!(d.throughput.min));
            o.insert("throughput_max".into(), json!(d.throughput.max));
            o.insert(
                "client_cpu_us_per_op_min".into(),
                json!(d.cpu_us_per_op.min),
            );
            o.insert(
                "client_cpu_us_per_op_max".into(),
                json!(d.cpu_us_per_op.max),
            );
            o.insert("rounds".into(), json!(d.rounds));
            if d.ratio.is_some() {
                o.insert("tusk_over_this_throughput".into(), stat(d.ratio));
                o.insert("tusk_over_this_cpu".into(), stat(d.cpu_ratio));
            }
            if let Some(f) = d.foreign_cores {
                o.insert("foreign_cpu_cores".into(), stat(Some(f)));
            }
            for (k, v) in &d.extras {
                o.insert((*k).into(), json!(v));
            }
            drivers.insert(d.driver.into(), Value::Object(o));
        }
        workloads.insert(r.id.into(), Value::Object(drivers));
        units.insert(
            r.id.into(),
            json!({
                "what": r.what,
                "throughput": r.unit,
                "latency_per": r.latency_of,
                "foreign_cpu_cores_max": r.foreign_max(),
                "disturbed": r.foreign_max().map(|m| m > crate::noise::DISTURBED_CORES),
            }),
        );
    }
    let targets: Vec<Value> = targets
        .iter()
        .map(|t| {
            json!({
                "workload": t.workload,
                "target": t.what,
                "goal": t.goal,
                "at_least": t.at_least,
                "measured": t.measured,
                "met": t.met(),
            })
        })
        .collect();
    json!({
        "workloads": workloads,
        "machine": machine,
        "run": run,
        "units": units,
        "targets": targets,
    })
}
