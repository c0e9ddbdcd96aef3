//! [`Scheduler`]: installs the tables and manages jobs and runs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tusk::{Executor, SqlState};
use tusk_pool::Pool;

use crate::error::CronError;
use crate::job::{valid_name, Command, Job, JobSpec, Run};
use crate::options::Options;
use crate::schedule::{parse_zone, Schedule};
use crate::sql::Names;

/// The cron tables of one database (a schema and prefix, see
/// [`Options`]): jobs added, changed, paused, removed; runs queued and
/// read. Cheap to clone (a pool handle and names).
#[derive(Clone)]
pub struct Scheduler {
    pub(crate) pool: Pool,
    pub(crate) names: Names,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("jobs", &self.names.jobs)
            .finish_non_exhaustive()
    }
}

fn millis(d: Option<Duration>, what: &str) -> Result<Option<i64>, CronError> {
    match d {
        None => Ok(None),
        Some(d) if d.is_zero() => Err(CronError::Invalid(format!("{what} must be more than 0"))),
        Some(d) => i64::try_from(d.as_millis())
            .map(Some)
            .map_err(|_| CronError::Invalid(format!("{what} is too long"))),
    }
}

/// The text of every statement of `sql`, by the driver's lexer.
fn statements(sql: &str) -> Vec<&str> {
    tusk::sql::statements(sql)
        .iter()
        .filter_map(|toks| {
            let first = toks.first()?;
            let last = toks.last()?;
            sql.get(first.start..last.start + last.text.len())
        })
        .collect()
}

impl Scheduler {
    /// The tables described by `options`, reached through `pool`.
    pub fn new(pool: Pool, options: &Options) -> Scheduler {
        Scheduler {
            pool,
            names: Names::new(options),
        }
    }

    /// The pool it uses.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn map_missing(&self, e: tusk::Error) -> CronError {
        if e.code() == Some(SqlState::UNDEFINED_TABLE) {
            CronError::NotInstalled {
                schema: self.names.schema.clone(),
            }
        } else {
            CronError::Db(e)
        }
    }

    /// Creates the schema (when missing), the tables, their indexes and the
    /// NOTIFY trigger, in one transaction under an advisory lock, so
    /// concurrent installs (every worker starting at once) do it once.
    /// Idempotent: when the tables and the trigger are there it changes
    /// nothing, and needs no more than `SELECT` on them. Creating needs
    /// `CREATE` on the schema (and on the database when the schema is
    /// missing). A schema, prefix or channel name PostgreSQL would
    /// truncate is [`CronError::Invalid`].
    pub async fn install(&self) -> Result<(), CronError> {
        self.names.validate()?;
        let mut conn = self.pool.acquire().await?;
        let tx = conn.transaction().await?;
        tx.execute(
            "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($1, 0))",
            &[&self.names.lock_key()],
        )
        .await?;
        // Installed already (tables and trigger there)? Then nothing to do:
        // a worker role with only DML rights must get through here
        // (CREATE .. IF NOT EXISTS checks CREATE on the schema first).
        let installed: bool = tx
            .query_scalar(
                "SELECT pg_catalog.to_regclass($1) IS NOT NULL AND EXISTS (SELECT FROM pg_catalog.pg_trigger \
                 WHERE tgrelid = pg_catalog.to_regclass($1) AND tgname = $3) AND EXISTS (SELECT FROM pg_catalog.pg_trigger \
                 WHERE tgrelid = pg_catalog.to_regclass($1) AND tgname = $4) AND pg_catalog.to_regclass($2) IS NOT NULL",
                &[
                    &self.names.jobs,
                    &self.names.runs,
                    &format!("{}_notify", self.names.prefix),
                    &format!("{}_replan", self.names.prefix),
                ],
            )
            .await?;
        if installed {
            tx.commit().await?;
            return Ok(());
        }
        let exists: bool = tx
            .query_scalar(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1)",
                &[&self.names.schema],
            )
            .await?;
        if !exists {
            tx.execute_script(&format!(
                "CREATE SCHEMA {}",
                crate::sql::ident(&self.names.schema)
            ))
            .await?;
        }
        tx.execute_script(&self.names.ddl()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The server's clock (every schedule is computed from it, so workers
    /// on machines whose clocks differ agree).
    pub async fn now(&self) -> Result<DateTime<Utc>, CronError> {
        Ok(self
            .pool
            .query_scalar("SELECT clock_timestamp()", &[])
            .await?)
    }

    /// Checks a spec without storing it: name, schedule, time zone, that
    /// the schedule fires, timeouts, and (for SQL, unless turned off) the
    /// server's parse and analysis of each statement (prepared, never run).
    pub async fn check(&self, spec: &JobSpec) -> Result<(Schedule, DateTime<Utc>), CronError> {
        if !valid_name(&spec.name) {
            return Err(CronError::Invalid(format!(
                "`{}` is not a job name: use 1 to 128 letters, digits, `_`, `-`, `.` and `:`",
                spec.name
            )));
        }
        let schedule = Schedule::parse(&spec.schedule)?;
        let tz = parse_zone(&spec.timezone)?;
        let now = self.now().await?;
        schedule.validate(tz, now)?;
        if millis(spec.statement_timeout, "statement_timeout")? > Some(i64::from(i32::MAX)) {
            return Err(CronError::Invalid(
                "statement_timeout is at most 2147483647 ms (24 days 20 h), PostgreSQL's limit"
                    .into(),
            ));
        }
        millis(spec.max_duration, "max_duration")?;
        i64::try_from(spec.retry.backoff.as_millis())
            .map_err(|_| CronError::Invalid("the retry backoff is too long".into()))?;
        i32::try_from(spec.retry.retries)
            .map_err(|_| CronError::Invalid("too many retries".into()))?;
        match &spec.command {
            Command::Handler(h) if h.trim().is_empty() => {
                return Err(CronError::Invalid("the handler name is empty".into()))
            }
            Command::Sql(sql) => {
                let stmts = statements(sql);
                if stmts.is_empty() {
                    return Err(CronError::Invalid(format!(
                        "the SQL command of `{}` is empty",
                        spec.name
                    )));
                }
                if let Some(what) = crate::worker::needs_no_transaction(sql) {
                    return Err(CronError::Invalid(format!(
                        "the SQL command of `{}` uses {what}, which cannot run inside a transaction; \
                         a job's SQL runs in one, together with the record of the run's end",
                        spec.name
                    )));
                }
                if spec.check_sql {
                    let conn = self.pool.acquire().await?;
                    for s in stmts {
                        if let Err(e) = tusk::Prepare::prepare(&conn, s).await {
                            return Err(CronError::InvalidCommand {
                                name: spec.name.clone(),
                                source: e,
                            });
                        }
                    }
                }
            }
            Command::Handler(_) => {}
        }
        let first = schedule.next_after(tz, now).ok_or(CronError::NeverFires {
            expr: spec.schedule.clone(),
        })?;
        Ok((schedule, first))
    }

    /// Adds a job ([`CronError::DuplicateJob`] if the name is taken).
    /// Checked first ([`Scheduler::check`]): a refused spec stores nothing.
    pub async fn add(&self, spec: &JobSpec) -> Result<Job, CronError> {
        self.store(spec, false).await
    }

    /// Adds a job, or replaces the one of the same name (its history
    /// stays; its next fire time is computed anew).
    pub async fn put(&self, spec: &JobSpec) -> Result<Job, CronError> {
        self.store(spec, true).await
    }

    async fn store(&self, spec: &JobSpec, replace: bool) -> Result<Job, CronError> {
        let (_, first) = self.check(spec).await?;
        let n = &self.names;
        let conflict = if replace {
            "ON CONFLICT (name) DO UPDATE SET schedule = EXCLUDED.schedule, timezone = EXCLUDED.timezone, \
             kind = EXCLUDED.kind, command = EXCLUDED.command, overlap = EXCLUDED.overlap, \
             misfire = EXCLUDED.misfire, retries = EXCLUDED.retries, retry_backoff_ms = EXCLUDED.retry_backoff_ms, \
             retry_max_backoff_ms = EXCLUDED.retry_max_backoff_ms, \
             statement_timeout_ms = EXCLUDED.statement_timeout_ms, max_duration_ms = EXCLUDED.max_duration_ms, \
             paused = EXCLUDED.paused, next_run_at = EXCLUDED.next_run_at, updated_at = now()"
        } else {
            "ON CONFLICT (name) DO NOTHING"
        };
        let sql = format!(
            "INSERT INTO {} (name, schedule, timezone, kind, command, overlap, misfire, retries, \
             retry_backoff_ms, retry_max_backoff_ms, statement_timeout_ms, max_duration_ms, paused, next_run_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) {conflict} RETURNING id",
            n.jobs
        );
        let retries = i32::try_from(spec.retry.retries).unwrap_or(i32::MAX);
        let backoff = i64::try_from(spec.retry.backoff.as_millis()).unwrap_or(i64::MAX);
        let max_backoff = i64::try_from(spec.retry.max_backoff.as_millis()).unwrap_or(i64::MAX);
        let next: Option<DateTime<Utc>> = if spec.paused { None } else { Some(first) };
        let row = self
            .pool
            .query_opt(
                sql.as_str(),
                &[
                    &spec.name,
                    &spec.schedule.trim(),
                    &spec.timezone.trim(),
                    &spec.command.kind(),
                    &spec.command.text(),
                    &spec.overlap.as_str(),
                    &spec.misfire.to_string(),
                    &retries,
                    &backoff,
                    &max_backoff,
                    &millis(spec.statement_timeout, "statement_timeout")?,
                    &millis(spec.max_duration, "max_duration")?,
                    &spec.paused,
                    &next,
                ],
            )
            .await
            .map_err(|e| self.map_missing(e))?;
        if row.is_none() {
            return Err(CronError::DuplicateJob {
                name: spec.name.clone(),
            });
        }
        self.get(&spec.name).await
    }

    /// The job named `name` ([`CronError::UnknownJob`] if none).
    pub async fn get(&self, name: &str) -> Result<Job, CronError> {
        let sql = format!("{} WHERE j.name = $1", self.names.job_select());
        let row = self
            .pool
            .query_opt(sql.as_str(), &[&name])
            .await
            .map_err(|e| self.map_missing(e))?;
        match row {
            Some(r) => Job::from_row(&r),
            None => Err(CronError::UnknownJob { name: name.into() }),
        }
    }

    /// Every job, by name.
    pub async fn list(&self) -> Result<Vec<Job>, CronError> {
        let sql = format!("{} ORDER BY j.name", self.names.job_select());
        let rows = self
            .pool
            .query(sql.as_str(), &[])
            .await
            .map_err(|e| self.map_missing(e))?;
        rows.iter().map(Job::from_row).collect()
    }

    /// Pauses a job: no new runs (runs already queued wait; a running one
    /// finishes).
    pub async fn pause(&self, name: &str) -> Result<Job, CronError> {
        self.set_paused(name, true).await
    }

    /// Resumes a paused job. Its next fire time is computed from now:
    /// fire times that passed while it was paused are not missed runs.
    pub async fn resume(&self, name: &str) -> Result<Job, CronError> {
        self.set_paused(name, false).await
    }

    async fn set_paused(&self, name: &str, paused: bool) -> Result<Job, CronError> {
        let job = self.get(name).await?;
        let next = if paused {
            None
        } else {
            let schedule = Schedule::parse(&job.schedule)?;
            let tz = parse_zone(&job.timezone)?;
            let now = self.now().await?;
            // None (a never-firing schedule written by hand): refused, the
            // job stays paused.
            Some(
                schedule
                    .next_after(tz, now)
                    .ok_or_else(|| CronError::NeverFires {
                        expr: job.schedule.clone(),
                    })?,
            )
        };
        let sql = format!(
            "UPDATE {} SET paused = $2, next_run_at = $3, updated_at = now() WHERE name = $1",
            self.names.jobs
        );
        let n = self
            .pool
            .execute(sql.as_str(), &[&name, &paused, &next])
            .await?;
        if n == 0 {
            return Err(CronError::UnknownJob { name: name.into() });
        }
        self.get(name).await
    }

    /// Removes a job and its history. A run of it still going on cannot
    /// record its end: an SQL command's effects roll back.
    pub async fn remove(&self, name: &str) -> Result<(), CronError> {
        let sql = format!("DELETE FROM {} WHERE name = $1", self.names.jobs);
        let n = self
            .pool
            .execute(sql.as_str(), &[&name])
            .await
            .map_err(|e| self.map_missing(e))?;
        if n == 0 {
            return Err(CronError::UnknownJob { name: name.into() });
        }
        Ok(())
    }

    /// Queues a run of `name` due now, for any worker (and wakes them);
    /// returns its id. A run asked for by hand runs even when the job is
    /// paused; it obeys the overlap policy like any other.
    pub async fn trigger(&self, name: &str) -> Result<i64, CronError> {
        let job = self.get(name).await?;
        let n = &self.names;
        let sql = format!(
            "WITH r AS (INSERT INTO {runs} (job_id, job_name, scheduled_at, attempt, manual, status, due_at) \
             VALUES ($1, $2, clock_timestamp(), 1, true, 'pending', clock_timestamp()) RETURNING id) \
             SELECT r.id, pg_notify($3, $2) IS NULL FROM r",
            runs = n.runs
        );
        let row = self
            .pool
            .query_one(sql.as_str(), &[&job.id, &job.name, &n.channel])
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The history, newest first: of `job` (or every job), at most `limit`.
    pub async fn history(&self, job: Option<&str>, limit: i64) -> Result<Vec<Run>, CronError> {
        if let Some(name) = job {
            self.get(name).await?;
        }
        let sql = format!(
            "{} WHERE ($1::text IS NULL OR job_name = $1) ORDER BY id DESC LIMIT $2",
            self.names.run_select()
        );
        let rows = self
            .pool
            .query(sql.as_str(), &[&job, &limit.max(0)])
            .await
            .map_err(|e| self.map_missing(e))?;
        rows.iter().map(Run::from_row).collect()
    }

    /// One run, by id.
    pub async fn run(&self, id: i64) -> Result<Option<Run>, CronError> {
        let sql = format!("{} WHERE id = $1", self.names.run_select());
        let row = self
            .pool
            .query_opt(sql.as_str(), &[&id])
            .await
            .map_err(|e| self.map_missing(e))?;
        row.as_ref().map(Run::from_row).transpose()
    }

    /// Deletes finished runs (succeeded, failed, skipped) that finished
    /// more than `older_than` ago, in batches of 10,000; how many.
    pub async fn prune(&self, older_than: Duration) -> Result<u64, CronError> {
        let secs = older_than.as_secs_f64();
        let sql = format!(
            "DELETE FROM {runs} WHERE id IN (SELECT id FROM {runs} WHERE finished_at IS NOT NULL \
             AND status IN ('succeeded', 'failed', 'skipped') \
             AND finished_at < clock_timestamp() - make_interval(secs => $1) LIMIT 10000)",
            runs = self.names.runs
        );
        let mut total = 0;
        loop {
            let n = self
                .pool
                .execute(sql.as_str(), &[&secs])
                .await
                .map_err(|e| self.map_missing(e))?;
            total += n;
            if n < 10_000 {
                return Ok(total);
            }
        }
    }
}
