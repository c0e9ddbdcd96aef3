//! A throwaway PgBouncer in front of a [`Cluster`].

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::conf::url_encode;
use crate::env::{
    client_command, describe_status, env, free_port, log_tail, own_process_group, run, Env,
};
use crate::error::{Error, Result};
use crate::watchdog::Watchdog;
use crate::Cluster;

/// How PgBouncer hands server connections to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per client for the client's whole session.
    Session,
    /// A server connection per transaction: prepared statements and session
    /// state do not survive between transactions.
    Transaction,
    /// A server connection per statement; multi-statement transactions are
    /// refused.
    Statement,
}

impl PoolMode {
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
            PoolMode::Statement => "statement",
        }
    }
}

/// A PgBouncer (Debian package `pgbouncer`) listening on a free port of
/// 127.0.0.1 and on a unix socket, forwarding every database to the cluster
/// as `postgres`. Clients are not authenticated (`auth_type = any`: any user
/// name is accepted and the server sees `postgres`). Dropping it kills it.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    port: u16,
    run_dir: PathBuf,
    log: PathBuf,
    watchdog: Option<Watchdog>,
}

impl PgBouncer {
    /// Starts PgBouncer in `mode` in front of `cluster` (over its unix
    /// socket) and waits until it accepts TCP connections.
    pub fn start(cluster: &Cluster, mode: PoolMode) -> Result<PgBouncer> {
        PgBouncer::start_inner(cluster, mode, None)
    }

    /// Like [`start`](Self::start), but clients log in as one of `users`
    /// (`auth_type = trust` with those names in its auth file; `postgres` is
    /// always one) and server connections log in as the client's user, not
    /// `postgres`: for tests that must run as a non-superuser through the
    /// pooler. The cluster must trust these users over its unix socket (the
    /// default pg_hba.conf does).
    pub fn start_forwarding_user(
        cluster: &Cluster,
        mode: PoolMode,
        users: &[&str],
    ) -> Result<PgBouncer> {
        PgBouncer::start_inner(cluster, mode, Some(users))
    }

    fn start_inner(
        cluster: &Cluster,
        mode: PoolMode,
        forward_user: Option<&[&str]>,
    ) -> Result<PgBouncer> {
        let env = env()?;
        let binary = find_pgbouncer()?;
        let mut last = None;
        for _ in 0..8 {
            let run_dir = env.make_run_dir("pgbouncer")?;
            match start_once(env, &binary, cluster, mode, forward_user, &run_dir) {
                Ok(bouncer) => return Ok(bouncer),
                Err(e) => {
                    let _ = fs::remove_dir_all(&run_dir);
                    match e {
                        Error::StartFailed { ref log_tail, .. }
                            if log_tail.contains("Address already in use") =>
                        {
                            last = Some(e);
                        }
                        e => return Err(e),
                    }
                }
            }
        }
        Err(last.unwrap_or(Error::NotRunning))
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgresql://postgres@127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{}",
            self.port,
            url_encode(db)
        )
    }

    /// The directory holding PgBouncer's unix socket `.s.PGSQL.<port>`.
    pub fn socket_dir(&self) -> &Path {
        &self.run_dir
    }

    /// PgBouncer's log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Runs a command on PgBouncer's admin console (`SHOW POOLS`,
    /// `RECONNECT`, `PAUSE`, ...) and returns psql's `-A -t` output.
    pub fn admin(&self, command: &str) -> Result<String> {
        let env = env()?;
        let out = run(client_command(env.bin("psql"))
            .args(["-X", "-q", "-A", "-t", "-h"])
            .arg(&self.run_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", "pgbouncer", "-c", command]))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.run_dir);
        drop(self.watchdog.take());
    }
}

fn find_pgbouncer() -> Result<PathBuf> {
    for dir in std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
    {
        let path = dir.join("pgbouncer");
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(Error::BinariesNotFound(
        "no `pgbouncer` on PATH or in /usr/sbin; install it (Debian: `apt-get install pgbouncer`)"
            .into(),
    ))
}

fn config(
    cluster: &Cluster,
    mode: PoolMode,
    forward_user: bool,
    port: u16,
    run_dir: &Path,
) -> String {
    let auth = if forward_user {
        format!(
            "auth_type = trust\nauth_file = {}\n",
            run_dir.join("users.txt").display()
        )
    } else {
        "auth_type = any\n".to_owned()
    };
    format!(
        "[databases]\n\
         * = host={socket} port={pg_port}{user}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir = {run}\n\
         {auth}\
         admin_users = postgres\n\
         pool_mode = {mode}\n\
         max_client_conn = 1000\n\
         default_pool_size = 20\n\
         server_login_retry = 1\n\
         ignore_startup_parameters = extra_float_digits\n",
        socket = cluster.socket_dir().display(),
        pg_port = cluster.port(),
        run = run_dir.display(),
        mode = mode.as_str(),
        user = if forward_user { "" } else { " user=postgres" },
    )
}

fn start_once(
    env: &Env,
    binary: &Path,
    cluster: &Cluster,
    mode: PoolMode,
    forward_user: Option<&[&str]>,
    run_dir: &Path,
) -> Result<PgBouncer> {
    if let Some(users) = forward_user {
        let mut list = String::from("\"postgres\" \"\"\n");
        for u in users {
            list.push_str(&format!("\"{}\" \"\"\n", u.replace('"', "\"\"")));
        }
        env.write_file(&run_dir.join("users.txt"), list.as_bytes(), 0o600)?;
    }
    let forward_user = forward_user.is_some();
    let port = free_port()?;
    let ini = run_dir.join("pgbouncer.ini");
    env.write_file(
        &ini,
        config(cluster, mode, forward_user, port, run_dir).as_bytes(),
        0o600,
    )?;
    let log = run_dir.join("pgbouncer.log");
    let file =
        fs::File::create(&log).map_err(|e| Error::io(format!("creating {}", log.display()), e))?;
    let file_err = file
        .try_clone()
        .map_err(|e| Error::io("duplicating the log handle", e))?;
    let mut cmd = env.server_command(binary);
    cmd.arg(&ini)
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(file_err));
    own_process_group(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("starting {}", binary.display()), e))?;
    let watchdog = match Watchdog::for_process(child.id(), "pgbouncer", run_dir) {
        Ok(w) => w,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let mut bouncer = PgBouncer {
        child,
        port,
        run_dir: run_dir.to_owned(),
        log,
        watchdog: Some(watchdog),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = bouncer.child.try_wait() {
            let error = Error::StartFailed {
                what: "PgBouncer",
                reason: format!("pgbouncer exited with {}", describe_status(status)),
                log: bouncer.log.clone(),
                log_tail: log_tail(&bouncer.log, 20),
            };
            return Err(error);
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(bouncer);
        }
        if Instant::now() > deadline {
            let error = Error::StartFailed {
                what: "PgBouncer",
                reason: "not listening after 20 s".into(),
                log: bouncer.log.clone(),
                log_tail: log_tail(&bouncer.log, 20),
            };
            return Err(error);
        }
        sleep(Duration::from_millis(10));
    }
}
