//! The crate's one error type.

/// Why a cron call failed. Every variant but [`CronError::Db`] is found
/// before anything is written: a refused call changes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CronError {
    /// The schedule does not parse.
    #[error("invalid schedule `{expr}`: {reason}")]
    InvalidSchedule {
        /// The schedule as given.
        expr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The schedule parses but never fires (`0 0 30 2 *`: February 30th).
    #[error("the schedule `{expr}` never fires (no matching time in the next 20 years)")]
    NeverFires {
        /// The schedule as given.
        expr: String,
    },
    /// Not an IANA time zone name.
    #[error("unknown time zone `{zone}`: use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`")]
    UnknownZone {
        /// The name as given.
        zone: String,
    },
    /// No job has this name.
    #[error("no cron job named `{name}` (`tusk cron list` shows the jobs)")]
    UnknownJob {
        /// The name asked for.
        name: String,
    },
    /// A job with this name exists already (use replace to change it).
    #[error("a cron job named `{name}` exists already (pass --replace to change it)")]
    DuplicateJob {
        /// The name.
        name: String,
    },
    /// The job's SQL did not pass the server's parse and analysis.
    #[error("the SQL command of `{name}` is refused by the server: {source}")]
    InvalidCommand {
        /// The job's name.
        name: String,
        /// The server's error (message, position, hint).
        #[source]
        source: tusk::Error,
    },
    /// A value out of range or malformed (a job name, a policy, a timeout).
    #[error("{0}")]
    Invalid(String),
    /// The cron tables are not there: [`Scheduler::install`](crate::Scheduler::install) creates them.
    #[error("no cron tables in schema `{schema}`: run `tusk cron install` (or `Scheduler::install`) first")]
    NotInstalled {
        /// The schema looked in.
        schema: String,
    },
    /// The database said no.
    #[error("{0}")]
    Db(#[from] tusk::Error),
}

impl CronError {
    /// The server's error, when the database refused something.
    pub fn as_db(&self) -> Option<&tusk::Error> {
        match self {
            CronError::Db(e) | CronError::InvalidCommand { source: e, .. } => Some(e),
            _ => None,
        }
    }
}
