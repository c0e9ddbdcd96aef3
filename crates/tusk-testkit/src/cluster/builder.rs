//! Configuring and starting a cluster.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU16;
use std::sync::{Arc, Mutex};

use crate::auth;
use crate::conf;
use crate::env::{env, run, Env};
use crate::error::{Error, Result};
use crate::template::template;
use crate::tls::Tls;
use crate::watchdog::Watchdog;

use super::{Cluster, Inner, State};

/// Configures a [`Cluster`] before it starts; made by [`Cluster::builder`].
#[derive(Debug, Default, Clone)]
#[must_use = "a builder does nothing until start() is called"]
pub struct ClusterBuilder {
    settings: Vec<(String, String)>,
    hba: Option<Vec<String>>,
    tls: bool,
    auth_matrix: bool,
    data_dir: Option<PathBuf>,
    invalid: Option<String>,
}

impl ClusterBuilder {
    /// Adds a `key = 'value'` line to the server's configuration, after the
    /// testkit's own (so it wins). Example: `.setting("log_statement", "all")`.
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        match conf::check_setting(key, value) {
            Ok(()) => self.settings.push((key.to_owned(), value.to_owned())),
            Err(e) => self.invalid = Some(e.to_string()),
        }
        self
    }

    /// Replaces pg_hba.conf entirely with these lines (this also replaces the
    /// lines [`auth_matrix`](Self::auth_matrix) would write). The testkit's own
    /// `psql` calls connect as `postgres` over the unix socket, so keep a
    /// `local all postgres trust` line or they will fail.
    pub fn hba(mut self, lines: &[&str]) -> Self {
        self.hba = Some(lines.iter().map(|l| (*l).to_owned()).collect());
        self
    }

    /// Generates a CA and a server certificate for `localhost`, 127.0.0.1 and
    /// ::1 and turns `ssl` on; see [`Cluster::ca_cert_path`] and
    /// [`Cluster::client_cert`].
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Creates the roles and pg_hba.conf lines of the authentication matrix
    /// (see [`crate::auth`]): a trusted user, an MD5 user, a SCRAM user, and
    /// with [`tls`](Self::tls) an SSL-only SCRAM user and a certificate user.
    pub fn auth_matrix(mut self) -> Self {
        self.auth_matrix = true;
        self
    }

    /// Keeps the cluster in `dir` (its data directory): a copy of the
    /// template is made there if `dir` is missing or empty, an existing
    /// cluster there is reused, and nothing is deleted on drop (the server is
    /// still stopped). When running as root, `dir` must be reachable by the
    /// `postgres` user (not under /root).
    pub fn data_dir(mut self, dir: PathBuf) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// Starts the cluster and waits until it accepts connections.
    pub fn start(self) -> Result<Cluster> {
        if let Some(message) = self.invalid {
            return Err(Error::InvalidArgument(message));
        }
        let env = env()?;
        let template = template()?;
        let run_dir = env.make_run_dir("cluster")?;
        // Until Inner exists (whose Drop cleans up), clean up by hand.
        match self.start_in(env, template, &run_dir) {
            Ok(cluster) => Ok(cluster),
            Err(e) => {
                let _ = fs::remove_dir_all(&run_dir);
                Err(e)
            }
        }
    }

    fn start_in(self, env: &'static Env, template: &Path, run_dir: &Path) -> Result<Cluster> {
        let socket_dir = run_dir.join("sock");
        env.make_dir(&socket_dir)?;
        let persistent = self.data_dir.is_some();
        let data_dir = match self.data_dir {
            Some(dir) => {
                prepare_persistent(env, template, &dir)?;
                dir
            }
            None => {
                let dir = run_dir.join("data");
                copy_template(env, template, &dir)?;
                dir
            }
        };
        let tls = if self.tls {
            Some(Tls::create(env, &run_dir.join("tls"))?)
        } else {
            None
        };
        let hba = match (self.hba, self.auth_matrix) {
            (Some(lines), _) => lines,
            (None, true) => auth::matrix_hba(self.tls),
            (None, false) => conf::default_hba(),
        };
        let watchdog = Watchdog::for_cluster(&data_dir, run_dir)?;
        let inner = Arc::new(Inner {
            env,
            port: AtomicU16::new(0),
            run_dir: run_dir.to_owned(),
            socket_dir,
            log: run_dir.join("postgres.log"),
            data_dir,
            persistent,
            tls,
            settings: self.settings,
            hba,
            state: Mutex::new(State { postmaster: None }),
            watchdog: Mutex::new(Some(watchdog)),
        });
        inner.first_start()?;
        let cluster = Cluster { inner };
        if self.auth_matrix {
            auth::create_matrix_roles(&cluster)?;
        }
        Ok(cluster)
    }
}

/// Creates `dir` (0700, owned by the server's user) and copies the
/// template's contents into it with `cp -a`, as the server's user.
fn copy_template(env: &Env, template: &Path, dir: &Path) -> Result<()> {
    env.make_dir(dir)?;
    run(env
        .server_command("cp")
        .arg("-a")
        .arg(template.join("."))
        .arg(dir))?;
    let _ = fs::remove_file(dir.join("tusk-template-complete"));
    Ok(())
}

/// Makes `dir` a data directory unless it already is one.
fn prepare_persistent(env: &Env, template: &Path, dir: &Path) -> Result<()> {
    if dir.join("PG_VERSION").is_file() {
        let pid_file = dir.join("postmaster.pid");
        if let Ok(text) = fs::read_to_string(&pid_file) {
            let pid = text.lines().next().unwrap_or("").trim();
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if !pid.is_empty() && comm.trim() == "postgres" {
                return Err(Error::InvalidArgument(format!(
                    "{} is in use by a running server (pid {pid}); stop it with `pg_ctl stop -D {}`",
                    dir.display(),
                    dir.display()
                )));
            }
        }
        return Ok(());
    }
    let empty = match fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
            }
            true
        }
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    if !empty {
        return Err(Error::InvalidArgument(format!(
            "{} is neither empty nor a PostgreSQL data directory (no PG_VERSION); \
             pass an empty or missing directory",
            dir.display()
        )));
    }
    if dir.exists() {
        fs::remove_dir(dir).map_err(|e| Error::io(format!("replacing {}", dir.display()), e))?;
    }
    copy_template(env, template, dir)
}
