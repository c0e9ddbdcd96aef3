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

/// A portal whose query fails in its fourth row, executed three rows at a
/// time: the first Execute returns the three rows and suspends (PostgreSQL
/// stops at max_rows without computing the next), the second fails. (Once
/// the first ended with CommandComplete, so the error was lost, and the
/// second Execute ran the query again from its start.)
async fn late_error_at_a_batch_boundary(mut c: Client) {
    let tx = c.transaction().await.expect("begin");
    let st = tx
        .prepare("SELECT 100 / (4 - g) FROM generate_series(1, 10) g")
        .await
        .expect("prepare");
    let portal = tx.bind(&st, &[]).await.expect("bind");
    let first = tx.query_portal(&portal, 3).await.expect("three rows");
    assert_eq!(
        first.iter().map(|r| r.get(0)).collect::<Vec<i32>>(),
        [33, 50, 100]
    );
    let e = tx
        .query_portal(&portal, 3)
        .await
        .expect_err("the fourth row fails");
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO),
        "{e}"
    );
    tx.rollback().await.expect("rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_error_at_a_batch_boundary_fails_the_next_execute() {
    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    late_error_at_a_batch_boundary(pg_client(&pg.url()).await).await;
    let db = tusk_lite::Database::open_in_memory();
    late_error_at_a_batch_boundary(lite_client(&db).await).await;
}

/// A portal runs once: executed again after it completed, a query's
/// returns no rows and an INSERT's fails with 55000. (tusk-lite ran both
/// again from the start: the rows came twice and the INSERT inserted
/// twice.)
async fn completed_portal_again(mut c: Client) {
    c.batch_execute("CREATE TABLE once_t (x int)")
        .await
        .expect("table");
    let tx = c.transaction().await.expect("begin");
    let st = tx
        .prepare("SELECT x FROM generate_series(1, 2) x")
        .await
        .expect("prepare");
    let p = tx.bind(&st, &[]).await.expect("bind");
    assert_eq!(tx.query_portal(&p, 5).await.expect("rows").len(), 2);
    assert_eq!(tx.query_portal(&p, 5).await.expect("again").len(), 0);
    let st = tx
        .prepare("INSERT INTO once_t VALUES (1)")
        .await
        .expect("prepare");
    let p = tx.bind(&st, &[]).await.expect("bind");
    tx.query_portal(&p, 0).await.expect("insert");
    let e = tx.query_portal(&p, 0).await.expect_err("run again");
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE),
        "{e}"
    );
    tx.rollback().await.expect("rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_portal_does_not_run_again() {
    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    completed_portal_again(pg_client(&pg.url()).await).await;
    let db = tusk_lite::Database::open_in_memory();
    completed_portal_again(lite_client(&db).await).await;
}
