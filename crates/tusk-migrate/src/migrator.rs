//! [`Migrator`]: runs a set of migrations against a database.

use serde::Serialize;
use tusk::Config;

use crate::error::{Changed, MigrateError};
use crate::history::{Kind, Table};
use crate::options::Options;
use crate::plan::{self, Applied, Rules, StatusEntry};
use crate::session::{Outcome, Session, Step};
use crate::source::{Migration, Migrations};
use crate::split::statements;

/// One script of a plan (`--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    /// `up` or `down`.
    pub action: &'static str,
    /// The version.
    pub version: i64,
    /// The name.
    pub name: String,
    /// The script's file.
    pub file: String,
    /// Runs outside a transaction (`-- tusk:no-transaction`).
    pub no_transaction: bool,
    /// How many statements it has.
    pub statements: usize,
}

/// One script a run applied (or found done by another deployer).
#[derive(Debug, Clone, Serialize)]
pub struct DoneStep {
    /// `up` or `down`.
    pub action: &'static str,
    /// The version.
    pub version: i64,
    /// The name.
    pub name: String,
    /// How long its statements took, in milliseconds (0 when skipped).
    pub duration_ms: f64,
    /// Another deployer had applied it first (transaction lock mode).
    pub skipped: bool,
}

/// Runs migrations: `up`, `down`, `redo`, `repair`, `status`, and the plan
/// of each (`--dry-run`). Every command that changes something opens one
/// session, takes the lock ([`Options::lock`]), re-reads the history
/// under it, checks it against the files (changed checksums, missing
/// files, out-of-order versions), then runs each script in its own
/// transaction.
///
/// ```no_run
/// # async fn run() -> Result<(), tusk_migrate::MigrateError> {
/// use tusk_migrate::{Migrations, Migrator};
/// let migrator = Migrator::new(Migrations::from_dir("migrations")?);
/// let config = tusk::Config::parse("postgresql://app@localhost/app")?;
/// for step in migrator.up(&config).await? {
///     println!("applied {} {} in {:.1} ms", step.version, step.name, step.duration_ms);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Migrations,
    options: Options,
}

impl From<tusk::config::ConfigError> for MigrateError {
    fn from(e: tusk::config::ConfigError) -> MigrateError {
        MigrateError::Db(e.into())
    }
}

fn planned(action: &'static str, m: &Migration) -> PlannedStep {
    let script = if action == "down" {
        m.down.as_ref().unwrap_or(&m.up)
    } else {
        &m.up
    };
    PlannedStep {
        action,
        version: m.version,
        name: m.name.clone(),
        file: script.path.clone(),
        no_transaction: script.no_transaction,
        statements: statements(&script.text).len(),
    }
}

impl Migrator {
    /// A migrator with the default [`Options`].
    pub fn new(migrations: Migrations) -> Migrator {
        Migrator::with_options(migrations, Options::default())
    }

    /// A migrator with `options`.
    pub fn with_options(migrations: Migrations, options: Options) -> Migrator {
        Migrator {
            migrations,
            options,
        }
    }

    /// The options, to change.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The migrations.
    pub fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    fn table(&self) -> Table {
        Table {
            schema: self.options.schema.clone(),
            name: self.options.table.clone(),
            kind: Kind::Migrations,
        }
    }

    fn rules(&self) -> Rules {
        Rules {
            allow_out_of_order: self.options.allow_out_of_order,
            ignore_missing: self.options.ignore_missing,
        }
    }

    /// The history, read without the lock (for plans and status).
    pub async fn history(&self, config: &Config) -> Result<Vec<Applied>, MigrateError> {
        let conn = tusk::connect_with(config).await?;
        let rows = self.table().read(&conn).await;
        let _ = conn.close().await;
        Ok(rows?)
    }

    /// Every migration with its state (applied, pending, changed, missing,
    /// out of order). Takes no lock and changes nothing.
    pub async fn status(&self, config: &Config) -> Result<Vec<StatusEntry>, MigrateError> {
        Ok(plan::status(&self.migrations, &self.history(config).await?))
    }

    /// What [`up_to`](Self::up_to) would run, without running it.
    pub async fn plan_up(
        &self,
        config: &Config,
        target: Option<i64>,
    ) -> Result<Vec<PlannedStep>, MigrateError> {
        let h = self.history(config).await?;
        let todo = plan::pending(&self.migrations, &h, self.rules(), target)?;
        self.check_lock_mode(todo.iter().map(|m| &m.up))?;
        Ok(todo.into_iter().map(|m| planned("up", m)).collect())
    }

    /// What [`down`](Self::down) would revert, without running it.
    pub async fn plan_down(
        &self,
        config: &Config,
        steps: usize,
        to: Option<i64>,
    ) -> Result<Vec<PlannedStep>, MigrateError> {
        let h = self.history(config).await?;
        let todo = plan::to_revert(&self.migrations, &h, self.rules(), steps, to)?;
        Ok(todo.into_iter().map(|m| planned("down", m)).collect())
    }

    /// What [`redo`](Self::redo) would run: the downs, then the ups.
    pub async fn plan_redo(
        &self,
        config: &Config,
        steps: usize,
    ) -> Result<Vec<PlannedStep>, MigrateError> {
        let mut p = self.plan_down(config, steps, None).await?;
        let ups: Vec<PlannedStep> = p
            .iter()
            .rev()
            .filter_map(|d| self.migrations.get(d.version))
            .map(|m| planned("up", m))
            .collect();
        p.extend(ups);
        Ok(p)
    }

    fn check_lock_mode<'a>(
        &self,
        scripts: impl Iterator<Item = &'a crate::script::Script>,
    ) -> Result<(), MigrateError> {
        if self.options.lock == crate::LockMode::Transaction {
            if let Some(s) = scripts.into_iter().find(|s| s.no_transaction) {
                return Err(MigrateError::NoTransactionUnderTransactionLock {
                    file: s.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// Applies every pending migration.
    pub async fn up(&self, config: &Config) -> Result<Vec<DoneStep>, MigrateError> {
        self.up_to(config, None).await
    }

    /// Applies pending migrations up to `target` (inclusive; all if `None`).
    pub async fn up_to(
        &self,
        config: &Config,
        target: Option<i64>,
    ) -> Result<Vec<DoneStep>, MigrateError> {
        let table = self.table();
        let session = Session::open(config, &self.options, &table.qualified()).await?;
        let result = async {
            session.ensure(&table).await?;
            let h = table.read(&session.conn).await?;
            let todo = plan::pending(&self.migrations, &h, self.rules(), target)?;
            self.check_lock_mode(todo.iter().map(|m| &m.up))?;
            let mut done = Vec::new();
            for m in todo {
                done.push(self.apply_up(&session, &table, m).await?);
            }
            Ok(done)
        }
        .await;
        finish(session, result).await
    }

    async fn apply_up(
        &self,
        session: &Session<'_>,
        table: &Table,
        m: &Migration,
    ) -> Result<DoneStep, MigrateError> {
        let by = self.options.applied_by.clone();
        let t = table.clone();
        let (version, name, sum) = (m.version, m.name.clone(), m.up.checksum.clone());
        let step = Step {
            script: &m.up,
            action: "up",
            version: m.version,
            name: &m.name,
            done_sql: (self.options.lock == crate::LockMode::Transaction)
                .then(|| table.is_recorded_sql(m.version, &m.name)),
            record: Box::new(move |ms| t.insert_sql(version, &name, &sum, ms, by.as_deref())),
        };
        Ok(done("up", m, session.apply(&step).await?))
    }

    async fn apply_down(
        &self,
        session: &Session<'_>,
        table: &Table,
        m: &Migration,
    ) -> Result<DoneStep, MigrateError> {
        let Some(down) = &m.down else {
            return Err(MigrateError::NoDown {
                version: m.version,
                name: m.name.clone(),
            });
        };
        let t = table.clone();
        let version = m.version;
        let step = Step {
            script: down,
            action: "down",
            version: m.version,
            name: &m.name,
            // Under a transaction lock: skip when no longer recorded.
            done_sql: (self.options.lock == crate::LockMode::Transaction).then(|| {
                format!(
                    "SELECT 1 WHERE NOT EXISTS ({})",
                    table.is_recorded_sql(m.version, &m.name)
                )
            }),
            record: Box::new(move |_| t.delete_sql(version)),
        };
        Ok(done("down", m, session.apply(&step).await?))
    }

    /// Reverts the newest `steps` applied migrations (or, with `to`, every
    /// applied migration above version `to`; `Some(0)` reverts all), newest
    /// first, each with its down script in its own transaction.
    pub async fn down(
        &self,
        config: &Config,
        steps: usize,
        to: Option<i64>,
    ) -> Result<Vec<DoneStep>, MigrateError> {
        let table = self.table();
        let session = Session::open(config, &self.options, &table.qualified()).await?;
        let result = async {
            let h = table.read(&session.conn).await?;
            let todo = plan::to_revert(&self.migrations, &h, self.rules(), steps, to)?;
            self.check_lock_mode(todo.iter().filter_map(|m| m.down.as_ref()))?;
            let mut out = Vec::new();
            for m in todo {
                out.push(self.apply_down(&session, &table, m).await?);
            }
            Ok(out)
        }
        .await;
        finish(session, result).await
    }

    /// Reverts the newest `steps` applied migrations and applies them again,
    /// under one lock (to test a down script, or re-run an edited one in
    /// development).
    pub async fn redo(&self, config: &Config, steps: usize) -> Result<Vec<DoneStep>, MigrateError> {
        let table = self.table();
        let session = Session::open(config, &self.options, &table.qualified()).await?;
        let result = async {
            let h = table.read(&session.conn).await?;
            let todo = plan::to_revert(&self.migrations, &h, self.rules(), steps, None)?;
            self.check_lock_mode(
                todo.iter()
                    .filter_map(|m| m.down.as_ref())
                    .chain(todo.iter().map(|m| &m.up)),
            )?;
            let mut out = Vec::new();
            for m in &todo {
                out.push(self.apply_down(&session, &table, m).await?);
            }
            for m in todo.iter().rev() {
                out.push(self.apply_up(&session, &table, m).await?);
            }
            Ok(out)
        }
        .await;
        finish(session, result).await
    }

    /// Records the current checksum (and name) of every applied migration
    /// whose file changed, after you checked that the database matches the
    /// edited file. Returns what it changed (with `dry_run`, what it would).
    /// Rows of missing files are left alone.
    pub async fn repair(
        &self,
        config: &Config,
        dry_run: bool,
    ) -> Result<Vec<Changed>, MigrateError> {
        let changed = |h: &[Applied]| -> Vec<Changed> {
            h.iter()
                .filter_map(|a| {
                    let m = self.migrations.get(a.version)?;
                    (m.up.checksum != a.checksum || m.name != a.name).then(|| Changed {
                        version: a.version,
                        name: m.name.clone(),
                        recorded: a.checksum.clone(),
                        current: m.up.checksum.clone(),
                    })
                })
                .collect()
        };
        if dry_run {
            return Ok(changed(&self.history(config).await?));
        }
        let table = self.table();
        let session = Session::open(config, &self.options, &table.qualified()).await?;
        let result = async {
            let list = changed(&table.read(&session.conn).await?);
            if !list.is_empty() {
                let sqls: Vec<String> = list
                    .iter()
                    .map(|c| table.repair_sql(c.version, &c.name, &c.current))
                    .collect();
                session.in_transaction(&sqls).await?;
            }
            Ok(list)
        }
        .await;
        finish(session, result).await
    }
}

fn done(action: &'static str, m: &Migration, outcome: Outcome) -> DoneStep {
    let (duration_ms, skipped) = match outcome {
        Outcome::Done(d) => (d.as_secs_f64() * 1000.0, false),
        Outcome::Skipped => (0.0, true),
    };
    DoneStep {
        action,
        version: m.version,
        name: m.name.clone(),
        duration_ms,
        skipped,
    }
}

/// Releases the session; the run's own error wins over a release error.
pub(crate) async fn finish<T>(
    session: Session<'_>,
    result: Result<T, MigrateError>,
) -> Result<T, MigrateError> {
    let closed = session.close().await;
    let value = result?;
    closed?;
    Ok(value)
}
