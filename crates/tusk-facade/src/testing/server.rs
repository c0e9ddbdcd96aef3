//! Which server the tests use: `DATABASE_URL`, else a throwaway cluster.

use std::sync::OnceLock;

/// The environment variable naming the server (any database on it: the
/// harness connects there to create and drop the test databases).
pub const DATABASE_URL: &str = "DATABASE_URL";

/// The server the harness uses, as a connection string to its admin
/// database: `DATABASE_URL` when set (and not empty), else the `postgres`
/// database of a throwaway cluster of this process's own, started on first
/// use and stopped when the process exits.
pub fn server_url() -> Result<String, String> {
    if let Ok(url) = std::env::var(DATABASE_URL) {
        if !url.trim().is_empty() {
            return Ok(url);
        }
    }
    static CLUSTER: OnceLock<Result<tusk_testkit::Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(|| tusk_testkit::Cluster::start().map_err(|e| e.to_string())) {
        Ok(cluster) => Ok(cluster.url("postgres")),
        Err(e) => Err(format!(
            "{DATABASE_URL} is not set and a throwaway PostgreSQL cluster could not start: {e}\n\
             (set {DATABASE_URL} to a server the tests may create databases on, or install \
             the PostgreSQL server binaries)"
        )),
    }
}

/// Whether the server is a throwaway cluster (its databases go when the
/// process exits).
pub(crate) fn is_throwaway() -> bool {
    std::env::var(DATABASE_URL).map_or(true, |u| u.trim().is_empty())
}
