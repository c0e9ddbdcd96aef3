//! `tusk cron add|list|run|pause|resume|remove|history|prune|install|worker|next`:
//! a thin layer over tusk-cron (`docs/cron.md`).

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use tusk_cron::{
    CronError, Handlers, Job, JobSpec, Misfire, Options, Overlap, Run, RunStatus, Scheduler,
    Worker, WorkerOptions,
};
use tusk_pool::{Pool, PoolConfig};

use crate::error::{write_err, Error};
use crate::table::Table;
use crate::{resolve_url, ConnArgs, Context};

/// `tusk cron`.
#[derive(Debug, Clone, Args)]
pub struct CronArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CronAction,
    /// Connection URL or key=value string [default: $DATABASE_URL, else the
    /// development cluster]
    #[arg(long, value_name = "URL", global = true)]
    pub url: Option<String>,
    /// Schema of the cron tables
    #[arg(long, value_name = "SCHEMA", default_value = "public", global = true)]
    pub schema: String,
    /// Print JSON lines instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

/// `tusk cron` actions.
#[derive(Debug, Clone, Subcommand)]
pub enum CronAction {
    /// Create the cron tables (done by `add` and `worker` too)
    Install,
    /// Add a job (checked first: a refused job changes nothing)
    Add(AddArgs),
    /// List the jobs, their next and last runs
    List,
    /// Run a job now, here (recorded in the history like any run); exit
    /// code 1 if it fails
    Run {
        /// The job
        name: String,
        /// Only queue the run for the workers
        #[arg(long)]
        enqueue: bool,
    },
    /// Pause a job: no new runs until resumed
    Pause {
        /// The job
        name: String,
    },
    /// Resume a paused job (its next run is computed from now)
    Resume {
        /// The job
        name: String,
    },
    /// Remove a job and its history
    Remove {
        /// The job
        name: String,
    },
    /// Show the run history, newest first
    History {
        /// Only this job
        name: Option<String>,
        /// How many runs
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Delete finished runs older than this
    Prune {
        /// Age (`7d`, `12h`)
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        older_than: Duration,
    },
    /// Run a worker (SQL jobs) until stopped (Ctrl-C, SIGTERM)
    Worker(WorkerArgs),
    /// Print the next fire times of a schedule, in its zone and in UTC
    /// (no database needed): see what a DST night does
    Next {
        /// The schedule (`30 2 * * *`, `@daily`, `@every 90m`)
        schedule: String,
        /// IANA time zone the schedule is read in
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
        /// How many
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// Start after this instant (RFC 3339, e.g. 2025-03-29T12:00:00Z)
        /// [default: now]
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
    },
}

/// `tusk cron add`.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// Unique name: letters, digits, `_`, `-`, `.`, `:`
    pub name: String,
    /// `m h dom mon dow` (or 6 fields with seconds first), `@hourly`,
    /// `@daily`, ..., `@every 30s`
    pub schedule: String,
    /// The SQL to run (one statement or several, run in one transaction)
    #[arg(required_unless_present = "handler")]
    pub sql: Option<String>,
    /// Run the Rust handler registered under this name instead of SQL
    #[arg(long, value_name = "NAME", conflicts_with = "sql")]
    pub handler: Option<String>,
    /// IANA time zone the schedule is read in
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// While a run is still running: skip, queue or allow the next
    #[arg(long, default_value = "skip", value_parser = parse_overlap)]
    pub overlap: Overlap,
    /// Fire times missed while no worker ran: skip, run-once, catch-up-N
    #[arg(long, default_value = "run-once", value_parser = parse_misfire)]
    pub misfire: Misfire,
    /// Attempts after a failure
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Wait before the first retry (doubling after)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub retry_backoff: Duration,
    /// statement_timeout for each statement
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub statement_timeout: Option<Duration>,
    /// Longest a run may take (canceled after)
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub max_duration: Option<Duration>,
    /// Add it paused
    #[arg(long)]
    pub paused: bool,
    /// Replace a job of the same name (its history stays)
    #[arg(long)]
    pub replace: bool,
    /// Do not have the server parse and analyse the SQL first (for a
    /// script whose statements use objects its earlier statements create)
    #[arg(long)]
    pub no_check: bool,
}

/// `tusk cron worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The worker's name in the history [default: host, pid, random]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Most runs at a time
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Lease of a claimed run, renewed every third of it
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub lease: Duration,
    /// Longest sleep between looks at the tables (NOTIFY wakes it sooner)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub poll: Duration,
    /// Delete finished runs older than this (`0`: keep them)
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = duration)]
    pub retention: Duration,
    /// Do not LISTEN for changes, only poll (through PgBouncer in
    /// transaction mode, where notifications are not delivered)
    #[arg(long)]
    pub no_listen: bool,
}

fn duration(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 30s, 5m, 7d)"))
}

fn parse_overlap(s: &str) -> Result<Overlap, String> {
    s.parse().map_err(|e: CronError| e.to_string())
}

fn parse_misfire(s: &str) -> Result<Misfire, String> {
    s.parse().map_err(|e: CronError| e.to_string())
}

impl From<CronError> for Error {
    fn from(e: CronError) -> Error {
        match e {
            CronError::Db(e) => Error::Db(e),
            e => Error::Usage(e.to_string()),
        }
    }
}

/// Runs `tusk cron ..`; returns the exit code.
pub fn command(
    args: &CronArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    if let CronAction::Next {
        schedule,
        tz,
        count,
        from,
    } = &args.action
    {
        return next(schedule, tz, *count, from.as_deref(), args.json, out);
    }
    let conn = ConnArgs {
        url: args.url.clone(),
    };
    let url = resolve_url(&conn, ctx, err)?;
    crate::block_on(run(args, &url, out, err))
}

async fn run(
    args: &CronArgs,
    url: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let size = match &args.action {
        CronAction::Worker(w) => w.concurrency.max(1) * 2 + 2,
        _ => 2,
    };
    let pool = Pool::new(PoolConfig::builder().url(url)?.max_size(size).build())?;
    let options = Options::default().with_schema(args.schema.clone());
    let cron = Scheduler::new(pool.clone(), &options);
    let code = action(&cron, args, out, err).await;
    pool.close(Duration::from_secs(1)).await;
    code
}

async fn action(
    cron: &Scheduler,
    args: &CronArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let json = args.json;
    match &args.action {
        CronAction::Install => {
            cron.install().await?;
            if !json {
                writeln!(out, "installed the cron tables in schema {}", args.schema)
                    .map_err(write_err)?;
            }
        }
        CronAction::Add(a) => {
            let mut spec = match &a.handler {
                Some(h) => JobSpec::handler(&a.name, &a.schedule, h),
                None => JobSpec::sql(&a.name, &a.schedule, a.sql.as_deref().unwrap_or("")),
            };
            spec = spec
                .timezone(&a.tz)
                .overlap(a.overlap)
                .misfire(a.misfire)
                .retries(a.retries, a.retry_backoff)
                .paused(a.paused)
                .check_sql(!a.no_check);
            spec.statement_timeout = a.statement_timeout.filter(|d| !d.is_zero());
            spec.max_duration = a.max_duration.filter(|d| !d.is_zero());
            // Refuse bad input before creating anything.
            // (The server's clock decides the next run; this machine's is
            // close enough for "never fires in the next 20 years".)
            let schedule = tusk_cron::Schedule::parse(&spec.schedule)?;
            schedule.validate(tusk_cron::parse_zone(&spec.timezone)?, chrono::Utc::now())?;
            cron.install().await?;
            let job = if a.replace {
                cron.put(&spec).await?
            } else {
                cron.add(&spec).await?
            };
            if json {
                json_line(out, &job)?;
            } else {
                writeln!(
                    out,
                    "added {} ({} {}), next run {}",
                    job.name,
                    job.schedule,
                    job.timezone,
                    local(job.next_run_at, &job.timezone)
                )
                .map_err(write_err)?;
            }
        }
        CronAction::List => {
            let jobs = cron.list().await?;
            if json {
                for j in &jobs {
                    json_line(out, j)?;
                }
            } else {
                write!(out, "{}", jobs_table(&jobs).render()).map_err(write_err)?;
            }
        }
        CronAction::Run { name, enqueue } => {
            if *enqueue {
                let id = cron.trigger(name).await?;
                let run = cron.run(id).await?;
                print_run(run.as_ref(), json, out)?;
                return Ok(0);
            }
            let worker = Worker::new(
                cron.clone(),
                WorkerOptions {
                    name: format!("tusk-cron-run-{}", std::process::id()),
                    ..WorkerOptions::default()
                },
                Handlers::new(),
            );
            let run = worker.run_now(name).await?;
            print_run(Some(&run), json, out)?;
            return Ok(match run.status {
                RunStatus::Succeeded => 0,
                RunStatus::Pending => {
                    if !json {
                        writeln!(err, "tusk: the run waits for a worker (an overlap policy holds it, or it is a handler job)").map_err(write_err)?;
                    }
                    0
                }
                _ => 1,
            });
        }
        CronAction::Pause { name } => {
            let job = cron.pause(name).await?;
            done(&job, "paused", json, out)?;
        }
        CronAction::Resume { name } => {
            let job = cron.resume(name).await?;
            done(&job, "resumed", json, out)?;
        }
        CronAction::Remove { name } => {
            cron.remove(name).await?;
            if json {
                json_line(out, &serde_json::json!({ "removed": name }))?;
            } else {
                writeln!(out, "removed {name}").map_err(write_err)?;
            }
        }
        CronAction::History { name, limit } => {
            let runs = cron.history(name.as_deref(), *limit).await?;
            if json {
                for r in &runs {
                    json_line(out, r)?;
                }
            } else {
                write!(out, "{}", runs_table(&runs).render()).map_err(write_err)?;
            }
        }
        CronAction::Prune { older_than } => {
            let n = cron.prune(*older_than).await?;
            if json {
                json_line(out, &serde_json::json!({ "deleted": n }))?;
            } else {
                writeln!(out, "deleted {n} runs").map_err(write_err)?;
            }
        }
        CronAction::Next { .. } => return Err(Error::Usage("not a database action".into())),
        CronAction::Worker(w) => {
            cron.install().await?;
            let mut o = WorkerOptions {
                concurrency: w.concurrency.max(1),
                lease: w.lease.max(Duration::from_millis(300)),
                poll_interval: w.poll.max(Duration::from_millis(100)),
                retention: Some(w.retention).filter(|d| !d.is_zero()),
                listen: !w.no_listen,
                ..WorkerOptions::default()
            };
            if let Some(n) = &w.name {
                o.name = n.clone();
            }
            let worker = Worker::new(cron.clone(), o, Handlers::new());
            let name = worker.name().to_owned();
            writeln!(err, "tusk: cron worker {name} started").map_err(write_err)?;
            let handle = worker.spawn();
            stop_signal().await;
            writeln!(err, "tusk: stopping; waiting for the runs in progress").map_err(write_err)?;
            let stats = handle.stats();
            handle.stop().await?;
            if json {
                json_line(out, &stats)?;
            } else {
                write!(out, "{}", stats.prometheus(&name)).map_err(write_err)?;
            }
        }
    }
    Ok(0)
}

/// `tusk cron next`: pure schedule arithmetic.
fn next(
    schedule: &str,
    tz: &str,
    count: usize,
    from: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let s = tusk_cron::Schedule::parse(schedule)?;
    let zone = tusk_cron::parse_zone(tz)?;
    let mut t = match from {
        Some(f) => chrono::DateTime::parse_from_rfc3339(f)
            .map_err(|e| {
                Error::Usage(format!(
                    "--from `{f}`: {e} (write e.g. 2025-03-29T12:00:00Z)"
                ))
            })?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    s.validate(zone, t)?;
    for _ in 0..count {
        let Some(n) = s.next_after(zone, t) else {
            break;
        };
        let local = n
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string();
        let utc = n.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        if json {
            json_line(out, &serde_json::json!({ "local": local, "utc": utc }))?;
        } else {
            writeln!(out, "{local}  ({utc})").map_err(write_err)?;
        }
        t = n;
    }
    Ok(0)
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn json_line(out: &mut dyn Write, v: &impl Serialize) -> Result<(), Error> {
    let s = serde_json::to_string(v).map_err(|e| Error::Usage(e.to_string()))?;
    writeln!(out, "{s}").map_err(write_err)
}

fn done(job: &Job, verb: &str, json: bool, out: &mut dyn Write) -> Result<(), Error> {
    if json {
        json_line(out, job)
    } else {
        writeln!(
            out,
            "{verb} {}, next run {}",
            job.name,
            local(job.next_run_at, &job.timezone)
        )
        .map_err(write_err)
    }
}

/// A time in the job's zone: `2025-03-30 03:00:00 CEST`.
fn local(t: Option<chrono::DateTime<chrono::Utc>>, zone: &str) -> String {
    match (t, tusk_cron::parse_zone(zone)) {
        (Some(t), Ok(tz)) => t
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        (Some(t), Err(_)) => t.to_rfc3339(),
        (None, _) => "-".into(),
    }
}

fn utc(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn short(s: &str, n: usize) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        format!("{}…", one.chars().take(n - 1).collect::<String>())
    } else {
        one
    }
}

fn jobs_table(jobs: &[Job]) -> Table {
    let mut t = Table {
        names: [
            "name", "schedule", "zone", "command", "policies", "next run", "last run",
        ]
        .map(str::to_owned)
        .to_vec(),
        right: vec![false; 7],
        rows: Vec::new(),
    };
    for j in jobs {
        let command = match &j.command {
            tusk_cron::Command::Sql(s) => short(s, 40),
            tusk_cron::Command::Handler(h) => format!("handler {h}"),
        };
        let mut policies = format!("overlap {}, misfire {}", j.overlap, j.misfire);
        if j.retry.retries > 0 {
            policies.push_str(&format!(", {} retries", j.retry.retries));
        }
        let next = if j.paused {
            "paused".to_owned()
        } else {
            local(j.next_run_at, &j.timezone)
        };
        let last = match (j.last_status, j.last_scheduled_at) {
            (Some(s), Some(at)) => Some(format!("{s} ({})", local(Some(at), &j.timezone))),
            _ => None,
        };
        t.rows.push(vec![
            Some(j.name.clone()),
            Some(j.schedule.clone()),
            Some(j.timezone.clone()),
            Some(command),
            Some(policies),
            Some(next),
            last,
        ]);
    }
    t
}

fn runs_table(runs: &[Run]) -> Table {
    let mut t = Table {
        names: [
            "id",
            "job",
            "scheduled (UTC)",
            "attempt",
            "status",
            "worker",
            "duration",
            "message",
        ]
        .map(str::to_owned)
        .to_vec(),
        right: vec![true, false, false, true, false, false, true, false],
        rows: Vec::new(),
    };
    for r in runs {
        let attempt = if r.manual {
            format!("{} (manual)", r.attempt)
        } else {
            r.attempt.to_string()
        };
        t.rows.push(vec![
            Some(r.id.to_string()),
            Some(r.job.clone()),
            utc(Some(r.scheduled_at)),
            Some(attempt),
            Some(r.status.to_string()),
            r.worker.clone(),
            r.duration().map(|d| format!("{:.3} s", d.as_secs_f64())),
            r.message.as_deref().map(|m| short(m, 60)),
        ]);
    }
    t
}

fn print_run(run: Option<&Run>, json: bool, out: &mut dyn Write) -> Result<(), Error> {
    let Some(r) = run else { return Ok(()) };
    if json {
        return json_line(out, r);
    }
    let took = r
        .duration()
        .map(|d| format!(" in {:.3} s", d.as_secs_f64()))
        .unwrap_or_default();
    let msg = r
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    writeln!(out, "run {} of {}: {}{took}{msg}", r.id, r.job, r.status).map_err(write_err)
}
