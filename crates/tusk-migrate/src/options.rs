//! How a run behaves: one struct, each field with its default.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How two deployers are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// One pinned session holds a session advisory lock for the whole run
    /// (the default). Needs a direct connection (or a session-mode pool):
    /// through a transaction-mode pooler it is refused with
    /// [`MigrateError::SessionNotPinned`](crate::MigrateError::SessionNotPinned).
    #[default]
    Session,
    /// Each migration's transaction takes a transaction-scoped advisory
    /// lock and checks the history again before it runs: works through
    /// PgBouncer in transaction mode; `-- tusk:no-transaction` migrations
    /// are refused.
    Transaction,
    /// No lock: for a database nobody else migrates (tests).
    None,
}

/// What a run reports while it works (the CLI prints these on stderr).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// Another session holds the migration lock; waiting for it.
    WaitingForLock {
        /// Who holds it (pid, user, application, state), if visible.
        holder: Option<String>,
        /// How long it has waited so far.
        waited: Duration,
    },
    /// A script starts.
    Started {
        /// `up`, `down` or `seed`.
        action: &'static str,
        /// The version (0 for a seed).
        version: i64,
        /// The name.
        name: String,
    },
    /// A script failed on `lock_timeout` and will run again.
    Retrying {
        /// The version (0 for a seed).
        version: i64,
        /// The name.
        name: String,
        /// This retry's number (1-based).
        attempt: u32,
        /// How many retries are allowed.
        of: u32,
        /// How long it waits first.
        wait: Duration,
    },
    /// A script finished and was recorded.
    Finished {
        /// `up`, `down` or `seed`.
        action: &'static str,
        /// The version (0 for a seed).
        version: i64,
        /// The name.
        name: String,
        /// How long its statements took.
        duration: Duration,
    },
}

/// A callback for [`Event`]s.
#[derive(Clone)]
pub struct Observer(pub Arc<dyn Fn(&Event) + Send + Sync>);

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// Options of a [`Migrator`](crate::Migrator) (and of seeding).
#[derive(Debug, Clone)]
pub struct Options {
    /// Schema of the history tables (created if missing). Default `public`.
    pub schema: String,
    /// The migration history table. Default `tusk_migrations`.
    pub table: String,
    /// The seed history table. Default `tusk_seeds`.
    pub seed_table: String,
    /// How deployers are kept apart. Default [`LockMode::Session`].
    pub lock: LockMode,
    /// How long to wait for another deployer's lock before giving up.
    /// Default `None`: wait as long as it takes, reporting the holder.
    pub lock_wait: Option<Duration>,
    /// `lock_timeout` for every script: a DDL statement that waits longer
    /// than this for a table lock fails (instead of queueing every other
    /// query behind it). Default 5 s; `None` leaves the server's setting.
    pub lock_timeout: Option<Duration>,
    /// How often a transactional script that failed on `lock_timeout` is
    /// run again (after 0.5 s, 1 s, 2 s, .. at most 10 s): a busy table's
    /// lock is usually free a moment later. Default 3; 0 fails at once.
    pub lock_retries: u32,
    /// `statement_timeout` for every script statement. Default 10 min;
    /// `Some(Duration::ZERO)` means no limit, `None` leaves the server's.
    pub statement_timeout: Option<Duration>,
    /// `client_connection_check_interval` (PostgreSQL 14+): how soon the
    /// server notices that the deployer died (Ctrl-C, `kill -9`, an evicted
    /// pod) while a statement runs, and stops it, rolling back and releasing
    /// its locks, instead of running on for as long as the statement takes.
    /// Default 1 s; `None` leaves the server's setting.
    pub client_check_interval: Option<Duration>,
    /// Apply pending versions older than the newest applied one. Default off.
    pub allow_out_of_order: bool,
    /// Applied versions whose files are gone are not an error. Default off.
    pub ignore_missing: bool,
    /// What `applied_by` records. Default `None`: the server's `current_user`.
    pub applied_by: Option<String>,
    /// Receives progress events. Default none.
    pub observer: Option<Observer>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            schema: "public".into(),
            table: "tusk_migrations".into(),
            seed_table: "tusk_seeds".into(),
            lock: LockMode::Session,
            lock_wait: None,
            lock_timeout: Some(Duration::from_secs(5)),
            lock_retries: 3,
            statement_timeout: Some(Duration::from_secs(600)),
            client_check_interval: Some(Duration::from_secs(1)),
            allow_out_of_order: false,
            ignore_missing: false,
            applied_by: None,
            observer: None,
        }
    }
}

impl Options {
    pub(crate) fn emit(&self, e: Event) {
        if let Some(o) = &self.observer {
            (o.0)(&e);
        }
    }

    /// `SET [LOCAL]` statements for the timeouts.
    pub(crate) fn timeout_sql(&self, local: bool) -> Vec<String> {
        let scope = if local { "SET LOCAL" } else { "SET" };
        let mut v = Vec::new();
        if let Some(d) = self.lock_timeout {
            v.push(format!("{scope} lock_timeout = '{}ms'", d.as_millis()));
        }
        if let Some(d) = self.statement_timeout {
            v.push(format!("{scope} statement_timeout = '{}ms'", d.as_millis()));
        }
        if let Some(d) = self.client_check_interval {
            // PostgreSQL 14+; older servers do without.
            v.push(format!(
                "SELECT pg_catalog.set_config('client_connection_check_interval', '{}', {local}) \
                 WHERE pg_catalog.current_setting('server_version_num')::int >= 140000",
                d.as_millis()
            ));
        }
        v
    }
}
