use tusk::{Executor, Query};

#[tokio::test]
async fn altered_result_type_is_re_prepared_transparently() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int4, v int4); INSERT INTO t VALUES (1, 10)")
        .await
        .unwrap();
    let rows = c.query("SELECT * FROM t", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i32>("v"), 10);
    // Another session changes the table: this connection's cache does not
    // see the DDL tag, so the server answers 0A000 and tusk heals.
    other
        .execute_script("ALTER TABLE t ALTER COLUMN v TYPE int8")
        .await
        .unwrap();
    let rows = c.query("SELECT * FROM t", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>("v"), 10);
    other
        .execute_script("ALTER TABLE t ADD COLUMN w text DEFAULT 'x'")
        .await
        .unwrap();
    let rows = c.query("SELECT * FROM t", &[]).await.unwrap();
    assert_eq!(rows[0].get::<&str>("w"), "x");
}

#[tokio::test]
async fn ddl_discard_and_deallocate_invalidate_the_cache() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int4)").await.unwrap();
    c.query("SELECT * FROM t", &[]).await.unwrap();
    c.query("SELECT 1", &[]).await.unwrap();
    assert!(c.cached_statements() >= 2);
    c.execute_script("ALTER TABLE t ADD COLUMN x int")
        .await
        .unwrap();
    assert_eq!(c.cached_statements(), 0);
    c.query("SELECT 1", &[]).await.unwrap();
    c.execute_script("DISCARD ALL").await.unwrap();
    assert_eq!(c.cached_statements(), 0);
    // Statements prepared again work after the server dropped them all.
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
    c.execute_script("DEALLOCATE ALL").await.unwrap();
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
}

#[tokio::test]
async fn statement_dropped_by_the_server_is_re_prepared() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let v: i32 = c.query_scalar("SELECT 2", &[]).await.unwrap();
    assert_eq!(v, 2);
    // DEALLOCATE through a path the cache cannot see (inside a function).
    c.execute_script("DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$")
        .await
        .unwrap();
    let v: i32 = c.query_scalar("SELECT 2", &[]).await.unwrap();
    assert_eq!(v, 2);
}

#[tokio::test]
async fn cache_is_bounded_and_opt_out_works() {
    let db = crate::db();
    let url = format!("{}?statement_cache_capacity=10", db.url());
    let c = tusk::connect(&url).await.unwrap();
    for i in 0..50 {
        let sql = format!("SELECT {i}");
        let v: i32 = c.query_scalar(&sql, &[]).await.unwrap();
        assert_eq!(v, i);
    }
    assert!(c.cached_statements() <= 10, "{}", c.cached_statements());
    // Closed statements are really gone from the server.
    let n: i64 = c
        .query_scalar(
            "SELECT count(*) FROM pg_prepared_statements WHERE name <> 'tusk_ro'",
            &[],
        )
        .await
        .unwrap();
    assert!(n <= 11, "{n} statements left on the server");
    let before = c.cached_statements();
    let v: i32 = c
        .query_scalar(Query::new("SELECT 12345").uncached(), &[])
        .await
        .unwrap();
    assert_eq!(v, 12345);
    assert_eq!(c.cached_statements(), before);
}

#[tokio::test]
async fn pooler_mode_uses_unnamed_statements() {
    let db = crate::db();
    let url = format!("{}?pooler_mode=on", db.url());
    let c = tusk::connect(&url).await.unwrap();
    for i in 0..5i64 {
        let v: i64 = c.query_scalar("SELECT $1::int8", &[&i]).await.unwrap();
        assert_eq!(v, i);
    }
    assert_eq!(c.cached_statements(), 0);
    let n: i64 = c
        .query_scalar(
            "SELECT count(*) FROM pg_prepared_statements WHERE name <> 'tusk_ro'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn pooler_mode_works_through_pgbouncer_in_transaction_mode() {
    let cluster = tusk_testkit::Cluster::shared();
    let db = cluster.database().unwrap();
    let bouncer =
        tusk_testkit::PgBouncer::start(cluster, tusk_testkit::PoolMode::Transaction).unwrap();
    let url = format!("{}?pooler_mode=on", bouncer.url(db.name()));
    let c = std::sync::Arc::new(tusk::connect(&url).await.unwrap());
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..4i64 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50i64 {
                let v: i64 = c
                    .query_scalar("SELECT $1::int8 + $2::int8", &[&t, &i])
                    .await
                    .unwrap();
                assert_eq!(v, t + i);
                c.execute("INSERT INTO t VALUES ($1)", &[&i]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 200);
}

#[tokio::test]
async fn prepare_cached_warms_the_cache_without_running() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY, name text)")
        .await
        .unwrap();
    let find = "SELECT name FROM t WHERE id = $1";
    let count = "SELECT count(*) FROM t";
    let insert = "INSERT INTO t VALUES (1, 'one')";
    let (a, b, d) = tokio::join!(
        c.prepare_cached(find),
        c.prepare_cached(count),
        c.prepare_cached(insert)
    );
    a.unwrap();
    b.unwrap();
    d.unwrap();
    assert_eq!(c.cached_statements(), 3);
    // Nothing ran.
    let n: i64 = c.query_scalar(count, &[]).await.unwrap();
    assert_eq!(n, 0);
    c.execute(insert, &[]).await.unwrap();
    let name: String = c.query_scalar(find, &[&1_i64]).await.unwrap();
    assert_eq!(name, "one");
    // The runs used the prepared statements.
    assert_eq!(c.cached_statements(), 3);
    c.prepare_cached(find).await.unwrap();
    assert_eq!(c.cached_statements(), 3);
    // Bad SQL: an error, and nothing left in the cache.
    let e = c.prepare_cached("SELEC 1").await.unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Syntax);
    assert_eq!(c.cached_statements(), 3);
}
