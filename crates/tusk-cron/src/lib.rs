//! tusk-cron: a cron scheduler driven by a PostgreSQL table.
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
