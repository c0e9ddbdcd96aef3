//! The attribute as users write it.

use tusk::testing::TestDatabase;
use tusk::{Executor, Transaction};

#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["users.sql", "posts.sql"])]
async fn a_pool_sees_the_migrations_and_the_fixtures_in_order(
    pool: tusk::Pool,
) -> Result<(), tusk::Error> {
    let users: i64 = pool.query_scalar("SELECT count(*) FROM users", &[]).await?;
    let posts = texts(&pool, "SELECT title FROM posts ORDER BY id").await?;
    assert_eq!(users, 2);
    assert_eq!(posts, ["ada's first post", "grace's first post"]);
    // The history table came with the template.
    let applied: i64 = pool
        .query_scalar("SELECT count(*) FROM tusk_migrations", &[])
        .await?;
    assert_eq!(applied, 2);
    Ok(())
}

/// Two tests writing the same unique key: each has a database of its own,
/// so neither sees the other's row, whatever the order or overlap.
#[tusk::test(migrations = "tests/harness_migrations")]
async fn a_fresh_database_per_test_one(conn: tusk::Connection) -> Result<(), tusk::Error> {
    conn.execute("INSERT INTO users (name) VALUES ('same')", &[])
        .await?;
    let n: i64 = conn.query_scalar("SELECT count(*) FROM users", &[]).await?;
    assert_eq!(n, 1);
    Ok(())
}

#[tusk::test(migrations = "tests/harness_migrations")]
async fn a_fresh_database_per_test_two(conn: tusk::Connection) -> Result<(), tusk::Error> {
    conn.execute("INSERT INTO users (name) VALUES ('same')", &[])
        .await?;
    let n: i64 = conn.query_scalar("SELECT count(*) FROM users", &[]).await?;
    assert_eq!(n, 1);
    Ok(())
}

#[tusk::test(migrations = false)]
async fn no_migrations_gives_an_empty_database(db: TestDatabase, conn: tusk::Connection) {
    let tables: i64 = conn
        .query_scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(tables, 0);
    let current: String = conn
        .query_scalar("SELECT current_database()::text", &[])
        .await
        .unwrap();
    assert_eq!(current, db.name());
    assert!(db.name().starts_with("tusk_test_"), "{}", db.name());
    let comment: String = conn
        .query_scalar(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database \
             WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap();
    assert!(
        comment.ends_with("no_migrations_gives_an_empty_database"),
        "{comment}"
    );
}

#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["users.sql"], transaction)]
async fn transaction_mode_with_savepoints(tx: &mut Transaction<'_>) -> Result<(), tusk::Error> {
    // The fixture ran inside the transaction.
    let n: i64 = tx.query_scalar("SELECT count(*) FROM users", &[]).await?;
    assert_eq!(n, 2);
    // A nested transaction is a savepoint: rolling it back keeps the outer
    // work, and committing it cannot end the harness's transaction.
    {
        let inner = tx.transaction().await?;
        inner
            .execute("INSERT INTO users (name) VALUES ('gone')", &[])
            .await?;
        inner.rollback().await?;
    }
    {
        let inner = tx.transaction().await?;
        inner
            .execute("INSERT INTO users (name) VALUES ('kept')", &[])
            .await?;
        inner.commit().await?;
    }
    let names = texts(&*tx, "SELECT name FROM users ORDER BY id").await?;
    assert_eq!(names, ["ada", "grace", "kept"]);
    Ok(())
}

/// Runs alongside the one above in the same shared database: their
/// fixtures' unique names would collide if either committed.
#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["users.sql"], transaction)]
async fn transaction_mode_on_a_connection(conn: &tusk::Connection) -> Result<(), tusk::Error> {
    let n: i64 = conn.query_scalar("SELECT count(*) FROM users", &[]).await?;
    assert_eq!(n, 2);
    Ok(())
}

#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["broken.sql"])]
#[should_panic(expected = "fixture broken.sql")]
async fn a_broken_fixture_fails_the_test_naming_it(_pool: tusk::Pool) {}

#[tusk::test(migrations = false)]
#[should_panic(expected = "the test returned an error")]
async fn an_error_returned_fails_the_test(conn: tusk::Connection) -> Result<(), tusk::Error> {
    conn.execute("SELECT * FROM no_such_table", &[]).await?;
    Ok(())
}

#[tusk::test(migrations = false)]
#[should_panic(expected = "still checked out")]
async fn a_pooled_connection_left_checked_out_fails_the_test(pool: tusk::Pool) {
    let conn = pool.acquire().await.unwrap();
    std::mem::forget(conn);
}

async fn texts(db: &impl Executor, sql: &str) -> Result<Vec<String>, tusk::Error> {
    let rows = db.query(sql, &[]).await?;
    Ok(rows.iter().map(|r| r.get::<String>(0)).collect())
}

// ---- review (issue 16): a fixture's syntax error names its file and line ----

#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["syntax_error.sql"])]
#[should_panic(expected = "fixture syntax_error.sql, line 4:")]
async fn a_fixture_syntax_error_names_the_file_and_line(_pool: tusk::Pool) {}

#[tusk::test(migrations = "tests/harness_migrations", fixtures = ["syntax_error.sql"], transaction)]
#[should_panic(expected = "fixture syntax_error.sql, line 4:")]
async fn a_fixture_syntax_error_names_the_line_in_transaction_mode(_conn: &tusk::Connection) {}
