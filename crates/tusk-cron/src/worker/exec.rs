//! Running one claimed run: the command, heartbeats that renew the lease,
//! the time limit, and the fenced record of its end.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tusk::Executor;

use crate::error::CronError;
use crate::handler::RunContext;
use crate::metrics::inc;

use super::claim::Claimed;
use super::Inner;

/// How a run ended, as far as its command goes.
enum Ended {
    /// An SQL command committed together with its "succeeded" record.
    SqlCommitted,
    /// Finished well (a handler); the record is still to be written.
    Ok,
    /// Failed with this message.
    Failed(String),
    /// The lease was gone when the end was to be recorded: nothing kept.
    Lost,
}

/// Statements that cannot run inside a transaction block; a job's SQL
/// runs in one (with the record of its end), so these are refused when
/// the job is added.
pub(crate) fn needs_no_transaction(sql: &str) -> Option<String> {
    for stmt in tusk::sql::statements(sql) {
        let words: Vec<String> = stmt
            .iter()
            .take(4)
            .map(|t| t.text.to_ascii_uppercase())
            .collect();
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let bad = match w(0) {
            "VACUUM" | "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "END" | "ABORT"
            | "SAVEPOINT" | "RELEASE" | "PREPARE" | "CALL" => Some(w(0).to_owned()),
            "CREATE" | "DROP" | "ALTER"
                if matches!(w(1), "DATABASE" | "TABLESPACE" | "SYSTEM" | "SUBSCRIPTION") =>
            {
                Some(format!("{} {}", w(0), w(1)))
            }
            "ALTER" if w(1) == "SYSTEM" => Some("ALTER SYSTEM".into()),
            "REINDEX" | "CREATE" | "DROP" if stmt.iter().any(|t| t.is_keyword("CONCURRENTLY")) => {
                Some(format!("{} ... CONCURRENTLY", w(0)))
            }
            _ => None,
        };
        if bad.is_some() {
            return bad;
        }
    }
    None
}

impl Inner {
    /// Runs `c` to its end (or until its lease is lost), recording it.
    pub(crate) async fn execute(self: Arc<Inner>, c: Claimed) {
        let ended = self.drive(&c).await;
        let recorded = match ended {
            Ended::SqlCommitted => Ok(true),
            Ended::Ok => self.finish_ok(&c).await,
            Ended::Failed(msg) => self.finish_failed(&c, &msg).await,
            Ended::Lost => Ok(false),
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                inc(&self.counters.lost);
                tracing::warn!(job = %c.job, run = c.run_id, "tusk-cron: lease lost; the run's end was not recorded");
            }
            Err(e) => {
                inc(&self.counters.errors);
                tracing::warn!(job = %c.job, run = c.run_id, error = %e, "tusk-cron: recording a run's end failed; its lease will expire and another worker retake it");
            }
        }
    }

    /// The command under heartbeats and the time limit.
    async fn drive(&self, c: &Claimed) -> Ended {
        let every = (self.opts.lease / 3).max(Duration::from_millis(50));
        let mut beat = tokio::time::interval_at(Instant::now() + every, every);
        let deadline = c.max_duration.map(|d| Instant::now() + d);
        let limit = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(limit);
        if c.kind == "sql" {
            // `add` refuses these, but the table may be written by hand: a
            // COMMIT in the command would commit its effects outside the
            // fenced transaction (and run the rest outside any).
            if let Some(what) = needs_no_transaction(&c.command) {
                return Ended::Failed(format!(
                    "the command uses {what}, which cannot run inside the run's transaction; not run"
                ));
            }
            let conn = match self.sched.pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => return Ended::Failed(format!("no connection: {e}")),
            };
            let token = conn.cancel_token();
            let work = self.run_sql(conn, c);
            tokio::pin!(work);
            let mut why: Option<String> = None;
            let mut lost = false;
            loop {
                tokio::select! {
                    r = &mut work => {
                        return match r {
                            Ok(true) => Ended::SqlCommitted,
                            Ok(false) => Ended::Lost,
                            Err(_) if lost => Ended::Lost,
                            Err(e) => Ended::Failed(why.unwrap_or_else(|| e.to_string())),
                        };
                    }
                    _ = beat.tick(), if !lost => {
                        if let Ok(false) = self.heartbeat(c).await {
                            // Another worker has it (or the job is gone):
                            // stop the command; its transaction cannot
                            // commit anyway (the fence check).
                            lost = true;
                            let _ = token.cancel().await;
                        }
                    }
                    _ = &mut limit, if why.is_none() => {
                        why = Some(format!(
                            "exceeded its max duration of {} (canceled)",
                            humantime::format_duration(c.max_duration.unwrap_or_default())
                        ));
                        let _ = token.cancel().await;
                    }
                }
            }
        }
        let Some(handler) = self.handlers.get(&c.command) else {
            return Ended::Failed(format!("no handler `{}` in this worker", c.command));
        };
        let ctx = RunContext {
            run_id: c.run_id,
            job: c.job.clone(),
            scheduled_at: c.scheduled_at,
            attempt: c.attempt,
            fence: c.fence,
            pool: self.sched.pool.clone(),
        };
        let work = tokio::spawn(handler(ctx));
        let abort = work.abort_handle();
        tokio::pin!(work);
        loop {
            tokio::select! {
                r = &mut work => {
                    return match r {
                        Ok(Ok(())) => Ended::Ok,
                        Ok(Err(e)) => Ended::Failed(e.to_string()),
                        Err(e) if e.is_panic() => Ended::Failed("the handler panicked".into()),
                        Err(_) => Ended::Failed("the handler was aborted".into()),
                    };
                }
                _ = beat.tick() => {
                    if let Ok(false) = self.heartbeat(c).await {
                        abort.abort();
                        return Ended::Lost;
                    }
                }
                _ = &mut limit => {
                    abort.abort();
                    return Ended::Failed(format!(
                        "exceeded its max duration of {} (aborted)",
                        humantime::format_duration(c.max_duration.unwrap_or_default())
                    ));
                }
            }
        }
    }

    /// The SQL command and its "succeeded" record in one transaction,
    /// committed only if this worker still holds the run's fence: `true`
    /// committed, `false` rolled back (lease lost).
    async fn run_sql(
        &self,
        mut conn: tusk_pool::PooledConnection,
        c: &Claimed,
    ) -> Result<bool, tusk::Error> {
        let n = &self.sched.names;
        let tx = conn.transaction().await?;
        let timeout = c
            .statement_timeout
            // PostgreSQL's limit (a larger value written by hand would
            // fail every run).
            .map(|d| d.as_millis().min(i32::MAX as u128).to_string())
            .unwrap_or_default();
        tx.execute(
            "SELECT set_config('tusk_cron.job', $1, true), set_config('tusk_cron.run_id', $2, true), \
             set_config('tusk_cron.scheduled_at', $3, true), set_config('tusk_cron.attempt', $4, true), \
             set_config('tusk_cron.fence', $5, true), \
             CASE WHEN $6 <> '' THEN set_config('statement_timeout', $6, true) END",
            &[
                &c.job,
                &c.run_id.to_string(),
                &c.scheduled_at.to_rfc3339(),
                &c.attempt.to_string(),
                &c.fence.to_string(),
                &timeout,
            ],
        )
        .await?;
        if let Err(e) = tx.execute_script(&c.command).await {
            let _ = tx.rollback().await;
            return Err(e);
        }
        let finish = format!(
            "UPDATE {} SET status = 'succeeded', finished_at = clock_timestamp(), message = NULL \
             WHERE id = $1 AND fence = $2 AND status = 'running'",
            n.runs
        );
        // The record of the end is the worker's, whatever the command set:
        // a role it lowered itself to (`SET [LOCAL] ROLE`, which may not
        // touch the cron tables) or a timeout.
        tx.execute_script(
            "RESET SESSION AUTHORIZATION; RESET ROLE; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0",
        )
        .await?;
        let done = tx.execute(finish.as_str(), &[&c.run_id, &c.fence]).await?;
        if done == 1 {
            tx.execute("SELECT pg_notify($1, $2)", &[&n.channel, &c.job])
                .await?;
            tx.commit().await?;
            inc(&self.counters.succeeded);
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    }

    /// Renews the lease: `false` if this worker no longer holds it.
    async fn heartbeat(&self, c: &Claimed) -> Result<bool, CronError> {
        let sql = format!(
            "UPDATE {} SET lease_until = clock_timestamp() + make_interval(secs => $3) \
             WHERE id = $1 AND fence = $2 AND status = 'running'",
            self.sched.names.runs
        );
        let lease = self.opts.lease.as_secs_f64();
        match self
            .sched
            .pool
            .execute(sql.as_str(), &[&c.run_id, &c.fence, &lease])
            .await
        {
            Ok(n) => Ok(n == 1),
            Err(e) => {
                inc(&self.counters.errors);
                Err(e.into())
            }
        }
    }

    /// Records a handler's success (fenced): `false` if the lease was lost.
    async fn finish_ok(&self, c: &Claimed) -> Result<bool, CronError> {
        let n = &self.sched.names;
        let sql = format!(
            "WITH f AS (UPDATE {} SET status = 'succeeded', finished_at = clock_timestamp(), message = NULL \
             WHERE id = $1 AND fence = $2 AND status = 'running' RETURNING id) \
             SELECT count(*), bool_and(pg_notify($3, $4) IS NULL) FROM f",
            n.runs
        );
        let row = self
            .sched
            .pool
            .query_one(sql.as_str(), &[&c.run_id, &c.fence, &n.channel, &c.job])
            .await?;
        let done: i64 = row.try_get(0)?;
        if done == 1 {
            inc(&self.counters.succeeded);
        }
        Ok(done == 1)
    }

    /// Records a failure (fenced) and queues the retry, if any is left.
    async fn finish_failed(&self, c: &Claimed, msg: &str) -> Result<bool, CronError> {
        let n = &self.sched.names;
        let mut conn = self.sched.pool.acquire().await?;
        let tx = conn.transaction().await?;
        let sql = format!(
            "UPDATE {} SET status = 'failed', finished_at = clock_timestamp(), message = $3 \
             WHERE id = $1 AND fence = $2 AND status = 'running' RETURNING job_id, manual",
            n.runs
        );
        let Some(row) = tx
            .query_opt(sql.as_str(), &[&c.run_id, &c.fence, &msg])
            .await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        inc(&self.counters.failed);
        let attempt = u32::try_from(c.attempt).unwrap_or(0);
        if attempt <= c.retry.retries {
            let job_id: i64 = row.try_get(0)?;
            let manual: bool = row.try_get(1)?;
            // At most a century: a backoff written by hand beyond an
            // interval's range would fail this record, and the run would
            // be retaken and rerun by every worker in turn.
            let delay = c
                .retry
                .delay_jittered(attempt)
                .min(Duration::from_secs(100 * 366 * 86_400))
                .as_secs_f64();
            let sql = format!(
                "INSERT INTO {} (job_id, job_name, scheduled_at, attempt, manual, status, due_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', clock_timestamp() + make_interval(secs => $6)) \
                 ON CONFLICT DO NOTHING",
                n.runs
            );
            tx.execute(
                sql.as_str(),
                &[
                    &job_id,
                    &c.job,
                    &c.scheduled_at,
                    &(c.attempt + 1),
                    &manual,
                    &delay,
                ],
            )
            .await?;
            inc(&self.counters.retried);
        }
        tx.execute("SELECT pg_notify($1, $2)", &[&n.channel, &c.job])
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
