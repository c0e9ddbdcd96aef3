//! Syntax errors carry PostgreSQL's cursor position (the P field of the
//! ErrorResponse, in characters from 1), in the simple and the extended
//! query protocol: each statement's error is compared field by field on
//! PostgreSQL 15 and tusk-lite.

mod common;

use tokio_postgres::error::ErrorPosition;
use tokio_postgres::Client;

const BAD: &[&str] = &[
    "SELEC 1",
    "SELECT 1 +",
    "SELECT 1 +   ",
    "SELECT 1 + -- a comment",
    "SELECT * FROM",
    "SELECT 1 FROM t WHERE",
    "SELECT 1 1",
    "SELECT (1, 2",
    "SELECT 1)",
    "  SELECT\n  1,\n  ,2",
    "SELECT 'é' || 'ü' FRO t",
    "SELECT 'é', 'ü' 'x'",
    "SELECT 'unterminated",
    "SELECT \"unterminated",
    "SELECT 1 /* unterminated comment",
    "SELECT $$unterminated",
    "SELECT 1; SELEC 2",
    "SELECT 1;\nSELECT 2 3",
    "INSERT INTO t VALUES (1,)",
    "CREATE TABLE t (id int,)",
    "UPDATE t SET WHERE id = 1",
    "SELECT a NOT BETWEEN 1 AND",
    "SELECT * FROM t ORDER BY",
    "SELECT CASE WHEN true THEN 1 END END END",
    "SELECT CASE WHEN true 1 END",
    "SELECT 1 UNION SELECT 2 UNION",
    "WITH x AS (SELECT 1) DELETE",
    "DROP TABLE",
    "SELECT ''''x'",
];

/// (SQLSTATE, message, position) of the statement's error.
async fn error_of(c: &Client, sql: &str, extended: bool) -> (String, String, Option<u32>) {
    let r = if extended {
        c.prepare(sql).await.map(|_| ())
    } else {
        c.batch_execute(sql).await
    };
    let e = r.expect_err(sql);
    let db = e.as_db_error().expect("a server error");
    let pos = match db.position() {
        Some(ErrorPosition::Original(p)) => Some(*p),
        Some(ErrorPosition::Internal { .. }) => Some(0),
        None => None,
    };
    (db.code().code().to_string(), db.message().to_string(), pos)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syntax_errors_point_where_postgres_points() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    let mut diffs = Vec::new();
    for sql in BAD {
        for extended in [false, true] {
            if extended && sql.contains(';') {
                continue; // one statement per Parse
            }
            let want = error_of(&pg, sql, extended).await;
            let got = error_of(&lite, sql, extended).await;
            if got != want {
                diffs.push(format!(
                    "{sql:?} (extended: {extended}):\n  postgres {want:?}\n  lite     {got:?}"
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
