//! Real clients against tusk-lite: psql over TCP, tokio-postgres over TCP
//! (binary formats, prepared statements), and the tusk driver embedded
//! over the in-process socket pair.

use std::process::Command;
use tusk::Executor;

fn psql(port: u16, args: &[&str]) -> std::process::Output {
    Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "app",
            "-d",
            "app",
        ])
        .args(args)
        .env_remove("PGPASSWORD")
        .output()
        .expect("psql runs (scripts/setup installs it)")
}

#[test]
fn psql_smoke() {
    let db = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&db, "127.0.0.1:0").expect("listening");
    let port = addr.port();
    let out = psql(
        port,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE t (id int PRIMARY KEY, name text)",
            "-c",
            "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
            "-c",
            "BEGIN; UPDATE t SET name = 'uno' WHERE id = 1; COMMIT;",
            "-c",
            "SELECT id, name FROM t ORDER BY id",
        ],
    );
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1|uno\n2|two"), "{stdout}");

    // A prepared statement with parameters (psql's way: PREPARE/EXECUTE).
    let out = psql(
        port,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "PREPARE ins (int, text) AS INSERT INTO t VALUES ($1, $2); \
             EXECUTE ins(3, 'three'); EXECUTE ins(4, 'four'); \
             PREPARE sel AS SELECT name FROM t WHERE id = $1; \
             EXECUTE sel(4); DEALLOCATE sel",
        ],
    );
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("INSERT 0 1\nINSERT 0 1\nPREPARE\nfour\n"),
        "{stdout}"
    );
    let out = psql(port, &["-c", "EXECUTE nope(1)"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("prepared statement \"nope\" does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An error carries its SQLSTATE.
    let out = psql(
        port,
        &[
            "-v",
            "VERBOSITY=verbose",
            "-c",
            "\\set VERBOSITY verbose",
            "-c",
            "SELECT 1/0",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("22012") && stderr.contains("division by zero"),
        "{stderr}"
    );

    // server_version as psql sees it.
    let out = psql(port, &["-c", "SHOW server_version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("15."));
}

#[tokio::test]
async fn tokio_postgres_binary_and_prepared() {
    let db = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&db, "127.0.0.1:0").expect("listening");
    let url = format!("host=127.0.0.1 port={} user=app dbname=app", addr.port());
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    c.batch_execute("CREATE TABLE t (id int8 PRIMARY KEY, small int2, n int4, f float8, ok bool, s varchar(20))")
        .await
        .expect("create");
    let ins = c
        .prepare("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)")
        .await
        .expect("prepare");
    for i in 0..5i64 {
        let small = i16::try_from(i).unwrap_or(0);
        let n = i32::try_from(i * 10).unwrap_or(0);
        c.execute(
            &ins,
            &[
                &i,
                &small,
                &n,
                &(i as f64 / 2.0),
                &(i % 2 == 0),
                &format!("row {i}"),
            ],
        )
        .await
        .expect("insert");
    }
    let rows = c
        .query(
            "SELECT id, small, n, f, ok, s FROM t WHERE id >= $1 ORDER BY id",
            &[&3i64],
        )
        .await
        .expect("select");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, i64>(0), 3);
    assert_eq!(rows[0].get::<_, i16>(1), 3);
    assert_eq!(rows[0].get::<_, i32>(2), 30);
    assert_eq!(rows[0].get::<_, f64>(3), 1.5);
    assert!(!rows[0].get::<_, bool>(4));
    assert_eq!(rows[0].get::<_, &str>(5), "row 3");
    let err = c
        .execute(&ins, &[&1i64, &1i16, &1i32, &1.0f64, &true, &"dup"])
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );
}

#[tokio::test]
async fn embedded_tusk_driver() {
    let db = tusk_lite::Database::open_in_memory();
    let mut conn = db.connect().await.expect("in-process connection");
    assert!(conn.server_version().is_some_and(|v| v.starts_with("15.")));
    conn.execute(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 0)",
        &[],
    )
    .await
    .expect("create");
    for i in 1..=3i32 {
        conn.execute(
            "INSERT INTO items (id, name) VALUES ($1, $2)",
            &[&i, &format!("item{i}")],
        )
        .await
        .expect("insert");
    }
    let n: i64 = conn
        .query_scalar("SELECT count(*) FROM items", &[])
        .await
        .expect("count");
    assert_eq!(n, 3);

    // A transaction that rolls back leaves nothing behind.
    let tx = conn.transaction().await.expect("begin");
    tx.execute(
        "UPDATE items SET qty = qty + $1 WHERE id = $2",
        &[&5i32, &1i32],
    )
    .await
    .expect("update");
    tx.rollback().await.expect("rollback");
    let qty: i32 = conn
        .query_scalar("SELECT qty FROM items WHERE id = $1", &[&1i32])
        .await
        .expect("qty");
    assert_eq!(qty, 0);

    let tx = conn.transaction().await.expect("begin");
    tx.execute(
        "UPDATE items SET qty = qty + $1 WHERE id = $2",
        &[&5i32, &1i32],
    )
    .await
    .expect("update");
    tx.commit().await.expect("commit");
    let qty: i32 = conn
        .query_scalar("SELECT qty FROM items WHERE id = $1", &[&1i32])
        .await
        .expect("qty");
    assert_eq!(qty, 5);

    // Errors carry SQLSTATEs.
    let e = conn
        .execute(
            "INSERT INTO items (id, name) VALUES ($1, $2)",
            &[&1i32, &"dup"],
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("23505")
    );
    let e = conn
        .execute(
            "CREATE TRIGGER t AFTER INSERT ON items EXECUTE FUNCTION f()",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code().map(|c| c.code().to_string()).as_deref(),
        Some("0A000")
    );

    // Two connections share one database.
    let other = db.connect().await.expect("second connection");
    let names: Vec<String> = other
        .query("SELECT name FROM items ORDER BY id", &[])
        .await
        .expect("select")
        .iter()
        .map(|r| r.get::<String>(0))
        .collect();
    assert_eq!(names, ["item1", "item2", "item3"]);
}

/// `tusk::connect` with `lite:` URLs once tusk-lite registered itself:
/// `lite:memory` is one database per process, a directory keeps its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lite_urls_through_tusk_connect() {
    tusk_lite::register();
    let a = tusk::connect("lite:memory").await.expect("lite:memory");
    a.execute("CREATE TABLE urls (id int PRIMARY KEY)", &[])
        .await
        .expect("create");
    a.execute("INSERT INTO urls VALUES ($1)", &[&7i32])
        .await
        .expect("insert");
    let b = tusk::connect("lite:memory")
        .await
        .expect("a second connection");
    let n: i32 = b
        .query_scalar("SELECT id FROM urls", &[])
        .await
        .expect("the same database");
    assert_eq!(n, 7);
    let dir = std::env::temp_dir().join(format!("tusk-lite-url-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("lite://{}", dir.display());
    let c = tusk::connect(&url).await.expect("a directory");
    c.execute("CREATE TABLE d (x int)", &[])
        .await
        .expect("create");
    assert!(dir.is_dir(), "the database directory was created");
    let e = tusk::connect("lite:").await.unwrap_err();
    assert!(e.to_string().contains("lite:///path/to/dir"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
