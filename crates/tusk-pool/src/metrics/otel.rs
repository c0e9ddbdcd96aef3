//! OpenTelemetry-named values of a [`PoolStats`], after the database
//! semantic conventions (`docs/database/database-metrics.md`: pool metrics
//! are experimental there). Hand them to whatever OTel SDK the application
//! uses; tusk depends on none.

use super::PoolStats;

/// One OpenTelemetry data point.
#[derive(Debug, Clone, PartialEq)]
pub struct OtelMetric {
    /// The instrument name, e.g. `db.client.connection.count`.
    pub name: &'static str,
    /// The unit (UCUM): `{connection}`, `{request}`, `s`, ...
    pub unit: &'static str,
    /// Attributes, e.g. `db.client.connection.state = idle`.
    pub attributes: Vec<(&'static str, String)>,
    /// The value.
    pub value: OtelValue,
}

/// The value of an [`OtelMetric`].
#[derive(Debug, Clone, PartialEq)]
pub enum OtelValue {
    /// An UpDownCounter or gauge reading.
    Gauge(f64),
    /// A monotonic counter.
    Counter(u64),
    /// A histogram in seconds: count, sum, and cumulative counts at the
    /// advised boundaries `[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]`.
    Histogram {
        /// Samples.
        count: u64,
        /// Sum in seconds.
        sum: f64,
        /// (upper bound in seconds, cumulative count).
        buckets: Vec<(f64, u64)>,
    },
}

#[allow(clippy::cast_precision_loss)] // connection counts are small
fn g(v: usize) -> OtelValue {
    OtelValue::Gauge(v as f64)
}

impl PoolStats {
    /// The snapshot as OpenTelemetry data points: `db.client.connection.count`
    /// (by `db.client.connection.state`), `.idle.max`, `.idle.min`, `.max`,
    /// `.pending_requests`, `.timeouts`, `.create_time`, `.wait_time`,
    /// `tusk.pool.network.io` (bytes, by `network.io.direction`: the
    /// conventions have no database-client name for it), and
    /// `db.client.operation.duration` by `db.operation.name`; every point
    /// carries `db.client.connection.pool.name` (and `db.system.name` where
    /// the conventions ask for it).
    pub fn to_otel(&self) -> Vec<OtelMetric> {
        let pool = || ("db.client.connection.pool.name", self.name.clone());
        let m = |name, unit, attributes, value| OtelMetric {
            name,
            unit,
            attributes,
            value,
        };
        let hist = |q: &super::Quantiles| OtelValue::Histogram {
            count: q.count,
            sum: q.sum.as_secs_f64(),
            buckets: q.buckets.clone(),
        };
        let mut v = vec![
            m(
                "db.client.connection.count",
                "{connection}",
                vec![pool(), ("db.client.connection.state", "idle".into())],
                g(self.idle),
            ),
            m(
                "db.client.connection.count",
                "{connection}",
                vec![pool(), ("db.client.connection.state", "used".into())],
                g(self.in_use),
            ),
            m(
                "db.client.connection.idle.max",
                "{connection}",
                vec![pool()],
                g(self.max_size),
            ),
            m(
                "db.client.connection.idle.min",
                "{connection}",
                vec![pool()],
                g(self.min_idle),
            ),
            m(
                "db.client.connection.max",
                "{connection}",
                vec![pool()],
                g(self.max_size),
            ),
            m(
                "db.client.connection.pending_requests",
                "{request}",
                vec![pool()],
                g(self.waiting),
            ),
            m(
                "db.client.connection.timeouts",
                "{timeout}",
                vec![pool()],
                OtelValue::Counter(self.acquire_timeouts_total),
            ),
            m(
                "db.client.connection.create_time",
                "s",
                vec![pool()],
                hist(&self.connection_setup),
            ),
            m(
                "db.client.connection.wait_time",
                "s",
                vec![pool()],
                hist(&self.acquire_wait),
            ),
        ];
        for (direction, n) in [
            ("transmit", self.bytes_sent_total),
            ("receive", self.bytes_received_total),
        ] {
            v.push(m(
                "tusk.pool.network.io",
                "By",
                vec![pool(), ("network.io.direction", direction.into())],
                OtelValue::Counter(n),
            ));
        }
        for (op, q) in &self.queries {
            v.push(m(
                "db.client.operation.duration",
                "s",
                vec![
                    ("db.system.name", "postgresql".into()),
                    ("db.operation.name", (*op).into()),
                    pool(),
                ],
                hist(q),
            ));
        }
        v
    }
}
