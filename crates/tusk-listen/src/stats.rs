//! The listener's counters: a [`ListenerStats`] snapshot, and the same
//! figures as Prometheus text.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// The counters the reader task bumps.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub received: AtomicU64,
    pub unrouted: AtomicU64,
    pub outbox_fetched: AtomicU64,
    pub outbox_errors: AtomicU64,
    pub reconnects: AtomicU64,
    pub connect_attempts: AtomicU64,
    pub keepalives: AtomicU64,
    pub keepalive_failures: AtomicU64,
    /// `dispatched` of subscriptions that are gone.
    pub retired_dispatched: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ListenerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ListenerStats {
            received: get(&self.received),
            dispatched: get(&self.retired_dispatched),
            dropped: 0,
            unrouted: get(&self.unrouted),
            queued: 0,
            lag: Duration::ZERO,
            max_lag: Duration::ZERO,
            generation: 0,
            reconnects: get(&self.reconnects),
            connect_attempts: get(&self.connect_attempts),
            connected: false,
            subscriptions: 0,
            channels: 0,
            outbox_fetched: get(&self.outbox_fetched),
            outbox_errors: get(&self.outbox_errors),
            keepalives: get(&self.keepalives),
            keepalive_failures: get(&self.keepalive_failures),
            server_queue_usage: None,
        }
    }
}

/// A snapshot of a [`Listener`](crate::Listener)'s counters
/// ([`Listener::stats`](crate::Listener::stats)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Notifications read from the connection.
    pub received: u64,
    /// Notifications handed to handlers (taken from their queues); one
    /// notification matching three subscriptions counts three times.
    pub dispatched: u64,
    /// Notifications dropped by full queues (the [`Overflow`](crate::Overflow)
    /// policy), over the live subscriptions.
    pub dropped: u64,
    /// Notifications no subscription wanted (a topic nobody matches on a
    /// channel that is listened to, or one that arrived as its last
    /// subscription left).
    pub unrouted: u64,
    /// Notifications waiting in subscription queues now.
    pub queued: usize,
    /// The current lag: how long the oldest queued notification has waited.
    pub lag: Duration,
    /// The longest a notification waited in a queue before its handler
    /// took it, over the live subscriptions.
    pub max_lag: Duration,
    /// The connection generation (0 first, one more per reconnect).
    pub generation: u64,
    /// Successful reconnects.
    pub reconnects: u64,
    /// Connection attempts made to reconnect (failed ones included).
    pub connect_attempts: u64,
    /// Whether a connection is listening now.
    pub connected: bool,
    /// Live subscriptions (handlers).
    pub subscriptions: usize,
    /// Channels `LISTEN`ed.
    pub channels: usize,
    /// Payloads read from the outbox.
    pub outbox_fetched: u64,
    /// Outbox notifications dropped because their row could not be read.
    pub outbox_errors: u64,
    /// Keepalive checks run.
    pub keepalives: u64,
    /// Keepalive checks that failed or timed out.
    pub keepalive_failures: u64,
    /// The server's `pg_notification_queue_usage()` (0 to 1) at the last
    /// keepalive: how full the server's notification queue is, which a
    /// slow listener anywhere on the server fills.
    pub server_queue_usage: Option<f64>,
}

fn gauge(v: usize) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

impl ListenerStats {
    /// The snapshot as Prometheus text exposition (format 0.0.4, encoded
    /// by `prometheus-client`, as tusk-pool's metrics are), every series
    /// labelled `listener="<name>"`: counters
    /// `tusk_listen_received_total`, `_dispatched_total`, `_dropped_total`,
    /// `_unrouted_total`, `_reconnects_total`, `_outbox_fetched_total`,
    /// `_outbox_errors_total`, `_keepalive_failures_total`; gauges
    /// `tusk_listen_queued`, `tusk_listen_lag_seconds`,
    /// `tusk_listen_max_lag_seconds`, `tusk_listen_generation`,
    /// `tusk_listen_connected`, `tusk_listen_subscriptions`,
    /// `tusk_listen_server_queue_usage`.
    pub fn to_prometheus(&self, name: &str) -> String {
        let label = (Cow::Borrowed("listener"), Cow::Owned(name.to_owned()));
        let mut r = Registry::with_labels(std::iter::once(label));
        for (metric, help, v) in [
            (
                "tusk_listen_received",
                "Notifications read from the connection",
                self.received,
            ),
            (
                "tusk_listen_dispatched",
                "Notifications handed to handlers",
                self.dispatched,
            ),
            (
                "tusk_listen_dropped",
                "Notifications dropped by full handler queues",
                self.dropped,
            ),
            (
                "tusk_listen_unrouted",
                "Notifications no subscription matched",
                self.unrouted,
            ),
            (
                "tusk_listen_reconnects",
                "Reconnects (each followed by a Resync)",
                self.reconnects,
            ),
            (
                "tusk_listen_outbox_fetched",
                "Payloads read from the outbox",
                self.outbox_fetched,
            ),
            (
                "tusk_listen_outbox_errors",
                "Outbox payloads that could not be read",
                self.outbox_errors,
            ),
            (
                "tusk_listen_keepalive_failures",
                "Keepalive checks failed or timed out",
                self.keepalive_failures,
            ),
        ] {
            r.register(metric, help, ConstCounter::new(v));
        }
        r.register(
            "tusk_listen_queued",
            "Notifications waiting in handler queues",
            gauge(self.queued),
        );
        r.register(
            "tusk_listen_subscriptions",
            "Live subscriptions",
            gauge(self.subscriptions),
        );
        r.register(
            "tusk_listen_generation",
            "Connection generation",
            ConstGauge::new(i64::try_from(self.generation).unwrap_or(i64::MAX)),
        );
        r.register(
            "tusk_listen_connected",
            "1 while a connection listens",
            ConstGauge::new(i64::from(self.connected)),
        );
        r.register(
            "tusk_listen_lag_seconds",
            "Age of the oldest queued notification",
            ConstGauge::new(self.lag.as_secs_f64()),
        );
        r.register(
            "tusk_listen_max_lag_seconds",
            "Longest wait of a notification in a handler queue",
            ConstGauge::new(self.max_lag.as_secs_f64()),
        );
        if let Some(u) = self.server_queue_usage {
            r.register(
                "tusk_listen_server_queue_usage",
                "pg_notification_queue_usage() at the last keepalive",
                ConstGauge::new(u),
            );
        }
        let mut out = String::new();
        // (Writing to a String cannot fail.)
        let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_the_families() {
        let mut s = Counters::default().snapshot();
        s.received = 5;
        s.lag = Duration::from_millis(250);
        s.server_queue_usage = Some(0.5);
        let text = s.to_prometheus("main");
        assert!(
            text.contains("tusk_listen_received_total{listener=\"main\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("tusk_listen_lag_seconds{listener=\"main\"} 0.25"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tusk_listen_dropped counter"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
