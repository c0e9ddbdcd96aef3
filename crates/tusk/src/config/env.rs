//! The `PG*` environment variables, as libpq reads them.
//!
//! Every lookup goes through a function from variable name to value, so tests
//! pass a map instead of touching the process environment.

use super::keywords::KEYWORDS;
use super::{Config, ConfigError};

/// Variables libpq reads that tusk does not act on.
const IGNORED_VARS: &[(&str, &str)] = &[
    (
        "PGSERVICE",
        "pg_service.conf is not read; put the service's settings in the connection string",
    ),
    ("PGSERVICEFILE", "pg_service.conf is not read"),
];

/// The process environment as a lookup function. A variable that is unset,
/// not Unicode, or empty counts as unset.
pub(super) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// A configuration from the `PG*` environment only (`PGHOST`, `PGPORT`,
    /// `PGUSER`, ...: see the [module docs](super) for the list). An empty
    /// variable counts as unset.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_env_with(process_env)
    }

    /// Fills every option that is not set from its `PG*` variable, as libpq
    /// does: an explicit value beats the environment, which beats the
    /// built-in default.
    ///
    /// ```
    /// # use tusk::config::Config;
    /// let config = Config::parse("postgresql://app@db/orders")?.with_env_defaults()?;
    /// assert_eq!(config.user(), Some("app")); // PGUSER cannot override it
    /// # Ok::<(), tusk::config::ConfigError>(())
    /// ```
    pub fn with_env_defaults(self) -> Result<Config, ConfigError> {
        self.with_env_defaults_with(process_env)
    }

    /// [`Config::from_env`] with `env` as the environment.
    pub(crate) fn from_env_with(
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::new().with_env_defaults_with(env)
    }

    /// [`Config::with_env_defaults`] with `env` as the environment.
    pub(crate) fn with_env_defaults_with(
        mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        for kw in KEYWORDS {
            let Some(var) = kw.env else { continue };
            if (kw.get)(&self).is_some() {
                continue;
            }
            let Some(value) = env(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            (kw.set)(&mut self, &value).map_err(|e| e.in_env_var(var))?;
        }
        for (var, why) in IGNORED_VARS {
            if env(var).is_some_and(|v| !v.is_empty()) {
                tracing::warn!("{var} is set but ignored: {why}");
            }
        }
        self.check(false)?;
        Ok(self)
    }
}
