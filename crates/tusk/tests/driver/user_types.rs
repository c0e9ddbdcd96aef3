//! User-defined and extension types: looked up from `pg_type` once (one
//! query, recursive), cached per database and shared by a config's
//! connections, healed after DDL; `#[derive(ToSql, FromSql)]` enums,
//! composites and domains as parameters and results.

use futures_util::StreamExt;
use postgres_types::{FromSql, ToSql};
use std::collections::HashMap;
use tusk::{Batch, Executor, Prepare};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSql, FromSql)]
#[postgres(name = "mood")]
enum Mood {
    #[postgres(name = "sad")]
    Sad,
    #[postgres(name = "ok")]
    Ok,
    #[postgres(name = "happy")]
    Happy,
}

#[derive(Debug, Clone, PartialEq, ToSql, FromSql)]
#[postgres(name = "point2")]
struct Point2 {
    x: Option<i32>,
    label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, ToSql, FromSql)]
#[postgres(name = "shape")]
struct Shape {
    name: String,
    corners: Vec<Point2>,
    center: Option<Point2>,
    mood: Mood,
}

#[derive(Debug, Clone, Copy, PartialEq, ToSql, FromSql)]
#[postgres(name = "posint")]
struct PosInt(i32);

const SCHEMA: &str = "
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TYPE point2 AS (x int4, label text);
    CREATE TYPE shape AS (name text, corners point2[], center point2, mood mood);
    CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
    CREATE DOMAIN mood_not_sad AS mood CHECK (VALUE <> 'sad');
    CREATE TABLE t (m mood, p posint, ms mood[], s shape, d mood_not_sad);
";

#[tokio::test]
async fn derived_enums_composites_and_domains_round_trip() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(SCHEMA).await.unwrap();

    // Enum: parameter and result, NULL, arrays.
    let m: Mood = c
        .query_scalar("SELECT $1::mood", &[&Mood::Happy])
        .await
        .unwrap();
    assert_eq!(m, Mood::Happy);
    let m: Mood = c.query_scalar("SELECT 'ok'::mood", &[]).await.unwrap();
    assert_eq!(m, Mood::Ok);
    let m: Option<Mood> = c
        .query_scalar("SELECT $1::mood", &[&None::<Mood>])
        .await
        .unwrap();
    assert_eq!(m, None);
    let v = vec![Mood::Sad, Mood::Happy];
    let got: Vec<Mood> = c.query_scalar("SELECT $1::mood[]", &[&v]).await.unwrap();
    assert_eq!(got, v);
    let got: Vec<Option<Mood>> = c
        .query_scalar("SELECT ARRAY['ok', NULL]::mood[]", &[])
        .await
        .unwrap();
    assert_eq!(got, vec![Some(Mood::Ok), None]);

    // Composite with NULL fields, nested, arrays of composites.
    let p = Point2 {
        x: None,
        label: Some("a \"quoted\", (odd) label".into()),
    };
    let got: Point2 = c.query_scalar("SELECT $1::point2", &[&p]).await.unwrap();
    assert_eq!(got, p);
    let s = Shape {
        name: "tri".into(),
        corners: vec![
            Point2 {
                x: Some(1),
                label: None,
            },
            p.clone(),
        ],
        center: None,
        mood: Mood::Ok,
    };
    c.execute("INSERT INTO t (s) VALUES ($1)", &[&s])
        .await
        .unwrap();
    let got: Shape = c
        .query_scalar("SELECT s FROM t WHERE (s).name IS NOT NULL", &[])
        .await
        .unwrap();
    assert_eq!(got, s);
    // The server's own reading of the same value, as the oracle.
    let same: bool = c
        .query_scalar(
            r#"SELECT s::text = ROW('tri', ARRAY[ROW(1, NULL)::point2,
                   ROW(NULL, 'a "quoted", (odd) label')::point2], NULL::point2, 'ok')::shape::text
               FROM t WHERE (s).name IS NOT NULL"#,
            &[],
        )
        .await
        .unwrap();
    assert!(same);
    let shapes = vec![s.clone(), s.clone()];
    let got: Vec<Shape> = c
        .query_scalar("SELECT $1::shape[]", &[&shapes])
        .await
        .unwrap();
    assert_eq!(got, shapes);

    // Domains: as their base type, or as a derived newtype; a domain over
    // an enum.
    c.execute("INSERT INTO t (p) VALUES ($1)", &[&7i32])
        .await
        .unwrap();
    c.execute("INSERT INTO t (p) VALUES ($1)", &[&PosInt(8)])
        .await
        .unwrap();
    let e = c
        .execute("INSERT INTO t (p) VALUES ($1)", &[&PosInt(-1)])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(tusk::SqlState::CHECK_VIOLATION), "{e}");
    let ps: Vec<i32> = c
        .query("SELECT p FROM t WHERE p IS NOT NULL ORDER BY p", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0usize))
        .collect();
    assert_eq!(ps, vec![7, 8]);
    let arr: Vec<i32> = c
        .query_scalar("SELECT ARRAY[1, 2]::posint[]", &[])
        .await
        .unwrap();
    assert_eq!(arr, vec![1, 2]);
    c.execute("INSERT INTO t (d) VALUES ($1)", &[&Mood::Happy])
        .await
        .unwrap();
    let e = c
        .execute("INSERT INTO t (d) VALUES ($1)", &[&Mood::Sad])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(tusk::SqlState::CHECK_VIOLATION), "{e}");
    let d: Mood = c
        .query_scalar("SELECT d FROM t WHERE d IS NOT NULL", &[])
        .await
        .unwrap();
    assert_eq!(d, Mood::Happy);

    // Columns report the looked-up type.
    let rows = c
        .query("SELECT m, ms, s FROM t LIMIT 1", &[])
        .await
        .unwrap();
    let cols = rows[0].columns();
    assert_eq!(cols[0].type_().name(), "mood");
    assert_eq!(cols[0].type_().schema(), "public");
    assert_eq!(cols[1].type_().name(), "_mood");
    assert!(matches!(
        cols[2].type_().kind(),
        tusk::types::Kind::Composite(_)
    ));
}

#[tokio::test]
async fn every_query_path_resolves_types_and_one_lookup_serves_them() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(SCHEMA).await.unwrap();
    c.execute_script("INSERT INTO t (m) SELECT 'ok' FROM generate_series(1, 3000)")
        .await
        .unwrap();
    let before = c.type_lookups();
    // A stream whose first rows meet the type.
    let mut s = c
        .query_stream("SELECT m, ms FROM t WHERE m IS NOT NULL", &[])
        .await
        .unwrap();
    let mut n = 0;
    while let Some(r) = s.next().await {
        let m: Mood = r.unwrap().get(0usize);
        assert_eq!(m, Mood::Ok);
        n += 1;
    }
    assert_eq!(n, 3000);
    // Prepared: parameter types known before the first run.
    let st = c
        .prepare("INSERT INTO t (m, p) VALUES ($1, $2) RETURNING m, p")
        .await
        .unwrap();
    assert_eq!(st.params()[0].name(), "mood");
    assert_eq!(st.params()[1].name(), "posint");
    assert_eq!(st.columns()[0].type_().name(), "mood");
    let row = c.query_one(&st, &[&Mood::Ok, &PosInt(1)]).await.unwrap();
    assert_eq!(row.get::<Mood>(0usize), Mood::Ok);
    // (A domain column arrives as its base type.)
    assert_eq!(row.get::<i32>(1usize), 1);
    let row = c.query_one(&st, &[&Mood::Ok, &2i32]).await.unwrap();
    assert_eq!(row.get::<i32>(1usize), 2);
    // Batches, plain and atomic.
    let mut b = Batch::new();
    b.push("SELECT $1::mood", &[&Mood::Sad]);
    b.push("SELECT ARRAY[$1, $2]::mood[]", &[&Mood::Sad, &Mood::Happy]);
    let out = c.batch(&b).await.unwrap();
    let m: Mood = out[0].as_ref().unwrap().rows[0].get(0usize);
    assert_eq!(m, Mood::Sad);
    let mut b = Batch::atomic();
    b.push("INSERT INTO t (m) VALUES ($1)", &[&Mood::Sad]);
    b.push("SELECT m FROM t WHERE m = $1", &[&Mood::Sad]);
    let out = c.batch(&b).await.unwrap();
    let m: Mood = out[1].as_ref().unwrap().rows[0].get(0usize);
    assert_eq!(m, Mood::Sad);
    // Uncached and in a transaction.
    let m: Mood = c
        .query_scalar(tusk::Query::new("SELECT $1::mood").uncached(), &[&Mood::Ok])
        .await
        .unwrap();
    assert_eq!(m, Mood::Ok);
    let mut c2 = crate::conn(&db).await;
    let tx = c2.transaction().await.unwrap();
    let m: Mood = tx
        .query_scalar("SELECT $1::mood", &[&Mood::Happy])
        .await
        .unwrap();
    assert_eq!(m, Mood::Happy);
    tx.commit().await.unwrap();
    // The whole schema cost one lookup per type met for the first time,
    // not one per query.
    assert!(
        c.type_lookups() - before <= 3,
        "{} lookups",
        c.type_lookups() - before
    );
    // Cached runs look nothing up.
    let k = c.type_lookups();
    for _ in 0..5 {
        let m: Mood = c
            .query_scalar("SELECT $1::mood", &[&Mood::Ok])
            .await
            .unwrap();
        assert_eq!(m, Mood::Ok);
    }
    assert_eq!(c.type_lookups(), k);
}

#[tokio::test]
async fn connections_of_one_config_share_the_registry() {
    let db = crate::db();
    let config = tusk::Config::parse(&db.url()).unwrap();
    let a = tusk::connect_with(&config).await.unwrap();
    a.execute_script("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        .await
        .unwrap();
    let m: Mood = a.query_scalar("SELECT 'ok'::mood", &[]).await.unwrap();
    assert_eq!(m, Mood::Ok);
    let n = a.type_lookups();
    assert_eq!(n, 1);
    assert!(!config.type_registry().is_empty());
    let b = tusk::connect_with(&config.clone()).await.unwrap();
    let m: Mood = b
        .query_scalar("SELECT $1::mood", &[&Mood::Sad])
        .await
        .unwrap();
    assert_eq!(m, Mood::Sad);
    assert_eq!(b.type_lookups(), n, "the second connection looked up again");
    // A config of its own: a registry of its own.
    let c = crate::conn(&db).await;
    let m: Mood = c.query_scalar("SELECT 'ok'::mood", &[]).await.unwrap();
    assert_eq!(m, Mood::Ok);
    assert_eq!(c.type_lookups(), 1);
    b.clear_type_cache();
    assert!(config.type_registry().is_empty());
}

#[tokio::test]
async fn schemas_quoted_names_and_a_hostile_search_path() {
    #[derive(Debug, PartialEq, ToSql, FromSql)]
    #[postgres(name = "Odd Type")]
    enum Odd {
        #[postgres(name = "a b")]
        AB,
        #[postgres(name = "C\"")]
        C,
    }
    #[derive(Debug, PartialEq, ToSql, FromSql)]
    #[postgres(name = "status")]
    enum Status {
        #[postgres(name = "on")]
        On,
        #[postgres(name = "off")]
        Off,
    }
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(
        r#"CREATE SCHEMA app;
           CREATE TYPE app.status AS ENUM ('on', 'off');
           CREATE TYPE "Odd Type" AS ENUM ('a b', 'C"');
           CREATE SCHEMA evil;
           -- Everything the lookup names, shadowed.
           CREATE TABLE evil.pg_type (oid oid, typname name);
           CREATE FUNCTION evil.unnest(oid[]) RETURNS SETOF oid
               LANGUAGE sql AS 'SELECT 0::oid';
           CREATE FUNCTION evil.oideq(oid, oid) RETURNS bool
               LANGUAGE sql AS 'SELECT false';
           CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oideq);
           CREATE OPERATOR evil.<> (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oideq);
           SET search_path = evil, app, pg_catalog, public;"#,
    )
    .await
    .unwrap();
    let s: Status = c
        .query_scalar("SELECT $1::app.status", &[&Status::Off])
        .await
        .unwrap();
    assert_eq!(s, Status::Off);
    let rows = c.query("SELECT 'on'::status", &[]).await.unwrap();
    assert_eq!(rows[0].columns()[0].type_().schema(), "app");
    assert_eq!(rows[0].get::<Status>(0usize), Status::On);
    let o: Vec<Odd> = c
        .query_scalar(r#"SELECT ARRAY['a b', 'C"']::public."Odd Type"[]"#, &[])
        .await
        .unwrap();
    assert_eq!(o, vec![Odd::AB, Odd::C]);
    let o: Odd = c
        .query_scalar(r#"SELECT $1::public."Odd Type""#, &[&Odd::C])
        .await
        .unwrap();
    assert_eq!(o, Odd::C);
}

#[tokio::test]
async fn a_type_dropped_and_created_again_heals() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let other = crate::conn(&db).await;
    c.execute_script("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE t (m mood)")
        .await
        .unwrap();
    let sql = "SELECT m FROM t";
    c.execute("INSERT INTO t VALUES ($1)", &[&Mood::Ok])
        .await
        .unwrap();
    let m: Mood = c.query_scalar(sql, &[]).await.unwrap();
    assert_eq!(m, Mood::Ok);
    // Dropped and created again elsewhere: a new OID, this connection saw
    // no DDL tag, its cached plan is stale.
    other
        .execute_script(
            "DROP TABLE t; DROP TYPE mood;
             CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
             CREATE TABLE t (m mood); INSERT INTO t VALUES ('happy')",
        )
        .await
        .unwrap();
    let m: Mood = c.query_scalar(sql, &[]).await.unwrap();
    assert_eq!(m, Mood::Happy);
    c.execute("INSERT INTO t VALUES ($1)", &[&Mood::Sad])
        .await
        .unwrap();
    // ALTER TYPE elsewhere keeps the OID: clear_type_cache() is the cure.
    #[derive(Debug, PartialEq, ToSql, FromSql)]
    #[postgres(name = "mood")]
    enum Mood4 {
        #[postgres(name = "sad")]
        Sad,
        #[postgres(name = "ok")]
        Ok,
        #[postgres(name = "happy")]
        Happy,
        #[postgres(name = "meh")]
        Meh,
    }
    other
        .execute_script("ALTER TYPE mood ADD VALUE 'meh'")
        .await
        .unwrap();
    c.clear_type_cache();
    c.execute("INSERT INTO t VALUES ($1)", &[&Mood4::Meh])
        .await
        .unwrap();
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE m = $1", &[&Mood4::Meh])
        .await
        .unwrap();
    assert_eq!(n, 1);
    // The same on this connection: its DDL tag clears the cache itself.
    c.execute_script(
        "DROP TABLE t; DROP TYPE mood; CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    )
    .await
    .unwrap();
    let m: Mood = c
        .query_scalar("SELECT $1::mood", &[&Mood::Sad])
        .await
        .unwrap();
    assert_eq!(m, Mood::Sad);
    let _ = (Mood4::Sad, Mood4::Ok, Mood4::Happy);
}

#[tokio::test]
async fn hstore_and_citext() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE EXTENSION hstore; CREATE EXTENSION citext")
        .await
        .unwrap();
    let mut h: HashMap<String, Option<String>> = HashMap::new();
    h.insert("a".into(), Some("1".into()));
    h.insert("b \"x\"".into(), None);
    let got: HashMap<String, Option<String>> =
        c.query_scalar("SELECT $1::hstore", &[&h]).await.unwrap();
    assert_eq!(got, h);
    let got: HashMap<String, Option<String>> = c
        .query_scalar("SELECT 'k=>v, n=>NULL'::hstore", &[])
        .await
        .unwrap();
    assert_eq!(got.get("k"), Some(&Some("v".to_string())));
    assert_eq!(got.get("n"), Some(&None));
    let s: String = c.query_scalar("SELECT 'MiXeD'::citext", &[]).await.unwrap();
    assert_eq!(s, "MiXeD");
    let eq: bool = c
        .query_scalar("SELECT $1::citext = 'mixed'", &[&"MIXED"])
        .await
        .unwrap();
    assert!(eq);
    let v: Vec<String> = c
        .query_scalar("SELECT ARRAY['A', 'b']::citext[]", &[])
        .await
        .unwrap();
    assert_eq!(v, vec!["A", "b"]);
}

/// A Rust type that does not match the server's type fails with a clear
/// conversion error, at once, and the connection stays usable.
#[tokio::test]
async fn mismatched_derives_fail_clearly() {
    #[derive(Debug, ToSql)]
    #[postgres(name = "mood")]
    enum TwoMoods {
        #[postgres(name = "sad")]
        Sad,
        #[postgres(name = "ok")]
        #[allow(dead_code)]
        Ok,
    }
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        .await
        .unwrap();
    for _ in 0..3 {
        let e = c
            .query_scalar::<String>("SELECT $1::mood::text", &[&TwoMoods::Sad])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), tusk::ErrorKind::Conversion, "{e}");
        let s = e.to_string();
        assert!(
            s.contains("$1") && s.contains("public.mood") && s.contains("enum"),
            "{s}"
        );
    }
    let e = c
        .query_one("SELECT 'ok'::mood", &[])
        .await
        .unwrap()
        .try_get::<TwoMoodsFrom>(0usize)
        .unwrap_err();
    assert_eq!(e.kind(), tusk::ErrorKind::Conversion, "{e}");
    let n: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(n, 1);

    #[derive(Debug, FromSql)]
    #[postgres(name = "mood")]
    #[allow(dead_code)]
    enum TwoMoodsFrom {
        #[postgres(name = "sad")]
        Sad,
        #[postgres(name = "ok")]
        Ok,
    }
}

/// In pooler mode (unnamed statements, nothing spanning two flights) the
/// types are looked up once, and every query, cold each time, reads them.
#[tokio::test]
async fn pooler_mode_reads_user_types() {
    let db = crate::db();
    let c = tusk::connect(&format!("{}?pooler_mode=on", db.url()))
        .await
        .unwrap();
    c.execute_script(SCHEMA).await.unwrap();
    for _ in 0..3 {
        let m: Mood = c
            .query_scalar("SELECT $1::mood", &[&Mood::Sad])
            .await
            .unwrap();
        assert_eq!(m, Mood::Sad);
        let v: Vec<Mood> = c
            .query_scalar("SELECT ARRAY['ok', 'happy']::mood[]", &[])
            .await
            .unwrap();
        assert_eq!(v, vec![Mood::Ok, Mood::Happy]);
        let p: Point2 = c
            .query_scalar("SELECT ROW(1, NULL)::point2", &[])
            .await
            .unwrap();
        assert_eq!(
            p,
            Point2 {
                x: Some(1),
                label: None
            }
        );
    }
    assert_eq!(c.cached_statements(), 0);
    assert!(c.type_lookups() <= 3, "{} lookups", c.type_lookups());
}
