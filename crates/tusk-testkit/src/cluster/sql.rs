//! SQL run through Debian's `psql` over the cluster's unix socket: setup,
//! databases, roles and backends.

use std::sync::Arc;
use std::thread::sleep;
use std::time::Duration;

use crate::auth::PasswordEncryption;
use crate::conf::{quote_ident, quote_literal};
use crate::env::{client_command, env, random_hex, run};
use crate::error::{Error, Result};
use crate::template::TEMPLATE_DB;

use super::{Cluster, Inner, TestDb};

impl Inner {
    /// Runs `sql` as the superuser on `db` over the unix socket; returns
    /// stdout in unaligned, tuples-only form.
    pub(super) fn psql(&self, db: &str, sql: &str) -> Result<String> {
        if !self.is_running() {
            return Err(Error::NotRunning);
        }
        let mut cmd = client_command(self.env.bin("psql"));
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port().to_string())
            .args(["-U", "postgres", "-d", db, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10");
        let out = run(&mut cmd)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A new database cloned from `template`; retried while a departing
    /// connection still holds the template.
    pub(super) fn clone_database(&self, template: &str) -> Result<String> {
        let name = format!("tusk_test_{}", random_hex(8));
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(template)
        );
        let mut attempt = 0;
        loop {
            match self.psql("postgres", &sql) {
                Ok(_) => return Ok(name),
                Err(Error::Command { ref stderr, .. })
                    if stderr.contains("is being accessed by other users") && attempt < 20 =>
                {
                    attempt += 1;
                    sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) fn drop_database(&self, name: &str) -> Result<()> {
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name)),
        )
        .map(|_| ())
    }
}

/// The SQL filter for client backends on `db`, other than psql's own.
fn client_backends(db: &str) -> String {
    format!(
        "FROM pg_stat_activity WHERE datname = {} AND backend_type = 'client backend' \
         AND pid <> pg_backend_pid()",
        quote_literal(db)
    )
}

fn parse_count(text: &str) -> Result<u64> {
    text.trim().parse().map_err(|_| Error::Command {
        command: "psql".into(),
        status: "unexpected output".into(),
        stderr: format!("expected a count, got {text:?}"),
    })
}

impl Cluster {
    /// Runs `sql` (one or more statements) as the `postgres` superuser on
    /// database `db` with `psql -X -q -A -t -v ON_ERROR_STOP=1` over the unix
    /// socket, and returns what it printed (rows, `|`-separated).
    pub fn psql(&self, db: &str, sql: &str) -> Result<String> {
        self.inner.psql(db, sql)
    }

    /// A fresh database cloned from the cluster's empty template
    /// (`CREATE DATABASE .. TEMPLATE`), dropped when the [`TestDb`] is.
    /// Safe to call from many threads at once.
    pub fn database(&self) -> Result<TestDb> {
        self.database_from(TEMPLATE_DB)
    }

    /// A fresh database cloned from `template`, a database you prepared (say
    /// with migrations) and no longer connect to.
    pub fn database_from(&self, template: &str) -> Result<TestDb> {
        let name = self.inner.clone_database(template)?;
        Ok(TestDb::new(Arc::clone(&self.inner), name))
    }

    /// Terminates every client backend connected to `db` (except psql's own)
    /// and waits up to 5 s for each to exit; returns how many were signalled.
    pub fn terminate_backends(&self, db: &str) -> Result<u64> {
        let out = self.psql(
            "postgres",
            &format!(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) {}",
                client_backends(db)
            ),
        )?;
        parse_count(&out)
    }

    /// How many client backends are connected to `db` (psql's own excluded).
    pub fn backend_count(&self, db: &str) -> Result<u64> {
        let out = self.psql(
            "postgres",
            &format!("SELECT count(*) {}", client_backends(db)),
        )?;
        parse_count(&out)
    }

    /// Creates (or updates) a login role `name` with `password` stored the way
    /// `method` says (`SET password_encryption` before setting it), or no
    /// password.
    pub fn create_user(
        &self,
        name: &str,
        password: Option<&str>,
        method: PasswordEncryption,
    ) -> Result<()> {
        self.psql("postgres", &create_user_sql(name, password, method))
            .map(|_| ())
    }
}

/// SQL that creates (or updates) a login role with a password stored per
/// `method`.
pub(crate) fn create_user_sql(
    name: &str,
    password: Option<&str>,
    method: PasswordEncryption,
) -> String {
    let ident = quote_ident(name);
    let password = password.map_or_else(|| "NULL".to_owned(), quote_literal);
    format!(
        "SET password_encryption = '{}';\n\
         DO $tusk$ BEGIN\n\
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN\n\
             CREATE ROLE {ident} LOGIN;\n\
           END IF;\n\
         END $tusk$;\n\
         ALTER ROLE {ident} LOGIN PASSWORD {password};\n",
        method.setting(),
        quote_literal(name),
    )
}

/// Runs `sql` with `psql` against any connection string (key=value or URL),
/// for tests of authentication, TLS and poolers. Returns stdout (`-A -t`);
/// a failed connection or statement is an [`Error::Command`] with psql's
/// message.
pub fn psql_conninfo(conninfo: &str, sql: &str) -> Result<String> {
    let env = env()?;
    let mut cmd = client_command(env.bin("psql"));
    cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(conninfo)
        .env("PGCONNECT_TIMEOUT", "10");
    let out = run(&mut cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
