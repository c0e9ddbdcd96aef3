//! Several test processes on one server (`DATABASE_URL`) race to build the
//! same template: the advisory lock lets one build it; the others wait and
//! clone it.

use std::process::Command;

use tusk::Executor;

/// Also run by `concurrent_processes_build_one_template` in child
/// processes. Its migration sleeps for a second, so builders that did not
/// wait for each other would collide (`CREATE DATABASE` of the same name).
#[tusk::test(migrations = "tests/harness_migrations_slow")]
async fn slow_migrations_child(pool: tusk::Pool) -> Result<(), tusk::Error> {
    let n: i64 = pool.query_scalar("SELECT count(*) FROM slow", &[]).await?;
    assert_eq!(n, 0);
    Ok(())
}

#[test]
fn concurrent_processes_build_one_template() {
    let cluster = tusk_testkit::Cluster::start().unwrap();
    let url = cluster.url("postgres");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "processes::slow_migrations_child",
                    "--test-threads=1",
                ])
                .env("DATABASE_URL", &url)
                .output_async()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a child failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = tusk::connect(&url).await.unwrap();
        let rows = conn
            .query(
                "SELECT datname::text, datistemplate FROM pg_database \
                 WHERE datname LIKE 'tusk\\_%' AND datname <> 'tusk_template' ORDER BY 1",
                &[],
            )
            .await
            .unwrap();
        let dbs: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // One template, complete; every test database dropped.
        assert_eq!(dbs.len(), 1, "{dbs:?}");
        assert!(dbs[0].0.starts_with("tusk_tpl_"), "{dbs:?}");
        assert!(dbs[0].1, "{dbs:?}");
    });
}

#[test]
fn a_role_that_cannot_create_databases_gets_a_setup_error_that_says_so() {
    let cluster = tusk_testkit::Cluster::start().unwrap();
    cluster
        .psql("postgres", "CREATE ROLE nocreate LOGIN NOCREATEDB")
        .unwrap();
    let url = format!(
        "postgresql://nocreate@127.0.0.1:{}/postgres",
        cluster.port()
    );
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "attribute::no_migrations_gives_an_empty_database",
            "--test-threads=1",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("setup failed"), "{text}");
    assert!(
        text.contains("permission denied to create database"),
        "{text}"
    );
}

/// `Command::spawn` with piped output, to wait for later.
trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// Runs one test of this binary in a child process with `DATABASE_URL`;
/// returns (passed, its output).
fn run_child(test: &str, url: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

// review (issue 16): a role with CREATEDB that does not own the template
// (a superuser built it) still gets databases cloned from it, in both modes.
#[test]
fn a_createdb_role_clones_a_template_a_superuser_built() {
    let cluster = tusk_testkit::Cluster::start().unwrap();
    cluster
        .psql("postgres", "CREATE ROLE creator LOGIN CREATEDB")
        .unwrap();
    let admin = format!(
        "postgresql://postgres@127.0.0.1:{}/postgres",
        cluster.port()
    );
    let creator = format!("postgresql://creator@127.0.0.1:{}/postgres", cluster.port());
    for test in [
        "attribute::a_fresh_database_per_test_one",
        "attribute::transaction_mode_on_a_connection",
    ] {
        let (ok, text) = run_child(test, &admin);
        assert!(ok, "as the superuser: {text}");
        let (ok, text) = run_child(test, &creator);
        assert!(
            ok,
            "as a CREATEDB role that does not own the template: {text}"
        );
    }
}

// review (issue 16): DATABASE_URL pointing at PgBouncer in transaction
// mode, where each statement may run on another server connection.

#[test]
fn through_pgbouncer_in_transaction_mode_setup_fails_saying_why() {
    use tusk_testkit::{PgBouncer, PoolMode};
    let cluster = tusk_testkit::Cluster::start().unwrap();
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction).unwrap();
    let url = bouncer.url("postgres");
    // Twice: the first run must leave no lock behind for the second.
    for run in 0..2 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "attribute::a_fresh_database_per_test_one",
                "--test-threads=1",
            ])
            .env("DATABASE_URL", &url)
            .output_async();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("run {run}: still running after 60 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "run {run}: {text}");
        assert!(
            text.contains("setup failed")
                && text.contains("#[tusk::test] migrates and clones databases"),
            "run {run}: {text}"
        );
        assert!(text.contains("session-mode pool"), "run {run}: {text}");
    }
}

#[test]
fn through_pgbouncer_in_transaction_mode_concurrent_processes_do_not_hang() {
    use tusk_testkit::{PgBouncer, PoolMode};
    let cluster = tusk_testkit::Cluster::start().unwrap();
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction).unwrap();
    let url = bouncer.url("postgres");
    for round in 0..2 {
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["attribute::", "--test-threads=4"])
                    .env("DATABASE_URL", &url)
                    .output_async()
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        for child in &mut children {
            while child.try_wait().unwrap().is_none() {
                if std::time::Instant::now() > deadline {
                    for c in &mut children {
                        let _ = c.kill();
                    }
                    panic!(
                        "round {round}: test processes through PgBouncer still running after 120 s"
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        for child in children {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            // No hang (the builders took a session advisory lock, which
            // the pooler let outlive its server connection), and each
            // process either ran its tests or failed setup saying why.
            assert!(
                text.contains("setup failed") || text.contains("test result: ok"),
                "round {round}: {text}"
            );
        }
    }
}
