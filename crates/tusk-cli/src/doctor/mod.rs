//! `tusk doctor`: the server's version, the settings that matter to an
//! application (timeouts, connections against the pool's size, TLS,
//! password hashing, memory), each finding with why it matters and what to
//! do. The rules are pure ([`rules`]); this module reads the server.

pub mod rules;

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use tusk::Executor;
use tusk_pool::PoolConfig;

use crate::error::{write_err, Error};
use crate::ConnArgs;
use rules::{Client, Finding, Server, Severity};

/// `tusk doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// The pool configuration to check (TOML with a [pool] table, as
    /// tusk-pool reads it) [default: tusk-pool's defaults, TUSK_POOL_*
    /// variables and the URL's pool_ parameters]
    #[arg(long, value_name = "FILE")]
    pub pool_config: Option<PathBuf>,
    /// The pool's max_size (overrides the configuration)
    #[arg(long, value_name = "N")]
    pub pool_size: Option<usize>,
    /// How many processes run such a pool against this server
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub instances: usize,
    /// Print one JSON object: server, client, findings
    #[arg(long)]
    pub json: bool,
    /// Where to connect.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `--json` output.
#[derive(Serialize)]
struct Report<'a> {
    server: &'a Server,
    client: &'a Client,
    findings: &'a [Finding],
}

/// The settings the rules read.
const SETTINGS: &[&str] = &[
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
    "statement_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "lock_timeout",
    "ssl",
    "password_encryption",
    "shared_buffers",
];

/// Runs the checks; exit code 3 when a finding is an error, else 0.
pub(crate) async fn run(url: &str, args: &DoctorArgs, out: &mut dyn Write) -> Result<u8, Error> {
    let toml = match &args.pool_config {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?,
        ),
        None => None,
    };
    let mut pool = PoolConfig::load(toml.as_deref(), Some(url))?;
    if let Some(n) = args.pool_size {
        pool.max_size = n;
    }
    let (pool, warnings) = pool.validate();
    if args.instances == 0 {
        return Err(Error::Usage("--instances must be at least 1".into()));
    }
    let config = tusk::Config::parse(url).map_err(tusk::Error::from)?;
    let conn = tusk::connect(url).await?;
    let server = read_server(&conn).await?;
    let _ = conn.close().await;
    let client = Client {
        pool_max_size: pool.max_size,
        instances: args.instances,
        pool_idle_timeout_s: pool.idle_timeout.map(|d| d.as_secs()),
        verify_full: config.ssl_mode() == tusk::config::SslMode::VerifyFull,
        local: is_local(&config),
        pool_warnings: warnings
            .iter()
            .map(|w| {
                format!(
                    "{} = {}: {} (applied {})",
                    w.key, w.value, w.reason, w.applied
                )
            })
            .collect(),
    };
    let findings = rules::check(&server, &client, today());
    if args.json {
        let text = serde_json::to_string(&Report {
            server: &server,
            client: &client,
            findings: &findings,
        })
        .map_err(|e| Error::Convert(format!("writing JSON: {e}")))?;
        writeln!(out, "{text}").map_err(write_err)?;
    } else {
        print(&server, &client, &findings, out).map_err(write_err)?;
    }
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
        3
    } else {
        0
    })
}

async fn read_server(conn: &tusk::Connection) -> Result<Server, Error> {
    let head = conn
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int, \
             current_user::text, current_database()::text",
            &[],
        )
        .await?;
    let names: Vec<String> = SETTINGS.iter().map(|s| format!("'{s}'")).collect();
    let rows = conn
        .query(
            &format!(
                "SELECT name::text, setting, current_setting(name) FROM pg_settings WHERE name IN ({})",
                names.join(", ")
            ),
            &[],
        )
        .await?;
    let activity = conn
        .query_one(
            "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), \
                    count(*) FILTER (WHERE state = 'idle in transaction' \
                                     AND state_change < now() - interval '1 minute') \
             FROM pg_stat_activity",
            &[],
        )
        .await?;
    let tls = conn
        .query_opt(
            "SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl",
            &[],
        )
        .await?;
    // Readable by superusers only: otherwise unknown, not an error.
    let md5_roles = match conn
        .query_scalar::<i64>(
            "SELECT count(*) FROM pg_authid WHERE rolpassword LIKE 'md5%'",
            &[],
        )
        .await
    {
        Ok(n) => u64::try_from(n).ok(),
        Err(_) => None,
    };
    // pg_stat_activity hides other roles' sessions' state from a role
    // that is neither a superuser nor a member of pg_read_all_stats.
    let sees_all_sessions: bool = conn
        .query_scalar(
            "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') \
             FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap_or(false);
    let mut not_checked = Vec::new();
    if md5_roles.is_none() {
        not_checked.push(
            "passwords still hashed with MD5: pg_authid is readable by superusers only \
             (run tusk doctor as a superuser to check them)"
                .to_owned(),
        );
    }
    if !sees_all_sessions {
        not_checked.push(format!(
            "sessions idle in a transaction: only this role's are visible in pg_stat_activity \
             (GRANT pg_read_all_stats TO {} to see every role's)",
            head.try_get::<String>(2)?
        ));
    }
    let count = |i: usize| -> Result<u64, Error> {
        let n: i64 = activity.try_get(i)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(Server {
        version: head.try_get(0)?,
        version_num: u32::try_from(head.try_get::<i32>(1)?).unwrap_or(0),
        user: head.try_get(2)?,
        database: head.try_get(3)?,
        settings: rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, tusk::Error>>()?,
        connections: count(0)?,
        idle_in_transaction: count(1)?,
        md5_roles,
        tls: match tls {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        },
        not_checked,
    })
}

/// A unix socket or a loopback address (where TLS buys nothing).
fn is_local(config: &tusk::Config) -> bool {
    let hosts = config.hosts();
    hosts.is_empty()
        || hosts.iter().all(|h| {
            h.starts_with('/')
                || h.starts_with('@')
                || h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
}

/// Today's (year, month), in UTC.
fn today() -> (i32, u32) {
    let now = humantime::format_rfc3339(std::time::SystemTime::now()).to_string();
    let year = now.get(0..4).and_then(|y| y.parse().ok()).unwrap_or(1970);
    let month = now.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    (year, month)
}

fn print(
    server: &Server,
    client: &Client,
    findings: &[Finding],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "PostgreSQL {} (database {}, user {})",
        server.version, server.database, server.user
    )?;
    match &server.tls {
        Some((version, cipher)) => writeln!(out, "TLS: {version} {cipher}")?,
        None => writeln!(
            out,
            "TLS: off{}",
            if client.local {
                " (local connection)"
            } else {
                ""
            }
        )?,
    }
    writeln!(
        out,
        "pool: max_size {} x {} instance(s); server: max_connections {}, {} in use",
        client.pool_max_size,
        client.instances,
        server.shown("max_connections"),
        server.connections
    )?;
    for what in &server.not_checked {
        writeln!(out, "not checked: {what}")?;
    }
    if findings.is_empty() {
        return writeln!(out, "\nno findings");
    }
    for f in findings {
        let label = match f.severity {
            Severity::Error => "error",
            Severity::Warn => "warn ",
            Severity::Info => "info ",
        };
        writeln!(out, "\n{label} [{}] {} = {}", f.id, f.setting, f.value)?;
        writeln!(out, "      why: {}", f.why)?;
        writeln!(out, "      fix: {}", f.fix)?;
    }
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    writeln!(
        out,
        "\n{} error(s), {} warning(s), {} note(s)",
        n(Severity::Error),
        n(Severity::Warn),
        n(Severity::Info)
    )
}
