//! The one pinned session a run uses, its advisory lock, and how a script
//! runs on it.
//!
//! The lock is `pg_advisory_lock(0x7475736b, hash(history table))`: one
//! per history table, so two histories in one database do not block each
//! other. It is taken with `pg_try_advisory_lock` in a loop, so a waiting
//! deployer can say who holds it (from `pg_locks`/`pg_stat_activity`) and
//! give up after [`Options::lock_wait`].
//!
//! Before taking it, the session proves it is pinned to one server
//! process: a second connection must not land on the same backend (a
//! transaction-mode pooler hands an idle client's backend to the next
//! client), and the lock is taken only by the statement that also checks
//! `pg_backend_pid()`, so a pooler never leaves it orphaned on a backend
//! another client then uses. Every transaction checks the pid again.

use std::time::{Duration, Instant};

use tusk::{Config, Connection, Executor};

use crate::error::{MigrateError, StatementError};
use crate::history::first_text;
use crate::options::{Event, LockMode, Options};
use crate::script::Script;
use crate::split::{char_to_byte, line_at, line_col, statements};

const CLASS: i32 = 0x7475_736b; // "tusk"

/// A 31-bit FNV-1a hash of a history table's name: the lock's second key.
fn object_key(name: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::try_from(h & 0x7fff_ffff).unwrap_or(0)
}

/// What a script's run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It ran and was recorded; how long its statements took.
    Done(Duration),
    /// Another deployer recorded it first (transaction lock mode).
    Skipped,
}

/// One script to run and record.
pub(crate) struct Step<'a> {
    pub script: &'a Script,
    /// `up`, `down` or `seed`.
    pub action: &'static str,
    pub version: i64,
    pub name: &'a str,
    /// Returns a row when the step is already done (checked under a
    /// transaction lock; `None` in session mode, where the plan holds).
    pub done_sql: Option<String>,
    /// The history change, given the duration in milliseconds.
    pub record: Box<dyn Fn(f64) -> String + Send + Sync + 'a>,
}

pub(crate) struct Session<'o> {
    pub conn: Connection,
    opts: &'o Options,
    pid: i32,
    key: i32,
    locked: bool,
}

async fn scalar(conn: &Connection, sql: &str) -> Result<Option<String>, tusk::Error> {
    Ok(first_text(&conn.simple_query(sql).await?))
}

impl<'o> Session<'o> {
    /// Connects, proves the session is pinned and takes the lock
    /// (per `opts.lock`); `table` keys the lock.
    pub async fn open(
        config: &Config,
        opts: &'o Options,
        table: &str,
    ) -> Result<Session<'o>, MigrateError> {
        // Name the session, so a waiting deployer (and pg_stat_activity)
        // shows who holds the lock.
        let mut named;
        let config = if config.application_name().is_none() {
            named = config.clone();
            named.set_fallback_application_name("tusk-migrate");
            &named
        } else {
            config
        };
        let conn = tusk::connect_with(config).await?;
        let mut s = Session {
            conn,
            opts,
            pid: 0,
            key: object_key(table),
            locked: false,
        };
        if opts.lock == LockMode::Session {
            s.check_pinned(config).await?;
            s.lock_session().await?;
        }
        // Session-wide timeouts for no-transaction scripts (transactions set
        // their own with SET LOCAL). Never under the transaction lock: there
        // the session may be a pooler's, shared with other clients.
        if opts.lock != LockMode::Transaction {
            for sql in opts.timeout_sql(false) {
                s.conn.execute_script(&sql).await?;
            }
        }
        Ok(s)
    }

    /// Fails with [`MigrateError::SessionNotPinned`] when a second client
    /// connection is served by this session's server process.
    async fn check_pinned(&mut self, config: &Config) -> Result<(), MigrateError> {
        // The server's pid, not the startup message's: a pooler hands out
        // keys of its own.
        let here = scalar(&self.conn, "SELECT pg_backend_pid()").await?;
        let here: i32 = here.and_then(|p| p.parse().ok()).unwrap_or(-1);
        self.pid = here;
        let other = tusk::connect_with(config).await?;
        let there = scalar(&other, "SELECT pg_backend_pid()").await;
        let _ = other.close().await;
        let there: i32 = there?.and_then(|p| p.parse().ok()).unwrap_or(-1);
        if there == here {
            return Err(MigrateError::SessionNotPinned {
                detail: format!(
                    "two client connections were served by the same server process ({here})"
                ),
            });
        }
        Ok(())
    }

    async fn holder(&self) -> Option<String> {
        let sql = format!(
            "SELECT format('pid %s, user %s%s, %s, connected at %s', l.pid, coalesce(a.usename::text, '?'), \
             coalesce(', application ' || nullif(a.application_name, ''), ''), coalesce(a.state, '?'), \
             coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?')) \
             FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {CLASS} AND l.objid = {} \
             AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) LIMIT 1",
            self.key
        );
        scalar(&self.conn, &sql).await.ok().flatten()
    }

    /// Waits for the lock with `try_sql` (which answers `t`, `f`, or NULL
    /// for "not pinned"); between tries runs `between` (a ROLLBACK).
    async fn wait_for(&self, try_sql: &str, between: Option<&str>) -> Result<(), MigrateError> {
        let start = Instant::now();
        let mut last_report: Option<Instant> = None;
        loop {
            match scalar(&self.conn, try_sql).await?.as_deref() {
                Some("t") => return Ok(()),
                Some(_) => {}
                None => {
                    return Err(MigrateError::SessionNotPinned {
                        detail: format!(
                            "the lock statement ran on another server process than {}",
                            self.pid
                        ),
                    })
                }
            }
            if let Some(b) = between {
                self.conn.execute_script(b).await?;
            }
            let waited = start.elapsed();
            let holder = self.holder().await;
            if let Some(limit) = self.opts.lock_wait {
                if waited >= limit {
                    return Err(MigrateError::LockTimeout { waited, holder });
                }
            }
            if last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                self.opts.emit(Event::WaitingForLock { holder, waited });
                last_report = Some(Instant::now());
            }
            let pause = Duration::from_millis(200);
            let pause = match self.opts.lock_wait {
                Some(limit) => pause.min(limit.saturating_sub(waited)),
                None => pause,
            };
            tokio::time::sleep(pause).await;
        }
    }

    async fn lock_session(&mut self) -> Result<(), MigrateError> {
        let sql = format!(
            "SELECT CASE WHEN pg_backend_pid() = {} THEN pg_try_advisory_lock({CLASS}, {}) END",
            self.pid, self.key
        );
        self.wait_for(&sql, None).await?;
        self.locked = true;
        Ok(())
    }

    /// Releases the lock (closing the connection would too).
    pub async fn close(self) -> Result<(), MigrateError> {
        if self.locked {
            self.conn
                .execute_script(&format!("SELECT pg_advisory_unlock({CLASS}, {})", self.key))
                .await?;
        }
        let _ = self.conn.close().await;
        Ok(())
    }

    /// Checks, before each script, that this is still the server process
    /// holding the session lock: a pooler may have moved us, and a script
    /// may have released it (`pg_advisory_unlock_all()`, `DISCARD ALL`).
    async fn check_held(&self) -> Result<(), MigrateError> {
        let sql = format!(
            "SELECT CASE WHEN pg_backend_pid() <> {} THEN 'moved' \
             WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
             AND pid = pg_backend_pid() AND classid = {CLASS} AND objid = {} AND objsubid = 2 \
             AND granted) THEN 'lost' ELSE 'ok' END",
            self.pid, self.key
        );
        match scalar(&self.conn, &sql).await?.as_deref() {
            Some("ok") => Ok(()),
            Some("lost") => Err(MigrateError::LockLost),
            _ => Err(MigrateError::SessionNotPinned {
                detail: "a statement ran on another server process than the one holding the lock"
                    .into(),
            }),
        }
    }

    /// `BEGIN`, then the lock of `LockMode::Transaction` or the pid check
    /// of `LockMode::Session`.
    async fn begin(&self) -> Result<(), MigrateError> {
        self.conn.execute_script("BEGIN").await?;
        let checked = async {
            match self.opts.lock {
                LockMode::Session => self.check_held().await,
                LockMode::Transaction => {
                    let sql = format!("SELECT pg_try_advisory_xact_lock({CLASS}, {})", self.key);
                    self.wait_for(&sql, Some("ROLLBACK; BEGIN")).await
                }
                LockMode::None => Ok(()),
            }
        }
        .await;
        if let Err(e) = checked {
            let _ = self.conn.execute_script("ROLLBACK").await;
            return Err(e);
        }
        Ok(())
    }

    /// Runs `f` in a transaction under this mode's lock (for creating the
    /// history table, or repairing it).
    pub async fn in_transaction(&self, sqls: &[String]) -> Result<(), MigrateError> {
        self.begin().await?;
        for sql in sqls {
            if let Err(e) = self.conn.execute_script(sql).await {
                let _ = self.conn.execute_script("ROLLBACK").await;
                return Err(e.into());
            }
        }
        self.conn.execute_script("COMMIT").await?;
        Ok(())
    }

    /// Creates the history table where missing, under the lock.
    pub async fn ensure(&self, table: &crate::history::Table) -> Result<(), MigrateError> {
        if table.exists(&self.conn).await? {
            return Ok(());
        }
        self.begin().await?;
        if let Err(e) = table.ensure(&self.conn).await {
            let _ = self.conn.execute_script("ROLLBACK").await;
            return Err(e.into());
        }
        self.conn.execute_script("COMMIT").await?;
        Ok(())
    }

    /// Runs one script and records it; a transactional script that failed
    /// on `lock_timeout` (55P03) is retried `lock_retries` times, after
    /// 0.5 s, 1 s, 2 s, .. (at most 10 s).
    pub async fn apply(&self, step: &Step<'_>) -> Result<Outcome, MigrateError> {
        let mut attempt = 0u32;
        loop {
            match self.apply_once(step).await {
                Err(MigrateError::Statement(ref e))
                    if e.in_transaction
                        && e.source.code() == Some(tusk::SqlState::LOCK_NOT_AVAILABLE)
                        && attempt < self.opts.lock_retries =>
                {
                    attempt += 1;
                    let wait = Duration::from_millis(500)
                        .saturating_mul(1 << (attempt - 1).min(5))
                        .min(Duration::from_secs(10));
                    tracing::warn!(
                        target: "tusk_migrate",
                        version = step.version,
                        name = step.name,
                        attempt,
                        "lock_timeout; retrying in {wait:?}"
                    );
                    self.opts.emit(Event::Retrying {
                        version: step.version,
                        name: step.name.to_string(),
                        attempt,
                        of: self.opts.lock_retries,
                        wait,
                    });
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(&self, step: &Step<'_>) -> Result<Outcome, MigrateError> {
        let script = step.script;
        let in_tx = !script.no_transaction;
        if !in_tx && self.opts.lock == LockMode::Transaction {
            return Err(MigrateError::NoTransactionUnderTransactionLock {
                file: script.path.clone(),
            });
        }
        if in_tx {
            self.begin().await?;
            let prep = async {
                if let Some(sql) = &step.done_sql {
                    if scalar(&self.conn, sql).await?.is_some() {
                        return Ok::<bool, MigrateError>(true);
                    }
                }
                for sql in self.opts.timeout_sql(true) {
                    self.conn.execute_script(&sql).await?;
                }
                Ok(false)
            }
            .await;
            match prep {
                Ok(false) => {}
                Ok(true) => {
                    self.conn.execute_script("ROLLBACK").await?;
                    return Ok(Outcome::Skipped);
                }
                Err(e) => {
                    let _ = self.conn.execute_script("ROLLBACK").await;
                    return Err(e);
                }
            }
        } else if self.opts.lock == LockMode::Session {
            self.check_held().await?;
        }
        self.opts.emit(Event::Started {
            action: step.action,
            version: step.version,
            name: step.name.to_string(),
        });
        let start = Instant::now();
        let stmts = statements(&script.text);
        for (i, s) in stmts.iter().enumerate() {
            if let Err(source) = self.conn.execute_script(s.text).await {
                tracing::warn!(
                    target: "tusk_migrate",
                    version = step.version,
                    name = step.name,
                    statement = i + 1,
                    error = %source,
                    "script failed"
                );
                if in_tx {
                    let _ = self.conn.execute_script("ROLLBACK").await;
                }
                return Err(statement_error(script, s, i, stmts.len(), in_tx, source));
            }
        }
        let duration = start.elapsed();
        let record = (step.record)(duration.as_secs_f64() * 1000.0);
        if let Err(e) = self.conn.execute_script(&record).await {
            if in_tx {
                let _ = self.conn.execute_script("ROLLBACK").await;
            }
            return Err(e.into());
        }
        if in_tx {
            self.conn.execute_script("COMMIT").await?;
        }
        tracing::info!(
            target: "tusk_migrate",
            action = step.action,
            version = step.version,
            name = step.name,
            file = %script.path,
            duration_ms = duration.as_secs_f64() * 1000.0,
            "script applied"
        );
        self.opts.emit(Event::Finished {
            action: step.action,
            version: step.version,
            name: step.name.to_string(),
            duration,
        });
        Ok(Outcome::Done(duration))
    }
}

/// A failed statement, placed in its file.
fn statement_error(
    script: &Script,
    s: &crate::split::Statement<'_>,
    i: usize,
    count: usize,
    in_transaction: bool,
    source: tusk::Error,
) -> MigrateError {
    let offset = match source.as_db_error().and_then(|d| d.position.clone()) {
        Some(tusk::error::ErrorPosition::Original(p)) => s.start + char_to_byte(s.text, p),
        _ => s.start,
    };
    let (line, column) = line_col(&script.text, offset);
    let text_line = line_at(&script.text, offset);
    let pad: String = text_line
        .chars()
        .take(column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let excerpt = format!("  {line:>4} | {text_line}\n       | {pad}^");
    MigrateError::Statement(Box::new(StatementError {
        file: script.path.clone(),
        line,
        column,
        index: i + 1,
        count,
        statement: s.text.to_string(),
        excerpt,
        in_transaction,
        source,
    }))
}
