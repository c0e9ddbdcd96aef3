use std::time::Duration;
use tusk::{ErrorKind, Executor, Query};

/// Seeded random drops of in-flight futures across 10,000 operations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_drops_never_desynchronise_the_connection() {
    random_drops("").await;
}

/// The same with read groups on: members that fail, are skipped, write
/// (25006) or are dropped, all mixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_drops_never_desynchronise_read_groups() {
    random_drops("?read_groups=on").await;
}

async fn random_drops(params: &str) {
    let seed: u64 = std::env::var("TUSK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("cancel-safety seed: {seed} (rerun with TUSK_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let db = crate::db();
    let c = tusk::connect(&format!("{}{params}", db.url()))
        .await
        .unwrap();
    c.execute_script("CREATE SEQUENCE s").await.unwrap();
    let pid = c.process_id();
    let mut ops = 0u32;
    while ops < 10_000 {
        // A wave of up to 16 concurrent queries; some dropped at a random poll.
        let wave = rng.usize(1..=16);
        let mut futs = Vec::new();
        for _ in 0..wave {
            let i = rng.i64(0..1_000_000);
            let drop_after = if rng.u8(0..4) == 0 {
                Some(rng.u32(0..3))
            } else {
                None
            };
            let kind = rng.u8(0..5);
            let c = &c;
            futs.push(async move {
                let fut = async move {
                    match kind {
                        0 => c
                            .query_scalar::<i64>("SELECT $1::int8 + 1", &[&i])
                            .await
                            .map(|v| (v, i + 1)),
                        1 => c
                            .query("SELECT g FROM generate_series(1, 50) g", &[])
                            .await
                            .map(|r| (i64::try_from(r.len()).unwrap(), 50)),
                        2 => c
                            .query_scalar::<i64>("SELECT 1 / 0 + $1::int8", &[&i])
                            .await
                            .map(|_| (0, 1)),
                        // A SELECT that writes (25006 in a read group).
                        3 => c
                            .query_scalar::<i64>("SELECT nextval('s') * 0 + $1::int8", &[&i])
                            .await
                            .map(|v| (v, i)),
                        _ => c
                            .query_scalar::<String>("SELECT $1::text", &[&format!("s{i}")])
                            .await
                            .map(|s| (s, format!("s{i}")))
                            .map(|(a, b)| (i64::from(a == b), 1)),
                    }
                };
                match drop_after {
                    None => Some(fut.await),
                    Some(polls) => {
                        let mut fut = std::pin::pin!(fut);
                        for _ in 0..=polls {
                            let r = futures_util::poll!(fut.as_mut());
                            if let std::task::Poll::Ready(r) = r {
                                return Some(r);
                            }
                            tokio::task::yield_now().await;
                        }
                        None // dropped mid-flight
                    }
                }
            });
        }
        for (r, _) in futures_util::future::join_all(futs)
            .await
            .into_iter()
            .zip(0..)
        {
            match r {
                None => {}
                Some(Ok((got, want))) => assert_eq!(got, want, "seed {seed}"),
                Some(Err(e)) => assert_eq!(e.kind(), ErrorKind::Data, "seed {seed}: {e}"),
            }
        }
        ops += u32::try_from(wave).unwrap();
    }
    c.wait_idle().await.unwrap();
    let v: i64 = c.query_scalar("SELECT 7::int8", &[]).await.unwrap();
    assert_eq!(v, 7);
    assert_eq!(c.process_id(), pid);
    drop(c);
    // No backend left behind once the connection is dropped.
    for _ in 0..100 {
        if tusk_testkit::Cluster::shared()
            .backend_count(db.name())
            .unwrap()
            == 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a backend is still connected after the connection was dropped");
}

#[tokio::test]
async fn dropped_transaction_future_rolls_back() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    c.execute_script("CREATE TABLE t (id int)").await.unwrap();
    {
        let mut fut = std::pin::pin!(c.transaction());
        // Poll once: BEGIN is on its way; then drop.
        let _ = futures_util::poll!(fut.as_mut());
    }
    c.wait_idle().await.unwrap();
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
    c.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
}

#[tokio::test]
async fn per_query_timeout_cancels_on_the_server() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let q = Query::new("SELECT pg_sleep(30)").timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = c.query(q, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // The backend is idle again, the connection fine.
    let v: i32 = c.query_scalar("SELECT 3", &[]).await.unwrap();
    assert_eq!(v, 3);
}

#[tokio::test]
async fn timed_query_never_cancels_a_query_behind_it() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    for _ in 0..20 {
        let timed = c.query(
            Query::new("SELECT pg_sleep(0.05)").timeout(Duration::from_millis(50)),
            &[],
        );
        let after = c.query_scalar::<i32>("SELECT 1 FROM pg_sleep(0.02)", &[]);
        let (a, b) = tokio::join!(timed, after);
        if let Err(e) = a {
            assert_eq!(e.kind(), ErrorKind::Timeout);
        }
        assert_eq!(b.unwrap(), 1, "the query queued behind a timed one was hit");
    }
}

#[tokio::test]
async fn cancel_token_cancels_the_running_query() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let token = c.cancel_token();
    // Cancel every 200 ms until the query ends: a cancel that reaches the
    // backend before it starts the query is ignored by the server.
    let q = c.query("SELECT pg_sleep(30)", &[]);
    tokio::pin!(q);
    let r = loop {
        tokio::select! {
            r = &mut q => break r,
            _ = tokio::time::sleep(Duration::from_millis(200)) => token.cancel().await.unwrap(),
        }
    };
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Canceled, "{e}");
    let v: i32 = c.query_scalar("SELECT 4", &[]).await.unwrap();
    assert_eq!(v, 4);
}
