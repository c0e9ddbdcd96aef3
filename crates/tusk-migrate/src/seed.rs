//! Seeds: `seeds/*.sql`, applied in file-name order, each once, recorded
//! in their own table (`tusk_seeds`), with the migrations' lock, checks
//! and error reporting. A seed whose file changed after it ran is not run
//! again; it is reported, so you can write a new seed for the difference.

use serde::Serialize;
use tusk::Config;

use crate::error::MigrateError;
use crate::history::{Kind, Table};
use crate::migrator::finish;
use crate::options::Options;
use crate::script::Script;
use crate::session::{Outcome, Session, Step};
use crate::source::read_sql_files;

/// One seed file.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Its file name (`0001_users.sql`): the key in the history.
    pub name: String,
    /// The script.
    pub script: Script,
}

/// The result of a seed run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedReport {
    /// Seeds applied now, with their duration in milliseconds.
    pub applied: Vec<(String, f64)>,
    /// Seeds applied before (or by another deployer meanwhile).
    pub already: Vec<String>,
    /// Seeds applied before whose file changed since (not run again).
    pub changed: Vec<String>,
}

/// Applies seed files once each.
#[derive(Debug, Clone)]
pub struct Seeder {
    seeds: Vec<Seed>,
    options: Options,
}

impl Seeder {
    /// Every `*.sql` file of `dir`, in file-name order.
    pub fn from_dir(
        dir: impl AsRef<std::path::Path>,
        options: Options,
    ) -> Result<Seeder, MigrateError> {
        let dir = dir.as_ref();
        let files = read_sql_files(dir)?;
        let mut seeds = Vec::with_capacity(files.len());
        for (name, text) in files {
            let path = dir.join(&name).display().to_string();
            seeds.push(Seed {
                script: Script::parse(&path, &text)?,
                name,
            });
        }
        Ok(Seeder { seeds, options })
    }

    /// Seeds given as `(file name, contents)`, applied in name order.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        options: Options,
    ) -> Result<Seeder, MigrateError> {
        let mut seeds = Vec::new();
        for (name, text) in files {
            seeds.push(Seed {
                name: name.to_string(),
                script: Script::parse(name, text)?,
            });
        }
        seeds.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Seeder { seeds, options })
    }

    /// The seeds, in order.
    pub fn seeds(&self) -> &[Seed] {
        &self.seeds
    }

    fn table(&self) -> Table {
        Table {
            schema: self.options.schema.clone(),
            name: self.options.seed_table.clone(),
            kind: Kind::Seeds,
        }
    }

    /// What [`run`](Self::run) would do, without doing it.
    pub async fn plan(&self, config: &Config) -> Result<SeedReport, MigrateError> {
        let conn = tusk::connect_with(config).await?;
        let history = self.table().read(&conn).await;
        let _ = conn.close().await;
        let history = history?;
        let mut r = SeedReport::default();
        for s in &self.seeds {
            match history.iter().find(|a| a.name == s.name) {
                Some(a) if a.checksum != s.script.checksum => r.changed.push(s.name.clone()),
                Some(_) => r.already.push(s.name.clone()),
                None => r.applied.push((s.name.clone(), 0.0)),
            }
        }
        Ok(r)
    }

    /// Applies every seed not applied yet, in order, each in its own
    /// transaction (unless marked `-- tusk:no-transaction`).
    pub async fn run(&self, config: &Config) -> Result<SeedReport, MigrateError> {
        let table = self.table();
        let session = Session::open(config, &self.options, &table.qualified()).await?;
        let result = async {
            session.ensure(&table).await?;
            let history = table.read(&session.conn).await?;
            let mut r = SeedReport::default();
            for s in &self.seeds {
                match history.iter().find(|a| a.name == s.name) {
                    Some(a) if a.checksum != s.script.checksum => {
                        r.changed.push(s.name.clone());
                        continue;
                    }
                    Some(_) => {
                        r.already.push(s.name.clone());
                        continue;
                    }
                    None => {}
                }
                let t = table.clone();
                let (name, sum, by) = (
                    s.name.clone(),
                    s.script.checksum.clone(),
                    self.options.applied_by.clone(),
                );
                let step = Step {
                    script: &s.script,
                    action: "seed",
                    version: 0,
                    name: &s.name,
                    done_sql: (self.options.lock == crate::LockMode::Transaction)
                        .then(|| table.is_recorded_sql(0, &s.name)),
                    record: Box::new(move |ms| t.insert_sql(0, &name, &sum, ms, by.as_deref())),
                };
                match session.apply(&step).await? {
                    Outcome::Done(d) => r.applied.push((s.name.clone(), d.as_secs_f64() * 1000.0)),
                    Outcome::Skipped => r.already.push(s.name.clone()),
                }
            }
            Ok(r)
        }
        .await;
        finish(session, result).await
    }
}
