//! The information_schema views as a client sees them: the same column
//! names in the same order as PostgreSQL 15, and column types a driver
//! can read. PostgreSQL types these columns with its information_schema
//! domains (sql_identifier, cardinal_number, character_data, yes_or_no,
//! time_stamp), whose OIDs differ between installations; tusk-lite
//! describes them with the domains' base types (name, int4, varchar,
//! timestamptz). The values are compared by tests/slt/information_schema.slt.

mod common;

use tokio_postgres::types::{Kind, Type};

/// Every information_schema view tusk-lite builds.
const VIEWS: &[&str] = &[
    "tables",
    "columns",
    "schemata",
    "sequences",
    "table_constraints",
    "key_column_usage",
    "referential_constraints",
    "constraint_column_usage",
    "constraint_table_usage",
    "check_constraints",
    "views",
    "routines",
    "triggers",
    "information_schema_catalog_name",
    "element_types",
    "character_sets",
    "table_privileges",
    "role_table_grants",
    "column_privileges",
    "role_column_grants",
    // Empty in tusk-lite, which has none of the objects they list.
    "attributes",
    "check_constraint_routine_usage",
    "column_domain_usage",
    "domain_constraints",
    "domain_udt_usage",
    "domains",
    "foreign_data_wrappers",
    "foreign_servers",
    "foreign_tables",
    "parameters",
    "routine_column_usage",
    "routine_routine_usage",
    "routine_sequence_usage",
    "routine_table_usage",
    "transforms",
    "triggered_update_columns",
    "user_defined_types",
    "user_mappings",
    "view_column_usage",
    "view_routine_usage",
    "view_table_usage",
];

/// The type a column of PostgreSQL's has once its domain is resolved.
fn base(ty: &Type) -> Type {
    match ty.kind() {
        Kind::Domain(b) => base(b),
        _ => ty.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_and_types_match_postgres() {
    let pg_db = tusk_testkit::db();
    let pg = common::pg_client(&pg_db.url()).await;
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    for view in VIEWS {
        let sql = format!("SELECT * FROM information_schema.{view}");
        let want = pg.prepare(&sql).await.expect("PostgreSQL prepares");
        let got = lite.prepare(&sql).await.expect("tusk-lite prepares");
        let names = |s: &tokio_postgres::Statement| {
            s.columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&got), names(&want), "{view}: column names");
        for (g, w) in got.columns().iter().zip(want.columns()) {
            assert_eq!(
                g.type_(),
                &base(w.type_()),
                "{view}.{}: tusk-lite's type vs PostgreSQL's (domain resolved)",
                g.name()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_read_with_their_rust_types() {
    let lite = common::lite_client(&tusk_lite::Database::open_in_memory()).await;
    lite.batch_execute("CREATE TABLE t (id bigserial PRIMARY KEY, name varchar(40) NOT NULL)")
        .await
        .expect("create");
    let rows = lite
        .query(
            "SELECT column_name, ordinal_position, is_nullable, character_maximum_length \
             FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
            &[&"t"],
        )
        .await
        .expect("query");
    let got: Vec<(String, i32, String, Option<i32>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("id".to_string(), 1, "NO".to_string(), None),
            ("name".to_string(), 2, "NO".to_string(), Some(40)),
        ]
    );
    let err = lite
        .query("SELECT * FROM information_schema.sql_features", &[])
        .await
        .expect_err("sql_features is not built");
    assert_eq!(
        err.as_db_error().map(|e| e.code().code()),
        Some("0A000"),
        "{err}"
    );
}
