//! The template database: migrations applied once, then cloned per test
//! with `CREATE DATABASE .. TEMPLATE`.
//!
//! Keyed by the migrations' fingerprint, so a changed migration gets a new
//! template and an unchanged one is reused, by later tests of the run and
//! (on a `DATABASE_URL` server) by later runs. No lock: each builder
//! builds under a name of its own and renames the finished template into
//! place, so the template's name only ever names a complete one, whether
//! builders race in one process's threads, in several test processes, or
//! behind a transaction-mode pooler (where a session advisory lock cannot
//! be kept).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use driver::{Config, Connection, Executor};
use tusk_migrate::{Migrations, Migrator};

use super::quote_ident;

/// Templates this process knows to be complete (skips the catalog).
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
    let state: Vec<driver::Row> = admin
        .query(
            "SELECT datistemplate FROM pg_catalog.pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(|e| format!("looking up the template {name}: {e}"))?;
    match state.first().map(|r| r.try_get::<bool>(0)) {
        Some(Ok(true)) => {}
        Some(_) => {
            // Only an older harness (which built in place) leaves one
            // half built under the final name: drop it, then build.
            drop_database(admin, &name).await?;
            build(admin, admin_config, migrations, &name).await?;
        }
        None => build(admin, admin_config, migrations, &name).await?,
    }
    remember(&name);
    Ok(name)
}

/// Builds the template under a name of its own, then renames it into
/// place: no lock (a session advisory lock cannot be kept through a
/// transaction-mode pooler, where builders hung), and the final name only
/// ever names a complete template. Builders racing each build one; the
/// first rename wins and the others drop theirs (42P04). A builder killed
/// midway leaves its `_b<random>` database behind, never cloned.
async fn build(
    admin: &Connection,
    admin_config: &Config,
    migrations: &Migrations,
    name: &str,
) -> Result<(), String> {
    let scratch = format!("{name}_b{}", &super::harness::random_hex()[..8]);
    admin
        .simple_query(&format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(&scratch)
        ))
        .await
        .map_err(|e| format!("creating the template database {scratch}: {e}"))?;
    let built = async {
        if !migrations.is_empty() {
            let mut config = admin_config.clone();
            config.set_dbname(&scratch);
            Migrator::new(migrations.clone())
                .up(&config)
                .await
                .map_err(|e| format!("applying the migrations to the template {name}: {e}"))?;
        }
        admin
            .simple_query(&format!(
                "ALTER DATABASE {q} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false; \
                 COMMENT ON DATABASE {q} IS 'tusk::test template ({n} migrations from {o})'",
                q = quote_ident(&scratch),
                n = migrations.len(),
                o = migrations.origin().replace('\'', "''"),
            ))
            .await
            .map_err(|e| format!("marking {scratch} as a template: {e}"))?;
        rename(admin, &scratch, name).await
    }
    .await;
    match built {
        Ok(true) => Ok(()),
        Ok(false) => drop_database(admin, &scratch).await,
        Err(e) => {
            let _ = drop_database(admin, &scratch).await;
            Err(e)
        }
    }
}

/// Renames `from` to `to`; false when `to` exists already (another
/// builder won). Retried while the server says `from` is in use (the
/// migrator's sessions are still exiting).
async fn rename(admin: &Connection, from: &str, to: &str) -> Result<bool, String> {
    let sql = format!(
        "ALTER DATABASE {} RENAME TO {}",
        quote_ident(from),
        quote_ident(to)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match admin.simple_query(&sql).await {
            Ok(_) => return Ok(true),
            // 42P04 when the name was taken before; 23505 (the catalog's
            // unique index) when another builder's rename commits during
            // ours.
            Err(e)
                if e.code() == Some(driver::SqlState::DUPLICATE_DATABASE)
                    || e.code() == Some(driver::SqlState::UNIQUE_VIOLATION) =>
            {
                return Ok(false)
            }
            Err(e)
                if e.code() == Some(driver::SqlState::OBJECT_IN_USE)
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(format!("renaming the template {from} to {to}: {e}")),
        }
    }
}

async fn drop_database(admin: &Connection, name: &str) -> Result<(), String> {
    // Two statements: a multi-statement Query is one transaction block,
    // which DROP DATABASE refuses. The first fails harmlessly (3D000) when
    // the database is gone already.
    let q = quote_ident(name);
    let _ = admin
        .simple_query(&format!("ALTER DATABASE {q} WITH IS_TEMPLATE false"))
        .await;
    admin
        .simple_query(&format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)"))
        .await
        .map(drop)
        .map_err(|e| format!("dropping {name}: {e}"))
}

/// The database transaction-mode tests share, cloned from `template` once
/// (they roll everything back, so it stays equal to its template), reused
/// by later runs. Returns its name. `CREATE DATABASE` is atomic: a racing
/// creator's 42P04 means it exists, complete.
pub(crate) async fn ensure_shared(admin: &Connection, template: &str) -> Result<String, String> {
    let name = template.replacen("tusk_tpl_", "tusk_tx_", 1);
    if known(&name) {
        return Ok(name);
    }
    let exists: Vec<driver::Row> = admin
        .query(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(|e| format!("looking up {name}: {e}"))?;
    if exists.is_empty() {
        match try_clone(admin, &name, template).await {
            Ok(()) => {}
            Err(e)
                if e.code() == Some(driver::SqlState::DUPLICATE_DATABASE)
                    || e.code() == Some(driver::SqlState::UNIQUE_VIOLATION) => {}
            Err(e) => return Err(format!("creating {name} from {template}: {e}")),
        }
    }
    remember(&name);
    Ok(name)
}

/// `CREATE DATABASE name TEMPLATE tpl`, retried while the server says the
/// template is in use (55006: the session that built it is still exiting;
/// the server itself waits 5 s, which a loaded machine can exceed).
pub(crate) async fn clone(conn: &Connection, name: &str, tpl: &str) -> Result<(), String> {
    try_clone(conn, name, tpl)
        .await
        .map_err(|e| format!("creating the test database from {tpl}: {e}"))
}

async fn try_clone(conn: &Connection, name: &str, tpl: &str) -> Result<(), driver::Error> {
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
            Err(e) => return Err(e),
        }
    }
}
