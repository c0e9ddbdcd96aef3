//! Where a [`PoolConfig`] comes from: URL parameters (`pool_<key>`), the
//! environment (`TUSK_POOL_<KEY>`, `DATABASE_URL`) and TOML (a `[pool]`
//! table). Layered, the more specific source wins: defaults, then TOML,
//! then the environment, then a URL given in code.

use serde::Deserialize;
use tusk::{Error, ErrorKind};

use super::keys;
use super::PoolConfig;

/// The prefix of pool settings among a connection string's parameters.
const URL_PREFIX: &str = "pool_";
/// The prefix of pool settings in the environment.
const ENV_PREFIX: &str = "TUSK_POOL_";

fn config_error(msg: String) -> Error {
    Error::new(ErrorKind::Configuration, msg)
}

fn percent_decode(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    config_error(format!(
                        "connection string parameter {:?} has a bad percent escape",
                        super::redact::redact(s)
                    ))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        config_error(format!(
            "connection string parameter {:?} is not UTF-8 once decoded",
            super::redact::redact(s)
        ))
    })
}

/// Splits a connection string into what the driver reads and the pool's own
/// `pool_<key>` parameters (the driver rejects unknown keys). A URL's query
/// parameters and a `key=value` string's words are both searched.
pub(crate) fn split_url(url: &str) -> Result<(String, Vec<(String, String)>), Error> {
    let mut pool = Vec::new();
    let t = url.trim();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        let (base, query) = match t.split_once('?') {
            Some((b, q)) => (b, q),
            None => return Ok((t.to_string(), pool)),
        };
        let mut kept: Vec<&str> = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = percent_decode(k)?;
            match key.strip_prefix(URL_PREFIX) {
                Some(name) => pool.push((name.to_string(), percent_decode(v)?)),
                None => kept.push(part),
            }
        }
        let connect = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((connect, pool));
    }
    // key=value words, separated by spaces outside single quotes.
    let mut kept = String::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut escaped = false;
    let flush = |word: &mut String, kept: &mut String, pool: &mut Vec<(String, String)>| {
        if word.is_empty() {
            return;
        }
        match word
            .strip_prefix(URL_PREFIX)
            .and_then(|w| w.split_once('='))
        {
            Some((k, v)) => {
                let v = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\''));
                let v = v.map_or_else(
                    || word.split_once('=').map_or("", |(_, v)| v).to_string(),
                    |v| v.replace("\\'", "'").replace("\\\\", "\\"),
                );
                pool.push((k.to_string(), v));
            }
            None => {
                if !kept.is_empty() {
                    kept.push(' ');
                }
                kept.push_str(word);
            }
        }
        word.clear();
    };
    for c in t.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '\'' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            flush(&mut word, &mut kept, &mut pool);
            continue;
        }
        word.push(c);
    }
    flush(&mut word, &mut kept, &mut pool);
    Ok((kept, pool))
}

/// A TOML document: only its `[pool]` table is read, so the pool's settings
/// can live in an application's own config file.
#[derive(Deserialize)]
struct TomlFile {
    #[serde(default)]
    pool: Option<toml::Table>,
}

impl PoolConfig {
    /// Applies a TOML document's `[pool]` table on top of this config
    /// (other tables are ignored). Keys are the setting names
    /// ([`PoolConfig::set`]); values may be strings, integers (sizes, or
    /// seconds for durations), floats (seconds) or booleans;
    /// `hot_statements` is an array of strings; `url` sets the connection.
    pub fn apply_toml(&mut self, text: &str) -> Result<&mut PoolConfig, Error> {
        // The parser's message quotes the offending line, which may hold a
        // secret: only its message and position are shown.
        let file: TomlFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    format!(
                        " (line {})",
                        text[..s.start.min(text.len())].lines().count().max(1)
                    )
                })
                .unwrap_or_default();
            config_error(format!(
                "the pool's TOML config does not parse{at}: {}",
                super::redact::redact(e.message())
            ))
        })?;
        let Some(table) = file.pool else {
            return Ok(self);
        };
        // "url" first, so a URL's pool_ parameters do not override the table.
        let mut entries: Vec<(&String, &toml::Value)> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.as_str() != "url");
        for (k, v) in entries {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) if k == "hot_statements" => {
                    let mut list = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            toml::Value::String(s) => list.push(s.clone()),
                            other => {
                                return Err(config_error(format!(
                                    "[pool] hot_statements: every entry must be a string of SQL, not {}",
                                    other.type_str()
                                )))
                            }
                        }
                    }
                    self.hot_statements = list;
                    continue;
                }
                other => {
                    if !keys::keys().contains(&k.as_str()) {
                        return Err(keys::unknown(k, "[pool] "));
                    }
                    return Err(config_error(format!(
                        "[pool] {k} is not valid: expected a string, a number or a boolean, not {}",
                        other.type_str()
                    )));
                }
            };
            if !keys::keys().contains(&k.as_str()) {
                return Err(keys::unknown(k, "[pool] "));
            }
            self.set(k, &text)?;
        }
        Ok(self)
    }

    /// Applies environment variables on top of this config:
    /// `TUSK_POOL_<KEY>` (e.g. `TUSK_POOL_MAX_SIZE=16`), then
    /// `DATABASE_URL` (or `TUSK_POOL_URL`) with its `pool_` parameters, which
    /// win. Other variables are ignored; an unknown `TUSK_POOL_` name is an error.
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<&mut PoolConfig, Error> {
        let mut settings: Vec<(String, String)> = Vec::new();
        let mut url: Option<String> = None;
        let mut pool_url: Option<String> = None;
        for (k, v) in vars {
            if k == "DATABASE_URL" {
                url = Some(v);
            } else if let Some(name) = k.strip_prefix(ENV_PREFIX) {
                let key = name.to_ascii_lowercase();
                if key == "url" {
                    pool_url = Some(v);
                } else if keys::keys().contains(&key.as_str()) {
                    settings.push((key, v));
                } else {
                    return Err(keys::unknown(&k, ""));
                }
            }
        }
        settings.sort();
        for (k, v) in &settings {
            self.set(k, v)?;
        }
        if let Some(u) = pool_url.or(url) {
            self.set("url", &u)?;
        }
        Ok(self)
    }

    /// The defaults with a connection string (URL or `key=value`), unset
    /// options filled from the `PG*` environment as libpq does. Parameters
    /// named `pool_<key>` set the pool (`?pool_max_size=16&pool_acquire_timeout=5s`)
    /// and are removed before the driver reads the rest.
    pub fn from_url(url: &str) -> Result<PoolConfig, Error> {
        let mut c = PoolConfig::default();
        c.set("url", url)?;
        Ok(c)
    }

    /// The defaults with the process environment applied
    /// ([`apply_env`](Self::apply_env): `TUSK_POOL_<KEY>`, then
    /// `DATABASE_URL`). Not validated: see [`PoolConfig::validate`].
    pub fn from_env() -> Result<PoolConfig, Error> {
        let mut c = PoolConfig::default();
        c.apply_env(process_env())?;
        Ok(c)
    }

    /// The defaults with a TOML document's `[pool]` table applied
    /// ([`apply_toml`](Self::apply_toml)).
    ///
    /// ```
    /// let c = tusk_pool::PoolConfig::from_toml_str(r#"
    ///     [pool]
    ///     url = "postgresql://app@localhost/app"
    ///     max_size = 16
    ///     acquire_timeout = "5s"
    ///     hot_statements = ["SELECT * FROM users WHERE id = $1"]
    /// "#)?;
    /// assert_eq!(c.max_size, 16);
    /// # Ok::<(), tusk::Error>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<PoolConfig, Error> {
        let mut c = PoolConfig::default();
        c.apply_toml(text)?;
        Ok(c)
    }

    /// Every source, layered so the more specific wins: the defaults, then
    /// `toml`'s `[pool]` table, then the process environment
    /// (`TUSK_POOL_<KEY>`, `DATABASE_URL`), then `url` and its `pool_`
    /// parameters. Not validated: see [`PoolConfig::validate`].
    pub fn load(toml: Option<&str>, url: Option<&str>) -> Result<PoolConfig, Error> {
        PoolConfig::layered(toml, process_env(), url)
    }

    /// [`load`](Self::load) with the environment given explicitly (for
    /// tests, or an environment read elsewhere).
    pub fn layered(
        toml: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
        url: Option<&str>,
    ) -> Result<PoolConfig, Error> {
        let mut c = PoolConfig::default();
        if let Some(t) = toml {
            c.apply_toml(t)?;
        }
        c.apply_env(env)?;
        if let Some(u) = url {
            c.set("url", u)?;
        }
        Ok(c)
    }
}

/// The process environment, skipping names or values that are not UTF-8.
fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn url_pool_parameters_are_stripped_and_applied() {
        let (rest, pool) = split_url(
            "postgresql://app@db:5433/orders?sslmode=disable&pool_max_size=16&pool_acquire_timeout=5s&application_name=x",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgresql://app@db:5433/orders?sslmode=disable&application_name=x"
        );
        assert_eq!(
            pool,
            vec![
                ("max_size".to_string(), "16".to_string()),
                ("acquire_timeout".to_string(), "5s".to_string())
            ]
        );
        let c = PoolConfig::from_url(
            "postgresql://app@db/orders?pool_max_size=16&pool_min_idle=2&pool_acquire_timeout=5s&pool_name=o%20rders",
        )
        .unwrap();
        assert_eq!((c.max_size, c.min_idle), (16, 2));
        assert_eq!(c.acquire_timeout, Duration::from_secs(5));
        assert_eq!(c.name, "o rders");
        assert_eq!(c.connect.dbname(), Some("orders"));

        let c =
            PoolConfig::from_url("host=db dbname=orders pool_max_size=3 pool_name='a b'").unwrap();
        assert_eq!((c.max_size, c.name.as_str()), (3, "a b"));
        assert_eq!(c.connect.dbname(), Some("orders"));

        let e = PoolConfig::from_url("postgresql://db/x?pool_max_sise=3").unwrap_err();
        assert!(e.to_string().contains("max_sise"), "{e}");
        let e = PoolConfig::from_url("postgresql://db/x?pool_max_size=lots").unwrap_err();
        assert!(e.to_string().contains("lots"), "{e}");
    }

    #[test]
    fn env_and_toml_and_layering() {
        let mut c = PoolConfig::default();
        c.apply_env(env(&[
            ("TUSK_POOL_MAX_SIZE", "12"),
            ("TUSK_POOL_IDLE_TIMEOUT", "off"),
            ("DATABASE_URL", "postgresql://app@db/envdb?pool_min_idle=3"),
            ("HOME", "/root"),
        ]))
        .unwrap();
        assert_eq!((c.max_size, c.min_idle, c.idle_timeout), (12, 3, None));
        assert_eq!(c.connect.dbname(), Some("envdb"));
        let e = PoolConfig::default()
            .apply_env(env(&[("TUSK_POOL_MAX_SISE", "1")]))
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("TUSK_POOL_MAX_SISE"), "{e}");
        // Secrets: an unknown key's value is never echoed, a URL's
        // password never appears.
        for vars in [
            &[("TUSK_POOL_PASSWORD", "hunter2")][..],
            &[(
                "DATABASE_URL",
                "postgresql://app:hunter2@db/x?pool_max_size=lots",
            )],
            &[(
                "DATABASE_URL",
                "postgresql://app:hunter2@db/x?sslmode=bogus",
            )],
            &[("TUSK_POOL_URL", "postgresql://app:hunter2@db/x?pool_nope=1")],
        ] {
            let e = PoolConfig::default()
                .apply_env(env(vars))
                .map(|_| ())
                .unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{vars:?}: {e}");
        }
        for toml in [
            "[pool]\npassword = \"hunter2\"",
            "[pool]\nurl = \"postgresql://app:hunter2@db/x?pool_max_size=lots\"",
            "[pool]\npassword = \"hunter2",
            "[pool]\nsecret = [\"hunter2\"]",
            "[pool]\nmax_size = { password = \"hunter2\" }",
        ] {
            let e = PoolConfig::from_toml_str(toml).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{toml}: {e}");
        }

        let toml = r#"
            [database]
            other = "ignored"
            [pool]
            url = "postgresql://app@db/tomldb?pool_max_size=2"
            max_size = 20
            acquire_timeout = 2.5
            leak_detection_threshold = "30s"
            leak_backtrace = true
            hot_statements = ["SELECT $1::int8", "SELECT name FROM t WHERE id = $1"]
        "#;
        let c = PoolConfig::from_toml_str(toml).unwrap();
        assert_eq!(c.max_size, 20);
        assert_eq!(c.acquire_timeout, Duration::from_millis(2500));
        assert_eq!(c.hot_statements.len(), 2);
        assert_eq!(c.connect.dbname(), Some("tomldb"));

        // toml < env < url.
        let c = PoolConfig::layered(
            Some(toml),
            env(&[("TUSK_POOL_MAX_SIZE", "30"), ("TUSK_POOL_MIN_IDLE", "4")]),
            Some("postgresql://app@db/urldb?pool_min_idle=5"),
        )
        .unwrap();
        assert_eq!((c.max_size, c.min_idle), (30, 5));
        assert_eq!(c.connect.dbname(), Some("urldb"));
        assert!(c.leak_backtrace);

        for (bad, needle) in [
            ("[pool]\nmax_sise = 3", "max_sise"),
            ("[pool]\nmax_size = \"many\"", "many"),
            ("[pool]\nmax_size = [1]", "max_size"),
            ("[pool]\nhot_statements = [1]", "hot_statements"),
            ("[pool\n", "TOML"),
        ] {
            let e = PoolConfig::from_toml_str(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration);
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn the_reference_file_parses() {
        // crates/tusk-pool/pool.reference.toml is the example in docs/pool.md.
        let c = PoolConfig::from_toml_str(include_str!("../../pool.reference.toml")).unwrap();
        let (applied, warnings) = c.validate();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(applied.name, "orders");
    }
}
