//! What the JSON says about the machine and the server.

use serde_json::{json, Value};
use tusk::{Executor, SimpleQueryMessage};

fn first_line_with(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The one-minute load average now.
pub fn load_average() -> Option<f64> {
    read_trim("/proc/loadavg")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU model, core count, memory, kernel, load, server and pgbench versions.
pub async fn describe(
    admin: &tusk::Connection,
    pgbench_version: &str,
    load_before: Option<f64>,
) -> Value {
    let server = match admin.simple_query("SELECT version()").await {
        Ok(messages) => messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get_text(0usize).ok().flatten().map(str::to_owned),
            _ => None,
        }),
        Err(_) => None,
    };
    json!({
        "cpu": first_line_with("/proc/cpuinfo", "model name"),
        // Counted from /proc/cpuinfo: after --pin this process may run on
        // fewer than the machine has.
        "cores": std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .map(|t| t.lines().filter(|l| l.starts_with("processor")).count()),
        "memory": first_line_with("/proc/meminfo", "MemTotal"),
        "kernel": read_trim("/proc/sys/kernel/osrelease"),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "server": server,
        "pgbench": pgbench_version,
        "date": chrono::Utc::now().to_rfc3339(),
    })
}
