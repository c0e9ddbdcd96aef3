//! A tiny shell child that cleans up after a process that dies without
//! running destructors (a panic in a static, `kill -9`, Ctrl-C).
//!
//! It blocks reading a pipe whose write end only this process holds (Rust
//! opens it close-on-exec, so no other child inherits it). When the process
//! exits for any reason the pipe closes, `read` returns, and the script stops
//! the server and removes the run directory. It lives in its own process
//! group so a Ctrl-C aimed at the test runner does not kill it first.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::env::own_process_group;
use crate::error::{Error, Result};

/// Stops the postmaster named in `$1/postmaster.pid` (if it is still a
/// postgres process) with SIGQUIT (immediate shutdown), waits up to 10 s for
/// it, then removes `$2`.
const CLUSTER_SCRIPT: &str = r#"read _
pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ] && grep -q postgres "/proc/$pid/comm" 2>/dev/null; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null; do
    sleep 0.1; i=$((i+1))
  done
fi
rm -rf "$2"
"#;

/// Kills process `$1` (if its name contains `$3`), then removes `$2`.
const PROCESS_SCRIPT: &str = r#"read _
if grep -q "$3" "/proc/$1/comm" 2>/dev/null; then kill -KILL "$1" 2>/dev/null; fi
rm -rf "$2"
"#;

/// The cleanup child; dropping it triggers the cleanup and waits for it.
#[derive(Debug)]
pub(crate) struct Watchdog {
    stdin: Option<ChildStdin>,
    child: Child,
}

impl Watchdog {
    /// Guards a cluster whose data directory is `data_dir`, removing
    /// `run_dir` at the end.
    pub fn for_cluster(data_dir: &Path, run_dir: &Path) -> Result<Watchdog> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(CLUSTER_SCRIPT)
            .arg("tusk-testkit-watchdog")
            .arg(data_dir)
            .arg(run_dir);
        spawn(cmd)
    }

    /// Guards a plain process (PgBouncer): kills `pid` if its name still
    /// contains `name`, then removes `run_dir`.
    pub fn for_process(pid: u32, name: &str, run_dir: &Path) -> Result<Watchdog> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(PROCESS_SCRIPT)
            .arg("tusk-testkit-watchdog")
            .arg(pid.to_string())
            .arg(run_dir)
            .arg(name);
        spawn(cmd)
    }
}

fn spawn(mut cmd: Command) -> Result<Watchdog> {
    own_process_group(&mut cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("starting the cleanup watchdog (sh)", e))?;
    Ok(Watchdog {
        stdin: child.stdin.take(),
        child,
    })
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
