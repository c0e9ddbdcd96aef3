use futures_util::future::join_all;
use tusk::{Batch, ErrorKind, Executor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_queries_each_get_their_own_answer() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let futs = (0..1000i64).map(|i| {
        let c = &c;
        async move {
            if i % 97 == 13 {
                // A failing query in the middle of the pipeline.
                let e = c
                    .query_scalar::<i64>("SELECT 1 / ($1::int8 - $1::int8)", &[&i])
                    .await
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Data);
                return -1;
            }
            let v: i64 = c.query_scalar("SELECT $1::int8 * 2", &[&i]).await.unwrap();
            assert_eq!(v, i * 2);
            v
        }
    });
    let out = join_all(futs).await;
    assert_eq!(
        out.iter().filter(|v| **v == -1).count(),
        (0..1000).filter(|i| i % 97 == 13).count()
    );
    // Still usable, and the cache holds one statement per distinct SQL.
    let v: i32 = c.query_scalar("SELECT 5", &[]).await.unwrap();
    assert_eq!(v, 5);
}

#[tokio::test]
async fn concurrent_callers_share_one_connection_across_tasks() {
    let db = crate::db();
    concurrent_callers(&db.url()).await;
}

#[tokio::test]
async fn concurrent_callers_without_tls() {
    let db = crate::db();
    concurrent_callers(&format!("{}?sslmode=disable", db.url())).await;
}

async fn concurrent_callers(url: &str) {
    let c = std::sync::Arc::new(tusk::connect(url).await.unwrap());
    let mut handles = Vec::new();
    for t in 0..8i64 {
        let c = c.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..200i64 {
                let v: i64 = c
                    .query_scalar("SELECT $1::int8 + $2::int8", &[&t, &i])
                    .await
                    .unwrap();
                assert_eq!(v, t + i);
            }
        }));
    }
    for h in handles {
        match tokio::time::timeout(std::time::Duration::from_secs(15), h).await {
            Ok(r) => r.unwrap(),
            Err(_) => panic!("hung: {}", c.debug_state()),
        }
    }
}

#[tokio::test]
async fn batch_returns_one_result_per_statement() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int8 primary key)")
        .await
        .unwrap();
    let ids: Vec<i64> = (0..1000).collect();
    let mut b = Batch::new();
    for id in &ids {
        b.push("INSERT INTO t VALUES ($1)", &[id]);
    }
    b.push("INSERT INTO t VALUES ($1)", &[&ids[0]]); // duplicate: fails alone
    b.push("SELECT count(*) FROM t", &[]);
    let out = c.batch(&b).await.unwrap();
    assert_eq!(out.len(), 1002);
    assert!(out[..1000]
        .iter()
        .all(|r| r.as_ref().unwrap().rows_affected == 1));
    assert_eq!(out[1000].as_ref().unwrap_err().kind(), ErrorKind::Integrity);
    let count: i64 = out[1001].as_ref().unwrap().rows[0].get(0usize);
    assert_eq!(count, 1000);
}
