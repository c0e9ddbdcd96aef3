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
/// (docs/pool.md, "Reset on return"). Spelled `full` or `tracked` in every
/// source, any case (`always` reads as `full`).
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

    /// The statements of the full reset ([`ResetPolicy::Full`]) after a
    /// checkout whose text showed no `PREPARE`: `BEGIN ISOLATION LEVEL
    /// READ COMMITTED`, the resets, the guard that fails when a SQL-level
    /// prepared statement exists (and releases the advisory locks),
    /// `DISCARD SEQUENCES`, then `COMMIT`. The pool sends the first as an
    /// unnamed Parse/Bind/Execute, the rest up to the guard as one simple
    /// Query, and the last two as unnamed Parse/Bind/Execute again, in the
    /// next holder's first request's Sync group. For benchmarks and tests
    /// that run the same server-side work elsewhere (tusk-bench's
    /// `deadpool-full` peer).
    pub fn full_reset_statements() -> &'static [&'static str] {
        crate::reset::full_reset_as_run()
    }
}

impl serde::Serialize for ResetPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ResetPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim().to_ascii_lowercase().as_str() {
            // `always` was the full reset's name.
            "full" | "always" => Ok(ResetPolicy::Full),
            "tracked" => Ok(ResetPolicy::Tracked),
            _ => Err(serde::de::Error::custom("full or tracked")),
        }
    }
}

/// Declares [`PoolConfig`] once: each setting is one field with its doc
/// comment, its serde attributes and its default. From that come the
/// struct, its `Default`, the builder's setters, and, through serde, the
/// setting names and their parsing from every source (`keys`), `Debug`,
/// and the checks against docs/pool.md and the reference TOML (tests in
/// `keys`). `code_only` fields are not settings (serde skips them) and
/// `custom_setter` settings have a builder method written by hand; a
/// setting's `; set(arg: T) => expr` gives its setter another argument type.
macro_rules! pool_config {
    (
        $(#[$sm:meta])*
        pub struct PoolConfig {
            code_only {
                $( $(#[$cm:meta])* pub $cf:ident : $ct:ty = $cd:expr, )*
            }
            settings {
                $(
                    $(#[$fm:meta])* pub $f:ident : $t:ty = $d:expr
                    $(; set($arg:ident : $at:ty) => $conv:expr)?,
                )*
            }
            custom_setter {
                $( $(#[$xm:meta])* pub $xf:ident : $xt:ty = $xd:expr, )*
            }
        }
    ) => {
        $(#[$sm])*
        #[derive(Clone, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct PoolConfig {
            $( $(#[$cm])* #[serde(skip)] pub $cf: $ct, )*
            $( $(#[$fm])* pub $f: $t, )*
            $( $(#[$xm])* pub $xf: $xt, )*
        }

        impl Default for PoolConfig {
            fn default() -> Self {
                PoolConfig {
                    $( $cf: $cd, )*
                    $( $f: $d, )*
                    $( $xf: $xd, )*
                }
            }
        }

        impl PoolConfigBuilder {
            $( setter!($f: $t $(; $arg: $at => $conv)?); )*
        }
    };
}

/// One builder setter: taking the field's type, or (`; arg: T => expr`)
/// another type converted by `expr`.
macro_rules! setter {
    ($f:ident : $t:ty) => {
        #[doc = concat!("Sets [`PoolConfig::", stringify!($f), "`].")]
        pub fn $f(mut self, v: $t) -> Self {
            self.0.$f = v;
            self
        }
    };
    ($f:ident : $t:ty; $arg:ident : $at:ty => $conv:expr) => {
        #[doc = concat!("Sets [`PoolConfig::", stringify!($f), "`].")]
        pub fn $f(mut self, $arg: $at) -> Self {
            self.0.$f = $conv;
            self
        }
    };
}

pool_config! {
    /// The pool's configuration. Every field has a documented default
    /// ([`PoolConfig::default`]); build one with [`PoolConfig::builder`] or set
    /// the fields directly. Each setting (every field but `connect` and
    /// `credentials`) can also be set by name from a URL, the environment
    /// or TOML ([`PoolConfig::set`], docs/pool.md).
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
    pub struct PoolConfig {
        code_only {
            /// How to connect (hosts, TLS, `target_session_attrs`, ...). With
            /// several hosts and `target_session_attrs=read-write`, every new
            /// connection re-resolves the primary. Default: `Config::new()` (the
            /// `PG*` environment is not read; use `Config::from_env`). Set by
            /// name as `url`.
            pub connect: tusk::Config = tusk::Config::new(),
            /// Supplies the password (or token) for each new connection, so it can
            /// rotate without a restart. Default none (the password in `connect`).
            pub credentials: Option<Arc<dyn CredentialsProvider>> = None,
        }
        settings {
            /// A name for metrics and logs (`db.client.connection.pool.name`). Default `"tusk"`.
            pub name: String = "tusk".into(),
            /// Most connections open at once. Default 10.
            pub max_size: usize = 10,
            /// Connections the supervisor keeps open and idle when the pool is
            /// quiet (never more than `max_size` in all). Default 0.
            pub min_idle: usize = 0,
            /// How long `acquire` waits before failing with
            /// [`ErrorKind::PoolExhausted`](tusk::ErrorKind::PoolExhausted). Default 30 s.
            #[serde(with = "keys::duration")]
            pub acquire_timeout: Duration = Duration::from_secs(30),
            /// An idle connection unused this long is closed (above `min_idle`).
            /// `None` keeps them. Default 10 min (built in, where deadpool users
            /// had to write a `retain()` reaper: deadpool #178).
            #[serde(with = "keys::opt_duration")]
            pub idle_timeout: Option<Duration> = Some(Duration::from_secs(600)),
            /// A connection older than this is closed when it next comes back (busy
            /// ones included: pgx #2560 checked idle ones only) or sits idle.
            /// `None`: no limit. Default 30 min.
            #[serde(with = "keys::opt_duration")]
            pub max_lifetime: Option<Duration> = Some(Duration::from_secs(1800)),
            /// Up to this much is taken off each connection's lifetime at random,
            /// so connections opened together do not all expire together. Default 30 s.
            #[serde(with = "keys::duration")]
            pub max_lifetime_jitter: Duration = Duration::from_secs(30),
            /// A connection idle longer than this gets one cheap check (an empty
            /// query) before it is handed out; fresher ones get none (sqlx pings on
            /// every acquire: sqlx #1743, pgx #1738). Default 500 ms (HikariCP's
            /// `aliveBypassWindowMs`).
            #[serde(with = "keys::duration")]
            pub idle_check_threshold: Duration = Duration::from_millis(500),
            /// A connection held longer than this is reported as leaked (a warning
            /// with the acquire location, and `leaked_total`). `None`: off. Default
            /// off. The builder takes a plain `Duration`.
            #[serde(with = "keys::opt_duration")]
            pub leak_detection_threshold: Option<Duration> = None; set(d: Duration) => Some(d),
            /// Capture a backtrace at each acquire for leak reports (costly). Default false.
            pub leak_backtrace: bool = false,
            /// Idle lists, one per tokio worker thread; 0 means one per available
            /// CPU. Default 0.
            pub shards: usize = 0,
            /// Callers a connection may take at once when [`Pool`](crate::Pool)'s
            /// own query methods share it (pipelining), once the pool is at
            /// `max_size`. 1 disables sharing. Default 16.
            pub max_pipeline_depth: usize = 16,
            /// Whether [`Pool`](crate::Pool)'s own query methods may share a busy
            /// connection between callers (pipelining their statements) once the
            /// pool is at `max_size`. Default false: each call takes a connection
            /// of its own, as sqlx's and deadpool's pools do. On, callers share a
            /// session with PgBouncer's transaction-mode contract: no session
            /// state (docs/pool.md, "Sharing busy connections").
            pub share_connections: bool = false,
            /// How session state is reset when a connection comes back. Default [`ResetPolicy::Full`].
            pub reset: ResetPolicy = ResetPolicy::Full,
            /// How long the rollback and reset of a returned connection may take
            /// before the connection is closed instead. Default 5 s.
            #[serde(with = "keys::duration")]
            pub reset_timeout: Duration = Duration::from_secs(5),
            /// First delay of the supervisor's reconnect backoff. Default 25 ms.
            #[serde(with = "keys::duration")]
            pub reconnect_backoff_min: Duration = Duration::from_millis(25),
            /// Longest delay of the reconnect backoff (and of the breaker's cooldown). Default 1 s.
            #[serde(with = "keys::duration")]
            pub reconnect_backoff_max: Duration = Duration::from_secs(1),
            /// Consecutive connect failures that open the circuit breaker. Default 5.
            pub breaker_threshold: u32 = 5,
        }
        custom_setter {
            /// Statements prepared on every new connection before it is first
            /// handed out (one flight for all of them), so their first run on a
            /// fresh connection sends no Parse: see docs/pool.md, "Hot statements".
            /// Default none.
            pub hot_statements: Vec<String> = Vec::new(),
        }
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
