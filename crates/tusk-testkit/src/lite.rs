//! tusk-lite instead of PostgreSQL: with `TUSK_TESTKIT_LITE` set to the
//! path of a `tusk` binary built with the `lite` feature, [`crate::db`]
//! hands out a fresh in-memory tusk-lite server (`tusk lite serve --data
//! memory`) per database instead of a database on a PostgreSQL cluster.
//! This runs a suite written for PostgreSQL (the driver's own tests)
//! against tusk-lite; what tusk-lite cannot do shows up as failures, which
//! the caller's blocklist accounts for (see crates/tusk-lite's
//! `scripts/lite-driver-tests`).
//!
//! The server runs as a child process (no Rust dependency on tusk-lite,
//! which itself depends on the driver), killed when the [`crate::TestDb`]
//! drops, or by a watchdog if this process dies first.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::error::{Error, Result};
use crate::watchdog::Watchdog;

/// The environment variable naming the `tusk` binary to run.
pub const LITE_ENV: &str = "TUSK_TESTKIT_LITE";

/// The `tusk` binary [`LITE_ENV`] names, when set (and not empty).
pub fn lite_binary() -> Option<PathBuf> {
    std::env::var_os(LITE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// One running in-memory tusk-lite server.
#[derive(Debug)]
pub(crate) struct LiteServer {
    child: Child,
    addr: SocketAddr,
    _watchdog: Option<Watchdog>,
    run_dir: PathBuf,
}

impl LiteServer {
    pub(crate) fn start(bin: &std::path::Path) -> Result<LiteServer> {
        let env = crate::env::env()?;
        let run_dir = env.make_run_dir("lite")?;
        let mut child = Command::new(bin)
            .args([
                "lite",
                "serve",
                "--data",
                "memory",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(format!("starting {}", bin.display()), e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Environment("tusk lite serve: no stdout".into()))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| Error::io("reading tusk lite serve's address", e))?;
        // "tusk-lite 15.x serving memory on 127.0.0.1:PORT"
        let addr = line
            .trim()
            .rsplit(" on ")
            .next()
            .and_then(|a| a.parse::<SocketAddr>().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Environment(format!(
                "{} lite serve did not print its address (got {line:?})",
                bin.display()
            )));
        };
        let name = bin
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(15).collect::<String>())
            .unwrap_or_else(|| "tusk".into());
        let watchdog = Watchdog::for_process(child.id(), &name, &run_dir).ok();
        Ok(LiteServer {
            child,
            addr,
            _watchdog: watchdog,
            run_dir,
        })
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    pub(crate) fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.addr.port())
    }
}

impl Drop for LiteServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}
