//! json and jsonb on the wire and on disk: the binary format (jsonb_send:
//! a version byte 1, then the text; json_send: the text) byte for byte
//! as PostgreSQL 15 sends it; serde_json values sent and read back in
//! binary through the tusk driver on both engines; and jsonb columns
//! read back after the durable engine is reopened.

mod common;

use serde_json::json;
use tokio_postgres::types::{FromSql, Type};
use tusk::Executor;

/// A value's raw bytes, whatever its type.
#[derive(Debug, PartialEq)]
struct Raw(Option<Vec<u8>>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw.to_vec())))
    }

    fn from_sql_null(_: &Type) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

const EXPRS: &[&str] = &[
    r#"'{"b": 1, "a": [1.0, "x", null, true], "a": 2}'::jsonb"#,
    r#"'{"b" : 1,   "a":[1.0]}'::json"#,
    r#"'"\u00e9 \ud83d\ude00 \n"'::jsonb"#,
    "'null'::jsonb",
    "'123456789012345678901234567890.50'::jsonb",
    "to_jsonb('2020-01-02 03:04:05'::timestamp)",
    "jsonb_build_object('k', 1, 'a', ARRAY[1, 2])",
    "json_build_array(1, 'x')",
    "'[]'::jsonb",
];

async fn answer(c: &tokio_postgres::Client, expr: &str) -> (u32, Raw) {
    let row = c
        .query_one(&format!("SELECT {expr}"), &[])
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    (row.columns()[0].type_().oid(), row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_jsonb_have_postgres_types_and_bytes() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    for expr in EXPRS {
        assert_eq!(answer(&lite, expr).await, answer(&pg, expr).await, "{expr}");
    }
}

/// What one engine answers to serde_json values sent as parameters (in
/// binary) and read back (in binary).
async fn round_trip(c: &tusk::Connection) -> Vec<String> {
    c.execute(
        "CREATE TABLE docs (id int PRIMARY KEY, j jsonb, t json)",
        &[],
    )
    .await
    .expect("create");
    let values = [
        json!({"b": [1, 2.5, "x", null], "a": {"é": true}}),
        json!([]),
        json!("a \"string\""),
        json!(-12.5),
        json!(null),
    ];
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let id = i32::try_from(i).expect("small");
        c.execute("INSERT INTO docs VALUES ($1, $2, $3)", &[&id, v, v])
            .await
            .expect("insert");
        let row = c
            .query_one(
                "SELECT j, t, j::text, $2::jsonb = j FROM docs WHERE id = $1",
                &[&id, v],
            )
            .await
            .expect("select");
        let j: serde_json::Value = row.get(0usize);
        let t: serde_json::Value = row.get(1usize);
        assert_eq!(&j, v, "jsonb {v}");
        assert_eq!(&t, v, "json {v}");
        let text: String = row.get(2usize);
        let eq: bool = row.get(3usize);
        out.push(format!("{text} {eq}"));
    }
    // Strings fill json and jsonb parameters too (sent as text).
    c.execute(
        "INSERT INTO docs VALUES ($1, $2, $3)",
        &[&100i32, &r#"{"s": [1, 2.50]}"#, &r#"{"s" :  1}"#],
    )
    .await
    .expect("insert strings");
    let row = c
        .query_one(
            "SELECT j::text, t::text, j ->> $1 FROM docs WHERE id = 100",
            &[&"s"],
        )
        .await
        .expect("select strings");
    for i in 0..3usize {
        out.push(row.get::<String>(i));
    }
    // A jsonb parameter in a containment test, an Option for SQL NULL.
    let n: i64 = c
        .query_scalar(
            "SELECT count(*) FROM docs WHERE j @> $1",
            &[&json!({"a": {"é": true}})],
        )
        .await
        .expect("contains");
    out.push(n.to_string());
    let none: Option<serde_json::Value> = c
        .query_scalar("SELECT j -> 'missing' FROM docs WHERE id = 0", &[])
        .await
        .expect("missing key");
    out.push(format!("{none:?}"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serde_json_values_round_trip_on_both_engines() {
    let pg_db = tusk_testkit::db();
    let pg = tusk::connect(&pg_db.url()).await.expect("connect pg");
    let lite_db = tusk_lite::Database::open_in_memory();
    let lite = lite_db.connect().await.expect("connect lite");
    let expected = round_trip(&pg).await;
    assert_eq!(round_trip(&lite).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonb_columns_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("tusk-lite-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let db = tusk_lite::Database::open(&dir).expect("open");
        let c = db.connect().await.expect("connect");
        c.execute(
            "CREATE TABLE docs (id int PRIMARY KEY, j jsonb UNIQUE, t json)",
            &[],
        )
        .await
        .expect("create");
        c.execute(
            r#"INSERT INTO docs VALUES (1, '{"b": 1.50, "a": [1, 2]}', '{"x" :  1}'), (2, '[]', NULL)"#,
            &[],
        )
        .await
        .expect("insert");
    }
    let db = tusk_lite::Database::open(&dir).expect("reopen");
    let c = db.connect().await.expect("connect");
    let rows = c
        .query("SELECT j::text, t::text FROM docs ORDER BY j", &[])
        .await
        .expect("select");
    let got: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0usize), r.get(1usize)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("[]".to_string(), None),
            (
                r#"{"a": [1, 2], "b": 1.50}"#.to_string(),
                Some(r#"{"x" :  1}"#.to_string())
            ),
        ]
    );
    // The unique constraint still compares as jsonb (1.5 = 1.50).
    let e = c
        .execute(
            r#"INSERT INTO docs VALUES (3, '{"a": [1, 2], "b": 1.5}', NULL)"#,
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(tusk::SqlState::UNIQUE_VIOLATION), "{e}");
    drop(c);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
