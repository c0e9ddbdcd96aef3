//! tusk-cron: a cron scheduler driven by a PostgreSQL table. Jobs live in
//! `{schema}.tusk_cron_jobs`; any number of [`Worker`]s, in any number of
//! processes, turn their fire times into runs in `tusk_cron_runs` and run
//! them, each run once.
//!
//! ```no_run
//! use std::time::Duration;
//! use tusk_cron::{Handlers, JobSpec, Options, Scheduler, Worker, WorkerOptions};
//!
//! # async fn run() -> Result<(), tusk_cron::CronError> {
//! let pool = tusk_pool::Pool::new(tusk_pool::PoolConfig::from_url("postgresql://app@localhost/app")?)?;
//! let cron = Scheduler::new(pool, &Options::default());
//! cron.install().await?;
//! cron.put(
//!     &JobSpec::sql("purge", "30 2 * * *", "DELETE FROM events WHERE at < now() - interval '90 days'")
//!         .timezone("Europe/Berlin")
//!         .retries(3, Duration::from_secs(60)),
//! )
//! .await?;
//! let worker = Worker::new(cron, WorkerOptions::default(), Handlers::new()).spawn();
//! # worker.stop().await?;
//! # Ok(()) }
//! ```
//!
//! | | |
//! |---|---|
//! | Schedules | [`Schedule`]: 5 or 6 cron fields, `@hourly` and the other aliases, `@every 30s` (parsed by `croner`); an IANA zone per job (`chrono-tz`); cronie's DST rules; computed from the server's clock |
//! | Jobs | [`JobSpec`] → [`Scheduler::add`] / [`Scheduler::put`]; [`Command::Sql`] or [`Command::Handler`] ([`Handlers`]) |
//! | Policies | [`Overlap`] skip / queue / allow, [`Misfire`] skip / run-once / catch-up-N ([`plan`]), [`Retry`] with exponential backoff and jitter, `statement_timeout`, max duration |
//! | Workers | [`Worker`]: `FOR UPDATE SKIP LOCKED` claims, leases renewed by heartbeats, a fencing token checked when a run's end is recorded (an SQL command commits with it: exactly once), takeover of expired leases |
//! | Wake-ups | a trigger NOTIFYs on job changes; workers LISTEN (tusk-listen) and poll as a fallback |
//! | History | [`Run`]s with retention ([`WorkerOptions::retention`], [`Scheduler::prune`]) |
//! | Metrics | [`CronStats`], [`CronStats::prometheus`] |
//! | Errors | [`CronError`]: a schedule that never fires, an unknown zone or job, SQL the server refuses: found before anything is written |
//!
//! `docs/cron.md` has the command line (`tusk cron ..`), the DST table and
//! the design.
#![warn(missing_docs)]

mod error;
mod handler;
mod job;
mod metrics;
mod options;
pub mod plan;
pub mod policy;
pub mod schedule;
mod scheduler;
mod sql;
mod worker;

pub use error::CronError;
pub use handler::{HandlerError, HandlerFuture, Handlers, RunContext};
pub use job::{valid_name, Command, Job, JobSpec, Run, RunStatus};
pub use metrics::CronStats;
pub use options::{Options, WorkerOptions};
pub use policy::{Misfire, Overlap, Retry};
pub use schedule::{parse_zone, Schedule};
pub use scheduler::Scheduler;
pub use worker::{Worker, WorkerHandle};

pub(crate) mod serde_ms {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => serialize(d, s),
            None => s.serialize_none(),
        }
    }
}
