//! Turning due fire times into runs (the tick) and claiming one run.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tusk::Executor;

use crate::error::CronError;
use crate::metrics::inc;
use crate::plan::plan;
use crate::policy::{Misfire, Retry};
use crate::schedule::{parse_zone, Schedule};

use super::Inner;

/// A takeover after this many is a failure: the run kills or stalls every
/// worker that takes it.
pub(crate) const MAX_TAKEOVERS: i32 = 3;

/// A run this worker holds the lease of.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub run_id: i64,
    pub job: String,
    pub kind: String,
    pub command: String,
    pub scheduled_at: DateTime<Utc>,
    pub attempt: i32,
    pub fence: i64,
    pub retry: Retry,
    pub statement_timeout: Option<Duration>,
    pub max_duration: Option<Duration>,
}

fn ms(v: Option<i64>) -> Option<Duration> {
    v.and_then(|v| u64::try_from(v).ok())
        .map(Duration::from_millis)
}

impl Inner {
    /// Materializes the runs of every due job (locked with SKIP LOCKED, so
    /// one worker does each job): the misfire policy applied, the next
    /// fire time stored. Returns how many runs it queued.
    pub(crate) async fn tick(&self) -> Result<u64, CronError> {
        let n = &self.sched.names;
        let mut conn = self.sched.pool.acquire().await?;
        let tx = conn.transaction().await?;
        let sql = format!(
            "SELECT id, name, schedule, timezone, misfire, {next}, clock_timestamp() FROM {} \
             WHERE NOT paused AND (next_run_at IS NULL OR next_run_at <= clock_timestamp()) \
             ORDER BY next_run_at NULLS FIRST LIMIT 100 FOR NO KEY UPDATE SKIP LOCKED",
            n.jobs,
            // `-infinity` written by hand: planned from now, as NULL is.
            next = crate::sql::finite("next_run_at", true),
        );
        let rows = tx
            .query(sql.as_str(), &[])
            .await
            .map_err(|e| self.sched.map_missing(e))?;
        let insert = format!(
            "INSERT INTO {} (job_id, job_name, scheduled_at, attempt, status, due_at) \
             SELECT $1, $2, t, 1, 'pending', t FROM pg_catalog.unnest($3::timestamptz[]) AS t \
             ON CONFLICT DO NOTHING",
            n.runs
        );
        let skipped = format!(
            "INSERT INTO {} (job_id, job_name, scheduled_at, attempt, status, due_at, finished_at, message, worker) \
             VALUES ($1, $2, $3, 0, 'skipped', $3, clock_timestamp(), $4, $5) ON CONFLICT DO NOTHING",
            n.runs
        );
        let failed = format!(
            "INSERT INTO {} (job_id, job_name, scheduled_at, attempt, status, due_at, finished_at, message, worker) \
             VALUES ($1, $2, $3, 0, 'failed', $3, $3, $4, $5) ON CONFLICT DO NOTHING",
            n.runs
        );
        let update = format!("UPDATE {} SET next_run_at = $2 WHERE id = $1", n.jobs);
        let pause = format!(
            "UPDATE {} SET paused = true, next_run_at = NULL WHERE id = $1",
            n.jobs
        );
        let mut queued = 0;
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let name: String = row.try_get(1)?;
            let expr: String = row.try_get(2)?;
            let zone: String = row.try_get(3)?;
            let misfire: String = row.try_get(4)?;
            let next: Option<DateTime<Utc>> = row.try_get(5)?;
            let now: DateTime<Utc> = row.try_get(6)?;
            let parsed = Schedule::parse(&expr).and_then(|s| {
                let tz = parse_zone(&zone)?;
                let m: Misfire = misfire.parse()?;
                Ok((s, tz, m))
            });
            // A schedule with no fire time left from now (written by hand:
            // `add` refuses it) is as broken as one that does not parse.
            let parsed = parsed.and_then(|(s, tz, m)| match next {
                None if s.next_after(tz, now).is_none() => {
                    Err(CronError::NeverFires { expr: expr.clone() })
                }
                _ => Ok((s, tz, m)),
            });
            let (schedule, tz, misfire) = match parsed {
                Ok(x) => x,
                Err(e) => {
                    // Edited by hand into something invalid: paused, and said so.
                    tracing::warn!(job = %name, error = %e, "tusk-cron: job paused");
                    let msg = format!("{e}; the job is paused until fixed");
                    tx.execute(failed.as_str(), &[&id, &name, &now, &msg, &self.opts.name])
                        .await?;
                    tx.execute(pause.as_str(), &[&id]).await?;
                    continue;
                }
            };
            let Some(next) = next else {
                // Inserted without a next fire time: starts from now.
                let first = schedule.next_after(tz, now);
                tx.execute(update.as_str(), &[&id, &first]).await?;
                continue;
            };
            let p = plan(&schedule, tz, misfire, self.opts.misfire_grace, next, now);
            if !p.fire.is_empty() {
                queued += tx.execute(insert.as_str(), &[&id, &name, &p.fire]).await?;
            }
            if p.skipped > 0 {
                let at = p.last_skipped.unwrap_or(next);
                let more = if p.skipped >= crate::plan::COUNT_CAP {
                    "at least "
                } else {
                    ""
                };
                let msg = format!(
                    "{more}{} fire time(s) from {} missed while no worker ran (misfire {misfire})",
                    p.skipped,
                    next.to_rfc3339()
                );
                tx.execute(skipped.as_str(), &[&id, &name, &at, &msg, &self.opts.name])
                    .await?;
                self.counters
                    .skipped
                    .fetch_add(p.skipped, std::sync::atomic::Ordering::Relaxed);
            }
            tx.execute(update.as_str(), &[&id, &p.next_run_at]).await?;
        }
        if queued > 0 {
            tx.execute("SELECT pg_notify($1, '')", &[&n.channel])
                .await?;
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims the oldest due run this worker can run (a pending one, or a
    /// running one whose lease expired), or `None`.
    pub(crate) async fn claim(&self, only: Option<i64>) -> Result<Option<Claimed>, CronError> {
        for _ in 0..20 {
            match self.claim_once(only).await? {
                Step::Claimed(c) => return Ok(Some(c)),
                Step::Nothing => return Ok(None),
                Step::Again => continue,
            }
        }
        Ok(None)
    }

    async fn claim_once(&self, only: Option<i64>) -> Result<Step, CronError> {
        let n = &self.sched.names;
        let mut conn = self.sched.pool.acquire().await?;
        let tx = conn.transaction().await?;
        let sql = format!(
            "SELECT r.id, r.status, r.attempt, r.scheduled_at, r.takeovers, r.worker, \
             j.id, j.name, j.kind, j.command, j.overlap, j.retries, j.retry_backoff_ms, \
             j.retry_max_backoff_ms, j.statement_timeout_ms, j.max_duration_ms \
             FROM {runs} r JOIN {jobs} j ON j.id = r.job_id \
             WHERE ((r.status = 'pending' AND r.due_at <= clock_timestamp() AND (NOT j.paused OR r.manual)) \
                 OR (r.status = 'running' AND r.lease_until < clock_timestamp())) \
               AND (j.kind = 'sql' OR j.command = ANY($1)) AND ($2::int8 IS NULL OR r.id = $2) \
               AND (r.status = 'running' OR j.overlap <> 'queue' OR NOT EXISTS \
                   (SELECT FROM {runs} x WHERE x.job_id = r.job_id AND x.status = 'running')) \
             ORDER BY r.due_at, r.id LIMIT 1 \
             FOR NO KEY UPDATE OF r, j SKIP LOCKED",
            runs = n.runs,
            jobs = n.jobs
        );
        let Some(row) = tx
            .query_opt(sql.as_str(), &[&self.handler_names, &only])
            .await
            .map_err(|e| self.sched.map_missing(e))?
        else {
            return Ok(Step::Nothing);
        };
        let run_id: i64 = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let takeovers: i32 = row.try_get(4)?;
        let old_worker: Option<String> = row.try_get(5)?;
        let job_id: i64 = row.try_get(6)?;
        let job: String = row.try_get(7)?;
        let overlap: String = row.try_get(10)?;
        let takeover = status == "running";
        if takeover && takeovers >= MAX_TAKEOVERS {
            let sql = format!(
                "UPDATE {} SET status = 'failed', finished_at = clock_timestamp(), message = $2 WHERE id = $1",
                n.runs
            );
            let msg = format!(
                "the lease expired {} times (last held by {}): the run kills or stalls its workers",
                takeovers + 1,
                old_worker.as_deref().unwrap_or("?")
            );
            tx.execute(sql.as_str(), &[&run_id, &msg]).await?;
            tx.commit().await?;
            inc(&self.counters.failed);
            return Ok(Step::Again);
        }
        if !takeover && overlap != "allow" {
            // Another run of this job running? Read again now that the job
            // row is locked (the candidate query's snapshot may predate a
            // claim that committed since).
            let sql = format!(
                "SELECT count(*) FROM {} WHERE job_id = $1 AND status = 'running' AND id <> $2",
                n.runs
            );
            let busy: i64 = tx.query_scalar(sql.as_str(), &[&job_id, &run_id]).await?;
            if busy > 0 {
                if overlap == "queue" {
                    tx.rollback().await?;
                    return Ok(Step::Again);
                }
                let sql = format!(
                    "UPDATE {} SET status = 'skipped', finished_at = clock_timestamp(), worker = $2, \
                     message = 'an earlier run was still running (overlap skip)' WHERE id = $1",
                    n.runs
                );
                tx.execute(sql.as_str(), &[&run_id, &self.opts.name])
                    .await?;
                tx.commit().await?;
                inc(&self.counters.skipped);
                return Ok(Step::Again);
            }
        }
        let lease = self.opts.lease.as_secs_f64();
        let sql = format!(
            "UPDATE {} SET status = 'running', fence = fence + 1, worker = $2, \
             lease_until = clock_timestamp() + make_interval(secs => $3), started_at = clock_timestamp(), \
             takeovers = takeovers + $4, \
             message = CASE WHEN $4 = 1 THEN 'taken over from ' || coalesce(worker, '?') || ' (lease expired)' END \
             WHERE id = $1 RETURNING fence, EXTRACT(EPOCH FROM started_at - due_at)::float8",
            n.runs
        );
        let up = tx
            .query_one(
                sql.as_str(),
                &[&run_id, &self.opts.name, &lease, &i32::from(takeover)],
            )
            .await?;
        let fence: i64 = up.try_get(0)?;
        let lag: f64 = up.try_get(1)?;
        tx.commit().await?;
        if lag.is_finite() && lag > 0.0 {
            self.counters.lag(Duration::from_secs_f64(lag));
        }
        let retries: i32 = row.try_get(11)?;
        let claimed = Claimed {
            run_id,
            job,
            kind: row.try_get(8)?,
            command: row.try_get(9)?,
            scheduled_at: row.try_get(3)?,
            attempt: row.try_get(2)?,
            fence,
            retry: Retry {
                retries: u32::try_from(retries).unwrap_or(0),
                backoff: ms(row.try_get(12)?).unwrap_or_default(),
                max_backoff: ms(row.try_get(13)?).unwrap_or_default(),
            },
            statement_timeout: ms(row.try_get(14)?),
            max_duration: ms(row.try_get(15)?),
        };
        inc(&self.counters.started);
        if takeover {
            inc(&self.counters.taken_over);
        }
        Ok(Step::Claimed(claimed))
    }

    /// Seconds until something may be due: the earliest next fire time, a
    /// claimable pending run (when `claimable`), the end of another
    /// worker's lease on a run this worker could take over. `None`:
    /// nothing scheduled. (Runs this worker cannot take, such as handler
    /// jobs it lacks the handler of, never wake it: it would spin.)
    pub(crate) async fn next_wake(&self, claimable: bool) -> Result<Option<f64>, CronError> {
        let n = &self.sched.names;
        let sql = format!(
            "SELECT EXTRACT(EPOCH FROM LEAST( \
               (SELECT min({next}) FROM {jobs} WHERE NOT paused), \
               CASE WHEN $2 THEN (SELECT min({due}) FROM {runs} r JOIN {jobs} j ON j.id = r.job_id \
                 WHERE r.status = 'pending' AND (NOT j.paused OR r.manual) \
                   AND (j.kind = 'sql' OR j.command = ANY($1)) \
                   AND (j.overlap <> 'queue' OR NOT EXISTS \
                     (SELECT FROM {runs} x WHERE x.job_id = r.job_id AND x.status = 'running'))) END, \
               CASE WHEN $2 THEN (SELECT min({lease}) FROM {runs} r JOIN {jobs} j ON j.id = r.job_id \
                 WHERE r.status = 'running' AND r.worker IS DISTINCT FROM $3 \
                   AND (j.kind = 'sql' OR j.command = ANY($1))) END \
             ) - clock_timestamp())::float8",
            runs = n.runs,
            jobs = n.jobs,
            // Infinities written by hand would make the subtraction fail
            // (and the worker refuse to start): ignored here, the tick
            // replans such a job.
            next = crate::sql::finite("next_run_at", true),
            due = crate::sql::finite("r.due_at", true),
            lease = crate::sql::finite("r.lease_until", true),
        );
        let v: Option<f64> = self
            .sched
            .pool
            .query_scalar(
                sql.as_str(),
                &[&self.handler_names, &claimable, &self.opts.name],
            )
            .await
            .map_err(|e| self.sched.map_missing(e))?;
        Ok(v)
    }
}

enum Step {
    Claimed(Claimed),
    Nothing,
    Again,
}
