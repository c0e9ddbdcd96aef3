//! Transaction control inside an atomic batch is refused up front: the
//! server would commit (or roll back) midway, and the batch could not
//! report truthfully what was committed.

use tusk::{Batch, ErrorKind, Executor};

#[tokio::test]
async fn transaction_control_in_an_atomic_batch_is_refused() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8 PRIMARY KEY)")
        .await
        .unwrap();
    let (one, bad) = (1_i64, 1_i64);
    for control in [
        "COMMIT",
        "commit work",
        "  -- done\n END",
        "ROLLBACK",
        "ABORT",
        "BEGIN",
        "START TRANSACTION",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "ROLLBACK TO SAVEPOINT s",
        "PREPARE TRANSACTION 'x'",
        "COMMIT PREPARED 'x'",
    ] {
        let mut b = Batch::atomic();
        b.push("INSERT INTO t VALUES ($1)", &[&one]);
        b.push(control, &[]);
        b.push("INSERT INTO t VALUES ($1)", &[&bad]); // duplicate key
        let out = c.batch(&b).await.unwrap();
        assert_eq!(out.len(), 3);
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Other, "{control}: {e}");
        assert!(
            e.to_string().contains("transaction control"),
            "{control}: {e}"
        );
        for r in &out {
            assert!(r.is_err(), "{control}");
        }
        // Nothing ran: no row committed behind a result that says otherwise.
        let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
        assert_eq!(n, 0, "{control}");
        assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
    }
    // Ordinary statements that merely mention the words still run.
    let mut b = Batch::atomic();
    b.push("INSERT INTO t VALUES ($1)", &[&one]);
    b.push("SELECT 'commit' AS begin", &[]);
    for r in c.batch(&b).await.unwrap() {
        r.unwrap();
    }
}
