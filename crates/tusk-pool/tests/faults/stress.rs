//! 10,000 tasks on 20 connections with seeded random cancellations and
//! drops: no deadlock, no leak, every task ends with a result or a typed
//! error (or was aborted).

use std::time::Duration;

use tusk::{Executor, Query};
use tusk_pool::{Pool, PooledTransactionOptions};
use tusk_testkit::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_with_cancellations() {
    let seed = crate::seed("ten_thousand_tasks_with_cancellations");
    let mut rng = fastrand::Rng::with_seed(seed);
    let cluster = Cluster::shared();
    let db = cluster.database().unwrap();
    db.psql("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)")
        .unwrap();
    let pool = Pool::new(
        crate::config(&db.url())
            .max_size(20)
            .acquire_timeout(Duration::from_secs(30))
            .build(),
    )
    .unwrap();
    let mut tasks = Vec::with_capacity(10_000);
    let mut aborts = Vec::new();
    for i in 0..10_000u32 {
        let pool = pool.clone();
        let kind = rng.u8(0..8);
        let cancel_after = Duration::from_micros(rng.u64(0..3_000));
        let t = tokio::spawn(async move {
            let work = async {
                match kind {
                    0 | 1 => pool.query_scalar::<i32>("SELECT 1", &[]).await.map(|_| ()),
                    2 => {
                        let c = pool.acquire().await?;
                        c.execute("UPDATE counter SET n = n + 1 WHERE id = 1", &[])
                            .await?;
                        Ok(())
                    }
                    3 => {
                        let c = pool.acquire().await?;
                        // Left in a transaction: the pool rolls it back.
                        c.execute_script("BEGIN; SELECT 1").await
                    }
                    4 => {
                        pool.transaction(PooledTransactionOptions::new(), async |tx| {
                            tx.execute("UPDATE counter SET n = n + 1 WHERE id = 1", &[])
                                .await?;
                            Ok(())
                        })
                        .await
                    }
                    5 => pool
                        .query(
                            Query::new("SELECT pg_sleep(0.002)").timeout(Duration::from_millis(1)),
                            &[],
                        )
                        .await
                        .map(|_| ()),
                    6 => {
                        let c = pool.acquire().await?;
                        c.execute("SET work_mem = '2MB'", &[]).await.map(|_| ())
                    }
                    _ => pool
                        .execute("SELECT pg_sleep(0.001)", &[])
                        .await
                        .map(|_| ()),
                }
            };
            // Seeded cancellation: a third of the tasks are cut short.
            if i % 3 == 0 {
                match tokio::time::timeout(cancel_after, work).await {
                    Ok(r) => r,
                    Err(_) => Ok(()),
                }
            } else {
                work.await
            }
        });
        if i % 50 == 7 {
            aborts.push(t.abort_handle());
        }
        tasks.push(t);
        if i % 500 == 0 {
            tokio::task::yield_now().await;
        }
    }
    for a in aborts {
        a.abort();
    }
    let (mut ok, mut errors, mut aborted) = (0u32, 0u32, 0u32);
    for t in tasks {
        match crate::bounded("stress task", t).await {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                crate::assert_typed(&e);
                errors += 1;
            }
            Err(j) if j.is_cancelled() => aborted += 1,
            Err(j) => panic!("task panicked: {j}"),
        }
    }
    println!("seed {seed}: {ok} ok, {errors} typed errors, {aborted} aborted");
    // Everything comes back (cleanup of interrupted handles runs in the background).
    let t0 = std::time::Instant::now();
    loop {
        let s = pool.stats();
        if s.in_use == 0 && s.waiting == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "connections not back: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    crate::assert_consistent(&pool).await;
    let s = pool.stats();
    assert!(s.size <= 20, "{s:?}");
    println!(
        "stats: size {} created {} closed {:?} resets {}",
        s.size, s.created_total, s.closed_total, s.resets_total
    );
    // No connection leaks state: every idle one is clean.
    for _ in 0..s.size {
        let c = pool.acquire().await.unwrap();
        assert_eq!(c.transaction_status(), tusk::TransactionStatus::Idle);
        let wm: String = c
            .query_scalar("SELECT current_setting('work_mem')", &[])
            .await
            .unwrap();
        assert_ne!(wm, "2MB");
    }
    assert!(cluster.backend_count(db.name()).unwrap() <= 20);
}
