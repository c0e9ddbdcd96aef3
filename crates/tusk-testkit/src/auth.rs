//! The authentication matrix: one role per method, after rust-postgres's CI
//! fixture, so drivers can test every way a server asks for a password.
//!
//! | role | password | how it may log in |
//! |------|----------|-------------------|
//! | `postgres` | none | `trust`, unix socket and TCP |
//! | [`TRUST_USER`] | none | `trust`, unix socket and TCP |
//! | [`MD5_USER`] | [`MD5_PASSWORD`], stored as MD5 | `md5`, unix socket and TCP |
//! | [`SCRAM_USER`] | [`SCRAM_PASSWORD`] | `scram-sha-256`, unix socket and TCP |
//! | [`SSL_USER`] | [`SSL_PASSWORD`] | `scram-sha-256` over `hostssl` only (needs `tls()`) |
//! | [`CERT_USER`] | none | client certificate (`cert`) over `hostssl` (needs `tls()`) |
//!
//! Without `tls()` the last two roles exist but have no pg_hba.conf line, so
//! they cannot log in.

use crate::cluster::create_user_sql;
use crate::error::Result;
use crate::Cluster;

/// A role that logs in without a password.
pub const TRUST_USER: &str = "trust_user";
/// A role whose password is stored as MD5 and checked with `md5`.
pub const MD5_USER: &str = "md5_user";
/// [`MD5_USER`]'s password.
pub const MD5_PASSWORD: &str = "md5pass";
/// A role checked with `scram-sha-256`.
pub const SCRAM_USER: &str = "scram_user";
/// [`SCRAM_USER`]'s password.
pub const SCRAM_PASSWORD: &str = "scrampass";
/// A role allowed only over TLS (`hostssl`), checked with `scram-sha-256`.
pub const SSL_USER: &str = "ssl_user";
/// [`SSL_USER`]'s password.
pub const SSL_PASSWORD: &str = "sslpass";
/// A role that logs in with a client certificate whose CN is its name
/// (see [`Cluster::client_cert`]).
pub const CERT_USER: &str = "cert_user";

/// How a role's password is stored (`password_encryption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordEncryption {
    /// `md5`: the server then uses MD5 authentication for `md5` lines.
    Md5,
    /// `scram-sha-256`.
    Scram,
}

impl PasswordEncryption {
    /// The `password_encryption` value.
    pub fn setting(self) -> &'static str {
        match self {
            PasswordEncryption::Md5 => "md5",
            PasswordEncryption::Scram => "scram-sha-256",
        }
    }
}

/// The matrix's pg_hba.conf lines (SSL lines only with TLS on: PostgreSQL
/// rejects `hostssl` lines when ssl is off).
pub(crate) fn matrix_hba(tls: bool) -> Vec<String> {
    let mut lines = vec!["local all postgres trust".to_owned()];
    let hosts = ["127.0.0.1/32", "::1/128"];
    for host in hosts {
        lines.push(format!("host all postgres {host} trust"));
    }
    for (user, method) in [
        (TRUST_USER, "trust"),
        (MD5_USER, "md5"),
        (SCRAM_USER, "scram-sha-256"),
    ] {
        lines.push(format!("local all {user} {method}"));
        for host in hosts {
            lines.push(format!("host all {user} {host} {method}"));
        }
    }
    if tls {
        for host in hosts {
            lines.push(format!("hostssl all {SSL_USER} {host} scram-sha-256"));
            lines.push(format!("hostssl all {CERT_USER} {host} cert"));
        }
    }
    lines
}

/// Creates the matrix's roles.
pub(crate) fn create_matrix_roles(cluster: &Cluster) -> Result<()> {
    use PasswordEncryption::{Md5, Scram};
    let sql: String = [
        (TRUST_USER, None, Scram),
        (MD5_USER, Some(MD5_PASSWORD), Md5),
        (SCRAM_USER, Some(SCRAM_PASSWORD), Scram),
        (SSL_USER, Some(SSL_PASSWORD), Scram),
        (CERT_USER, None, Scram),
    ]
    .into_iter()
    .map(|(user, password, method)| create_user_sql(user, password, method))
    .collect();
    cluster.psql("postgres", &sql).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_lines_only_with_tls() {
        assert!(!matrix_hba(false).iter().any(|l| l.starts_with("hostssl")));
        let with = matrix_hba(true);
        assert!(with.contains(&"hostssl all cert_user 127.0.0.1/32 cert".to_owned()));
        assert!(with.contains(&"host all md5_user 127.0.0.1/32 md5".to_owned()));
        assert_eq!(with[0], "local all postgres trust");
    }
}
