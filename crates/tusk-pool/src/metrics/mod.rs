//! One metrics registry, read three ways (DESIGN.md, "Observability has
//! one source"): the [`PoolStats`] snapshot, Prometheus text
//! ([`PoolStats::to_prometheus`]) and OpenTelemetry-named values
//! ([`PoolStats::to_otel`]).
//!
//! What is counted follows what pool users ask for most: wait time,
//! exhaustion and churn (sqlx PR #1860 and #1908, influxdb_iox PR #8327), a
//! leak counter (HikariCP #653). Names use Prometheus base units
//! throughout (HikariCP's exporter mixes nanoseconds and milliseconds).
//!
//! Counters are atomics; latencies go to `hdrhistogram` histograms (in
//! microseconds, 2 significant digits, fixed range, so recording never
//! allocates) behind uncontended mutexes. The snapshot reads exact
//! percentiles from them, and the bucket counts that the Prometheus
//! histograms (encoded by `prometheus-client`) and OpenTelemetry export.

mod otel;
mod prometheus;

pub use otel::{OtelMetric, OtelValue};

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

use crate::breaker::BreakerState;
use crate::reset::OPERATIONS;

/// Why a connection was closed (the `reason` label of `closed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    Broken,
    Evicted,
    MaxLifetime,
    IdleTimeout,
    CheckFailed,
    ResetFailed,
    Shutdown,
    Reconfigured,
}

impl CloseReason {
    const ALL: [CloseReason; 8] = [
        CloseReason::Broken,
        CloseReason::Evicted,
        CloseReason::MaxLifetime,
        CloseReason::IdleTimeout,
        CloseReason::CheckFailed,
        CloseReason::ResetFailed,
        CloseReason::Shutdown,
        CloseReason::Reconfigured,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            CloseReason::Broken => "broken",
            CloseReason::Evicted => "evicted",
            CloseReason::MaxLifetime => "max_lifetime",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::CheckFailed => "check_failed",
            CloseReason::ResetFailed => "reset_failed",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Reconfigured => "reconfigured",
        }
    }

    fn index(self) -> usize {
        CloseReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(0)
    }

    /// A nonzero code for an atomic (0 means none).
    pub(crate) fn code(self) -> u8 {
        u8::try_from(self.index() + 1).unwrap_or(1)
    }

    /// The reason with this [`code`](Self::code).
    pub(crate) fn from_code(c: u8) -> Option<CloseReason> {
        CloseReason::ALL
            .get(usize::from(c).checked_sub(1)?)
            .copied()
    }
}

/// SQLSTATE classes evictions are counted under.
const EVICT_CLASSES: [&str; 6] = ["08", "57", "25", "53", "io", "other"];

/// A latency histogram.
pub(crate) struct Hist(Mutex<HistInner>);

struct HistInner {
    h: Option<Histogram<u64>>,
    sum_us: u64,
}

impl Hist {
    fn new() -> Hist {
        Hist(Mutex::new(HistInner {
            h: Histogram::new_with_bounds(1, 3_600_000_000, 2).ok(),
            sum_us: 0,
        }))
    }

    pub(crate) fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut g = self.0.lock();
        g.sum_us = g.sum_us.saturating_add(us);
        if let Some(h) = g.h.as_mut() {
            h.saturating_record(us);
        }
    }

    fn snapshot(&self) -> Quantiles {
        let g = self.0.lock();
        let us = Duration::from_micros;
        match &g.h {
            Some(h) if !h.is_empty() => Quantiles {
                count: h.len(),
                sum: us(g.sum_us),
                p50: us(h.value_at_quantile(0.5)),
                p95: us(h.value_at_quantile(0.95)),
                p99: us(h.value_at_quantile(0.99)),
                p999: us(h.value_at_quantile(0.999)),
                max: us(h.max()),
                buckets: OTEL_BUCKETS_US
                    .iter()
                    .map(|le| (micros_to_secs(*le), h.count_between(0, *le)))
                    .collect(),
                histogram: prometheus::BUCKETS_US
                    .iter()
                    .map(|le| (micros_to_secs(*le), h.count_between(0, *le)))
                    .collect(),
            },
            _ => Quantiles::default(),
        }
    }
}

/// OpenTelemetry's advised boundaries for `db.client.operation.duration`
/// (0.001 s to 10 s), in microseconds.
const OTEL_BUCKETS_US: [u64; 9] = [
    1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000, 10_000_000,
];

#[allow(clippy::cast_precision_loss)] // bucket bounds are exact in f64
fn micros_to_secs(us: u64) -> f64 {
    us as f64 / 1e6
}

/// The registry.
pub(crate) struct Metrics {
    pub(crate) created: AtomicU64,
    closed: [AtomicU64; 8],
    pub(crate) acquires: AtomicU64,
    pub(crate) acquire_timeouts: AtomicU64,
    pub(crate) leaked: AtomicU64,
    evicted: [AtomicU64; 6],
    pub(crate) retries: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) rollbacks: AtomicU64,
    pub(crate) resets: AtomicU64,
    pub(crate) connect_errors: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) acquire_wait: Hist,
    pub(crate) setup: Hist,
    /// One histogram per operation label, created on first use.
    queries: [OnceLock<Hist>; OPERATIONS.len()],
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        Metrics {
            created: AtomicU64::new(0),
            closed: Default::default(),
            acquires: AtomicU64::new(0),
            acquire_timeouts: AtomicU64::new(0),
            leaked: AtomicU64::new(0),
            evicted: Default::default(),
            retries: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            rollbacks: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            acquire_wait: Hist::new(),
            setup: Hist::new(),
            queries: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    pub(crate) fn closed(&self, r: CloseReason) {
        self.closed[r.index()].fetch_add(1, Relaxed);
    }

    pub(crate) fn evicted(&self, class: &'static str) {
        let i = EVICT_CLASSES.iter().position(|c| *c == class).unwrap_or(5);
        self.evicted[i].fetch_add(1, Relaxed);
    }

    /// Records one query's duration under its operation label.
    pub(crate) fn query(&self, op: &'static str, d: Duration) {
        let i = OPERATIONS
            .iter()
            .position(|o| *o == op)
            .unwrap_or(OPERATIONS.len() - 1);
        self.queries[i].get_or_init(Hist::new).record(d);
    }

    pub(crate) fn snapshot(
        &self,
        gauges: Gauges,
        breaker: BreakerState,
        breaker_opened_total: u64,
    ) -> PoolStats {
        PoolStats {
            name: gauges.name,
            size: gauges.size,
            idle: gauges.idle,
            in_use: gauges.in_use,
            waiting: gauges.waiting,
            min_idle: gauges.min_idle,
            max_size: gauges.max_size,
            created_total: self.created.load(Relaxed),
            closed_total: CloseReason::ALL
                .iter()
                .map(|r| (r.label(), self.closed[r.index()].load(Relaxed)))
                .collect(),
            acquire_total: self.acquires.load(Relaxed),
            acquire_timeouts_total: self.acquire_timeouts.load(Relaxed),
            leaked_total: self.leaked.load(Relaxed),
            evicted_total: EVICT_CLASSES
                .iter()
                .zip(&self.evicted)
                .map(|(c, n)| (*c, n.load(Relaxed)))
                .collect(),
            retries_total: self.retries.load(Relaxed),
            commits_total: self.commits.load(Relaxed),
            rollbacks_total: self.rollbacks.load(Relaxed),
            resets_total: self.resets.load(Relaxed),
            connect_errors_total: self.connect_errors.load(Relaxed),
            bytes_sent_total: self.bytes_sent.load(Relaxed),
            bytes_received_total: self.bytes_received.load(Relaxed),
            acquire_wait: self.acquire_wait.snapshot(),
            connection_setup: self.setup.snapshot(),
            queries: OPERATIONS
                .iter()
                .zip(&self.queries)
                .filter_map(|(l, h)| Some((*l, h.get()?.snapshot())))
                .collect(),
            breaker,
            breaker_opened_total,
        }
    }
}

/// Gauges read from the pool's live state.
pub(crate) struct Gauges {
    pub(crate) name: String,
    pub(crate) size: usize,
    pub(crate) idle: usize,
    pub(crate) in_use: usize,
    pub(crate) waiting: usize,
    pub(crate) min_idle: usize,
    pub(crate) max_size: usize,
}

/// A latency distribution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantiles {
    /// Samples.
    pub count: u64,
    /// Sum of all samples.
    pub sum: Duration,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest sample.
    pub max: Duration,
    /// Cumulative counts at OpenTelemetry's advised bucket boundaries
    /// (seconds, count of samples at or below).
    pub buckets: Vec<(f64, u64)>,
    /// Cumulative counts at the Prometheus histograms' bucket boundaries
    /// (100 µs to 10 s; seconds, count of samples at or below).
    pub histogram: Vec<(f64, u64)>,
}

/// A snapshot of the pool's gauges, counters and histograms.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolStats {
    /// The pool's name.
    pub name: String,
    /// Open connections (idle and in use).
    pub size: usize,
    /// Idle connections.
    pub idle: usize,
    /// Connections in use (handed out or shared by the pool's query methods).
    pub in_use: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
    /// Configured `min_idle`.
    pub min_idle: usize,
    /// Configured `max_size`.
    pub max_size: usize,
    /// Connections opened.
    pub created_total: u64,
    /// Connections closed, by reason.
    pub closed_total: Vec<(&'static str, u64)>,
    /// Successful acquires.
    pub acquire_total: u64,
    /// Acquires that timed out.
    pub acquire_timeouts_total: u64,
    /// Connections reported as leaked.
    pub leaked_total: u64,
    /// Connections evicted by the SQLSTATE policy, by SQLSTATE class (`io`: no SQLSTATE).
    pub evicted_total: Vec<(&'static str, u64)>,
    /// Transaction attempts retried (40001, 40P01, or a dead connection at BEGIN).
    pub retries_total: u64,
    /// Transactions committed by [`Pool::transaction`](crate::Pool::transaction).
    pub commits_total: u64,
    /// Transactions rolled back by [`Pool::transaction`](crate::Pool::transaction).
    pub rollbacks_total: u64,
    /// Session resets run on returned connections.
    pub resets_total: u64,
    /// Failed connection attempts.
    pub connect_errors_total: u64,
    /// Bytes of protocol messages written to the server (before TLS),
    /// counted when a connection comes back or closes.
    pub bytes_sent_total: u64,
    /// Bytes read from the server (after TLS), counted when a connection
    /// comes back or closes.
    pub bytes_received_total: u64,
    /// Time callers waited in `acquire`.
    pub acquire_wait: Quantiles,
    /// Time to open a connection.
    pub connection_setup: Quantiles,
    /// Query durations by operation (`SELECT`, `INSERT`, ...).
    pub queries: Vec<(&'static str, Quantiles)>,
    /// The circuit breaker's state.
    pub breaker: BreakerState,
    /// Times the circuit breaker opened (a failed half-open probe reopens it).
    pub breaker_opened_total: u64,
}

impl PoolStats {
    /// Connections closed for any reason.
    pub fn closed_sum(&self) -> u64 {
        self.closed_total.iter().map(|(_, n)| n).sum()
    }
}
