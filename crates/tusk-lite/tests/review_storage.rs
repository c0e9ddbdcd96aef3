//! Review probes of the durable store's garbage collection (old row
//! versions dropped below the horizon of pinned snapshots), of big commits
//! that skip the journal (a synced pending mark, tables written straight
//! to disk, a synced last batch) and of keyspaces made by the first commit.
//! Each probe checks an answer PostgreSQL gives by definition (snapshot
//! isolation, all-or-nothing commits), so the expected values are written
//! out rather than asked of a server.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tusk::Executor;

const CHILD_ENV: &str = "TUSK_LITE_REVIEW_STORAGE_CHILD_DIR";

/// Rows of about 1 KB per id: 20,000 of them spill (past 16 MiB), so the
/// transaction commits as a stream (no journal) and ends with a major
/// compaction.
const ROWS: i64 = 20_000;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tusk-lite-review-storage-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn int(conn: &impl Executor, sql: &str) -> i64 {
    conn.query_scalar(sql, &[]).await.expect(sql)
}

async fn text(conn: &impl Executor, sql: &str) -> String {
    conn.query_scalar(sql, &[]).await.expect(sql)
}

/// Opens `dir`, retrying while the last user's threads let go of it.
async fn reopen(dir: &PathBuf) -> tusk_lite::Database {
    let mut r = tusk_lite::Database::open(dir);
    for _ in 0..100 {
        if r.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = tusk_lite::Database::open(dir);
    }
    r.expect("reopen")
}

/// A REPEATABLE READ snapshot taken before big and small commits keeps
/// reading the versions it saw, though those commits' compactions (a big
/// commit ends with a major one) collect garbage; a row updated many times
/// and then deleted is still there for it. A transaction that began before
/// but took its snapshot after, and a READ COMMITTED one, see the new data.
#[tokio::test]
async fn snapshots_older_than_big_commits_keep_their_versions() {
    let dir = fresh_dir("rr");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let mut w = db.connect().await.expect("connect");
    w.execute_script(
        "CREATE TABLE big (id int PRIMARY KEY, grp int NOT NULL, pad text NOT NULL);
         CREATE INDEX big_grp ON big (grp);
         CREATE SEQUENCE s",
    )
    .await
    .expect("schema");
    let tx = w.transaction().await.expect("begin");
    tx.execute(
        "INSERT INTO big SELECT g, g % 100, repeat('a', 1000) FROM generate_series(1, 20000) g",
        &[],
    )
    .await
    .expect("load");
    tx.commit().await.expect("commit the load");
    for i in 0..5 {
        w.execute(&format!("UPDATE big SET pad = 'v{i}' WHERE id = 1"), &[])
            .await
            .expect("update");
    }

    let mut old = db.connect().await.expect("connect");
    old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ", &[])
        .await
        .expect("begin rr");
    let old_sum = int(&old, "SELECT sum(grp)::int8 FROM big").await;
    assert_eq!(text(&old, "SELECT pad FROM big WHERE id = 1").await, "v4");
    // Began before the commits below, took no snapshot yet.
    let mut late = db.connect().await.expect("connect");
    late.execute("BEGIN ISOLATION LEVEL REPEATABLE READ", &[])
        .await
        .expect("begin rr");
    let mut rc = db.connect().await.expect("connect");
    rc.execute("BEGIN", &[]).await.expect("begin rc");
    assert_eq!(int(&rc, "SELECT count(*) FROM big").await, ROWS);

    // Row 2: updated many times, then deleted, in small commits.
    for i in 0..20 {
        w.execute(&format!("UPDATE big SET pad = 'w{i}' WHERE id = 2"), &[])
            .await
            .expect("update");
    }
    w.execute("DELETE FROM big WHERE id = 2", &[])
        .await
        .expect("delete");
    // Two big commits: every row rewritten, then half of them deleted.
    for sql in [
        "UPDATE big SET grp = grp + 1, pad = repeat('b', 1000)",
        "DELETE FROM big WHERE id > 10000",
    ] {
        let tx = w.transaction().await.expect("begin");
        tx.execute(sql, &[]).await.expect(sql);
        tx.commit().await.expect("commit");
    }
    w.execute("SELECT nextval('s')", &[])
        .await
        .expect("nextval");

    // The old snapshot: every access path reads the old versions.
    assert_eq!(int(&old, "SELECT count(*) FROM big").await, ROWS);
    assert_eq!(int(&old, "SELECT sum(grp)::int8 FROM big").await, old_sum);
    assert_eq!(text(&old, "SELECT pad FROM big WHERE id = 1").await, "v4");
    assert_eq!(
        text(&old, "SELECT pad FROM big WHERE id = 2").await,
        "a".repeat(1000)
    );
    assert_eq!(
        int(&old, "SELECT count(*) FROM big WHERE grp = 7").await,
        200
    );
    assert_eq!(
        int(
            &old,
            "SELECT count(*) FROM big WHERE id > 10000 AND pad = repeat('a', 1000)"
        )
        .await,
        10_000
    );

    // Snapshots taken now see the new data.
    for c in [&late, &rc] {
        assert_eq!(int(c, "SELECT count(*) FROM big").await, 9_999);
        assert_eq!(
            int(c, "SELECT count(*) FROM big WHERE pad = repeat('b', 1000)").await,
            9_999
        );
        assert_eq!(int(c, "SELECT count(*) FROM big WHERE id = 2").await, 0);
    }
    for c in [&mut old, &mut late, &mut rc] {
        c.execute("COMMIT", &[]).await.expect("commit");
    }
    // With no snapshot left, the next big commit collects the garbage;
    // the newest versions stay.
    let tx = w.transaction().await.expect("begin");
    tx.execute("UPDATE big SET grp = grp - 1", &[])
        .await
        .expect("update");
    tx.execute(
        "INSERT INTO big SELECT g, 0, repeat('c', 1000) FROM generate_series(30001, 50000) g",
        &[],
    )
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    let check = |c: tusk::Connection| async move {
        assert_eq!(int(&c, "SELECT count(*) FROM big").await, 29_999);
        assert_eq!(
            int(&c, "SELECT sum(grp)::int8 FROM big WHERE id <= 10000").await,
            (1..=10_000i64)
                .filter(|g| *g != 2)
                .map(|g| g % 100)
                .sum::<i64>()
        );
        assert_eq!(int(&c, "SELECT count(*) FROM big WHERE id = 2").await, 0);
        // Never a value handed out before (a reopen may skip some).
        assert!(int(&c, "SELECT nextval('s')").await >= 2);
    };
    check(db.connect().await.expect("connect")).await;
    drop((w, old, late, rc));
    drop(db);
    let db = reopen(&dir).await;
    check(db.connect().await.expect("connect")).await;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// In the child process: big commits (each inserts a batch of ROWS rows,
/// updates rows of batch 1 and a counter) in a loop, with small commits
/// from another session beside them; prints each stage.
#[tokio::test]
async fn child_big_committer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = tusk_lite::Database::open(&dir).expect("open");
    let mut conn = db.connect().await.expect("connect");
    conn.execute_script(
        "CREATE TABLE IF NOT EXISTS big (id int PRIMARY KEY, batch int NOT NULL, pad text NOT NULL);
         CREATE TABLE IF NOT EXISTS counter (id int PRIMARY KEY, n int NOT NULL);
         CREATE TABLE IF NOT EXISTS small (id int PRIMARY KEY)",
    )
    .await
    .expect("schema");
    let first = int(&conn, "SELECT coalesce(max(batch), 0)::int8 FROM big").await + 1;
    let small_first = int(&conn, "SELECT coalesce(max(id), 0)::int8 FROM small").await + 1;
    let small = db.connect().await.expect("connect");
    tokio::spawn(async move {
        for n in small_first.. {
            small
                .execute(&format!("INSERT INTO small VALUES ({n})"), &[])
                .await
                .expect("small commit");
            println!("small {n}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    for b in first.. {
        let tx = conn.transaction().await.expect("begin");
        tx.execute(
            &format!(
                "INSERT INTO big SELECT {b} * 100000 + g, {b}, repeat('x', 1000) \
                 FROM generate_series(1, {ROWS}) g"
            ),
            &[],
        )
        .await
        .expect("insert");
        tx.execute(
            &format!("UPDATE big SET pad = 'u{b}' WHERE batch = 1 AND id % 10 = 0"),
            &[],
        )
        .await
        .expect("update");
        tx.execute(
            &format!("INSERT INTO counter VALUES (1, {b}) ON CONFLICT (id) DO UPDATE SET n = {b}"),
            &[],
        )
        .await
        .expect("counter");
        println!("committing {b}");
        tx.commit().await.expect("commit");
        println!("committed {b}");
    }
}

/// What a reopened database must hold: whole batches only, the counter at
/// the last one, batch 1's updated rows from that commit, every small
/// commit that returned. Returns the last whole batch.
async fn check_whole(conn: &tusk::Connection, committed: i64, small: i64) -> i64 {
    let batches: Vec<(i32, i64)> = {
        let rows = conn
            .query(
                "SELECT batch, count(*) FROM big GROUP BY batch ORDER BY batch",
                &[],
            )
            .await
            .expect("batches");
        rows.iter()
            .map(|r| (r.get::<i32>(0), r.get::<i64>(1)))
            .collect()
    };
    for ((b, n), want) in batches.iter().zip(1i64..) {
        assert_eq!(i64::from(*b), want, "batches {batches:?}");
        assert_eq!(*n, ROWS, "batch {b} is whole");
    }
    let last = i64::try_from(batches.len()).expect("batch count");
    assert!(
        last == committed || last == committed + 1,
        "{last} batches, {committed} committed"
    );
    if last > 0 {
        assert_eq!(int(conn, "SELECT n::int8 FROM counter").await, last);
        assert_eq!(
            int(
                conn,
                &format!("SELECT count(*) FROM big WHERE batch = 1 AND pad = 'u{last}'")
            )
            .await,
            ROWS / 10
        );
        assert_eq!(
            int(conn, "SELECT count(*) FROM big WHERE batch = 1").await,
            ROWS
        );
    }
    let smalls = int(conn, "SELECT count(*) FROM small").await;
    assert!(smalls >= small, "{smalls} small commits of {small}");
    assert_eq!(
        int(conn, "SELECT coalesce(max(id), 0)::int8 FROM small").await,
        smalls,
        "small commits have no holes"
    );
    last
}

/// kill -9 at different points of big commits (before the pending mark,
/// while the tables are written, before and after the last batch), with
/// small commits running beside them: after each, the database opens with
/// every big commit whole or absent, the rest intact, and takes further
/// big commits, which compact (collecting garbage) over what a cut-short
/// commit left.
#[tokio::test]
async fn kill_9_during_big_commits_keeps_them_whole() {
    let dir = fresh_dir("kill");
    let mut committed = 0i64;
    let mut small = 0i64;
    for delay_ms in [0u64, 40, 150, 400, 900, 1500] {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "child_big_committer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let note = |line: &str, committed: &mut i64, small: &mut i64| -> bool {
            if let Some((_, n)) = line.split_once("committed ") {
                *committed = n.trim().parse().expect("number");
            }
            if let Some((_, n)) = line.split_once("small ") {
                *small = (*small).max(n.trim().parse().expect("number"));
            }
            line.contains("committing ")
        };
        // Wait for the second big commit of this child to start, then let
        // it run `delay_ms` before the kill.
        let mut starts = 0;
        while starts < 2 {
            let line = rx
                .recv_timeout(Duration::from_secs(300))
                .expect("the child goes on");
            if note(&line, &mut committed, &mut small) {
                starts += 1;
            }
        }
        let until = std::time::Instant::now() + Duration::from_millis(delay_ms);
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    note(&line, &mut committed, &mut small);
                }
                Err(_) => break,
            }
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
        while let Ok(line) = rx.try_recv() {
            note(&line, &mut committed, &mut small);
        }
        let db = reopen(&dir).await;
        let conn = db.connect().await.expect("connect");
        let last = check_whole(&conn, committed, small).await;
        eprintln!("kill after {delay_ms} ms: {last} batches ({committed} seen committed)");
        committed = last;
        drop(conn);
        drop(db);
    }
    // One more big commit after all that, then a reopen.
    let db = reopen(&dir).await;
    let mut conn = db.connect().await.expect("connect");
    let tx = conn.transaction().await.expect("begin");
    tx.execute(
        "UPDATE big SET pad = repeat('y', 1000) WHERE batch = 2",
        &[],
    )
    .await
    .expect("update");
    tx.commit().await.expect("commit");
    let last = check_whole(&conn, committed, small).await;
    drop(conn);
    drop(db);
    let db = reopen(&dir).await;
    let conn = db.connect().await.expect("connect");
    assert_eq!(check_whole(&conn, committed, small).await, last);
    assert_eq!(
        int(
            &conn,
            "SELECT count(*) FROM big WHERE batch = 2 AND pad = repeat('y', 1000)"
        )
        .await,
        ROWS
    );
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new database makes its keyspaces at the first commit: before that,
/// reads of tables, catalogs and sequences work; a sequence's first
/// nextval, DDL alone and a kill -9 right after survive reopening.
#[tokio::test]
async fn a_new_database_reads_and_takes_ddl_before_any_row() {
    let dir = fresh_dir("new");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let conn = db.connect().await.expect("connect");
    assert!(
        int(
            &conn,
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'nothing'"
        )
        .await
            == 0
    );
    drop(conn);
    drop(db);
    let db = reopen(&dir).await;
    let mut conn = db.connect().await.expect("connect");
    conn.execute_script("CREATE SEQUENCE s; CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .expect("ddl");
    assert_eq!(int(&conn, "SELECT nextval('s')").await, 1);
    assert_eq!(int(&conn, "SELECT count(*) FROM t").await, 0);
    let tx = conn.transaction().await.expect("begin");
    tx.execute("ALTER TABLE t ADD COLUMN w int DEFAULT 7", &[])
        .await
        .expect("alter");
    tx.rollback().await.expect("rollback");
    drop(conn);
    drop(db);
    let db = reopen(&dir).await;
    let conn = db.connect().await.expect("connect");
    // Never a value handed out before (a reopen may skip some, as
    // PostgreSQL does after a crash).
    assert!(int(&conn, "SELECT nextval('s')").await >= 2);
    conn.execute("INSERT INTO t VALUES (1, 'a')", &[])
        .await
        .expect("insert");
    assert_eq!(
        int(
            &conn,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0"
        )
        .await,
        2
    );
    drop(conn);
    drop(db);
    let db = reopen(&dir).await;
    let conn = db.connect().await.expect("connect");
    assert_eq!(text(&conn, "SELECT v FROM t WHERE id = 1").await, "a");
    drop(conn);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mounts a tmpfs of `mib` MiB at `dir` (we run as root in CI); false when
/// that is not possible here.
fn mount_tmpfs(dir: &PathBuf, mib: u32) -> bool {
    std::fs::create_dir_all(dir).is_ok()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success())
}

/// Unmounts `dir` when dropped.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        // Lazily: the database's background threads may still hold files.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A disk that fills up during a big transaction (while it spills, or
/// while its commit writes its tables): a typed error, nothing of the
/// transaction committed, the rest intact, and the database still opens
/// and takes commits once the transaction's files are gone. (Before the
/// review a storage error closed the session without a word: the wire
/// layer took 58030 for a broken client socket.)
#[tokio::test]
async fn a_disk_full_big_transaction_leaves_nothing() {
    for (name, chunks) in [("spill", 40), ("commit", 9)] {
        let dir = fresh_dir(&format!("full-{name}"));
        if !mount_tmpfs(&dir, 24) {
            eprintln!("skipped: cannot mount a tmpfs here");
            return;
        }
        let _unmount = Unmount(dir.clone());
        let db = tusk_lite::Database::open(&dir).expect("open");
        let mut conn = db.connect().await.expect("connect");
        conn.execute_script(
            "CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL);
             INSERT INTO big SELECT g, 'kept' FROM generate_series(1, 100) g",
        )
        .await
        .expect("schema");
        // Random digits: lz4 cannot shrink them much.
        let pad = vec!["random()::text"; 16].join(" || ");
        let tx = conn.transaction().await.expect("begin");
        let mut failed = None;
        for c in 0..chunks {
            let sql = format!(
                "INSERT INTO big SELECT g, {pad} FROM generate_series({}, {}) g",
                1000 + c * 5000,
                1000 + c * 5000 + 4999
            );
            if let Err(e) = tx.execute(&sql, &[]).await {
                failed = Some(e);
                break;
            }
        }
        let committed = match failed {
            Some(e) => {
                eprintln!("{name}: a statement failed: {e}");
                assert_eq!(e.code().as_ref().map(|c| c.code()), Some("53100"), "{e}");
                let _ = tx.rollback().await;
                false
            }
            None => match tx.commit().await {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("{name}: the commit failed: {e}");
                    assert_eq!(e.code().as_ref().map(|c| c.code()), Some("53100"), "{e}");
                    false
                }
            },
        };
        eprintln!("{name}: committed {committed}");
        let want = if committed { 100 + chunks * 5000 } else { 100 };
        assert_eq!(int(&conn, "SELECT count(*) FROM big").await, want);
        assert_eq!(
            int(&conn, "SELECT count(*) FROM big WHERE pad = 'kept'").await,
            100
        );
        // A small commit, then a reopen.
        let small = conn
            .execute("UPDATE big SET pad = 'again' WHERE id = 1", &[])
            .await;
        eprintln!("{name}: small commit after: {small:?}");
        small.expect("a small commit after the failure");
        drop(conn);
        drop(db);
        let db = reopen(&dir).await;
        let conn = db.connect().await.expect("connect");
        assert_eq!(int(&conn, "SELECT count(*) FROM big").await, want);
        conn.execute("UPDATE big SET pad = 'third' WHERE id = 2", &[])
            .await
            .expect("a small commit after reopening");
        drop(conn);
        drop(db);
    }
}

/// A REPEATABLE READ snapshot taken before another session's ALTER TABLE
/// (which rewrites the rows in tusk-lite; PostgreSQL only changes its
/// catalog for these) reads the table afterwards: PostgreSQL shows the old
/// rows under the new columns (the added column's default, the dropped
/// column gone). tusk-lite used to decode the old versions with the new
/// catalog (`w` showed the dropped column's values, 1, 2, 3 instead of
/// 7); the catalog now records each layout change with its commit
/// timestamp (catalog::Relayout). tests/slt/old_snapshots.slt checks the
/// same against PostgreSQL.
#[tokio::test]
async fn an_old_snapshot_reads_a_table_altered_since() {
    let dir = fresh_dir("alter");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let w = db.connect().await.expect("connect");
    w.execute_script(
        "CREATE TABLE t (id int PRIMARY KEY, v text, gone int);
         CREATE TABLE other (id int);
         INSERT INTO t SELECT g, 'v' || g, g FROM generate_series(1, 50) g;
         UPDATE t SET v = 'u' || id WHERE id <= 10",
    )
    .await
    .expect("schema");
    let old = db.connect().await.expect("connect");
    old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ", &[])
        .await
        .expect("begin");
    assert_eq!(int(&old, "SELECT count(*) FROM other").await, 0);
    w.execute_script(
        "ALTER TABLE t ADD COLUMN w int DEFAULT 7;
         ALTER TABLE t DROP COLUMN gone;
         UPDATE t SET v = 'new' WHERE id = 1",
    )
    .await
    .expect("alter");
    let r = old
        .query("SELECT id, v, w FROM t ORDER BY id LIMIT 3", &[])
        .await;
    let rows = r.expect("the old snapshot reads the altered table");
    let got: Vec<(i32, String, i32)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "u1".into(), 7),
            (2, "u2".into(), 7),
            (3, "u3".into(), 7)
        ]
    );
    drop((w, old));
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// CHECKPOINT (memtables flushed, then a major compaction with the GC
/// filter) while a REPEATABLE READ snapshot is open, while other sessions
/// commit and while a big (spilled) transaction is open: the snapshot
/// still reads the versions it saw, the open transaction commits whole,
/// and everything is there after a reopen.
#[tokio::test]
async fn checkpoint_keeps_what_open_snapshots_read() {
    let dir = fresh_dir("checkpoint");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let w = db.connect().await.expect("connect");
    w.execute_script(
        "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL);
         INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 1000) g",
    )
    .await
    .expect("schema");
    let old = db.connect().await.expect("connect");
    old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ", &[])
        .await
        .expect("begin rr");
    assert_eq!(text(&old, "SELECT v FROM t WHERE id = 1").await, "a1");
    let big = db.connect().await.expect("connect");
    big.execute("BEGIN", &[]).await.expect("begin big");
    big.execute(
        "INSERT INTO t SELECT g, repeat('b', 1000) FROM generate_series(1001, 21000) g",
        &[],
    )
    .await
    .expect("big insert");
    // Small commits racing CHECKPOINTs.
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let c = db.connect().await.expect("connect");
                for i in 0..25 {
                    c.execute(
                        &format!("UPDATE t SET v = 'w{n}-{i}' WHERE id = {}", 1 + n),
                        &[],
                    )
                    .await
                    .expect("update");
                }
            })
        })
        .collect();
    let cp = db.connect().await.expect("connect");
    for _ in 0..5 {
        cp.execute("CHECKPOINT", &[]).await.expect("checkpoint");
    }
    for h in writers {
        h.await.expect("writer");
    }
    w.execute("DELETE FROM t WHERE id = 10", &[])
        .await
        .expect("delete");
    cp.execute("CHECKPOINT", &[]).await.expect("checkpoint");
    assert_eq!(text(&old, "SELECT v FROM t WHERE id = 1").await, "a1");
    assert_eq!(text(&old, "SELECT v FROM t WHERE id = 4").await, "a4");
    assert_eq!(text(&old, "SELECT v FROM t WHERE id = 10").await, "a10");
    assert_eq!(int(&old, "SELECT count(*) FROM t").await, 1000);
    big.execute("COMMIT", &[]).await.expect("commit big");
    cp.execute("CHECKPOINT", &[]).await.expect("checkpoint");
    assert_eq!(int(&old, "SELECT count(*) FROM t").await, 1000);
    old.execute("COMMIT", &[]).await.expect("end rr");
    assert_eq!(text(&w, "SELECT v FROM t WHERE id = 4").await, "w3-24");
    assert_eq!(int(&w, "SELECT count(*) FROM t").await, 20_999);
    drop((w, old, big, cp));
    drop(db);
    let db = reopen(&dir).await;
    let c = db.connect().await.expect("connect");
    assert_eq!(int(&c, "SELECT count(*) FROM t").await, 20_999);
    assert_eq!(text(&c, "SELECT v FROM t WHERE id = 2").await, "w1-24");
    drop(c);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

const CHECKPOINT_CHILD_ENV: &str = "TUSK_LITE_REVIEW_CHECKPOINT_CHILD_DIR";

/// In the child process: commits (a row each, and a counter) with a
/// CHECKPOINT after every fifth, printing what returned.
#[tokio::test]
async fn child_checkpointer() {
    let Ok(dir) = std::env::var(CHECKPOINT_CHILD_ENV) else {
        return;
    };
    let db = tusk_lite::Database::open(&dir).expect("open");
    let conn = db.connect().await.expect("connect");
    conn.execute_script(
        "CREATE TABLE IF NOT EXISTS r (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE IF NOT EXISTS c (id int PRIMARY KEY, n int NOT NULL)",
    )
    .await
    .expect("schema");
    let first = int(&conn, "SELECT coalesce(max(id), 0)::int8 FROM r").await + 1;
    for n in first.. {
        conn.execute_script(&format!(
            "BEGIN; INSERT INTO r VALUES ({n}, repeat('v', 200)); \
             INSERT INTO c VALUES (1, {n}) ON CONFLICT (id) DO UPDATE SET n = {n}; \
             UPDATE r SET v = 'u{n}' WHERE id = 1; COMMIT"
        ))
        .await
        .expect("commit");
        println!("committed {n}");
        if n % 5 == 0 {
            conn.execute("CHECKPOINT", &[]).await.expect("checkpoint");
            println!("checkpointed {n}");
        }
    }
}

/// kill -9 at moments around CHECKPOINTs (right after one returned, and
/// later): every commit that returned is there after a reopen, whole.
#[tokio::test]
async fn kill_9_right_after_checkpoint_loses_nothing() {
    let dir = fresh_dir("kill-checkpoint");
    let mut committed = 0i64;
    for (round, delay_ms) in [0u64, 0, 3, 20, 60, 150].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "child_checkpointer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHECKPOINT_CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        // Wait for the second CHECKPOINT of this child, then `delay_ms`.
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.expect("line");
            if let Some((_, n)) = line.split_once("committed ") {
                committed = n.trim().parse().expect("number");
            }
            if line.starts_with("checkpointed") {
                seen += 1;
                if seen == 2 {
                    break;
                }
            }
        }
        assert_eq!(seen, 2, "round {round}: the child ran");
        if delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        child.kill().expect("kill -9");
        // What it printed before dying returned before the kill.
        for line in lines.map_while(Result::ok) {
            if let Some((_, n)) = line.split_once("committed ") {
                committed = n.trim().parse().expect("number");
            }
        }
        let _ = child.wait();
        let db = reopen(&dir).await;
        let conn = db.connect().await.expect("connect");
        let max = int(&conn, "SELECT max(id)::int8 FROM r").await;
        let count = int(&conn, "SELECT count(*) FROM r").await;
        let counter = int(&conn, "SELECT n::int8 FROM c WHERE id = 1").await;
        assert!(
            max >= committed,
            "round {round}: lost commit {committed} (max {max})"
        );
        assert_eq!(count, max, "round {round}: rows 1..max whole");
        assert_eq!(counter, max, "round {round}: counter from the same commit");
        assert_eq!(
            text(&conn, "SELECT v FROM r WHERE id = 1").await,
            format!("u{max}"),
            "round {round}"
        );
        eprintln!("round {round}: {max} commits after kill -9");
        committed = max;
        drop(conn);
        drop(db);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// CHECKPOINT in a loop while a big (spilled, streamed) commit is being
/// written, and while a REPEATABLE READ snapshot from before it reads:
/// the commit lands whole, the snapshot keeps its rows, a reopen agrees.
#[tokio::test]
async fn checkpoint_during_a_streamed_commit() {
    let dir = fresh_dir("checkpoint-stream");
    let db = tusk_lite::Database::open(&dir).expect("open");
    let w = db.connect().await.expect("connect");
    w.execute_script(
        "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL);
         INSERT INTO t SELECT g, 'a' FROM generate_series(1, 100) g",
    )
    .await
    .expect("schema");
    let old = db.connect().await.expect("connect");
    old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ", &[])
        .await
        .expect("begin rr");
    assert_eq!(int(&old, "SELECT count(*) FROM t").await, 100);
    w.execute("BEGIN", &[]).await.expect("begin big");
    w.execute(
        "INSERT INTO t SELECT g, repeat('b', 1000) FROM generate_series(101, 30100) g",
        &[],
    )
    .await
    .expect("big insert");
    w.execute("UPDATE t SET v = 'c' WHERE id <= 100", &[])
        .await
        .expect("big update");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cp = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let c = db.connect().await.expect("connect");
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                c.execute("CHECKPOINT", &[]).await.expect("checkpoint");
                n += 1;
            }
            n
        })
    };
    w.execute("COMMIT", &[]).await.expect("commit big");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let n = cp.await.expect("checkpointer");
    eprintln!("{n} CHECKPOINTs ran beside the commit");
    assert_eq!(int(&old, "SELECT count(*) FROM t").await, 100);
    assert_eq!(int(&old, "SELECT count(*) FROM t WHERE v = 'a'").await, 100);
    old.execute("COMMIT", &[]).await.expect("end rr");
    w.execute("CHECKPOINT", &[]).await.expect("checkpoint");
    assert_eq!(int(&w, "SELECT count(*) FROM t").await, 30_100);
    assert_eq!(int(&w, "SELECT count(*) FROM t WHERE v = 'c'").await, 100);
    drop((w, old));
    drop(db);
    let db = reopen(&dir).await;
    let c = db.connect().await.expect("connect");
    assert_eq!(int(&c, "SELECT count(*) FROM t").await, 30_100);
    assert_eq!(int(&c, "SELECT count(*) FROM t WHERE v = 'c'").await, 100);
    drop(c);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
