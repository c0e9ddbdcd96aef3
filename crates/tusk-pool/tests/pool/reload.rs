//! Hot reload: `reconfigure` to another target recycles connections
//! gracefully; config from URL parameters reaches a real pool.

use std::time::Duration;
use tusk::Executor;
use tusk_pool::{Pool, PoolConfig};

async fn current_db(e: &impl Executor) -> String {
    e.query_scalar("SELECT current_database()::text", &[])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfigure_to_another_database_recycles_without_cutting_off() {
    let (a, b) = (crate::db(), crate::db());
    let pool = crate::pool(&a, 4);
    // One connection busy in a transaction, one idle, one shared by the
    // pool's query methods.
    let mut busy = pool.acquire().await.unwrap();
    let idle = pool.acquire().await.unwrap();
    drop(idle);
    assert_eq!(current_db(&pool).await, a.name());
    let tx = busy.transaction().await.unwrap();
    tx.execute("CREATE TABLE kept (n int)", &[]).await.unwrap();

    let (applied, warnings) = crate::bounded("reconfigure", async {
        pool.reconfigure(PoolConfig::from_url(&format!("{}?pool_min_idle=9", b.url())).unwrap())
    })
    .await;
    // min_idle above max_size (10 from the defaults here) is fine; the
    // URL's max_size was the default, so nothing to correct.
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(applied.connect.dbname(), Some(b.name()));
    assert_eq!(pool.config().min_idle, 9);
    // The idle connections of the old target are closed at once.
    assert_eq!(pool.stats().idle, 0, "{:?}", pool.stats());

    // New work goes to the new database, through both ways in.
    let c = pool.acquire().await.unwrap();
    assert_eq!(current_db(&c).await, b.name());
    drop(c);
    assert_eq!(current_db(&pool).await, b.name());

    // The busy connection was not cut off: its transaction still commits
    // on the old database, and it closes when it comes back.
    tx.execute("INSERT INTO kept VALUES (1)", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(current_db(&busy).await, a.name());
    let old_pid = busy.process_id();
    drop(busy);
    let n: i64 = tusk::connect(&a.url())
        .await
        .unwrap()
        .query_scalar("SELECT count(*) FROM kept", &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
    for _ in 0..8 {
        let c = pool.acquire().await.unwrap();
        assert_ne!(c.process_id(), old_pid);
        assert_eq!(current_db(&c).await, b.name());
    }
    // Both connections to the old database are closed: the idle one at
    // once, the busy one when it came back.
    crate::bounded("the retired connections close", async {
        while pool.stats().closed_sum() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_reload_live_without_recycling_and_corrections_come_back() {
    let db = crate::db();
    let (pool, warnings) = Pool::new_with_warnings(
        PoolConfig::from_url(&format!(
            "{}?pool_max_size=2&pool_min_idle=5&pool_acquire_timeout=10s",
            db.url()
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        (warnings[0].key, warnings[0].applied.as_str()),
        ("min_idle", "2")
    );
    assert_eq!(pool.config().min_idle, 2);
    let (c1, c2) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    let pids = [c1.process_id(), c2.process_id()];
    drop((c1, c2));
    let (applied, warnings) = pool.reconfigure(PoolConfig {
        max_size: 0,
        acquire_timeout: Duration::from_secs(3),
        ..pool.config()
    });
    assert_eq!(applied.max_size, 1);
    assert_eq!(warnings.len(), 2, "{warnings:?}"); // max_size 0, min_idle 2 > 1
                                                   // Same target: the connection is kept.
    crate::bounded("acquire", async {
        loop {
            let c = pool.acquire().await.unwrap();
            if pool.stats().size == 1 {
                assert!(pids.contains(&c.process_id()), "{pids:?}");
                break;
            }
            drop(c);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
