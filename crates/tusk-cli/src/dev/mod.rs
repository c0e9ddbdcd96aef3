//! `tusk dev`: a persistent PostgreSQL for development, and the default
//! database of `tusk query` and `tusk ping`.
//!
//! Everything lives in one directory ([`default_dir`]; `TUSK_DEV_DIR`
//! overrides it):
//!
//! | path | what |
//! |---|---|
//! | `data/` | the data directory, made once by tusk-testkit's persistent mode ([`tusk_testkit::ClusterBuilder::data_dir`]) from its initdb template (user `postgres`, trust authentication, UTF8, locale C) |
//! | `tusk-dev.conf` | the port, chosen on first start (`TUSK_DEV_PORT`, else a free one) and kept |
//! | `run/` | the unix socket (when its path is short enough) |
//! | `postgres.log` | the server log |
//!
//! The server listens on 127.0.0.1 only, with durable settings (fsync on,
//! unlike the test kit's clusters), and runs detached: it keeps running
//! after `tusk` exits, until `tusk dev stop`. When tusk runs as root the
//! server runs as the `postgres` user, so the directory must be one that
//! user can reach: the default is then `/var/lib/tusk/dev`.

mod server;
mod state;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use server::{Running, Server};
pub use state::State;

use crate::error::{write_err, Error};
use crate::DevAction;

/// Overrides the development directory.
pub const DIR_ENV: &str = "TUSK_DEV_DIR";
/// The port for a development cluster started for the first time.
pub const PORT_ENV: &str = "TUSK_DEV_PORT";
/// The development directory when running as root.
pub const ROOT_DIR: &str = "/var/lib/tusk/dev";

/// The development directory: `$TUSK_DEV_DIR`; else, as root,
/// `/var/lib/tusk/dev`; else `$XDG_DATA_HOME/tusk/dev`; else
/// `~/.local/share/tusk/dev`.
pub fn default_dir() -> Result<PathBuf, Error> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var(DIR_ENV) {
        return std::path::absolute(&dir)
            .map_err(|e| Error::io(format!("resolving {DIR_ENV}={}", dir.display()), e));
    }
    if tusk_testkit::env::is_root() {
        return Ok(PathBuf::from(ROOT_DIR));
    }
    if let Some(xdg) = var("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("tusk").join("dev"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".local").join("share").join("tusk").join("dev")),
        None => Err(Error::Dev(format!(
            "no HOME to keep the development cluster in: set {DIR_ENV}, or pass --url"
        ))),
    }
}

/// The development cluster in one directory.
#[derive(Debug, Clone)]
pub struct DevCluster {
    dir: PathBuf,
    server: Server,
}

/// What [`DevCluster::status`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No data directory yet (`tusk dev start` makes one).
    Absent,
    /// Made, not running.
    Stopped,
    /// A server runs on the data directory.
    Running(Running),
}

impl DevCluster {
    /// The cluster in `dir` (nothing is created or started yet).
    pub fn new(dir: &Path) -> Result<DevCluster, Error> {
        Ok(DevCluster {
            dir: dir.to_owned(),
            server: Server::find()?,
        })
    }

    /// The development directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("tusk-dev.conf")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// The recorded port, if the cluster has been started once.
    pub fn port(&self) -> Result<Option<u16>, Error> {
        Ok(State::read(&self.state_path())?.map(|s| s.port))
    }

    /// `postgresql://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> Result<String, Error> {
        match self.port()? {
            Some(port) => Ok(format!("postgresql://postgres@127.0.0.1:{port}/postgres")),
            None => Err(Error::Dev(format!(
                "the development cluster in {} has never been started: run `tusk dev start`",
                self.dir.display()
            ))),
        }
    }

    /// Whether it exists and runs.
    pub fn status(&self) -> Status {
        if !self.data_dir().join("PG_VERSION").is_file() {
            return Status::Absent;
        }
        match server::running(&self.data_dir()) {
            Some(running) => Status::Running(running),
            None => Status::Stopped,
        }
    }

    /// Starts the cluster unless it is running (creating it first if
    /// needed); returns a note saying what was done, or `None` if it was
    /// already running.
    pub fn ensure_running(&self) -> Result<Option<String>, Error> {
        if let Status::Running(r) = self.status() {
            if r.status == "ready" {
                return Ok(None);
            }
        }
        let created = self.create()?;
        let port = self.port_or_choose()?;
        self.server
            .start(&self.data_dir(), &self.server_args(port), &self.log_path())?;
        Ok(Some(format!(
            "{} the development cluster: {} (data in {}; stop it with `tusk dev stop`)",
            if created {
                "created and started"
            } else {
                "started"
            },
            self.url()?,
            self.data_dir().display()
        )))
    }

    /// Stops the cluster; false if it was not running.
    pub fn stop(&self) -> Result<bool, Error> {
        match self.status() {
            Status::Running(_) => {
                self.server.stop(&self.data_dir())?;
                Ok(true)
            }
            Status::Absent | Status::Stopped => Ok(false),
        }
    }

    /// Makes the data directory unless it exists; true if it made it.
    fn create(&self) -> Result<bool, Error> {
        let data = self.data_dir();
        if data.join("PG_VERSION").is_file() {
            return Ok(false);
        }
        self.make_dirs(&self.dir)?;
        // Built beside, then renamed: a concurrent `tusk` never sees half a
        // cluster, and the loser of a race throws its copy away.
        let building = self.dir.join(format!("data.new-{}", std::process::id()));
        if building.exists() {
            let _ = fs::remove_dir_all(&building);
        }
        let made = tusk_testkit::Cluster::builder()
            .data_dir(building.clone())
            .start()
            .map_err(|source| Error::Create {
                dir: self.dir.clone(),
                source,
            });
        // Dropping the test kit's cluster stops it and keeps the data.
        drop(made?);
        // The template was made with --no-sync: flush it once.
        let _ = self
            .server
            .command("initdb")
            .arg("--sync-only")
            .arg("-D")
            .arg(&building)
            .output();
        match fs::rename(&building, &data) {
            Ok(()) => Ok(true),
            Err(_) if data.join("PG_VERSION").is_file() => {
                let _ = fs::remove_dir_all(&building);
                Ok(false)
            }
            Err(e) => Err(Error::io(
                format!("renaming {} to {}", building.display(), data.display()),
                e,
            )),
        }
    }

    /// Creates `dir` and missing parents; as root, opens them to the
    /// `postgres` user (0755) whatever the umask.
    fn make_dirs(&self, dir: &Path) -> Result<(), Error> {
        let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        if self.server.run_as.is_some() {
            for path in missing {
                fs::set_permissions(path, fs::Permissions::from_mode(0o755))
                    .map_err(|e| Error::io(format!("chmod {}", path.display()), e))?;
            }
        }
        Ok(())
    }

    fn port_or_choose(&self) -> Result<u16, Error> {
        if let Some(port) = self.port()? {
            return Ok(port);
        }
        let port = match std::env::var(PORT_ENV) {
            Ok(p) => p
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    Error::Dev(format!("{PORT_ENV}={p:?} is not a port number (1-65535)"))
                })?,
            Err(_) => std::net::TcpListener::bind(("127.0.0.1", 0))
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| Error::io("finding a free TCP port on 127.0.0.1", e))?,
        };
        Ok(State { port }.create(&self.state_path())?.port)
    }

    /// Command-line settings; they override the test kit's `tusk.conf`.
    fn server_args(&self, port: u16) -> Vec<String> {
        let socket_dir = self.socket_dir();
        // A unix socket path must fit in sun_path (108 bytes with its NUL).
        let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
        let sockets = if socket.as_os_str().len() < 100
            && self.make_dirs(&socket_dir).is_ok()
            && self.server.give(&socket_dir).is_ok()
        {
            socket_dir.display().to_string()
        } else {
            String::new()
        };
        let mut args = vec!["-p".to_owned(), port.to_string()];
        for (key, value) in [
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", sockets.as_str()),
            ("fsync", "on"),
            ("synchronous_commit", "on"),
            ("full_page_writes", "on"),
        ] {
            args.push("-c".to_owned());
            args.push(format!("{key}={value}"));
        }
        args
    }
}

/// Runs `tusk dev start|stop|status` on the cluster in `dir`.
pub fn command(action: DevAction, dir: &Path, out: &mut dyn Write) -> Result<u8, Error> {
    let cluster = DevCluster::new(dir)?;
    let mut say = |line: String| writeln!(out, "{line}").map_err(write_err);
    match action {
        DevAction::Start => {
            match cluster.ensure_running()? {
                Some(note) => say(note)?,
                None => say(format!("already running: {}", cluster.url()?))?,
            }
            Ok(0)
        }
        DevAction::Stop => {
            if cluster.stop()? {
                say(format!(
                    "stopped the development cluster in {}",
                    dir.display()
                ))?;
            } else {
                say(format!("not running (data in {})", dir.display()))?;
            }
            Ok(0)
        }
        DevAction::Status { json } => {
            let status = cluster.status();
            let code = if matches!(status, Status::Running(_)) {
                0
            } else {
                3
            };
            if json {
                let data = cluster.data_dir().display().to_string();
                let v = match &status {
                    Status::Running(r) => serde_json::json!({
                        "state": "running",
                        "url": cluster.url()?,
                        "pid": r.pid,
                        "server_state": r.status,
                        "data": data,
                        "log": cluster.log_path().display().to_string(),
                    }),
                    Status::Stopped => serde_json::json!({"state": "stopped", "data": data}),
                    Status::Absent => serde_json::json!({
                        "state": "absent",
                        "data": dir.display().to_string(),
                    }),
                };
                say(v.to_string())?;
                return Ok(code);
            }
            match status {
                Status::Running(r) => {
                    say(format!("running: {}", cluster.url()?))?;
                    say(format!("  pid {} ({})", r.pid, r.status))?;
                    say(format!("  data {}", cluster.data_dir().display()))?;
                    say(format!("  log  {}", cluster.log_path().display()))?;
                }
                Status::Stopped => {
                    say(format!(
                        "stopped (data in {}); start it with `tusk dev start`",
                        cluster.data_dir().display()
                    ))?;
                }
                Status::Absent => {
                    say(format!(
                        "not created yet (in {}); `tusk dev start` creates it",
                        dir.display()
                    ))?;
                }
            }
            Ok(code)
        }
    }
}
