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

/// An enum type (its labels, their sort orders, a value added BEFORE
/// another) and the enum values of a table and its index come back
/// after the database is closed and opened again.
#[tokio::test]
async fn enum_types_and_values_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-enums-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let db = tusk_lite::Database::open(&dir).expect("open");
        let conn = db.connect().await.expect("connect");
        // ADD VALUE commits before its value is used (55P04 otherwise).
        conn.execute_script(
            "CREATE TYPE mood AS ENUM ('sad', 'happy');
             ALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy'",
        )
        .await
        .expect("create type");
        conn.execute_script(
            "CREATE TABLE t (id int PRIMARY KEY, m mood);
             CREATE INDEX t_m ON t (m);
             INSERT INTO t VALUES (1, 'happy'), (2, 'ok'), (3, 'sad')",
        )
        .await
        .expect("create");
    }
    let db = tusk_lite::Database::open(&dir).expect("reopen");
    let conn = db.connect().await.expect("connect");
    let ids: Vec<i32> = conn
        .query("SELECT id FROM t ORDER BY m", &[])
        .await
        .expect("select")
        .iter()
        .map(|r| r.get(0usize))
        .collect();
    assert_eq!(ids, vec![3, 2, 1]);
    let id: i32 = conn
        .query_scalar("SELECT id FROM t WHERE m = 'ok'", &[])
        .await
        .expect("index lookup");
    assert_eq!(id, 2);
    let labels: String = conn
        .query_scalar(
            "SELECT ARRAY(SELECT enumlabel::text FROM pg_enum ORDER BY enumsortorder)::text",
            &[],
        )
        .await
        .expect("pg_enum");
    assert_eq!(labels, "{sad,ok,happy}");
    let e = conn
        .execute("INSERT INTO t VALUES (4, 'meh')", &[])
        .await
        .expect_err("not a label");
    assert_eq!(e.code(), Some(tusk::SqlState::INVALID_TEXT_REPRESENTATION));
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An identity column (its kind, its sequence and where that sequence
/// was) comes back after the database is closed and opened again: the
/// next row continues the sequence, as a serial column's does. The
/// values go through the driver's extended protocol (a bound parameter
/// in, RETURNING out).
#[tokio::test]
async fn identity_columns_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-identity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let db = tusk_lite::Database::open(&dir).expect("open");
        let conn = db.connect().await.expect("connect");
        conn.execute_script(
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
             CREATE TABLE u (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 100), v text);
             INSERT INTO t (v) VALUES ('a'), ('b');
             INSERT INTO u (v) VALUES ('a')",
        )
        .await
        .expect("create");
        let n = conn
            .execute(
                "INSERT INTO t (id, v) OVERRIDING SYSTEM VALUE VALUES ($1, 'x')",
                &[&50i64],
            )
            .await
            .expect("overriding");
        assert_eq!(n, 1);
    }
    let db = tusk_lite::Database::open(&dir).expect("reopen");
    let conn = db.connect().await.expect("connect");
    let id: i64 = conn
        .query_scalar("INSERT INTO t (v) VALUES ('c') RETURNING id", &[])
        .await
        .expect("insert after reopen");
    // The sequence goes on past what it handed out; like PostgreSQL's
    // after a crash (and tusk-lite's serial), it may skip the up to 32
    // values it had recorded ahead (SEQ_LOG_VALS).
    assert!((3..=35).contains(&id), "{id}");
    let id: i32 = conn
        .query_scalar("INSERT INTO u (v) VALUES ('b') RETURNING id", &[])
        .await
        .expect("insert after reopen");
    assert!((101..=133).contains(&id), "{id}");
    for (table, kind) in [("t", "a"), ("u", "d")] {
        let k: String = conn
            .query_scalar(
                &format!(
                    "SELECT attidentity::text FROM pg_attribute \
                     WHERE attrelid = '{table}'::regclass AND attname = 'id'"
                ),
                &[],
            )
            .await
            .expect("pg_attribute");
        assert_eq!(k, kind);
    }
    let e = conn
        .execute("INSERT INTO t (id, v) VALUES ($1, 'y')", &[&7i64])
        .await
        .expect_err("GENERATED ALWAYS");
    assert_eq!(e.code(), Some(tusk::SqlState::GENERATED_ALWAYS));
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
