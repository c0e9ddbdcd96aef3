//! Prometheus text exposition (format 0.0.4) of a [`PoolStats`], encoded by
//! `prometheus-client`: base units (`_seconds`, `_bytes`), counters end in
//! `_total`, every family has `# HELP` and `# TYPE`, latencies are
//! bucketed histograms (which, unlike summaries, aggregate across
//! instances; the exact percentiles stay in [`PoolStats`]). Every series
//! carries `pool="<name>"`.

use std::borrow::Cow;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use super::{PoolStats, Quantiles};
use crate::breaker::BreakerState;

/// The upper bounds of the latency histograms, in seconds: 100 µs to 10 s
/// (OpenTelemetry's advised 1 ms to 10 s, with finer steps below 1 ms,
/// where a pooled query on a local network lands).
pub(crate) const BUCKETS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// A histogram as the snapshot holds it: per-bucket counts, the last
/// bucket `+Inf`.
#[derive(Debug)]
struct Histogram {
    sum: f64,
    count: u64,
    buckets: Vec<(f64, u64)>,
}

impl Histogram {
    fn of(q: &Quantiles) -> Histogram {
        let mut buckets = Vec::with_capacity(q.histogram.len() + 1);
        let mut below = 0;
        for (le, cumulative) in &q.histogram {
            buckets.push((*le, cumulative.saturating_sub(below)));
            below = *cumulative;
        }
        buckets.push((f64::INFINITY, q.count.saturating_sub(below)));
        Histogram {
            sum: q.sum.as_secs_f64(),
            count: q.count,
            buckets,
        }
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Series of one family told apart by one label.
#[derive(Debug)]
struct ByLabel<M> {
    label: &'static str,
    series: Vec<(&'static str, M)>,
}

impl<M: EncodeMetric + TypedMetric> EncodeMetric for ByLabel<M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (value, metric) in &self.series {
            metric.encode(encoder.encode_family(&[(self.label, *value)])?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

fn by<M>(label: &'static str, series: impl IntoIterator<Item = (&'static str, M)>) -> ByLabel<M> {
    ByLabel {
        label,
        series: series.into_iter().collect(),
    }
}

fn gauge(v: usize) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

impl PoolStats {
    /// Renders the snapshot as Prometheus text exposition (format 0.0.4).
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
    /// | `tusk_pool_acquire_duration_seconds`, `tusk_pool_connection_setup_seconds` | histogram | `le` |
    /// | `tusk_pool_query_duration_seconds` | histogram | `operation`, `le` |
    pub fn to_prometheus(&self) -> String {
        let pool = (Cow::Borrowed("pool"), Cow::Owned(self.name.clone()));
        let mut r = Registry::with_labels(std::iter::once(pool));
        r.register(
            "tusk_pool_connections",
            "Open connections by state",
            by(
                "state",
                [("idle", gauge(self.idle)), ("used", gauge(self.in_use))],
            ),
        );
        for (name, help, v) in [
            ("tusk_pool_connections_size", "Open connections", self.size),
            (
                "tusk_pool_connections_min",
                "Configured min_idle",
                self.min_idle,
            ),
            (
                "tusk_pool_connections_max",
                "Configured max_size",
                self.max_size,
            ),
            (
                "tusk_pool_pending_requests",
                "Callers waiting for a connection",
                self.waiting,
            ),
        ] {
            r.register(name, help, gauge(v));
        }
        let open = match self.breaker {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 0.5,
        };
        r.register(
            "tusk_pool_breaker_open",
            "Circuit breaker: 0 closed, 1 open, 0.5 half-open",
            ConstGauge::new(open),
        );
        // Counters are named without `_total`: the encoder appends it.
        for (name, help, v) in [
            (
                "tusk_pool_connections_created",
                "Connections opened",
                self.created_total,
            ),
            (
                "tusk_pool_acquires",
                "Successful acquires",
                self.acquire_total,
            ),
            (
                "tusk_pool_acquire_timeouts",
                "Acquires that timed out",
                self.acquire_timeouts_total,
            ),
            (
                "tusk_pool_leaked",
                "Connections held past the leak detection threshold",
                self.leaked_total,
            ),
            (
                "tusk_pool_retries",
                "Transaction attempts retried",
                self.retries_total,
            ),
            (
                "tusk_pool_commits",
                "Transactions committed",
                self.commits_total,
            ),
            (
                "tusk_pool_rollbacks",
                "Transactions rolled back",
                self.rollbacks_total,
            ),
            (
                "tusk_pool_resets",
                "Session resets of returned connections",
                self.resets_total,
            ),
            (
                "tusk_pool_connect_errors",
                "Failed connection attempts",
                self.connect_errors_total,
            ),
            (
                "tusk_pool_breaker_opened",
                "Times the circuit breaker opened",
                self.breaker_opened_total,
            ),
            (
                "tusk_pool_sent_bytes",
                "Bytes written to the server (protocol messages, before TLS), counted when connections come back or close",
                self.bytes_sent_total,
            ),
            (
                "tusk_pool_received_bytes",
                "Bytes read from the server (after TLS), counted when connections come back or close",
                self.bytes_received_total,
            ),
        ] {
            r.register(name, help, ConstCounter::new(v));
        }
        r.register(
            "tusk_pool_connections_closed",
            "Connections closed, by reason",
            by(
                "reason",
                self.closed_total
                    .iter()
                    .map(|(reason, v)| (*reason, ConstCounter::new(*v))),
            ),
        );
        r.register(
            "tusk_pool_evicted",
            "Connections evicted by the SQLSTATE policy, by SQLSTATE class",
            by(
                "class",
                self.evicted_total
                    .iter()
                    .map(|(class, v)| (*class, ConstCounter::new(*v))),
            ),
        );
        r.register(
            "tusk_pool_acquire_duration_seconds",
            "Time callers waited for a connection",
            Histogram::of(&self.acquire_wait),
        );
        r.register(
            "tusk_pool_connection_setup_seconds",
            "Time to open a connection",
            Histogram::of(&self.connection_setup),
        );
        r.register(
            "tusk_pool_query_duration_seconds",
            "Query duration by operation",
            by(
                "operation",
                self.queries.iter().map(|(op, q)| (*op, Histogram::of(q))),
            ),
        );
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail; the encoder fails only on a
        // writer error.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &r);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn histograms_are_cumulative_and_end_at_inf() {
        let q = Quantiles {
            count: 5,
            sum: Duration::from_millis(7),
            histogram: vec![(0.001, 2), (0.005, 4)],
            ..Quantiles::default()
        };
        let h = Histogram::of(&q);
        assert_eq!(h.buckets, vec![(0.001, 2), (0.005, 2), (f64::INFINITY, 1)]);
        let gauges = crate::metrics::Gauges {
            name: "a \"b\"".into(),
            size: 0,
            idle: 0,
            in_use: 0,
            waiting: 0,
            min_idle: 0,
            max_size: 1,
        };
        let mut stats = crate::metrics::Metrics::new().snapshot(gauges, BreakerState::Closed, 0);
        stats.queries = vec![("SELECT", q)];
        let text = stats.to_prometheus();
        for want in [
            "# TYPE tusk_pool_query_duration_seconds histogram",
            "tusk_pool_query_duration_seconds_bucket{pool=\"a \\\"b\\\"\",operation=\"SELECT\",le=\"0.001\"} 2",
            "tusk_pool_query_duration_seconds_bucket{pool=\"a \\\"b\\\"\",operation=\"SELECT\",le=\"0.005\"} 4",
            "tusk_pool_query_duration_seconds_bucket{pool=\"a \\\"b\\\"\",operation=\"SELECT\",le=\"+Inf\"} 5",
            "tusk_pool_query_duration_seconds_count{pool=\"a \\\"b\\\"\",operation=\"SELECT\"} 5",
            "# TYPE tusk_pool_acquires_total counter",
            "tusk_pool_acquires_total{pool=\"a \\\"b\\\"\"} 0",
        ] {
            assert!(text.contains(want), "{want}\nnot in\n{text}");
        }
        assert!(!text.contains("quantile"), "{text}");
    }
}
