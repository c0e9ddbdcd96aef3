//! Adversarial probes of the reset carried in the next holder's Sync
//! group (issue 11 review): a previous holder who plants statements under
//! the reset's names, or leaves transaction defaults that make the reset's
//! own transaction wait or fail.

use tusk::Executor;
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
