//! A transaction too large for memory: its writes go to disk before COMMIT
//! (a spill keyspace beside the data). It still reads its own writes
//! through every access path, rolls back whole or to a savepoint, commits
//! atomically, and leaves nothing behind after `kill -9`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tusk::Executor;

/// Rows of about 1 KB: 20,000 of them are well past the 16 MiB a write set
/// keeps in memory.
const LOAD: &str =
    "INSERT INTO big SELECT g, g % 100, repeat('x', 1000) FROM generate_series(1, 20000) g";

const CHILD_ENV: &str = "TUSK_LITE_SPILL_CHILD_DIR";

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tusk-lite-spill-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// How many keyspaces the database in `dir` has on disk (fjall keeps one
/// folder per keyspace).
fn keyspaces(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("keyspaces"))
        .map(|d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
                .count()
        })
        .unwrap_or(0)
}

const SCHEMA: &str = "CREATE TABLE big (id int PRIMARY KEY, grp int NOT NULL, pad text NOT NULL);
     CREATE INDEX big_grp ON big (grp)";

/// Waits (up to 10 s) for the keyspace count to come back to `n`: fjall
/// removes a deleted keyspace's folder once its last user lets go.
fn settles_to(dir: &Path, n: usize) -> bool {
    for _ in 0..100 {
        if keyspaces(dir) == n {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

async fn count(conn: &impl Executor, sql: &str) -> i64 {
    conn.query_scalar(sql, &[]).await.expect(sql)
}

#[tokio::test]
async fn a_spilled_transaction_reads_its_own_writes_and_commits() {
    let dir = fresh_dir("commit");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let mut conn = db.connect().await.expect("connect");
    conn.execute_script(SCHEMA).await.expect("schema");
    let before = keyspaces(&dir);

    let tx = conn.transaction().await.expect("begin");
    tx.execute(LOAD, &[]).await.expect("load");
    assert!(
        keyspaces(&dir) > before,
        "the load's writes went to a spill keyspace"
    );
    // Every access path sees the spilled rows: a scan, a primary-key
    // point read, an index lookup.
    assert_eq!(count(&tx, "SELECT count(*) FROM big").await, 20_000);
    assert_eq!(
        count(&tx, "SELECT length(pad)::int8 FROM big WHERE id = 1").await,
        1000
    );
    assert_eq!(
        count(&tx, "SELECT count(*) FROM big WHERE grp = 7").await,
        200
    );
    // Changes to spilled rows win over them.
    tx.execute("UPDATE big SET pad = 'short' WHERE id <= 10", &[])
        .await
        .expect("update");
    tx.execute("DELETE FROM big WHERE id > 19990", &[])
        .await
        .expect("delete");
    // Ranges of the primary key and of an index read the spilled writes
    // (and the changes over them) too.
    assert_eq!(
        count(&tx, "SELECT count(*) FROM big WHERE id BETWEEN 100 AND 199").await,
        100
    );
    assert_eq!(
        count(
            &tx,
            "SELECT count(*) FROM big WHERE id <= 10 AND pad = 'short'"
        )
        .await,
        10
    );
    assert_eq!(
        count(&tx, "SELECT count(*) FROM big WHERE id > 19980").await,
        10
    );
    assert_eq!(
        count(&tx, "SELECT count(*) FROM big WHERE grp > 98").await,
        199
    );
    // A primary key taken by a spilled row is taken.
    let dup = tx
        .execute("INSERT INTO big VALUES (5, 0, 'again')", &[])
        .await
        .expect_err("duplicate key");
    assert_eq!(
        dup.code().as_ref().map(|s| s.code()),
        Some("23505"),
        "{dup}"
    );
    tx.commit().await.ok();
    drop(conn);

    // The duplicate failed the transaction: nothing was committed.
    let mut conn = db.connect().await.expect("connect");
    assert_eq!(count(&conn, "SELECT count(*) FROM big").await, 0);
    assert!(settles_to(&dir, before), "the spill keyspace went");

    let tx = conn.transaction().await.expect("begin");
    tx.execute(LOAD, &[]).await.expect("load");
    tx.execute("UPDATE big SET pad = 'short' WHERE id <= 10", &[])
        .await
        .expect("update");
    tx.execute("DELETE FROM big WHERE id > 19990", &[])
        .await
        .expect("delete");
    // A savepoint, another spill after it, and ROLLBACK TO: the later
    // writes go, the earlier ones stay.
    tx.execute_script(
        "SAVEPOINT s;
         INSERT INTO big SELECT g, 1, repeat('y', 1000) FROM generate_series(20001, 40000) g;
         DELETE FROM big WHERE id <= 5;
         ROLLBACK TO SAVEPOINT s",
    )
    .await
    .expect("savepoint");
    assert_eq!(count(&tx, "SELECT count(*) FROM big").await, 19_990);
    tx.commit().await.expect("commit");
    assert!(settles_to(&dir, before), "the spill keyspace went");

    let check = |conn: tusk::Connection| async move {
        assert_eq!(count(&conn, "SELECT count(*) FROM big").await, 19_990);
        assert_eq!(
            count(&conn, "SELECT sum(length(pad))::int8 FROM big").await,
            10 * 5 + 19_980 * 1000
        );
        assert_eq!(
            count(&conn, "SELECT count(*) FROM big WHERE grp = 7").await,
            200
        );
        assert_eq!(
            count(&conn, "SELECT count(*) FROM big WHERE id > 19990").await,
            0
        );
    };
    check(db.connect().await.expect("connect")).await;
    drop(conn);
    drop(db);
    // The sessions' threads let go of the database as their sockets close.
    let mut reopened = tusk_lite::Database::open(&dir);
    for _ in 0..100 {
        if reopened.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        reopened = tusk_lite::Database::open(&dir);
    }
    let db = reopened.expect("reopen");
    check(db.connect().await.expect("connect")).await;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_spilled_transaction_rolls_back() {
    let dir = fresh_dir("rollback");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let mut conn = db.connect().await.expect("connect");
    conn.execute_script(SCHEMA).await.expect("schema");
    conn.execute("INSERT INTO big VALUES (1, 1, 'kept')", &[])
        .await
        .expect("insert");
    let before = keyspaces(&dir);
    let tx = conn.transaction().await.expect("begin");
    tx.execute("DELETE FROM big", &[]).await.expect("delete");
    tx.execute(LOAD, &[]).await.expect("load");
    assert!(keyspaces(&dir) > before, "spilled");
    tx.rollback().await.expect("rollback");
    assert!(settles_to(&dir, before), "the spill keyspace went");
    let pad: String = conn
        .query_scalar("SELECT pad FROM big", &[])
        .await
        .expect("row");
    assert_eq!(pad, "kept");
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// In the child process: a committed table, then a large transaction that
/// spills and never ends.
#[tokio::test]
async fn child_spiller() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = tusk_lite::Database::open(&dir).expect("open");
    let mut conn = db.connect().await.expect("connect");
    conn.execute_script(SCHEMA).await.expect("schema");
    conn.execute("INSERT INTO big VALUES (1, 1, 'committed')", &[])
        .await
        .expect("insert");
    println!("keyspaces {}", keyspaces(Path::new(&dir)));
    let tx = conn.transaction().await.expect("begin");
    tx.execute("DELETE FROM big", &[]).await.expect("delete");
    tx.execute(LOAD, &[]).await.expect("load");
    println!("spilled");
    std::thread::sleep(std::time::Duration::from_secs(600));
}

#[tokio::test]
async fn kill_9_during_a_spilled_transaction_leaves_nothing() {
    let dir = fresh_dir("crash");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_spiller",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut before = None;
    let mut spilled = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        // libtest prints the test's name on the line its output starts.
        if let Some((_, n)) = line.split_once("keyspaces ") {
            before = Some(n.trim().parse::<usize>().expect("number"));
        }
        if line.trim_end().ends_with("spilled") {
            spilled = true;
            break;
        }
    }
    assert!(spilled, "the child spilled");
    let before = before.expect("keyspace count");
    assert!(keyspaces(&dir) > before, "a spill keyspace is on disk");
    child.kill().expect("kill -9");
    let _ = child.wait();

    let db = tusk_lite::Database::open(&dir).expect("reopen after the crash");
    assert!(
        settles_to(&dir, before),
        "opening deleted the spill keyspace"
    );
    let conn = db.connect().await.expect("connect");
    let pad: String = conn
        .query_scalar("SELECT pad FROM big", &[])
        .await
        .expect("the committed row, alone");
    assert_eq!(pad, "committed");
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
