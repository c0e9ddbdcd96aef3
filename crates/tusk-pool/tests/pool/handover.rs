//! The reset travels with the next holder's first request, in its Sync
//! group (issue 11: the full reset at no extra round trip): whatever that
//! request is, it runs on a reset session; its failure does not undo the
//! reset; and a reset that fails runs nothing behind it.

use tusk::Executor;
use tusk_pool::{Pool, ResetPolicy};
use tusk_testkit::TestDb;

use crate::APP;

fn schema(db: &TestDb) {
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE handover (id int PRIMARY KEY, v text);
         ALTER TABLE handover OWNER TO {APP};
         CREATE FUNCTION drop_reset_statements() RETURNS void LANGUAGE plpgsql AS $$
         DECLARE r record;
         BEGIN
             FOR r IN SELECT name FROM pg_catalog.pg_prepared_statements
                      WHERE name LIKE 'tusk_reset%' LOOP
                 EXECUTE pg_catalog.format('DEALLOCATE %I', r.name);
             END LOOP;
         END $$;
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP};"
    ))
    .expect("schema");
}

/// A pool of one connection (the next holder gets the same one).
fn one(db: &TestDb) -> Pool {
    crate::app_pool(db, |b| b.max_size(1).reset(ResetPolicy::default()))
}

/// One holder leaves a tenant setting and a changed `work_mem` behind.
async fn leave_dirty(pool: &Pool) {
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    c.execute("SET work_mem = '7MB'", &[]).await.unwrap();
}

/// The holder's session shows none of what [`leave_dirty`] left.
async fn is_reset(c: &impl Executor, what: &str) {
    let seen: String = c
        .query_scalar(
            "SELECT coalesce(current_setting('app.tenant', true), '') || '/' \
             || current_setting('work_mem')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(seen, "/4MB", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_holders_first_statement_may_be_anything() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);

    // Statements that refuse a transaction block or a pipeline.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute("VACUUM handover", &[]).await.unwrap();
    is_reset(&c, "behind VACUUM").await;
    drop(c);
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute("REINDEX TABLE CONCURRENTLY handover", &[])
        .await
        .unwrap();
    is_reset(&c, "behind REINDEX CONCURRENTLY").await;
    drop(c);

    // A simple-protocol query of several statements.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute_script("INSERT INTO handover VALUES (1, 'a'); INSERT INTO handover VALUES (2, 'b')")
        .await
        .unwrap();
    is_reset(&c, "behind a multi-statement simple query").await;
    drop(c);

    // BEGIN: the transaction opened is the holder's, on a reset session.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    c.execute("BEGIN", &[]).await.unwrap();
    assert_eq!(
        c.transaction_status(),
        tusk::TransactionStatus::InTransaction
    );
    is_reset(&c, "inside a transaction opened first").await;
    c.execute("ROLLBACK", &[]).await.unwrap();
    drop(c);

    // COPY: refused by the query methods, the connection stays usable.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    assert!(c.simple_query("COPY handover TO STDOUT").await.is_err());
    is_reset(&c, "behind a refused COPY").await;
    drop(c);

    // A query with parameters, and the pool's own query method.
    leave_dirty(&pool).await;
    let c = pool.acquire().await.unwrap();
    let v: String = c
        .query_scalar("SELECT v FROM handover WHERE id = $1", &[&1i32])
        .await
        .unwrap();
    assert_eq!(v, "a");
    is_reset(&c, "behind a query with parameters").await;
    drop(c);
    leave_dirty(&pool).await;
    is_reset(&pool, "through pool.query").await;
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_first_statement_does_not_undo_the_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for first in [
        "SELECT 1/0",
        "INSERT INTO handover VALUES (NULL, 'x')",
        "SELEC",
    ] {
        leave_dirty(&pool).await;
        let c = pool.acquire().await.unwrap();
        let e = c.execute(first, &[]).await.unwrap_err();
        assert!(e.code().is_some(), "{first}: {e}");
        is_reset(&c, first).await;
        drop(c);
        leave_dirty(&pool).await;
        assert!(pool.execute(first, &[]).await.is_err());
        is_reset(&pool, first).await;
    }
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_fails_runs_nothing_and_closes_the_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    // This holder leaves a tenant behind, and the reset's advisory
    // unlock is refused to the role (the reset's statements are unnamed:
    // no holder can drop or replace them).
    leave_dirty(&pool).await;
    // The next holder already waits when it comes back: its first
    // statement carries the reset (a connection that goes idle has its
    // reset sent alone, and read before it is handed out again:
    // `review::a_failing_idle_flush_closes_the_connection`).
    let c = hand_over_with_a_failing_reset(&db, &pool).await;
    // The next holder's first statement does not run on that session (the
    // reset failed, the server skipped it, the driver closed it): it runs
    // once, on a fresh connection swapped in under the holder.
    let failed = c.id();
    let v: String = c
        .query_scalar(
            "INSERT INTO handover VALUES (9, coalesce(current_setting('app.tenant', true), '')) \
             RETURNING v",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(v, "", "ran on a session that was not reset");
    assert_ne!(c.id(), failed, "the connection was swapped");
    // And what follows runs on the fresh session too.
    is_reset(&c, "after the swap").await;
    drop(c);
    db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
        .expect("grant");
    let fresh = crate::fresh(&db).await;
    let n: i64 = fresh
        .query_scalar("SELECT count(*) FROM handover", &[])
        .await
        .unwrap();
    assert_eq!(n, 1, "the statement ran exactly once");
    let s = pool.stats();
    assert_eq!(s.created_total, 2, "the connection was replaced: {s:?}");
    assert_eq!(s.size, 1, "the failed connection was counted out: {s:?}");
    is_reset(&pool, "on the replacement connection").await;
}

/// A holder leaves tenant 42 behind and the reset is made to fail (the
/// application role may no longer run `pg_advisory_unlock_all()`, which
/// the reset calls; the caller grants it back); the connection goes
/// straight to a waiter, whose first request carries the reset (not sent
/// alone while the connection sits idle). Returns the waiter's handle.
async fn hand_over_with_a_failing_reset(db: &TestDb, pool: &Pool) -> tusk_pool::PooledConnection {
    let c = pool.acquire().await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    db.psql("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC")
        .expect("revoke");
    let next = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire().await })
    };
    crate::bounded("waiter", async {
        while pool.stats().waiting == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    })
    .await;
    drop(c);
    next.await.unwrap().unwrap()
}

/// A carried reset that fails runs nothing behind it on that session,
/// whatever the shape of the next holder's first request: extended, simple
/// protocol (whose reset cannot share its Sync group), a script, an atomic
/// batch. The request runs once, on a fresh connection swapped in under
/// the `acquire()` holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_carried_reset_runs_a_first_request_of_any_shape_once_on_a_fresh_session() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for (id, shape) in (100i32..).zip(["execute", "simple", "script", "batch"]) {
        let c = hand_over_with_a_failing_reset(&db, &pool).await;
        let sql = format!(
            "INSERT INTO handover VALUES ({id}, coalesce(current_setting('app.tenant', true), ''))"
        );
        let r = match shape {
            "execute" => c.execute(sql.as_str(), &[]).await.map(|_| ()),
            "simple" => c.simple_query(&sql).await.map(|_| ()),
            "script" => c
                .execute_script(&format!("{sql}; SELECT 1"))
                .await
                .map(|_| ()),
            _ => {
                let mut b = tusk::Batch::atomic();
                b.push(sql.as_str(), &[]);
                c.batch(&b).await.map(|_| ())
            }
        };
        r.unwrap_or_else(|e| panic!("{shape}: {e}"));
        drop(c);
        db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
            .expect("grant");
        // (Give a statement that did get through twice time to land.)
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let fresh = crate::fresh(&db).await;
        let rows: Vec<String> = fresh
            .query("SELECT v FROM handover WHERE id = $1", &[&id])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(rows, [""], "{shape}: ran once, on a session that was reset");
    }
}

/// Holds the pool's only connection, has `next` queue behind it for
/// `pool.query`, runs `spoil` (which makes the reset carried by `next`'s
/// statement fail), then gives the connection back.
async fn spoil_under_a_waiter<T: Send + 'static>(
    pool: &Pool,
    spoil: impl AsyncFnOnce(i32),
    next: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let c = pool.acquire().await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    let pid: i32 = c
        .query_scalar("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    let next = tokio::spawn(next);
    crate::bounded("waiter", async {
        while pool.stats().waiting == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    })
    .await;
    spoil(pid).await;
    drop(c);
    crate::bounded("next", next).await.unwrap()
}

/// The reset carried by `pool.query`'s statement fails (its role may no
/// longer run a function the reset calls): the statement provably did not
/// run, so the pool runs it on a fresh connection, and the caller just
/// gets its answer, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_query_behind_a_failed_reset_is_run_again_on_a_fresh_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let p = pool.clone();
    let r = spoil_under_a_waiter(
        &pool,
        async |_| {
            db.psql("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC")
                .expect("revoke");
        },
        async move {
            p.query_scalar::<String>(
                "INSERT INTO handover VALUES (7, coalesce(current_setting('app.tenant', true), '')) \
                 RETURNING v",
                &[],
            )
            .await
        },
    )
    .await;
    db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
        .expect("grant");
    assert_eq!(r.unwrap(), "", "ran on a fresh session");
    let s = pool.stats();
    assert_eq!(s.created_total, 2, "the connection was replaced: {s:?}");
    let n: i64 = pool
        .query_scalar("SELECT count(*) FROM handover WHERE id = 7", &[])
        .await
        .unwrap();
    assert_eq!(n, 1, "ran exactly once");
}

/// An administrator terminates the backend of a connection in use
/// (`pg_terminate_backend`): the next `pool.query`, whose statement
/// carries that connection's reset, just works, on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_query_after_an_administrator_terminated_the_backend_just_works() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for round in 0..5 {
        let p = pool.clone();
        let admin = crate::fresh(&db).await;
        let r = spoil_under_a_waiter(
            &pool,
            async |pid| {
                // (The role may terminate its own role's backends.)
                let ok: bool = admin
                    .query_scalar("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .unwrap();
                assert!(ok);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            },
            async move {
                p.query_scalar::<String>(
                    "SELECT coalesce(current_setting('app.tenant', true), '')",
                    &[],
                )
                .await
            },
        )
        .await;
        assert_eq!(r.unwrap_or_else(|e| panic!("round {round}: {e}")), "");
    }
}

/// The reset carried by an `acquire()` holder's first statement fails (the
/// role may no longer run a function the reset calls): the statement
/// provably did not run, so it runs on a fresh connection swapped in under
/// the holder, who just gets its answer, once, and keeps the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_behind_a_failed_reset_runs_its_first_statement_on_a_fresh_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let p = pool.clone();
    let (id, r, again) = spoil_under_a_waiter(
        &pool,
        async |_| {
            db.psql("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC")
                .expect("revoke");
        },
        async move {
            let c = p.acquire().await.unwrap();
            let id = c.id();
            let r = c
                .query_scalar::<String>(
                    "INSERT INTO handover VALUES (8, coalesce(current_setting('app.tenant', true), '')) \
                     RETURNING v",
                    &[],
                )
                .await;
            let again = c.query_scalar::<i32>("SELECT 1", &[]).await;
            (id, r, again)
        },
    )
    .await;
    db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
        .expect("grant");
    assert_eq!(r.unwrap(), "", "ran on a fresh session");
    assert_eq!(again.unwrap(), 1, "the holder keeps a working connection");
    let s = pool.stats();
    assert_eq!(s.created_total, 2, "the connection was replaced: {s:?}");
    assert!(s.retries_total >= 1, "{s:?}");
    let n: i64 = pool
        .query_scalar("SELECT count(*) FROM handover WHERE id = 8", &[])
        .await
        .unwrap();
    assert_eq!(n, 1, "ran exactly once");
    assert_ne!(id, 0);
}

/// An administrator terminates the backend of a connection in use; the
/// `acquire()` holder who queued behind it runs its first statement, which
/// carries that connection's reset, and it just works, on a fresh
/// connection, round after round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_after_an_administrator_terminated_the_backend_just_works() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for round in 0..5 {
        let p = pool.clone();
        let admin = crate::fresh(&db).await;
        let r = spoil_under_a_waiter(
            &pool,
            async |pid| {
                let ok: bool = admin
                    .query_scalar("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .unwrap();
                assert!(ok);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            },
            async move {
                let c = p.acquire().await?;
                c.query_scalar::<String>(
                    "SELECT coalesce(current_setting('app.tenant', true), '')",
                    &[],
                )
                .await
            },
        )
        .await;
        assert_eq!(r.unwrap_or_else(|e| panic!("round {round}: {e}")), "");
    }
    assert_eq!(pool.stats().size, 1);
}

/// An `acquire()` holder whose first request is `transaction()`: its
/// `BEGIN` carries the previous holder's reset; when that reset fails (an
/// administrator terminated the backend, or the role may no longer run a
/// function the reset calls), the `BEGIN` provably did not run and runs
/// again on a fresh connection swapped in under the holder, whose
/// transaction then just works (and sees a reset session), round after
/// round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_begun_behind_a_failed_reset_runs_on_a_fresh_connection() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for round in 0..4i32 {
        let p = pool.clone();
        let admin = crate::fresh(&db).await;
        let revoke = round % 2 == 1;
        let r = spoil_under_a_waiter(
            &pool,
            async |pid| {
                if revoke {
                    db.psql(
                        "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC",
                    )
                    .expect("revoke");
                } else {
                    let ok: bool = admin
                        .query_scalar("SELECT pg_terminate_backend($1)", &[&pid])
                        .await
                        .unwrap();
                    assert!(ok);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            async move {
                let mut c = p.acquire().await?;
                let tx = c.transaction().await?;
                let v = tx
                    .query_scalar::<String>(
                        &format!(
                            "INSERT INTO handover VALUES ({}, coalesce(current_setting('app.tenant', true), '')) \
                             RETURNING v",
                            100 + round
                        ),
                        &[],
                    )
                    .await?;
                tx.commit().await?;
                let again = c.query_scalar::<i32>("SELECT 1", &[]).await?;
                Ok::<_, tusk::Error>((v, again))
            },
        )
        .await;
        if revoke {
            db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
                .expect("grant");
        }
        let (v, again) = r.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(v, "", "round {round}: ran on a reset session");
        assert_eq!(again, 1);
        let n: i64 = pool
            .query_scalar(
                "SELECT count(*) FROM handover WHERE id = $1",
                &[&(100 + round)],
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "round {round}: committed exactly once");
    }
    assert!(pool.stats().retries_total >= 4, "{:?}", pool.stats());
}

/// A `transaction()` call dropped before its `BEGIN` was answered (a
/// timeout around it) leaves no transaction block behind on the holder's
/// connection: the holder's next statements run, and commit, outside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_call_dropped_mid_begin_leaves_no_block_open() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    for (round, micros) in [0u64, 0, 20, 50, 100, 200, 400, 800]
        .into_iter()
        .enumerate()
    {
        let mut c = crate::bounded("acquire", pool.acquire()).await.unwrap();
        let _ =
            tokio::time::timeout(std::time::Duration::from_micros(micros), c.transaction()).await;
        let id = 200 + i32::try_from(round).unwrap();
        c.execute("INSERT INTO handover VALUES ($1, 'x')", &[&id])
            .await
            .unwrap();
        assert_eq!(
            c.transaction_status(),
            tusk::TransactionStatus::Idle,
            "round {round}: the holder's INSERT ran inside a block left open"
        );
        drop(c);
        let n: i64 = crate::fresh(&db)
            .await
            .query_scalar("SELECT count(*) FROM handover WHERE id = $1", &[&id])
            .await
            .unwrap();
        assert_eq!(
            n, 1,
            "round {round}: the acknowledged INSERT was rolled back"
        );
    }
}

/// A holder that makes the next holder's carried reset fail: a SQL-level
/// prepared statement made out of the pool's sight (`PREPARE` inside a
/// function), which the full reset's guard refuses; its next holder (who
/// queued behind it) runs `next` on the pool's only connection.
async fn hide_a_prepare_under_a_waiter<T: Send + 'static>(
    pool: &Pool,
    next: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let c = pool.acquire().await.unwrap();
    c.execute("SET app.tenant = '42'", &[]).await.unwrap();
    c.query("SELECT hide_a_prepare()", &[]).await.unwrap();
    let next = tokio::spawn(next);
    crate::bounded("waiter", async {
        while pool.stats().waiting == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    })
    .await;
    drop(c);
    crate::bounded("next", next).await.unwrap()
}

fn hidden_prepare_schema(db: &TestDb) {
    schema(db);
    db.psql(&format!(
        "CREATE FUNCTION hide_a_prepare() RETURNS void LANGUAGE plpgsql AS $$
         BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;
         GRANT EXECUTE ON FUNCTION hide_a_prepare() TO {APP};"
    ))
    .expect("hidden prepare");
}

const TENANT: &str = "SELECT coalesce(current_setting('app.tenant', true), '')";

/// After a first use behind a failed reset: the connection was replaced,
/// the first use counted as a retry, and the holder keeps a working,
/// reset connection.
async fn replaced(pool: &Pool, what: &str) {
    let s = pool.stats();
    assert_eq!(
        s.created_total, 2,
        "{what}: the connection was replaced: {s:?}"
    );
    assert!(s.retries_total >= 1, "{what}: {s:?}");
}

/// A `COPY ... FROM STDIN` as an `acquire()` holder's first use carries
/// the previous holder's reset; when that reset fails, the COPY provably
/// did not start (the sink exists only once the server is ready for the
/// data, so no data left), and it starts again on a fresh connection
/// swapped in under the holder: every row is loaded, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_in_behind_a_failed_reset_loads_its_rows_once_on_a_fresh_connection() {
    let db = crate::db();
    hidden_prepare_schema(&db);
    let pool = one(&db);
    let p = pool.clone();
    let r = hide_a_prepare_under_a_waiter(&pool, async move {
        let c = p.acquire().await?;
        let mut sink = c.copy_in("COPY handover (id, v) FROM STDIN").await?;
        sink.write(b"300\tx\n301\ty\n").await?;
        let n = sink.finish().await?;
        let tenant: String = c.query_scalar(TENANT, &[]).await?;
        Ok::<_, tusk::Error>((n, tenant))
    })
    .await;
    let (n, tenant) = r.unwrap();
    assert_eq!((n, tenant.as_str()), (2, ""), "loaded on a reset session");
    replaced(&pool, "copy_in").await;
    let n: i64 = pool
        .query_scalar("SELECT count(*) FROM handover WHERE id IN (300, 301)", &[])
        .await
        .unwrap();
    assert_eq!(n, 2, "every row loaded exactly once");
}

/// The same for a `COPY ... TO STDOUT`: it reads from a fresh, reset
/// session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_out_behind_a_failed_reset_runs_on_a_fresh_connection() {
    let db = crate::db();
    hidden_prepare_schema(&db);
    let pool = one(&db);
    let p = pool.clone();
    let r = hide_a_prepare_under_a_waiter(&pool, async move {
        let c = p.acquire().await?;
        let mut out = c
            .copy_out(&format!("COPY ({TENANT} || '|') TO STDOUT"))
            .await?;
        let mut data = Vec::new();
        while let Some(chunk) = out.next_chunk().await {
            data.extend_from_slice(&chunk?);
        }
        Ok::<_, tusk::Error>(data)
    })
    .await;
    assert_eq!(r.unwrap(), b"|\n", "read on a reset session");
    replaced(&pool, "copy_out").await;
}

/// The other first uses of a pooled connection that are not query
/// requests (a prepare, a prepare into the statement cache, a held cursor)
/// behind a failed carried reset: each runs again on a fresh connection
/// swapped in under the holder and works there, on a reset session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepares_and_held_cursors_behind_a_failed_reset_run_on_a_fresh_connection() {
    use tusk::Prepare;
    for shape in ["prepare", "prepare_cached", "declare_cursor"] {
        let db = crate::db();
        hidden_prepare_schema(&db);
        let pool = one(&db);
        let p = pool.clone();
        let r = hide_a_prepare_under_a_waiter(&pool, async move {
            let c = p.acquire().await?;
            let tenant: String = match shape {
                "prepare" => {
                    let stmt = c.prepare(TENANT).await?;
                    c.query_scalar(&stmt, &[]).await?
                }
                "prepare_cached" => {
                    c.prepare_cached(TENANT).await?;
                    c.query_scalar(TENANT, &[]).await?
                }
                _ => {
                    let mut cur = c.declare_cursor("held", TENANT, &[], true).await?;
                    let rows = cur.fetch_all().await?;
                    cur.close().await?;
                    rows[0].get(0)
                }
            };
            Ok::<_, tusk::Error>(tenant)
        })
        .await;
        assert_eq!(
            r.unwrap_or_else(|e| panic!("{shape}: {e}")),
            "",
            "{shape}: ran on a reset session"
        );
        replaced(&pool, shape).await;
    }
}

/// A carried reset that fails part-way (after its `BEGIN`) leaves the
/// session in a failed transaction block, which the server ends for a
/// `ROLLBACK` or `COMMIT`: a first request that starts with one, or a
/// second request already pipelined behind the first, must still never
/// run on that session (it would run with the previous holder's tenant
/// and then again on the fresh connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_ends_the_failed_reset_block_still_runs_once_on_a_fresh_session() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let shapes = [
        "script after ROLLBACK",
        "simple after COMMIT",
        "batch after ROLLBACK",
        "batch, second statement",
        "pipelined behind a SELECT",
        "pipelined behind a ROLLBACK",
    ];
    let mut wrong = Vec::new();
    for (id, shape) in (200i32..).zip(shapes) {
        let c = hand_over_with_a_failing_reset(&db, &pool).await;
        let sql = format!(
            "INSERT INTO handover VALUES ({id}, coalesce(current_setting('app.tenant', true), ''))"
        );
        let r = match shape {
            "script after ROLLBACK" => c
                .execute_script(&format!("ROLLBACK; {sql}"))
                .await
                .map(|_| ()),
            "simple after COMMIT" => c.simple_query(&format!("COMMIT; {sql}")).await.map(|_| ()),
            "batch after ROLLBACK" | "batch, second statement" => {
                let first = if shape == "batch after ROLLBACK" {
                    "ROLLBACK"
                } else {
                    "SELECT 1"
                };
                let mut b = tusk::Batch::new();
                b.push(first, &[]);
                b.push(sql.as_str(), &[]);
                c.batch(&b)
                    .await
                    .and_then(|rs| rs.into_iter().try_for_each(|r| r.map(|_| ())))
            }
            _ => {
                let first = if shape == "pipelined behind a SELECT" {
                    "SELECT 1"
                } else {
                    "ROLLBACK"
                };
                let (a, b) = tokio::join!(c.execute(first, &[]), c.execute(sql.as_str(), &[]));
                a.and(b).map(|_| ())
            }
        };
        // An error is allowed (the caller is told the statement did not
        // run); a row written on the session that was not reset, or no row
        // and no error, is not.
        let err = r.err().map(|e| e.to_string());
        drop(c);
        db.psql("GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO PUBLIC")
            .expect("grant");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let fresh = crate::fresh(&db).await;
        let rows: Vec<String> = fresh
            .query("SELECT v FROM handover WHERE id = $1", &[&id])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        eprintln!("{shape}: rows {rows:?}, error {err:?}");
        if !(rows.is_empty() && err.is_some() || rows == [""]) {
            wrong.push(format!("{shape}: {rows:?} (error: {err:?})"));
        }
    }
    assert!(
        wrong.is_empty(),
        "ran on the session that was not reset, or lost: {wrong:#?}"
    );
}

/// The reset carried by a waiting holder's first request leaves nothing
/// open behind it: that request starts a transaction of its own, as on a
/// fresh session. (The check sent behind the reset's simple Query once
/// ran in an implicit transaction the server kept open into the request:
/// `BEGIN ISOLATION LEVEL SERIALIZABLE` then failed with 25001 'SET
/// TRANSACTION ISOLATION LEVEL must be called before any query', `VACUUM`
/// and `REINDEX CONCURRENTLY` with 25001 'cannot be executed within a
/// pipeline' — only when a holder waited, so that the reset was carried
/// instead of sent alone behind a Sync of its own.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carried_reset_leaves_no_transaction_open_for_the_first_request() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db);
    let mut wrong = Vec::new();
    for shape in [
        "serializable transaction",
        "pool.transaction repeatable read",
        "deferrable transaction",
        "VACUUM",
        "simple VACUUM",
        "REINDEX CONCURRENTLY",
    ] {
        let c = pool.acquire().await.unwrap();
        c.execute("SET app.tenant = '42'", &[]).await.unwrap();
        let p = pool.clone();
        let next = tokio::spawn(async move {
            let r: Result<String, tusk::Error> = match shape {
                "pool.transaction repeatable read" => {
                    p.transaction(
                        tusk_pool::PooledTransactionOptions::new()
                            .isolation(tusk::IsolationLevel::RepeatableRead),
                        async |tx| {
                            let iso: String =
                                tx.query_scalar("SHOW transaction_isolation", &[]).await?;
                            Ok(iso)
                        },
                    )
                    .await
                }
                _ => {
                    async {
                        let mut c = p.acquire().await?;
                        match shape {
                            "serializable transaction" | "deferrable transaction" => {
                                let opts = tusk::TransactionOptions {
                                    isolation: Some(tusk::IsolationLevel::Serializable),
                                    read_only: Some(true),
                                    deferrable: Some(shape == "deferrable transaction"),
                                };
                                let tx = c.transaction_with(opts).await?;
                                let iso: String =
                                    tx.query_scalar("SHOW transaction_isolation", &[]).await?;
                                tx.commit().await?;
                                Ok(iso)
                            }
                            "VACUUM" => {
                                c.execute("VACUUM handover", &[]).await.map(|_| "ok".into())
                            }
                            "simple VACUUM" => {
                                c.simple_query("VACUUM handover").await.map(|_| "ok".into())
                            }
                            _ => c
                                .execute("REINDEX TABLE CONCURRENTLY handover", &[])
                                .await
                                .map(|_| "ok".into()),
                        }
                    }
                    .await
                }
            };
            r
        });
        crate::bounded("waiter", async {
            while pool.stats().waiting == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
        .await;
        drop(c);
        let r = crate::bounded("next", next).await.unwrap();
        eprintln!("{shape}: {r:?}");
        if let Err(e) = r {
            wrong.push(format!("{shape}: {e}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(pool.stats().created_total, 1, "no connection was replaced");
}
