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
