//! Helpers for the migration tests: a database a non-superuser role
//! migrates, and migration directories in temporary directories.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use tusk_migrate::{Event, Migrations, Migrator, Observer, Options};
use tusk_testkit::{Cluster, TestDb};

/// The role every test migrates as: no superuser, no CREATEDB, only
/// CREATE on the test database and its `public` schema.
pub const ROLE: &str = "tusk_migrator";

/// This test binary's cluster: the default pg_hba.conf (every local role
/// trusted), so the non-superuser logs in as itself, through PgBouncer too.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::builder().start().expect("a PostgreSQL cluster"))
}

fn role() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        cluster()
            .psql(
                "postgres",
                &format!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') \
                     THEN CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$"
                ),
            )
            .unwrap();
    });
}

/// A fresh database that [`ROLE`] may create objects in.
pub fn database() -> TestDb {
    role();
    let db = cluster().database().unwrap();
    db.psql(&format!(
        "GRANT CREATE ON DATABASE \"{}\" TO {ROLE}; GRANT CREATE ON SCHEMA public TO {ROLE};",
        db.name()
    ))
    .unwrap();
    db
}

/// `postgresql://tusk_migrator@127.0.0.1:<port>/<db>`.
pub fn url(db: &TestDb) -> String {
    format!("postgresql://{ROLE}@127.0.0.1:{}/{}", db.port(), db.name())
}

/// The config for [`url`].
pub fn config(db: &TestDb) -> tusk::Config {
    tusk::Config::parse(&url(db)).unwrap()
}

/// A directory holding `files`.
pub fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), files);
    d
}

/// Writes (or overwrites) `files` in `dir`.
pub fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// A migrator for the files in `dir`, with its events collected.
pub fn migrator(dir: &Path) -> (Migrator, Arc<Mutex<Vec<String>>>) {
    migrator_with(dir, Options::default())
}

/// Like [`migrator`], with `options`.
pub fn migrator_with(dir: &Path, mut options: Options) -> (Migrator, Arc<Mutex<Vec<String>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    options.observer = Some(Observer(Arc::new(move |e: &Event| {
        sink.lock().unwrap().push(format!("{e:?}"));
    })));
    (
        Migrator::with_options(Migrations::from_dir(dir).unwrap(), options),
        events,
    )
}

/// `psql` as the superuser, trimmed.
pub fn q(db: &TestDb, sql: &str) -> String {
    db.psql(sql).unwrap().trim().to_string()
}
