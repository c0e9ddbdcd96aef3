//! Adversarial probes of the reset carried in the next holder's Sync
//! group (issue 11 review): a previous holder who plants statements under
//! the reset's names, or leaves transaction defaults that make the reset's
//! own transaction wait or fail.

use std::time::Duration;

use tusk::{Executor, Prepare};
use tusk_pool::{Pool, ResetPolicy};
use tusk_testkit::TestDb;

use crate::APP;

fn schema(db: &TestDb) {
    crate::app_roles();
    db.psql(&format!(
        "CREATE FUNCTION plant(what text, body text) RETURNS int LANGUAGE plpgsql AS $$
         DECLARE r record; n int := 0;
         BEGIN
             FOR r IN SELECT name FROM pg_catalog.pg_prepared_statements
                      WHERE statement = what AND NOT from_sql LOOP
                 EXECUTE pg_catalog.format('DEALLOCATE %I', r.name);
                 EXECUTE pg_catalog.format('PREPARE %I AS %s', r.name, body);
                 n := n + 1;
             END LOOP;
             RETURN n;
         END $$;
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP};"
    ))
    .expect("schema");
}

/// A pool of one connection (the next holder gets the same one).
fn one(db: &TestDb) -> Pool {
    crate::app_pool(db, |b| b.max_size(1).reset(ResetPolicy::default()))
}

/// Makes sure the reset statements are prepared on the pool's connection.
async fn warm(pool: &Pool) {
    for _ in 0..2 {
        let c = pool.acquire().await.unwrap();
        c.execute("SELECT 1", &[]).await.unwrap();
    }
}

/// A previous holder replaces the reset's `COMMIT` (inside a function,
/// out of the driver's sight) with a statement that sets a tenant: the
/// next holder must not see the tenant, nor run inside a transaction it
/// did not open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_planted_under_a_reset_name_never_runs() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    let n: i32 = c
        .query_scalar(
            "SELECT plant('COMMIT', 'SELECT pg_catalog.set_config(''app.tenant'', ''42'', false)')",
            &[],
        )
        .await
        .unwrap();
    // (1 on a build that named the reset's statements.)
    assert!(n <= 1);
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    // Failing safe (an error, the connection closed) would do; a leak
    // would not.
    if let Ok(t) = c
        .query_scalar::<Option<String>>("SELECT current_setting('app.tenant', true)", &[])
        .await
    {
        assert_eq!(t.unwrap_or_default(), "", "the planted statement ran");
        assert_eq!(
            c.transaction_status(),
            tusk::TransactionStatus::Idle,
            "the next holder runs inside the reset's transaction"
        );
    }
    drop(c);

    // The advisory unlock replaced by a statement of the same tag.
    let c = pool.acquire().await.unwrap();
    c.execute("SELECT pg_advisory_lock(4242)", &[])
        .await
        .unwrap();
    let n: i32 = c
        .query_scalar(
            "SELECT plant('SELECT pg_catalog.pg_advisory_unlock_all()', 'SELECT true')",
            &[],
        )
        .await
        .unwrap();
    assert!(n <= 1);
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let _ = c.execute("SELECT 1", &[]).await;
    let fresh = crate::fresh(&db).await;
    let got: bool = fresh
        .query_scalar("SELECT pg_try_advisory_lock(4242)", &[])
        .await
        .unwrap();
    assert!(got, "the previous holder's advisory lock is still held");
}

/// A previous holder makes every transaction `SERIALIZABLE READ ONLY
/// DEFERRABLE`: the reset's own transaction must not wait for a safe
/// snapshot behind someone else's serializable transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_defaults_left_behind_do_not_stall_the_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let other = crate::fresh(&db).await;
    other
        .execute_script("BEGIN ISOLATION LEVEL SERIALIZABLE; CREATE TEMP TABLE w (a int); INSERT INTO w VALUES (1); SELECT * FROM w")
        .await
        .unwrap();
    let c = pool.acquire().await.unwrap();
    c.execute_script(
        "SET default_transaction_isolation = serializable; \
         SET default_transaction_read_only = on; \
         SET default_transaction_deferrable = on",
    )
    .await
    .unwrap();
    drop(c);
    let first = async {
        let c = pool.acquire().await.unwrap();
        c.query_scalar::<i32>("SELECT 1", &[]).await
    };
    let r = tokio::time::timeout(Duration::from_secs(5), first).await;
    other.execute_script("COMMIT").await.unwrap();
    let r =
        r.expect("the next holder's first statement waited behind another session's transaction");
    assert_eq!(r.unwrap(), 1);
}

/// A previous holder leaves `default_transaction_read_only` on, with a
/// temp table and a SQL prepared statement: the reset's read-only
/// transaction still resets them, and the connection stays in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_default_left_behind_does_not_defeat_the_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute_script(
        "CREATE TEMP TABLE scratch (a int); PREPARE mine AS SELECT 1; \
         SET default_transaction_read_only = on; SET statement_timeout = 1",
    )
    .await
    .unwrap();
    drop(c);
    let c = pool.acquire().await.unwrap();
    let n: i64 = c
        .query_scalar(
            "SELECT (SELECT count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql) \
             + (SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'scratch')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
    let ro: String = c
        .query_scalar("SHOW transaction_read_only", &[])
        .await
        .unwrap();
    assert_eq!(ro, "off");
    drop(c);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// A previous holder prepares a statement inside a function (the text
/// shows no `PREPARE`): the next holder must not find it, as on a fresh
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_prepared_inside_a_function_does_not_reach_the_next_holder() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!(
        "CREATE FUNCTION prep() RETURNS void LANGUAGE plpgsql AS $$
         BEGIN EXECUTE 'PREPARE mine AS SELECT 1'; END $$;
         GRANT EXECUTE ON FUNCTION prep() TO {APP};"
    ))
    .expect("prep");
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute("SELECT prep()", &[]).await.unwrap();
    drop(c);
    let c = pool.acquire().await.unwrap();
    let n: i64 = c
        .query_scalar(
            "SELECT count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 0, "the previous holder's PREPARE survived");
}

/// A previous holder replaces one of the driver's cached statements with
/// its own (inside a function): the next holder running the same SQL must
/// get its own statement's answer, never the planted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_planted_under_a_cached_name_never_answers_the_next_holder() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!(
        "CREATE TABLE secrets (id int PRIMARY KEY, v text);
         INSERT INTO secrets VALUES (1, 'genuine');
         ALTER TABLE secrets OWNER TO {APP};"
    ))
    .expect("table");
    let pool = one(&db);
    const Q: &str = "SELECT v FROM secrets WHERE id = $1";
    for _ in 0..3 {
        let v: String = pool.query_scalar(Q, &[&1i32]).await.unwrap();
        assert_eq!(v, "genuine");
    }
    let c = pool.acquire().await.unwrap();
    let n: i32 = c
        .query_scalar(
            "SELECT plant($1, 'SELECT ''forged''::text WHERE $1::int IS NOT NULL')",
            &[&Q],
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "the statement is cached under a name");
    drop(c);
    // (The driver re-prepares the statement the reset deallocated.)
    let v: String = pool.query_scalar(Q, &[&1i32]).await.unwrap();
    assert_eq!(
        v, "genuine",
        "the next holder got the planted statement's answer"
    );
    // The reset found a SQL-level prepared statement it was not told of
    // and failed closed: that session was closed, not reused.
    assert_eq!(pool.stats().created_total, 2, "the session was replaced");
}

/// One holder leaves a tenant, a temp table and a held advisory lock.
async fn leave_dirty(pool: &Pool) {
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    c.execute_script(
        "SET app.tenant = '42'; CREATE TEMP TABLE IF NOT EXISTS scratch (a int); \
         SELECT pg_advisory_lock(77)",
    )
    .await
    .unwrap();
}

/// The session shows nothing [`leave_dirty`] left (checked on `c`).
async fn is_reset(c: &impl Executor, what: &str) {
    let seen: String = c
        .query_scalar(
            "SELECT coalesce(current_setting('app.tenant', true), '') || '/' \
             || (SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'scratch') || '/' \
             || (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
                 AND pid = pg_backend_pid())",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(seen, "/0/0", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_requests_of_every_shape_run_on_a_reset_session() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!(
        "CREATE TABLE shapes (id int PRIMARY KEY); ALTER TABLE shapes OWNER TO {APP};"
    ))
    .expect("table");
    let pool = one(&db);
    warm(&pool).await;

    // A pipelined atomic batch whose second statement fails: nothing of
    // it stays, the reset does.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let mut b = tusk::Batch::atomic();
    b.push("INSERT INTO shapes VALUES (1)", &[]);
    b.push("INSERT INTO shapes VALUES (1)", &[]);
    let r = c.batch(&b).await.unwrap();
    assert!(r.iter().all(|r| r.is_err()), "{r:?}");
    is_reset(&c, "behind a failed atomic batch").await;
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM shapes", &[])
        .await
        .unwrap();
    assert_eq!(n, 0, "a rolled-back batch statement stayed");
    drop(c);

    // A successful atomic batch.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let mut b = tusk::Batch::atomic();
    b.push("INSERT INTO shapes VALUES (2)", &[]);
    b.push("SELECT current_setting('app.tenant', true)", &[]);
    let r = c.batch(&b).await.unwrap();
    assert!(r.iter().all(|r| r.is_ok()), "{r:?}");
    is_reset(&c, "behind an atomic batch").await;
    drop(c);

    // A stream.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let s = c
        .query_stream(
            "SELECT coalesce(current_setting('app.tenant', true), '') FROM generate_series(1, 3)",
            &[],
        )
        .await
        .unwrap();
    for row in s.collect_all().await.unwrap() {
        assert_eq!(row.get::<String>(0), "");
    }
    is_reset(&c, "behind a stream").await;
    drop(c);

    // A statement prepared first (its Parse is the first request), then
    // run; a wrong parameter type at Bind.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let st = c
        .prepare("SELECT coalesce(current_setting('app.tenant', true), '') || $1::text")
        .await
        .unwrap();
    let v: String = c.query_scalar(&st, &[&"x"]).await.unwrap();
    assert_eq!(v, "x");
    drop(c);
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    assert!(c
        .query_scalar::<i32>("SELECT $1::int", &[&"not an int"])
        .await
        .is_err());
    is_reset(&c, "behind a Bind-time error").await;
    drop(c);

    // The driver's own timeout on the first request.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let q = tusk::Query::new("SELECT pg_sleep(5)").timeout(Duration::from_millis(100));
    let e = crate::bounded("timed query", c.execute(q, &[]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Timeout, "{e}");
    is_reset(&c, "behind a timed-out first statement").await;
    drop(c);

    // The first request's future dropped before it was polled to the end.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let f = c.execute("SELECT pg_sleep(0.3)", &[]);
    let _ = tokio::time::timeout(Duration::from_millis(1), f).await;
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    is_reset(&c, "after a dropped first request").await;
    drop(c);

    // A dropped future never polled at all.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    drop(c.execute("SELECT 1", &[]));
    is_reset(&c, "after an unpolled first request").await;
    drop(c);

    // statement_timeout hits the first request.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let e = c
        .execute_script("SET statement_timeout = 50; SELECT pg_sleep(1)")
        .await
        .unwrap_err();
    assert!(e.code().is_some(), "{e}");
    is_reset(&c, "behind a statement_timeout").await;
    drop(c);
    leave_dirty(&pool).await;
    is_reset(&pool, "through pool.query").await;
    let fresh = crate::fresh(&db).await;
    let got: bool = fresh
        .query_scalar("SELECT pg_try_advisory_lock(77)", &[])
        .await
        .unwrap();
    assert!(got);
}

/// A previous holder sets `idle_session_timeout`: with the reset only
/// queued, the session sits idle in the pool with the setting still on,
/// and the server ends it. The next holder must still be served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_timeout_left_behind_does_not_fail_the_next_holder() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    for how in ["pool.query", "acquire"] {
        let c = pool.acquire().await.unwrap();
        c.execute("SET idle_session_timeout = 50", &[])
            .await
            .unwrap();
        drop(c);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let v: i32 = if how == "pool.query" {
            crate::bounded("query", pool.query_scalar("SELECT 1", &[]))
                .await
                .unwrap_or_else(|e| panic!("{how}: {e}"))
        } else {
            let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
            c.query_scalar("SELECT 1", &[])
                .await
                .unwrap_or_else(|e| panic!("{how}: {e}"))
        };
        assert_eq!(v, 1);
    }
}

/// A previous holder's session advisory lock is released soon after the
/// connection comes back, even while nobody takes the connection: another
/// session waiting for the lock must not wait for the pool's next user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advisory_lock_is_released_while_the_connection_sits_idle() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute("SELECT pg_advisory_lock(99)", &[]).await.unwrap();
    drop(c);
    let other = crate::fresh(&db).await;
    let waited = tokio::time::timeout(
        Duration::from_secs(3),
        other.execute("SELECT pg_advisory_lock(99)", &[]),
    )
    .await;
    assert!(
        waited.is_ok(),
        "the lock stayed held by a connection idle in the pool"
    );
    waited.unwrap().unwrap();
    other
        .execute("SELECT pg_advisory_unlock_all()", &[])
        .await
        .unwrap();
    // The idle connection is still fine for its next holder.
    let c = pool.acquire().await.unwrap();
    let n: i64 = c
        .query_scalar(
            "SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
             AND pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// The pool behind a transaction-mode PgBouncer (`pooler_mode=on`), with
/// fewer server connections than pooled ones: the reset (its `DO` block
/// included) and the idle flush work, and checkouts interleave without
/// errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_transaction_mode_pgbouncer_the_reset_works() {
    use tusk_testkit::{Cluster, PgBouncer, PoolMode};
    let db = crate::db();
    let bouncer = PgBouncer::start(Cluster::shared(), PoolMode::Transaction).unwrap();
    bouncer.admin("SET default_pool_size = 1").unwrap();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let pool = Pool::new(
        tusk_pool::PoolConfig::builder()
            .url(&url)
            .expect("url")
            .max_size(3)
            .acquire_timeout(Duration::from_secs(10))
            .build(),
    )
    .expect("pool");
    let mut tasks = Vec::new();
    for t in 0..6 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let c = pool.acquire().await.unwrap();
                let v: String = c
                    .query_scalar(
                        "SELECT coalesce(current_setting('app.tenant', true), '')",
                        &[],
                    )
                    .await
                    .unwrap();
                assert_eq!(v, "", "task {t} round {i}");
                c.execute("SELECT pg_catalog.set_config('app.tenant', 'x', true)", &[])
                    .await
                    .unwrap();
                if i % 5 == 0 {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
            }
        }));
    }
    for t in tasks {
        crate::bounded("task", t).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pool.query_scalar::<i32>("SELECT 1", &[]).await.unwrap(), 1);
}

/// `close` while a returned connection's reset is queued, or being sent
/// alone by the idle flush: nothing stays open, nothing hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_a_reset_is_queued_or_being_flushed() {
    let db = crate::db();
    schema(&db);
    for wait_ms in [0u64, 19, 20, 21, 25, 40] {
        let pool = crate::app_pool(&db, |b| b.max_size(2));
        let c = pool.acquire().await.unwrap();
        c.execute("SELECT pg_advisory_lock(5)", &[]).await.unwrap();
        drop(c);
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        let open = crate::bounded("close", pool.close(Duration::from_secs(2))).await;
        assert_eq!(open, 0, "after {wait_ms} ms");
        assert_eq!(pool.stats().size, 0, "after {wait_ms} ms");
        let fresh = crate::fresh(&db).await;
        let got: bool = crate::bounded(
            "lock",
            fresh.query_scalar("SELECT pg_advisory_lock(5) IS NOT NULL", &[]),
        )
        .await
        .unwrap();
        assert!(got);
    }
}

/// The next holder's first request opens a transaction with options
/// (`pool.transaction`, and a driver transaction on an acquired
/// connection): the options hold and the session is reset inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_options_as_the_first_request() {
    use tusk_pool::PooledTransactionOptions;
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    leave_dirty(&pool).await;
    let got = pool
        .transaction(
            PooledTransactionOptions::new().serializable().read_only(),
            async |tx| {
                let iso: String = tx.query_scalar("SHOW transaction_isolation", &[]).await?;
                let ro: String = tx.query_scalar("SHOW transaction_read_only", &[]).await?;
                is_reset(tx, "inside pool.transaction").await;
                Ok(format!("{iso}/{ro}"))
            },
        )
        .await
        .unwrap();
    assert_eq!(got, "serializable/on");
    leave_dirty(&pool).await;
    let mut c = pool.acquire().await.unwrap();
    {
        let tx = c.transaction().await.unwrap();
        is_reset(&tx, "inside a driver transaction").await;
        tx.commit().await.unwrap();
    }
    drop(c);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

/// The reset sent alone for an idle connection fails: the connection is
/// closed, and the next holder gets a fresh one (its statement runs, on a
/// session with nothing of the previous holder's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_idle_flush_closes_the_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    db.psql("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC")
        .expect("revoke");
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
        .expect("grant");
    let t: String = pool
        .query_scalar(
            "SELECT coalesce(current_setting('app.tenant', true), '')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(t, "");
    assert_eq!(pool.stats().created_total, 2, "the connection was replaced");
}

/// The previous holder's notifications, delivered while the connection
/// sat idle (and its reset was sent alone meanwhile, or carried by the
/// next holder), never reach the next holder, who still gets its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_for_the_previous_holder_never_reach_the_next() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let other = crate::fresh(&db).await;
    for idle_ms in [0u64, 5, 100] {
        let c = pool.acquire().await.unwrap();
        c.execute("LISTEN jobs", &[]).await.unwrap();
        other.execute("NOTIFY jobs, 'old1'", &[]).await.unwrap();
        c.execute("SELECT 1", &[]).await.unwrap();
        drop(c);
        other.execute("NOTIFY jobs, 'old2'", &[]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(idle_ms)).await;
        other.execute("NOTIFY jobs, 'old3'", &[]).await.unwrap();
        let c = pool.acquire().await.unwrap();
        c.execute("LISTEN jobs", &[]).await.unwrap();
        other.execute("NOTIFY jobs, 'new'", &[]).await.unwrap();
        c.execute("SELECT 1", &[]).await.unwrap();
        let n = crate::bounded("notification", c.next_notification())
            .await
            .unwrap();
        assert_eq!(n.payload, "new", "after {idle_ms} ms idle");
        let more = tokio::time::timeout(Duration::from_millis(100), c.next_notification()).await;
        assert!(more.is_err(), "after {idle_ms} ms idle: {more:?}");
        c.execute("UNLISTEN *", &[]).await.unwrap();
    }
}

/// A previous holder's `statement_timeout = 1` applies to the reset's
/// own first statements (until its `RESET ALL`): it must never fail the
/// next holder's statement.
///
/// The server arms that timeout when the reset's first message arrives,
/// and nothing sent after it can disarm it sooner, so a backend
/// descheduled for over a millisecond on a loaded machine (CI ran this
/// at load 5-9 on 2 cores) can still have the reset cancelled: the pool
/// then closes that connection and runs the statement on a fresh one
/// (`Error::not_run`). What must hold is that no caller sees an error and
/// that this stays the exception, not that it never happens (it never
/// did on a quiet machine; under load CI saw 1 replacement in 300).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_millisecond_statement_timeout_never_fails_the_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    warm(&pool).await;
    let mut failed = 0;
    for _ in 0..300 {
        let c = pool.acquire().await.unwrap();
        if c.execute("SET statement_timeout = 1", &[]).await.is_err() {
            failed += 1;
        }
        drop(c);
    }
    assert_eq!(failed, 0, "resets failed under a 1 ms statement_timeout");
    let replaced = pool.stats().created_total - 1;
    eprintln!("connections replaced after a cancelled reset: {replaced} of 300");
    assert!(
        replaced <= 30,
        "{replaced} of 300 resets were cancelled: the timeout outlives RESET ALL"
    );
}

/// A transaction the previous holder opened through the `Deref` target
/// and abandoned mid-flight (its future dropped before the server
/// answered) is not committed by the reset queued behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_transaction_is_not_committed_by_the_reset() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!(
        "CREATE TABLE abandoned (id int); ALTER TABLE abandoned OWNER TO {APP};"
    ))
    .expect("table");
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    let raw: &tusk::Connection = &c;
    let f = raw.simple_query("BEGIN; INSERT INTO abandoned VALUES (1); SELECT pg_sleep(0.3)");
    assert!(tokio::time::timeout(Duration::from_millis(50), f)
        .await
        .is_err());
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let _ = crate::bounded("first statement", c.query_scalar::<i32>("SELECT 1", &[])).await;
    drop(c);
    let fresh = crate::fresh(&db).await;
    let n: i64 = fresh
        .query_scalar("SELECT count(*) FROM abandoned", &[])
        .await
        .unwrap();
    assert_eq!(n, 0, "the abandoned transaction was committed by the reset");
}

/// The previous holder switched role and made a temp table, a sequence's
/// `currval` and a held cursor as that role: the reset (run as the
/// application role again) still removes them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_made_under_another_role_is_reset_too() {
    let db = crate::db();
    schema(&db);
    db.psql(&format!(
        "GRANT TEMP ON DATABASE \"{}\" TO {ADMIN};
         CREATE SEQUENCE admin_seq; ALTER SEQUENCE admin_seq OWNER TO {ADMIN};",
        db.name(),
        ADMIN = crate::ADMIN
    ))
    .expect("grants");
    let pool = one(&db);
    warm(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute_script(&format!(
        "SET ROLE {}; CREATE TEMP TABLE admin_scratch (a int); SELECT nextval('admin_seq'); \
         BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT 1; COMMIT; \
         SELECT pg_advisory_lock(31)",
        crate::ADMIN
    ))
    .await
    .unwrap();
    drop(c);
    let c = pool.acquire().await.unwrap();
    let seen: String = c
        .query_scalar(
            "SELECT current_user::text || '/' \
             || (SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'admin_scratch') || '/' \
             || (SELECT count(*) FROM pg_catalog.pg_cursors WHERE name = 'held') || '/' \
             || (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
                 AND pid = pg_backend_pid())",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(seen, format!("{APP}/0/0/0"));
    let e = c.query_scalar::<i64>("SELECT lastval()", &[]).await;
    assert!(e.is_err(), "lastval() after the reset: {e:?}");
    drop(c);
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}
