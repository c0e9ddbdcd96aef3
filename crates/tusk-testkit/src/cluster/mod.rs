//! A running PostgreSQL cluster and what can be done to it.

mod builder;
mod server;
mod sql;
mod test_db;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub use builder::ClusterBuilder;
pub(crate) use sql::create_user_sql;
pub use sql::psql_conninfo;
pub use test_db::TestDb;

use crate::conf::url_encode;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::tls::Tls;
use crate::watchdog::Watchdog;

/// A running PostgreSQL cluster made from the installed binaries, on a free
/// TCP port of 127.0.0.1 and a private unix socket directory, with test-speed
/// settings (fsync, synchronous_commit and full_page_writes off).
///
/// Dropping it stops the server (fast shutdown, then immediate) and removes
/// its directory; a process that dies without dropping it (a panic in a
/// static, `kill -9`) is cleaned up by a watchdog child. [`TestDb`]s keep
/// the cluster alive until they are dropped too.
///
/// Every method takes `&self` and is safe to call from many threads.
#[derive(Debug)]
pub struct Cluster {
    inner: Arc<Inner>,
}

/// The shared state behind a [`Cluster`] and its [`TestDb`]s.
#[derive(Debug)]
pub(crate) struct Inner {
    env: &'static Env,
    port: AtomicU16,
    run_dir: PathBuf,
    socket_dir: PathBuf,
    data_dir: PathBuf,
    log: PathBuf,
    persistent: bool,
    tls: Option<Tls>,
    settings: Vec<(String, String)>,
    hba: Vec<String>,
    state: Mutex<State>,
    watchdog: Mutex<Option<Watchdog>>,
}

#[derive(Debug)]
struct State {
    /// The postmaster, while it runs.
    postmaster: Option<Child>,
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent State (a
        // single Option), so a poisoned lock is safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_running(&self) -> bool {
        self.lock_state().postmaster.is_some()
    }

    fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed)
    }

    fn url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{}",
            self.port(),
            url_encode(db)
        )
    }

    fn unix_url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres@/{}?host={}&port={}",
            url_encode(db),
            url_encode(&self.socket_dir.display().to_string()),
            self.port()
        )
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.stop().is_err() {
            let _ = self.kill();
        }
        let _ = fs::remove_dir_all(&self.run_dir);
        let watchdog = self
            .watchdog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop(watchdog);
    }
}

impl Cluster {
    /// A builder for a cluster with settings, TLS, an auth matrix or a
    /// persistent directory.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Starts a cluster with the default settings.
    pub fn start() -> Result<Cluster> {
        Cluster::builder().start()
    }

    /// One cluster per test binary, started on first use and stopped by its
    /// watchdog when the process exits. It has [`tls`](ClusterBuilder::tls)
    /// and the [`auth_matrix`](ClusterBuilder::auth_matrix), so TLS and
    /// authentication tests can use it too.
    ///
    /// # Panics
    /// If the cluster cannot start; the message says why and what to do.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| match Cluster::builder().tls().auth_matrix().start() {
            Ok(cluster) => cluster,
            Err(e) => panic!("tusk-testkit: the shared PostgreSQL cluster could not start: {e}"),
        })
    }

    /// The TCP port on 127.0.0.1 (also the unix socket's port number).
    pub fn port(&self) -> u16 {
        self.inner.port()
    }

    /// The directory holding the unix socket `.s.PGSQL.<port>`.
    pub fn socket_dir(&self) -> &Path {
        &self.inner.socket_dir
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The server log (stdout and stderr of the postmaster).
    pub fn log_path(&self) -> &Path {
        &self.inner.log
    }

    /// Whether the cluster keeps its data directory on drop (see
    /// [`ClusterBuilder::data_dir`]).
    pub fn is_persistent(&self) -> bool {
        self.inner.persistent
    }

    /// `postgresql://postgres@127.0.0.1:<port>/<db>` (TCP).
    pub fn url(&self, db: &str) -> String {
        self.inner.url(db)
    }

    /// `postgresql://postgres@/<db>?host=<socket dir>&port=<port>` (unix socket).
    pub fn unix_url(&self, db: &str) -> String {
        self.inner.unix_url(db)
    }

    /// Whether the server is running (false after [`stop`](Self::stop) or
    /// [`kill`](Self::kill)).
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Stops the server with a fast shutdown (immediate if that takes over
    /// 30 s). A no-op if it is stopped.
    pub fn stop(&self) -> Result<()> {
        self.inner.stop()
    }

    /// Starts the stopped (or killed) server again on the same port.
    pub fn start_again(&self) -> Result<()> {
        self.inner.start_again()
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub fn restart(&self) -> Result<()> {
        self.inner.stop()?;
        self.inner.start_again()
    }

    /// Crashes the server: SIGKILL to the postmaster and all its children.
    /// [`start_again`](Self::start_again) runs crash recovery.
    ///
    /// With the test settings (`synchronous_commit = off`) the last commits
    /// before the crash may be lost; run `CHECKPOINT` first (in its own
    /// `psql` call) if a test needs them to survive.
    pub fn kill(&self) -> Result<()> {
        self.inner.kill()
    }

    /// The CA certificate that signed the server's certificate (with
    /// [`tls`](ClusterBuilder::tls)); use it as `sslrootcert`.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.inner.tls.as_ref().map(|tls| tls.ca_cert.as_path())
    }

    /// A certificate revocation list (PEM) signed by the cluster's CA that
    /// revokes the server's certificate (`revoke_server`) or nothing: use
    /// it as `sslcrl`.
    pub fn crl(&self, revoke_server: bool) -> Result<PathBuf> {
        match &self.inner.tls {
            Some(tls) => tls.crl(revoke_server),
            None => Err(Error::TlsNotEnabled),
        }
    }

    /// A client certificate for `user` (CN = user) signed by the cluster's CA:
    /// returns (cert.pem, key.pem), the key with mode 0600, both owned by the
    /// calling user. Use them as `sslcert` and `sslkey`.
    pub fn client_cert(&self, user: &str) -> Result<(PathBuf, PathBuf)> {
        match &self.inner.tls {
            Some(tls) => tls.client_cert(user),
            None => Err(Error::TlsNotEnabled),
        }
    }
}
