//! Portals (Bind into a named portal, Execute with a row limit,
//! PortalSuspended) and SQL cursors (DECLARE / FETCH, WITH HOLD), against
//! the oracle: the same rows as `query`.

use std::time::Duration;

use futures_util::StreamExt;
use tusk::{ErrorKind, Executor, Prepare, Query, Row};

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer (connection wedged)"))
}

/// A table of `n` rows of several types (and NULLs), built without
/// `generate_series` or user-defined types (so that tusk-lite can run it).
async fn table(c: &tusk::Connection, n: i64) {
    c.execute_script(
        "CREATE TABLE t (id int8 PRIMARY KEY, name text, score float8, at timestamptz, m text)",
    )
    .await
    .unwrap();
    let moods = ["sad", "ok", "happy"];
    for chunk in (1..=n).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|g| {
                let name = if g % 7 == 0 {
                    "NULL".to_string()
                } else {
                    format!("'name {g}'")
                };
                format!(
                    "({g}, {name}, {g}.0 / 3.0, TIMESTAMPTZ '2024-01-{:02} {:02}:{:02}:00+00', '{}')",
                    1 + g / 1440,
                    g / 60 % 24,
                    g % 60,
                    moods[usize::try_from(g % 3).unwrap_or(0)]
                )
            })
            .collect();
        c.execute_script(&format!("INSERT INTO t VALUES {}", values.join(", ")))
            .await
            .unwrap();
    }
}

/// A row as comparable text (every column's value read as `Value`'s JSON).
fn key(r: &Row) -> String {
    (0..r.len())
        .map(|i| format!("{:?}", r.get::<tusk::types::Value>(i)))
        .collect::<Vec<_>>()
        .join("|")
}

fn keys(rows: &[Row]) -> Vec<String> {
    rows.iter().map(key).collect()
}

async fn open_portals(tx: &impl Executor) -> i64 {
    tx.query_scalar(
        "SELECT count(*) FROM pg_cursors WHERE name LIKE 'tusk_portal%'",
        &[],
    )
    .await
    .unwrap()
}

const SQL: &str = "SELECT id, name, score, at, m FROM t WHERE id > $1 ORDER BY id";

#[tokio::test]
async fn a_portal_gives_the_rows_of_query_in_batches() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    table(&c, 1000).await;
    let oracle = keys(&c.query(SQL, &[&10i64]).await.unwrap());
    assert_eq!(oracle.len(), 990);
    let stmt = c.prepare(SQL).await.unwrap();
    let tx = c.transaction().await.unwrap();
    let queries = [
        Query::new(SQL),
        Query::new(SQL).uncached(),
        Query::statement(&stmt),
    ];
    for (qi, q) in queries.iter().enumerate() {
        for fetch in [1u32, 7, 64, 990, 991, 5000] {
            let mut p = within("open", tx.query_portal(q, &[&10i64], fetch))
                .await
                .unwrap();
            let mut got = Vec::new();
            let mut batches = 0;
            while let Some(b) = within("batch", p.next_batch()).await.unwrap() {
                assert!(!b.is_empty() && b.len() <= fetch as usize, "{}", b.len());
                batches += 1;
                got.extend(b);
            }
            assert_eq!(keys(&got), oracle, "query {qi}, fetch {fetch}");
            assert_eq!(batches, 990usize.div_ceil(fetch as usize), "fetch {fetch}");
            assert!(p.command_tag().is_some_and(|t| t.starts_with("SELECT")));
            assert!(p.is_exhausted());
            assert!(within("after end", p.next_batch()).await.unwrap().is_none());
        }
    }
    // As a stream, row by row, fetching batches on demand.
    let s = tx.query_portal(SQL, &[&10i64], 33).await.unwrap();
    let got: Vec<Row> = within("stream", s.map(Result::unwrap).collect()).await;
    assert_eq!(keys(&got), oracle);
    let all = tx
        .query_portal(SQL, &[&10i64], 100)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(keys(&all), oracle);
    // No rows: one empty answer, no batch.
    let mut p = tx.query_portal(SQL, &[&5000i64], 10).await.unwrap();
    assert!(p.next_batch().await.unwrap().is_none());
    drop(p);
    assert_eq!(within("count", open_portals(&tx)).await, 0);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_portal_outside_a_transaction_is_a_typed_error_and_nothing_runs() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE w (id int8)").await.unwrap();
    table(&c, 100).await;
    let e = within(
        "idle",
        c.query_portal("INSERT INTO w VALUES (1) RETURNING id", &[], 10),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotInTransaction, "{e}");
    assert!(e.to_string().contains("transaction"), "{e}");
    let n: i64 = c.query_scalar("SELECT count(*) FROM w", &[]).await.unwrap();
    assert_eq!(n, 0, "nothing was sent");
    // A transaction block begun by hand is one.
    c.execute_script("BEGIN").await.unwrap();
    let mut p = c
        .query_portal("SELECT id FROM t ORDER BY id LIMIT 10", &[], 4)
        .await
        .unwrap();
    let mut n = 0;
    while let Some(b) = p.next_batch().await.unwrap() {
        n += b.len();
    }
    assert_eq!(n, 10);
    drop(p);
    c.execute_script("COMMIT").await.unwrap();
    // fetch_size 0 is refused before anything is sent.
    let mut c = c;
    let tx = c.transaction().await.unwrap();
    let e = tx.query_portal("SELECT 1", &[], 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    assert_eq!(tx.query_scalar::<i32>("SELECT 1", &[]).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_portals_read_in_turns_with_queries_between() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    table(&c, 500).await;
    let a_sql = "SELECT id, name FROM t ORDER BY id";
    let b_sql = "SELECT id, m FROM t ORDER BY id DESC";
    let oracle_a = keys(&c.query(a_sql, &[]).await.unwrap());
    let oracle_b = keys(&c.query(b_sql, &[]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    let mut a = tx.query_portal(a_sql, &[], 17).await.unwrap();
    let mut b = tx.query_portal(b_sql, &[], 50).await.unwrap();
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    let mut turn = 0;
    loop {
        // Both portals' next batches in flight at once, and a query too.
        let (ra, rb, n) = within(
            "turn",
            futures_util::future::join3(
                a.next_batch(),
                b.next_batch(),
                tx.query_scalar::<i64>("SELECT count(*) FROM t", &[]),
            ),
        )
        .await;
        assert_eq!(n.unwrap(), 500);
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        if ra.is_none() && rb.is_none() {
            break;
        }
        got_a.extend(ra.unwrap_or_default());
        got_b.extend(rb.unwrap_or_default());
        tx.execute(
            "UPDATE t SET score = score + 1 WHERE id = $1",
            &[&(turn + 1i64)],
        )
        .await
        .unwrap();
        turn += 1;
    }
    assert_eq!(keys(&got_a), oracle_a);
    assert_eq!(keys(&got_b), oracle_b);
    assert_eq!(turn, 30, "a: 30 batches of 17, b: 10 of 50");
    drop((a, b));
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_error_mid_fetch_ends_the_portal_and_fails_the_transaction_only() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    let sql = "SELECT g, 100 / (55 - g) FROM generate_series(1, 100) g";
    {
        let tx = c.transaction().await.unwrap();
        let mut p = tx.query_portal(sql, &[], 10).await.unwrap();
        let mut rows = 0;
        let e = loop {
            match within("batch", p.next_batch()).await {
                Ok(Some(b)) => rows += b.len(),
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(rows, 50, "five whole batches before the failing one");
        assert_eq!(e.code(), Some(tusk::SqlState::DIVISION_BY_ZERO), "{e}");
        assert_eq!(e.kind(), ErrorKind::Data);
        assert!(p.is_exhausted());
        assert!(p.next_batch().await.unwrap().is_none(), "ended");
        // The transaction failed, as with any error; commit says so.
        let e = tx.query_scalar::<i32>("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(e.code(), Some(tusk::SqlState::IN_FAILED_SQL_TRANSACTION));
        drop(p);
        assert!(tx.commit().await.is_err());
    }
    // The same through the stream: the error is an item, then the end.
    let tx = c.transaction().await.unwrap();
    let mut s = tx.query_portal(sql, &[], 10).await.unwrap();
    let mut ok = 0;
    let mut errs = 0;
    while let Some(r) = within("row", s.next()).await {
        match r {
            Ok(_) => ok += 1,
            Err(_) => errs += 1,
        }
    }
    assert_eq!((ok, errs), (50, 1));
    drop(s);
    tx.rollback().await.unwrap();
    assert_eq!(c.query_scalar::<i32>("SELECT 7", &[]).await.unwrap(), 7);
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test]
async fn a_portal_open_when_its_transaction_ends() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    table(&c, 100).await;
    for commit in [true, false] {
        let tx = c.transaction().await.unwrap();
        let mut p = tx
            .query_portal("SELECT id FROM t ORDER BY id", &[], 10)
            .await
            .unwrap();
        assert_eq!(p.next_batch().await.unwrap().unwrap().len(), 10);
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        let e = within("after end", p.next_batch()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotInTransaction, "{e}");
        assert!(p.is_exhausted());
        // Closing a portal whose transaction ended sends nothing, fails
        // nothing.
        within("close", p.close()).await.unwrap();
        assert_eq!(c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap(), 1);
    }
    // Dropped after the end, in the next transaction: that one is
    // untouched. (A `Transaction` borrows its connection, so only a
    // transaction block begun by hand gets here.)
    c.execute_script("BEGIN").await.unwrap();
    let p = c
        .query_portal("SELECT id FROM t ORDER BY id", &[], 10)
        .await
        .unwrap();
    c.execute_script("COMMIT; BEGIN; CREATE TABLE kept (id int)")
        .await
        .unwrap();
    drop(p);
    c.execute("INSERT INTO kept VALUES (1)", &[]).await.unwrap();
    c.execute_script("COMMIT").await.unwrap();
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM kept", &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_portals_are_closed_and_the_connection_stays_in_step() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    table(&c, 300).await;
    let oracle = keys(&c.query(SQL, &[&0i64]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    // Many portals opened and dropped in one transaction do not pile up.
    for i in 0..50 {
        let mut p = within("open", tx.query_portal(SQL, &[&0i64], 10))
            .await
            .unwrap();
        if i % 2 == 0 {
            within("first", p.next_batch()).await.unwrap();
        }
        if i % 3 == 0 {
            // A batch in flight when the portal goes.
            let mut f = Box::pin(p.next_batch());
            let _ = futures_util::poll!(f.as_mut());
            drop(f);
        }
        drop(p);
    }
    assert_eq!(within("count", open_portals(&tx)).await, 0);
    // A next_batch future dropped midway loses no rows.
    let mut p = within("open 25", tx.query_portal(SQL, &[&0i64], 25))
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut k = 0;
    loop {
        k += 1;
        if k % 2 == 0 {
            let mut f = Box::pin(p.next_batch());
            // (Its batch may be there at the first poll: then it is
            // handed out, not lost.)
            if let std::task::Poll::Ready(r) = futures_util::poll!(f.as_mut()) {
                match r.unwrap() {
                    Some(b) => got.extend(b),
                    None => break,
                }
            }
            drop(f);
            // Another query runs meanwhile.
            within("between", tx.query_scalar::<i32>("SELECT 1", &[]))
                .await
                .unwrap();
        }
        match within("batch", p.next_batch()).await.unwrap() {
            Some(b) => got.extend(b),
            None => break,
        }
    }
    assert_eq!(keys(&got), oracle);
    // An explicit close waits for the server.
    within("close", p.close()).await.unwrap();
    assert_eq!(within("count after close", open_portals(&tx)).await, 0);
    // The opening future dropped midway: the portal is closed too.
    for _ in 0..5 {
        let mut f = Box::pin(tx.query_portal(SQL, &[&0i64], 10));
        let _ = futures_util::poll!(f.as_mut());
        drop(f);
    }
    assert_eq!(within("count", open_portals(&tx)).await, 0);
    within("commit", tx.commit()).await.unwrap();
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test]
async fn a_user_defined_type_decodes_in_every_batch() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    table(&c, 100).await;
    c.execute_script(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         ALTER TABLE t ALTER COLUMN m TYPE mood USING m::mood",
    )
    .await
    .unwrap();
    let tx = c.transaction().await.unwrap();
    let mut p = tx
        .query_portal("SELECT m FROM t ORDER BY id", &[], 30)
        .await
        .unwrap();
    let mut moods = Vec::new();
    while let Some(b) = p.next_batch().await.unwrap() {
        for r in b {
            moods.push(r.get::<tusk::types::Value>(0));
        }
    }
    assert_eq!(moods.len(), 100);
    assert_eq!(
        format!("{:?}", moods[0]),
        format!(
            "{:?}",
            tx.query_one("SELECT m FROM t WHERE id = 1", &[])
                .await
                .unwrap()
                .get::<tusk::types::Value>(0)
        )
    );
    assert_eq!(
        format!("{:?}", moods[99]),
        format!(
            "{:?}",
            tx.query_one("SELECT m FROM t WHERE id = 100", &[])
                .await
                .unwrap()
                .get::<tusk::types::Value>(0)
        )
    );
}

#[tokio::test]
async fn declared_cursors_fetch_the_rows_of_query() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    table(&c, 400).await;
    let oracle = keys(&c.query(SQL, &[&3i64]).await.unwrap());
    let tx = c.transaction().await.unwrap();
    for name in [
        "plain",
        "With \"quotes\" and spaces",
        "Кириллица; DROP TABLE t --",
    ] {
        let mut cur = within("declare", tx.declare_cursor(name, SQL, &[&3i64], false))
            .await
            .unwrap();
        assert_eq!(cur.name(), name);
        let n: i64 = tx
            .query_scalar("SELECT count(*) FROM pg_cursors WHERE name = $1", &[&name])
            .await
            .unwrap();
        assert_eq!(n, 1, "declared by its exact name");
        let mut got = Vec::new();
        loop {
            let b = within("fetch", cur.fetch(64)).await.unwrap();
            if b.is_empty() {
                break;
            }
            assert!(b.len() <= 64);
            got.extend(b);
        }
        assert_eq!(keys(&got), oracle, "{name}");
        cur.close().await.unwrap();
        let n: i64 = tx
            .query_scalar("SELECT count(*) FROM pg_cursors WHERE name = $1", &[&name])
            .await
            .unwrap();
        assert_eq!(n, 0, "closed");
    }
    let mut cur = tx
        .declare_cursor("all", SQL, &[&3i64], false)
        .await
        .unwrap();
    let first = cur.fetch(5).await.unwrap();
    let rest = cur.fetch_all().await.unwrap();
    assert_eq!(keys(&[first, rest].concat()), oracle);
    assert_eq!(
        cur.fetch(0).await.unwrap_err().kind(),
        ErrorKind::Conversion
    );
    drop(cur);
    // Bad names are refused before anything is sent.
    for bad in ["", "a\0b", &"x".repeat(64)] {
        let e = tx
            .declare_cursor(bad, "SELECT 1", &[], false)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    }
    // A name taken twice is the server's error.
    let _c1 = tx
        .declare_cursor("dup", "SELECT 1", &[], false)
        .await
        .unwrap();
    let e = tx
        .declare_cursor("dup", "SELECT 1", &[], false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(tusk::SqlState::DUPLICATE_CURSOR), "{e}");
}

#[tokio::test]
async fn a_held_cursor_outlives_its_transaction_and_works_outside_one() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    table(&c, 250).await;
    let oracle = keys(&c.query(SQL, &[&0i64]).await.unwrap());
    // Without WITH HOLD, outside a transaction: typed, nothing sent.
    let e = c
        .declare_cursor("nohold", SQL, &[&0i64], false)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotInTransaction, "{e}");
    let mut cur = within("declare", c.declare_cursor("held", SQL, &[&0i64], true))
        .await
        .unwrap();
    assert!(cur.is_held());
    let mut got = Vec::new();
    let mut i = 0;
    loop {
        // Transactions come and go between fetches.
        if i % 2 == 0 {
            c.execute_script("BEGIN; SELECT 1; COMMIT").await.unwrap();
        }
        i += 1;
        let b = within("fetch", cur.fetch(100)).await.unwrap();
        if b.is_empty() {
            break;
        }
        got.extend(b);
    }
    assert_eq!(keys(&got), oracle);
    drop(cur);
    // Dropped: closed (its Close goes out with the next request).
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM pg_cursors WHERE name = 'held'", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test]
async fn a_cursor_dropped_after_its_transaction_never_aborts_the_next() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    // (A `Transaction` borrows its connection, so only a transaction block
    // begun by hand gets here.)
    c.execute_script("BEGIN").await.unwrap();
    let mut cur = c
        .declare_cursor("gone", "SELECT generate_series(1, 10)", &[], false)
        .await
        .unwrap();
    assert_eq!(cur.fetch(3).await.unwrap().len(), 3);
    c.execute_script("COMMIT").await.unwrap();
    let e = cur.fetch(3).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotInTransaction, "{e}");
    c.execute_script("BEGIN; CREATE TABLE kept (id int)")
        .await
        .unwrap();
    drop(cur);
    c.execute("INSERT INTO kept VALUES (1)", &[]).await.unwrap();
    c.execute_script("COMMIT").await.unwrap();
    assert_eq!(
        c.query_scalar::<i64>("SELECT count(*) FROM kept", &[])
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_inside_transactions_behind_a_transaction_mode_pgbouncer() {
    use tusk_testkit::{Cluster, PgBouncer, PoolMode};
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    bouncer.admin("SET default_pool_size = 2").unwrap();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let setup = tusk::connect(&url).await.unwrap();
    setup
        .execute_script("CREATE TABLE t AS SELECT g::int8 AS id FROM generate_series(1, 3000) g")
        .await
        .unwrap();
    let tasks: Vec<_> = (0..2i64)
        .map(|k| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut c = tusk::connect(&url).await.unwrap();
                let sql = "SELECT id FROM t WHERE id % 2 = $1 ORDER BY id";
                for _ in 0..5 {
                    let oracle: Vec<i64> = c
                        .query(sql, &[&k])
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    let tx = c.transaction().await.unwrap();
                    // Outside a transaction block it would be refused; in
                    // one, PgBouncer keeps the server connection, and the
                    // portal (named on the server) with it.
                    let mut p = tx.query_portal(sql, &[&k], 111).await.unwrap();
                    let mut got = Vec::new();
                    while let Some(b) = within("batch", p.next_batch()).await.unwrap() {
                        got.extend(b.iter().map(|r| r.get::<i64>(0)));
                        tx.query_scalar::<i32>("SELECT 1", &[]).await.unwrap();
                    }
                    assert_eq!(got, oracle);
                    drop(p);
                    tx.commit().await.unwrap();
                    let e = c.query_portal(sql, &[&k], 10).await.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::NotInTransaction);
                }
            })
        })
        .collect();
    for t in tasks {
        within("client", t).await.unwrap();
    }
}
