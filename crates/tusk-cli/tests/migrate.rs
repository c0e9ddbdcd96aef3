//! `tusk migrate ..` and `tusk seed`, through the built binary, against a
//! real cluster, as a non-superuser role.

mod common;

use std::path::Path;

use tusk_testkit::{Cluster, PgBouncer, PoolMode, TestDb};

const ROLE: &str = "cli_migrator";

fn cluster() -> &'static Cluster {
    common::role_cluster(ROLE)
}

fn database() -> (TestDb, String) {
    common::role_database(ROLE)
}

/// `tusk <args>` with the migrations directory `dir`; (code, stdout, stderr).
fn tusk(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn q(db: &TestDb, sql: &str) -> String {
    db.psql(sql).unwrap().trim().to_string()
}

#[test]
fn new_up_status_redo_down_through_the_binary() {
    let (db, url) = database();
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = tusk(d.path(), &["migrate", "new", "create_users"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "migrations/0001_create_users.up.sql\nmigrations/0001_create_users.down.sql\n"
    );
    let m = d.path().join("migrations");
    std::fs::write(
        m.join("0001_create_users.up.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(m.join("0001_create_users.down.sql"), "DROP TABLE users;\n").unwrap();
    let (_, out, _) = tusk(
        d.path(),
        &["migrate", "new", "--no-transaction", "users_idx"],
    );
    assert!(out.starts_with("migrations/0002_users_idx.up.sql"), "{out}");
    std::fs::write(
        m.join("0002_users_idx.up.sql"),
        "-- tusk:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_id ON users (id);\n",
    )
    .unwrap();
    std::fs::write(
        m.join("0002_users_idx.down.sql"),
        "DROP INDEX IF EXISTS users_id;\n",
    )
    .unwrap();

    let (code, out, err) = tusk(d.path(), &["migrate", "up", "--dry-run", "--url", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "would apply 1 create_users (migrations/0001_create_users.up.sql, one transaction, 1 statement)\n\
         would apply 2 users_idx (migrations/0002_users_idx.up.sql, no transaction, 1 statement)\n"
    );
    assert_eq!(q(&db, "SELECT to_regclass('tusk_migrations') IS NULL"), "t");
    let (code, out, _) = tusk(d.path(), &["migrate", "status", "--check", "--url", &url]);
    assert_eq!(code, 3, "pending migrations fail --check: {out}");

    let (code, out, err) = tusk(d.path(), &["migrate", "up", "--url", &url]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("applied 1 create_users (")
            && lines[1].starts_with("applied 2 users_idx ("),
        "{out}"
    );
    let (_, out, _) = tusk(d.path(), &["migrate", "up", "--url", &url]);
    assert_eq!(out, "nothing to do\n");

    let (code, out, _) = tusk(d.path(), &["migrate", "status", "--check", "--url", &url]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(" version |     name     |  state  |"),
        "{out}"
    );
    assert!(
        out.contains("cli_migrator") && out.ends_with("(2 rows)\n"),
        "{out}"
    );
    let (_, out, _) = tusk(d.path(), &["migrate", "status", "--json", "--url", &url]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[1]["state"], "applied");
    assert_eq!(rows[1]["no_transaction"], true);
    assert_eq!(rows[0]["applied"]["applied_by"], ROLE);

    let (code, out, err) = tusk(d.path(), &["migrate", "redo", "--url", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("reverted 2 users_idx (") && out.contains("\napplied 2 users_idx ("),
        "{out}"
    );
    let (code, out, _) = tusk(
        d.path(),
        &["migrate", "down", "--all", "--json", "--url", &url],
    );
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (rows[0]["version"].as_i64(), rows[1]["version"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "0");
    assert_eq!(q(&db, "SELECT to_regclass('users') IS NULL"), "t");
}

#[test]
fn a_failing_migration_exits_1_with_file_line_column_and_changes_nothing() {
    let (db, url) = database();
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("0001_ok.up.sql"), "CREATE TABLE a (id int);").unwrap();
    std::fs::write(
        m.join("0002_bad.up.sql"),
        "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELEC 1;\n",
    )
    .unwrap();
    let (code, out, err) = tusk(d.path(), &["migrate", "up", "--url", &url]);
    assert_eq!(code, 1);
    assert!(out.starts_with("applied 1 ok ("), "{out}");
    assert!(
        err.starts_with(
            "tusk: migrations/0002_bad.up.sql:3:1: ERROR 42601: syntax error at or near \"SELEC\""
        ),
        "{err}"
    );
    assert!(
        err.contains("in statement 3 of 3:\n     3 | SELEC 1;\n       | ^\n"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(
        q(
            &db,
            "SELECT to_regclass('b') IS NULL, (SELECT count(*) FROM tusk_migrations)"
        ),
        "t|1"
    );
}

#[test]
fn a_changed_checksum_exits_1_until_repair() {
    let (_db, url) = database();
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("0001_a.up.sql"), "CREATE TABLE a (id int);").unwrap();
    assert_eq!(tusk(d.path(), &["migrate", "up", "--url", &url]).0, 0);
    std::fs::write(
        m.join("0001_a.up.sql"),
        "-- the table a\nCREATE TABLE a (id int);",
    )
    .unwrap();
    let (code, _, err) = tusk(d.path(), &["migrate", "up", "--url", &url]);
    assert_eq!(code, 1);
    assert!(
        err.contains("changed since they were applied") && err.contains("tusk migrate repair"),
        "{err}"
    );
    let (code, out, _) = tusk(d.path(), &["migrate", "status", "--check", "--url", &url]);
    assert_eq!(code, 3, "--check fails on a changed migration");
    assert!(out.contains("CHANGED (run repair?)"), "{out}");
    let (code, out, _) = tusk(d.path(), &["migrate", "repair", "--dry-run", "--url", &url]);
    assert!(
        code == 0 && out.starts_with("would repair 1 a: checksum "),
        "{out}"
    );
    let (code, out, _) = tusk(d.path(), &["migrate", "repair", "--url", &url]);
    assert!(
        code == 0 && out.starts_with("repaired 1 a: checksum "),
        "{out}"
    );
    assert_eq!(
        tusk(d.path(), &["migrate", "up", "--url", &url]),
        (0, "nothing to do\n".into(), String::new())
    );
}

#[test]
fn two_deployers_at_once_apply_each_migration_once() {
    let (db, url) = database();
    db.psql(&format!(
        "CREATE TABLE runs (v int); GRANT INSERT ON runs TO {ROLE}"
    ))
    .unwrap();
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    for v in 1..=3 {
        std::fs::write(
            m.join(format!("000{v}_m{v}.up.sql")),
            format!("INSERT INTO runs VALUES ({v}); SELECT pg_sleep(0.3);"),
        )
        .unwrap();
    }
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tusk"))
            .args(["migrate", "up", "--url", &url])
            .current_dir(d.path())
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    let outs = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    assert_eq!(outs.matches("applied ").count(), 3, "{outs}");
    assert_eq!(
        q(&db, "SELECT string_agg(v::text, ',' ORDER BY v) FROM runs"),
        "1,2,3"
    );
    let errs = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert!(
        errs.contains("waiting for the migration lock") && errs.contains("held by pid"),
        "{errs}"
    );
}

#[test]
fn through_pgbouncer_in_transaction_mode_the_lock_is_refused_or_per_transaction() {
    let bouncer =
        PgBouncer::start_forwarding_user(cluster(), PoolMode::Transaction, &[ROLE]).unwrap();
    let (db, _) = database();
    let url = format!(
        "postgresql://{ROLE}@127.0.0.1:{}/{}",
        bouncer.port(),
        db.name()
    );
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("0001_a.up.sql"), "CREATE TABLE a (id int);").unwrap();
    let (code, _, err) = tusk(d.path(), &["migrate", "up", "--url", &url]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the migration lock cannot be held") && err.contains("--lock transaction"),
        "{err}"
    );
    let (code, out, err) = tusk(
        d.path(),
        &["migrate", "up", "--lock", "transaction", "--url", &url],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("applied 1 a ("), "{out}");
}

#[test]
fn lint_reports_hazards_with_rule_ids_and_exit_code_1() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(
        m.join("0001_t.up.sql"),
        "CREATE TABLE t (id int, email text);\nCREATE INDEX t_email ON t (email);\n",
    )
    .unwrap();
    std::fs::write(
        m.join("0002_hazards.up.sql"),
        "CREATE INDEX t_id ON t (id);\n-- tusk:lint-ignore rename-column\nALTER TABLE t RENAME COLUMN email TO mail;\nALTER TABLE t ADD CONSTRAINT c CHECK (id > 0);\n",
    )
    .unwrap();
    let (code, out, _) = tusk(d.path(), &["migrate", "lint"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("migrations/0002_hazards.up.sql:1:1: index-not-concurrent: CREATE INDEX on existing table `t` without CONCURRENTLY\n  help: "), "{out}");
    assert!(
        out.contains("migrations/0002_hazards.up.sql:4:15: constraint-not-valid:"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "2 findings (suppress one with `-- tusk:lint-ignore RULE` before its statement)\n"
        ),
        "{out}"
    );
    let (code, out, _) = tusk(d.path(), &["migrate", "lint", "--json"]);
    assert_eq!(code, 1);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["rule"], "constraint-not-valid");
    assert_eq!(rows[1]["line"], 4);
    let (code, out, _) = tusk(d.path(), &["migrate", "lint", "migrations/0001_t.up.sql"]);
    assert_eq!((code, out.as_str()), (0, "0 findings\n"));
    let (code, out, _) = tusk(d.path(), &["migrate", "lint", "--rules"]);
    assert!(code == 0 && out.contains("set-not-null: "), "{out}");
}

#[test]
fn seed_applies_each_file_once() {
    let (db, url) = database();
    db.psql(&format!(
        "CREATE TABLE colors (name text); GRANT INSERT ON colors TO {ROLE}"
    ))
    .unwrap();
    let d = tempfile::tempdir().unwrap();
    let s = d.path().join("seeds");
    std::fs::create_dir(&s).unwrap();
    std::fs::write(s.join("01_red.sql"), "INSERT INTO colors VALUES ('red');").unwrap();
    std::fs::write(s.join("02_blue.sql"), "INSERT INTO colors VALUES ('blue');").unwrap();
    let (code, out, _) = tusk(d.path(), &["seed", "--dry-run", "--url", &url]);
    assert_eq!(
        (code, out.as_str()),
        (0, "would seed 01_red.sql\nwould seed 02_blue.sql\n")
    );
    let (code, out, err) = tusk(d.path(), &["seed", "--url", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("seeded 01_red.sql (") && out.contains("\nseeded 02_blue.sql ("),
        "{out}"
    );
    let (_, out, _) = tusk(d.path(), &["seed", "--url", &url]);
    assert_eq!(out, "nothing to seed (2 already applied)\n");
    std::fs::write(
        s.join("01_red.sql"),
        "INSERT INTO colors VALUES ('crimson');",
    )
    .unwrap();
    let (code, _, err) = tusk(d.path(), &["seed", "--url", &url]);
    assert_eq!(code, 0);
    assert!(
        err.contains("seed 01_red.sql changed since it was applied"),
        "{err}"
    );
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(name, ',' ORDER BY name) FROM colors"
        ),
        "blue,red"
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = tusk(d.path(), &["migrate", "lint"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("tusk: migrations: no such directory"),
        "{err}"
    );
    let (code, _, err) = tusk(d.path(), &["migrate", "new", "no spaces"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a migration name"), "{err}");
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("init.sql"), "SELECT 1").unwrap();
    let (code, _, err) = tusk(d.path(), &["migrate", "lint"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("migrations/init.sql: expected NNNN_name.up.sql"),
        "{err}"
    );
    let (code, _, err) = tusk(
        d.path(),
        &[
            "migrate",
            "up",
            "--lock-wait",
            "soon",
            "--url",
            "postgresql://x@127.0.0.1:1/x",
        ],
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_killed_deployer_leaves_no_statement_running() {
    let (db, url) = database();
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(
        m.join("0001_long.up.sql"),
        "CREATE TABLE held (id int);\nSELECT pg_sleep(60);",
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["migrate", "up", "--url", &url])
        .current_dir(d.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'";
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
        while q(&db, running) != want {
            assert!(
                std::time::Instant::now() < deadline,
                "pg_sleep count never became {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for("1");
    child.kill().unwrap();
    child.wait().unwrap();
    // The server notices within client_connection_check_interval and stops it.
    wait_for("0");
    assert_eq!(
        q(
            &db,
            "SELECT to_regclass('held') IS NULL, (SELECT count(*) FROM tusk_migrations)"
        ),
        "t|0"
    );
    std::fs::write(m.join("0001_long.up.sql"), "CREATE TABLE held (id int);").unwrap();
    let (code, out, err) = tusk(
        d.path(),
        &["migrate", "up", "--lock-wait", "5s", "--url", &url],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("applied 1 long ("), "{out}");
}

#[test]
fn a_lite_url_is_refused_with_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_t.up.sql"),
        "CREATE TABLE t (id int);\n",
    )
    .unwrap();
    for args in [
        &["migrate", "up", "--url", "lite:memory"][..],
        &["migrate", "status", "--url", "lite:///tmp/x"][..],
        &["seed", "--url", "lite:memory"][..],
    ] {
        let (code, out, err) = tusk(dir.path(), args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(err.contains("do not run on tusk-lite"), "{err}");
        assert!(err.contains("advisory lock"), "{err}");
    }
}
