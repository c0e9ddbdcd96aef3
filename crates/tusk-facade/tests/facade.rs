//! One crate gives the driver and the pool: `tusk::Pool` is tusk-pool's
//! pool, over the same `tusk::Executor`, `tusk::Error` and row types.

use tusk::Executor;
use tusk_testkit::Cluster;

#[tokio::test]
async fn pool_and_driver_from_one_crate() {
    let db = Cluster::shared().database().unwrap();
    let pool = tusk::Pool::new(tusk::PoolConfig::from_url(&db.url()).unwrap()).unwrap();
    let n: i64 = pool.query_scalar("SELECT 41::int8 + 1", &[]).await.unwrap();
    assert_eq!(n, 42);
    let conn = tusk::connect(&db.url()).await.unwrap();
    let e: tusk::Error = conn.query("SELEC", &[]).await.unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Syntax);
    let stats: tusk::pool::PoolStats = pool.stats();
    assert!(stats.size >= 1, "{stats:?}");
    pool.close(std::time::Duration::from_secs(5)).await;
}
