//! Atomic batches: one flight, one Sync, one transaction.

use futures_util::future::join_all;
use tusk::{Batch, ErrorKind, Executor, Param};

async fn setup(c: &tusk::Connection) {
    c.execute_script("CREATE TABLE acct (id int8 PRIMARY KEY, bal int8 NOT NULL CHECK (bal >= 0))")
        .await
        .unwrap();
    c.execute_script("INSERT INTO acct VALUES (1, 100), (2, 0)")
        .await
        .unwrap();
}

async fn balances(c: &tusk::Connection) -> Vec<i64> {
    c.query("SELECT bal FROM acct ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn atomic_batch_commits_all_statements() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    setup(&c).await;
    let amount = 30_i64;
    let (a, b) = (1_i64, 2_i64);
    let mut batch = Batch::atomic();
    assert!(batch.is_atomic());
    batch.push(
        "UPDATE acct SET bal = bal - $2 WHERE id = $1",
        &[&a, &amount],
    );
    batch.push(
        "UPDATE acct SET bal = bal + $2 WHERE id = $1",
        &[&b, &amount],
    );
    batch.push("SELECT sum(bal)::int8 FROM acct", &[]);
    let out = c.batch(&batch).await.unwrap();
    assert_eq!(out.len(), 3);
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out[0].rows_affected, 1);
    assert_eq!(out[1].tag, "UPDATE 1");
    assert_eq!(out[2].rows[0].get::<i64>(0), 100);
    assert_eq!(balances(&c).await, vec![70, 30]);
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test]
async fn a_failing_statement_rolls_back_the_whole_atomic_batch() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    setup(&c).await;
    let too_much = 500_i64;
    let (a, b) = (1_i64, 2_i64);
    let three = 3_i64;
    let mut batch = Batch::atomic();
    batch.push(
        "UPDATE acct SET bal = bal + $2 WHERE id = $1",
        &[&b, &too_much],
    );
    batch.push(
        "UPDATE acct SET bal = bal - $2 WHERE id = $1",
        &[&a, &too_much],
    );
    batch.push("INSERT INTO acct VALUES ($1, 0)", &[&three]);
    let out = c.batch(&batch).await.unwrap();
    let errs: Vec<_> = out.into_iter().map(|r| r.unwrap_err()).collect();
    // The check constraint fails statement 2; statement 1 is rolled back,
    // statement 3 never ran.
    assert_eq!(errs[1].kind(), ErrorKind::Integrity);
    assert!(errs[0].to_string().contains("rolled back"), "{}", errs[0]);
    assert!(errs[2].to_string().contains("not run"), "{}", errs[2]);
    assert_eq!(errs[0].kind(), ErrorKind::Integrity);
    assert!(std::error::Error::source(&errs[2]).is_some());
    assert_eq!(balances(&c).await, vec![100, 0]);
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM acct", &[])
        .await
        .unwrap();
    assert_eq!(n, 2);
    // The connection goes on, and so does the cache.
    let out = c.batch(&batch).await.unwrap();
    assert!(out[1].is_err());
    let ok: i64 = c.query_scalar("SELECT 41::int8 + 1", &[]).await.unwrap();
    assert_eq!(ok, 42);
}

#[tokio::test]
async fn an_unencodable_parameter_sends_nothing() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    setup(&c).await;
    let one = 1_i64;
    let not_a_number = "x".to_string();
    let n = 5_i64;
    let mut batch = Batch::atomic();
    batch.push("UPDATE acct SET bal = 0 WHERE id = $1", &[&one]);
    // Two parameters for one placeholder: refused before sending.
    batch.push(
        "UPDATE acct SET bal = $1 WHERE id = 2",
        &[&n, &not_a_number],
    );
    let out = c.batch(&batch).await.unwrap();
    assert_eq!(out[1].as_ref().unwrap_err().kind(), ErrorKind::Conversion);
    assert!(out[0].as_ref().unwrap_err().to_string().contains("not run"));
    assert_eq!(balances(&c).await, vec![100, 0]);
    // Nothing of the batch is queued or left unsent.
    assert!(c.debug_state().contains(" wbuf=0 "), "{}", c.debug_state());
}

#[tokio::test]
async fn atomic_batch_inside_a_transaction_belongs_to_it() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    setup(&c).await;
    let tx = c.transaction().await.unwrap();
    let ten = 10_i64;
    let mut batch = Batch::atomic();
    batch.push("UPDATE acct SET bal = bal - $1 WHERE id = 1", &[&ten]);
    batch.push("UPDATE acct SET bal = bal + $1 WHERE id = 2", &[&ten]);
    for r in tx.batch(&batch).await.unwrap() {
        r.unwrap();
    }
    tx.rollback().await.unwrap();
    assert_eq!(balances(&c).await, vec![100, 0]);
}

#[tokio::test]
async fn a_thousand_inserts_in_one_atomic_batch_and_concurrent_callers() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY, name text)")
        .await
        .unwrap();
    let ids: Vec<i64> = (0..1000).collect();
    let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    let mut batch = Batch::atomic();
    for (id, name) in ids.iter().zip(&names) {
        batch.push("INSERT INTO t VALUES ($1, $2)", &[id, name]);
    }
    // Other callers pipeline on the same connection meanwhile: their
    // statements stay out of the batch's transaction.
    let others = (0..50_i64).map(|i| {
        let c = &c;
        async move {
            let v: i64 = c.query_scalar("SELECT $1::int8 + 1", &[&i]).await.unwrap();
            assert_eq!(v, i + 1);
        }
    });
    let (res, _) = tokio::join!(c.batch(&batch), join_all(others));
    let res = res.unwrap();
    assert!(res.iter().all(Result::is_ok));
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 1000);
    // A duplicate key in the middle: nothing of the second batch stays.
    let mut ids2: Vec<i64> = (1000..2000).collect();
    ids2[500] = 7;
    let params: Vec<Vec<Param<'_>>> = ids2.iter().map(|i| vec![i as Param<'_>]).collect();
    let mut batch = Batch::atomic();
    for p in &params {
        batch.push("INSERT INTO t (id) VALUES ($1)", p);
    }
    let res = c.batch(&batch).await.unwrap();
    assert_eq!(res.iter().filter(|r| r.is_err()).count(), 1000);
    assert_eq!(res[500].as_ref().unwrap_err().kind(), ErrorKind::Integrity);
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 1000);
}

#[tokio::test]
async fn a_dropped_atomic_batch_leaves_the_connection_usable() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8)").await.unwrap();
    let ids: Vec<i64> = (0..1000).collect();
    let mut batch = Batch::atomic();
    for id in &ids {
        batch.push("INSERT INTO t SELECT $1 FROM pg_sleep(0.0001)", &[id]);
    }
    for _ in 0..5 {
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), c.batch(&batch)).await;
    }
    let v: i64 = c.query_scalar("SELECT 7::int8", &[]).await.unwrap();
    assert_eq!(v, 7);
    // Every batch ran whole or not at all.
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n % 1000, 0, "{n}");
}
