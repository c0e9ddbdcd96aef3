//! The pool's configuration: a plain struct with public fields, documented
//! defaults, and a builder; read from URL parameters, the environment and
//! TOML (`sources`), every setting by name (`keys`), validated with
//! warnings (`validate`).

mod keys;
mod redact;
mod sources;
mod validate;

pub use validate::ConfigWarning;

use std::sync::Arc;
use std::time::Duration;

use crate::credentials::CredentialsProvider;

/// How the pool resets session state when a connection comes back
/// (docs/pool.md, "Reset on return").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResetPolicy {
    /// The default: after every checkout that sent anything, everything
    /// `DISCARD ALL` resets except the driver's cached prepared statements
    /// (open transaction rolled back; `CLOSE ALL`, `SET SESSION
    /// AUTHORIZATION DEFAULT`, `RESET ALL`, `UNLISTEN *`,
    /// `pg_advisory_unlock_all()`, `DISCARD TEMP`, `DISCARD SEQUENCES`, the
    /// SQL-level `PREPARE`d statements deallocated),
    /// plus the driver's notification queue, notice handler and cancel
    /// tokens. Whatever a function did out of sight is undone too. Queued
    /// on return and sent in the same write as the next holder's first
    /// statement: no round trip for anyone.
    #[default]
    Full,
    /// Opt-in, cheaper, with a contract: reset only the kinds of state
    /// whose statements appear in the SQL text the handle ran through the
    /// pool (settings and role, LISTEN, temp tables, SQL PREPARE, cursors,
    /// advisory locks, read with [`tusk::sql::lexer`]). State changed out
    /// of sight (a function calling `set_config` or running `EXECUTE
    /// 'SET ROLE ..'`, a temp table, `LISTEN` or lock taken in a function,
    /// `lastval()`) is **not** reset: use it only when no statement the
    /// application runs calls such functions. The driver-side state
    /// (notifications, notice handler, cancel tokens) is still reset.
    Tracked,
}

impl ResetPolicy {
    /// The setting's spelling (`full`, `tracked`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResetPolicy::Full => "full",
            ResetPolicy::Tracked => "tracked",
        }
    }
}

/// The pool's configuration. Every field has a documented default
/// ([`PoolConfig::default`]); build one with [`PoolConfig::builder`] or set
/// the fields directly.
///
/// ```
/// use std::time::Duration;
/// let cfg = tusk_pool::PoolConfig::builder()
///     .url("postgresql://app@localhost/app")?
///     .max_size(16)
///     .min_idle(4)
///     .acquire_timeout(Duration::from_secs(5))
///     .build();
/// assert_eq!(cfg.max_size, 16);
/// # Ok::<(), tusk::Error>(())
/// ```
#[derive(Clone)]
pub struct PoolConfig {
    /// How to connect (hosts, TLS, `target_session_attrs`, ...). With
    /// several hosts and `target_session_attrs=read-write`, every new
    /// connection re-resolves the primary. Default: `Config::new()` (the
    /// `PG*` environment is not read; use `Config::from_env`).
    pub connect: tusk::Config,
    /// A name for metrics and logs (`db.client.connection.pool.name`). Default `"tusk"`.
    pub name: String,
    /// Most connections open at once. Default 10.
    pub max_size: usize,
    /// Connections the supervisor keeps open and idle when the pool is
    /// quiet (never more than `max_size` in all). Default 0.
    pub min_idle: usize,
    /// How long `acquire` waits before failing with
    /// [`ErrorKind::PoolExhausted`](tusk::ErrorKind::PoolExhausted). Default 30 s.
    pub acquire_timeout: Duration,
    /// An idle connection unused this long is closed (above `min_idle`).
    /// `None` keeps them. Default 10 min (built in, where deadpool users
    /// had to write a `retain()` reaper: deadpool #178).
    pub idle_timeout: Option<Duration>,
    /// A connection older than this is closed when it next comes back (busy
    /// ones included: pgx #2560 checked idle ones only) or sits idle.
    /// `None`: no limit. Default 30 min.
    pub max_lifetime: Option<Duration>,
    /// Up to this much is taken off each connection's lifetime at random,
    /// so connections opened together do not all expire together. Default 30 s.
    pub max_lifetime_jitter: Duration,
    /// A connection idle longer than this gets one cheap check (an empty
    /// query) before it is handed out; fresher ones get none (sqlx pings on
    /// every acquire: sqlx #1743, pgx #1738). Default 500 ms (HikariCP's
    /// `aliveBypassWindowMs`).
    pub idle_check_threshold: Duration,
    /// A connection held longer than this is reported as leaked (a warning
    /// with the acquire location, and `leaked_total`). `None`: off. Default off.
    pub leak_detection_threshold: Option<Duration>,
    /// Capture a backtrace at each acquire for leak reports (costly). Default false.
    pub leak_backtrace: bool,
    /// Idle lists, one per tokio worker thread; 0 means one per available
    /// CPU. Default 0.
    pub shards: usize,
    /// Callers a connection may take at once when [`Pool`](crate::Pool)'s
    /// own query methods share it (pipelining), once the pool is at
    /// `max_size`. 1 disables sharing. Default 16.
    pub max_pipeline_depth: usize,
    /// Whether [`Pool`](crate::Pool)'s own query methods may share a busy
    /// connection between callers (pipelining their statements) once the
    /// pool is at `max_size`. Default false: each call takes a connection
    /// of its own, as sqlx's and deadpool's pools do. On, callers share a
    /// session with PgBouncer's transaction-mode contract: no session
    /// state (docs/pool.md, "Sharing busy connections").
    pub share_connections: bool,
    /// How session state is reset when a connection comes back. Default [`ResetPolicy::Full`].
    pub reset: ResetPolicy,
    /// How long the rollback and reset of a returned connection may take
    /// before the connection is closed instead. Default 5 s.
    pub reset_timeout: Duration,
    /// Supplies the password (or token) for each new connection, so it can
    /// rotate without a restart. Default none (the password in `connect`).
    pub credentials: Option<Arc<dyn CredentialsProvider>>,
    /// First delay of the supervisor's reconnect backoff. Default 25 ms.
    pub reconnect_backoff_min: Duration,
    /// Longest delay of the reconnect backoff (and of the breaker's cooldown). Default 1 s.
    pub reconnect_backoff_max: Duration,
    /// Consecutive connect failures that open the circuit breaker. Default 5.
    pub breaker_threshold: u32,
    /// Statements prepared on every new connection before it is first
    /// handed out (one flight for all of them), so their first run on a
    /// fresh connection sends no Parse: see docs/pool.md, "Hot statements".
    /// Default none.
    pub hot_statements: Vec<String>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            connect: tusk::Config::new(),
            name: "tusk".into(),
            max_size: 10,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            max_lifetime_jitter: Duration::from_secs(30),
            idle_check_threshold: Duration::from_millis(500),
            leak_detection_threshold: None,
            leak_backtrace: false,
            shards: 0,
            max_pipeline_depth: 16,
            share_connections: false,
            reset: ResetPolicy::Full,
            reset_timeout: Duration::from_secs(5),
            credentials: None,
            reconnect_backoff_min: Duration::from_millis(25),
            reconnect_backoff_max: Duration::from_secs(1),
            breaker_threshold: 5,
            hot_statements: Vec::new(),
        }
    }
}

impl std::fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolConfig")
            .field("connect", &self.connect)
            .field("name", &self.name)
            .field("max_size", &self.max_size)
            .field("min_idle", &self.min_idle)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("idle_check_threshold", &self.idle_check_threshold)
            .field("leak_detection_threshold", &self.leak_detection_threshold)
            .field("shards", &self.shards)
            .field("max_pipeline_depth", &self.max_pipeline_depth)
            .field("share_connections", &self.share_connections)
            .field("reset", &self.reset)
            .field("credentials", &self.credentials.is_some())
            .field("hot_statements", &self.hot_statements)
            .finish_non_exhaustive()
    }
}

impl PoolConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> PoolConfigBuilder {
        PoolConfigBuilder(PoolConfig::default())
    }

    /// The number of shards this config gives, resolved.
    pub(crate) fn shard_count(&self) -> usize {
        let n = if self.shards == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.shards
        };
        n.clamp(1, self.max_size.max(1))
    }

    /// Validates and logs each correction (see [`PoolConfig::validate`]).
    pub(crate) fn normalized(self) -> (PoolConfig, Vec<ConfigWarning>) {
        let (c, warnings) = self.validate();
        for w in &warnings {
            tracing::warn!(pool = %c.name, key = w.key, value = %w.value, applied = %w.applied, "{w}");
        }
        (c, warnings)
    }
}

/// Builds a [`PoolConfig`]; every setter is optional.
#[derive(Debug, Clone)]
pub struct PoolConfigBuilder(PoolConfig);

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $( $(#[$m])* pub fn $name(mut self, v: $ty) -> Self { self.0.$name = v; self } )*
    };
}

impl PoolConfigBuilder {
    /// Parses a connection string (URL or `key=value`) into `connect`,
    /// filling unset options from the `PG*` environment; its `pool_<key>`
    /// parameters set the pool ([`PoolConfig::from_url`]).
    pub fn url(mut self, url: &str) -> Result<Self, tusk::Error> {
        self.0.set("url", url)?;
        Ok(self)
    }

    /// Sets the statements prepared ahead on every new connection.
    pub fn hot_statements<S: Into<String>>(mut self, sql: impl IntoIterator<Item = S>) -> Self {
        self.0.hot_statements = sql.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the password (or token) provider.
    pub fn credentials(mut self, p: impl CredentialsProvider + 'static) -> Self {
        self.0.credentials = Some(Arc::new(p));
        self
    }

    /// Sets the leak detection threshold.
    pub fn leak_detection_threshold(mut self, d: Duration) -> Self {
        self.0.leak_detection_threshold = Some(d);
        self
    }

    setters! {
        /// Sets how to connect.
        connect: tusk::Config,
        /// Sets the pool's name.
        name: String,
        /// Sets the most connections.
        max_size: usize,
        /// Sets the idle connections kept ready.
        min_idle: usize,
        /// Sets the acquire timeout.
        acquire_timeout: Duration,
        /// Sets the idle timeout.
        idle_timeout: Option<Duration>,
        /// Sets the maximum lifetime.
        max_lifetime: Option<Duration>,
        /// Sets the lifetime jitter.
        max_lifetime_jitter: Duration,
        /// Sets the idle time past which a connection is checked on acquire.
        idle_check_threshold: Duration,
        /// Captures a backtrace at acquire for leak reports.
        leak_backtrace: bool,
        /// Sets the number of shards (0: one per CPU).
        shards: usize,
        /// Sets how many callers may share one connection.
        max_pipeline_depth: usize,
        /// Lets the pool's query methods share busy connections (opt-in).
        share_connections: bool,
        /// Sets the reset policy.
        reset: ResetPolicy,
        /// Sets the reset timeout.
        reset_timeout: Duration,
        /// Sets the first reconnect delay.
        reconnect_backoff_min: Duration,
        /// Sets the longest reconnect delay.
        reconnect_backoff_max: Duration,
        /// Sets the connect failures that open the breaker.
        breaker_threshold: u32,
    }

    /// The config.
    pub fn build(self) -> PoolConfig {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_is_corrected() {
        let (c, _) = PoolConfig {
            max_size: 0,
            min_idle: 5,
            max_pipeline_depth: 0,
            ..PoolConfig::default()
        }
        .normalized();
        assert_eq!((c.max_size, c.min_idle, c.max_pipeline_depth), (1, 1, 1));
        assert_eq!(c.shard_count(), 1);
        let c = PoolConfig {
            max_size: 64,
            shards: 4,
            ..PoolConfig::default()
        };
        assert_eq!(c.shard_count(), 4);
    }

    #[test]
    fn builder_and_url() {
        let c = PoolConfig::builder()
            .url("postgresql://app@db1:5433/orders")
            .unwrap()
            .name("orders".into())
            .reset(ResetPolicy::Tracked)
            .build();
        assert_eq!(c.connect.dbname(), Some("orders"));
        assert_eq!(c.reset, ResetPolicy::Tracked);
        assert_eq!(PoolConfig::default().reset, ResetPolicy::Full);
        assert!(!PoolConfig::default().share_connections);
        assert!(format!("{c:?}").contains("orders"));
        assert!(PoolConfig::from_url("postgresql://a@b/c?sslmode=bogus").is_err());
    }
}
