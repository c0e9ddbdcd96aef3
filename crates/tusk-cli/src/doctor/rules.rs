//! The doctor's rules: pure functions of what was read from the server
//! and the pool's configuration, so they are unit-tested without one.

use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information: nothing to fix.
    Info,
    /// Worth fixing.
    Warn,
    /// Will fail under load or is unsafe: `tusk doctor` exits with 3.
    Error,
}

/// One finding: what, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable id (`statement-timeout`, `pool-exceeds-connections`, ...).
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// The setting (or `pool.max_size`, `tls`, ...).
    pub setting: String,
    /// Its value.
    pub value: String,
    /// What is wrong and why it matters.
    pub why: String,
    /// What to do about it.
    pub fix: String,
}

/// What the doctor read from the server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Server {
    /// `server_version`.
    pub version: String,
    /// `server_version_num`.
    pub version_num: u32,
    /// `current_user`.
    pub user: String,
    /// `current_database()`.
    pub database: String,
    /// Settings by name: (raw `setting`, `current_setting` as shown).
    #[serde(skip)]
    pub settings: Vec<(String, String, String)>,
    /// Client backends connected now.
    pub connections: u64,
    /// Sessions idle in a transaction for over a minute.
    pub idle_in_transaction: u64,
    /// Roles whose password is still an MD5 hash (None: not readable).
    pub md5_roles: Option<u64>,
    /// This connection's TLS: None when not encrypted, else (version, cipher).
    pub tls: Option<(String, String)>,
    /// What this role could not read, each with what would let it (the
    /// checks that need it were skipped or are partial).
    pub not_checked: Vec<String>,
}

impl Server {
    /// The raw value of a setting.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, raw, _)| raw.as_str())
    }

    /// A setting as `SHOW` prints it.
    pub fn shown(&self, name: &str) -> String {
        self.settings
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or_else(|| "(unknown)".into(), |(_, _, s)| s.clone())
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.raw(name).and_then(|v| v.parse().ok())
    }
}

/// The client side: the pool's configuration and how it connects.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    /// `max_size` of one pool.
    pub pool_max_size: usize,
    /// How many processes run such a pool.
    pub instances: usize,
    /// The pool's idle timeout in seconds (None: never).
    pub pool_idle_timeout_s: Option<u64>,
    /// Whether the connection string asks to verify the server's
    /// certificate and name (`sslmode=verify-full`).
    pub verify_full: bool,
    /// Whether the connection goes over a unix socket or to loopback.
    pub local: bool,
    /// The pool configuration's own corrections (`PoolConfig::validate`).
    pub pool_warnings: Vec<String>,
}

/// End of community support of each major version: (major, year, month).
const EOL: &[(u32, i32, u32)] = &[
    (11, 2023, 11),
    (12, 2024, 11),
    (13, 2025, 11),
    (14, 2026, 11),
    (15, 2027, 11),
    (16, 2028, 11),
    (17, 2029, 11),
    (18, 2030, 11),
];

/// Every finding, the worst first.
pub fn check(server: &Server, client: &Client, today: (i32, u32)) -> Vec<Finding> {
    let mut f = Vec::new();
    version(server, today, &mut f);
    timeouts(server, client, &mut f);
    connections(server, client, &mut f);
    security(server, client, &mut f);
    memory(server, &mut f);
    for w in &client.pool_warnings {
        f.push(Finding {
            id: "pool-config",
            severity: Severity::Warn,
            setting: "pool".into(),
            value: w.clone(),
            why: "the pool configuration has a value it cannot use; the pool corrects it and logs a warning at start".into(),
            fix: "set the value the pool applies (or a valid one) in the configuration".into(),
        });
    }
    f.sort_by_key(|f| std::cmp::Reverse(f.severity));
    f
}

fn version(s: &Server, (year, month): (i32, u32), f: &mut Vec<Finding>) {
    let major = s.version_num / 10_000;
    let eol = EOL.iter().find(|(m, _, _)| *m == major);
    let ended = match eol {
        Some((_, y, m)) => (year, month) > (*y, *m),
        None => major < EOL[0].0,
    };
    if ended {
        f.push(Finding {
            id: "version-unsupported",
            severity: Severity::Warn,
            setting: "server_version".into(),
            value: s.version.clone(),
            why: format!(
                "PostgreSQL {major} no longer gets security or bug fixes from the community"
            ),
            fix: "upgrade to a supported major version (pg_upgrade, or a logical replica)".into(),
        });
    } else if let Some((_, y, m)) = eol {
        let months_left =
            (y - year) * 12 + i32::try_from(*m).unwrap_or(12) - i32::try_from(month).unwrap_or(1);
        if months_left <= 12 {
            f.push(Finding {
                id: "version-ending",
                severity: Severity::Info,
                setting: "server_version".into(),
                value: s.version.clone(),
                why: format!("PostgreSQL {major} is supported until {y}-{m:02}"),
                fix: "plan the upgrade to a newer major version".into(),
            });
        }
    }
}

fn timeouts(s: &Server, c: &Client, f: &mut Vec<Finding>) {
    if s.raw("statement_timeout") == Some("0") {
        f.push(Finding {
            id: "statement-timeout",
            severity: Severity::Warn,
            setting: "statement_timeout".into(),
            value: "0 (none)".into(),
            why: "a runaway query holds its connection, its locks and its snapshot (blocking vacuum) until it ends, and a pool's callers queue behind it".into(),
            fix: format!(
                "set a ceiling for the application's role, e.g. ALTER ROLE {} SET statement_timeout = '30s' (longer jobs can raise it per session)",
                quote_ident(&s.user)
            ),
        });
    }
    if s.raw("idle_in_transaction_session_timeout") == Some("0") {
        f.push(Finding {
            id: "idle-in-transaction-timeout",
            severity: Severity::Warn,
            setting: "idle_in_transaction_session_timeout".into(),
            value: "0 (none)".into(),
            why: "a session left idle inside a transaction (a crashed worker, a forgotten COMMIT) keeps its locks and stops vacuum from removing dead rows until someone kills it".into(),
            fix: format!(
                "ALTER ROLE {} SET idle_in_transaction_session_timeout = '60s'",
                quote_ident(&s.user)
            ),
        });
    }
    if s.idle_in_transaction > 0 {
        f.push(Finding {
            id: "idle-in-transaction-now",
            severity: Severity::Warn,
            setting: "pg_stat_activity".into(),
            value: format!("{} session(s) idle in a transaction for over a minute", s.idle_in_transaction),
            why: "they hold locks and hold back vacuum right now".into(),
            fix: "find them with SELECT pid, usename, application_name, state_change, query FROM pg_stat_activity WHERE state = 'idle in transaction'; fix the client, or pg_terminate_backend(pid)".into(),
        });
    }
    if let Some(server_idle) = s.number("idle_session_timeout").filter(|ms| *ms > 0) {
        let pool = c.pool_idle_timeout_s.map(|s| s * 1000);
        if pool.is_none_or(|p| p >= server_idle) {
            f.push(Finding {
                id: "pool-idle-past-server-timeout",
                severity: Severity::Warn,
                setting: "idle_session_timeout".into(),
                value: format!(
                    "{} (server) against the pool's idle_timeout {}",
                    s.shown("idle_session_timeout"),
                    c.pool_idle_timeout_s.map_or_else(|| "none".into(), |t| format!("{t}s"))
                ),
                why: "the server closes idle connections before the pool retires them: the pool finds them dead on checkout".into(),
                fix: "set the pool's idle_timeout below the server's idle_session_timeout".into(),
            });
        }
    }
}

fn connections(s: &Server, c: &Client, f: &mut Vec<Finding>) {
    let Some(max) = s.number("max_connections") else {
        return;
    };
    let reserved = s.number("superuser_reserved_connections").unwrap_or(0)
        + s.number("reserved_connections").unwrap_or(0);
    let available = max.saturating_sub(reserved);
    let wanted = (c.pool_max_size as u64).saturating_mul(c.instances as u64);
    let value = format!(
        "pool max_size {} x {} instance(s) = {wanted}; max_connections {max}, {reserved} reserved, {} in use now",
        c.pool_max_size, c.instances, s.connections
    );
    if wanted > available {
        f.push(Finding {
            id: "pool-exceeds-connections",
            severity: Severity::Error,
            setting: "max_connections".into(),
            value,
            why: format!(
                "under load the pools open {wanted} connections but the server takes {available}: the rest fail with 53300 (too many connections)"
            ),
            fix: "lower the pool's max_size (a few per CPU core of the server is plenty), put PgBouncer in front, or raise max_connections (needs a restart; each connection costs memory)".into(),
        });
    } else if wanted + s.connections > available {
        f.push(Finding {
            id: "pool-exceeds-free-connections",
            severity: Severity::Warn,
            setting: "max_connections".into(),
            value,
            why: "the pools fit the server, but not next to the connections other clients hold now"
                .into(),
            fix: "leave room for the other clients: lower max_size, or raise max_connections"
                .into(),
        });
    }
    if max > 500 {
        f.push(Finding {
            id: "max-connections-high",
            severity: Severity::Info,
            setting: "max_connections".into(),
            value: max.to_string(),
            why: "every backend costs memory and snapshot work; throughput peaks at a few active connections per core".into(),
            fix: "pool on the client (tusk-pool) or with PgBouncer, and lower max_connections".into(),
        });
    }
}

fn security(s: &Server, c: &Client, f: &mut Vec<Finding>) {
    match &s.tls {
        None if !c.local => f.push(Finding {
            id: "tls-off",
            severity: Severity::Warn,
            setting: "tls".into(),
            value: format!("not encrypted (server ssl = {})", s.shown("ssl")),
            why: "queries, results and (for password authentication other than SCRAM) credentials cross the network in clear".into(),
            fix: if s.raw("ssl") == Some("on") {
                "connect with sslmode=verify-full and sslrootcert=<the CA's certificate>".into()
            } else {
                "turn on ssl on the server (ssl = on, ssl_cert_file, ssl_key_file), then connect with sslmode=verify-full".into()
            },
        }),
        Some((version, _)) if !c.verify_full && !c.local => f.push(Finding {
            id: "tls-unverified",
            severity: Severity::Warn,
            setting: "sslmode".into(),
            value: format!("encrypted ({version}) without verify-full"),
            why: "the server's certificate and name are not checked, so a machine in the middle can pose as the server".into(),
            fix: "connect with sslmode=verify-full and sslrootcert=<the CA's certificate>".into(),
        }),
        _ => {}
    }
    if s.raw("password_encryption") == Some("md5") {
        f.push(Finding {
            id: "password-encryption-md5",
            severity: Severity::Warn,
            setting: "password_encryption".into(),
            value: "md5".into(),
            why: "MD5 password hashes are deprecated (PostgreSQL 18 warns) and a stolen hash is as good as the password".into(),
            fix: "SET password_encryption = 'scram-sha-256' in postgresql.conf, then set every password again (ALTER ROLE .. PASSWORD ..)".into(),
        });
    }
    if let Some(n) = s.md5_roles.filter(|n| *n > 0) {
        f.push(Finding {
            id: "md5-passwords",
            severity: Severity::Warn,
            setting: "pg_authid".into(),
            value: format!("{n} role(s) with an MD5 password hash"),
            why: "those roles cannot use SCRAM, and their hashes are deprecated".into(),
            fix: "with password_encryption = 'scram-sha-256', set their passwords again".into(),
        });
    }
}

fn memory(s: &Server, f: &mut Vec<Finding>) {
    // shared_buffers in 8 kB pages: 16384 is the default 128MB.
    if s.number("shared_buffers")
        .is_some_and(|pages| pages <= 16_384)
    {
        f.push(Finding {
            id: "shared-buffers-default",
            severity: Severity::Info,
            setting: "shared_buffers".into(),
            value: s.shown("shared_buffers"),
            why: "128MB (the default) suits a small machine; a dedicated server usually wants about a quarter of its memory".into(),
            fix: "set shared_buffers = '<25% of RAM>' in postgresql.conf (needs a restart)".into(),
        });
    }
}

fn quote_ident(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
    {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(settings: &[(&str, &str)]) -> Server {
        Server {
            version: "15.20".into(),
            version_num: 150_020,
            user: "app".into(),
            database: "app".into(),
            settings: settings
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned(), (*v).to_owned()))
                .collect(),
            connections: 5,
            tls: Some(("TLSv1.3".into(), "TLS_AES_256_GCM_SHA384".into())),
            ..Server::default()
        }
    }

    fn client() -> Client {
        Client {
            pool_max_size: 10,
            instances: 1,
            pool_idle_timeout_s: Some(600),
            verify_full: true,
            local: false,
            pool_warnings: Vec::new(),
        }
    }

    fn ids(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_healthy_server_has_nothing_to_say() {
        let mut s = server(&[
            ("max_connections", "100"),
            ("superuser_reserved_connections", "3"),
            ("statement_timeout", "30000"),
            ("idle_in_transaction_session_timeout", "60000"),
            ("idle_session_timeout", "0"),
            ("password_encryption", "scram-sha-256"),
            ("shared_buffers", "262144"),
            ("ssl", "on"),
        ]);
        s.version_num = 170_002;
        assert_eq!(check(&s, &client(), (2026, 12)), []);
    }

    #[test]
    fn pools_larger_than_the_server_are_an_error() {
        let s = server(&[
            ("max_connections", "100"),
            ("superuser_reserved_connections", "3"),
        ]);
        let mut c = client();
        c.instances = 10;
        let f = check(&s, &c, (2026, 12));
        assert_eq!(f[0].id, "pool-exceeds-connections");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].why
                .contains("open 100 connections but the server takes 97"),
            "{}",
            f[0].why
        );
        c.instances = 9; // 90 fit in 97, and next to the 5 in use
        assert!(!ids(&check(&s, &c, (2026, 12))).contains(&"pool-exceeds-connections"));
        let mut busy = s.clone();
        busy.connections = 10;
        assert!(ids(&check(&busy, &c, (2026, 12))).contains(&"pool-exceeds-free-connections"));
    }

    #[test]
    fn timeouts_tls_md5_and_versions() {
        let mut s = server(&[
            ("statement_timeout", "0"),
            ("idle_in_transaction_session_timeout", "0"),
            ("idle_session_timeout", "300000"),
            ("password_encryption", "md5"),
            ("ssl", "off"),
        ]);
        s.tls = None;
        s.version_num = 140_010;
        s.md5_roles = Some(2);
        let f = check(&s, &client(), (2026, 12));
        let got = ids(&f);
        for id in [
            "statement-timeout",
            "idle-in-transaction-timeout",
            "pool-idle-past-server-timeout",
            "password-encryption-md5",
            "md5-passwords",
            "tls-off",
            "version-unsupported",
        ] {
            assert!(got.contains(&id), "{id} in {got:?}");
        }
        assert!(f
            .iter()
            .find(|f| f.id == "statement-timeout")
            .unwrap()
            .fix
            .contains("ALTER ROLE app SET"));
        // Locally, no TLS is fine; 15 in 2026-12 ends within a year.
        let mut c = client();
        c.local = true;
        s.version_num = 150_020;
        let got = ids(&check(&s, &c, (2026, 12)));
        assert!(!got.contains(&"tls-off"));
        assert!(got.contains(&"version-ending"));
        // Encrypted but unverified, remotely.
        let mut s = server(&[]);
        s.tls = Some(("TLSv1.3".into(), "x".into()));
        let mut c = client();
        c.verify_full = false;
        assert!(ids(&check(&s, &c, (2026, 12))).contains(&"tls-unverified"));
    }

    #[test]
    fn quotes_role_names_that_need_it() {
        assert_eq!(quote_ident("app_1"), "app_1");
        assert_eq!(quote_ident("App"), "\"App\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
