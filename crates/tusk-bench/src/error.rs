//! The one error type of the benchmark.

use std::path::PathBuf;

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The throwaway cluster could not start or take the setup SQL.
    #[error("the PostgreSQL cluster failed: {0} (is the server installed? `apt-get install postgresql`)")]
    Cluster(#[from] tusk_testkit::Error),
    /// tusk reported an error.
    #[error("tusk: {0}")]
    Tusk(#[from] tusk::Error),
    /// tokio-postgres reported an error.
    #[error("tokio-postgres: {0}")]
    TokioPostgres(#[from] tokio_postgres::Error),
    /// sqlx reported an error.
    #[error("sqlx: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A child process (pgbench, psql, pg_config, the RSS probe) could not
    /// run or failed.
    #[error("{program} failed: {detail}")]
    Process {
        /// The program.
        program: String,
        /// What went wrong, with its stderr when it has one.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A workload returned something other than what it must.
    #[error("{workload}/{driver}: {detail}")]
    Check {
        /// The workload id (`W1`, ...).
        workload: &'static str,
        /// The driver key.
        driver: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The command line asked for something that does not exist.
    #[error("{0}")]
    Usage(String),
    /// The chart could not be drawn (no font, an unwritable file, a JSON
    /// without figures).
    #[error("the chart: {0}")]
    Chart(String),
}

impl BenchError {
    /// A failed child process.
    pub fn process(program: impl Into<String>, detail: impl Into<String>) -> BenchError {
        BenchError::Process {
            program: program.into(),
            detail: detail.into(),
        }
    }

    /// A file error.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> BenchError {
        BenchError::File {
            path: path.into(),
            source,
        }
    }
}

/// The benchmark's result type.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;
