//! Checks across keywords: the host, address and port lists line up, and the
//! TLS options do not contradict each other.

use super::{Config, ConfigError, SslNegotiation};

impl Config {
    /// Checks that the options fit together. With `complete` false (a string
    /// or the environment may still add options), only pairs that are both
    /// set are checked; with `complete` true, unset options count at their
    /// defaults.
    pub(super) fn check(&self, complete: bool) -> Result<(), ConfigError> {
        let hosts = self.hosts().len();
        let addrs = self.hostaddrs().len();
        if hosts > 0 && addrs > 0 && hosts != addrs {
            return Err(ConfigError::conflict(
                "hostaddr",
                None,
                format!(
                    "could not match {hosts} host names to {addrs} hostaddr values; \
                     give one hostaddr per host"
                ),
            ));
        }

        let ports = self.ports().len();
        let targets = match self.target_count() {
            Some(n) => Some(n),
            None if complete => Some(1),
            None => None,
        };
        if let Some(targets) = targets {
            if ports > 1 && ports != targets {
                return Err(ConfigError::conflict(
                    "port",
                    None,
                    format!(
                        "could not match {ports} port numbers to {targets} hosts; \
                         give one port for all hosts or one per host"
                    ),
                ));
            }
        }

        let mode_known = complete || self.sslmode.is_some();
        if mode_known {
            let mode = self.ssl_mode();
            if self.ssl_negotiation() == SslNegotiation::Direct && !mode.requires_tls() {
                return Err(ConfigError::conflict(
                    "sslmode",
                    Some(mode.as_str()),
                    format!(
                        "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct \
                         (use \"require\", \"verify-ca\", or \"verify-full\")"
                    ),
                ));
            }
            if self.ssl_root_cert_is_system() && mode != super::SslMode::VerifyFull {
                return Err(ConfigError::conflict(
                    "sslmode",
                    Some(mode.as_str()),
                    format!(
                        "weak sslmode \"{mode}\" may not be used with sslrootcert=system \
                         (use \"verify-full\")"
                    ),
                ));
            }
        }

        if let (Some(min), Some(max)) =
            (self.ssl_min_protocol_version, self.ssl_max_protocol_version)
        {
            if min > max {
                return Err(ConfigError::conflict(
                    "ssl_max_protocol_version",
                    Some(max.as_str()),
                    format!(
                        "invalid SSL protocol version range: ssl_min_protocol_version {min} \
                         is above ssl_max_protocol_version {max}"
                    ),
                ));
            }
        }
        Ok(())
    }
}
