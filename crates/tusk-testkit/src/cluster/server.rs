//! Starting, stopping and crashing the postmaster.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::conf::{self, TlsFiles, TUSK_CONF};
use crate::env::{
    describe_status, free_port, is_alive, log_tail, own_process_group, signal, stat_fields,
};
use crate::error::{Error, Result};

use super::Inner;

/// How long a start may take before it is declared failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before it becomes an immediate one.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a start is retried on a port collision.
const PORT_ATTEMPTS: usize = 8;

/// Why a start failed, so the caller knows whether to retry.
enum StartError {
    /// Another process took the port.
    PortInUse(Error),
    /// The old server's processes are still attached to shared memory (just
    /// after a kill).
    ShmInUse(Error),
    Other(Error),
}

impl StartError {
    fn into_error(self) -> Error {
        match self {
            StartError::PortInUse(e) | StartError::ShmInUse(e) | StartError::Other(e) => e,
        }
    }
}

impl Inner {
    /// First start: find a free port, retrying on collision.
    pub(super) fn first_start(&self) -> Result<()> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            match self.start_on(port) {
                Ok(()) => return Ok(()),
                Err(StartError::PortInUse(e)) => last = Some(e),
                Err(other) => return Err(other.into_error()),
            }
        }
        Err(last.unwrap_or(Error::NotRunning))
    }

    /// Starts the stopped server on its port, waiting out the old processes
    /// of a killed server.
    pub(super) fn start_again(&self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.start_on(self.port()) {
                Ok(()) => return Ok(()),
                Err(StartError::PortInUse(_) | StartError::ShmInUse(_))
                    if Instant::now() < deadline =>
                {
                    sleep(Duration::from_millis(100));
                }
                Err(other) => return Err(other.into_error()),
            }
        }
    }

    fn start_on(&self, port: u16) -> std::result::Result<(), StartError> {
        let mut state = self.lock_state();
        if state.postmaster.is_some() {
            return Ok(());
        }
        self.write_conf(port).map_err(StartError::Other)?;
        let log_start = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| {
                StartError::Other(Error::io(format!("opening {}", self.log.display()), e))
            })?;
        let log_err = log
            .try_clone()
            .map_err(|e| StartError::Other(Error::io("duplicating the log handle", e)))?;
        let mut cmd = self.env.server_command(self.env.bin("postgres"));
        cmd.arg("-D")
            .arg(&self.data_dir)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        own_process_group(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| StartError::Other(Error::io("starting postgres", e)))?;
        self.port.store(port, std::sync::atomic::Ordering::Relaxed);
        match self.wait_ready(&mut child, log_start) {
            Ok(()) => {
                state.postmaster = Some(child);
                Ok(())
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    fn write_conf(&self, port: u16) -> Result<()> {
        let files = self.tls.as_ref().map(|tls| TlsFiles {
            cert: &tls.server_cert,
            key: &tls.server_key,
            ca: &tls.ca_cert,
        });
        let text = conf::tusk_conf(port, &self.socket_dir, files.as_ref(), &self.settings);
        self.env
            .write_file(&self.data_dir.join(TUSK_CONF), text.as_bytes(), 0o600)?;
        self.env.write_file(
            &self.data_dir.join("pg_hba.conf"),
            conf::hba_text(&self.hba).as_bytes(),
            0o600,
        )
    }

    /// Waits until postmaster.pid names this child and says "ready".
    fn wait_ready(&self, child: &mut Child, log_start: u64) -> std::result::Result<(), StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let pid_file = self.data_dir.join("postmaster.pid");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = new_log(&self.log, log_start);
                let error = Error::StartFailed {
                    what: "PostgreSQL",
                    reason: format!("postgres exited with {}", describe_status(status)),
                    log: self.log.clone(),
                    log_tail: tail.clone(),
                };
                return Err(
                    if tail.contains("could not bind") || tail.contains("Address already in use") {
                        StartError::PortInUse(error)
                    } else if tail.contains("pre-existing shared memory block")
                        || tail.contains("is another postmaster")
                    {
                        StartError::ShmInUse(error)
                    } else {
                        StartError::Other(error)
                    },
                );
            }
            if is_ready(&pid_file, child.id()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError::Other(Error::StartFailed {
                    what: "PostgreSQL",
                    reason: format!("not ready after {} s", START_TIMEOUT.as_secs()),
                    log: self.log.clone(),
                    log_tail: new_log(&self.log, log_start),
                }));
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL.
    pub(super) fn stop(&self) -> Result<()> {
        let mut state = self.lock_state();
        let Some(mut child) = state.postmaster.take() else {
            return Ok(());
        };
        for (sig, wait) in [
            ("INT", STOP_TIMEOUT),
            ("QUIT", Duration::from_secs(5)),
            ("KILL", Duration::from_secs(5)),
        ] {
            // An error means it is already gone; wait_exit reaps it.
            let _ = signal(child.id(), sig);
            if wait_exit(&mut child, wait) {
                return Ok(());
            }
        }
        Err(Error::io(
            "stopping postgres",
            std::io::Error::other(format!("pid {} survived SIGKILL", child.id())),
        ))
    }

    /// SIGKILL the postmaster and every child it had: a crash. The next start
    /// runs crash recovery.
    pub(super) fn kill(&self) -> Result<()> {
        let mut state = self.lock_state();
        let Some(mut child) = state.postmaster.take() else {
            return Err(Error::NotRunning);
        };
        let pm = child.id();
        let children = children_of(pm);
        signal(pm, "KILL")?;
        for pid in &children {
            let _ = signal(*pid, "KILL");
        }
        let _ = child.wait();
        // Wait until the old backends are gone (or zombies, which no longer
        // hold shared memory), so start_again does not find them attached.
        let deadline = Instant::now() + Duration::from_secs(5);
        while children.iter().any(|pid| is_alive(*pid)) && Instant::now() < deadline {
            sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// Whether postmaster.pid names `pid` and says the server accepts connections.
fn is_ready(pid_file: &Path, pid: u32) -> bool {
    let Ok(text) = fs::read_to_string(pid_file) else {
        return false;
    };
    let lines: Vec<&str> = text.lines().collect();
    lines.first().and_then(|l| l.trim().parse::<u32>().ok()) == Some(pid)
        && lines.get(7).is_some_and(|l| l.trim() == "ready")
}

/// Polls for the child's exit for up to `wait`; true once it has exited.
fn wait_exit(child: &mut Child, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => sleep(Duration::from_millis(5)),
        }
    }
}

/// The pids whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| stat_fields(*pid).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

/// What the log gained since `offset`, at most the last 30 lines.
fn new_log(path: &Path, offset: u64) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
            let text = String::from_utf8_lossy(&bytes[start..]);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        }
        Err(_) => log_tail(path, 30),
    }
}
