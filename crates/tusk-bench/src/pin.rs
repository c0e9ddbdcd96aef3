//! Where the client and the server run. On a small virtual machine the
//! scheduler's choice decides a sequential query's cost: client and server
//! on one vCPU hand over in a context switch, on two they wake each other
//! across vCPUs (an IPI to a halted vCPU), which costs several times more
//! wall and CPU time for every driver alike. Left to the scheduler, a run
//! flips between the two from round to round; pinning makes it one or the
//! other, on purpose. Pinning uses `taskset` (util-linux), so no unsafe code.

use std::process::Command;

use crate::error::{BenchError, Result};

/// Where to put the client and the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pin {
    /// Leave it to the scheduler.
    None,
    /// Client (and pgbench) on CPU 0, server on CPU 1.
    Split,
    /// Client, pgbench and server all on CPU 1.
    Shared,
}

impl Pin {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pin::None => "none",
            Pin::Split => "split",
            Pin::Shared => "shared",
        }
    }

    /// The CPU the server runs on, or `None` when nothing is pinned.
    pub fn server_cpu(self) -> Option<u32> {
        self.cpus().map(|(_, server)| server)
    }

    /// (client CPU, server CPU), or `None` when nothing is pinned.
    fn cpus(self) -> Option<(u32, u32)> {
        match self {
            Pin::None => None,
            Pin::Split => Some((0, 1)),
            Pin::Shared => Some((1, 1)),
        }
    }
}

/// Pins this process (every thread; later threads and children inherit)
/// and, given the postmaster's pid, the server (the postmaster and its
/// current children; backends forked later inherit).
pub fn apply(pin: Pin, postmaster: Option<u32>) -> Result<()> {
    let Some((client, server)) = pin.cpus() else {
        return Ok(());
    };
    set(std::process::id(), client)?;
    if let Some(pm) = postmaster {
        set(pm, server)?;
        for child in children(pm) {
            // A backend may exit meanwhile; that is no error.
            let _ = set(child, server);
        }
    }
    Ok(())
}

/// Pins the calling thread alone (threads it starts later inherit): a
/// server that runs inside this process, such as tusk-lite's, goes where
/// PostgreSQL's server goes.
pub fn this_thread(cpu: u32) -> Result<()> {
    // `/proc/thread-self` links to `<pid>/task/<tid>`.
    let link = std::fs::read_link("/proc/thread-self")
        .map_err(|e| BenchError::file("/proc/thread-self", e))?;
    let tid = link
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or_else(|| BenchError::process("taskset", format!("no thread id in {link:?}")))?;
    taskset(&["-p", "-c"], tid, cpu)
}

fn set(pid: u32, cpu: u32) -> Result<()> {
    taskset(&["-a", "-p", "-c"], pid, cpu)
}

fn taskset(flags: &[&str], pid: u32, cpu: u32) -> Result<()> {
    let out = Command::new("taskset")
        .args(flags)
        .arg(cpu.to_string())
        .arg(pid.to_string())
        .output()
        .map_err(|e| BenchError::process("taskset", format!("{e} (install util-linux)")))?;
    if !out.status.success() {
        return Err(BenchError::process(
            "taskset",
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(())
}

/// The pids whose parent is `parent`.
fn children(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// The postmaster's pid, from the first line of `postmaster.pid`.
pub fn postmaster_pid(data_dir: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}
