//! Connection configuration, compatible with libpq.
//!
//! A [`Config`] comes from a connection string in either of libpq's two
//! syntaxes, from the `PG*` environment, or from setters; the same keywords
//! work everywhere, with libpq's precedence: a value given explicitly beats
//! the environment, which beats the built-in default.
//!
//! ```
//! use std::time::Duration;
//! use tusk::config::{Config, Host, SslMode};
//!
//! let url: Config = "postgresql://app:s3cret@db1:5433,db2/orders?sslmode=require&connect_timeout=5"
//!     .parse()?;
//! let kv = Config::parse("host=db1,db2 port=5433,5432 user=app password='s3cret' dbname=orders \
//!                         sslmode=require connect_timeout=5")?;
//! assert_eq!(url, kv);
//! assert_eq!(url.ssl_mode(), SslMode::Require);
//! assert_eq!(url.connect_timeout(), Some(Duration::from_secs(5)));
//!
//! let targets = url.targets()?;
//! assert_eq!(targets[0].host, Host::Tcp("db1".into()));
//! assert_eq!(targets[1].port, 5432);
//!
//! // Display never shows the password.
//! assert!(url.to_string().contains("password=********"));
//!
//! // Fill what the string left unset from PGHOST, PGUSER, ... (libpq precedence).
//! let config = Config::parse("dbname=orders")?.with_env_defaults()?;
//! # let _ = config;
//! # Ok::<(), tusk::config::ConfigError>(())
//! ```
//!
//! # Syntax
//!
//! * **URL**: `postgresql://[user[:password]@][host[:port][,host[:port]...]][/dbname][?keyword=value&...]`
//!   (or `postgres://`). Every part is percent-decoded; an IPv6 address goes in
//!   brackets (`[::1]:5432`); a unix socket directory is a percent-encoded host
//!   (`postgresql://%2Fvar%2Frun%2Fpostgresql/app`) or `?host=/tmp`; the host
//!   list may be empty (`postgresql:///app`). Query parameters are the keywords
//!   below; `ssl=true` means `sslmode=require`, as in libpq.
//! * **Keyword/value**: `host=localhost port=5432 dbname='my db'`: whitespace
//!   around `=` is allowed; a value with spaces is single-quoted, `\'` and `\\`
//!   escape, and `''` is the empty value.
//!
//! A keyword given twice keeps its last value. An unknown keyword, a bad value
//! or a malformed string is a [`ConfigError`] naming the keyword and the value.
//!
//! # Keywords
//!
//! | Keyword | Environment | Default | Meaning |
//! |---|---|---|---|
//! | `host` | `PGHOST` | unix socket in [`default_socket_dir`] | Comma-separated hosts; one starting with `/` (or `@`, Linux abstract namespace) is a unix socket directory |
//! | `hostaddr` | `PGHOSTADDR` | | Comma-separated numeric IPs, one per host (skips DNS; `host` still names the server for TLS) |
//! | `port` | `PGPORT` | `5432` | One port for all hosts, or one per host |
//! | `dbname` | `PGDATABASE` | the user name | Database |
//! | `user` | `PGUSER` | the OS user ([`Config::effective_user`]) | Role |
//! | `password` | `PGPASSWORD` | from the password file | Password |
//! | `passfile` | `PGPASSFILE` | `~/.pgpass` | Password file ([`Config::password_for`]) |
//! | `options` | `PGOPTIONS` | | Command-line options for the server, e.g. `-c search_path=app` |
//! | `application_name` | `PGAPPNAME` | | `application_name` sent at startup |
//! | `fallback_application_name` | | | Used when `application_name` is not set |
//! | `client_encoding` | `PGCLIENTENCODING` | `UTF8` | Only `UTF8` is accepted: tusk speaks UTF-8 |
//! | `connect_timeout` | `PGCONNECT_TIMEOUT` | none | Seconds per host; `0` waits indefinitely; `1` counts as `2` (libpq) |
//! | `keepalives` | | `1` | TCP keepalives on (nonzero) or off (`0`) |
//! | `keepalives_idle` | | OS default | Seconds of idleness before a keepalive |
//! | `keepalives_interval` | | OS default | Seconds between unanswered keepalives |
//! | `keepalives_count` | | OS default | Unanswered keepalives before the connection is dead |
//! | `tcp_user_timeout` | | OS default | Milliseconds unacknowledged data may wait (`TCP_USER_TIMEOUT`) |
//! | `sslmode` | `PGSSLMODE` | `prefer` ([`SslMode`]) | `disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full` |
//! | `sslnegotiation` | `PGSSLNEGOTIATION` | `postgres` | `postgres` or `direct` (TLS at once with ALPN `postgresql`: PostgreSQL 17+, an older server fails the handshake; needs `sslmode=require` or stronger) |
//! | `sslrootcert` | `PGSSLROOTCERT` | `~/.postgresql/root.crt` | Root certificates; `system` means the OS store (and defaults `sslmode` to `verify-full`) |
//! | `sslcert` / `sslkey` | `PGSSLCERT` / `PGSSLKEY` | `~/.postgresql/postgresql.crt` / `.key` | Client certificate and key |
//! | `sslpassword` | | | Password of the client key |
//! | `sslcrl` / `sslcrldir` | `PGSSLCRL` / `PGSSLCRLDIR` | | Certificate revocation list file / directory of PEM files, checked for the whole chain when it is verified |
//! | `sslsni` | `PGSSLSNI` | `1` | Send the host name in TLS SNI |
//! | `sslcertmode` | `PGSSLCERTMODE` | `allow` | `disable` (never send one), `allow` (send the configured one if asked) or `require` (one must be configured and asked for) |
//! | `ssl_min_protocol_version` / `ssl_max_protocol_version` | `PGSSLMINPROTOCOLVERSION` / `PGSSLMAXPROTOCOLVERSION` | `TLSv1.2` / none | `TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`; rustls speaks 1.2 and 1.3, so a maximum below 1.2 is an error |
//! | `requirepeer` | `PGREQUIREPEER` | | OS user name the unix-socket server must run as |
//! | `channel_binding` | `PGCHANNELBINDING` | `prefer` | SCRAM channel binding: `disable`, `prefer`, `require` |
//! | `require_auth` | `PGREQUIREAUTH` | any | Allowed authentication methods ([`RequireAuth`]) |
//! | `target_session_attrs` | `PGTARGETSESSIONATTRS` | `any` | `any`, `read-write`, `read-only`, `primary`, `standby`, `prefer-standby` |
//! | `load_balance_hosts` | `PGLOADBALANCEHOSTS` | `disable` | `disable` or `random` |
//! | `gssencmode`, `krbsrvname`, `gsslib`, `gssdelegation`, `sslcompression` | `PGGSSENCMODE`, ... | | Accepted for compatibility and ignored (no GSSAPI; `gssencmode=require` is an error) |
//!
//! libpq's `service`, `replication` and `requiressl` are refused with an
//! error that says what to do instead.
//!
//! ## tusk extensions
//!
//! These keywords are tusk's own; libpq does not know them. They work in both
//! syntaxes but have no environment variables.
//!
//! | Keyword | Default | Meaning |
//! |---|---|---|
//! | `statement_cache_capacity` | `256` | Prepared statements cached per connection; `0` turns the cache off |
//! | `statement_cache_bytes` | `4MB` | Bound on the cache's estimated size; a number of bytes or with a unit `B`, `kB`, `MB`, `GB` |
//! | `read_groups` | `off` | `off`: every query gets its own Sync, so it runs as if sent alone. `on` (opt-in): plain `SELECT`s from concurrent callers that leave in the same write share one Sync, and **a group is one read-only implicit transaction**: one `now()` and `txid_current()`, `transaction_read_only = on` for every member, locks held until the group ends, transaction-local settings a member makes reach later members, and a member's rollback-able effects undone when another member fails. A member that writes after all fails with 25006 and is sent again alone; one skipped after another's error is sent again alone, in its place (ahead of what was issued after it). See the crate docs' "Read groups" |
//! | `pooler_mode` | `false` | `true`/`on`/`1`/`transaction`/`statement`: behind a transaction-pooling PgBouncer, use unnamed statements only; `false`/`off`/`0`/`session`: off |
//!
//! # Where tusk differs from libpq
//!
//! * Negative `connect_timeout`, `keepalives_*` and `tcp_user_timeout` are
//!   errors (libpq reads them as 0).
//! * An empty `PG*` variable counts as unset.
//! * In the password file, a unix-socket connection matches an entry for
//!   `localhost` whatever its socket directory (libpq: only the default
//!   directory), as well as an entry naming the directory.
//! * A `dbname` that is itself a connection string is not expanded.
//! * In a URL, the user information ends at the last `@` before the host
//!   (libpq: the first), and a query value may contain `=`; both are errors
//!   or misreadings in libpq.

mod builder;
mod conninfo;
mod env;
mod error;
mod hosts;
mod keywords;
mod modes;
mod pgpass;
mod url;
mod user;
pub(crate) use user::{home, user_name_of};
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::types::TypeRegistry;
pub use error::ConfigError;
pub use hosts::{default_socket_dir, Host, Target};
pub use modes::{
    AuthMethod, ChannelBinding, LoadBalanceHosts, RequireAuth, SslCertMode, SslMode,
    SslNegotiation, SslProtocolVersion, TargetSessionAttrs,
};

/// The port when none is given.
pub const DEFAULT_PORT: u16 = 5432;
/// The default of [`Config::statement_cache_capacity`].
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 256;
/// The default of [`Config::statement_cache_bytes`] (4 MiB).
pub const DEFAULT_STATEMENT_CACHE_BYTES: usize = 4 << 20;

/// A connection configuration: libpq's keywords plus tusk's own (see the
/// [module docs](self) for the table).
///
/// Build one with [`Config::parse`] (or `str::parse`), [`Config::from_env`],
/// or [`Config::new`] and the setters; [`Config::with_env_defaults`] fills
/// what is unset from the `PG*` environment. Getters return the effective
/// value, defaults applied. `Debug` and `Display` never show a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Config {
    host: Option<Vec<String>>,
    hostaddr: Option<Vec<Option<IpAddr>>>,
    port: Option<Vec<u16>>,
    user: Option<String>,
    password: Option<String>,
    passfile: Option<PathBuf>,
    dbname: Option<String>,
    options: Option<String>,
    application_name: Option<String>,
    fallback_application_name: Option<String>,
    client_encoding: Option<String>,
    connect_timeout: Option<u32>,
    keepalives: Option<bool>,
    keepalives_idle: Option<u32>,
    keepalives_interval: Option<u32>,
    keepalives_count: Option<u32>,
    tcp_user_timeout: Option<u32>,
    sslmode: Option<SslMode>,
    sslnegotiation: Option<SslNegotiation>,
    sslrootcert: Option<PathBuf>,
    sslcert: Option<PathBuf>,
    sslkey: Option<PathBuf>,
    sslpassword: Option<String>,
    sslcrl: Option<PathBuf>,
    sslcrldir: Option<PathBuf>,
    sslsni: Option<bool>,
    sslcertmode: Option<SslCertMode>,
    ssl_min_protocol_version: Option<SslProtocolVersion>,
    ssl_max_protocol_version: Option<SslProtocolVersion>,
    requirepeer: Option<String>,
    channel_binding: Option<ChannelBinding>,
    target_session_attrs: Option<TargetSessionAttrs>,
    load_balance_hosts: Option<LoadBalanceHosts>,
    require_auth: Option<RequireAuth>,
    /// Keywords accepted for compatibility and otherwise ignored.
    ignored: BTreeMap<&'static str, String>,
    statement_cache_capacity: Option<usize>,
    statement_cache_bytes: Option<usize>,
    pooler_mode: Option<bool>,
    read_groups: Option<bool>,
    /// Types looked up from the server, shared by clones of this config.
    types: SharedTypes,
}

/// A config's [`TypeRegistry`]: shared by its clones, and not part of
/// what makes two configs equal.
#[derive(Clone, Default)]
struct SharedTypes(std::sync::Arc<TypeRegistry>);

impl PartialEq for SharedTypes {
    fn eq(&self, _: &SharedTypes) -> bool {
        true
    }
}

impl Eq for SharedTypes {}

impl Config {
    /// An empty configuration: every option at its default.
    pub fn new() -> Config {
        Config::default()
    }

    /// Parses a connection string: a `postgresql://` (or `postgres://`) URL,
    /// or libpq `key=value` pairs. Reads no environment.
    pub fn parse(s: &str) -> Result<Config, ConfigError> {
        let s = s.trim();
        let pairs = if url::is_url(s) {
            url::parse_pairs(s)?
        } else {
            conninfo::parse_pairs(s)?
        };
        let mut config = Config::new();
        for (key, value) in &pairs {
            keywords::set(&mut config, key, value)?;
        }
        config.check(false)?;
        Ok(config)
    }

    /// The hosts as given (`host`, `PGHOST`, [`Config::host`]); an empty
    /// entry means the default. Empty if none was given.
    pub fn hosts(&self) -> &[String] {
        self.host.as_deref().unwrap_or_default()
    }

    /// The numeric addresses as given (`hostaddr`), one per host; `None`
    /// entries were left empty.
    pub fn hostaddrs(&self) -> &[Option<IpAddr>] {
        self.hostaddr.as_deref().unwrap_or_default()
    }

    /// The ports as given (`port`): empty (all hosts use 5432), one for all
    /// hosts, or one per host.
    pub fn ports(&self) -> &[u16] {
        self.port.as_deref().unwrap_or_default()
    }

    /// The role name, if given. See [`Config::effective_user`] for the default.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password, if given. See [`Config::password_for`] for the password file.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The password file, if given (`passfile`, `PGPASSFILE`).
    pub fn passfile(&self) -> Option<&Path> {
        self.passfile.as_deref()
    }

    /// The database name, if given.
    pub fn dbname(&self) -> Option<&str> {
        self.dbname.as_deref()
    }

    /// The database name, else the user name (libpq's default).
    pub fn dbname_or_default(&self) -> String {
        match &self.dbname {
            Some(dbname) => dbname.clone(),
            None => self.effective_user(),
        }
    }

    /// Command-line options for the server (`options`, `PGOPTIONS`).
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// The `application_name` to send: `application_name`, else
    /// `fallback_application_name`.
    pub fn application_name(&self) -> Option<&str> {
        self.application_name
            .as_deref()
            .or(self.fallback_application_name.as_deref())
    }

    /// `fallback_application_name`, if given.
    pub fn fallback_application_name(&self) -> Option<&str> {
        self.fallback_application_name.as_deref()
    }

    /// How long to wait for each host to connect: `None` waits indefinitely
    /// (unset or `0`). As in libpq, a value of 1 second counts as 2.
    pub fn connect_timeout(&self) -> Option<Duration> {
        match self.connect_timeout {
            None | Some(0) => None,
            Some(secs) => Some(Duration::from_secs(u64::from(secs.max(2)))),
        }
    }

    /// Whether TCP keepalives are on (default: on).
    pub fn keepalives(&self) -> bool {
        self.keepalives.unwrap_or(true)
    }

    /// Idle time before the first keepalive; `None`: the OS default.
    pub fn keepalives_idle(&self) -> Option<Duration> {
        nonzero_secs(self.keepalives_idle)
    }

    /// Time between unanswered keepalives; `None`: the OS default.
    pub fn keepalives_interval(&self) -> Option<Duration> {
        nonzero_secs(self.keepalives_interval)
    }

    /// Unanswered keepalives before the connection is dead; `None`: the OS default.
    pub fn keepalives_count(&self) -> Option<u32> {
        self.keepalives_count.filter(|&n| n > 0)
    }

    /// `TCP_USER_TIMEOUT`; `None`: the OS default.
    pub fn tcp_user_timeout(&self) -> Option<Duration> {
        self.tcp_user_timeout
            .filter(|&ms| ms > 0)
            .map(|ms| Duration::from_millis(u64::from(ms)))
    }

    /// The TLS mode: `sslmode`, else `verify-full` when `sslrootcert=system`
    /// (libpq), else `prefer`.
    pub fn ssl_mode(&self) -> SslMode {
        match self.sslmode {
            Some(mode) => mode,
            None if self.ssl_root_cert_is_system() => SslMode::VerifyFull,
            None => SslMode::Prefer,
        }
    }

    /// How TLS is negotiated (default `postgres`).
    pub fn ssl_negotiation(&self) -> SslNegotiation {
        self.sslnegotiation.unwrap_or_default()
    }

    /// The root certificate file, if given. `system` (see
    /// [`Config::ssl_root_cert_is_system`]) means the OS trust store; when
    /// unset, the TLS layer looks for `~/.postgresql/root.crt`.
    pub fn ssl_root_cert(&self) -> Option<&Path> {
        self.sslrootcert.as_deref()
    }

    /// Whether `sslrootcert=system`: trust the OS certificate store.
    pub fn ssl_root_cert_is_system(&self) -> bool {
        self.sslrootcert.as_deref() == Some(Path::new("system"))
    }

    /// The client certificate file, if given (else `~/.postgresql/postgresql.crt`).
    pub fn ssl_cert(&self) -> Option<&Path> {
        self.sslcert.as_deref()
    }

    /// The client key file, if given (else `~/.postgresql/postgresql.key`).
    pub fn ssl_key(&self) -> Option<&Path> {
        self.sslkey.as_deref()
    }

    /// The password of an encrypted client key, if given.
    pub fn ssl_password(&self) -> Option<&str> {
        self.sslpassword.as_deref()
    }

    /// The certificate revocation list file, if given.
    pub fn ssl_crl(&self) -> Option<&Path> {
        self.sslcrl.as_deref()
    }

    /// The certificate revocation list directory, if given.
    pub fn ssl_crl_dir(&self) -> Option<&Path> {
        self.sslcrldir.as_deref()
    }

    /// Whether to send SNI (default: yes).
    pub fn ssl_sni(&self) -> bool {
        self.sslsni.unwrap_or(true)
    }

    /// Whether to send a client certificate (default `allow`).
    pub fn ssl_cert_mode(&self) -> SslCertMode {
        self.sslcertmode.unwrap_or_default()
    }

    /// The lowest TLS version to accept (default TLS 1.2).
    pub fn ssl_min_protocol_version(&self) -> SslProtocolVersion {
        self.ssl_min_protocol_version
            .unwrap_or(SslProtocolVersion::Tls1_2)
    }

    /// The highest TLS version to accept, if limited.
    pub fn ssl_max_protocol_version(&self) -> Option<SslProtocolVersion> {
        self.ssl_max_protocol_version
    }

    /// The OS user the server must run as on a unix socket (`requirepeer`).
    pub fn require_peer(&self) -> Option<&str> {
        self.requirepeer.as_deref()
    }

    /// SCRAM channel binding (default `prefer`).
    pub fn channel_binding(&self) -> ChannelBinding {
        self.channel_binding.unwrap_or_default()
    }

    /// Which server a connection must reach (default `any`).
    pub fn target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs.unwrap_or_default()
    }

    /// Whether hosts are tried in random order (default `disable`).
    pub fn load_balance_hosts(&self) -> LoadBalanceHosts {
        self.load_balance_hosts.unwrap_or_default()
    }

    /// The allowed authentication methods, if restricted.
    pub fn require_auth(&self) -> Option<&RequireAuth> {
        self.require_auth.as_ref()
    }

    /// tusk: prepared statements cached per connection (default 256; 0: no cache).
    pub fn statement_cache_capacity(&self) -> usize {
        self.statement_cache_capacity
            .unwrap_or(DEFAULT_STATEMENT_CACHE_CAPACITY)
    }

    /// tusk: the bound on the statement cache's estimated size in bytes (default 4 MiB).
    pub fn statement_cache_bytes(&self) -> usize {
        self.statement_cache_bytes
            .unwrap_or(DEFAULT_STATEMENT_CACHE_BYTES)
    }

    /// tusk: whether to use unnamed statements only, for a transaction-pooling
    /// PgBouncer (default false).
    pub fn pooler_mode(&self) -> bool {
        self.pooler_mode.unwrap_or(false)
    }

    /// tusk: whether concurrent plain `SELECT`s may share one Sync, in one
    /// read-only implicit transaction per group (default off, an opt-in
    /// with the contract described in the crate docs' "Read groups"; never
    /// in pooler mode).
    pub fn read_groups(&self) -> bool {
        self.read_groups.unwrap_or(false)
    }

    /// The registry of types that are not built in (enums, composites,
    /// domains, ranges, extension types), looked up from the server once
    /// and shared by every connection made from this config or a clone of
    /// it, such as a pool's connections. See [`TypeRegistry`].
    pub fn type_registry(&self) -> std::sync::Arc<TypeRegistry> {
        self.types.0.clone()
    }

    /// Shares `registry` with the connections made from this config (for
    /// several configs that reach the same databases). Entries are kept
    /// per server address and database, so sharing across databases is
    /// safe.
    pub fn set_type_registry(&mut self, registry: std::sync::Arc<TypeRegistry>) -> &mut Config {
        self.types = SharedTypes(registry);
        self
    }
}

fn nonzero_secs(secs: Option<u32>) -> Option<Duration> {
    secs.filter(|&s| s > 0)
        .map(|s| Duration::from_secs(u64::from(s)))
}

impl FromStr for Config {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s)
    }
}

/// A `key=value` connection string of every option that is set, passwords
/// shown as `********`.
impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        keywords::write_conninfo(self, f)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        keywords::write_debug(self, f)
    }
}
