//! Parameters of types the driver does not know (user-defined enums,
//! domains, composites; they come with a later issue) fail at once with a
//! clear error, and the statement cache does not grow.

use postgres_types::ToSql;
use tusk::{Batch, ErrorKind, Executor};

#[derive(Debug, ToSql)]
#[postgres(name = "mood")]
enum Mood {
    #[postgres(name = "sad")]
    Sad,
    #[postgres(name = "ok")]
    #[allow(dead_code)]
    Ok,
}

#[derive(Debug, ToSql)]
#[postgres(name = "posint")]
struct PosInt(i32);

fn check(e: &tusk::Error) {
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let s = e.to_string();
    assert!(s.contains("$1"), "{s}");
    assert!(s.contains("not supported"), "{s}");
}

#[tokio::test]
async fn unknown_parameter_types_fail_at_once_without_cache_growth() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(
        "CREATE TYPE mood AS ENUM ('sad', 'ok');
         CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
         CREATE TABLE t (m mood, p posint)",
    )
    .await
    .unwrap();
    let before = c.cached_statements();
    for _ in 0..5 {
        let e = c
            .execute("INSERT INTO t (m) VALUES ($1)", &[&Mood::Sad])
            .await
            .unwrap_err();
        check(&e);
        let e = c
            .execute("INSERT INTO t (p) VALUES ($1)", &[&PosInt(3)])
            .await
            .unwrap_err();
        check(&e);
        let mut b = Batch::atomic();
        b.push("INSERT INTO t (m) VALUES ($1)", &[&Mood::Sad]);
        let out = c.batch(&b).await.unwrap();
        check(out[0].as_ref().unwrap_err());
    }
    assert!(
        c.cached_statements() <= before + 2,
        "{} cached statements",
        c.cached_statements()
    );
    let n = c.cached_statements();
    for _ in 0..5 {
        c.execute("INSERT INTO t (m) VALUES ($1)", &[&Mood::Sad])
            .await
            .unwrap_err();
    }
    assert_eq!(c.cached_statements(), n);
    // The connection is fine; the values go as text casts meanwhile.
    c.execute("INSERT INTO t (m) VALUES ($1::text::mood)", &[&"sad"])
        .await
        .unwrap();
    let n: i64 = c.query_scalar("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n, 1);
}
