//! COPY through a query method fails with its own error kind,
//! `ErrorKind::CopyViaQuery`, and the connection stays usable.

use std::time::Duration;

use tusk::{Batch, ErrorKind, Executor, Query};

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer (connection wedged)"))
}

#[tokio::test]
async fn copy_through_a_query_method_is_copy_via_query() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8); INSERT INTO t VALUES (1), (2)")
        .await
        .unwrap();
    for sql in [
        "COPY t FROM STDIN",
        "COPY t TO STDOUT",
        "COPY (SELECT 1) TO STDOUT",
    ] {
        for q in [Query::new(sql), Query::new(sql).uncached()] {
            let e = within(sql, c.execute(q.clone(), &[])).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::CopyViaQuery, "execute {sql}: {e}");
            let e = within(sql, c.query(q, &[])).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::CopyViaQuery, "query {sql}: {e}");
            assert!(!e.is_fatal());
        }
        let e = within(sql, c.execute_script(sql)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CopyViaQuery, "script {sql}: {e}");
        let e = within(sql, c.simple_query(sql)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CopyViaQuery, "simple {sql}: {e}");
        // In a batch, the COPY's result alone carries it.
        let mut b = Batch::new();
        b.push("SELECT 1", &[]);
        b.push(sql, &[]);
        b.push("SELECT 2", &[]);
        let r = within("batch", c.batch(&b)).await.unwrap();
        assert!(r[0].is_ok() && r[2].is_ok());
        let e = r[1].as_ref().expect_err("the COPY fails");
        assert_eq!(e.kind(), ErrorKind::CopyViaQuery, "batch {sql}: {e}");
        let n: i64 = within("after", c.query_scalar("SELECT count(*) FROM t", &[]))
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
    // In a transaction: the kind is the same; the transaction fails, as
    // with any error, and the connection is usable after the rollback.
    let tx = c.transaction().await.unwrap();
    let e = within("tx", tx.execute("COPY t FROM STDIN", &[]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CopyViaQuery, "{e}");
    tx.rollback().await.unwrap();
    assert_eq!(c.query_scalar::<i32>("SELECT 1", &[]).await.unwrap(), 1);
    // The COPY methods themselves are unaffected.
    let out = c.copy_out("COPY t TO STDOUT").await;
    assert!(out.is_ok());
}
