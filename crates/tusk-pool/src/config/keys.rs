//! The pool's settings by name, derived from [`PoolConfig`]'s serde
//! fields: one list shared by URL parameters (`pool_<key>`), the
//! environment (`TUSK_POOL_<KEY>`) and TOML (`[pool]` `<key>`), and one
//! `set` that parses any of them by the field's type. Pure: parsing only,
//! unit-tested below, with the checks that docs/pool.md and the reference
//! TOML list every setting.

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;
use tusk::{Error, ErrorKind};

use super::PoolConfig;

/// Every key, in the order the struct declares its fields (and docs/pool.md
/// lists them): `url` (which sets `connect`), then each setting.
/// `hot_statements` takes a list (TOML array, or statements separated by
/// `;;` elsewhere).
pub(crate) fn keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut k = vec!["url"];
        k.extend_from_slice(field_names());
        k
    })
}

/// The settings' names as serde sees them, in declaration order (skipped
/// fields left out): asked of `Deserialize` itself, so no list to keep.
fn field_names() -> &'static [&'static str] {
    struct Names(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names read")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }
    impl<'de> serde::Deserializer<'de> for &mut Names {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Names(None);
    let _ = PoolConfig::deserialize(&mut names);
    names.0.unwrap_or(&[])
}

/// The settings of `c` as TOML values, by name (durations as `5s`, an
/// unset optional duration as `off`). Fails only on a count too large for
/// TOML's integers.
pub(crate) fn to_table(c: &PoolConfig) -> Result<toml::Table, Error> {
    toml::Table::try_from(c).map_err(|e| {
        Error::new(
            ErrorKind::Configuration,
            format!("a pool setting cannot be represented: {}", e),
        )
    })
}

impl std::fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("PoolConfig");
        d.field("connect", &self.connect);
        if let Ok(t) = to_table(self) {
            for k in field_names() {
                if let Some(v) = t.get(*k) {
                    d.field(k, &format_args!("{v}"));
                }
            }
        }
        d.field("credentials", &self.credentials.is_some());
        d.finish()
    }
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

const DURATION: &str = "a duration such as 500ms, 5s, 2m, 1h, or a number of seconds";
const OPT_DURATION: &str = "a duration such as 500ms, 5s, 2m, 1h, a number of seconds, or off";

/// Serde for a `Duration` setting: written `5s`, read by [`parse_duration`].
pub(crate) mod duration {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_duration(*d))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).ok_or_else(|| serde::de::Error::custom(DURATION))
    }
}

/// Serde for an optional `Duration` setting: `None` is written `off`, and
/// `off`, `none`, `never` or `disabled` (any case) read as `None`.
pub(crate) mod opt_duration {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(
        d: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&fmt_duration(*d)),
            None => s.serialize_str("off"),
        }
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "never" | "disabled" => Ok(None),
            _ => parse_duration(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(OPT_DURATION)),
        }
    }
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
        if k == "url" {
            let (connect, pool_params) = super::sources::split_url(v)?;
            self.connect = tusk::Config::parse(&connect)
                .map_err(hide)?
                .with_env_defaults()
                .map_err(hide)?;
            for (pk, pv) in pool_params {
                self.set(&pk, &pv)?;
            }
            return Ok(self);
        }
        // The field's current value says how to read the text: a count, a
        // boolean, a list, or text its own serde reads (a duration, the
        // reset policy, the name).
        let mut table = to_table(self)?;
        let Some(current) = table.get(&k) else {
            return Err(unknown(key, ""));
        };
        let (new, expected) = match current {
            toml::Value::Integer(_) => {
                let expected = "a whole number (0 or more)";
                let n = v.trim().parse().map_err(|_| bad(&k, v, expected))?;
                (toml::Value::Integer(n), Some(expected))
            }
            toml::Value::Boolean(_) => (toml::Value::Boolean(boolean(&k, v)?), None),
            toml::Value::Array(_) => (
                toml::Value::Array(
                    split_statements(v)
                        .into_iter()
                        .map(toml::Value::String)
                        .collect(),
                ),
                None,
            ),
            _ => (toml::Value::String(v.to_string()), None),
        };
        table.insert(k.clone(), new);
        let parsed: PoolConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let why = e.message().to_string();
                    bad(&k, v, expected.unwrap_or(&why))
                })?;
        *self = PoolConfig {
            connect: std::mem::replace(&mut self.connect, tusk::Config::new()),
            credentials: self.credentials.take(),
            ..parsed
        };
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ResetPolicy;

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

#[cfg(test)]
mod docs {
    use super::*;

    /// The `[pool]` keys of a TOML text, in order.
    fn toml_keys(text: &str) -> Vec<String> {
        text.lines()
            .skip_while(|l| l.trim() != "[pool]")
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
            .filter(|k| !k.starts_with('"') && !k.is_empty())
            .collect()
    }

    /// docs/pool.md's settings table and the reference TOML list every
    /// setting, in the struct's order, and the table's defaults are the
    /// struct's.
    #[test]
    fn docs_and_reference_list_every_setting() {
        let md = include_str!("../../../../docs/pool.md");
        let table: Vec<(String, String)> = md
            .lines()
            .skip_while(|l| !l.starts_with("| Key | Default |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                // `(field credentials)`: code only, not a setting.
                let key = cells
                    .get(1)?
                    .strip_prefix('`')?
                    .split('`')
                    .next()?
                    .to_string();
                Some((key, cells.get(2)?.replace('`', "")))
            })
            .collect();
        let keys_in_docs: Vec<&str> = table.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys_in_docs, keys(), "docs/pool.md's settings table");

        let defaults = to_table(&PoolConfig::default()).unwrap();
        for (key, doc_default) in table.iter().skip(1) {
            let want = match &defaults[key.as_str()] {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(a) if a.is_empty() => "none".to_string(),
                v => v.to_string(),
            };
            assert!(
                doc_default.starts_with(&want),
                "docs/pool.md says {key} defaults to {doc_default:?}, the struct to {want:?}"
            );
        }

        let reference = include_str!("../../pool.reference.toml");
        assert_eq!(toml_keys(reference), keys(), "pool.reference.toml");
        // The reference is also shown in docs/pool.md, verbatim.
        let shown = md
            .split("```toml\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap_or("");
        assert!(
            reference.ends_with(shown),
            "docs/pool.md's TOML block differs from pool.reference.toml"
        );
    }

    #[test]
    fn messages_and_debug() {
        let mut c = PoolConfig::default();
        let e = c
            .set("acquire_timeout", "5 parsecs")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "pool setting acquire_timeout = \"5 parsecs\" is not valid: expected a duration such as 500ms, 5s, 2m, 1h, or a number of seconds"
        );
        let e = c.set("reset", "Sometimes").map(|_| ()).unwrap_err();
        assert!(e.to_string().ends_with("expected full or tracked"), "{e}");
        c.set("reset", "TRACKED").unwrap();
        c.set("idle_timeout", "OFF").unwrap();
        assert_eq!(c.idle_timeout, None);
        let d = format!("{c:?}");
        assert!(
            d.contains("max_size: 10") && d.contains("idle_timeout: \"off\""),
            "{d}"
        );
        assert!(d.contains("credentials: false"), "{d}");
        // Setting one key keeps the connection settings and credentials.
        let mut c = PoolConfig::from_url("postgresql://app@db/orders").unwrap();
        c.set("max_size", "3").unwrap();
        assert_eq!(c.connect.dbname(), Some("orders"));
    }
}
