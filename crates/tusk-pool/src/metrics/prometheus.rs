//! Prometheus text exposition (format 0.0.4) of a [`PoolStats`]: base
//! units (`_seconds`), counters end in `_total`, every family has `# HELP`
//! and `# TYPE`, latencies are summaries with p50/p95/p99/p99.9. Every
//! series carries `pool="<name>"`.

use std::fmt::Write;
use std::time::Duration;

use super::{PoolStats, Quantiles};
use crate::breaker::BreakerState;

impl PoolStats {
    /// Renders the snapshot as Prometheus text exposition.
    ///
    /// | Family | Type | Labels |
    /// |---|---|---|
    /// | `tusk_pool_connections` | gauge | `state` = `idle`, `used` |
    /// | `tusk_pool_connections_size`, `_min`, `_max` | gauge | |
    /// | `tusk_pool_pending_requests` | gauge | |
    /// | `tusk_pool_breaker_open` | gauge (0/1; 0.5 half-open) | |
    /// | `tusk_pool_connections_created_total` | counter | |
    /// | `tusk_pool_connections_closed_total` | counter | `reason` |
    /// | `tusk_pool_acquires_total`, `tusk_pool_acquire_timeouts_total`, `tusk_pool_leaked_total` | counter | |
    /// | `tusk_pool_evicted_total` | counter | `class` (SQLSTATE class, `io`) |
    /// | `tusk_pool_retries_total`, `tusk_pool_commits_total`, `tusk_pool_rollbacks_total`, `tusk_pool_resets_total`, `tusk_pool_connect_errors_total`, `tusk_pool_breaker_opened_total` | counter | |
    /// | `tusk_pool_sent_bytes_total`, `tusk_pool_received_bytes_total` | counter | |
    /// | `tusk_pool_acquire_duration_seconds`, `tusk_pool_connection_setup_seconds` | summary | `quantile` |
    /// | `tusk_pool_query_duration_seconds` | summary | `operation`, `quantile` |
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        let pool = escape(&self.name);
        let p = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        p(
            &mut out,
            "tusk_pool_connections",
            "gauge",
            "Open connections by state.",
        );
        let _ = writeln!(
            out,
            "tusk_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {}",
            self.idle
        );
        let _ = writeln!(
            out,
            "tusk_pool_connections{{pool=\"{pool}\",state=\"used\"}} {}",
            self.in_use
        );
        for (name, help, v) in [
            ("tusk_pool_connections_size", "Open connections.", self.size),
            (
                "tusk_pool_connections_min",
                "Configured min_idle.",
                self.min_idle,
            ),
            (
                "tusk_pool_connections_max",
                "Configured max_size.",
                self.max_size,
            ),
            (
                "tusk_pool_pending_requests",
                "Callers waiting for a connection.",
                self.waiting,
            ),
        ] {
            p(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name}{{pool=\"{pool}\"}} {v}");
        }
        p(
            &mut out,
            "tusk_pool_breaker_open",
            "gauge",
            "Circuit breaker: 0 closed, 1 open, 0.5 half-open.",
        );
        let b = match self.breaker {
            BreakerState::Closed => "0",
            BreakerState::Open => "1",
            BreakerState::HalfOpen => "0.5",
        };
        let _ = writeln!(out, "tusk_pool_breaker_open{{pool=\"{pool}\"}} {b}");

        for (name, help, v) in [
            (
                "tusk_pool_connections_created_total",
                "Connections opened.",
                self.created_total,
            ),
            (
                "tusk_pool_acquires_total",
                "Successful acquires.",
                self.acquire_total,
            ),
            (
                "tusk_pool_acquire_timeouts_total",
                "Acquires that timed out.",
                self.acquire_timeouts_total,
            ),
            (
                "tusk_pool_leaked_total",
                "Connections held past the leak detection threshold.",
                self.leaked_total,
            ),
            (
                "tusk_pool_retries_total",
                "Transaction attempts retried.",
                self.retries_total,
            ),
            (
                "tusk_pool_commits_total",
                "Transactions committed.",
                self.commits_total,
            ),
            (
                "tusk_pool_rollbacks_total",
                "Transactions rolled back.",
                self.rollbacks_total,
            ),
            (
                "tusk_pool_resets_total",
                "Session resets of returned connections.",
                self.resets_total,
            ),
            (
                "tusk_pool_connect_errors_total",
                "Failed connection attempts.",
                self.connect_errors_total,
            ),
            (
                "tusk_pool_breaker_opened_total",
                "Times the circuit breaker opened.",
                self.breaker_opened_total,
            ),
            (
                "tusk_pool_sent_bytes_total",
                "Bytes written to the server (protocol messages, before TLS), counted when connections come back or close.",
                self.bytes_sent_total,
            ),
            (
                "tusk_pool_received_bytes_total",
                "Bytes read from the server (after TLS), counted when connections come back or close.",
                self.bytes_received_total,
            ),
        ] {
            p(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name}{{pool=\"{pool}\"}} {v}");
        }
        p(
            &mut out,
            "tusk_pool_connections_closed_total",
            "counter",
            "Connections closed, by reason.",
        );
        for (reason, v) in &self.closed_total {
            let _ = writeln!(
                out,
                "tusk_pool_connections_closed_total{{pool=\"{pool}\",reason=\"{reason}\"}} {v}"
            );
        }
        p(
            &mut out,
            "tusk_pool_evicted_total",
            "counter",
            "Connections evicted by the SQLSTATE policy, by SQLSTATE class.",
        );
        for (class, v) in &self.evicted_total {
            let _ = writeln!(
                out,
                "tusk_pool_evicted_total{{pool=\"{pool}\",class=\"{class}\"}} {v}"
            );
        }
        let name = "tusk_pool_acquire_duration_seconds";
        p(
            &mut out,
            name,
            "summary",
            "Time callers waited for a connection.",
        );
        summary(
            &mut out,
            name,
            &format!("pool=\"{pool}\""),
            &self.acquire_wait,
        );
        let name = "tusk_pool_connection_setup_seconds";
        p(&mut out, name, "summary", "Time to open a connection.");
        summary(
            &mut out,
            name,
            &format!("pool=\"{pool}\""),
            &self.connection_setup,
        );
        let name = "tusk_pool_query_duration_seconds";
        p(&mut out, name, "summary", "Query duration by operation.");
        for (op, q) in &self.queries {
            summary(
                &mut out,
                name,
                &format!("pool=\"{pool}\",operation=\"{op}\""),
                q,
            );
        }
        out
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn summary(out: &mut String, name: &str, labels: &str, q: &Quantiles) {
    for (quantile, v) in [
        ("0.5", q.p50),
        ("0.95", q.p95),
        ("0.99", q.p99),
        ("0.999", q.p999),
    ] {
        let _ = writeln!(
            out,
            "{name}{{{labels},quantile=\"{quantile}\"}} {}",
            secs(v)
        );
    }
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", secs(q.sum));
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", q.count);
}

/// Escapes a label value (backslash, quote, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
