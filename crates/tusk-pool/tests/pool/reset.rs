use tusk::{Executor, TransactionStatus};
use tusk_pool::Pool;
use tusk_testkit::{auth::PasswordEncryption, Cluster};

async fn setting(c: &impl Executor, name: &str) -> String {
    c.query_scalar("SELECT current_setting($1)", &[&name])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_transactions_are_rolled_back_on_return() {
    let db = crate::db();
    db.psql("CREATE TABLE t (id int)").unwrap();
    let pool = crate::pool(&db, 1);
    let c = pool.acquire().await.unwrap();
    c.execute_script("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    assert_eq!(c.transaction_status(), TransactionStatus::InTransaction);
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 0);
    // A failed transaction too.
    c.execute_script("BEGIN").await.unwrap();
    assert!(c.execute("SELECT 1/0", &[]).await.is_err());
    assert_eq!(c.transaction_status(), TransactionStatus::Failed);
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
    c.execute("SELECT 1", &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_never_reaches_the_next_holder() {
    let db = crate::db();
    let pool = crate::pool(&db, 1);
    let c = pool.acquire().await.unwrap();
    let default_wm = setting(&c, "work_mem").await;
    // Extended protocol, simple protocol, set_config, LISTEN, temp table.
    c.execute("SET work_mem = '7MB'", &[]).await.unwrap();
    c.simple_query("SET statement_timeout = '123s'")
        .await
        .unwrap();
    c.query("SELECT set_config('app.tenant', 'x', false)", &[])
        .await
        .unwrap();
    c.execute_script("LISTEN chan; CREATE TEMP TABLE tmp (a int)")
        .await
        .unwrap();
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(setting(&c, "work_mem").await, default_wm);
    assert_eq!(setting(&c, "statement_timeout").await, "0");
    let tenant: Option<String> = c
        .query_scalar("SELECT current_setting('app.tenant', true)", &[])
        .await
        .unwrap();
    assert!(tenant.unwrap_or_default().is_empty());
    let listening: i64 = c
        .query_scalar("SELECT count(*) FROM pg_listening_channels()", &[])
        .await
        .unwrap();
    assert_eq!(listening, 0);
    let tmp: Option<String> = c
        .query_scalar("SELECT to_regclass('pg_temp.tmp')::text", &[])
        .await
        .unwrap();
    assert_eq!(tmp, None);
    assert!(pool.stats().resets_total >= 1);
    drop(c);
    drop(crate::bounded("acquire", pool.acquire()).await.unwrap());
    // A handle that sent nothing costs no reset; one that ran a statement
    // costs one (written on return, not waited for).
    let before = pool.stats().resets_total;
    drop(pool.acquire().await.unwrap());
    assert_eq!(pool.stats().resets_total, before);
    let c = pool.acquire().await.unwrap();
    c.query("SELECT 1", &[]).await.unwrap();
    drop(c);
    assert_eq!(pool.stats().resets_total, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_changes_through_the_pool_executor_do_not_stick() {
    let db = crate::db();
    let pool = crate::pool(&db, 1);
    pool.execute("SET search_path = nowhere", &[])
        .await
        .unwrap();
    let sp: String = pool
        .query_scalar("SELECT current_setting('search_path')", &[])
        .await
        .unwrap();
    assert_ne!(sp, "nowhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_profiles_do_not_leak() {
    let cluster = Cluster::shared();
    let db = crate::db();
    cluster
        .create_user("pool_tenant", None, PasswordEncryption::Scram)
        .unwrap();
    let pool: Pool = crate::pool(&db, 1);
    let me: String = pool
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    for round in 0..3 {
        let c = pool
            .acquire_as("pool_tenant", &[("app.tenant", "42"), ("work_mem", "3MB")])
            .await
            .unwrap();
        let (user, tenant): (String, String) = {
            let row = c
                .query_one(
                    "SELECT current_user::text, current_setting('app.tenant')",
                    &[],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(
            (user.as_str(), tenant.as_str()),
            ("pool_tenant", "42"),
            "round {round}"
        );
        drop(c);
        let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
        let user: String = c
            .query_scalar("SELECT current_user::text", &[])
            .await
            .unwrap();
        assert_eq!(
            user, me,
            "round {round}: the role leaked to the next holder"
        );
        let tenant: Option<String> = c
            .query_scalar("SELECT current_setting('app.tenant', true)", &[])
            .await
            .unwrap();
        assert!(tenant.unwrap_or_default().is_empty(), "round {round}");
        assert_ne!(setting(&c, "work_mem").await, "3MB");
    }
    // A role the login role cannot switch to: an error, and nothing sticks.
    let e = pool
        .acquire_as("pg_monitor_nonexistent", &[])
        .await
        .unwrap_err();
    assert!(e.code().is_some(), "{e}");
    let user: String = pool
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(user, me);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_scanned_like_any_statement() {
    // The opt-in tracked policy: only what the text names is reset.
    let db = crate::db();
    let pool = Pool::new(
        crate::config(&db)
            .max_size(1)
            .reset(tusk_pool::ResetPolicy::Tracked)
            .build(),
    )
    .unwrap();
    let c = pool.acquire().await.unwrap();
    let default_wm = setting(&c, "work_mem").await;
    let mut b = tusk::Batch::new();
    b.push("SELECT 1", &[]).push("SET work_mem = '9MB'", &[]);
    c.batch(&b).await.unwrap();
    assert_eq!(setting(&c, "work_mem").await, "9MB");
    drop(c);
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(setting(&c, "work_mem").await, default_wm);
    let resets = pool.stats().resets_total;
    // A clean batch costs no reset.
    let mut b = tusk::Batch::new();
    b.push("SELECT 1", &[]).push("SELECT 2", &[]);
    c.batch(&b).await.unwrap();
    drop(c);
    // Through the pool's own methods: a clean batch shares, one that
    // changes session state has no lasting effect.
    assert_eq!(pool.batch(&b).await.unwrap().len(), 2);
    let mut b = tusk::Batch::new();
    b.push("SET work_mem = '9MB'", &[]);
    pool.batch(&b).await.unwrap();
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_eq!(setting(&c, "work_mem").await, default_wm);
    assert_eq!(pool.stats().resets_total, resets + 1);
}
