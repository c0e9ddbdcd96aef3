//! Around a test: the database dropped after a pass, kept after a
//! failure; transaction mode rolls back and catches a test that commits.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tusk::testing::{Harness, TestSpec};
use tusk::Executor;

use crate::database_exists;

fn migrations() -> Result<tusk::migrate::Migrations, tusk::migrate::MigrateError> {
    tusk::migrate!("tests/harness_migrations")
}

fn spec(name: &'static str, transaction: bool) -> TestSpec {
    TestSpec {
        name,
        migrations: Some(migrations),
        fixtures: &[],
        transaction,
    }
}

#[test]
fn a_passing_test_drops_its_database() {
    let h = Harness::setup(spec("lifecycle::pass", false));
    let name = h.database().to_owned();
    assert!(database_exists(&name));
    h.run_test(|h| {
        h.block_on(async {
            let pool = h.pool();
            pool.execute("INSERT INTO users (name) VALUES ('x')", &[])
                .await
                .unwrap();
        })
    });
    assert!(!database_exists(&name), "{name} should be gone");
}

#[test]
fn a_failing_test_keeps_its_database() {
    let h = Harness::setup(spec("lifecycle::fail", false));
    let name = h.database().to_owned();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        h.run_test(|h| {
            h.block_on(async {
                let conn = h.connect().await;
                conn.execute("INSERT INTO users (name) VALUES ('evidence')", &[])
                    .await
                    .unwrap();
                if !name.is_empty() {
                    panic!("on purpose");
                }
            })
        })
    }));
    assert!(outcome.is_err());
    assert!(database_exists(&name), "{name} should be kept");
    // The evidence is there to inspect.
    let url = tusk::testing::server_url().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = tusk::Config::parse(&url).unwrap();
        config.set_dbname(&name);
        let conn = tusk::connect_with(&config).await.unwrap();
        let n: String = conn
            .query_scalar("SELECT name FROM users", &[])
            .await
            .unwrap();
        assert_eq!(n, "evidence");
    });
}

#[test]
fn a_leak_names_where_the_connection_was_taken() {
    let h = Harness::setup(spec("lifecycle::leak", false));
    let name = h.database().to_owned();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        h.run_test(|h| {
            h.block_on(async {
                let pool = h.pool();
                let held = pool.acquire().await.unwrap();
                std::mem::forget(held);
            })
        })
    }));
    let message = *outcome.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("1 pooled connection(s) still checked out"),
        "{message}"
    );
    assert!(message.contains("lifecycle.rs:"), "{message}");
    assert!(database_exists(&name), "a failed test keeps {name}");
}

#[test]
fn a_connection_returned_late_is_not_a_leak() {
    // Returned by a task shortly after the test body ends: within the grace.
    let h = Harness::setup(spec("lifecycle::late", false));
    let name = h.database().to_owned();
    h.run_test(|h| {
        h.block_on(async {
            let pool = h.pool();
            let held = pool.acquire().await.unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                drop(held);
            });
        })
    });
    assert!(!database_exists(&name));
}

#[test]
fn transaction_mode_rolls_back() {
    let marker = format!("rolled-back-{}", std::process::id());
    let h = Harness::setup(spec("lifecycle::tx", true));
    let shared = h.database().to_owned();
    assert!(shared.starts_with("tusk_tx_"), "{shared}");
    let m = marker.clone();
    h.run_test(move |h| {
        h.block_on(async {
            let mut conn = h.connect().await;
            let tx = h.begin(&mut conn).await;
            tx.execute("INSERT INTO users (name) VALUES ($1)", &[&m])
                .await
                .unwrap();
            h.rollback(tx).await;
        })
    });
    // The shared database stays, without the row.
    let h = Harness::setup(spec("lifecycle::tx_check", true));
    assert_eq!(h.database(), shared);
    h.run_test(|h| {
        h.block_on(async {
            let conn = h.connect().await;
            let n: i64 = conn
                .query_scalar("SELECT count(*) FROM users WHERE name = $1", &[&marker])
                .await
                .unwrap();
            assert_eq!(n, 0);
        })
    });
}

#[test]
fn transaction_mode_catches_a_test_that_commits() {
    let h = Harness::setup(spec("lifecycle::commits", true));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        h.run_test(|h| {
            h.block_on(async {
                let conn = h.connect().await;
                h.begin_on(&conn).await;
                conn.simple_query("COMMIT").await.unwrap();
                h.rollback_on(&conn).await;
            })
        })
    }));
    let message = *outcome.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("ended the harness's transaction"),
        "{message}"
    );
}

#[test]
fn a_pool_in_transaction_mode_is_refused() {
    let h = Harness::setup(spec("lifecycle::tx_pool", true));
    let outcome = catch_unwind(AssertUnwindSafe(|| h.run_test(|h| drop(h.pool()))));
    let message = *outcome.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("not `tusk::Pool`"), "{message}");
}

#[test]
fn a_broken_migration_fails_setup_and_is_built_again_once_fixed() {
    fn broken() -> Result<tusk::migrate::Migrations, tusk::migrate::MigrateError> {
        tusk::migrate::Migrations::from_files([(
            "0001_broken.up.sql",
            "CREATE TABLE ok (id int); CREATE TABLE broken (id no_such_type);",
        )])
    }
    let outcome = catch_unwind(|| {
        Harness::setup(TestSpec {
            name: "lifecycle::broken",
            migrations: Some(broken),
            fixtures: &[],
            transaction: false,
        })
    });
    let message = *outcome.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("setup failed"), "{message}");
    assert!(message.contains("no_such_type"), "{message}");
    // The half-built template is not marked as one: the next setup with
    // the same migrations drops and rebuilds it (failing the same way),
    // never clones it.
    let again = catch_unwind(|| {
        Harness::setup(TestSpec {
            name: "lifecycle::broken_again",
            migrations: Some(broken),
            fixtures: &[],
            transaction: false,
        })
    });
    let message = *again.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("no_such_type"), "{message}");
}

#[test]
fn a_template_still_in_use_is_waited_for_not_failed_on() {
    fn migrations() -> Result<tusk::migrate::Migrations, tusk::migrate::MigrateError> {
        tusk::migrate::Migrations::from_files([(
            "0001_in_use.up.sql",
            "CREATE TABLE in_use (id int)",
        )])
    }
    let spec = TestSpec {
        name: "lifecycle::in_use",
        migrations: Some(migrations),
        fixtures: &[],
        transaction: false,
    };
    // Build the template once.
    Harness::setup(spec).run_test(|_| ());
    let fp = migrations().unwrap().fingerprint();
    // `tusk_tpl_<fingerprint>_<role hash>`.
    let prefix = format!("tusk_tpl_{}_", &fp[..24]);
    // A session on the template (as the builder's own can be, for a
    // moment, on a loaded machine), for longer than the server's own 5 s
    // wait in CREATE DATABASE.
    let url = tusk::testing::server_url().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let holder = rt.block_on(async {
        let admin = tusk::connect(&url).await.unwrap();
        let template: String = admin
            .query_scalar(
                "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
                &[&prefix],
            )
            .await
            .unwrap();
        admin
            .simple_query(&format!(
                "ALTER DATABASE \"{template}\" ALLOW_CONNECTIONS true"
            ))
            .await
            .unwrap();
        let mut config = tusk::Config::parse(&url).unwrap();
        config.set_dbname(&template);
        let holder = tusk::connect_with(&config).await.unwrap();
        admin
            .simple_query(&format!(
                "ALTER DATABASE \"{template}\" ALLOW_CONNECTIONS false"
            ))
            .await
            .unwrap();
        holder
    });
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(7));
        rt.block_on(async move {
            let _ = holder.close().await;
        });
    });
    let started = std::time::Instant::now();
    let h = Harness::setup(spec);
    assert!(started.elapsed() >= std::time::Duration::from_secs(5));
    h.run_test(|_| ());
    release.join().unwrap();
}

// ---- review (issue 16): a transaction-mode test that ends the harness's
// transaction and starts another commits to the shared database ----

/// Rows named `marker` in the shared database's users, seen from outside.
fn committed_rows(shared: &str, marker: &str) -> i64 {
    let url = tusk::testing::server_url().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut config = tusk::Config::parse(&url).unwrap();
        config.set_dbname(shared);
        let conn = tusk::connect_with(&config).await.unwrap();
        let n: i64 = conn
            .query_scalar("SELECT count(*) FROM users WHERE name = $1", &[&marker])
            .await
            .unwrap();
        // Leave the shared database as it was for the other tests.
        conn.execute("DELETE FROM users WHERE name = $1", &[&marker])
            .await
            .unwrap();
        n
    })
}

#[test]
fn transaction_mode_catches_commit_then_begin_on_a_connection() {
    let marker = format!("commit-begin-{}", std::process::id());
    let h = Harness::setup(spec("lifecycle::commit_begin", true));
    let shared = h.database().to_owned();
    let m = marker.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        h.run_test(move |h| {
            h.block_on(async {
                let conn = h.connect().await;
                h.begin_on(&conn).await;
                conn.simple_query("COMMIT").await.unwrap();
                conn.execute("INSERT INTO users (name) VALUES ($1)", &[&m])
                    .await
                    .unwrap();
                conn.simple_query("BEGIN").await.unwrap();
                h.rollback_on(&conn).await;
            })
        })
    }));
    let leaked = committed_rows(&shared, &marker);
    let message = match outcome {
        Ok(()) => String::from("the test passed"),
        Err(p) => *p.downcast::<String>().unwrap(),
    };
    assert!(
        message.contains("ended the harness's transaction"),
        "{message} ({leaked} row(s) committed to {shared})"
    );
}

#[test]
fn transaction_mode_catches_a_commit_through_the_transaction() {
    let marker = format!("tx-commit-{}", std::process::id());
    let h = Harness::setup(spec("lifecycle::tx_commit", true));
    let shared = h.database().to_owned();
    let m = marker.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        h.run_test(move |h| {
            h.block_on(async {
                let mut conn = h.connect().await;
                let tx = h.begin(&mut conn).await;
                tx.simple_query("COMMIT").await.unwrap();
                tx.execute("INSERT INTO users (name) VALUES ($1)", &[&m])
                    .await
                    .unwrap();
                h.rollback(tx).await;
            })
        })
    }));
    let leaked = committed_rows(&shared, &marker);
    let message = match outcome {
        Ok(()) => String::from("the test passed"),
        Err(p) => *p.downcast::<String>().unwrap(),
    };
    assert!(
        message.contains("ended the harness's transaction"),
        "{message} ({leaked} row(s) committed to {shared})"
    );
}

#[test]
fn a_test_that_panics_holding_a_pooled_connection_is_kept_and_reports_its_panic() {
    // A long test path with quotes and non-ASCII: the database name must
    // still fit in 63 bytes and be usable.
    const NAME: &str = "lifecycle::a_very_long_module_path::with::\"quotes\"::and::ünïcødé::\
                        and_a_test_name_far_longer_than_sixty_three_bytes_in_total_surely";
    let h = Harness::setup(spec(NAME, false));
    let name = h.database().to_owned();
    assert!(name.len() <= 63, "{name}");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        h.run_test(|h| {
            let pool = h.pool();
            h.block_on(async move {
                let conn = pool.acquire().await.unwrap();
                if conn.is_closed() {
                    return;
                }
                conn.execute("INSERT INTO users (name) VALUES ('held')", &[])
                    .await
                    .unwrap();
                // A task still holding a connection when the test dies.
                let pool2 = pool.clone();
                tokio::spawn(async move {
                    let _c = pool2.acquire().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                });
                tokio::task::yield_now().await;
                panic!("on purpose, holding a connection");
            })
        })
    }));
    let payload = outcome.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap();
    // The test's own panic is what is reported, not the leak check's.
    assert!(message.starts_with("on purpose"), "{message}");
    assert!(database_exists(&name), "{name} should be kept");
}
