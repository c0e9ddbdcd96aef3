//! The pool's settings by name: one table shared by URL parameters
//! (`pool_<key>`), the environment (`TUSK_POOL_<KEY>`) and TOML (`[pool]`
//! `<key>`). Pure: parsing only, unit-tested below.

use std::time::Duration;

use tusk::{Error, ErrorKind};

use super::{PoolConfig, ResetPolicy};

/// Every key, in the order docs/pool.md lists them. `url` sets `connect`;
/// `hot_statements` takes a list (TOML array, or statements separated by
/// `;;` elsewhere).
pub(crate) const KEYS: [&str; 20] = [
    "url",
    "name",
    "max_size",
    "min_idle",
    "acquire_timeout",
    "idle_timeout",
    "max_lifetime",
    "max_lifetime_jitter",
    "idle_check_threshold",
    "leak_detection_threshold",
    "leak_backtrace",
    "shards",
    "max_pipeline_depth",
    "share_connections",
    "reset",
    "reset_timeout",
    "reconnect_backoff_min",
    "reconnect_backoff_max",
    "breaker_threshold",
    "hot_statements",
];

/// The keys a user may set.
pub(crate) fn keys() -> &'static [&'static str] {
    &KEYS
}

/// A driver's error about a connection string, with any password hidden.
fn hide(e: impl Into<Error>) -> Error {
    let e: Error = e.into();
    Error::new(e.kind(), super::redact::redact(&e.to_string()))
}

fn bad(key: &str, value: &str, expected: &str) -> Error {
    // The value is shown (the user needs to see what did not parse), with
    // any password in it hidden.
    Error::new(
        ErrorKind::Configuration,
        format!(
            "pool setting {key} = {:?} is not valid: expected {expected}",
            super::redact::redact(value)
        ),
    )
}

/// An unknown key: the error names it and lists the known ones. Its value
/// is never shown: an unknown key may well be a secret
/// (`TUSK_POOL_PASSWORD`, `[pool] password = ..`).
pub(crate) fn unknown(key: &str, origin: &str) -> Error {
    Error::new(
        ErrorKind::Configuration,
        format!(
            "unknown pool setting {origin}{key} (its value is not shown); known settings: {}",
            keys().join(", ")
        ),
    )
}

/// Parses a duration: `500ms`, `5s`, `2m`, `1h`, `1.5s`, or bare seconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    // Nanoseconds per unit.
    let per: u64 = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" | "µs" => 1_000,
        "m" | "min" | "mins" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    if num.is_empty() {
        return None;
    }
    match num.split_once('.') {
        None => Some(Duration::from_nanos(
            num.parse::<u64>().ok()?.checked_mul(per)?,
        )),
        Some((whole, frac)) => {
            if frac.is_empty() || frac.contains('.') || frac.len() > 9 {
                return None;
            }
            let whole: u64 = if whole.is_empty() {
                0
            } else {
                whole.parse().ok()?
            };
            let digits = u32::try_from(frac.len()).ok()?;
            let frac_n: u64 = frac.parse().ok()?;
            // per * frac / 10^digits, exact for the units above.
            let frac_ns = u128::from(per) * u128::from(frac_n) / 10u128.pow(digits);
            let total = u128::from(whole) * u128::from(per) + frac_ns;
            Some(Duration::from_nanos(u64::try_from(total).ok()?))
        }
    }
}

/// Formats a duration the way the parser reads it back.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        let s = d.as_secs();
        if s != 0 && s.is_multiple_of(3600) {
            return format!("{}h", s / 3600);
        }
        if s != 0 && s.is_multiple_of(60) {
            return format!("{}m", s / 60);
        }
        return format!("{s}s");
    }
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        return format!("{}ms", d.as_millis());
    }
    format!("{}us", d.as_micros())
}

fn duration(key: &str, v: &str) -> Result<Duration, Error> {
    parse_duration(v).ok_or_else(|| {
        bad(
            key,
            v,
            "a duration such as 500ms, 5s, 2m, 1h, or a number of seconds",
        )
    })
}

fn opt_duration(key: &str, v: &str) -> Result<Option<Duration>, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "never" | "disabled" => Ok(None),
        _ => parse_duration(v).map(Some).ok_or_else(|| {
            bad(
                key,
                v,
                "a duration such as 500ms, 5s, 2m, 1h, a number of seconds, or off",
            )
        }),
    }
}

fn count<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, Error> {
    v.trim()
        .parse()
        .map_err(|_| bad(key, v, "a whole number (0 or more)"))
}

fn boolean(key: &str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(bad(key, v, "true or false (on/off, yes/no, 1/0)")),
    }
}

/// Splits a list of statements given as one string: `;;` separates them
/// (a single `;` may appear inside a statement's text, e.g. in a literal).
pub(crate) fn split_statements(v: &str) -> Vec<String> {
    v.split(";;")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl PoolConfig {
    /// Sets one setting by name from its text, as URL parameters
    /// (`pool_<key>`), the environment (`TUSK_POOL_<KEY>`) and TOML spell
    /// them: `max_size = "16"`, `acquire_timeout = "5s"`,
    /// `idle_timeout = "off"`. Durations take `500ms`, `5s`, `2m`, `1h` or
    /// bare seconds. An unknown key or a value that does not parse is a
    /// [`Configuration`](tusk::ErrorKind::Configuration) error naming both;
    /// values out of range are corrected later by [`PoolConfig::validate`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut PoolConfig, Error> {
        let k = key.trim().to_ascii_lowercase();
        let v = value;
        match k.as_str() {
            "url" => {
                let (connect, pool_params) = super::sources::split_url(v)?;
                self.connect = tusk::Config::parse(&connect)
                    .map_err(hide)?
                    .with_env_defaults()
                    .map_err(hide)?;
                for (pk, pv) in pool_params {
                    self.set(&pk, &pv)?;
                }
            }
            "name" => self.name = v.to_string(),
            "max_size" => self.max_size = count(&k, v)?,
            "min_idle" => self.min_idle = count(&k, v)?,
            "acquire_timeout" => self.acquire_timeout = duration(&k, v)?,
            "idle_timeout" => self.idle_timeout = opt_duration(&k, v)?,
            "max_lifetime" => self.max_lifetime = opt_duration(&k, v)?,
            "max_lifetime_jitter" => self.max_lifetime_jitter = duration(&k, v)?,
            "idle_check_threshold" => self.idle_check_threshold = duration(&k, v)?,
            "leak_detection_threshold" => self.leak_detection_threshold = opt_duration(&k, v)?,
            "leak_backtrace" => self.leak_backtrace = boolean(&k, v)?,
            "shards" => self.shards = count(&k, v)?,
            "max_pipeline_depth" => self.max_pipeline_depth = count(&k, v)?,
            "share_connections" => self.share_connections = boolean(&k, v)?,
            "reset" => {
                self.reset = match v.trim().to_ascii_lowercase().as_str() {
                    // `always` was the full reset's name.
                    "full" | "always" => ResetPolicy::Full,
                    "tracked" => ResetPolicy::Tracked,
                    _ => return Err(bad(&k, v, "full or tracked")),
                }
            }
            "reset_timeout" => self.reset_timeout = duration(&k, v)?,
            "reconnect_backoff_min" => self.reconnect_backoff_min = duration(&k, v)?,
            "reconnect_backoff_max" => self.reconnect_backoff_max = duration(&k, v)?,
            "breaker_threshold" => self.breaker_threshold = count(&k, v)?,
            "hot_statements" => self.hot_statements = split_statements(v),
            _ => return Err(unknown(key, "")),
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        let cases: &[(&str, Option<Duration>)] = &[
            ("500ms", Some(ms(500))),
            ("5s", Some(ms(5000))),
            ("5", Some(ms(5000))),
            (" 2m ", Some(ms(120_000))),
            ("1h", Some(ms(3_600_000))),
            ("1.5s", Some(ms(1500))),
            ("0.25", Some(ms(250))),
            ("250us", Some(Duration::from_micros(250))),
            ("", None),
            ("s", None),
            ("5 parsecs", None),
            ("-1s", None),
            ("1e3", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), *want, "{text:?}");
        }
        for d in [ms(500), ms(5000), ms(120_000), ms(3_600_000), ms(0)] {
            assert_eq!(parse_duration(&fmt_duration(d)), Some(d));
        }
    }

    #[test]
    fn every_key_parses_and_bad_values_name_key_and_value() {
        let mut c = PoolConfig::default();
        for (k, v) in [
            ("name", "orders"),
            ("max_size", "16"),
            ("min_idle", "2"),
            ("acquire_timeout", "5s"),
            ("idle_timeout", "off"),
            ("max_lifetime", "1h"),
            ("max_lifetime_jitter", "10s"),
            ("idle_check_threshold", "250ms"),
            ("leak_detection_threshold", "30s"),
            ("leak_backtrace", "on"),
            ("shards", "4"),
            ("max_pipeline_depth", "8"),
            ("reset", "tracked"),
            ("share_connections", "on"),
            ("reset_timeout", "2s"),
            ("reconnect_backoff_min", "10ms"),
            ("reconnect_backoff_max", "2s"),
            ("breaker_threshold", "7"),
            ("hot_statements", "SELECT 1 ;; SELECT $1::int"),
            ("MAX_SIZE", "17"),
        ] {
            c.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        assert_eq!((c.max_size, c.min_idle, c.breaker_threshold), (17, 2, 7));
        assert_eq!(c.idle_timeout, None);
        assert_eq!(c.max_lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(c.reset, ResetPolicy::Tracked);
        assert!(c.share_connections);
        assert_eq!(c.hot_statements, vec!["SELECT 1", "SELECT $1::int"]);
        assert!(c.leak_backtrace);

        for (k, v) in [
            ("max_size", "sixteen"),
            ("max_size", "-1"),
            ("acquire_timeout", "5 parsecs"),
            ("idle_timeout", "soon"),
            ("leak_backtrace", "maybe"),
            ("reset", "sometimes"),
            ("breaker_threshold", "99999999999"),
        ] {
            let e = c.set(k, v).map(|_| ()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{k}");
            let msg = e.to_string();
            assert!(msg.contains(k) && msg.contains(v), "{msg}");
        }
        // An unknown key is named, its value never shown.
        let e = c.set("password", "hunter2").map(|_| ()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("password") && !msg.contains("hunter2"),
            "{msg}"
        );
        // A URL's password never appears in an error about it.
        for url in [
            "postgresql://app:hunter2@db/x?sslmode=bogus",
            "postgresql://app:hunter2@db/x?pool_max_size=lots",
            "postgresql://app@db/x?password=hunter2&pool_max_sise=3",
            "host=db password=hunter2 sslmode=bogus",
        ] {
            let e = c.set("url", url).map(|_| ()).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{url}: {e}");
        }
    }
}
