//! The workloads, each a small trait with one implementation per driver,
//! and what every driver's side of a workload offers the harness: rounds.
//!
//! Adding a workload is a new file here with its trait, its
//! impls and a `workload()` function, plus one line in [`all`].

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use crate::error::Result;
use crate::measure::Sample;

pub mod connect;
pub mod lite;
pub mod n1;
pub mod pgbench;
pub mod server;
pub mod tasks;
pub mod w1;
pub mod w2;
pub mod w3;
pub mod w4;
pub mod w5;
pub mod w6;
pub mod w7;

/// A boxed, sendable future of a benchmark result.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// How much one round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Seconds of a timed round (W1, W2, W6).
    pub seconds: u64,
    /// Full scans of `bench_wide` in a W4 round.
    pub scans: u64,
}

impl Plan {
    /// The duration of a timed round.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }

    /// The smaller plan used to warm a driver up before the rounds.
    pub fn warmup(&self) -> Plan {
        Plan {
            seconds: 1,
            scans: 1,
        }
    }
}

/// The server and files every driver's side of a workload needs.
#[derive(Debug, Clone)]
pub struct Target {
    /// `postgresql://postgres@127.0.0.1:<port>/bench`.
    pub url: String,
    /// The `pgbench` binary that matches the server.
    pub pgbench: PathBuf,
    /// A private directory for pgbench scripts and logs.
    pub work_dir: PathBuf,
    /// The CPU PostgreSQL's server is pinned to (`--pin`), where a server
    /// this process runs itself (tusk-lite's) goes too.
    pub server_cpu: Option<u32>,
}

/// One driver's side of one workload, connected and ready to run rounds.
/// (Its driver's key is the [`Entry`]'s that made it.)
pub trait Bench: Send {
    /// Runs one measured round.
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample>;

    /// Runs once before the rounds, unmeasured (caches, prepared
    /// statements, the server's buffers), and returns the operations it
    /// did. By default a short round.
    fn warmup<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, u64> {
        Box::pin(async move { Ok(self.round(plan).await?.ops) })
    }

    /// Figures measured once, after the rounds (W4's peak RSS).
    fn extras(&mut self) -> BoxFut<'_, Vec<(&'static str, f64)>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Makes one driver's [`Bench`] for a workload.
pub type Make = for<'a> fn(&'a Target) -> BoxFut<'a, Box<dyn Bench>>;

/// One driver's entry in a workload.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The driver's key in the report.
    pub driver: &'static str,
    /// How the driver's side is set up (connect, prepare, write scripts).
    pub make: Make,
}

/// A workload: what it measures and which drivers run it.
#[derive(Clone)]
pub struct Workload {
    /// `W1`, `W2`, ...
    pub id: &'static str,
    /// One line: what it is.
    pub what: &'static str,
    /// The unit of throughput (`queries/s`, `rows/s`, `inserts/s`).
    pub unit: &'static str,
    /// What one latency sample is (`query`, `scan`, `batch of 1,000`).
    pub latency_of: &'static str,
    /// SQL the harness runs (on its own connection) before every round,
    /// warm-up included, outside the measurement.
    pub before_round: Option<&'static str>,
    /// The drivers, tusk first.
    pub entries: Vec<Entry>,
}

/// Every workload, in report order.
pub fn all() -> Vec<Workload> {
    vec![
        w1::workload(),
        w2::workload(),
        w3::workload(),
        w4::workload(),
        w5::copy_in(),
        w5::copy_out(),
        w6::workload(),
        w7::workload(),
        n1::workload(),
        lite::l1(),
        lite::l1c1(),
        lite::l2(),
        lite::l3(),
    ]
}

/// An [`Entry`] from a driver key and its make function.
pub fn entry(driver: &'static str, make: Make) -> Entry {
    Entry { driver, make }
}
