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
