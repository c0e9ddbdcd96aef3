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

/// An answer that has arrived is never held back by a later request that
/// waits: here the later one waits for a lock that only the first caller,
/// once it has its answer, releases. Waiting for the bytes the whole
/// pipeline owes (the low-water mark) would deadlock; the driver stops
/// waiting for them after a moment and reads what is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_in_hand_is_not_held_back_by_a_later_request_that_waits() {
    let db = crate::db();
    let url = format!("{}?sslmode=disable", db.url());
    let a = Arc::new(tusk::connect(&url).await.unwrap());
    let b = tusk::connect(&url).await.unwrap();
    b.query("SELECT pg_advisory_lock(42)", &[]).await.unwrap();
    let run = async {
        // The first caller's answer comes after the others are written
        // (pg_sleep), and is small next to what the pipeline owes.
        let first = {
            let a = a.clone();
            async move {
                a.query("SELECT pg_sleep(0.3)", &[]).await.unwrap();
                // Only now is the lock the next request waits for released.
                b.query("SELECT pg_advisory_unlock(42)", &[]).await.unwrap();
            }
        };
        let waiter = {
            let a = a.clone();
            async move {
                a.query("SELECT pg_advisory_lock(42), pg_advisory_unlock(42)", &[])
                    .await
                    .unwrap();
            }
        };
        let mut rest = Vec::new();
        for i in 0..60i64 {
            let a = a.clone();
            rest.push(async move {
                let v: i64 = a.query_scalar("SELECT $1::int8", &[&i]).await.unwrap();
                assert_eq!(v, i);
            });
        }
        // Polled in this order on their first poll: the first caller's
        // request is written first, the waiter's second, then the rest.
        tokio::join!(first, waiter, futures_util::future::join_all(rest));
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("an answer that had arrived was held back behind a request waiting for a lock");
    assert_eq!(a.in_flight(), 0);
}
