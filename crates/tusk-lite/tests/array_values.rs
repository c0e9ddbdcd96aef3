//! Arrays on the wire: the column's type OID (numeric[] is 1231, not
//! text[]) and the binary format (array_send: dimensions, a has-NULLs
//! flag, the element type, the elements) are PostgreSQL 15's, compared
//! byte for byte through tokio-postgres (which reads results in binary).

mod common;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Client;

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
    "ARRAY[1.5]",
    "ARRAY[1, 2, 3]",
    "ARRAY[1::int8, NULL]",
    "ARRAY[1::int2]",
    "ARRAY['a', NULL, '']",
    "ARRAY['x'::varchar]",
    "ARRAY[true, false]",
    "ARRAY[1.5::float8]",
    "ARRAY[]::int[]",
    "ARRAY[NULL::numeric]",
    "'{1,2}'::int4[]",
];

async fn answer(c: &Client, expr: &str) -> (u32, Raw) {
    let row = c
        .query_one(&format!("SELECT {expr}"), &[])
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    (row.columns()[0].type_().oid(), row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_have_postgres_types_and_bytes() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    for expr in EXPRS {
        assert_eq!(answer(&lite, expr).await, answer(&pg, expr).await, "{expr}");
    }
    // And decoded by the client as the arrays they are.
    for c in [&pg, &lite] {
        let row = c
            .query_one("SELECT ARRAY[1, NULL, 3], ARRAY['a', 'b']", &[])
            .await
            .expect("arrays");
        assert_eq!(
            row.get::<_, Vec<Option<i32>>>(0),
            vec![Some(1), None, Some(3)]
        );
        assert_eq!(row.get::<_, Vec<String>>(1), vec!["a", "b"]);
    }
}

const ARRAY_TABLE: &str = "CREATE TABLE arr (id int PRIMARY KEY, a int[], b text[], \
     c int8[], d float8[], e bool[], f timestamptz[], g int2[], h float4[])";

type ArrRow = (
    Option<Vec<Option<i32>>>,
    Option<Vec<Option<String>>>,
    Option<Vec<i64>>,
    Option<Vec<f64>>,
    Option<Vec<bool>>,
    Option<Vec<std::time::SystemTime>>,
    Option<Vec<i16>>,
    Option<Vec<f32>>,
);

/// Array columns written with the tusk driver's binary parameters (their
/// array type declared in Parse) and read back in binary.
async fn tusk_round_trip(conn: &tusk::Connection) -> Vec<ArrRow> {
    use tusk::Executor;
    conn.execute(ARRAY_TABLE, &[]).await.expect("create");
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_600_000_000_123_456);
    conn.execute(
        "INSERT INTO arr VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &1i32,
            &vec![Some(1i32), None, Some(-3)],
            &vec![
                Some("a b".to_string()),
                None,
                Some(String::new()),
                Some("NULL".to_string()),
                Some("q\"\\".to_string()),
            ],
            &vec![i64::MAX, i64::MIN],
            &vec![1.5f64, f64::INFINITY],
            &vec![true, false],
            &vec![t0],
            &vec![7i16],
            &vec![0.1f32],
        ],
    )
    .await
    .expect("insert arrays");
    conn.execute(
        "INSERT INTO arr (id, a, b) VALUES ($1, $2, $3)",
        &[&2i32, &Vec::<i32>::new(), &Vec::<String>::new()],
    )
    .await
    .expect("insert empty arrays");
    // Compared with an array parameter, and updated through one.
    conn.execute(
        "UPDATE arr SET c = $1 WHERE a = $2",
        &[&vec![5i64], &vec![Some(1i32), None, Some(-3)]],
    )
    .await
    .expect("update by array");
    conn.query("SELECT a, b, c, d, e, f, g, h FROM arr ORDER BY id", &[])
        .await
        .expect("select")
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_columns_round_trip_through_tusk() {
    let pg_db = tusk_testkit::db();
    let pg = tusk::connect(&pg_db.url())
        .await
        .expect("connect to PostgreSQL");
    let dir = std::env::temp_dir().join(format!("tusk-lite-arrays-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = tusk_lite::Database::open(&dir).expect("open");
    let lite = db.connect().await.expect("connect to tusk-lite");
    let want = tusk_round_trip(&pg).await;
    assert_eq!(want.len(), 2);
    assert_eq!(tusk_round_trip(&lite).await, want);
    // The stored bytes read back in binary are PostgreSQL's, column by
    // column, after the database is opened again.
    drop(lite);
    drop(db);
    let db = tusk_lite::Database::open(&dir).expect("reopen");
    let lite = common::lite_client(&db).await;
    let pg = common::pg_client(&pg_db.url()).await;
    for col in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        let sql = format!("SELECT {col} FROM arr ORDER BY id");
        let l: Vec<Raw> = lite
            .query(&sql, &[])
            .await
            .expect("lite")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let p: Vec<Raw> = pg
            .query(&sql, &[])
            .await
            .expect("pg")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(l, p, "{col}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An undeclared parameter assigned to an array column takes the
/// column's array type (Describe says int4[]), as in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_parameter_type_is_inferred_from_the_column() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    for c in [&pg, &lite] {
        c.batch_execute("CREATE TABLE p (id int, a int[], t text[])")
            .await
            .expect("create");
        let st = c
            .prepare("INSERT INTO p VALUES ($1, $2, $3)")
            .await
            .expect("prepare");
        assert_eq!(
            st.params(),
            &[Type::INT4, Type::INT4_ARRAY, Type::TEXT_ARRAY]
        );
        c.execute(&st, &[&1i32, &vec![4i32, 5], &vec!["x y"]])
            .await
            .expect("insert");
        let st = c
            .prepare("SELECT id FROM p WHERE a = $1 AND t @> $2")
            .await
            .expect("prepare select");
        assert_eq!(st.params(), &[Type::INT4_ARRAY, Type::TEXT_ARRAY]);
        let row = c
            .query_one(&st, &[&vec![4i32, 5], &vec!["x y"]])
            .await
            .expect("select");
        assert_eq!(row.get::<_, i32>(0), 1);
    }
}

/// pg_index.indkey and indoption are int2vector (OID 22): sent as
/// int2vectorsend writes them (array_send of an int2 array with lower
/// bound 0), byte for byte as PostgreSQL 15 sends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn int2vector_columns_have_postgres_types_and_bytes() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    let query = "SELECT indkey, indoption, indkey[0] FROM pg_index \
                 WHERE indrelid = 'ivw'::regclass ORDER BY indisprimary";
    let mut answers = Vec::new();
    for c in [&pg, &lite] {
        c.batch_execute(
            "CREATE TABLE ivw (a int, b int, c text, PRIMARY KEY (b, a)); \
             CREATE INDEX ivw_c_b ON ivw (c DESC, b NULLS FIRST)",
        )
        .await
        .unwrap();
        let rows = c.query(query, &[]).await.unwrap();
        let got: Vec<(Vec<u32>, Raw, Raw, i16)> = rows
            .iter()
            .map(|r| {
                (
                    r.columns().iter().map(|c| c.type_().oid()).collect(),
                    r.get(0),
                    r.get(1),
                    r.get(2),
                )
            })
            .collect();
        answers.push(got);
    }
    assert_eq!(answers[1], answers[0]);
    assert_eq!(answers[0].len(), 2);
    assert_eq!(answers[0][0].0, vec![22, 22, 21]);
    assert_eq!(answers[0][0].3, 3);
}
