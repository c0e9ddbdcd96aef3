//! The table of connection keywords: for each, its `PG*` environment
//! variable, how a string value is parsed into [`Config`], and how it is
//! written back. `parse`, the environment, `Display` and `Debug` all go
//! through this one table.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use super::error::is_secret;
use super::modes::SslProtocolVersion;
use super::{conninfo, Config, ConfigError, DEFAULT_PORT};

/// One connection keyword.
pub(super) struct Keyword {
    /// The keyword, e.g. `"sslmode"`.
    pub name: &'static str,
    /// The environment variable that supplies a default, e.g. `"PGSSLMODE"`.
    pub env: Option<&'static str>,
    /// Parses a string value into the config.
    pub set: fn(&mut Config, &str) -> Result<(), ConfigError>,
    /// The value as a string, if it is set (secrets in clear: callers redact).
    pub get: fn(&Config) -> Option<String>,
}

macro_rules! string_kw {
    ($name:literal, $env:expr, $field:ident) => {
        Keyword {
            name: $name,
            env: $env,
            set: |c, v| {
                c.$field = Some(v.to_owned());
                Ok(())
            },
            get: |c| c.$field.clone(),
        }
    };
}

macro_rules! path_kw {
    ($name:literal, $env:expr, $field:ident) => {
        Keyword {
            name: $name,
            env: $env,
            set: |c, v| {
                c.$field = Some(PathBuf::from(v));
                Ok(())
            },
            get: |c| c.$field.as_ref().map(|p| p.to_string_lossy().into_owned()),
        }
    };
}

macro_rules! parsed_kw {
    ($name:literal, $env:expr, $field:ident) => {
        Keyword {
            name: $name,
            env: $env,
            set: |c, v| {
                c.$field = Some(v.trim().parse()?);
                Ok(())
            },
            get: |c| c.$field.as_ref().map(|m| m.to_string()),
        }
    };
}

macro_rules! seconds_kw {
    ($name:literal, $env:expr, $field:ident, $zero:literal) => {
        Keyword {
            name: $name,
            env: $env,
            set: |c, v| {
                c.$field = Some(parse_u32($name, v, $zero)?);
                Ok(())
            },
            get: |c| c.$field.map(|n| n.to_string()),
        }
    };
}

macro_rules! ignored_kw {
    ($name:literal, $env:expr, $check:expr) => {
        Keyword {
            name: $name,
            env: $env,
            set: |c, v| {
                let check: fn(&str) -> Result<(), ConfigError> = $check;
                check(v)?;
                c.ignored.insert($name, v.to_owned());
                Ok(())
            },
            get: |c| c.ignored.get($name).cloned(),
        }
    };
}

/// Every keyword tusk accepts, in the order `Display` writes them.
pub(super) static KEYWORDS: &[Keyword] = &[
    Keyword {
        name: "host",
        env: Some("PGHOST"),
        set: |c, v| {
            c.host = Some(split_list(v).map(str::to_owned).collect());
            Ok(())
        },
        get: |c| c.host.as_ref().map(|h| h.join(",")),
    },
    Keyword {
        name: "hostaddr",
        env: Some("PGHOSTADDR"),
        set: |c, v| {
            let addrs = split_list(v)
                .map(|a| match a {
                    "" => Ok(None),
                    a => a.parse::<IpAddr>().map(Some).map_err(|_| {
                        ConfigError::invalid_value(
                            "hostaddr",
                            a,
                            "expected a numeric IPv4 or IPv6 address (use host for names)",
                        )
                    }),
                })
                .collect::<Result<_, _>>()?;
            c.hostaddr = Some(addrs);
            Ok(())
        },
        get: |c| {
            c.hostaddr.as_ref().map(|addrs| {
                let addrs: Vec<String> = addrs
                    .iter()
                    .map(|a| a.map(|a| a.to_string()).unwrap_or_default())
                    .collect();
                addrs.join(",")
            })
        },
    },
    Keyword {
        name: "port",
        env: Some("PGPORT"),
        set: |c, v| {
            c.port = Some(split_list(v).map(parse_port).collect::<Result<_, _>>()?);
            Ok(())
        },
        get: |c| {
            c.port.as_ref().map(|ports| {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                ports.join(",")
            })
        },
    },
    string_kw!("dbname", Some("PGDATABASE"), dbname),
    string_kw!("user", Some("PGUSER"), user),
    string_kw!("password", Some("PGPASSWORD"), password),
    path_kw!("passfile", Some("PGPASSFILE"), passfile),
    string_kw!("options", Some("PGOPTIONS"), options),
    string_kw!("application_name", Some("PGAPPNAME"), application_name),
    string_kw!("fallback_application_name", None, fallback_application_name),
    Keyword {
        name: "client_encoding",
        env: Some("PGCLIENTENCODING"),
        set: |c, v| {
            let normalized: String = v
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|ch| ch.to_ascii_lowercase())
                .collect();
            if normalized != "utf8" && normalized != "unicode" {
                return Err(ConfigError::invalid_value(
                    "client_encoding",
                    v,
                    "tusk speaks only UTF8 to the server; set client_encoding=UTF8 or leave it out",
                ));
            }
            c.client_encoding = Some("UTF8".to_owned());
            Ok(())
        },
        get: |c| c.client_encoding.clone(),
    },
    seconds_kw!(
        "connect_timeout",
        Some("PGCONNECT_TIMEOUT"),
        connect_timeout,
        "0 means wait indefinitely"
    ),
    Keyword {
        name: "keepalives",
        env: None,
        set: |c, v| {
            let n = v.trim().parse::<i64>().map_err(|_| {
                ConfigError::invalid_value("keepalives", v, "expected 1 (on) or 0 (off)")
            })?;
            c.keepalives = Some(n != 0);
            Ok(())
        },
        get: |c| c.keepalives.map(|on| if on { "1" } else { "0" }.to_owned()),
    },
    seconds_kw!(
        "keepalives_idle",
        None,
        keepalives_idle,
        "0 means the system default"
    ),
    seconds_kw!(
        "keepalives_interval",
        None,
        keepalives_interval,
        "0 means the system default"
    ),
    seconds_kw!(
        "keepalives_count",
        None,
        keepalives_count,
        "0 means the system default"
    ),
    seconds_kw!(
        "tcp_user_timeout",
        None,
        tcp_user_timeout,
        "0 means the system default"
    ),
    parsed_kw!("sslmode", Some("PGSSLMODE"), sslmode),
    parsed_kw!("sslnegotiation", Some("PGSSLNEGOTIATION"), sslnegotiation),
    path_kw!("sslrootcert", Some("PGSSLROOTCERT"), sslrootcert),
    path_kw!("sslcert", Some("PGSSLCERT"), sslcert),
    path_kw!("sslkey", Some("PGSSLKEY"), sslkey),
    string_kw!("sslpassword", None, sslpassword),
    path_kw!("sslcrl", Some("PGSSLCRL"), sslcrl),
    path_kw!("sslcrldir", Some("PGSSLCRLDIR"), sslcrldir),
    Keyword {
        name: "sslsni",
        env: Some("PGSSLSNI"),
        set: |c, v| {
            c.sslsni = Some(parse_01("sslsni", v)?);
            Ok(())
        },
        get: |c| c.sslsni.map(|on| if on { "1" } else { "0" }.to_owned()),
    },
    parsed_kw!("sslcertmode", Some("PGSSLCERTMODE"), sslcertmode),
    Keyword {
        name: "ssl_min_protocol_version",
        env: Some("PGSSLMINPROTOCOLVERSION"),
        set: |c, v| {
            c.ssl_min_protocol_version = Some(SslProtocolVersion::parse_for(
                "ssl_min_protocol_version",
                v.trim(),
            )?);
            Ok(())
        },
        get: |c| c.ssl_min_protocol_version.map(|v| v.to_string()),
    },
    Keyword {
        name: "ssl_max_protocol_version",
        env: Some("PGSSLMAXPROTOCOLVERSION"),
        set: |c, v| {
            c.ssl_max_protocol_version = Some(SslProtocolVersion::parse_for(
                "ssl_max_protocol_version",
                v.trim(),
            )?);
            Ok(())
        },
        get: |c| c.ssl_max_protocol_version.map(|v| v.to_string()),
    },
    string_kw!("requirepeer", Some("PGREQUIREPEER"), requirepeer),
    parsed_kw!("channel_binding", Some("PGCHANNELBINDING"), channel_binding),
    Keyword {
        name: "require_auth",
        env: Some("PGREQUIREAUTH"),
        set: |c, v| {
            c.require_auth = Some(v.parse()?);
            Ok(())
        },
        get: |c| c.require_auth.as_ref().map(|r| r.to_string()),
    },
    parsed_kw!(
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        target_session_attrs
    ),
    parsed_kw!(
        "load_balance_hosts",
        Some("PGLOADBALANCEHOSTS"),
        load_balance_hosts
    ),
    ignored_kw!("gssencmode", Some("PGGSSENCMODE"), |v| match v.trim() {
        "disable" | "prefer" => Ok(()),
        "require" => Err(ConfigError::unsupported(
            "gssencmode",
            v,
            "GSSAPI encryption is not implemented; use sslmode=require for an encrypted connection",
        )),
        _ => Err(ConfigError::invalid_value(
            "gssencmode",
            v,
            "expected one of: disable, prefer, require",
        )),
    }),
    ignored_kw!("krbsrvname", Some("PGKRBSRVNAME"), |_| Ok(())),
    ignored_kw!("gsslib", Some("PGGSSLIB"), |_| Ok(())),
    ignored_kw!("gssdelegation", Some("PGGSSDELEGATION"), |v| parse_01(
        "gssdelegation",
        v
    )
    .map(drop)),
    ignored_kw!("sslcompression", Some("PGSSLCOMPRESSION"), |v| parse_01(
        "sslcompression",
        v
    )
    .map(drop)),
    Keyword {
        name: "statement_cache_capacity",
        env: None,
        set: |c, v| {
            let n = v.trim().parse::<usize>().map_err(|_| {
                ConfigError::invalid_value(
                    "statement_cache_capacity",
                    v,
                    "expected a number of statements (0 turns the cache off)",
                )
            })?;
            c.statement_cache_capacity = Some(n);
            Ok(())
        },
        get: |c| c.statement_cache_capacity.map(|n| n.to_string()),
    },
    Keyword {
        name: "statement_cache_bytes",
        env: None,
        set: |c, v| {
            c.statement_cache_bytes = Some(parse_bytes("statement_cache_bytes", v)?);
            Ok(())
        },
        get: |c| c.statement_cache_bytes.map(|n| n.to_string()),
    },
    Keyword {
        name: "pooler_mode",
        env: None,
        set: |c, v| {
            c.pooler_mode = Some(parse_pooler_mode(v)?);
            Ok(())
        },
        get: |c| c.pooler_mode.map(|on| on.to_string()),
    },
    Keyword {
        name: "read_groups",
        env: None,
        set: |c, v| {
            c.read_groups = Some(parse_on_off("read_groups", v)?);
            Ok(())
        },
        get: |c| {
            c.read_groups
                .map(|on| if on { "on" } else { "off" }.to_string())
        },
    },
];

/// libpq keywords that tusk knows but does not implement, with what to do instead.
static UNSUPPORTED: &[(&str, &str)] = &[
    (
        "service",
        "pg_service.conf is not read; put the service's settings in the connection string",
    ),
    ("replication", "replication connections are not implemented"),
    (
        "requiressl",
        "it was removed from libpq; use sslmode=require",
    ),
];

/// The keyword named `name`.
pub(super) fn keyword(name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.name == name)
}

/// Sets `key` to `value` in `config`: the one entry point for every syntax.
pub(super) fn set(config: &mut Config, key: &str, value: &str) -> Result<(), ConfigError> {
    if let Some(kw) = keyword(key) {
        return (kw.set)(config, value);
    }
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(k, _)| *k == key) {
        return Err(ConfigError::unsupported(key, value, why));
    }
    Err(ConfigError::unknown_option(key))
}

/// `key=value` pairs of every keyword that is set, secrets as `********`.
pub(super) fn write_conninfo(config: &Config, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut first = true;
    for kw in KEYWORDS {
        let Some(value) = (kw.get)(config) else {
            continue;
        };
        if !first {
            f.write_str(" ")?;
        }
        first = false;
        if is_secret(kw.name) {
            write!(f, "{}=********", kw.name)?;
        } else {
            write!(f, "{}={}", kw.name, conninfo::quote(&value))?;
        }
    }
    Ok(())
}

/// `Config { key: "value", ... }` for every keyword that is set, secrets redacted.
pub(super) fn write_debug(config: &Config, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut s = f.debug_struct("Config");
    for kw in KEYWORDS {
        if let Some(value) = (kw.get)(config) {
            if is_secret(kw.name) {
                s.field(kw.name, &"********");
            } else {
                s.field(kw.name, &value);
            }
        }
    }
    s.finish_non_exhaustive()
}

/// The elements of a comma-separated list, trimmed. An empty (or blank)
/// value is an empty list: every element takes its default.
fn split_list(v: &str) -> impl Iterator<Item = &str> {
    let v = v.trim();
    v.split(',').map(str::trim).filter(move |_| !v.is_empty())
}

fn parse_port(p: &str) -> Result<u16, ConfigError> {
    if p.is_empty() {
        return Ok(DEFAULT_PORT);
    }
    match p.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ConfigError::invalid_value(
            "port",
            p,
            "expected a port number between 1 and 65535",
        )),
    }
}

/// A non-negative whole number; `zero` says what 0 means.
fn parse_u32(key: &str, v: &str, zero: &str) -> Result<u32, ConfigError> {
    let t = v.trim();
    match t.parse::<i64>() {
        Ok(n) if n < 0 => Err(ConfigError::invalid_value(
            key,
            v,
            format!("must not be negative ({zero})"),
        )),
        Ok(n) => u32::try_from(n).map_err(|_| {
            ConfigError::invalid_value(key, v, format!("must be at most {}", u32::MAX))
        }),
        Err(_) => Err(ConfigError::invalid_value(
            key,
            v,
            format!("expected a whole number ({zero})"),
        )),
    }
}

/// `on`/`true`/`yes`/`1` or `off`/`false`/`no`/`0`.
fn parse_on_off(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(ConfigError::invalid_value(key, v, "expected on or off")),
    }
}

fn parse_01(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(ConfigError::invalid_value(key, v, "expected 1 or 0")),
    }
}

/// `true`/`on`/`yes`/`1` and PgBouncer's `transaction`/`statement` pool modes
/// turn pooler mode on; `false`/`off`/`no`/`0` and `session` turn it off.
fn parse_pooler_mode(v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" | "transaction" | "statement" => Ok(true),
        "false" | "off" | "no" | "0" | "session" => Ok(false),
        _ => Err(ConfigError::invalid_value(
            "pooler_mode",
            v,
            "expected true or false (or a PgBouncer pool mode: transaction, statement, session)",
        )),
    }
}

/// A size in bytes, with an optional unit as PostgreSQL writes them:
/// `B`, `kB`, `MB`, `GB` (case-insensitive, powers of 1024).
fn parse_bytes(key: &str, v: &str) -> Result<usize, ConfigError> {
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        _ => 0,
    };
    digits
        .parse::<usize>()
        .ok()
        .filter(|_| multiplier > 0)
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| {
            ConfigError::invalid_value(
                key,
                v,
                "expected a size in bytes, optionally with a unit (B, kB, MB, GB), e.g. 4MB",
            )
        })
}
