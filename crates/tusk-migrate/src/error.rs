//! What can go wrong, each case saying what to do next.
//!
//! A [`MigrateError`] converts into the library's one error type
//! (`tusk::Error`, with this error as its source), so `?` works in code
//! that returns `tusk::Error`.

use std::path::PathBuf;
use std::time::Duration;

use tusk::ErrorKind;

/// A script statement the server refused.
#[derive(Debug)]
pub struct StatementError {
    /// The script's file.
    pub file: String,
    /// 1-based line of the error in the file (the server's position when
    /// it gave one, else the statement's start).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Which statement (1-based) of how many.
    pub index: usize,
    /// How many statements the script has.
    pub count: usize,
    /// The statement's text.
    pub statement: String,
    /// The file's line at the error, and a caret under the column.
    pub excerpt: String,
    /// Whether the script ran in a transaction (then nothing of it stays).
    pub in_transaction: bool,
    /// The server's error (SQLSTATE, message, detail, hint).
    pub source: tusk::Error,
}

/// Why a migration command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file that is not a valid migration or seed (its name, encoding,
    /// or a clash with another file).
    #[error("{file}: {why}")]
    BadFile {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A script that cannot run as written (checked before anything runs).
    #[error("{file}:{line}:{column}: {why}")]
    BadScript {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// The server refused a statement of a script.
    #[error("{}", display_statement(.0))]
    Statement(Box<StatementError>),
    /// Talking to the database failed outside a script.
    #[error("{0}")]
    Db(#[from] tusk::Error),
    /// Applied migrations whose files changed since.
    #[error("{}", display_changed(.0))]
    ChecksumMismatch(Vec<Changed>),
    /// Applied migrations whose files are gone.
    #[error(
        "applied migration(s) {} have no file here any more; restore them, or pass \
         --ignore-missing (`ignore_missing`) if they were removed on purpose",
        versions(.0)
    )]
    Missing(Vec<i64>),
    /// Pending migrations older than the newest applied one.
    #[error(
        "migration(s) {} are older than the newest applied one ({latest}) but were never applied \
         (a merge of two branches?); renumber them after {latest}, or pass --allow-out-of-order \
         (`allow_out_of_order`) to apply them anyway",
        versions(pending)
    )]
    OutOfOrder {
        /// The pending versions older than `latest`.
        pending: Vec<i64>,
        /// The newest applied version.
        latest: i64,
    },
    /// `down` for a migration that has no down script.
    #[error(
        "migration {version} ({name}) has no down script ({version:04}_{name}.down.sql); \
         nothing was reverted"
    )]
    NoDown {
        /// The version.
        version: i64,
        /// Its name.
        name: String,
    },
    /// A target version that is not a known migration.
    #[error("{0}")]
    Usage(String),
    /// The migration lock was held by someone else for longer than allowed.
    #[error(
        "gave up after {:.1} s waiting for the migration lock{}; another deployment is \
         running migrations on this database. Wait for it, or find the holder in pg_stat_activity",
        waited.as_secs_f64(),
        holder.as_deref().map(|h| format!(" (held by {h})")).unwrap_or_default()
    )]
    LockTimeout {
        /// How long it waited.
        waited: Duration,
        /// Who holds the lock (pid, user, application, since when), if known.
        holder: Option<String>,
    },
    /// The connection goes through a pooler that does not keep a client on
    /// one server session (PgBouncer in transaction or statement mode), so
    /// a session advisory lock would not protect the run.
    #[error(
        "the migration lock cannot be held on this connection: {detail}. A transaction- or \
         statement-mode pooler (PgBouncer) does not keep a client on one server session, so a \
         session advisory lock would not keep two deployers apart. Connect to PostgreSQL directly \
         (or through a session-mode pool) to migrate, or use `--lock transaction` \
         (`LockMode::Transaction`): a transaction-scoped lock around each migration, which works \
         through such poolers but refuses `-- tusk:no-transaction` migrations"
    )]
    SessionNotPinned {
        /// What gave it away.
        detail: String,
    },
    /// The session lock was released during the run, by a script
    /// (`pg_advisory_unlock_all()`, `DISCARD ALL`); the run stopped before
    /// the next script.
    #[error(
        "the migration lock was released during the run (did a migration call \
         pg_advisory_unlock_all() or DISCARD ALL?); stopped before the next migration so that \
         no other deployer interleaves. Remove that statement and run again"
    )]
    LockLost,
    /// A `-- tusk:no-transaction` script under `LockMode::Transaction`.
    #[error(
        "{file} is marked `-- tusk:no-transaction`, which cannot run under `--lock transaction` \
         (there is no transaction to hold the lock); run it over a direct connection with the \
         default session lock"
    )]
    NoTransactionUnderTransactionLock {
        /// The script.
        file: String,
    },
}

/// An applied migration whose file no longer matches its recorded checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The version.
    pub version: i64,
    /// The name in the history.
    pub name: String,
    /// The checksum recorded when it was applied.
    pub recorded: String,
    /// The checksum of the file now.
    pub current: String,
}

fn versions(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

fn display_changed(c: &[Changed]) -> String {
    let mut s = String::from("applied migration(s) changed since they were applied:");
    for c in c {
        s.push_str(&format!(
            "\n  {} ({}): recorded checksum {}.., file now {}..",
            c.version,
            c.name,
            &c.recorded[..c.recorded.len().min(12)],
            &c.current[..c.current.len().min(12)]
        ));
    }
    s.push_str(
        "\nnothing was run. Restore the files as they were applied, or, if the edit is \
         intended (comments, formatting) and the database already matches it, run \
         `tusk migrate repair` to record the new checksums",
    );
    s
}

fn display_statement(e: &StatementError) -> String {
    let mut s = format!("{}:{}:{}: ", e.file, e.line, e.column);
    match e.source.as_db_error() {
        // The server's words, without its position: line:column says it.
        Some(db) => {
            s.push_str(&format!(
                "{} {}: {}",
                db.severity,
                db.code.code(),
                db.message
            ));
            if let Some(d) = &db.detail {
                s.push_str(&format!("\nDETAIL: {d}"));
            }
            if let Some(h) = &db.hint {
                s.push_str(&format!("\nHINT: {h}"));
            }
            if let Some(w) = &db.where_ {
                s.push_str(&format!("\nWHERE: {w}"));
            }
        }
        None => s.push_str(&e.source.to_string()),
    }
    s.push_str(&format!(
        "\n  in statement {} of {}:\n{}",
        e.index, e.count, e.excerpt
    ));
    if e.in_transaction {
        s.push_str("\nnothing of this script was applied: its transaction was rolled back");
    } else if e.index > 1 {
        s.push_str(&format!(
            "\nthe script runs outside a transaction (`-- tusk:no-transaction`): its first {} \
             statement(s) stay applied and it is not recorded; fix it (make the statements \
             idempotent, e.g. IF NOT EXISTS, and drop an INVALID index a failed CREATE INDEX \
             CONCURRENTLY left) and run it again",
            e.index - 1
        ));
    } else {
        s.push_str("\nnothing of this script was applied");
    }
    s
}

impl MigrateError {
    /// The server's error behind this one, if any.
    pub fn db_error(&self) -> Option<&tusk::Error> {
        match self {
            MigrateError::Statement(s) => Some(&s.source),
            MigrateError::Db(e) => Some(e),
            _ => None,
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            MigrateError::Statement(s) => s.source.kind(),
            MigrateError::Db(e) => e.kind(),
            MigrateError::LockTimeout { .. } => ErrorKind::Timeout,
            MigrateError::SessionNotPinned { .. } => ErrorKind::Configuration,
            _ => ErrorKind::Other,
        }
    }
}

impl From<MigrateError> for tusk::Error {
    fn from(e: MigrateError) -> tusk::Error {
        match e {
            MigrateError::Db(e) => e,
            e => tusk::Error::with_source(e.kind(), e.to_string(), e),
        }
    }
}
