//! Per-column result formats: binary for the types tusk decodes, text for
//! the others, in one query (once the statement's columns are known).

use tusk::types::Value;
use tusk::Executor;

const SQL: &str = "SELECT 7::int4 AS i, '1.50'::money AS m, 'b a'::tsvector AS t,
                          'pg_class'::regclass AS r, ARRAY['2.25'::money] AS ma,
                          ARRAY[1.5]::float8[] AS fa, 'x'::text AS s";

fn check_mixed(row: &tusk::Row) {
    let text: Vec<bool> = row.columns().iter().map(|c| c.is_text()).collect();
    assert_eq!(text, [false, true, true, true, true, false, false]);
    assert!(!row.is_text());
    assert_eq!(row.get::<i32>("i"), 7);
    assert_eq!(row.get::<Vec<f64>>("fa"), vec![1.5]);
    assert_eq!(row.get::<&str>("s"), "x");
    assert_eq!(row.get_text("t").unwrap(), Some("'a' 'b'"));
    assert_eq!(row.get::<Value>("r"), Value::Text("pg_class".into()));
    // A typed read of a text column says why it cannot.
    let e = row.try_get::<i64>("m").unwrap_err();
    assert!(e.to_string().contains("text format"), "{e}");
}

#[tokio::test]
async fn binary_where_known_text_otherwise_in_one_query() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let (m, ma): (String, String) = {
        let row = c
            .query_one(
                "SELECT '1.50'::money::text, ARRAY['2.25'::money]::text",
                &[],
            )
            .await
            .unwrap();
        (row.get(0usize), row.get(1usize))
    };
    // Described first: the very first run asks column by column.
    c.prepare_cached(SQL).await.unwrap();
    let row = c.query_one(SQL, &[]).await.unwrap();
    check_mixed(&row);
    assert_eq!(row.get::<&str>("m"), m);
    assert_eq!(row.get::<Value>("ma"), Value::Text(ma));
    // A prepared statement, and a stream, do the same.
    let st = tusk::Prepare::prepare(&c, SQL).await.unwrap();
    check_mixed(&c.query_one(&st, &[]).await.unwrap());
    let rows = c
        .query_stream(SQL, &[])
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    check_mixed(&rows[0]);
    // Text results asked for win.
    let row = c
        .query_one(tusk::Query::new(SQL).text(), &[])
        .await
        .unwrap();
    assert!(row.is_text());
    assert_eq!(row.get::<&str>("i"), "7");
}

#[tokio::test]
async fn the_first_run_of_new_sql_is_binary_then_per_column() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let sql = "SELECT 7::int4 AS i, '1.50'::money AS m, 'b a'::tsvector AS t,
                      'pg_class'::regclass AS r, ARRAY['2.25'::money] AS ma,
                      ARRAY[1.5]::float8[] AS fa, 'x'::text AS s";
    // One flight before the server described the columns: all binary,
    // readable as bytes.
    let row = c.query_one(sql, &[]).await.unwrap();
    assert_eq!(row.get::<i32>("i"), 7);
    assert!(matches!(row.get::<Value>("m"), Value::Unknown { .. }));
    // From the second run on: per column.
    let row = c.query_one(sql, &[]).await.unwrap();
    check_mixed(&row);
}

/// A type with no binary output function: the first run (all binary)
/// fails at Bind before anything ran; tusk asks again with that column in
/// text, so the caller sees rows. Inside a transaction the server's error
/// stands (the transaction is aborted, no retry is possible).
#[tokio::test]
async fn a_type_without_binary_output_is_read_as_text() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(
        "CREATE TYPE nobin;
         CREATE FUNCTION nobin_in(cstring) RETURNS nobin
             LANGUAGE internal IMMUTABLE STRICT AS 'textin';
         CREATE FUNCTION nobin_out(nobin) RETURNS cstring
             LANGUAGE internal IMMUTABLE STRICT AS 'textout';
         CREATE TYPE nobin (INPUT = nobin_in, OUTPUT = nobin_out, LIKE = text);
         CREATE TABLE t (n nobin, i int4);
         INSERT INTO t VALUES ('hello', 1), (NULL, 2);",
    )
    .await
    .unwrap();
    let rows = c.query("SELECT n, i FROM t ORDER BY i", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].columns()[0].is_text());
    assert_eq!(rows[0].get::<Value>("n"), Value::Text("hello".into()));
    assert_eq!(rows[1].get::<Option<&str>>("n"), None);
    assert_eq!(rows[1].get::<i32>("i"), 2);
    assert_eq!(rows[0].columns()[0].type_().name(), "nobin");
    let mut c2 = crate::conn(&db).await;
    let tx = c2.transaction().await.unwrap();
    let e = tx.query("SELECT n FROM t", &[]).await.unwrap_err();
    assert_eq!(e.code(), Some(tusk::SqlState::UNDEFINED_FUNCTION), "{e}");
    tx.rollback().await.unwrap();
    // Once described (here by a run outside a transaction), it works in one too.
    let rows = c2.query("SELECT n FROM t ORDER BY i", &[]).await.unwrap();
    assert_eq!(rows[0].get::<&str>(0usize), "hello");
    let tx = c2.transaction().await.unwrap();
    let rows = tx.query("SELECT n FROM t ORDER BY i", &[]).await.unwrap();
    assert_eq!(rows[0].get::<&str>(0usize), "hello");
    tx.commit().await.unwrap();
}
