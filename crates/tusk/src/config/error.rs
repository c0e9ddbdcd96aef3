//! The error of a bad connection string, environment variable or setting.

use std::fmt;

/// A connection string, `PG*` environment variable or setting that tusk cannot
/// use. It names the keyword and the offending value where there is one (a
/// password is never repeated back), and its message says what to fix.
///
/// ```
/// let err = tusk::config::Config::parse("port=abc").unwrap_err();
/// assert_eq!(err.key(), Some("port"));
/// assert_eq!(err.value(), Some("abc"));
/// assert!(err.to_string().starts_with(r#"invalid value "abc" for connection option "port""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    key: Option<String>,
    value: Option<String>,
    message: String,
}

/// Keywords whose values are secrets: never echoed in an error or `Display`.
pub(super) fn is_secret(key: &str) -> bool {
    matches!(key, "password" | "sslpassword")
}

impl ConfigError {
    /// The connection option at fault, e.g. `"port"`, if the error is about one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The offending value as written, if the error is about one (never a password).
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The full message (the same as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A syntax error, at keyword `key` if there is one to blame.
    pub(super) fn syntax(key: Option<&str>, message: impl fmt::Display) -> ConfigError {
        ConfigError {
            key: key.map(str::to_owned),
            value: None,
            message: message.to_string(),
        }
    }

    /// `key` is not a connection option tusk knows.
    pub(super) fn unknown_option(key: &str) -> ConfigError {
        ConfigError {
            key: Some(key.to_owned()),
            value: None,
            message: format!(
                "invalid connection option \"{key}\" (the supported keywords are listed in the tusk::config docs)"
            ),
        }
    }

    /// `value` is not valid for `key`; `expected` says what would be.
    pub(super) fn invalid_value(
        key: &str,
        value: &str,
        expected: impl fmt::Display,
    ) -> ConfigError {
        if is_secret(key) {
            return ConfigError {
                key: Some(key.to_owned()),
                value: None,
                message: format!("invalid value for connection option \"{key}\": {expected}"),
            };
        }
        ConfigError {
            key: Some(key.to_owned()),
            value: Some(value.to_owned()),
            message: format!(
                "invalid value \"{value}\" for connection option \"{key}\": {expected}"
            ),
        }
    }

    /// A libpq option tusk deliberately does not implement; `why` says what to do instead.
    pub(super) fn unsupported(key: &str, value: &str, why: impl fmt::Display) -> ConfigError {
        ConfigError {
            key: Some(key.to_owned()),
            value: (!is_secret(key)).then(|| value.to_owned()),
            message: format!("connection option \"{key}\" is not supported by tusk: {why}"),
        }
    }

    /// Options that contradict each other; `key` is the one to change.
    pub(super) fn conflict(
        key: &str,
        value: Option<&str>,
        message: impl fmt::Display,
    ) -> ConfigError {
        ConfigError {
            key: Some(key.to_owned()),
            value: value.map(str::to_owned),
            message: message.to_string(),
        }
    }

    /// Notes that the value came from environment variable `var`.
    pub(super) fn in_env_var(mut self, var: &str) -> ConfigError {
        self.message = format!("{} (from environment variable {var})", self.message);
        self
    }
}
