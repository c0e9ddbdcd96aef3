//! Nothing passes between users of a pooled connection (issue 11, items
//! 1-3): every probe runs as a non-superuser application role, and the next
//! holder's view is compared with what a fresh connection shows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tusk::Executor;
use tusk_pool::{Pool, ResetPolicy};
use tusk_testkit::TestDb;

use crate::{ADMIN, APP};

/// Tables, a row-level-security policy on a tenant setting, and functions
/// that change session state out of sight of any text scan.
fn schema(db: &TestDb) {
    crate::app_roles();
    db.psql(&format!(
        "CREATE TABLE docs (tenant text, body text);
         INSERT INTO docs VALUES ('42', 'tenant 42 secret'), ('7', 'tenant 7 doc');
         ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
         CREATE POLICY by_tenant ON docs USING (tenant = current_setting('app.tenant', true));
         GRANT SELECT ON docs TO {APP};
         CREATE TABLE admin_only (x text);
         INSERT INTO admin_only VALUES ('admin secret');
         ALTER TABLE admin_only ENABLE ROW LEVEL SECURITY;
         CREATE POLICY admins ON admin_only USING (current_user = '{ADMIN}');
         GRANT SELECT ON admin_only TO {APP}, {ADMIN};
         CREATE TABLE items (id serial PRIMARY KEY, v text);
         GRANT SELECT, INSERT ON items TO {APP};
         GRANT USAGE ON SEQUENCE items_id_seq TO {APP};
         CREATE FUNCTION login_tenant(t text) RETURNS void LANGUAGE sql
             AS $$ SELECT set_config('app.tenant', t, false) $$;
         CREATE FUNCTION become_admin() RETURNS void LANGUAGE plpgsql
             AS $$ BEGIN EXECUTE 'SET ROLE {ADMIN}'; END $$;
         CREATE FUNCTION mess() RETURNS void LANGUAGE plpgsql AS $$
         BEGIN
             CREATE TEMP TABLE scratch (a int);
             PERFORM set_config('search_path', 'nowhere', false);
             LISTEN jobs;
             PERFORM pg_advisory_lock(4242);
         END $$;
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP};"
    ))
    .expect("schema");
}

/// Session state as a holder sees it, in one row of text.
const PROBE: &str = "SELECT concat_ws(' | ',
    current_user,
    session_user,
    coalesce(current_setting('app.tenant', true), ''),
    current_setting('search_path'),
    (SELECT count(*) FROM docs),
    (SELECT count(*) FROM admin_only),
    (SELECT count(*) FROM pg_listening_channels()),
    to_regclass('pg_temp.scratch') IS NULL,
    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
    (SELECT count(*) FROM pg_cursors),
    (SELECT count(*) FROM pg_prepared_statements WHERE from_sql))";

async fn probe(c: &impl Executor) -> String {
    c.query_scalar(PROBE, &[]).await.expect("probe")
}

/// A pool of one connection (so the next holder gets the same one).
fn one(db: &TestDb, reset: ResetPolicy) -> Pool {
    crate::app_pool(db, |b| b.max_size(1).reset(reset))
}

/// Runs `dirty` as one holder, then checks the next holder sees what a
/// fresh connection sees, through `acquire` and through `pool.query`.
async fn next_holder_is_fresh(db: &TestDb, pool: &Pool, what: &str) {
    let fresh = probe(&crate::fresh(db).await).await;
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(probe(&c).await, fresh, "{what}: seen through acquire");
    drop(c);
    assert_eq!(probe(pool).await, fresh, "{what}: seen through pool.query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_calling_set_config_leaks_no_tenant_rows() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db, ResetPolicy::default());
    // Through the pool's own method...
    pool.query("SELECT login_tenant('42')", &[]).await.unwrap();
    next_holder_is_fresh(&db, &pool, "login_tenant via pool.query").await;
    // ... and through a connection of one's own.
    let c = pool.acquire().await.unwrap();
    c.query("SELECT login_tenant('42')", &[]).await.unwrap();
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM docs", &[])
        .await
        .unwrap();
    assert_eq!(n, 1, "the holder itself sees tenant 42's row");
    drop(c);
    next_holder_is_fresh(&db, &pool, "login_tenant via acquire").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_running_set_role_leaks_no_privileges() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db, ResetPolicy::default());
    let c = pool.acquire().await.unwrap();
    c.execute("SELECT become_admin()", &[]).await.unwrap();
    let me: String = c
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(me, ADMIN);
    drop(c);
    next_holder_is_fresh(&db, &pool, "EXECUTE 'SET ROLE'").await;
    let n: i64 = pool
        .query_scalar("SELECT count(*) FROM admin_only", &[])
        .await
        .unwrap();
    assert_eq!(n, 0, "what only {ADMIN} may read leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_tables_search_path_listen_locks_and_cursors_made_in_a_function_are_reset() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db, ResetPolicy::default());
    pool.execute("SELECT mess()", &[]).await.unwrap();
    next_holder_is_fresh(&db, &pool, "mess() via pool.execute").await;
    let c = pool.acquire().await.unwrap();
    c.execute("SELECT mess()", &[]).await.unwrap();
    c.execute("PREPARE mine AS SELECT 1", &[]).await.unwrap();
    c.execute_script("DECLARE cur CURSOR WITH HOLD FOR SELECT 1")
        .await
        .unwrap();
    drop(c);
    next_holder_is_fresh(&db, &pool, "mess() via acquire").await;
    // The advisory lock is free for anyone else.
    let other = crate::fresh(&db).await;
    let got: bool = other
        .query_scalar("SELECT pg_try_advisory_lock(4242)", &[])
        .await
        .unwrap();
    assert!(got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_or_an_escaped_keyword_defeats_no_reset() {
    let db = crate::db();
    schema(&db);
    for policy in [ResetPolicy::Full, ResetPolicy::Tracked] {
        let pool = one(&db, policy);
        pool.execute("-- update the tenant\nSET app.tenant = '42'", &[])
            .await
            .unwrap();
        next_holder_is_fresh(&db, &pool, &format!("{policy:?}: comment before SET")).await;
        pool.execute(
            "DO E'BEGIN EXECUTE ''S\\x45T app.tenant = ''''42''''''; END'",
            &[],
        )
        .await
        .unwrap();
        next_holder_is_fresh(&db, &pool, &format!("{policy:?}: escaped SET in DO")).await;
        let c = pool.acquire().await.unwrap();
        c.execute_script("/* UPDATE */ SET search_path = nowhere; SELECT 1")
            .await
            .unwrap();
        drop(c);
        next_holder_is_fresh(&db, &pool, &format!("{policy:?}: comment, batch")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_notifications_do_not_reach_the_next_holder() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db, ResetPolicy::default());
    let notifier = crate::fresh(&db).await;
    let c = pool.acquire().await.unwrap();
    c.execute("LISTEN jobs", &[]).await.unwrap();
    notifier
        .execute("SELECT pg_notify('jobs', 'for the first holder')", &[])
        .await
        .unwrap();
    // The notification is read into the driver's queue with this answer.
    c.query("SELECT pg_sleep(0.1)", &[]).await.unwrap();
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    c.execute("LISTEN jobs", &[]).await.unwrap();
    let got = tokio::time::timeout(Duration::from_millis(300), c.next_notification()).await;
    assert!(got.is_err(), "the next holder got {got:?}");
    // Its own notifications do arrive.
    notifier
        .execute("SELECT pg_notify('jobs', 'for the second')", &[])
        .await
        .unwrap();
    let n = crate::bounded("notification", c.next_notification())
        .await
        .unwrap();
    assert_eq!(n.payload, "for the second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_handler_does_not_hear_the_next_holder() {
    let db = crate::db();
    let pool = one(&db, ResetPolicy::default());
    let heard = Arc::new(AtomicUsize::new(0));
    let c = pool.acquire().await.unwrap();
    let h = heard.clone();
    c.set_notice_handler(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
    });
    c.execute("DO $$ BEGIN RAISE NOTICE 'mine'; END $$", &[])
        .await
        .unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 1);
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    c.execute("DO $$ BEGIN RAISE NOTICE 'not yours'; END $$", &[])
        .await
        .unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_cancel_token_cannot_cancel_the_next_holder() {
    let db = crate::db();
    let pool = one(&db, ResetPolicy::default());
    let c = pool.acquire().await.unwrap();
    let token = c.cancel_token();
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let canceler = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        token.cancel().await
    });
    let r = c.query("SELECT pg_sleep(0.6)", &[]).await;
    canceler.await.unwrap().unwrap();
    assert!(r.is_ok(), "the next holder's query was canceled: {r:?}");
    // A token taken by the holder still cancels the holder's own query.
    let token = c.cancel_token();
    let canceler = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        token.cancel().await
    });
    let e = c.query("SELECT pg_sleep(5)", &[]).await.unwrap_err();
    canceler.await.unwrap().unwrap();
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("57014")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lastval_is_not_the_previous_holders() {
    let db = crate::db();
    schema(&db);
    let fresh_err = crate::fresh(&db)
        .await
        .query("SELECT lastval()", &[])
        .await
        .unwrap_err();
    let pool = one(&db, ResetPolicy::default());
    pool.execute("INSERT INTO items (v) VALUES ('a')", &[])
        .await
        .unwrap();
    let e = pool.query("SELECT lastval()", &[]).await.unwrap_err();
    assert_eq!(e.code(), fresh_err.code(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_as_does_not_inherit_the_previous_tenant() {
    let db = crate::db();
    schema(&db);
    let pool = one(&db, ResetPolicy::default());
    pool.query("SELECT login_tenant('42')", &[]).await.unwrap();
    let c = pool.acquire_as(ADMIN, &[("app.other", "x")]).await.unwrap();
    let tenant: String = c
        .query_scalar(
            "SELECT coalesce(current_setting('app.tenant', true), '')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(tenant, "");
    let me: String = c
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(me, ADMIN);
    drop(c);
    next_holder_is_fresh(&db, &pool, "after acquire_as").await;
}
