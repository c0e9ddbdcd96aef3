//! A worker's counters: a [`CronStats`] snapshot and Prometheus text.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// A worker's counters since it started.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CronStats {
    /// Runs this worker started (claims, takeovers included).
    pub runs_started: u64,
    /// Runs it finished well.
    pub runs_succeeded: u64,
    /// Runs it finished badly (each failed attempt counts).
    pub runs_failed: u64,
    /// Runs it recorded as skipped (overlap `skip`) and missed fire times
    /// it skipped (misfire policy).
    pub runs_skipped: u64,
    /// Retries it queued.
    pub runs_retried: u64,
    /// Runs it took over from a worker whose lease expired.
    pub runs_taken_over: u64,
    /// Runs it lost: its lease expired (or the job was removed) before it
    /// could record the end; nothing of an SQL command was committed.
    pub leases_lost: u64,
    /// Wake-ups by NOTIFY.
    pub notifications: u64,
    /// Times the worker looked at the tables (tick, claim, sleep).
    pub loops: u64,
    /// Errors talking to the database (retried).
    pub errors: u64,
    /// Lag of the latest run: its start minus when it was due (its fire
    /// time; for a retry, the end of its backoff).
    pub lag_last: Duration,
    /// The largest lag seen.
    pub lag_max: Duration,
    /// The sum of all lags (with `runs_started`, the mean).
    pub lag_sum: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub started: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub skipped: AtomicU64,
    pub retried: AtomicU64,
    pub taken_over: AtomicU64,
    pub lost: AtomicU64,
    pub notifications: AtomicU64,
    pub loops: AtomicU64,
    pub errors: AtomicU64,
    lag_last_us: AtomicU64,
    lag_max_us: AtomicU64,
    lag_sum_us: AtomicU64,
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn lag(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.lag_last_us.store(us, Ordering::Relaxed);
        self.lag_max_us.fetch_max(us, Ordering::Relaxed);
        self.lag_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CronStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CronStats {
            runs_started: g(&self.started),
            runs_succeeded: g(&self.succeeded),
            runs_failed: g(&self.failed),
            runs_skipped: g(&self.skipped),
            runs_retried: g(&self.retried),
            runs_taken_over: g(&self.taken_over),
            leases_lost: g(&self.lost),
            notifications: g(&self.notifications),
            loops: g(&self.loops),
            errors: g(&self.errors),
            lag_last: Duration::from_micros(g(&self.lag_last_us)),
            lag_max: Duration::from_micros(g(&self.lag_max_us)),
            lag_sum: Duration::from_micros(g(&self.lag_sum_us)),
        }
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl CronStats {
    /// The counters as Prometheus text (base units: `_total`,
    /// `_seconds`), every series labelled `worker="<name>"`.
    pub fn prometheus(&self, worker: &str) -> String {
        let w = label(worker);
        let mut out = String::new();
        let counters: [(&str, &str, u64); 10] = [
            (
                "runs_started",
                "Runs started (claims and takeovers).",
                self.runs_started,
            ),
            ("runs_succeeded", "Runs finished well.", self.runs_succeeded),
            ("runs_failed", "Failed attempts.", self.runs_failed),
            (
                "runs_skipped",
                "Runs skipped by the overlap or misfire policy.",
                self.runs_skipped,
            ),
            ("runs_retried", "Retries queued.", self.runs_retried),
            (
                "runs_taken_over",
                "Runs taken over after a lease expired.",
                self.runs_taken_over,
            ),
            (
                "leases_lost",
                "Runs whose lease was lost before their end was recorded.",
                self.leases_lost,
            ),
            ("notifications", "Wake-ups by NOTIFY.", self.notifications),
            (
                "loops",
                "Times the worker looked at the tables.",
                self.loops,
            ),
            ("errors", "Database errors (retried).", self.errors),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(out, "# HELP tusk_cron_{name}_total {help}");
            let _ = writeln!(out, "# TYPE tusk_cron_{name}_total counter");
            let _ = writeln!(out, "tusk_cron_{name}_total{{worker=\"{w}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP tusk_cron_lag_seconds Start of a run minus when it was due."
        );
        let _ = writeln!(out, "# TYPE tusk_cron_lag_seconds summary");
        let _ = writeln!(
            out,
            "tusk_cron_lag_seconds_sum{{worker=\"{w}\"}} {}",
            self.lag_sum.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "tusk_cron_lag_seconds_count{{worker=\"{w}\"}} {}",
            self.runs_started
        );
        let _ = writeln!(
            out,
            "# HELP tusk_cron_lag_last_seconds Lag of the latest run."
        );
        let _ = writeln!(out, "# TYPE tusk_cron_lag_last_seconds gauge");
        let _ = writeln!(
            out,
            "tusk_cron_lag_last_seconds{{worker=\"{w}\"}} {}",
            self.lag_last.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP tusk_cron_lag_max_seconds The largest lag seen."
        );
        let _ = writeln!(out, "# TYPE tusk_cron_lag_max_seconds gauge");
        let _ = writeln!(
            out,
            "tusk_cron_lag_max_seconds{{worker=\"{w}\"}} {}",
            self.lag_max.as_secs_f64()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prometheus_text_has_every_counter_once() {
        let c = super::Counters::default();
        super::inc(&c.started);
        super::inc(&c.succeeded);
        c.lag(std::time::Duration::from_millis(1500));
        let text = c.snapshot().prometheus("w\"1");
        assert!(
            text.contains("tusk_cron_runs_started_total{worker=\"w\\\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("tusk_cron_lag_seconds_sum{worker=\"w\\\"1\"} 1.5\n"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE").count(), 13);
    }
}
