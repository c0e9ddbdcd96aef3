//! pg_cursors through the extended protocol, checked against PostgreSQL 15
//! and tusk-lite with the same code: DECLARE sent by Parse shows its own
//! text in `statement`.

mod common;

use tokio_postgres::Client;

use common::{lite_client, pg_client};

async fn scenario(mut c: Client) {
    let tx = c.transaction().await.expect("begin");
    // DECLARE through Parse/Bind/Execute (the extended protocol).
    tx.execute("DECLARE ext CURSOR FOR SELECT 2", &[])
        .await
        .expect("declare");
    let rows = tx
        .query(
            "SELECT name, statement FROM pg_cursors WHERE name <> '' ORDER BY name",
            &[],
        )
        .await
        .expect("pg_cursors");
    let got: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        [(
            "ext".to_string(),
            "DECLARE ext CURSOR FOR SELECT 2".to_string()
        )]
    );
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
