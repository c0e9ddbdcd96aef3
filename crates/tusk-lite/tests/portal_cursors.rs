//! Portals and pg_cursors through the extended protocol, checked against
//! PostgreSQL 15 and tusk-lite with the same code: a named portal bound in
//! a transaction block outlives the Sync after its Bind and is listed with
//! its statement's text; DECLARE sent by Parse shows its own text.

mod common;

use tokio_postgres::Client;

use common::{lite_client, pg_client};

async fn scenario(mut c: Client) {
    let tx = c.transaction().await.expect("begin");
    let st = tx
        .prepare("SELECT x FROM generate_series(1, 2) x")
        .await
        .expect("prepare");
    let portal = tx.bind(&st, &[]).await.expect("bind");
    // Bound, then executed after the Sync that ended the Bind.
    let first = tx.query_portal(&portal, 1).await.expect("first row");
    assert_eq!(first.len(), 1);
    // DECLARE through Parse/Bind/Execute (the extended protocol).
    tx.execute("DECLARE ext CURSOR FOR SELECT 2", &[])
        .await
        .expect("declare");
    let rows = tx
        .query(
            "SELECT name = 'ext', statement FROM pg_cursors WHERE name <> '' ORDER BY name = 'ext', statement",
            &[],
        )
        .await
        .expect("pg_cursors");
    let got: Vec<(bool, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        [
            (false, "SELECT x FROM generate_series(1, 2) x".to_string()),
            (true, "DECLARE ext CURSOR FOR SELECT 2".to_string()),
        ]
    );
    let second = tx.query_portal(&portal, 1).await.expect("second row");
    assert_eq!(second.iter().map(|r| r.get(0)).collect::<Vec<i32>>(), [2]);
    tx.rollback().await.expect("rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_cursors_statement_over_the_extended_protocol() {
    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    scenario(pg_client(&pg.url()).await).await;
    let db = tusk_lite::Database::open_in_memory();
    scenario(lite_client(&db).await).await;
}
