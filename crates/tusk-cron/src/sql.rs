//! The SQL text of the cron tables and the queries on them, with the
//! configured schema and prefix quoted in.

use crate::options::Options;

/// `name` as a quoted identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a string literal.
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `col` (a timestamptz) readable as a chrono time: `infinity` and
/// `-infinity`, which a hand edit may write, become NULL (when `nullable`)
/// or the year 9999 / 1 (chrono has no infinities).
pub(crate) fn finite(col: &str, nullable: bool) -> String {
    if nullable {
        format!("CASE WHEN pg_catalog.isfinite({col}) THEN {col} END")
    } else {
        format!(
            "CASE WHEN pg_catalog.isfinite({col}) THEN {col} \
             WHEN {col} > 'epoch'::timestamptz THEN '9999-12-31 00:00:00+00'::timestamptz \
             ELSE '0001-01-01 00:00:00+00'::timestamptz END"
        )
    }
}

/// The qualified names of one installation.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub schema: String,
    pub jobs: String,
    pub runs: String,
    pub notify_fn: String,
    pub prefix: String,
    pub channel: String,
}

impl Names {
    pub fn new(o: &Options) -> Names {
        let s = ident(&o.schema);
        Names {
            schema: o.schema.clone(),
            jobs: format!("{s}.{}", ident(&format!("{}_jobs", o.prefix))),
            runs: format!("{s}.{}", ident(&format!("{}_runs", o.prefix))),
            notify_fn: format!("{s}.{}", ident(&format!("{}_notify", o.prefix))),
            prefix: o.prefix.clone(),
            channel: o.channel.clone(),
        }
    }

    /// Refuses names PostgreSQL would truncate (63 bytes): a long prefix
    /// would make `{prefix}_jobs` and `{prefix}_runs` (or their indexes)
    /// one name, and a long channel is refused by `pg_notify`.
    pub fn validate(&self) -> Result<(), crate::error::CronError> {
        const MAX: usize = 63;
        // The longest name derived from the prefix: `{prefix}_runs_finished`.
        const LONGEST_SUFFIX: usize = "_runs_finished".len();
        let bad = |what: &str, v: &str, max: usize| {
            crate::error::CronError::Invalid(format!(
                "the cron {what} `{v}` is {} bytes long: at most {max} (PostgreSQL truncates longer names)",
                v.len()
            ))
        };
        if self.schema.is_empty() || self.schema.len() > MAX {
            return Err(bad("schema", &self.schema, MAX));
        }
        if self.prefix.len() + LONGEST_SUFFIX > MAX {
            return Err(bad("table prefix", &self.prefix, MAX - LONGEST_SUFFIX));
        }
        if self.channel.is_empty() || self.channel.len() > MAX {
            return Err(bad("channel", &self.channel, MAX));
        }
        Ok(())
    }

    /// The key of the advisory lock that serializes installs.
    pub fn lock_key(&self) -> String {
        format!("tusk_cron:{}.{}", self.schema, self.prefix)
    }

    /// The DDL, every statement idempotent (run under the advisory lock).
    pub fn ddl(&self) -> String {
        let Names {
            jobs,
            runs,
            notify_fn,
            prefix,
            ..
        } = self;
        let idx = |n: &str| ident(&format!("{prefix}_{n}"));
        let trig = ident(&format!("{prefix}_notify"));
        let channel = literal(&self.channel);
        format!(
            r#"
CREATE TABLE IF NOT EXISTS {jobs} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.:-]{{1,128}}$'),
    schedule text NOT NULL,
    timezone text NOT NULL DEFAULT 'UTC',
    kind text NOT NULL CHECK (kind IN ('sql', 'handler')),
    command text NOT NULL,
    overlap text NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'queue', 'allow')),
    misfire text NOT NULL DEFAULT 'run-once',
    retries integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
    retry_backoff_ms bigint NOT NULL DEFAULT 10000 CHECK (retry_backoff_ms >= 0),
    retry_max_backoff_ms bigint NOT NULL DEFAULT 3600000 CHECK (retry_max_backoff_ms >= 0),
    statement_timeout_ms bigint CHECK (statement_timeout_ms > 0),
    max_duration_ms bigint CHECK (max_duration_ms > 0),
    paused boolean NOT NULL DEFAULT false,
    next_run_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS {jobs_next} ON {jobs} (next_run_at) WHERE NOT paused;
CREATE TABLE IF NOT EXISTS {runs} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES {jobs} (id) ON DELETE CASCADE,
    job_name text NOT NULL,
    scheduled_at timestamptz NOT NULL,
    attempt integer NOT NULL,
    manual boolean NOT NULL DEFAULT false,
    status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped')),
    due_at timestamptz NOT NULL,
    fence bigint NOT NULL DEFAULT 0,
    worker text,
    lease_until timestamptz,
    takeovers integer NOT NULL DEFAULT 0,
    started_at timestamptz,
    finished_at timestamptz,
    message text,
    UNIQUE (job_id, scheduled_at, attempt, manual)
);
CREATE INDEX IF NOT EXISTS {runs_due} ON {runs} (due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS {runs_lease} ON {runs} (lease_until) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS {runs_finished} ON {runs} (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS {runs_job} ON {runs} (job_id, id);
CREATE OR REPLACE FUNCTION {notify_fn}() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $tusk_cron$
BEGIN
    PERFORM pg_notify({channel}, CASE TG_OP WHEN 'DELETE' THEN OLD.name ELSE NEW.name END);
    RETURN NULL;
END
$tusk_cron$;
CREATE OR REPLACE FUNCTION {replan_fn}() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $tusk_cron$
BEGIN
    -- A schedule or zone changed by hand takes effect now: the next tick
    -- plans the job from now (put() sets its own next_run_at, kept).
    IF (NEW.schedule IS DISTINCT FROM OLD.schedule OR NEW.timezone IS DISTINCT FROM OLD.timezone)
       AND NEW.next_run_at IS NOT DISTINCT FROM OLD.next_run_at THEN
        NEW.next_run_at := NULL;
    END IF;
    RETURN NEW;
END
$tusk_cron$;
DROP TRIGGER IF EXISTS {replan} ON {jobs};
CREATE TRIGGER {replan} BEFORE UPDATE OF schedule, timezone ON {jobs}
    FOR EACH ROW EXECUTE FUNCTION {replan_fn}();
DROP TRIGGER IF EXISTS {trig} ON {jobs};
CREATE TRIGGER {trig}
    AFTER INSERT OR DELETE OR UPDATE OF schedule, timezone, kind, command, overlap, misfire,
        retries, retry_backoff_ms, retry_max_backoff_ms, statement_timeout_ms, max_duration_ms, paused
    ON {jobs} FOR EACH ROW EXECUTE FUNCTION {notify_fn}();
"#,
            replan = ident(&format!("{prefix}_replan")),
            replan_fn = format!(
                "{}.{}",
                ident(&self.schema),
                ident(&format!("{prefix}_replan"))
            ),
            jobs_next = idx("jobs_next"),
            runs_due = idx("runs_due"),
            runs_lease = idx("runs_lease"),
            runs_finished = idx("runs_finished"),
            runs_job = idx("runs_job"),
        )
    }

    /// The columns of a job, in [`crate::job::Job`]'s row order, with the
    /// latest run's status and time (`j` is the jobs table).
    pub fn job_select(&self) -> String {
        format!(
            "SELECT j.id, j.name, j.schedule, j.timezone, j.kind, j.command, j.overlap, j.misfire, \
             j.retries, j.retry_backoff_ms, j.retry_max_backoff_ms, j.statement_timeout_ms, \
             j.max_duration_ms, j.paused, {next}, {created}, {updated}, \
             l.status AS last_status, {last} AS last_scheduled_at \
             FROM {jobs} j LEFT JOIN LATERAL (SELECT r.status, r.scheduled_at FROM {runs} r \
             WHERE r.job_id = j.id AND r.status <> 'pending' ORDER BY r.id DESC LIMIT 1) l ON true",
            jobs = self.jobs,
            runs = self.runs,
            next = finite("j.next_run_at", true),
            created = finite("j.created_at", false),
            updated = finite("j.updated_at", false),
            last = finite("l.scheduled_at", true),
        )
    }

    /// The columns of a run, in [`crate::job::Run`]'s row order.
    pub fn run_select(&self) -> String {
        format!(
            "SELECT id, job_id, job_name, scheduled_at, attempt, manual, status, due_at, fence, \
             worker, lease_until, takeovers, started_at, finished_at, message FROM {}",
            self.runs
        )
    }
}
