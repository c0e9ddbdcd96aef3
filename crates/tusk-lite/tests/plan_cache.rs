//! Prepared statements (the extended protocol) run again after DDL, on
//! PostgreSQL 15 and tusk-lite with the same code: tusk-lite keeps each
//! statement's plan between runs, and DDL (its own, or another session's)
//! must make it plan again, or refuse a changed row shape as PostgreSQL
//! does ("cached plan must not change result type", 0A000).

mod common;

use tokio_postgres::Client;

use common::{lite_client, pg_client};

/// Runs `scenario` with two sessions on tusk-lite, then on PostgreSQL;
/// returns what each printed, for comparison.
async fn both<F, Fut>(scenario: F) -> (Vec<String>, Vec<String>)
where
    F: Fn(Client, Client) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let db = tusk_lite::Database::open_in_memory();
    let lite = scenario(lite_client(&db).await, lite_client(&db).await).await;
    let pg = tusk_testkit::Cluster::shared()
        .database()
        .expect("database");
    let url = pg.url();
    let postgres = scenario(pg_client(&url).await, pg_client(&url).await).await;
    (lite, postgres)
}

/// A query's rows as text, or its error's SQLSTATE and message.
async fn rows(c: &Client, stmt: &tokio_postgres::Statement, id: i32) -> String {
    match c.query(stmt, &[&id]).await {
        Ok(rows) => rows
            .iter()
            .map(|r| match r.columns()[0].type_() {
                &tokio_postgres::types::Type::INT4 => r.get::<_, i32>(0).to_string(),
                _ => r.get::<_, String>(0),
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => match e.as_db_error() {
            Some(db) => format!("{} {}", db.code().code(), db.message()),
            None => e.to_string(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_plan_again_after_ddl() {
    let (lite, postgres) = both(|a, b| async move {
        let mut out = Vec::new();
        a.batch_execute(
            "CREATE TABLE pcx (id int PRIMARY KEY, v text); INSERT INTO pcx VALUES (1, 'old')",
        )
        .await
        .expect("setup");
        let sel = a
            .prepare("SELECT v FROM pcx WHERE id = $1")
            .await
            .expect("prepare");
        let upd = a
            .prepare("UPDATE pcx SET v = v || '!' WHERE id = $1")
            .await
            .expect("prepare");
        out.push(rows(&a, &sel, 1).await);
        // Another session drops the table and makes it again, same shape.
        b.batch_execute(
            "DROP TABLE pcx; CREATE TABLE pcx (id int PRIMARY KEY, v text); \
             INSERT INTO pcx VALUES (1, 'new'), (2, 'two')",
        )
        .await
        .expect("recreate");
        out.push(rows(&a, &sel, 1).await);
        out.push(format!("{:?}", a.execute(&upd, &[&2]).await.ok()));
        out.push(rows(&a, &sel, 2).await);
        // An index in between changes the plan, not the answer.
        b.batch_execute("CREATE UNIQUE INDEX pcx_v ON pcx (v)")
            .await
            .expect("index");
        out.push(rows(&a, &sel, 2).await);
        // The session's own DDL in a transaction, then rolled back.
        a.batch_execute("BEGIN; DROP TABLE pcx; CREATE TABLE pcx (id int, v text)")
            .await
            .expect("ddl in a transaction");
        out.push(rows(&a, &sel, 1).await);
        a.batch_execute("ROLLBACK").await.expect("rollback");
        out.push(rows(&a, &sel, 1).await);
        // Another row shape: PostgreSQL refuses to run the old statement.
        b.batch_execute("DROP TABLE pcx; CREATE TABLE pcx (id int PRIMARY KEY, v int); INSERT INTO pcx VALUES (1, 5)")
            .await
            .expect("recreate with another type");
        out.push(rows(&a, &sel, 1).await);
        // A statement prepared now sees the new shape.
        let sel2 = a
            .prepare("SELECT v FROM pcx WHERE id = $1")
            .await
            .expect("prepare again");
        out.push(rows(&a, &sel2, 1).await);
        // The table gone: the statement's error names it.
        b.batch_execute("DROP TABLE pcx").await.expect("drop");
        out.push(rows(&a, &sel2, 1).await);
        out
    })
    .await;
    assert_eq!(lite, postgres);
    assert_eq!(postgres[0], "old");
    assert_eq!(postgres[1], "new");
    assert_eq!(postgres[7], "0A000 cached plan must not change result type");
}
