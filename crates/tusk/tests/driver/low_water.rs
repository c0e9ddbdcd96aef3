//! The driver waits for several pipelined answers at once (the socket's
//! read low-water mark, on plain TCP): whatever the mix of answers, from
//! the largest to the smallest the server can send, nobody waits forever.

use std::sync::Arc;
use std::time::Duration;
use tusk::{Batch, Executor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_callers_with_the_smallest_answers_never_wait_forever() {
    let db = crate::db();
    // Plain TCP: the low-water mark is only used without TLS.
    let url = format!("{}?sslmode=disable", db.url());
    let c = Arc::new(tusk::connect(&url).await.unwrap());
    c.execute("CREATE TABLE t (id int8 PRIMARY KEY)", &[])
        .await
        .unwrap();
    let run = async {
        let mut tasks = Vec::new();
        for t in 0..64i64 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..40i64 {
                    match (t + i) % 6 {
                        0 => {
                            let v: i64 = c.query_scalar("SELECT $1::int8", &[&i]).await.unwrap();
                            assert_eq!(v, i);
                        }
                        // An error and a ReadyForQuery only.
                        1 => {
                            c.query("SELECT 1 / ($1::int8 - $1::int8)", &[&i])
                                .await
                                .unwrap_err();
                        }
                        // A group whose first part fails: the rest gets a
                        // ReadyForQuery only.
                        2 => {
                            let zero = 0i64;
                            let mut b = Batch::atomic();
                            b.push("SELECT 1 / $1::int8", &[&zero]);
                            b.push("SELECT 2", &[]);
                            let r = c.batch(&b).await.unwrap();
                            assert!(r.iter().all(Result::is_err));
                        }
                        // EmptyQueryResponse and ReadyForQuery.
                        3 => {
                            c.simple_query("").await.unwrap();
                        }
                        // A statement new to the cache (Parse/Describe).
                        4 => {
                            let sql = format!("SELECT {t} + {i} + $1::int8");
                            let v: i64 = c.query_scalar(sql.as_str(), &[&1i64]).await.unwrap();
                            assert_eq!(v, t + i + 1);
                        }
                        // A slow one: the others pile up behind it.
                        _ => {
                            let id = t * 1000 + i;
                            c.execute("INSERT INTO t SELECT $1::int8 FROM pg_sleep(0.002)", &[&id])
                                .await
                                .unwrap();
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("a caller waited for answers that never came");
    // Only the smallest answers: an empty query gets EmptyQueryResponse
    // and ReadyForQuery, 11 bytes, exactly what the driver counts on.
    let empties = async {
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    c.simple_query("").await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), empties)
        .await
        .expect("a caller waited for answers that never came");
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert!(n > 0);
    assert_eq!(c.in_flight(), 0);
}
