//! Wire smoke tests with the real clients of other ecosystems against a
//! tusk-lite server on TCP: sqlx (Rust), psycopg 3 (Python), node-postgres
//! and pgjdbc. Each one connects, creates a table, inserts, updates,
//! deletes and selects with parameters, reuses a server-side prepared
//! statement, commits and rolls back a transaction, and checks that a
//! duplicate key fails with SQLSTATE 23505. (psql, pgbench, tusk and
//! tokio-postgres have theirs in clients.rs and pgbench.rs.) The clients
//! come from scripts/setup: psycopg into python/.venv, node-postgres into
//! tests/clients/node, pgjdbc from Debian's libpostgresql-jdbc-java.

use std::path::{Path, PathBuf};
use std::process::Command;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// A fresh in-memory database served on a free loopback port.
fn server() -> u16 {
    let db = tusk_lite::Database::open_in_memory();
    tusk_lite::serve(&db, "127.0.0.1:0")
        .expect("listening")
        .port()
}

fn check(what: &str, out: std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{what} ok")),
        "{what} did not finish"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_smoke() {
    use sqlx::{Connection, Executor, Row};
    let port = server();
    let mut c = sqlx::PgConnection::connect(&format!("postgres://app@127.0.0.1:{port}/app"))
        .await
        .expect("connect");
    c.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int)")
        .await
        .expect("create");
    sqlx::query("INSERT INTO items VALUES ($1, $2, $3), ($4, $5, $6)")
        .bind(1i32)
        .bind("a")
        .bind(10i32)
        .bind(2i32)
        .bind("b")
        .bind(20i32)
        .execute(&mut c)
        .await
        .expect("insert");
    let done = sqlx::query("UPDATE items SET qty = qty + $1 WHERE id = $2")
        .bind(5i32)
        .bind(1i32)
        .execute(&mut c)
        .await
        .expect("update");
    assert_eq!(done.rows_affected(), 1);
    sqlx::query("DELETE FROM items WHERE id = $1")
        .bind(2i32)
        .execute(&mut c)
        .await
        .expect("delete");
    // sqlx prepares (and caches) every parameterized query: run it twice.
    for (id, want) in [(1i32, Some(("a", 15i32))), (2, None)] {
        let row = sqlx::query("SELECT name, qty FROM items WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut c)
            .await
            .expect("select");
        let got = row.map(|r| (r.get::<String, _>(0), r.get::<i32, _>(1)));
        assert_eq!(got, want.map(|(n, q)| (n.to_string(), q)));
    }
    let mut tx = c.begin().await.expect("begin");
    sqlx::query("INSERT INTO items VALUES (3, 'c', 30)")
        .execute(&mut *tx)
        .await
        .expect("insert in tx");
    tx.rollback().await.expect("rollback");
    let mut tx = c.begin().await.expect("begin");
    sqlx::query("INSERT INTO items VALUES (4, 'd', 40)")
        .execute(&mut *tx)
        .await
        .expect("insert in tx");
    tx.commit().await.expect("commit");
    let ids: Vec<i32> = sqlx::query_scalar("SELECT id FROM items ORDER BY id")
        .fetch_all(&mut c)
        .await
        .expect("ids");
    assert_eq!(ids, [1, 4]);
    let e = sqlx::query("INSERT INTO items VALUES ($1, 'dup', 0)")
        .bind(1i32)
        .execute(&mut c)
        .await
        .unwrap_err();
    let db = e.as_database_error().expect("a database error");
    assert_eq!(db.code().as_deref(), Some("23505"), "{db}");
    assert_eq!(db.constraint(), Some("items_pkey"));
}

#[test]
fn psycopg_smoke() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it installs psycopg there)",
        python.display()
    );
    let port = server();
    let out = Command::new(&python)
        .arg(clients_dir().join("smoke.py"))
        .env("PGPORT", port.to_string())
        .output()
        .expect("python runs");
    check("psycopg", out);
}

#[test]
fn node_postgres_smoke() {
    let dir = clients_dir().join("node");
    assert!(
        dir.join("node_modules/pg").exists(),
        "node-postgres is missing: run scripts/setup (npm ci in {})",
        dir.display()
    );
    let port = server();
    let out = Command::new("node")
        .arg(dir.join("smoke.js"))
        .env("PGPORT", port.to_string())
        .output()
        .expect("node runs (scripts/setup installs nodejs)");
    check("node-postgres", out);
}

#[test]
fn pgjdbc_smoke() {
    let jar = Path::new("/usr/share/java/postgresql.jar");
    assert!(
        jar.exists(),
        "pgjdbc is missing: run scripts/setup (libpostgresql-jdbc-java)"
    );
    let build = std::env::temp_dir().join(format!("tusk-lite-jdbc-{}", std::process::id()));
    std::fs::create_dir_all(&build).expect("build dir");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&build)
        .arg(clients_dir().join("Smoke.java"))
        .output()
        .expect("javac runs (scripts/setup installs a JDK)");
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let port = server();
    let cp = format!("{}:{}", build.display(), jar.display());
    let out = Command::new("java")
        .args(["-cp", &cp, "Smoke", &port.to_string()])
        .output()
        .expect("java runs");
    let _ = std::fs::remove_dir_all(&build);
    check("pgjdbc", out);
}

/// pgjdbc's DatabaseMetaData calls whose rows from tusk-lite still
/// differ from PostgreSQL's, and why. The test fails when one of them
/// starts to match (so the list stays honest) as well as when any other
/// call differs.
const JDBC_METADATA_GAPS: &[(&str, &str)] = &[
    (
        "getColumns",
        "pgjdbc numbers the columns with row_number() OVER (PARTITION BY attrelid ORDER BY attnum): \
         window functions are 0A000 in tusk-lite",
    ),
    (
        "getPrimaryKeys",
        "pgjdbc expands pg_index.indkey with information_schema._pg_expandarray, a function \
         returning a composite (x, n): tusk-lite has no composite types",
    ),
    (
        "getImportedKeys",
        "pgjdbc reads max_index_keys from pg_settings (for generate_series over \
         pg_constraint.conkey/confkey, which tusk-lite now has): pg_settings is 0A000",
    ),
    ("getExportedKeys", "the same query as getImportedKeys"),
];

/// pgjdbc's DatabaseMetaData (getTables of tables and of every kind,
/// getSchemas, getColumns, getPrimaryKeys, getImportedKeys,
/// getExportedKeys) returns the same rows from
/// tusk-lite as from PostgreSQL 15 for the same schema (Metadata.java
/// compares every column), but for [`JDBC_METADATA_GAPS`]. tusk-lite is
/// reached under the PostgreSQL test database's name, so TABLE_CAT
/// agrees.
#[test]
fn pgjdbc_metadata_matches_postgres() {
    let jar = Path::new("/usr/share/java/postgresql.jar");
    assert!(
        jar.exists(),
        "pgjdbc is missing: run scripts/setup (libpostgresql-jdbc-java)"
    );
    let build = std::env::temp_dir().join(format!("tusk-lite-jdbc-md-{}", std::process::id()));
    std::fs::create_dir_all(&build).expect("build dir");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&build)
        .arg(clients_dir().join("Metadata.java"))
        .output()
        .expect("javac runs (scripts/setup installs a JDK)");
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let pg = tusk_testkit::db();
    let url = |port: u16| {
        format!(
            "jdbc:postgresql://127.0.0.1:{port}/{}?user=postgres",
            pg.name()
        )
    };
    let cp = format!("{}:{}", build.display(), jar.display());
    let out = Command::new("java")
        .args(["-cp", &cp, "Metadata", &url(pg.port()), &url(server())])
        .output()
        .expect("java runs");
    let _ = std::fs::remove_dir_all(&build);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("pgjdbc metadata "),
        "Metadata.java failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let differing: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once(" differs").map(|(call, _)| call))
        .collect();
    let known: Vec<&str> = JDBC_METADATA_GAPS.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        differing, known,
        "calls that differ vs known gaps:\n{stdout}"
    );
}
