use tusk::{ErrorKind, Executor, Prepare};

#[tokio::test]
async fn select_one_round_trip() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let v: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(v, 1);
    let n: i64 = c
        .query_scalar("SELECT $1::int8 + 1", &[&41i64])
        .await
        .unwrap();
    assert_eq!(n, 42);
    let s: String = c.query_scalar("SELECT $1 || 'b'", &[&"a"]).await.unwrap();
    assert_eq!(s, "ab");
    let rows = c
        .query(
            "SELECT g, g::text AS t FROM generate_series(1, $1) g",
            &[&3i32],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].get::<i32>(0usize), 3);
    assert_eq!(rows[2].get::<&str>("t"), "3");
    assert!(c.server_version().unwrap().starts_with("15"));
}

#[tokio::test]
async fn execute_and_errors() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int primary key, name text)")
        .await
        .unwrap();
    let n = c
        .execute(
            "INSERT INTO t VALUES ($1, $2), ($3, $4)",
            &[&1i32, &"a", &2i32, &"b"],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let e = c
        .execute("INSERT INTO t VALUES ($1, $2)", &[&1i32, &"dup"])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert_eq!(e.code().unwrap().code(), "23505");
    assert!(e.to_string().contains("duplicate key"), "{e}");
    let db_err = e.as_db_error().unwrap();
    assert_eq!(db_err.constraint.as_deref(), Some("t_pkey"));
    assert_eq!(db_err.table.as_deref(), Some("t"));
    // The connection still works.
    let v: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(v, 2);
    let e = c.query("SELEC 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert!(e.to_string().contains("POSITION: 1"), "{e}");
}

#[tokio::test]
async fn query_one_and_opt_count_rows() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let e = c.query_one("SELECT 1 WHERE false", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RowCount);
    let e = c
        .query_one("SELECT 1 UNION ALL SELECT 2", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RowCount);
    assert!(c
        .query_opt("SELECT 1 WHERE false", &[])
        .await
        .unwrap()
        .is_none());
    assert!(c.query_opt("SELECT 1", &[]).await.unwrap().is_some());
    let e = c
        .query_opt("SELECT 1 UNION ALL SELECT 2", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RowCount);
}

#[tokio::test]
async fn wrong_parameters_fail_before_sending() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let e = c
        .query("SELECT $1::int4, $2::int4", &[&1i32])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let stmt = c.prepare("SELECT $1::int4").await.unwrap();
    let e = c.query(&stmt, &[&"not an int"]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let e = c.query(&stmt, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let v: i32 = c.query_scalar(&stmt, &[&7i32]).await.unwrap();
    assert_eq!(v, 7);
}

#[tokio::test]
async fn transactions_commit_rollback_and_drop() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int)").await.unwrap();
    {
        let tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    {
        let tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
        tx.rollback().await.unwrap();
    }
    {
        let tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
        // dropped: rolled back
    }
    {
        let mut tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (4)", &[]).await.unwrap();
        {
            let sp = tx.transaction().await.unwrap();
            sp.execute("INSERT INTO t VALUES (5)", &[]).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let ids: Vec<i32> = c
        .query("SELECT id FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0usize))
        .collect();
    assert_eq!(ids, vec![1, 4]);
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test]
async fn introspection_for_layers_above() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let (s0, r0) = (c.bytes_sent(), c.bytes_received());
    let v: i64 = c.query_scalar("SELECT 5::int8", &[]).await.unwrap();
    assert_eq!(v, 5);
    assert!(c.bytes_sent() > s0 && c.bytes_received() > r0);
    c.wait_idle().await.unwrap();
    assert_eq!(c.in_flight(), 0);
    let q = tusk::Query::new("SELECT 1").uncached();
    assert_eq!(q.sql(), Some("SELECT 1"));
    assert_eq!(q.query_options().cache, Some(false));
    let stmt = c.prepare("SELECT 2").await.unwrap();
    assert_eq!(tusk::Query::statement(&stmt).sql(), None);
    let one = 1_i64;
    let mut b = tusk::Batch::new();
    b.push("SELECT $1::int8", &[&one]).push("SELECT 3", &[]);
    let texts: Vec<_> = b.statements().map(|(q, p)| (q.sql(), p.len())).collect();
    assert_eq!(
        texts,
        vec![(Some("SELECT $1::int8"), 1), (Some("SELECT 3"), 0)]
    );
}

/// A wrapper writes the one primitive, `run`; every query method comes with
/// it, and each goes through `run` exactly once.
#[tokio::test]
async fn a_wrapper_writes_only_run() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tusk::executor::{Reply, Request};

    struct Counting<'c>(&'c tusk::Connection, AtomicUsize);
    impl Executor for Counting<'_> {
        fn run<'a>(
            &'a self,
            request: Request<'a>,
        ) -> impl std::future::Future<Output = Result<Reply, tusk::Error>> + Send + 'a {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.run(request)
        }
    }

    let db = crate::db();
    let c = crate::conn(&db).await;
    let w = Counting(&c, AtomicUsize::new(0));
    w.execute_script("CREATE TEMP TABLE w (a int)")
        .await
        .unwrap();
    assert_eq!(
        w.execute("INSERT INTO w VALUES (1), (2)", &[])
            .await
            .unwrap(),
        2
    );
    assert_eq!(w.query("SELECT a FROM w", &[]).await.unwrap().len(), 2);
    let one: i32 = w.query_scalar("SELECT min(a) FROM w", &[]).await.unwrap();
    assert_eq!(one, 1);
    assert!(w
        .query_opt("SELECT a FROM w WHERE a = 3", &[])
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        w.query_one("SELECT a FROM w", &[])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RowCount
    );
    let s = w.query_stream("SELECT a FROM w", &[]).await.unwrap();
    assert_eq!(s.collect_all().await.unwrap().len(), 2);
    let mut b = tusk::Batch::new();
    b.push("SELECT 1", &[]).push("SELECT 2", &[]);
    assert_eq!(w.batch(&b).await.unwrap().len(), 2);
    assert!(w.simple_query("SELECT 1; SELECT 2").await.unwrap().len() > 1);
    assert_eq!(w.1.load(Ordering::Relaxed), 9);
}
