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
