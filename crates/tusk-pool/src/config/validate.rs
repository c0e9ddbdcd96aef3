//! Validation: values out of range are corrected, each with a warning that
//! names the key, the value given and the value applied (HikariCP clamps
//! the same way, but only logs). Pure; the table test is below.

use std::time::Duration;

use super::keys::fmt_duration;
use super::PoolConfig;

/// A setting that was out of range and corrected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// The setting's name (as in URL parameters, the environment and TOML).
    pub key: &'static str,
    /// The value given.
    pub value: String,
    /// The value applied instead.
    pub applied: String,
    /// Why the value given cannot be used.
    pub reason: &'static str,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pool setting {} = {} {}; using {}",
            self.key, self.value, self.reason, self.applied
        )
    }
}

struct Warnings(Vec<ConfigWarning>);

impl Warnings {
    fn add(&mut self, key: &'static str, value: String, applied: String, reason: &'static str) {
        self.0.push(ConfigWarning {
            key,
            value,
            applied,
            reason,
        });
    }
}

impl PoolConfig {
    /// Checks every setting and corrects those out of range, returning the
    /// config to apply and one [`ConfigWarning`] per correction (the pool
    /// also logs them). [`Pool::new`](crate::Pool::new) and
    /// [`Pool::reconfigure`](crate::Pool::reconfigure) validate what they
    /// are given. The corrections:
    ///
    /// | Setting | Out of range | Applied |
    /// |---|---|---|
    /// | `max_size` | 0 | 1 |
    /// | `min_idle` | above `max_size` | `max_size` |
    /// | `acquire_timeout` | 0 | 30 s (the default) |
    /// | `reset_timeout` | 0 | 5 s (the default) |
    /// | `idle_timeout`, `max_lifetime`, `leak_detection_threshold` | 0 | off |
    /// | `max_lifetime_jitter` | above half of `max_lifetime` | half of `max_lifetime` |
    /// | `max_pipeline_depth`, `breaker_threshold` | 0 | 1 |
    /// | `shards` | above `max_size` | `max_size` |
    /// | `reconnect_backoff_min` | 0 | 1 ms |
    /// | `reconnect_backoff_max` | below `reconnect_backoff_min` | `reconnect_backoff_min` |
    /// | `hot_statements` | empty text, or text that changes session state | dropped |
    pub fn validate(mut self) -> (PoolConfig, Vec<ConfigWarning>) {
        let mut w = Warnings(Vec::new());
        let d = PoolConfig::default();
        if self.max_size == 0 {
            w.add(
                "max_size",
                "0".into(),
                "1".into(),
                "allows no connection at all",
            );
            self.max_size = 1;
        }
        if self.min_idle > self.max_size {
            w.add(
                "min_idle",
                self.min_idle.to_string(),
                self.max_size.to_string(),
                "is above max_size",
            );
            self.min_idle = self.max_size;
        }
        if self.acquire_timeout.is_zero() {
            w.add(
                "acquire_timeout",
                "0s".into(),
                fmt_duration(d.acquire_timeout),
                "would fail every acquire that has to open or wait for a connection",
            );
            self.acquire_timeout = d.acquire_timeout;
        }
        if self.reset_timeout.is_zero() {
            w.add(
                "reset_timeout",
                "0s".into(),
                fmt_duration(d.reset_timeout),
                "would close every connection that needs a rollback or reset",
            );
            self.reset_timeout = d.reset_timeout;
        }
        for (key, field) in [
            ("idle_timeout", &mut self.idle_timeout),
            ("max_lifetime", &mut self.max_lifetime),
            (
                "leak_detection_threshold",
                &mut self.leak_detection_threshold,
            ),
        ] {
            if field.is_some_and(|t| t.is_zero()) {
                w.add(
                    key,
                    "0s".into(),
                    "off".into(),
                    "would apply to every connection at once (write off to disable it)",
                );
                *field = None;
            }
        }
        if let Some(l) = self.max_lifetime {
            if self.max_lifetime_jitter > l / 2 {
                w.add(
                    "max_lifetime_jitter",
                    fmt_duration(self.max_lifetime_jitter),
                    fmt_duration(l / 2),
                    "is above half of max_lifetime",
                );
                self.max_lifetime_jitter = l / 2;
            }
        }
        if self.max_pipeline_depth == 0 {
            w.add(
                "max_pipeline_depth",
                "0".into(),
                "1".into(),
                "must be at least 1",
            );
            self.max_pipeline_depth = 1;
        }
        if self.breaker_threshold == 0 {
            w.add(
                "breaker_threshold",
                "0".into(),
                "1".into(),
                "must be at least 1",
            );
            self.breaker_threshold = 1;
        }
        if self.shards > self.max_size {
            w.add(
                "shards",
                self.shards.to_string(),
                self.max_size.to_string(),
                "is above max_size (a shard would never hold a connection)",
            );
            self.shards = self.max_size;
        }
        if self.reconnect_backoff_min.is_zero() {
            w.add(
                "reconnect_backoff_min",
                "0s".into(),
                "1ms".into(),
                "would retry failed connects in a busy loop",
            );
            self.reconnect_backoff_min = Duration::from_millis(1);
        }
        if self.reconnect_backoff_max < self.reconnect_backoff_min {
            w.add(
                "reconnect_backoff_max",
                fmt_duration(self.reconnect_backoff_max),
                fmt_duration(self.reconnect_backoff_min),
                "is below reconnect_backoff_min",
            );
            self.reconnect_backoff_max = self.reconnect_backoff_min;
        }
        let mut kept = Vec::with_capacity(self.hot_statements.len());
        for s in std::mem::take(&mut self.hot_statements) {
            if s.trim().is_empty() {
                w.add(
                    "hot_statements",
                    format!("{s:?}"),
                    "(dropped)".into(),
                    "is empty",
                );
            } else if !crate::reset::scan(&s).is_clean() {
                w.add(
                    "hot_statements",
                    format!("{s:?}"),
                    "(dropped)".into(),
                    "may change session state, so it cannot be prepared ahead on every connection",
                );
            } else if !kept.contains(&s) {
                kept.push(s);
            }
        }
        self.hot_statements = kept;
        (self, w.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Edit = fn(&mut PoolConfig);
    type Check = fn(&PoolConfig) -> bool;
    /// The warning expected: key, value given, value applied.
    type Want = Option<(&'static str, &'static str, &'static str)>;

    /// The config validation table: a setting, the warning it gives (key,
    /// value, applied), and what the applied config holds.
    #[test]
    fn the_config_validation_table() {
        let cases: &[(&str, Edit, Want, Check)] = &[
            ("defaults", |_| {}, None, |c| c.max_size == 10),
            (
                "max_size 0",
                |c| c.max_size = 0,
                Some(("max_size", "0", "1")),
                |c| c.max_size == 1,
            ),
            (
                "min_idle above max_size",
                |c| (c.max_size, c.min_idle) = (4, 9),
                Some(("min_idle", "9", "4")),
                |c| c.min_idle == 4,
            ),
            (
                "min_idle equal to max_size is fine",
                |c| (c.max_size, c.min_idle) = (4, 4),
                None,
                |c| c.min_idle == 4,
            ),
            (
                "acquire_timeout 0",
                |c| c.acquire_timeout = Duration::ZERO,
                Some(("acquire_timeout", "0s", "30s")),
                |c| c.acquire_timeout == Duration::from_secs(30),
            ),
            (
                "reset_timeout 0",
                |c| c.reset_timeout = Duration::ZERO,
                Some(("reset_timeout", "0s", "5s")),
                |c| c.reset_timeout == Duration::from_secs(5),
            ),
            (
                "idle_timeout 0",
                |c| c.idle_timeout = Some(Duration::ZERO),
                Some(("idle_timeout", "0s", "off")),
                |c| c.idle_timeout.is_none(),
            ),
            (
                "max_lifetime 0",
                |c| c.max_lifetime = Some(Duration::ZERO),
                Some(("max_lifetime", "0s", "off")),
                |c| c.max_lifetime.is_none(),
            ),
            (
                "leak threshold 0",
                |c| c.leak_detection_threshold = Some(Duration::ZERO),
                Some(("leak_detection_threshold", "0s", "off")),
                |c| c.leak_detection_threshold.is_none(),
            ),
            (
                "short but nonzero timeouts are kept",
                |c| {
                    c.idle_timeout = Some(Duration::from_millis(200));
                    c.acquire_timeout = Duration::from_millis(1);
                },
                None,
                |c| c.idle_timeout == Some(Duration::from_millis(200)),
            ),
            (
                "jitter above half the lifetime",
                |c| {
                    c.max_lifetime = Some(Duration::from_secs(10));
                    c.max_lifetime_jitter = Duration::from_secs(30);
                },
                Some(("max_lifetime_jitter", "30s", "5s")),
                |c| c.max_lifetime_jitter == Duration::from_secs(5),
            ),
            (
                "jitter without a lifetime is moot",
                |c| {
                    c.max_lifetime = None;
                    c.max_lifetime_jitter = Duration::from_secs(3600);
                },
                None,
                |_| true,
            ),
            (
                "pipeline depth 0",
                |c| c.max_pipeline_depth = 0,
                Some(("max_pipeline_depth", "0", "1")),
                |c| c.max_pipeline_depth == 1,
            ),
            (
                "breaker threshold 0",
                |c| c.breaker_threshold = 0,
                Some(("breaker_threshold", "0", "1")),
                |c| c.breaker_threshold == 1,
            ),
            (
                "shards above max_size",
                |c| (c.max_size, c.shards) = (2, 8),
                Some(("shards", "8", "2")),
                |c| c.shards == 2 && c.shard_count() == 2,
            ),
            (
                "backoff min 0",
                |c| c.reconnect_backoff_min = Duration::ZERO,
                Some(("reconnect_backoff_min", "0s", "1ms")),
                |c| c.reconnect_backoff_min == Duration::from_millis(1),
            ),
            (
                "backoff max below min",
                |c| {
                    c.reconnect_backoff_min = Duration::from_millis(500);
                    c.reconnect_backoff_max = Duration::from_millis(100);
                },
                Some(("reconnect_backoff_max", "100ms", "500ms")),
                |c| c.reconnect_backoff_max == Duration::from_millis(500),
            ),
            (
                "hot statement that changes session state",
                |c| c.hot_statements = vec!["SET search_path = x".into()],
                Some(("hot_statements", "\"SET search_path = x\"", "(dropped)")),
                |c| c.hot_statements.is_empty(),
            ),
            (
                "empty hot statement",
                |c| c.hot_statements = vec!["  ".into(), "SELECT $1::int".into()],
                Some(("hot_statements", "\"  \"", "(dropped)")),
                |c| c.hot_statements == ["SELECT $1::int"],
            ),
            (
                "duplicate hot statements are merged silently",
                |c| c.hot_statements = vec!["SELECT 1".into(), "SELECT 1".into()],
                None,
                |c| c.hot_statements.len() == 1,
            ),
        ];
        for (name, edit, want, check) in cases {
            let mut c = PoolConfig::default();
            edit(&mut c);
            let (applied, warnings) = c.validate();
            match want {
                None => assert!(warnings.is_empty(), "{name}: {warnings:?}"),
                Some((key, value, to)) => {
                    assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
                    let w = &warnings[0];
                    assert_eq!(
                        (w.key, w.value.as_str(), w.applied.as_str()),
                        (*key, *value, *to),
                        "{name}"
                    );
                    let text = w.to_string();
                    assert!(
                        text.contains(key) && text.contains(value) && text.contains(to),
                        "{name}: {text}"
                    );
                }
            }
            assert!(check(&applied), "{name}: {applied:?}");
            // Validation is idempotent: the applied config is clean.
            assert!(applied.validate().1.is_empty(), "{name}");
        }
    }
}
