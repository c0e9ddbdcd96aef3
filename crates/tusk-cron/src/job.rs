//! Jobs and runs: what is asked for ([`JobSpec`]) and what is stored
//! ([`Job`], [`Run`]).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::CronError;
use crate::policy::{Misfire, Overlap, Retry};

/// What a job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "command", rename_all = "lowercase")]
pub enum Command {
    /// SQL text (one statement or several), run in one transaction
    /// together with the record of the run's end: its effects commit if
    /// and only if the run is recorded as succeeded by the worker that
    /// holds its lease.
    Sql(String),
    /// The name of a handler registered in Rust
    /// ([`Handlers::register`](crate::Handlers::register)); only workers
    /// that registered it claim the job's runs.
    Handler(String),
}

impl Command {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Command::Sql(_) => "sql",
            Command::Handler(_) => "handler",
        }
    }

    pub(crate) fn text(&self) -> &str {
        match self {
            Command::Sql(s) | Command::Handler(s) => s,
        }
    }
}

/// A job to add: [`JobSpec::sql`] or [`JobSpec::handler`], then the
/// settings that differ from the defaults.
///
/// ```
/// use std::time::Duration;
/// use tusk_cron::{JobSpec, Misfire, Overlap};
///
/// let spec = JobSpec::sql("nightly-cleanup", "30 2 * * *", "DELETE FROM events WHERE at < now() - interval '90 days'")
///     .timezone("Europe/Berlin")
///     .overlap(Overlap::Skip)
///     .misfire(Misfire::RunOnce)
///     .retries(3, Duration::from_secs(30))
///     .statement_timeout(Duration::from_secs(600));
/// assert_eq!(spec.name, "nightly-cleanup");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Unique: letters, digits, `_`, `-`, `.` and `:`, at most 128.
    pub name: String,
    /// See [`Schedule`](crate::Schedule).
    pub schedule: String,
    /// An IANA time zone name. Default `UTC`.
    pub timezone: String,
    /// What runs.
    pub command: Command,
    /// Default [`Overlap::Skip`].
    pub overlap: Overlap,
    /// Default [`Misfire::RunOnce`].
    pub misfire: Misfire,
    /// Default: no retries.
    pub retry: Retry,
    /// `statement_timeout` for each statement of an SQL command. Default
    /// none (the role's setting).
    pub statement_timeout: Option<Duration>,
    /// The longest a run may take, whatever it does: past it an SQL
    /// command is canceled and a handler dropped, and the run fails.
    pub max_duration: Option<Duration>,
    /// Added paused (no runs until resumed).
    pub paused: bool,
    /// Check SQL with the server's parse and analysis of each statement
    /// before storing it (default true). Turn off for a script whose
    /// statements use objects created by earlier statements of the same
    /// script.
    pub check_sql: bool,
}

impl JobSpec {
    fn new(name: &str, schedule: &str, command: Command) -> JobSpec {
        JobSpec {
            name: name.into(),
            schedule: schedule.into(),
            timezone: "UTC".into(),
            command,
            overlap: Overlap::default(),
            misfire: Misfire::default(),
            retry: Retry::default(),
            statement_timeout: None,
            max_duration: None,
            paused: false,
            check_sql: true,
        }
    }

    /// A job that runs SQL.
    pub fn sql(name: &str, schedule: &str, sql: &str) -> JobSpec {
        JobSpec::new(name, schedule, Command::Sql(sql.into()))
    }

    /// A job that runs the Rust handler registered as `handler`.
    pub fn handler(name: &str, schedule: &str, handler: &str) -> JobSpec {
        JobSpec::new(name, schedule, Command::Handler(handler.into()))
    }

    /// The IANA time zone the schedule is read in.
    pub fn timezone(mut self, tz: &str) -> JobSpec {
        self.timezone = tz.into();
        self
    }

    /// The overlap policy.
    pub fn overlap(mut self, o: Overlap) -> JobSpec {
        self.overlap = o;
        self
    }

    /// The misfire policy.
    pub fn misfire(mut self, m: Misfire) -> JobSpec {
        self.misfire = m;
        self
    }

    /// Up to `retries` more attempts, the first after `backoff`, doubling.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> JobSpec {
        self.retry.retries = retries;
        self.retry.backoff = backoff;
        self
    }

    /// `statement_timeout` for an SQL command's statements.
    pub fn statement_timeout(mut self, d: Duration) -> JobSpec {
        self.statement_timeout = Some(d);
        self
    }

    /// The longest a run may take.
    pub fn max_duration(mut self, d: Duration) -> JobSpec {
        self.max_duration = Some(d);
        self
    }

    /// Added paused.
    pub fn paused(mut self, paused: bool) -> JobSpec {
        self.paused = paused;
        self
    }

    /// Whether the SQL is checked by the server before it is stored.
    pub fn check_sql(mut self, check: bool) -> JobSpec {
        self.check_sql = check;
        self
    }
}

/// True for a valid job name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The schedule as written.
    pub schedule: String,
    /// The IANA time zone.
    pub timezone: String,
    /// What it runs.
    #[serde(flatten)]
    pub command: Command,
    /// Overlap policy.
    pub overlap: Overlap,
    /// Misfire policy.
    pub misfire: Misfire,
    /// Retries.
    pub retry: Retry,
    /// Per-statement timeout, in milliseconds.
    #[serde(serialize_with = "crate::serde_ms::opt")]
    pub statement_timeout: Option<Duration>,
    /// Longest run, in milliseconds.
    #[serde(serialize_with = "crate::serde_ms::opt")]
    pub max_duration: Option<Duration>,
    /// Paused: no new runs.
    pub paused: bool,
    /// The next fire time not yet turned into a run (`None` while paused
    /// or when the schedule has no more).
    pub next_run_at: Option<DateTime<Utc>>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// The status of its latest run that is not pending.
    pub last_status: Option<RunStatus>,
    /// That run's fire time.
    pub last_scheduled_at: Option<DateTime<Utc>>,
}

fn ms(v: Option<i64>) -> Option<Duration> {
    v.and_then(|v| u64::try_from(v).ok())
        .map(Duration::from_millis)
}

fn ms_req(v: i64) -> Duration {
    Duration::from_millis(u64::try_from(v).unwrap_or(0))
}

impl Job {
    pub(crate) fn from_row(r: &tusk::Row) -> Result<Job, CronError> {
        let kind: String = r.try_get(4)?;
        let text: String = r.try_get(5)?;
        let overlap: String = r.try_get(6)?;
        let misfire: String = r.try_get(7)?;
        let last: Option<String> = r.try_get(17)?;
        Ok(Job {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            schedule: r.try_get(2)?,
            timezone: r.try_get(3)?,
            command: if kind == "handler" {
                Command::Handler(text)
            } else {
                Command::Sql(text)
            },
            overlap: overlap.parse().unwrap_or_default(),
            misfire: misfire.parse().unwrap_or_default(),
            retry: Retry {
                retries: u32::try_from(r.try_get::<i32>(8)?).unwrap_or(0),
                backoff: ms_req(r.try_get(9)?),
                max_backoff: ms_req(r.try_get(10)?),
            },
            statement_timeout: ms(r.try_get(11)?),
            max_duration: ms(r.try_get(12)?),
            paused: r.try_get(13)?,
            next_run_at: r.try_get(14)?,
            created_at: r.try_get(15)?,
            updated_at: r.try_get(16)?,
            last_status: last.and_then(|s| s.parse().ok()),
            last_scheduled_at: r.try_get(18)?,
        })
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Due (or due later: a retry), not claimed.
    Pending,
    /// Claimed by a worker whose lease runs until `lease_until`.
    Running,
    /// Finished well.
    Succeeded,
    /// Finished badly (`message` says why); a retry, if any, is a new run
    /// with the next attempt number.
    Failed,
    /// Not run: overlap policy `skip`, or missed fire times (misfire
    /// policy; attempt 0, `message` counts them).
    Skipped,
}

impl RunStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunStatus {
    type Err = CronError;
    fn from_str(s: &str) -> Result<RunStatus, CronError> {
        Ok(match s {
            "pending" => RunStatus::Pending,
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "skipped" => RunStatus::Skipped,
            _ => return Err(CronError::Invalid(format!("unknown run status `{s}`"))),
        })
    }
}

/// One entry of the run history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Its id.
    pub id: i64,
    /// The job's id.
    pub job_id: i64,
    /// The job's name.
    pub job: String,
    /// The fire time it stands for.
    pub scheduled_at: DateTime<Utc>,
    /// 1 for the first attempt, 2 for the first retry, ...; 0 for a
    /// "missed fire times" entry.
    pub attempt: i32,
    /// Queued by hand (`tusk cron run`), not by the schedule.
    pub manual: bool,
    /// Where it stands.
    pub status: RunStatus,
    /// When it may start.
    pub due_at: DateTime<Utc>,
    /// The fencing token: incremented at every claim; only the holder of
    /// the current one can record the run's end.
    pub fence: i64,
    /// The worker that claimed it last.
    pub worker: Option<String>,
    /// Until when that worker's lease runs.
    pub lease_until: Option<DateTime<Utc>>,
    /// How often another worker took it over after a lease expired.
    pub takeovers: i32,
    /// When it (last) started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// The error, or why it was skipped.
    pub message: Option<String>,
}

impl Run {
    pub(crate) fn from_row(r: &tusk::Row) -> Result<Run, CronError> {
        let status: String = r.try_get(6)?;
        Ok(Run {
            id: r.try_get(0)?,
            job_id: r.try_get(1)?,
            job: r.try_get(2)?,
            scheduled_at: r.try_get(3)?,
            attempt: r.try_get(4)?,
            manual: r.try_get(5)?,
            status: status.parse()?,
            due_at: r.try_get(7)?,
            fence: r.try_get(8)?,
            worker: r.try_get(9)?,
            lease_until: r.try_get(10)?,
            takeovers: r.try_get(11)?,
            started_at: r.try_get(12)?,
            finished_at: r.try_get(13)?,
            message: r.try_get(14)?,
        })
    }

    /// `finished_at - started_at`.
    pub fn duration(&self) -> Option<Duration> {
        Some(
            (self.finished_at? - self.started_at?)
                .to_std()
                .unwrap_or_default(),
        )
    }
}
