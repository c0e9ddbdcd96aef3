//! pgbench against tusk-lite: initialization with COPY (`-i`) and with
//! server-side generation (`-I dtGvp`), TPC-B with 10 clients on one
//! branch row in every protocol mode, select-only; 0 failed
//! transactions and the balance invariant afterwards.

use std::process::Command;
use tokio_postgres::NoTls;

fn pgbench(port: u16, args: &[&str]) -> String {
    let out = Command::new("pgbench")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "app"])
        .args(args)
        .arg("app")
        .output()
        .expect("pgbench runs (scripts/setup installs postgresql-contrib)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pgbench {args:?} failed:\n{text}");
    text
}

fn assert_no_failures(out: &str) {
    assert!(
        out.contains("number of failed transactions: 0 (0.000%)"),
        "{out}"
    );
}

async fn invariant(port: u16) -> i64 {
    let url = format!("host=127.0.0.1 port={port} user=app dbname=app");
    let (c, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    let row = c
        .query_one(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers), \
             (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history), \
             (SELECT count(*) FROM pgbench_history)",
            &[],
        )
        .await
        .expect("sums");
    let sums: Vec<i64> = (0..4)
        .map(|i| row.get::<_, Option<i64>>(i).unwrap_or(0))
        .collect();
    assert!(
        sums.windows(2).all(|w| w[0] == w[1]),
        "balances and deltas differ: {sums:?}"
    );
    row.get(4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_init_copy_and_tpcb_in_every_mode() {
    let db = tusk_lite::Database::open_in_memory();
    let port = tusk_lite::serve(&db, "127.0.0.1:0").expect("listen").port();
    let out = pgbench(port, &["-i", "-s", "1", "-q"]);
    assert!(out.contains("done in"), "{out}");
    // -n keeps pgbench_history between runs, so the invariant spans them all.
    for (i, mode) in ["simple", "extended", "prepared"].into_iter().enumerate() {
        assert_no_failures(&pgbench(
            port,
            &["-c", "10", "-j", "2", "-t", "30", "-M", mode, "-n"],
        ));
        assert_eq!(
            invariant(port).await,
            300 * (i64::try_from(i).unwrap_or(0) + 1),
            "mode {mode}"
        );
    }
    assert_no_failures(&pgbench(port, &["-c", "1", "-t", "50", "-n"]));
    assert_no_failures(&pgbench(
        port,
        &["-c", "4", "-j", "2", "-t", "200", "-S", "-n"],
    ));
    assert_eq!(invariant(port).await, 950);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_server_side_init_on_durable_store() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-pgbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = tusk_lite::Database::open(&dir).expect("open");
    let port = tusk_lite::serve(&db, "127.0.0.1:0").expect("listen").port();
    let out = pgbench(port, &["-i", "-I", "dtGvp", "-s", "1"]);
    assert!(out.contains("done in"), "{out}");
    assert_no_failures(&pgbench(
        port,
        &["-c", "10", "-j", "2", "-t", "20", "-M", "prepared"],
    ));
    assert_eq!(invariant(port).await, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

const SERVER_ENV: &str = "TUSK_LITE_PGBENCH_SERVER_DIR";

/// In a child process: serves the durable database in the directory the
/// parent names, prints its port, and runs until it is killed.
#[test]
fn child_server() {
    let Ok(dir) = std::env::var(SERVER_ENV) else {
        return;
    };
    let db = tusk_lite::Database::open(&dir).expect("open");
    let addr = tusk_lite::serve(&db, "127.0.0.1:0").expect("listen");
    println!("port {}", addr.port());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// A `tusk lite serve`-like server in its own process (this test binary
/// running `child_server`), and its port.
fn spawn_server(dir: &std::path::Path) -> (std::process::Child, u16) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_server", "--exact", "--nocapture", "--test-threads=1"])
        .env(SERVER_ENV, dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server prints its port")
            .expect("line");
        // (After libtest's "test child_server ... " on the same line.)
        if let Some((_, p)) = line.split_once("port ") {
            break p.trim().parse().expect("port");
        }
    };
    // Keep reading its output so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

/// Acceptance 3 of issue 13: `kill -9` of the server during `pgbench -c
/// 10`; after a restart the balances still agree (no half transaction),
/// and every transaction pgbench logged as finished (`-l`: a line once
/// its END returned) is in pgbench_history, which holds one row per
/// committed TPC-B transaction: at least the logged ones, at most one more
/// per client (those whose COMMIT was done but not yet answered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_pgbench_keeps_every_logged_commit() {
    let base = std::env::temp_dir().join(format!("tusk-lite-pgbench-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (dir, logs) = (base.join("data"), base.join("logs"));
    std::fs::create_dir_all(&logs).expect("log dir");
    let (mut server, port) = spawn_server(&dir);
    pgbench(port, &["-i", "-s", "1", "-q"]);
    let bench = Command::new("pgbench")
        .current_dir(&logs)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "app"])
        .args(["-c", "10", "-j", "2", "-T", "60", "-n", "-l", "app"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("pgbench runs");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    server.kill().expect("kill -9");
    let _ = server.wait();
    let out = tokio::task::spawn_blocking(move || bench.wait_with_output())
        .await
        .expect("join")
        .expect("pgbench ends once its server is gone");
    assert!(!out.status.success(), "pgbench ran on without its server");
    let logged: i64 = std::fs::read_dir(&logs)
        .expect("logs")
        .map(|e| {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("log");
            i64::try_from(text.lines().count()).unwrap_or(0)
        })
        .sum();
    assert!(
        logged > 0,
        "pgbench finished no transaction before the kill"
    );

    let (mut server, port) = spawn_server(&dir);
    let history = invariant(port).await;
    println!("{logged} transactions logged by pgbench before the kill, {history} in pgbench_history after the restart");
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        history >= logged,
        "a logged (acknowledged) transaction is missing: {history} rows, {logged} logged"
    );
    assert!(
        history <= logged + 10,
        "more rows than transactions that could have committed: {history} rows, {logged} logged"
    );
    let _ = std::fs::remove_dir_all(&base);
}
