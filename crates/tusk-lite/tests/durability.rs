//! Durability: a COMMIT that returned survives `kill -9`, a crash never
//! exposes half a transaction, and reopening recovers on its own.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use tusk::Executor;

const CHILD_ENV: &str = "TUSK_LITE_DURABILITY_CHILD_DIR";

/// In the child process: transfers between two accounts forever, printing
/// each transfer number after its COMMIT returned.
#[tokio::test]
async fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = tusk_lite::Database::open(&dir).expect("open");
    let mut conn = db.connect().await.expect("connect");
    conn.execute(
        "CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL)",
        &[],
    )
    .await
    .expect("create");
    conn.execute("CREATE TABLE log (n int PRIMARY KEY)", &[])
        .await
        .expect("create");
    conn.execute("INSERT INTO acct VALUES (1, 1000), (2, 1000)", &[])
        .await
        .expect("insert");
    println!("ready");
    for n in 1.. {
        let tx = conn.transaction().await.expect("begin");
        tx.execute(
            "UPDATE acct SET balance = balance - $1 WHERE id = 1",
            &[&7i64],
        )
        .await
        .expect("debit");
        tx.execute(
            "UPDATE acct SET balance = balance + $1 WHERE id = 2",
            &[&7i64],
        )
        .await
        .expect("credit");
        tx.execute("INSERT INTO log VALUES ($1)", &[&n])
            .await
            .expect("log");
        tx.commit().await.expect("commit");
        println!("committed {n}");
    }
}

#[tokio::test]
async fn commits_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the writer");
    let stdout = child.stdout.take().expect("stdout");
    let mut last = 0i32;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("committed ") {
            last = n.trim().parse().expect("number");
            if last >= 40 {
                break;
            }
        }
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(last >= 40, "the writer committed {last} transfers");

    let db = tusk_lite::Database::open(&dir).expect("reopen after the crash");
    let conn = db.connect().await.expect("connect");
    let total: i64 = conn
        .query_scalar("SELECT sum(balance)::int8 FROM acct", &[])
        .await
        .expect("sum");
    assert_eq!(total, 2000, "no half transaction");
    let logged: i64 = conn
        .query_scalar("SELECT count(*) FROM log", &[])
        .await
        .expect("count");
    let max: i32 = conn
        .query_scalar("SELECT max(n) FROM log", &[])
        .await
        .expect("max");
    assert!(i64::from(max) == logged, "log has no gaps");
    assert!(
        max >= last,
        "every acknowledged commit survived: {max} < {last}"
    );
    let b2: i64 = conn
        .query_scalar("SELECT balance FROM acct WHERE id = 2", &[])
        .await
        .expect("b2");
    assert_eq!(b2, 1000 + 7 * i64::from(max), "balances match the log");
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}

const OPENER_ENV: &str = "TUSK_LITE_DURABILITY_OPENER_DIR";

/// In the child process: opens (creates) a database, says so, and waits
/// to be killed.
#[test]
fn child_opener() {
    let Ok(dir) = std::env::var(OPENER_ENV) else {
        return;
    };
    let _db = tusk_lite::Database::open(&dir).expect("open");
    println!("opened");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

/// Opening a new database makes its keyspaces lazily (at the first
/// commit): a `kill -9` right after creating it, and again right after
/// reopening it, leaves a database that opens and takes commits.
#[tokio::test]
async fn kill_9_right_after_creating_an_empty_database() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-created-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for _ in 0..2 {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["child_opener", "--exact", "--nocapture", "--test-threads=1"])
            .env(OPENER_ENV, &dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the opener");
        let stdout = child.stdout.take().expect("stdout");
        let opened = BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
            .any(|l| l.trim_end().ends_with("opened"));
        child.kill().expect("kill -9");
        let _ = child.wait();
        assert!(opened, "the child opened the database");
    }
    {
        let db = tusk_lite::Database::open(&dir).expect("reopen after the crash");
        let conn = db.connect().await.expect("connect");
        conn.execute("CREATE TABLE t (a int PRIMARY KEY)", &[])
            .await
            .expect("create");
        conn.execute("INSERT INTO t VALUES (1), (2)", &[])
            .await
            .expect("insert");
    }
    let db = tusk_lite::Database::open(&dir).expect("reopen");
    let conn = db.connect().await.expect("connect");
    let n: i64 = conn
        .query_scalar("SELECT count(*) FROM t", &[])
        .await
        .expect("count");
    assert_eq!(n, 2);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
