//! `#[derive(FromRow)]`, tuples and `query_as`: every attribute against a
//! real server, and the hostile cases (duplicate names, NULL into a plain
//! field, a missing renamed column, a flatten clash) as typed errors.

use futures_util::StreamExt;
use tusk::{ErrorKind, Executor, FromRow, RowError};

#[derive(Debug, PartialEq, FromRow)]
struct Plain {
    id: i64,
    name: String,
    note: Option<String>,
}

#[derive(Debug, PartialEq, FromRow)]
#[tusk(rename_all = "camelCase")]
struct Camel {
    user_id: i32,
    #[tusk(rename = "Display Name")]
    display: String,
    #[tusk(default)]
    karma: i32,
    #[tusk(try_from = "i32")]
    level: u8,
}

#[derive(Debug, PartialEq, FromRow)]
struct Outer {
    id: i32,
    #[tusk(flatten)]
    inner: Inner,
}

#[derive(Debug, PartialEq, FromRow)]
struct Inner {
    id: i32,
    city: String,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Prefs {
    theme: String,
}

#[derive(Debug, PartialEq, FromRow)]
struct WithJson {
    #[tusk(json)]
    prefs: Prefs,
    #[tusk(json)]
    extra: Option<Prefs>,
}

/// The widest tuple that is `FromRow`.
type Sixteen = (
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
    i16,
);

#[derive(Debug, PartialEq, FromRow)]
struct Pair(i32, String);

/// `crate = "..."`: the derive's expansion through a renamed path.
mod renamed {
    use tusk as pg;

    #[derive(Debug, PartialEq, pg::FromRow)]
    #[tusk(crate = "pg")]
    pub struct Via {
        pub x: i32,
    }
}

/// A generic struct: the derive adds the bounds its fields need.
#[derive(Debug, PartialEq, FromRow)]
struct Tagged<T, U> {
    tag: String,
    value: T,
    #[tusk(flatten)]
    rest: U,
}

fn row_error(e: &tusk::Error) -> &RowError {
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    e.as_row_error()
        .unwrap_or_else(|| panic!("no RowError behind {e}"))
}

#[tokio::test]
async fn derive_reads_by_name_with_every_attribute() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let rows: Vec<Plain> = c
        .query_as(
            "SELECT 'x' AS name, NULL::text AS note, g::int8 AS id FROM generate_series(1, 3) g",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[2],
        Plain {
            id: 3,
            name: "x".into(),
            note: None
        }
    );

    // rename_all (quoted and folded), rename, default, try_from.
    let quoted: Camel = c
        .query_one_as(
            r#"SELECT 7 AS "userId", 'ann' AS "Display Name", 5 AS level"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        quoted,
        Camel {
            user_id: 7,
            display: "ann".into(),
            karma: 0,
            level: 5
        }
    );
    let folded: Camel = c
        .query_one_as(
            r#"SELECT 7 AS userId, 'ann' AS "Display Name", 2 AS karma, 5 AS level"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(folded.karma, 2);
    assert_eq!(folded.user_id, 7);
    let e = c
        .query_one_as::<Camel>(
            r#"SELECT 7 AS "userId", 'ann' AS "Display Name", 300 AS level"#,
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(row_error(&e), RowError::TryFrom { column, .. } if column == "level"),
        "{e}"
    );

    // flatten: both structs read the one `id` column.
    let o: Outer = c
        .query_one_as("SELECT 4 AS id, 'Oslo' AS city", &[])
        .await
        .unwrap();
    assert_eq!(
        o,
        Outer {
            id: 4,
            inner: Inner {
                id: 4,
                city: "Oslo".into()
            }
        }
    );

    // json (jsonb and json; NULL into an Option).
    let j: WithJson = c
        .query_one_as(
            r#"SELECT '{"theme":"dark"}'::jsonb AS prefs, NULL::json AS extra"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(j.prefs.theme, "dark");
    assert_eq!(j.extra, None);
    let e = c
        .query_one_as::<WithJson>(
            r#"SELECT '{"colour":1}'::jsonb AS prefs, NULL::json AS extra"#,
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(row_error(&e), RowError::Decode { column, sql_type, .. } if column == "prefs" && sql_type == "jsonb"),
        "{e}"
    );

    // Tuple structs and tuples by position; query_opt_as.
    let p: Pair = c.query_one_as("SELECT 1, 'a'", &[]).await.unwrap();
    assert_eq!(p, Pair(1, "a".into()));
    let t: (i32, String, Option<i64>) = c
        .query_one_as("SELECT 1, 'a', NULL::int8", &[])
        .await
        .unwrap();
    assert_eq!(t, (1, "a".into(), None));
    let none: Option<(i32,)> = c.query_opt_as("SELECT 1 WHERE false", &[]).await.unwrap();
    assert_eq!(none, None);
    let wide: Sixteen = c
        .query_one_as(
            "SELECT 1::int2,2::int2,3::int2,4::int2,5::int2,6::int2,7::int2,8::int2,9::int2,10::int2,11::int2,12::int2,13::int2,14::int2,15::int2,16::int2",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(wide.15, 16);

    let g: Tagged<Option<i64>, Inner> = c
        .query_one_as(
            "SELECT 'a' AS tag, NULL::int8 AS value, 2 AS id, 'Rome' AS city",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(g.value, None);
    assert_eq!(g.rest.city, "Rome");

    let v: renamed::Via = c.query_one_as("SELECT 3 AS x", &[]).await.unwrap();
    assert_eq!(v, renamed::Via { x: 3 });
}

#[tokio::test]
async fn mismatches_are_typed_errors_naming_the_column() {
    let db = crate::db();
    let c = crate::conn(&db).await;

    // A duplicated column name (a join's two ids) is ambiguous.
    let e = c
        .query_one_as::<Outer>("SELECT 1 AS id, 2 AS id, 'x' AS city", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(row_error(&e), RowError::AmbiguousColumn { column, count: 2 } if column == "id"),
        "{e}"
    );

    // NULL into a field that has no NULL.
    let e = c
        .query_one_as::<Plain>(
            "SELECT 1::int8 AS id, NULL::text AS name, NULL AS note",
            &[],
        )
        .await
        .unwrap_err();
    match row_error(&e) {
        RowError::UnexpectedNull {
            column,
            sql_type,
            rust_type,
        } => {
            assert_eq!(column, "name");
            assert_eq!(sql_type, "text");
            assert!(rust_type.contains("String"), "{rust_type}");
        }
        other => panic!("{other:?}"),
    }

    // A renamed column missing: the error names the renamed column.
    let e = c
        .query_one_as::<Camel>(r#"SELECT 7 AS "userId", 5 AS level"#, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(row_error(&e), RowError::MissingColumn { column, columns } if column == "Display Name" && columns.contains("userId")),
        "{e}"
    );
    assert!(e.to_string().contains("Display Name"), "{e}");

    // A type mismatch names column, SQL type and Rust type.
    let e = c
        .query_one_as::<Plain>("SELECT 'one' AS id, 'x' AS name, NULL AS note", &[])
        .await
        .unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("\"id\"") && s.contains("text") && s.contains("i64"),
        "{s}"
    );
    assert!(matches!(row_error(&e), RowError::WrongType { .. }), "{e}");

    // A flattened struct's column missing fails the outer one.
    let e = c
        .query_one_as::<Outer>("SELECT 1 AS id", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(row_error(&e), RowError::MissingColumn { column, .. } if column == "city"),
        "{e}"
    );

    // Tuples: too few or too many columns, and a mismatch by position.
    let e = c
        .query_one_as::<(i32, i32)>("SELECT 1", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            row_error(&e),
            RowError::ColumnCount {
                expected: 2,
                actual: 1
            }
        ),
        "{e}"
    );
    let e = c
        .query_one_as::<(i32,)>("SELECT 1, 2", &[])
        .await
        .unwrap_err();
    assert!(matches!(row_error(&e), RowError::ColumnCount { .. }), "{e}");
    let e = c
        .query_one_as::<(i32, i64)>("SELECT 1, 2", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(row_error(&e), RowError::WrongType { column, sql_type, .. } if column == "1" && sql_type == "int4"),
        "{e}"
    );

    // Text-format results read into String, and say so otherwise.
    let t: (String,) = c
        .query_one_as(tusk::Query::new("SELECT 5").text(), &[])
        .await
        .unwrap();
    assert_eq!(t.0, "5");
    let e = c
        .query_one_as::<(i32,)>(tusk::Query::new("SELECT 5").text(), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("text format"), "{e}");

    // The connection is fine after all of that.
    let ok: (i32,) = c.query_one_as("SELECT 1", &[]).await.unwrap();
    assert_eq!(ok.0, 1);
}

#[tokio::test]
async fn a_stream_of_structs_and_a_transaction() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    let mut s = c
        .query_stream_as::<(i32, String)>("SELECT g, g::text FROM generate_series(1, 2500) g", &[])
        .await
        .unwrap();
    let mut n = 0;
    while let Some(r) = s.next().await {
        let (i, t) = r.unwrap();
        n += 1;
        assert_eq!(i, n);
        assert_eq!(t, n.to_string());
    }
    assert_eq!(n, 2500);
    assert_eq!(s.get_ref().rows_affected(), Some(2500));
    // A row that does not convert is an error item; the stream goes on.
    let items: Vec<_> = c
        .query_stream_as::<(i32,)>("SELECT x FROM (VALUES (1), (NULL), (3)) v(x)", &[])
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items[0].is_ok() && items[1].is_err() && items[2].is_ok());

    let tx = c.transaction().await.unwrap();
    let got: Vec<Plain> = tx
        .query_as("SELECT 1::int8 AS id, 'a' AS name, 'n' AS note", &[])
        .await
        .unwrap();
    assert_eq!(got[0].note.as_deref(), Some("n"));
    tx.commit().await.unwrap();
}
