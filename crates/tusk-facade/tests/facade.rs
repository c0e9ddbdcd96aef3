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

/// `#[derive(tusk::FromRow)]` through the facade (the derive's expansion
/// names `::tusk`, which is this crate here), and `query_as` on a pool,
/// a pooled connection and a pool transaction (all `Executor`s).
#[derive(Debug, PartialEq, tusk::FromRow)]
struct Item {
    id: i32,
    #[tusk(rename = "label")]
    name: String,
}

#[tokio::test]
async fn derive_from_row_and_query_as_through_the_pool() {
    let db = Cluster::shared().database().unwrap();
    let pool = tusk::Pool::new(tusk::PoolConfig::from_url(&db.url()).unwrap()).unwrap();
    let want = Item {
        id: 1,
        name: "a".into(),
    };
    let sql = "SELECT 1 AS id, 'a' AS label";
    let got: Vec<Item> = pool.query_as(sql, &[]).await.unwrap();
    assert_eq!(got, [want]);
    let mut conn = pool.acquire().await.unwrap();
    let one: Item = conn.query_one_as(sql, &[]).await.unwrap();
    assert_eq!(one.name, "a");
    let tx = conn.transaction().await.unwrap();
    let opt: Option<(i32, String)> = tx.query_opt_as(sql, &[]).await.unwrap();
    assert_eq!(opt, Some((1, "a".into())));
    tx.commit().await.unwrap();
    drop(conn);
    let e = pool
        .query_one_as::<Item>("SELECT 1 AS id", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(e.as_row_error(), Some(tusk::RowError::MissingColumn { column, .. }) if column == "label"),
        "{e}"
    );
    pool.close(std::time::Duration::from_secs(5)).await;
}

/// `tusk::Listener` and `tusk::listen::*` (feature `listen`).
#[tokio::test]
async fn listener_through_the_facade() {
    let db = Cluster::shared().database().unwrap();
    let listener = tusk::Listener::connect(&db.url()).await.unwrap();
    let mut sub = listener.listen("facade.*").await.unwrap();
    let conn = tusk::connect(&db.url()).await.unwrap();
    tusk::listen::publish(&conn, "facade.hello", "hi")
        .await
        .unwrap();
    let ev = tokio::time::timeout(std::time::Duration::from_secs(30), sub.recv())
        .await
        .unwrap()
        .unwrap();
    match ev {
        tusk::listen::Event::Notify(m) => {
            assert_eq!((&*m.topic, m.payload.as_str()), ("facade.hello", "hi"))
        }
        other => panic!("{other:?}"),
    }
    listener.close().await;
}

/// tusk-cron under `tusk::cron` (feature `cron`): a job scheduled and run
/// through the facade's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_through_the_facade() {
    let db = Cluster::shared().database().unwrap();
    let pool = tusk::Pool::new(tusk::PoolConfig::from_url(&db.url()).unwrap()).unwrap();
    let cron = tusk::cron::Scheduler::new(pool.clone(), &tusk::cron::Options::default());
    cron.install().await.unwrap();
    cron.add(&tusk::cron::JobSpec::sql("one", "@daily", "SELECT 1"))
        .await
        .unwrap();
    let worker = tusk::cron::Worker::new(
        cron.clone(),
        tusk::cron::WorkerOptions::default(),
        tusk::cron::Handlers::new(),
    );
    let run = worker.run_now("one").await.unwrap();
    assert_eq!(run.status, tusk::cron::RunStatus::Succeeded);
    pool.close(std::time::Duration::from_secs(5)).await;
}
