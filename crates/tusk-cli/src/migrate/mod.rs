//! `tusk migrate new|up|down|status|redo|repair|lint` and `tusk seed`: a
//! thin layer over tusk-migrate (`docs/migrations.md`).

mod print;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use tusk_migrate::{Event, LockMode, Migrations, Migrator, Observer, Options, Seeder};

use crate::error::{write_err, Error};
use crate::{resolve_url, Context};

/// `tusk migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: MigrateAction,
    /// Options every action shares.
    #[command(flatten)]
    pub common: Common,
}

/// `tusk seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// The seeds directory: every `*.sql` file, applied in name order
    #[arg(long, value_name = "DIR", default_value = "seeds")]
    pub dir: PathBuf,
    /// Print what would run, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Options shared with `tusk migrate`.
    #[command(flatten)]
    pub common: Common,
}

/// Options of every `tusk migrate` action and of `tusk seed`.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Connection URL or key=value string [default: $DATABASE_URL, else the
    /// development cluster]
    #[arg(long, value_name = "URL", global = true)]
    pub url: Option<String>,
    /// The migrations directory
    #[arg(long, value_name = "DIR", default_value = "migrations", global = true)]
    pub migrations: PathBuf,
    /// Schema of the history tables (created if missing)
    #[arg(long, value_name = "SCHEMA", default_value = "public", global = true)]
    pub schema: String,
    /// The migration history table
    #[arg(
        long,
        value_name = "TABLE",
        default_value = "tusk_migrations",
        global = true
    )]
    pub table: String,
    /// The seed history table
    #[arg(
        long,
        value_name = "TABLE",
        default_value = "tusk_seeds",
        global = true
    )]
    pub seed_table: String,
    /// How deployers are kept apart: `session` (an advisory lock held by
    /// one pinned session; needs a direct connection), `transaction` (a
    /// lock per migration's transaction; works through PgBouncer in
    /// transaction mode, refuses no-transaction migrations), `none`
    #[arg(long, value_enum, default_value_t = Lock::Session, global = true)]
    pub lock: Lock,
    /// Give up waiting for another deployer's lock after this long
    /// (`30s`, `5m`) [default: wait, reporting who holds it]
    #[arg(long, value_name = "DURATION", value_parser = duration, global = true)]
    pub lock_wait: Option<Duration>,
    /// `lock_timeout` for every statement (`0` for none)
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "5s", global = true)]
    pub lock_timeout: Duration,
    /// Run a migration again this many times when it fails on
    /// `lock_timeout` (after 0.5 s, 1 s, 2 s, ..)
    #[arg(long, value_name = "N", default_value_t = 3, global = true)]
    pub lock_retries: u32,
    /// `statement_timeout` for every statement (`0` for none)
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "10m", global = true)]
    pub statement_timeout: Duration,
    /// Print JSON lines instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

/// `--lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lock {
    /// A session advisory lock on one pinned session
    Session,
    /// A transaction advisory lock per migration
    Transaction,
    /// No lock
    None,
}

/// `tusk migrate` actions.
#[derive(Debug, Clone, Subcommand)]
pub enum MigrateAction {
    /// Create NNNN_NAME.up.sql and NNNN_NAME.down.sql with the next version
    New {
        /// The name: letters, digits, `_` and `-`
        name: String,
        /// Use a UTC timestamp (YYYYMMDDHHMMSS) as the version instead of the next number
        #[arg(long)]
        timestamp: bool,
        /// Make the up script run outside a transaction (for CREATE INDEX CONCURRENTLY)
        #[arg(long)]
        no_transaction: bool,
    },
    /// Apply pending migrations, each in its own transaction
    Up {
        /// Stop after this version
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        /// Print the plan, change nothing
        #[arg(long)]
        dry_run: bool,
        /// Apply pending versions older than the newest applied one
        #[arg(long)]
        allow_out_of_order: bool,
        /// Applied versions whose files are gone are not an error
        #[arg(long)]
        ignore_missing: bool,
    },
    /// Revert applied migrations with their down scripts, newest first
    Down {
        /// How many to revert
        #[arg(long, default_value_t = 1, conflicts_with_all = ["to", "all"])]
        steps: usize,
        /// Revert every applied migration above this version
        #[arg(long, value_name = "VERSION", conflicts_with = "all")]
        to: Option<i64>,
        /// Revert every applied migration
        #[arg(long)]
        all: bool,
        /// Print the plan, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Show every migration: applied, pending, changed, missing, out of order
    Status {
        /// Exit with code 3 unless every migration is applied and unchanged
        /// (a deploy gate)
        #[arg(long)]
        check: bool,
    },
    /// Revert the newest migrations and apply them again
    Redo {
        /// How many
        #[arg(long, default_value_t = 1)]
        steps: usize,
        /// Print the plan, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Record the current checksums of applied migrations whose files changed
    Repair {
        /// Print what would change, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Find DDL hazards (locks, rewrites, breaking renames); exit code 1 on findings
    Lint {
        /// Lint these files instead of the migrations directory
        files: Vec<PathBuf>,
        /// List the rules and exit
        #[arg(long)]
        rules: bool,
    },
}

/// `5s`, `250ms`, `2m`, `1h`, or `0`.
fn duration(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 5s, 250ms, 2m)"))
}

impl Common {
    fn options(&self, allow_out_of_order: bool, ignore_missing: bool) -> Options {
        Options {
            schema: self.schema.clone(),
            table: self.table.clone(),
            seed_table: self.seed_table.clone(),
            lock: match self.lock {
                Lock::Session => LockMode::Session,
                Lock::Transaction => LockMode::Transaction,
                Lock::None => LockMode::None,
            },
            lock_wait: self.lock_wait,
            lock_timeout: Some(self.lock_timeout),
            lock_retries: self.lock_retries,
            statement_timeout: Some(self.statement_timeout),
            client_check_interval: Some(Duration::from_secs(1)),
            allow_out_of_order,
            ignore_missing,
            applied_by: None,
            observer: None,
        }
    }

    fn config(&self, ctx: &Context, err: &mut dyn Write) -> Result<tusk::Config, Error> {
        let conn = crate::ConnArgs {
            url: self.url.clone(),
        };
        let url = resolve_url(&conn, ctx, err)?;
        if url.trim_start().starts_with("lite:") {
            return Err(Error::Usage(
                "tusk migrate and tusk seed do not run on tusk-lite (lite: URLs) yet: they hold \
                 an advisory lock and read pg_backend_pid(), current_setting(), set_config() and \
                 to_regclass(), which tusk-lite does not have. Serve the database with \
                 `tusk lite serve` and apply the SQL with `tusk query`, or migrate a PostgreSQL \
                 server"
                    .into(),
            ));
        }
        Ok(tusk::Config::parse(&url).map_err(tusk::Error::from)?)
    }
}

/// Runs `tusk migrate ..`; returns the exit code.
pub fn command(
    args: &MigrateArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let c = &args.common;
    match &args.action {
        MigrateAction::New {
            name,
            timestamp,
            no_transaction,
        } => new(&c.migrations, name, *timestamp, *no_transaction, out),
        MigrateAction::Lint { files, rules } => {
            if *rules {
                print::rules(c.json, out)?;
                return Ok(0);
            }
            let findings = if files.is_empty() {
                tusk_migrate::lint::lint(&Migrations::from_dir(&c.migrations)?)
            } else {
                let mut all = Vec::new();
                for f in files {
                    let text = std::fs::read_to_string(f)
                        .map_err(|e| Error::io(format!("reading {}", f.display()), e))?;
                    all.extend(tusk_migrate::lint::lint_script(
                        &f.display().to_string(),
                        &text,
                    ));
                }
                all
            };
            print::findings(&findings, c.json, out)?;
            Ok(u8::from(!findings.is_empty()))
        }
        action => {
            let (ooo, missing) = match action {
                MigrateAction::Up {
                    allow_out_of_order,
                    ignore_missing,
                    ..
                } => (*allow_out_of_order, *ignore_missing),
                _ => (false, false),
            };
            let config = c.config(ctx, err)?;
            let migrations = Migrations::from_dir(&c.migrations)?;
            let mut options = c.options(ooo, missing);
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            options.observer = Some(Observer(Arc::new(move |e: &Event| {
                let _ = tx.send(e.clone());
            })));
            let migrator = Migrator::with_options(migrations, options);
            crate::block_on(run(&migrator, action, &config, c.json, rx, out, err))
        }
    }
}

async fn run(
    m: &Migrator,
    action: &MigrateAction,
    config: &tusk::Config,
    json: bool,
    mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let work = async {
        match action {
            MigrateAction::Up {
                to, dry_run: true, ..
            } => Ok(Outcome::Plan(m.plan_up(config, *to).await?)),
            MigrateAction::Up { to, .. } => Ok(Outcome::Done(m.up_to(config, *to).await?)),
            MigrateAction::Down {
                steps,
                to,
                all,
                dry_run,
            } => {
                let to = if *all { Some(0) } else { *to };
                if *dry_run {
                    Ok(Outcome::Plan(m.plan_down(config, *steps, to).await?))
                } else {
                    Ok(Outcome::Done(m.down(config, *steps, to).await?))
                }
            }
            MigrateAction::Redo { steps, dry_run } => {
                if *dry_run {
                    Ok(Outcome::Plan(m.plan_redo(config, *steps).await?))
                } else {
                    Ok(Outcome::Done(m.redo(config, *steps).await?))
                }
            }
            MigrateAction::Repair { dry_run } => Ok(Outcome::Repaired(
                m.repair(config, *dry_run).await?,
                *dry_run,
            )),
            MigrateAction::Status { .. } => Ok(Outcome::Status(m.status(config).await?)),
            MigrateAction::New { .. } | MigrateAction::Lint { .. } => {
                Err(Error::Usage("not a database action".into()))
            }
        }
    };
    let outcome = with_events(work, &mut events, json, out, err).await?;
    print::outcome(&outcome, json, out)?;
    if let (MigrateAction::Status { check: true }, Outcome::Status(entries)) = (action, &outcome) {
        if entries
            .iter()
            .any(|e| e.state != tusk_migrate::State::Applied)
        {
            return Ok(3);
        }
    }
    Ok(0)
}

/// What a database action returned, to print.
pub(crate) enum Outcome {
    Plan(Vec<tusk_migrate::PlannedStep>),
    Done(Vec<tusk_migrate::DoneStep>),
    Repaired(Vec<tusk_migrate::Changed>, bool),
    Status(Vec<tusk_migrate::StatusEntry>),
}

/// Drives `work`, printing its events as they come: a script's end on
/// `out` (text mode), lock waits on `err`.
async fn with_events<T>(
    work: impl std::future::Future<Output = Result<T, Error>>,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<T, Error> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => {
                while let Ok(e) = events.try_recv() {
                    print::event(&e, json, out, err)?;
                }
                return r;
            }
            Some(e) = events.recv() => print::event(&e, json, out, err)?,
        }
    }
}

/// Runs `tusk seed`.
pub fn seed(
    args: &SeedArgs,
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let c = &args.common;
    let config = c.config(ctx, err)?;
    let mut options = c.options(false, false);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    options.observer = Some(Observer(Arc::new(move |e: &Event| {
        let _ = tx.send(e.clone());
    })));
    let seeder = Seeder::from_dir(&args.dir, options)?;
    let dry_run = args.dry_run;
    let json = c.json;
    crate::block_on(async {
        let work = async {
            if dry_run {
                Ok(seeder.plan(&config).await?)
            } else {
                Ok(seeder.run(&config).await?)
            }
        };
        let report = with_events(work, &mut rx, json, out, err).await?;
        print::seed_report(&report, dry_run, json, out, err)?;
        Ok(0)
    })
}

/// `tusk migrate new`.
fn new(
    dir: &Path,
    name: &str,
    timestamp: bool,
    no_tx: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    if !tusk_migrate::valid_name(name) {
        return Err(Error::Usage(format!(
            "`{name}` is not a migration name: use letters, digits, `_` and `-`"
        )));
    }
    let version = if timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| Error::Usage(e.to_string()))?
            .as_secs();
        utc_stamp(secs)
    } else {
        let (v, width) = tusk_migrate::next_version(dir)?;
        format!("{v:0width$}")
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let up = dir.join(format!("{version}_{name}.up.sql"));
    let down = dir.join(format!("{version}_{name}.down.sql"));
    let up_text = if no_tx {
        format!("{}\n-- {name}: statements that cannot run in a transaction, e.g.\n-- CREATE INDEX CONCURRENTLY IF NOT EXISTS ..;\n", tusk_migrate::NO_TRANSACTION)
    } else {
        format!("-- {name}: runs in one transaction.\n")
    };
    let down_text = format!("-- Reverts {version}_{name}.up.sql.\n");
    for (path, text) in [(&up, up_text), (&down, down_text)] {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        writeln!(out, "{}", path.display()).map_err(write_err)?;
    }
    Ok(0)
}

/// `YYYYMMDDHHMMSS` in UTC for seconds since the epoch.
fn utc_stamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_and_durations() {
        assert_eq!(super::utc_stamp(0), "19700101000000");
        assert_eq!(super::utc_stamp(1_709_210_096), "20240229123456");
        assert_eq!(super::duration("0").unwrap(), std::time::Duration::ZERO);
        assert_eq!(super::duration("250ms").unwrap().as_millis(), 250);
        assert!(super::duration("soon").is_err());
    }
}
