//! Migrations against a real PostgreSQL, as a non-superuser role.

mod common;

use std::time::Duration;

use common::{config, database, dir, migrator, migrator_with, q, write};
use tusk_migrate::{LockMode, MigrateError, Options, State};

const M1: (&str, &str) = (
    "0001_users.up.sql",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
);
const M1_DOWN: (&str, &str) = ("0001_users.down.sql", "DROP TABLE users;\n");
const M2: (&str, &str) = (
    "0002_posts.up.sql",
    "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n\
     INSERT INTO users VALUES (1, 'a@example.com');\n",
);
const M2_DOWN: (&str, &str) = (
    "0002_posts.down.sql",
    "DROP TABLE posts;\nDELETE FROM users WHERE id = 1;\n",
);

#[tokio::test]
async fn up_applies_in_order_once_and_records_history() {
    let db = database();
    let d = dir(&[M1, M1_DOWN, M2, M2_DOWN]);
    let (m, events) = migrator(d.path());
    let done = m.up(&config(&db)).await.unwrap();
    let versions: Vec<i64> = done.iter().map(|s| s.version).collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(
        q(&db, "SELECT version, name, applied_by, length(checksum), duration_ms >= 0, applied_at <= now() FROM tusk_migrations ORDER BY 1"),
        "1|users|tusk_migrator|64|t|t\n2|posts|tusk_migrator|64|t|t"
    );
    assert_eq!(q(&db, "SELECT count(*) FROM users"), "1");
    assert_eq!(
        q(
            &db,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'posts'"
        ),
        "tusk_migrator"
    );
    // Again: nothing to do.
    assert!(m.up(&config(&db)).await.unwrap().is_empty());
    let status = m.status(&config(&db)).await.unwrap();
    assert!(status.iter().all(|s| s.state == State::Applied));
    let ev = events.lock().unwrap().join("\n");
    assert!(ev.contains("Started { action: \"up\", version: 1"), "{ev}");
    assert!(ev.contains("Finished { action: \"up\", version: 2"), "{ev}");
}

#[tokio::test]
async fn a_syntax_error_rolls_back_and_points_at_the_file_line_and_column() {
    let db = database();
    let d = dir(&[
        M1,
        (
            "0002_bad.up.sql",
            "-- a comment\nCREATE TABLE ok_part (id int);\n\nCREATE TABLE broken (id int,\n    name txet NOT NULL);\n",
        ),
    ]);
    let (m, _) = migrator(d.path());
    let e = m.up(&config(&db)).await.unwrap_err();
    let MigrateError::Statement(s) = &e else {
        panic!("{e}")
    };
    assert!(s.file.ends_with("0002_bad.up.sql"), "{}", s.file);
    // The server's position (the unknown type) mapped into the file.
    assert_eq!((s.line, s.column, s.index, s.count), (5, 10, 2, 2));
    assert_eq!(s.source.code(), Some(tusk::SqlState::UNDEFINED_OBJECT));
    let text = e.to_string();
    assert!(
        text.contains("0002_bad.up.sql:5:10: ERROR 42704: type \"txet\" does not exist"),
        "{text}"
    );
    assert!(
        text.contains("    5 |     name txet NOT NULL);\n       |          ^"),
        "{text}"
    );
    assert!(text.contains("rolled back"), "{text}");
    assert!(
        !text.contains("POSITION"),
        "line:column replaces the raw position: {text}"
    );
    // Migration 1 stays; nothing of migration 2 does.
    assert_eq!(
        q(&db, "SELECT array_agg(version) FROM tusk_migrations"),
        "{1}"
    );
    assert_eq!(q(&db, "SELECT to_regclass('ok_part') IS NULL"), "t");

    // A runtime error without a position points at the statement.
    let d2 = dir(&[("0001_div.up.sql", "SELECT 1;\n  SELECT 1/0;")]);
    let db2 = database();
    let (m2, _) = migrator(d2.path());
    let e = m2.up(&config(&db2)).await.unwrap_err();
    assert!(
        e.to_string().contains("0001_div.up.sql:2:3: ERROR 22012"),
        "{e}"
    );
    assert_eq!(q(&db2, "SELECT count(*) FROM tusk_migrations"), "0");
}

#[tokio::test]
async fn concurrent_ups_apply_each_migration_exactly_once() {
    let db = database();
    db.psql("CREATE TABLE runs (version int); GRANT INSERT ON runs TO tusk_migrator")
        .unwrap();
    let d = dir(&[
        (
            "0001_a.up.sql",
            "INSERT INTO runs VALUES (1); SELECT pg_sleep(0.5); CREATE TABLE a (id int);",
        ),
        (
            "0002_b.up.sql",
            "INSERT INTO runs VALUES (2); CREATE TABLE b (id int);",
        ),
        (
            "0003_c.up.sql",
            "INSERT INTO runs VALUES (3); SELECT pg_sleep(0.3); CREATE TABLE c (id int);",
        ),
    ]);
    let (m1, ev1) = migrator(d.path());
    let (m2, ev2) = migrator(d.path());
    let (c1, c2) = (config(&db), config(&db));
    let (r1, r2) = tokio::join!(m1.up(&c1), m2.up(&c2));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    // One did the work; the other waited for the lock and found nothing to do.
    assert_eq!(r1.len() + r2.len(), 3, "{r1:?} {r2:?}");
    assert!(r1.is_empty() || r2.is_empty(), "{r1:?} {r2:?}");
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM runs"
        ),
        "1,2,3"
    );
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "3");
    let waited = if r1.is_empty() { ev1 } else { ev2 };
    let waited = waited.lock().unwrap().join("\n");
    assert!(
        waited.contains("WaitingForLock { holder: Some(\"pid "),
        "{waited}"
    );
    assert!(
        waited.contains("user tusk_migrator, application tusk-migrate, "),
        "{waited}"
    );
}

#[tokio::test]
async fn a_deployer_that_waits_too_long_gives_up_and_names_the_holder() {
    let db = database();
    let d = dir(&[("0001_slow.up.sql", "SELECT pg_sleep(1.5);")]);
    let (slow, _) = migrator(d.path());
    let opts = Options {
        lock_wait: Some(Duration::from_millis(300)),
        ..Options::default()
    };
    let (impatient, _) = migrator_with(d.path(), opts);
    let c = config(&db);
    let first = slow.up(&c);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        impatient.up(&c).await
    };
    let (a, b) = tokio::join!(first, second);
    assert_eq!(a.unwrap().len(), 1);
    let e = b.unwrap_err();
    assert!(matches!(e, MigrateError::LockTimeout { .. }), "{e}");
    assert!(e.to_string().contains("held by pid "), "{e}");
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "1");
}

#[tokio::test]
async fn no_transaction_is_required_for_concurrently_and_works_with_it() {
    let db = database();
    let d = dir(&[
        M1,
        (
            "0002_idx.up.sql",
            "CREATE INDEX CONCURRENTLY users_email ON users (email);",
        ),
    ]);
    let e = tusk_migrate::Migrations::from_dir(d.path()).unwrap_err();
    assert!(
        matches!(
            e,
            MigrateError::BadScript {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("-- tusk:no-transaction"), "{e}");

    write(
        d.path(),
        &[(
            "0002_idx.up.sql",
            "-- tusk:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n\
             CREATE INDEX CONCURRENTLY IF NOT EXISTS users_id_email ON users (id, email);\n",
        )],
    );
    let (m, _) = migrator(d.path());
    let plan = m.plan_up(&config(&db), None).await.unwrap();
    assert!(plan[1].no_transaction && plan[1].statements == 2);
    m.up(&config(&db)).await.unwrap();
    assert_eq!(
        q(&db, "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid::regclass::text IN ('users_email', 'users_id_email')"),
        "2"
    );
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "2");
}

#[tokio::test]
async fn a_failing_no_transaction_script_says_what_stayed_applied() {
    let db = database();
    let d = dir(&[(
        "0001_idx.up.sql",
        "-- tusk:no-transaction\nCREATE TABLE t (x int);\nCREATE INDEX CONCURRENTLY i ON nope (x);\n",
    )]);
    let (m, _) = migrator(d.path());
    let e = m.up(&config(&db)).await.unwrap_err().to_string();
    assert!(e.contains("0001_idx.up.sql:3:1: ERROR 42P01"), "{e}");
    assert!(e.contains("first 1 statement(s) stay applied"), "{e}");
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "0");
}

#[tokio::test]
async fn a_changed_checksum_refuses_to_run_until_repair() {
    let db = database();
    let d = dir(&[M1]);
    let (m, _) = migrator(d.path());
    m.up(&config(&db)).await.unwrap();

    // Line endings and trailing spaces do not count.
    write(
        d.path(),
        &[(
            "0001_users.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);  \r\n\r\n",
        )],
    );
    let (m, _) = migrator(d.path());
    assert!(m.up(&config(&db)).await.unwrap().is_empty());

    // An edit does, and blocks everything, new migrations included.
    write(
        d.path(),
        &[
            (
                "0001_users.up.sql",
                "-- reviewed\nCREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
            ),
            M2,
        ],
    );
    let (m, _) = migrator(d.path());
    let e = m.up(&config(&db)).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::ChecksumMismatch(ref c) if c[0].version == 1),
        "{e}"
    );
    assert!(e.to_string().contains("tusk migrate repair"), "{e}");
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "1");
    assert_eq!(
        m.status(&config(&db)).await.unwrap()[0].state,
        State::Changed
    );

    let dry = m.repair(&config(&db), true).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert!(
        m.up(&config(&db)).await.is_err(),
        "a dry run changes nothing"
    );
    let fixed = m.repair(&config(&db), false).await.unwrap();
    assert_eq!(fixed[0].version, 1);
    assert_eq!(m.up(&config(&db)).await.unwrap().len(), 1);
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "2");
}

#[tokio::test]
async fn out_of_order_versions_are_refused_unless_allowed() {
    let db = database();
    let d = dir(&[M1, ("0003_c.up.sql", "CREATE TABLE c (id int);")]);
    let (m, _) = migrator(d.path());
    m.up(&config(&db)).await.unwrap();
    write(d.path(), &[("0002_b.up.sql", "CREATE TABLE b (id int);")]);
    let (m, _) = migrator(d.path());
    let e = m.up(&config(&db)).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::OutOfOrder { latest: 3, .. }),
        "{e}"
    );
    assert_eq!(q(&db, "SELECT to_regclass('b') IS NULL"), "t");
    let opts = Options {
        allow_out_of_order: true,
        ..Options::default()
    };
    let (m, _) = migrator_with(d.path(), opts);
    assert_eq!(m.up(&config(&db)).await.unwrap()[0].version, 2);
}

#[tokio::test]
async fn down_redo_and_their_plans() {
    let db = database();
    let d = dir(&[M1, M1_DOWN, M2, M2_DOWN]);
    let (m, _) = migrator(d.path());
    m.up(&config(&db)).await.unwrap();

    let plan = m.plan_redo(&config(&db), 1).await.unwrap();
    let p: Vec<(&str, i64)> = plan.iter().map(|s| (s.action, s.version)).collect();
    assert_eq!(p, [("down", 2), ("up", 2)]);
    let redone = m.redo(&config(&db), 1).await.unwrap();
    assert_eq!(redone.len(), 2);
    assert_eq!(q(&db, "SELECT count(*) FROM users"), "1");

    let plan = m.plan_down(&config(&db), 1, Some(0)).await.unwrap();
    assert_eq!(plan.len(), 2);
    assert_eq!(
        q(&db, "SELECT count(*) FROM tusk_migrations"),
        "2",
        "plans change nothing"
    );
    let done = m.down(&config(&db), 1, None).await.unwrap();
    assert_eq!(done[0].version, 2);
    assert_eq!(
        q(
            &db,
            "SELECT to_regclass('posts') IS NULL, (SELECT count(*) FROM users)"
        ),
        "t|0"
    );
    assert_eq!(
        q(&db, "SELECT array_agg(version) FROM tusk_migrations"),
        "{1}"
    );
    m.down(&config(&db), 1, None).await.unwrap();
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "0");

    // No down script: refused, nothing reverted.
    let d = dir(&[M1]);
    let (m, _) = migrator(d.path());
    m.up(&config(&db)).await.unwrap();
    let e = m.down(&config(&db), 1, None).await.unwrap_err();
    assert!(matches!(e, MigrateError::NoDown { version: 1, .. }), "{e}");
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "1");
}

#[tokio::test]
async fn a_dry_run_on_a_fresh_database_creates_nothing() {
    let db = database();
    let d = dir(&[M1, M2]);
    let (m, _) = migrator(d.path());
    let plan = m.plan_up(&config(&db), Some(1)).await.unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(q(&db, "SELECT to_regclass('tusk_migrations') IS NULL"), "t");
    let status = m.status(&config(&db)).await.unwrap();
    assert!(status.iter().all(|s| s.state == State::Pending));
}

#[tokio::test]
async fn lock_timeout_stops_a_migration_stuck_behind_a_lock() {
    let db = database();
    db.psql("CREATE TABLE busy (id int); ALTER TABLE busy OWNER TO tusk_migrator")
        .unwrap();
    let holder = tusk::connect(&db.url()).await.unwrap();
    tusk::Executor::execute_script(&holder, "BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let d = dir(&[("0001_alter.up.sql", "ALTER TABLE busy ADD COLUMN x int;")]);
    let opts = Options {
        lock_timeout: Some(Duration::from_millis(200)),
        lock_retries: 0,
        ..Options::default()
    };
    let (m, _) = migrator_with(d.path(), opts);
    let started = std::time::Instant::now();
    let e = m.up(&config(&db)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        e.db_error().and_then(|e| e.code()),
        Some(tusk::SqlState::LOCK_NOT_AVAILABLE),
        "{e}"
    );
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "0");
    drop(holder);
}

#[tokio::test]
async fn the_history_lives_in_a_configurable_schema() {
    let db = database();
    let d = dir(&[M1]);
    let opts = Options {
        schema: "deploy".into(),
        table: "history".into(),
        ..Options::default()
    };
    let (m, _) = migrator_with(d.path(), opts);
    m.up(&config(&db)).await.unwrap();
    assert_eq!(q(&db, "SELECT version FROM deploy.history"), "1");
    assert_eq!(
        q(&db, "SELECT to_regclass('public.tusk_migrations') IS NULL"),
        "t"
    );
}

#[tokio::test]
async fn a_least_privilege_deployer_uses_an_existing_history_table() {
    let db = database();
    let d = dir(&[M1]);
    let (m, _) = migrator(d.path());
    m.up(&config(&db)).await.unwrap();
    // The table exists; the deployer loses CREATE and keeps DML on it.
    db.psql(
        "ALTER TABLE tusk_migrations OWNER TO postgres; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON tusk_migrations TO tusk_migrator; \
         REVOKE CREATE ON SCHEMA public FROM tusk_migrator",
    )
    .unwrap();
    write(d.path(), &[("0002_noop.up.sql", "SELECT 1;")]);
    let (m, _) = migrator(d.path());
    assert_eq!(m.up(&config(&db)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn transaction_control_in_a_transactional_script_is_refused_before_running() {
    let d = dir(&[("0001_x.up.sql", "CREATE TABLE a (id int);\nCOMMIT;\n")]);
    let e = tusk_migrate::Migrations::from_dir(d.path()).unwrap_err();
    assert!(
        e.to_string()
            .contains("0001_x.up.sql:2:1: `COMMIT` manages the transaction"),
        "{e}"
    );
}

#[tokio::test]
async fn lock_mode_none_and_transaction_work_directly() {
    for mode in [LockMode::None, LockMode::Transaction] {
        let db = database();
        let d = dir(&[M1, M1_DOWN, M2, M2_DOWN]);
        let opts = Options {
            lock: mode,
            ..Options::default()
        };
        let (m, _) = migrator_with(d.path(), opts);
        assert_eq!(m.up(&config(&db)).await.unwrap().len(), 2, "{mode:?}");
        assert_eq!(
            m.down(&config(&db), 2, None).await.unwrap().len(),
            2,
            "{mode:?}"
        );
        assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "0");
    }
}

#[tokio::test]
async fn statement_timeout_applies_in_and_out_of_transactions_in_every_lock_mode() {
    for (mode, no_tx) in [
        (LockMode::Session, false),
        (LockMode::Session, true),
        (LockMode::None, true),
        (LockMode::Transaction, false),
    ] {
        let db = database();
        let head = if no_tx {
            "-- tusk:no-transaction\n"
        } else {
            ""
        };
        let d = dir(&[("0001_slow.up.sql", &format!("{head}SELECT pg_sleep(3);"))]);
        let opts = Options {
            lock: mode,
            statement_timeout: Some(Duration::from_millis(200)),
            ..Options::default()
        };
        let (m, _) = migrator_with(d.path(), opts);
        let e = m.up(&config(&db)).await.unwrap_err();
        assert_eq!(
            e.db_error().and_then(|e| e.code()),
            Some(tusk::SqlState::QUERY_CANCELED),
            "{mode:?} no_tx={no_tx}: {e}"
        );
        assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "0");
    }
}

#[tokio::test]
async fn a_migration_that_releases_the_lock_stops_the_run() {
    let db = database();
    let d = dir(&[
        (
            "0001_a.up.sql",
            "CREATE TABLE a (id int);\nSELECT pg_advisory_unlock_all();",
        ),
        ("0002_b.up.sql", "CREATE TABLE b (id int);"),
    ]);
    let (m, _) = migrator(d.path());
    let e = m.up(&config(&db)).await.unwrap_err();
    assert!(matches!(e, MigrateError::LockLost), "{e}");
    assert_eq!(
        q(&db, "SELECT array_agg(version) FROM tusk_migrations"),
        "{1}"
    );
    assert_eq!(q(&db, "SELECT to_regclass('b') IS NULL"), "t");
}

#[tokio::test]
async fn a_migration_whose_session_dies_records_nothing_and_can_run_again() {
    let db = database();
    db.psql("GRANT pg_signal_backend TO tusk_migrator").unwrap();
    let d = dir(&[(
        "0001_a.up.sql",
        "CREATE TABLE a (id int);\nSELECT pg_terminate_backend(pg_backend_pid());",
    )]);
    let (m, _) = migrator(d.path());
    let e = m.up(&config(&db)).await.unwrap_err();
    assert!(e.to_string().contains("0001_a.up.sql:2:1:"), "{e}");
    assert_eq!(
        q(
            &db,
            "SELECT to_regclass('a') IS NULL, (SELECT count(*) FROM tusk_migrations)"
        ),
        "t|0"
    );
    // The session's lock went with it: the next run is not blocked.
    write(d.path(), &[("0001_a.up.sql", "CREATE TABLE a (id int);")]);
    let (m, _) = migrator(d.path());
    assert_eq!(m.up(&config(&db)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_lock_timeout_is_retried_until_the_table_is_free() {
    let db = database();
    db.psql("CREATE TABLE busy (id int); ALTER TABLE busy OWNER TO tusk_migrator")
        .unwrap();
    let holder = tusk::connect(&db.url()).await.unwrap();
    tusk::Executor::execute_script(&holder, "BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let d = dir(&[("0001_alter.up.sql", "ALTER TABLE busy ADD COLUMN x int;")]);
    let opts = Options {
        lock_timeout: Some(Duration::from_millis(100)),
        lock_retries: 5,
        ..Options::default()
    };
    let (m, events) = migrator_with(d.path(), opts);
    let release = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        tusk::Executor::execute_script(&holder, "COMMIT")
            .await
            .unwrap();
    };
    let c = config(&db);
    let (r, ()) = tokio::join!(m.up(&c), release);
    assert_eq!(r.unwrap().len(), 1);
    let ev = events.lock().unwrap().join("\n");
    assert!(
        ev.contains("Retrying { version: 1, name: \"alter\", attempt: 1, of: 5"),
        "{ev}"
    );
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "1");
    assert_eq!(
        q(
            &db,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'"
        ),
        "2"
    );
}
