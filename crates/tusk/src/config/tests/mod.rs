//! Table-driven tests of the connection configuration: both syntaxes, every
//! error, the defaults, the host lists, the environment and the round trip
//! through `Display`.

mod env;
mod parse;
mod targets;
mod values;

use std::collections::HashMap;
use std::net::IpAddr;

use super::Config;

/// A config built with `set`, the reference for parsed strings.
fn kv(pairs: &[(&str, &str)]) -> Config {
    let mut config = Config::new();
    for (key, value) in pairs {
        config.set(key, value).unwrap();
    }
    config
}

/// An environment made of `pairs`.
fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A valid value for every keyword, for the round-trip and environment tests.
const SAMPLES: &[(&str, &str)] = &[
    ("host", "db1,/tmp"),
    ("hostaddr", "10.0.0.1,::1"),
    ("port", "5433,5434"),
    ("dbname", "my db"),
    ("user", "o'brien"),
    ("password", "pw"),
    ("passfile", "/home/a/.pgpass"),
    ("options", r"-c search_path=a\b"),
    ("application_name", "app"),
    ("fallback_application_name", "fb"),
    ("client_encoding", "UTF8"),
    ("connect_timeout", "10"),
    ("keepalives", "0"),
    ("keepalives_idle", "30"),
    ("keepalives_interval", "5"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "1500"),
    ("sslmode", "verify-full"),
    ("sslnegotiation", "direct"),
    ("sslrootcert", "/ca.pem"),
    ("sslcert", "/c.crt"),
    ("sslkey", "/c.key"),
    ("sslpassword", "kp"),
    ("sslcrl", "/crl.pem"),
    ("sslcrldir", "/crls"),
    ("sslsni", "0"),
    ("sslcertmode", "require"),
    ("ssl_min_protocol_version", "TLSv1.2"),
    ("ssl_max_protocol_version", "TLSv1.3"),
    ("requirepeer", "postgres"),
    ("channel_binding", "require"),
    ("require_auth", "!password,!md5"),
    ("target_session_attrs", "prefer-standby"),
    ("load_balance_hosts", "random"),
    ("gssencmode", "prefer"),
    ("krbsrvname", "postgres"),
    ("gsslib", "gssapi"),
    ("gssdelegation", "0"),
    ("sslcompression", "1"),
    ("statement_cache_capacity", "100"),
    ("statement_cache_bytes", "1048576"),
    ("pooler_mode", "true"),
    ("read_groups", "off"),
];
