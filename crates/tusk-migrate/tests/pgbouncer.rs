//! Migrations through PgBouncer, as a non-superuser: the session lock is
//! refused where a pooler shares server sessions, and the transaction lock
//! works there, exactly once per migration with two deployers.

mod common;

use common::{cluster, database, dir, migrator_with, q, ROLE};
use tusk_migrate::{LockMode, MigrateError, Options};
use tusk_testkit::{PgBouncer, PoolMode, TestDb};

fn through(bouncer: &PgBouncer, db: &TestDb) -> tusk::Config {
    tusk::Config::parse(&format!(
        "postgresql://{ROLE}@127.0.0.1:{}/{}",
        bouncer.port(),
        db.name()
    ))
    .unwrap()
}

fn files() -> tempfile::TempDir {
    dir(&[
        (
            "0001_a.up.sql",
            "INSERT INTO runs VALUES (1); SELECT pg_sleep(0.3); CREATE TABLE a (id int);",
        ),
        (
            "0002_b.up.sql",
            "INSERT INTO runs VALUES (2); CREATE TABLE b (id int);",
        ),
        (
            "0003_c.up.sql",
            "INSERT INTO runs VALUES (3); SELECT pg_sleep(0.2);",
        ),
    ])
}

fn runs_table(db: &TestDb) {
    db.psql("CREATE TABLE runs (version int); GRANT INSERT ON runs TO tusk_migrator")
        .unwrap();
}

#[tokio::test]
async fn the_session_lock_is_refused_through_transaction_and_statement_pooling() {
    for mode in [PoolMode::Transaction, PoolMode::Statement] {
        let bouncer = PgBouncer::start_forwarding_user(cluster(), mode, &[ROLE]).unwrap();
        let db = database();
        runs_table(&db);
        let d = files();
        let (m, _) = migrator_with(d.path(), Options::default());
        let e = m.up(&through(&bouncer, &db)).await.unwrap_err();
        assert!(
            matches!(e, MigrateError::SessionNotPinned { .. }),
            "{mode:?}: {e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("--lock transaction") && text.contains("directly"),
            "{text}"
        );
        // Nothing ran, nothing was created, no lock was left on a pooled backend.
        assert_eq!(q(&db, "SELECT count(*) FROM runs"), "0");
        assert_eq!(q(&db, "SELECT to_regclass('tusk_migrations') IS NULL"), "t");
        assert_eq!(
            q(
                &db,
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                 WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            ),
            "0"
        );
    }
}

#[tokio::test]
async fn the_transaction_lock_works_through_transaction_pooling_exactly_once() {
    let bouncer =
        PgBouncer::start_forwarding_user(cluster(), PoolMode::Transaction, &[ROLE]).unwrap();
    let db = database();
    runs_table(&db);
    let d = files();
    let opts = Options {
        lock: LockMode::Transaction,
        ..Options::default()
    };
    let (m1, _) = migrator_with(d.path(), opts.clone());
    let (m2, _) = migrator_with(d.path(), opts.clone());
    let (c1, c2) = (through(&bouncer, &db), through(&bouncer, &db));
    let (r1, r2) = tokio::join!(m1.up(&c1), m2.up(&c2));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    let applied = r1.iter().chain(&r2).filter(|s| !s.skipped).count();
    assert_eq!(applied, 3, "{r1:?} {r2:?}");
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM runs"
        ),
        "1,2,3"
    );
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(applied_by, ',') FROM tusk_migrations"
        ),
        "tusk_migrator,tusk_migrator,tusk_migrator"
    );

    // A no-transaction migration cannot run under it: refused before anything runs.
    common::write(
        d.path(),
        &[(
            "0004_idx.up.sql",
            "-- tusk:no-transaction\nCREATE INDEX CONCURRENTLY ON a (id);",
        )],
    );
    let (m, _) = migrator_with(d.path(), opts);
    let e = m.up(&through(&bouncer, &db)).await.unwrap_err();
    assert!(
        matches!(e, MigrateError::NoTransactionUnderTransactionLock { .. }),
        "{e}"
    );
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "3");
}

#[tokio::test]
async fn the_session_lock_works_through_session_pooling() {
    let bouncer = PgBouncer::start_forwarding_user(cluster(), PoolMode::Session, &[ROLE]).unwrap();
    let db = database();
    runs_table(&db);
    let d = files();
    let (m, _) = migrator_with(d.path(), Options::default());
    assert_eq!(m.up(&through(&bouncer, &db)).await.unwrap().len(), 3);
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_migrations"), "3");
}
