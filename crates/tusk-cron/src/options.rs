//! Where the cron tables live, and how workers behave.

use std::time::Duration;

/// Where the jobs and their runs are stored: `{schema}.{prefix}_jobs` and
/// `{schema}.{prefix}_runs`, and the NOTIFY channel that wakes workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The schema (created by [`Scheduler::install`](crate::Scheduler::install)
    /// when missing). Default `public`.
    pub schema: String,
    /// The tables' name prefix, at most 49 bytes (the names derived from
    /// it stay within PostgreSQL's 63). Default `tusk_cron`.
    pub prefix: String,
    /// The channel workers `LISTEN` on: a job inserted, changed, paused,
    /// resumed or removed, a run queued by hand or finished, notifies it.
    /// Default `tusk_cron`.
    pub channel: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            schema: "public".into(),
            prefix: "tusk_cron".into(),
            channel: "tusk_cron".into(),
        }
    }
}

impl Options {
    /// `schema` instead of `public`.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Options {
        self.schema = schema.into();
        self
    }
}

/// How a [`Worker`](crate::Worker) claims and runs jobs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// This worker's name in the run history (`runs.worker`). Default:
    /// host name, process id and a random suffix.
    pub name: String,
    /// Most runs at a time in this worker. Default 4; at most
    /// `(max_size - 1) / 2` of the worker's pool (see [`Worker::new`](crate::Worker::new)).
    pub concurrency: usize,
    /// How long a claimed run is this worker's without a heartbeat; it is
    /// renewed every third of it while the run goes on. A worker that dies
    /// (or stalls) loses the run this long after its last heartbeat, and
    /// another worker takes it. Default 30 s.
    pub lease: Duration,
    /// The longest a worker sleeps before looking at the tables again,
    /// whatever NOTIFY says: the fallback when a notification is lost.
    /// Default 30 s.
    pub poll_interval: Duration,
    /// Fire times older than this when a worker gets to them were missed
    /// (the job's [`Misfire`](crate::Misfire) policy applies); younger ones
    /// run as usual. Default 60 s.
    pub misfire_grace: Duration,
    /// Finished runs older than this are deleted (by any worker, every
    /// [`prune_interval`](Self::prune_interval)); `None` keeps them.
    /// Default 7 days.
    pub retention: Option<Duration>,
    /// How often a worker prunes the history. Default 10 min.
    pub prune_interval: Duration,
    /// `LISTEN` for changes (a dedicated connection). Default true; with
    /// false the worker polls every [`poll_interval`](Self::poll_interval).
    pub listen: bool,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        WorkerOptions {
            name: format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..)),
            concurrency: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(30),
            misfire_grace: Duration::from_secs(60),
            retention: Some(Duration::from_secs(7 * 24 * 3600)),
            prune_interval: Duration::from_secs(600),
            listen: true,
        }
    }
}
