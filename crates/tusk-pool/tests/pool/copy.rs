//! COPY through pooled connections and pooled transactions.

use tusk::Executor;
use tusk_pool::PooledTransactionOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_and_out_through_a_pooled_connection() {
    let db = crate::db();
    db.psql("CREATE TABLE t (id int8)").unwrap();
    let pool = crate::pool(&db, 1);
    let conn = pool.acquire().await.unwrap();
    let mut sink = conn.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"1\n2\n3\n").await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    let mut out = conn.copy_out("COPY t TO STDOUT").await.unwrap();
    let mut n = 0;
    while let Some(chunk) = out.next_chunk().await {
        chunk.unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
    drop(out);
    // A sink dropped midway: the connection goes back to the pool usable,
    // and nothing of that COPY was kept.
    let mut sink = conn.copy_in("COPY t FROM STDIN").await.unwrap();
    sink.write(b"4\n5\n").await.unwrap();
    drop(sink);
    drop(conn);
    let conn = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let n: i64 = conn
        .query_scalar("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_a_pooled_transaction_rolls_back_with_it() {
    let db = crate::db();
    db.psql("CREATE TABLE t (id int8)").unwrap();
    let pool = crate::pool(&db, 1);
    let r: Result<(), tusk::Error> = pool
        .transaction(PooledTransactionOptions::new(), async |tx| {
            let mut sink = tx.copy_in("COPY t FROM STDIN").await?;
            sink.write(b"1\n2\n").await?;
            assert_eq!(sink.finish().await?, 2);
            Err(tusk::Error::new(tusk::ErrorKind::Other, "roll it back"))
        })
        .await;
    assert!(r.is_err());
    let conn = pool.acquire().await.unwrap();
    let n: i64 = conn
        .query_scalar("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
}
