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
