//! The template database: migrations applied once, then cloned per test
//! with `CREATE DATABASE .. TEMPLATE`.
//!
//! Keyed by the migrations' fingerprint, so a changed migration gets a new
//! template and an unchanged one is reused, by later tests of the run and
//! (on a `DATABASE_URL` server) by later runs. Builders are serialized by
//! a session advisory lock on the admin database, which conflicts between
//! sessions whether they belong to one process's threads or to several
//! test processes; the template is marked `IS_TEMPLATE` only once
//! complete, so a half-built one (a builder killed midway) is dropped and
//! built again, never cloned.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use driver::{Config, Connection, Executor};
use tusk_migrate::{Migrations, Migrator};

use super::quote_ident;

/// The advisory lock key builders hold (`pg_advisory_lock(bigint)`):
/// "tusktemp" in ASCII.
const LOCK_KEY: i64 = 0x7475_736b_7465_6d70;

/// Templates this process knows to be complete (skips the lock).
static BUILT: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn known(name: &str) -> bool {
    BUILT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|s| s.contains(name))
}

fn remember(name: &str) {
    BUILT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(name.to_owned());
}

/// The template's name for a fingerprint and the role building it (at
/// most 63 bytes). Per role: the tables a builder creates are its own, so
/// another role's clone of them (owned by that role, its tables not) would
/// refuse it their rows.
pub(crate) fn template_name(migrations: &Migrations, role: &str) -> String {
    let role = super::harness::fnv32(role);
    if migrations.is_empty() {
        return format!("tusk_tpl_empty_{role:08x}");
    }
    let fp = migrations.fingerprint();
    format!("tusk_tpl_{}_{role:08x}", &fp[..fp.len().min(24)])
}

/// Makes sure the template for `migrations` exists and is complete;
/// returns its name.
pub(crate) async fn ensure(
    admin: &Connection,
    admin_config: &Config,
    migrations: &Migrations,
) -> Result<String, String> {
    let role: String = admin
        .query_scalar("SELECT current_user::text", &[])
        .await
        .map_err(|e| format!("asking the server for the current role: {e}"))?;
    let name = template_name(migrations, &role);
    if known(&name) {
        return Ok(name);
    }
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(|e| format!("taking the template builders' advisory lock: {e}"))?;
    let built = build_locked(admin, admin_config, migrations, &name).await;
    let unlocked = admin
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    built?;
    unlocked.map_err(|e| format!("releasing the template builders' advisory lock: {e}"))?;
    remember(&name);
    Ok(name)
}

/// Under the lock: reuse a complete template, else (re)build it.
async fn build_locked(
    admin: &Connection,
    admin_config: &Config,
    migrations: &Migrations,
    name: &str,
) -> Result<(), String> {
    let state: Vec<driver::Row> = admin
        .query(
            "SELECT datistemplate FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(|e| format!("looking up the template {name}: {e}"))?;
    match state.first().map(|r| r.try_get::<bool>(0)) {
        Some(Ok(true)) => return Ok(()),
        Some(_) => {
            // Half built by a builder that died: start again.
            admin
                .simple_query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(name)
                ))
                .await
                .map_err(|e| format!("dropping the half-built template {name}: {e}"))?;
        }
        None => {}
    }
    admin
        .simple_query(&format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(name)
        ))
        .await
        .map_err(|e| format!("creating the template database {name}: {e}"))?;
    if !migrations.is_empty() {
        let mut config = admin_config.clone();
        config.set_dbname(name);
        Migrator::new(migrations.clone())
            .up(&config)
            .await
            .map_err(|e| format!("applying the migrations to the template {name}: {e}"))?;
    }
    admin
        .simple_query(&format!(
            "ALTER DATABASE {q} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false; \
             COMMENT ON DATABASE {q} IS 'tusk::test template ({n} migrations from {o})'",
            q = quote_ident(name),
            n = migrations.len(),
            o = migrations.origin().replace('\'', "''"),
        ))
        .await
        .map_err(|e| format!("marking {name} as a template: {e}"))?;
    Ok(())
}

/// The database transaction-mode tests share, cloned from `template` once
/// (they roll everything back, so it stays equal to its template); made
/// under the builders' lock, reused by later runs. Returns its name.
pub(crate) async fn ensure_shared(admin: &Connection, template: &str) -> Result<String, String> {
    let name = template.replacen("tusk_tpl_", "tusk_tx_", 1);
    if known(&name) {
        return Ok(name);
    }
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(|e| format!("taking the template builders' advisory lock: {e}"))?;
    let made = async {
        let exists: Vec<driver::Row> = admin
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .map_err(|e| format!("looking up {name}: {e}"))?;
        if exists.is_empty() {
            clone(admin, &name, template).await?;
        }
        Ok::<(), String>(())
    }
    .await;
    let unlocked = admin
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    made?;
    unlocked.map_err(|e| format!("releasing the template builders' advisory lock: {e}"))?;
    remember(&name);
    Ok(name)
}

/// `CREATE DATABASE name TEMPLATE tpl`, retried while the server says the
/// template is in use (55006: the session that built it is still exiting;
/// the server itself waits 5 s, which a loaded machine can exceed).
pub(crate) async fn clone(conn: &Connection, name: &str, tpl: &str) -> Result<(), String> {
    let sql = format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(name),
        quote_ident(tpl)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match conn.simple_query(&sql).await {
            Ok(_) => return Ok(()),
            Err(e)
                if e.code() == Some(driver::SqlState::OBJECT_IN_USE)
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(format!("creating the test database from {tpl}: {e}")),
        }
    }
}
