//! The installed PostgreSQL server, run detached so that it outlives the
//! `tusk` process (the test kit ties its clusters to the process that
//! started them, so the development cluster runs its server itself).

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tusk_testkit::env::{env, is_alive};

use crate::error::Error;

/// How long a start may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server binaries and the user they run as.
#[derive(Debug, Clone)]
pub struct Server {
    /// Directory with `postgres`, `pg_ctl` and `initdb`.
    pub bindir: PathBuf,
    /// (uid, gid) of the `postgres` user when we are root (PostgreSQL
    /// refuses to run as root).
    pub run_as: Option<(u32, u32)>,
}

/// A running postmaster, from its `postmaster.pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// The postmaster's process id.
    pub pid: u32,
    /// Its state: `ready`, `starting` or `stopping`.
    pub status: String,
}

impl Server {
    /// Finds the binaries and the user with tusk-testkit's [`env`]
    /// (`TUSK_PG_BINDIR`, `pg_config --bindir`, the newest
    /// `/usr/lib/postgresql/*/bin`), so the server matches the data
    /// directory the test kit made.
    pub fn find() -> Result<Server, Error> {
        let env = env().map_err(|e| {
            Error::Dev(format!(
                "{e}: install the server (`apt-get install postgresql`), set TUSK_PG_BINDIR, \
                 or pass --url / set DATABASE_URL"
            ))
        })?;
        Ok(Server {
            bindir: env.bindir.clone(),
            run_as: env.run_as,
        })
    }

    /// A command for a server binary, run as the server's user, from `/`,
    /// with no `PG*` variables from our environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        self.prepare(&mut cmd);
        cmd
    }

    fn prepare(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(&key);
            }
        }
        cmd.current_dir("/").stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
    }

    /// Gives `path` to the server's user (a no-op unless we are root).
    pub fn give(&self, path: &Path) -> Result<(), Error> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| Error::io(format!("chown {} to postgres", path.display()), e))?;
        }
        Ok(())
    }

    /// Starts `postgres -D data` in the background (it outlives us) with
    /// `args`, its output appended to `log`, and waits until it accepts
    /// connections.
    pub fn start(&self, data: &Path, args: &[String], log: &Path) -> Result<Running, Error> {
        let log_start = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
        // sh starts postgres in the background and prints its pid; when sh
        // exits, postgres is adopted by init and no process of ours is its
        // parent. Its stdout and stderr go to the log (our descriptor).
        let mut cmd = Command::new("sh");
        self.prepare(&mut cmd);
        cmd.arg("-c")
            .arg(r#""$@" >&2 & echo $!"#)
            .arg("tusk-dev")
            .arg(self.bindir.join("postgres"))
            .arg("-D")
            .arg(data)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::io("starting postgres (through sh)", e))?;
        let mut pid_text = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout
                .read_to_string(&mut pid_text)
                .map_err(|e| Error::io("reading the server's pid", e))?;
        }
        child
            .wait()
            .map_err(|e| Error::io("waiting for sh to start postgres", e))?;
        let pid: u32 = pid_text
            .trim()
            .parse()
            .map_err(|_| Error::Dev(format!("sh printed {pid_text:?} instead of a pid")))?;

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(running) = running(data) {
                // Ours, or one that a concurrent `tusk` started first.
                if running.status == "ready" {
                    return Ok(running);
                }
            } else if !is_alive(pid) {
                return Err(start_failed(log, log_start, "postgres exited"));
            }
            if Instant::now() > deadline {
                return Err(start_failed(log, log_start, "not ready after 60 s"));
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Fast shutdown with `pg_ctl stop`, waiting until it is done.
    pub fn stop(&self, data: &Path) -> Result<(), Error> {
        let out = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-t", "60", "-D"])
            .arg(data)
            .output()
            .map_err(|e| Error::io("running pg_ctl stop", e))?;
        if out.status.success() || running(data).is_none() {
            Ok(())
        } else {
            Err(Error::Dev(format!(
                "pg_ctl stop -D {} failed: {}",
                data.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}

fn start_failed(log: &Path, offset: u64, reason: &str) -> Error {
    let text = fs::read(log).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(text.len());
    let text = String::from_utf8_lossy(&text[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    Error::Dev(format!(
        "the development cluster did not start ({reason}); the server log ({}) says:\n{tail}",
        log.display()
    ))
}

/// The postmaster running on `data`, if any: its `postmaster.pid` names a
/// live `postgres` process.
pub fn running(data: &Path) -> Option<Running> {
    let text = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid: u32 = lines.first()?.trim().parse().ok()?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    if comm.trim() != "postgres" || !is_alive(pid) {
        return None;
    }
    Some(Running {
        pid,
        status: lines
            .get(7)
            .map(|l| l.trim().to_owned())
            .unwrap_or_default(),
    })
}
