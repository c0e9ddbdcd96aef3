//! The machine the clusters run on: where the binaries are, which user runs
//! them, where their directories go, and how helper commands are run.
//!
//! [`env`] and [`Env`]'s public fields and methods are also what `tusk dev`
//! uses to run its own long-lived server, so both find the same binaries
//! and the same `postgres` user in one way.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use nix::unistd::{geteuid, User};

use crate::error::{Error, Result};

/// What the process found out once about its environment.
#[derive(Debug)]
pub struct Env {
    /// Directory holding initdb, postgres, pg_ctl and (on Debian) psql.
    pub bindir: PathBuf,
    /// `Some((uid, gid))` of the `postgres` user when we run as root.
    pub run_as: Option<(u32, u32)>,
    /// Where run directories and the template cache go.
    pub tmp: PathBuf,
}

static ENV: OnceLock<std::result::Result<Env, String>> = OnceLock::new();

/// The environment, probed once per process: the server binaries
/// (`TUSK_PG_BINDIR`, else `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`) and, when we are root, the `postgres` user.
pub fn env() -> Result<&'static Env> {
    match ENV.get_or_init(|| probe().map_err(|e| e.to_string())) {
        Ok(env) => Ok(env),
        Err(message) => Err(Error::Environment(message.clone())),
    }
}

fn probe() -> Result<Env> {
    let bindir = find_bindir()?;
    let run_as = if is_root() {
        Some(postgres_user()?)
    } else {
        None
    };
    let tmp = match std::env::var_os("TUSK_TESTKIT_TMPDIR") {
        Some(dir) => PathBuf::from(dir),
        // root's TMPDIR may be under /root, which the postgres user cannot reach.
        None if run_as.is_some() => PathBuf::from("/tmp"),
        None => std::env::temp_dir(),
    };
    Ok(Env {
        bindir,
        run_as,
        tmp,
    })
}

fn find_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TUSK_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return if dir.join("postgres").is_file() {
            Ok(dir)
        } else {
            Err(Error::BinariesNotFound(format!(
                "TUSK_PG_BINDIR={} has no `postgres` binary",
                dir.display()
            )))
        };
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("postgres").is_file() && dir.join("initdb").is_file() {
                return Ok(dir);
            }
        }
    }
    // Debian puts the server outside PATH, one directory per major version:
    // take the newest that has a server.
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path().join("bin");
            if let Ok(major) = name.parse::<u32>() {
                if dir.join("postgres").is_file() && best.as_ref().is_none_or(|(m, _)| major > *m) {
                    best = Some((major, dir));
                }
            }
        }
    }
    best.map(|(_, dir)| dir).ok_or_else(|| {
        Error::BinariesNotFound(
            "`pg_config --bindir` gave no server and /usr/lib/postgresql/*/bin has none".into(),
        )
    })
}

/// Whether this process runs as root (effective uid 0), when PostgreSQL
/// must run as another user.
pub fn is_root() -> bool {
    geteuid().is_root()
}

/// The `postgres` user's (uid, gid), from the system's user database.
fn postgres_user() -> Result<(u32, u32)> {
    match User::from_name("postgres") {
        Ok(Some(user)) => Ok((user.uid.as_raw(), user.gid.as_raw())),
        Ok(None) => Err(Error::NoPostgresUser(
            "the user database has no `postgres` user".into(),
        )),
        Err(e) => Err(Error::NoPostgresUser(format!(
            "looking up the `postgres` user: {e}"
        ))),
    }
}

/// Whether `pid` exists and is not a zombie (from `/proc/<pid>/stat`).
pub fn is_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// (state, parent pid) from `/proc/<pid>/stat`.
pub(crate) fn stat_fields(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces, so split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

impl Env {
    /// A server binary by name (`initdb`, `postgres`, `psql`, ...), falling
    /// back to PATH when the bindir lacks it.
    pub fn bin(&self, name: &str) -> PathBuf {
        let path = self.bindir.join(name);
        if path.is_file() {
            path
        } else {
            PathBuf::from(name)
        }
    }

    /// A command that runs as the server's user (postgres when we are root),
    /// with a working directory that user can enter and no PG* variables
    /// leaking in from the caller's environment.
    pub fn server_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = client_command(program);
        cmd.current_dir(&self.tmp);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Gives `path` to the server's user (a no-op unless we are root).
    pub fn give(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| Error::io(format!("chown {} to postgres", path.display()), e))?;
        }
        Ok(())
    }

    /// Creates a private (0700) directory owned by the server's user.
    pub fn make_dir(&self, path: &Path) -> Result<()> {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        self.give(path)
    }

    /// Creates a fresh private directory under the temporary directory.
    pub fn make_run_dir(&self, what: &str) -> Result<PathBuf> {
        for _ in 0..16 {
            let path = self.tmp.join(format!(
                "tusk-{what}-{}-{}",
                std::process::id(),
                random_hex(6)
            ));
            match self.make_dir(&path) {
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                other => return other.map(|()| path),
            }
        }
        Err(Error::InvalidArgument(format!(
            "could not create a unique directory under {}",
            self.tmp.display()
        )))
    }

    /// Writes a file owned by the server's user with the given mode.
    pub fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
        write_private(path, contents, mode)?;
        self.give(path)
    }
}

/// A command for a client program, with the caller's PG* variables removed so
/// that PGPASSWORD, PGSSLMODE and friends in the developer's shell cannot
/// change what the testkit does.
pub(crate) fn client_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Writes `contents` to `path` (replacing it) with permission bits `mode`.
pub(crate) fn write_private(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let context = || format!("writing {}", path.display());
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(context(), e))?;
    file.write_all(contents)
        .map_err(|e| Error::io(context(), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(context(), e))
}

/// Runs a command to completion and returns its output, or an
/// [`Error::Command`] carrying its standard error if it failed.
pub(crate) fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("running {}", describe(cmd)), e))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(command_error(cmd, out.status, &out.stdout, &out.stderr))
    }
}

/// An [`Error::Command`] for a finished command.
pub(crate) fn command_error(
    cmd: &Command,
    status: ExitStatus,
    stdout: &[u8],
    stderr: &[u8],
) -> Error {
    let mut text = String::from_utf8_lossy(stderr).trim().to_owned();
    if text.is_empty() {
        text = String::from_utf8_lossy(stdout).trim().to_owned();
    }
    Error::Command {
        command: describe(cmd),
        status: describe_status(status),
        stderr: text,
    }
}

/// How a process ended, in words.
pub(crate) fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The command line of `cmd`, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Sends `signal` (a name such as "KILL" or "INT") to `pid`.
pub(crate) fn signal(pid: u32, signal: &str) -> Result<()> {
    run(Command::new("kill")
        .arg("-s")
        .arg(signal)
        .arg(pid.to_string()))
    .map(|_| ())
}

/// `n` random bytes as lowercase hex, from the standard library's
/// per-process random hash keys plus a counter (no extra dependency).
pub(crate) fn random_hex(n: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(n * 2);
    while out.len() < n * 2 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        for byte in hasher.finish().to_le_bytes() {
            if out.len() < n * 2 {
                out.push_str(&format!("{byte:02x}"));
            }
        }
    }
    out
}

/// The last `lines` lines of a log file (or a note that it is unreadable).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: callers retry on the
/// rare collision).
pub(crate) fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| Error::io("finding a free TCP port on 127.0.0.1", e))
}

/// Starts `cmd` in its own process group so that a Ctrl-C aimed at the test
/// runner does not reach it.
pub(crate) fn own_process_group(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_the_asked_length_and_differs() {
        let a = random_hex(6);
        let b = random_hex(6);
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
