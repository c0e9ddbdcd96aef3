//! Parameters declared by type OID in Parse, as drivers send them (tusk's
//! type lookup declares `oid[]`): the same answers from PostgreSQL 15
//! and tusk-lite, binary in and out.

use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

async fn client(url: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    c
}

/// What both engines answer: an oid[] parameter unnested, compared with
/// ANY, and returned as an oid[] column; an enum type's OID from
/// pg_type read back through the parameter.
async fn answers(c: &Client) -> (Vec<u32>, bool, Vec<u32>, Vec<String>) {
    c.batch_execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        .await
        .expect("create type");
    let st = c
        .prepare_typed(
            "SELECT pg_catalog.unnest($1::pg_catalog.oid[])",
            &[Type::OID_ARRAY],
        )
        .await
        .expect("prepare unnest");
    let unnested: Vec<u32> = c
        .query(&st, &[&vec![25u32, 16, 23]])
        .await
        .expect("unnest")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Declared, as tusk's lookup does (tusk-lite does not infer an array
    // type for an undeclared parameter: 0A000).
    let typed = |sql: &'static str| c.prepare_typed(sql, &[Type::OID_ARRAY]);
    let st = typed("SELECT 25::oid = ANY ($1::oid[])")
        .await
        .expect("prepare any");
    let any: bool = c
        .query_one(&st, &[&vec![16u32, 25]])
        .await
        .expect("any")
        .get(0);
    let st = typed("SELECT ARRAY(SELECT x FROM unnest($1::oid[]) AS x ORDER BY x)")
        .await
        .expect("prepare array");
    let sorted: Vec<u32> = c
        .query_one(&st, &[&vec![23u32, 16, 25]])
        .await
        .expect("array out")
        .get(0);
    let mood: u32 = c
        .query_one("SELECT oid FROM pg_type WHERE typname = 'mood'", &[])
        .await
        .expect("mood oid")
        .get(0);
    let st = typed(
        "SELECT e.enumlabel::text FROM pg_enum e
         WHERE e.enumtypid = ANY ($1::oid[]) ORDER BY e.enumsortorder",
    )
    .await
    .expect("prepare labels");
    let labels: Vec<String> = c
        .query(&st, &[&vec![mood]])
        .await
        .expect("labels")
        .iter()
        .map(|r| r.get(0))
        .collect();
    (unnested, any, sorted, labels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oid_array_parameters_answer_as_postgres_does() {
    let pg = tusk_testkit::db();
    let want = answers(&client(&pg.url()).await).await;
    assert_eq!(
        want,
        (
            vec![25, 16, 23],
            true,
            vec![16, 23, 25],
            vec!["sad".to_string(), "ok".to_string()]
        )
    );
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let c = client(&format!(
        "host=127.0.0.1 port={} user=app dbname=app",
        addr.port()
    ))
    .await;
    assert_eq!(answers(&c).await, want);
    // Where the element type is not given by a cast, tusk-lite says so
    // (PostgreSQL keeps the declared type).
    let e = c
        .prepare_typed("SELECT $1", &[Type::OID_ARRAY])
        .await
        .expect_err("an array parameter outside a cast");
    assert_eq!(
        e.as_db_error().map(|d| d.code().code()),
        Some("0A000"),
        "{e}"
    );
}
