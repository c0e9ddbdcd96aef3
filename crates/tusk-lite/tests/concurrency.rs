//! Concurrent sessions, checked against PostgreSQL 15 and tusk-lite with
//! the same code: READ COMMITTED waits for a locked row and re-checks its
//! predicate on the newest version; a waits-for cycle raises 40P01.

mod common;

use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

use common::{lite_client, pg_client};

/// Runs `scenario` with a way to open sessions on one database.
async fn both<F, Fut>(scenario: F)
where
    F: Fn(Vec<Arc<Client>>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = tusk_lite::Database::open_in_memory();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Arc::new(lite_client(&db).await));
    }
    scenario(clients).await;

    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    let url = pg.url();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Arc::new(pg_client(&url).await));
    }
    scenario(clients).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_waits_and_rechecks() {
    both(|c| async move {
        c[0].batch_execute(
            "CREATE TABLE kv (k int PRIMARY KEY, v int); INSERT INTO kv VALUES (1, 10), (2, 20)",
        )
        .await
        .expect("setup");
        c[0].batch_execute("BEGIN; UPDATE kv SET v = v + 1 WHERE k = 1")
            .await
            .expect("t1");
        let (a, b) = (c[1].clone(), c[2].clone());
        // Waits for t1, then re-checks v = 10 on the new version (11): no row.
        let w1 = tokio::spawn(async move {
            a.execute("UPDATE kv SET v = v * 100 WHERE k = 1 AND v = 10", &[])
                .await
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !w1.is_finished(),
            "the second writer waits for the row lock"
        );
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(w1.await.expect("join").expect("update"), 0);
        // A writer that waits applies its change to the newest version.
        c[0].batch_execute("BEGIN; UPDATE kv SET v = v + 1 WHERE k = 2")
            .await
            .expect("t1");
        let w2 =
            tokio::spawn(
                async move { b.execute("UPDATE kv SET v = v * 10 WHERE k = 2", &[]).await },
            );
        tokio::time::sleep(Duration::from_millis(100)).await;
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(w2.await.expect("join").expect("update"), 1);
        let rows = c[0]
            .query("SELECT v FROM kv ORDER BY k", &[])
            .await
            .expect("select");
        let v: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(v, [11, 210]);
        c[0].batch_execute("DROP TABLE kv").await.expect("drop");
    })
    .await;
}

/// UPDATE ... FROM and DELETE ... USING wait for a locked target row,
/// then re-check the join's WHERE on its newest version (with the same
/// joined row), as PostgreSQL's EvalPlanQual does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_from_and_delete_using_wait_and_recheck() {
    both(|c| async move {
        c[0].batch_execute(
            "CREATE TABLE acc (k int PRIMARY KEY, v int); CREATE TABLE src (k int, d int);
             INSERT INTO acc VALUES (1, 10), (2, 20); INSERT INTO src VALUES (1, 5), (2, 7)",
        )
        .await
        .expect("setup");
        // Row 1 changes under the waiting UPDATE so that it no longer
        // qualifies: only row 2 is updated.
        c[0].batch_execute("BEGIN; UPDATE acc SET v = 100 WHERE k = 1")
            .await
            .expect("t1");
        let a = c[1].clone();
        let w = tokio::spawn(async move {
            a.execute(
                "UPDATE acc SET v = acc.v + src.d FROM src WHERE src.k = acc.k AND acc.v < 50",
                &[],
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !w.is_finished(),
            "the UPDATE ... FROM waits for the row lock"
        );
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(w.await.expect("join").expect("update from"), 1);
        // A waiting UPDATE ... FROM applies its change to the newest version.
        c[0].batch_execute("BEGIN; UPDATE acc SET v = v + 1 WHERE k = 2")
            .await
            .expect("t1");
        let a = c[1].clone();
        let w = tokio::spawn(async move {
            a.execute(
                "UPDATE acc SET v = acc.v * 10 FROM src WHERE src.k = acc.k AND src.k = 2",
                &[],
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(w.await.expect("join").expect("update from"), 1);
        let v: Vec<i32> = c[0]
            .query("SELECT v FROM acc ORDER BY k", &[])
            .await
            .expect("select")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(v, [100, 280]);
        // DELETE ... USING: row 1 stops qualifying while it waits.
        c[0].batch_execute("BEGIN; UPDATE acc SET v = 0 WHERE k = 1")
            .await
            .expect("t1");
        let a = c[2].clone();
        let w = tokio::spawn(async move {
            a.execute(
                "DELETE FROM acc USING src WHERE src.k = acc.k AND acc.v >= 100",
                &[],
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !w.is_finished(),
            "the DELETE ... USING waits for the row lock"
        );
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(w.await.expect("join").expect("delete using"), 1);
        let left: Vec<(i32, i32)> = c[0]
            .query("SELECT k, v FROM acc ORDER BY k", &[])
            .await
            .expect("select")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(left, [(1, 0)]);
        c[0].batch_execute("DROP TABLE acc; DROP TABLE src")
            .await
            .expect("drop");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_is_detected() {
    both(|c| async move {
        c[0].batch_execute(
            "CREATE TABLE d (k int PRIMARY KEY, v int); INSERT INTO d VALUES (1, 0), (2, 0)",
        )
        .await
        .expect("setup");
        c[0].batch_execute("BEGIN; UPDATE d SET v = 1 WHERE k = 1")
            .await
            .expect("t1");
        c[1].batch_execute("BEGIN; UPDATE d SET v = 2 WHERE k = 2")
            .await
            .expect("t2");
        let a = c[0].clone();
        let t1 =
            tokio::spawn(async move { a.batch_execute("UPDATE d SET v = 1 WHERE k = 2").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r2 = c[1].batch_execute("UPDATE d SET v = 2 WHERE k = 1").await;
        // One of the two fails with 40P01; the other then proceeds.
        let winner = match r2 {
            Err(e) => {
                assert_eq!(e.code().map(|s| s.code()), Some("40P01"), "{e}");
                c[1].batch_execute("ROLLBACK")
                    .await
                    .expect("rollback loser");
                t1.await.expect("join").expect("t1 proceeds");
                0
            }
            Ok(()) => {
                let e = t1.await.expect("join").unwrap_err();
                assert_eq!(e.code().map(|s| s.code()), Some("40P01"), "{e}");
                c[0].batch_execute("ROLLBACK")
                    .await
                    .expect("rollback loser");
                1
            }
        };
        c[winner]
            .batch_execute("COMMIT")
            .await
            .expect("commit winner");
        c[2].batch_execute("DROP TABLE d").await.expect("drop");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn for_update_nowait_and_skip_locked() {
    both(|c| async move {
        c[0].batch_execute("CREATE TABLE q (id int PRIMARY KEY, state text); INSERT INTO q SELECT g, 'new' FROM generate_series(1, 5) g")
            .await
            .expect("setup");
        // Worker 0 claims the first job.
        c[0].batch_execute("BEGIN").await.expect("begin");
        let r = c[0]
            .query("SELECT id FROM q WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", &[])
            .await
            .expect("claim");
        assert_eq!(r[0].get::<_, i32>(0), 1);
        // Worker 1 skips it and gets the next; only that row is locked.
        c[1].batch_execute("BEGIN").await.expect("begin");
        let r = c[1]
            .query("SELECT id FROM q WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", &[])
            .await
            .expect("claim");
        assert_eq!(r[0].get::<_, i32>(0), 2);
        // NOWAIT on a locked row fails at once with 55P03.
        let e = c[2].query("SELECT * FROM q WHERE id = 1 FOR UPDATE NOWAIT", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|s| s.code()), Some("55P03"), "{e}");
        // FOR SHARE waits for the FOR UPDATE lock, then sees the newest version.
        let w = c[2].clone();
        let waiter = tokio::spawn(async move { w.query("SELECT state FROM q WHERE id = 1 FOR SHARE", &[]).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(!waiter.is_finished(), "FOR SHARE waits for FOR UPDATE");
        c[0].batch_execute("UPDATE q SET state = 'done' WHERE id = 1; COMMIT").await.expect("finish job");
        let r = waiter.await.expect("join").expect("share");
        assert_eq!(r[0].get::<_, &str>(0), "done");
        c[1].batch_execute("COMMIT").await.expect("commit");
        // Rows changed away from the predicate while waiting are skipped.
        c[0].batch_execute("BEGIN; UPDATE q SET state = 'taken' WHERE id = 3").await.expect("t0");
        let w = c[1].clone();
        let waiter = tokio::spawn(async move {
            w.query("SELECT id FROM q WHERE id = 3 AND state = 'new' FOR UPDATE", &[]).await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(waiter.await.expect("join").expect("select").len(), 0);
        c[0].batch_execute("DROP TABLE q").await.expect("drop");
    })
    .await;
}

/// A CancelRequest stops a statement waiting for a row lock with 57014.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_a_waiting_statement() {
    let db = tusk_lite::Database::open_in_memory();
    let lite = tusk_lite::serve(&db, "127.0.0.1:0").expect("listen");
    let lite_url = format!("host=127.0.0.1 port={} user=app dbname=app", lite.port());
    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    for url in [lite_url, pg.url()] {
        let a = pg_client(&url).await;
        let b = Arc::new(pg_client(&url).await);
        a.batch_execute("CREATE TABLE c (k int PRIMARY KEY, v int); INSERT INTO c VALUES (1, 0)")
            .await
            .expect("setup");
        a.batch_execute("BEGIN; UPDATE c SET v = 1 WHERE k = 1")
            .await
            .expect("lock");
        let token = b.cancel_token();
        let b2 = b.clone();
        let waiter =
            tokio::spawn(async move { b2.execute("UPDATE c SET v = 2 WHERE k = 1", &[]).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        token.cancel_query(NoTls).await.expect("cancel");
        let e = waiter.await.expect("join").unwrap_err();
        assert_eq!(e.code().map(|s| s.code()), Some("57014"), "{e}");
        a.batch_execute("COMMIT").await.expect("commit");
        let v: i32 = b
            .query_one("SELECT v FROM c WHERE k = 1", &[])
            .await
            .expect("select")
            .get(0);
        assert_eq!(v, 1);
        a.batch_execute("DROP TABLE c").await.expect("drop");
    }
}

/// Runs `first` in an open transaction on session 0, starts `second` on
/// session 1, checks that it waits, ends the first transaction (COMMIT or
/// ROLLBACK) and returns what the second statement got.
async fn second_waits(
    c: &[Arc<Client>],
    first: &str,
    second: &str,
    commit: bool,
) -> Result<(), tokio_postgres::Error> {
    c[0].batch_execute(&format!("BEGIN; {first}"))
        .await
        .expect("first");
    let b = c[1].clone();
    let s = second.to_string();
    let waiter = tokio::spawn(async move { b.batch_execute(&s).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !waiter.is_finished(),
        "`{second}` waits for the transaction that ran `{first}`"
    );
    c[0].batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
        .await
        .expect("end the first transaction");
    waiter.await.expect("join")
}

/// Two sessions insert the same primary key or unique value: the second
/// waits for the first; after its COMMIT it fails with 23505, after its
/// ROLLBACK it goes ahead. The same for a deleted value being re-inserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_inserter_of_a_key_waits_for_the_first() {
    both(|c| async move {
        c[0].batch_execute("CREATE TABLE uk (id int PRIMARY KEY, code text UNIQUE)")
            .await
            .expect("setup");
        let pairs = [
            (
                "INSERT INTO uk VALUES (1, 'a')",
                "INSERT INTO uk VALUES (1, 'b')",
            ),
            (
                "INSERT INTO uk VALUES (2, 'x')",
                "INSERT INTO uk VALUES (3, 'x')",
            ),
        ];
        for (first, second) in pairs {
            for commit in [false, true] {
                c[2].batch_execute("DELETE FROM uk").await.expect("reset");
                let r = second_waits(&c, first, second, commit).await;
                if commit {
                    let e = r.unwrap_err();
                    assert_eq!(e.code().map(|s| s.code()), Some("23505"), "{e}");
                } else {
                    r.expect("goes ahead after the first rolls back");
                }
            }
        }
        // A value being deleted: the inserter waits; after COMMIT it goes ahead.
        c[2].batch_execute("DELETE FROM uk; INSERT INTO uk VALUES (5, 'del')")
            .await
            .expect("reset");
        second_waits(
            &c,
            "DELETE FROM uk WHERE id = 5",
            "INSERT INTO uk VALUES (6, 'del')",
            true,
        )
        .await
        .expect("the value is free once the delete commits");
        c[0].batch_execute("DROP TABLE uk").await.expect("drop");
    })
    .await;
}

/// A child row referencing a parent being deleted waits; after the
/// delete commits it fails with 23503, after a rollback it goes ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_key_check_waits_for_a_parent_delete() {
    both(|c| async move {
        c[0].batch_execute(
            "CREATE TABLE fp (id int PRIMARY KEY); CREATE TABLE fc (pid int REFERENCES fp)",
        )
        .await
        .expect("setup");
        for commit in [false, true] {
            c[2].batch_execute("DELETE FROM fc; DELETE FROM fp; INSERT INTO fp VALUES (1)")
                .await
                .expect("reset");
            let r = second_waits(
                &c,
                "DELETE FROM fp WHERE id = 1",
                "INSERT INTO fc VALUES (1)",
                commit,
            )
            .await;
            if commit {
                let e = r.unwrap_err();
                assert_eq!(e.code().map(|s| s.code()), Some("23503"), "{e}");
            } else {
                r.expect("the parent is back");
            }
        }
        c[0].batch_execute("DROP TABLE fc, fp").await.expect("drop");
    })
    .await;
}

/// pg_terminate_backend() ends a session that runs a statement (its
/// client gets FATAL 57P01 instead of the result) and one that is idle
/// (its connection closes); the caller gets true, and false for a pid no
/// session has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_backend_ends_busy_and_idle_sessions() {
    both(|c| async move {
        let pid = |i: usize| {
            let c = c[i].clone();
            async move {
                c.query_one("SELECT pg_backend_pid()", &[])
                    .await
                    .expect("pid")
                    .get::<_, i32>(0)
            }
        };
        let (busy, idle) = (pid(1).await, pid(2).await);
        let sleeper = {
            let c = c[1].clone();
            tokio::spawn(async move { c.simple_query("SELECT pg_sleep(30)").await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let killed: bool = c[0]
            .query_one("SELECT pg_terminate_backend($1)", &[&busy])
            .await
            .expect("terminate")
            .get(0);
        assert!(killed);
        let err = tokio::time::timeout(Duration::from_secs(10), sleeper)
            .await
            .expect("the sleeper ends at once")
            .expect("task")
            .expect_err("terminated");
        let db = err.as_db_error().expect("an ErrorResponse");
        assert_eq!(db.code().code(), "57P01");
        assert_eq!(db.severity(), "FATAL");
        assert_eq!(
            db.message(),
            "terminating connection due to administrator command"
        );

        let killed: bool = c[0]
            .query_one("SELECT pg_terminate_backend($1)", &[&idle])
            .await
            .expect("terminate")
            .get(0);
        assert!(killed);
        for _ in 0..100 {
            if c[2].is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(c[2].is_closed(), "the idle session's connection closed");
        assert!(c[2].simple_query("SELECT 1").await.is_err());

        // No such session; NULL in, NULL out; the caller is unharmed.
        let rows = c[0]
            .simple_query("SELECT pg_terminate_backend(1), pg_terminate_backend(NULL)")
            .await
            .expect("terminate nobody");
        match &rows[1] {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                assert_eq!(r.get(0), Some("f"));
                assert_eq!(r.get(1), None);
            }
            other => panic!("a row, not {other:?}"),
        }
        let e = c[0]
            .simple_query("SELECT pg_terminate_backend(1, -1)")
            .await
            .expect_err("negative timeout");
        assert_eq!(e.code().map(|c| c.code()), Some("22003"), "{e:?}");
    })
    .await;
}

/// pg_advisory_lock() waits while another session holds the key, until
/// it is unlocked; pg_try_advisory_lock() does not wait;
/// lock_timeout ends a wait with 55P03.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_locks_wait_for_other_sessions() {
    both(|c| async move {
        c[0].batch_execute("SELECT pg_advisory_lock(42)")
            .await
            .expect("lock");
        let tried: bool = c[1]
            .query_one("SELECT pg_try_advisory_lock(42)", &[])
            .await
            .expect("try")
            .get(0);
        assert!(!tried, "held by another session");
        let b = c[1].clone();
        let waiter = tokio::spawn(async move {
            b.query_one("SELECT pg_advisory_lock(42), pg_advisory_unlock(42)", &[])
                .await
                .map(|r| r.get::<_, bool>(1))
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "the second session waits");
        let unlocked: bool = c[0]
            .query_one("SELECT pg_advisory_unlock(42)", &[])
            .await
            .expect("unlock")
            .get(0);
        assert!(unlocked);
        let got = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter goes ahead")
            .expect("join")
            .expect("lock and unlock");
        assert!(got);
        c[0].batch_execute("SELECT pg_advisory_lock(42)")
            .await
            .expect("lock again");
        c[2].batch_execute("SET lock_timeout = '100ms'")
            .await
            .expect("set");
        let e = c[2]
            .batch_execute("SELECT pg_advisory_lock(42)")
            .await
            .expect_err("lock timeout");
        assert_eq!(e.code().map(|c| c.code()), Some("55P03"), "{e:?}");
    })
    .await;
}

/// Like [`second_waits`] with COMMIT, giving the rows (as text) or the
/// SQLSTATE the waiting statement got.
async fn rows_after_wait(
    c: &[Arc<Client>],
    first: &str,
    second: &str,
) -> Result<Vec<Vec<String>>, String> {
    c[0].batch_execute(&format!("BEGIN; {first}"))
        .await
        .expect("first");
    let b = c[1].clone();
    let s = second.to_string();
    let waiter = tokio::spawn(async move { b.simple_query(&s).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !waiter.is_finished(),
        "`{second}` waits for the transaction that ran `{first}`"
    );
    c[0].batch_execute("COMMIT").await.expect("commit");
    match waiter.await.expect("join") {
        Ok(msgs) => Ok(msgs
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect()),
        Err(e) => Err(e.code().map(|s| s.code().to_string()).unwrap_or_default()),
    }
}

/// A statement that waits behind another session's ALTER TABLE, TRUNCATE
/// or DROP TABLE runs against the definition that committed, as
/// PostgreSQL's (which locks the table while analysing the statement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_waiting_for_ddl_sees_the_new_definition() {
    both(|c| async move {
        c[0].batch_execute(
            "CREATE TABLE dw (a int PRIMARY KEY, b int); CREATE INDEX dw_b ON dw (b); \
             INSERT INTO dw VALUES (0, 0)",
        )
        .await
        .expect("setup");
        let one = |c: Arc<Client>, sql: &'static str| async move {
            let rows = c.simple_query(sql).await.expect(sql);
            rows.iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or("NULL").to_string())
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        // A new column type: the waiting INSERT stores text, the index too.
        let r = rows_after_wait(
            &c,
            "ALTER TABLE dw ALTER COLUMN b TYPE text",
            "INSERT INTO dw VALUES (1, 2)",
        )
        .await;
        assert_eq!(r, Ok(vec![]));
        assert_eq!(
            one(c[2].clone(), "SELECT a, b || 'x' FROM dw WHERE b = '2'").await,
            [["1", "2x"]]
        );
        // A waiting UPDATE binds against the column's new type.
        let r = rows_after_wait(
            &c,
            "ALTER TABLE dw ALTER COLUMN b TYPE int USING b::int",
            "UPDATE dw SET b = b + 1 WHERE a = 1 RETURNING b",
        )
        .await;
        assert_eq!(r, Ok(vec![vec!["3".to_string()]]));
        // An added column with a default: the waiting INSERT fills it.
        let r = rows_after_wait(
            &c,
            "ALTER TABLE dw ADD COLUMN c int DEFAULT 5",
            "INSERT INTO dw (a, b) VALUES (2, 4) RETURNING *",
        )
        .await;
        assert_eq!(r, Ok(vec![vec!["2".into(), "4".into(), "5".into()]]));
        // A dropped column: the waiting SELECT no longer returns it.
        let r = rows_after_wait(
            &c,
            "ALTER TABLE dw DROP COLUMN c",
            "SELECT * FROM dw WHERE a = 2",
        )
        .await;
        assert_eq!(r, Ok(vec![vec!["2".into(), "4".into()]]));
        // A statement prepared before the ALTER (Parse/Bind/Execute with
        // the plan cached) re-plans after its wait too: its int parameter
        // goes into the column as text.
        let ins = c[1]
            .prepare("INSERT INTO dw (a, b) VALUES ($1, $2)")
            .await
            .expect("prepare");
        c[0].batch_execute("BEGIN; ALTER TABLE dw ALTER COLUMN b TYPE text")
            .await
            .expect("alter");
        let b = c[1].clone();
        let waiter = tokio::spawn(async move { b.execute(&ins, &[&7i32, &8i32]).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(!waiter.is_finished(), "the prepared INSERT waits");
        c[0].batch_execute("COMMIT").await.expect("commit");
        assert_eq!(waiter.await.expect("join").expect("insert"), 1);
        assert_eq!(
            one(c[2].clone(), "SELECT b || 'x' FROM dw WHERE b = '8'").await,
            [["8x"]]
        );
        // TRUNCATE: the waiting SELECT sees the emptied table.
        let r = rows_after_wait(&c, "TRUNCATE dw", "SELECT count(*) FROM dw").await;
        assert_eq!(r, Ok(vec![vec!["0".into()]]));
        // DROP TABLE: the waiting statement finds no table (42P01).
        let r = rows_after_wait(&c, "DROP TABLE dw", "INSERT INTO dw VALUES (9, 9)").await;
        assert_eq!(r, Err("42P01".to_string()));
    })
    .await;
}

/// UPDATE, DELETE and FOR UPDATE over a key range wait for a locked row
/// and re-check the whole WHERE on its newest version: a row a concurrent
/// update moved out of the range is skipped; one it moved into the range
/// was not in the statement's snapshot, so it is not seen (PostgreSQL's
/// EvalPlanQual re-checks only the rows its scan found).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_writes_wait_and_recheck() {
    both(|c| async move {
        c[0].batch_execute(
            "CREATE TABLE rg (k int PRIMARY KEY, a int, v int); CREATE INDEX rg_a ON rg (a); \
             INSERT INTO rg SELECT g, g, 0 FROM generate_series(1, 10) g",
        )
        .await
        .expect("setup");
        let r = rows_after_wait(
            &c,
            "UPDATE rg SET a = 100 WHERE k = 5; UPDATE rg SET a = 4 WHERE k = 9",
            "UPDATE rg SET v = 1 WHERE a BETWEEN 3 AND 7 RETURNING k",
        )
        .await;
        let mut r = r.expect("update");
        r.sort();
        assert_eq!(r, [["3"], ["4"], ["6"], ["7"]]);
        let r = rows_after_wait(
            &c,
            "UPDATE rg SET v = 50 WHERE k = 2",
            "DELETE FROM rg WHERE k >= 1 AND k < 4 AND v < 10 RETURNING k",
        )
        .await;
        let mut r = r.expect("delete");
        r.sort();
        assert_eq!(r, [["1"], ["3"]]);
        let r = rows_after_wait(
            &c,
            "UPDATE rg SET v = 60 WHERE k = 7",
            "SELECT k FROM rg WHERE k > 5 AND k <= 8 AND v < 50 ORDER BY k FOR UPDATE",
        )
        .await;
        assert_eq!(r.expect("for update"), [["6"], ["8"]]);
        c[0].batch_execute("DROP TABLE rg").await.expect("drop");
    })
    .await;
}
