//! The testkit's one error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while starting, driving or stopping a
/// throwaway cluster, a PgBouncer or a proxy.
///
/// Every variant says what failed and, where a command failed, carries that
/// command's standard error, so a failing test shows the server's own words.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PostgreSQL server binaries could not be found.
    #[error(
        "PostgreSQL binaries not found ({0}); install them (Debian: `apt-get install postgresql`), \
         put `pg_config` on PATH, or set TUSK_PG_BINDIR to the directory holding initdb and postgres"
    )]
    BinariesNotFound(String),

    /// Running as root, but there is no `postgres` user to run the server as.
    #[error(
        "running as root, and PostgreSQL refuses to run as root, but no `postgres` user was found ({0}); \
         create one (`useradd -r postgres`) or run the tests as an ordinary user"
    )]
    NoPostgresUser(String),

    /// The environment could not be prepared (the message says what to fix);
    /// remembered for the rest of the process.
    #[error("{0}")]
    Environment(String),

    /// A helper command (initdb, psql, pgbouncer, cp, ...) failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for a human to rerun.
        command: String,
        /// How it ended (exit code or signal).
        status: String,
        /// What it printed on standard error (and standard output if that was empty).
        stderr: String,
    },

    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the testkit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The server (or PgBouncer) exited or never became ready; the log tail
    /// says why.
    #[error("{what} did not start: {reason}; log {log}:\n{log_tail}")]
    StartFailed {
        /// Which program: "PostgreSQL" or "PgBouncer".
        what: &'static str,
        /// A short reason ("exited with status 1", "not ready after 60 s").
        reason: String,
        /// The log file to read for more.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// Generating a certificate failed.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),

    /// A TLS-only operation was asked of a cluster started without TLS.
    #[error("this cluster has no TLS: call ClusterBuilder::tls() before start()")]
    TlsNotEnabled,

    /// An argument the caller passed cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The cluster is stopped, so the operation cannot run.
    #[error("the cluster is not running: call start_again() first")]
    NotRunning,
}

impl Error {
    /// An [`Error::Io`] with `context` saying what was being done.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
