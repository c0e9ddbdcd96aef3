//! Only statements the server confirmed parsed stay in the statement cache:
//! one it skipped (after an earlier failure in the same flight) is never
//! used as if it existed.

use tusk::{Batch, Executor};

#[tokio::test]
async fn a_statement_skipped_in_an_atomic_batch_is_not_cached() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY)")
        .await
        .unwrap();
    c.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let before = c.cached_statements();
    let (one, two) = (1_i64, 2_i64);
    let fresh = "SELECT count(*) + $1::int8 FROM t";
    let mut b = Batch::atomic();
    b.push("INSERT INTO t VALUES ($1)", &[&one]); // unique violation
    b.push(fresh, &[&two]); // never parsed: the server skipped it
    b.push("INSERT INTO t VALUES ($1 + 10)", &[&two]);
    let out = c.batch(&b).await.unwrap();
    assert!(out.iter().all(Result::is_err));
    assert_eq!(
        out[0].as_ref().unwrap_err().kind(),
        tusk::ErrorKind::Integrity
    );
    // The first statement parsed (its error came when it ran): it stays.
    // The statements the server skipped left the cache again.
    assert_eq!(c.cached_statements(), before + 1);
    // Their next use inside a transaction works (no 26000 aborting it).
    let tx = c.transaction().await.unwrap();
    let n: i64 = tx.query_scalar(fresh, &[&two]).await.unwrap();
    assert_eq!(n, 3);
    tx.execute("INSERT INTO t VALUES ($1 + 10)", &[&two])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn a_statement_that_failed_to_parse_is_not_cached_for_a_concurrent_caller() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    // Two callers send the same new SQL at once; the first one's Parse
    // fails (the table does not exist yet), the second's is sent behind
    // CREATE TABLE.
    let sql = "SELECT count(*) FROM later";
    let (a, b, d) = tokio::join!(
        c.query(sql, &[]),
        c.execute_script("CREATE TABLE later (id int8)"),
        c.query(sql, &[])
    );
    assert!(a.is_err());
    b.unwrap();
    // Tolerated either way outside a transaction; what matters is what
    // the cache holds afterwards.
    let _ = d;
    let tx = c.transaction().await.unwrap();
    let n: i64 = tx.query_scalar(sql, &[]).await.unwrap();
    assert_eq!(n, 0);
    tx.commit().await.unwrap();
}
