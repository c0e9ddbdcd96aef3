//! Query results snapshotted with insta, with redactions.

use tusk::testing::snapshot_rows;

#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["users.sql", "posts.sql"])]
async fn users_and_posts_snapshot(pool: tusk::Pool) {
    // created_at differs on every run: redacted.
    tusk::assert_query_snapshot!(
        &pool,
        "SELECT u.id, u.name, u.created_at, p.title, NULL::text AS nothing \
         FROM users u JOIN posts p ON p.author = u.id ORDER BY u.id",
        { "[].created_at" => "[created_at]" }
    );
}

#[tusk::test(migrations = false)]
async fn snapshot_rows_keep_column_order_nulls_and_the_last_result(conn: tusk::Connection) {
    let rows = snapshot_rows(
        &conn,
        "SELECT 1 AS first; SELECT 'b' AS zeta, NULL::int AS alpha, 2.50::numeric AS mid",
    )
    .await
    .unwrap();
    assert_eq!(rows.columns, ["zeta", "alpha", "mid"]);
    assert_eq!(
        rows.rows,
        [vec![Some("b".to_owned()), None, Some("2.50".to_owned())]]
    );
    tusk::assert_query_snapshot!(&conn, "SELECT 'b' AS zeta, NULL::int AS alpha");
}
