//! Parameters declared by type OID in Parse, as drivers send them (tusk's
//! type lookup declares `oid[]`): the same answers from PostgreSQL 15
//! and tusk-lite, binary in and out.

use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

async fn client(url: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    c
}

/// What both engines answer: an oid[] parameter unnested, compared with
/// ANY, and returned as an oid[] column; an enum type's OID from
/// pg_type read back through the parameter.
async fn answers(c: &Client) -> (Vec<u32>, bool, Vec<u32>, Vec<String>) {
    c.batch_execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        .await
        .expect("create type");
    let st = c
        .prepare_typed(
            "SELECT pg_catalog.unnest($1::pg_catalog.oid[])",
            &[Type::OID_ARRAY],
        )
        .await
        .expect("prepare unnest");
    let unnested: Vec<u32> = c
        .query(&st, &[&vec![25u32, 16, 23]])
        .await
        .expect("unnest")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Declared, as tusk's lookup does.
    let typed = |sql: &'static str| c.prepare_typed(sql, &[Type::OID_ARRAY]);
    let st = typed("SELECT 25::oid = ANY ($1::oid[])")
        .await
        .expect("prepare any");
    let any: bool = c
        .query_one(&st, &[&vec![16u32, 25]])
        .await
        .expect("any")
        .get(0);
    let st = typed("SELECT ARRAY(SELECT x FROM unnest($1::oid[]) AS x ORDER BY x)")
        .await
        .expect("prepare array");
    let sorted: Vec<u32> = c
        .query_one(&st, &[&vec![23u32, 16, 25]])
        .await
        .expect("array out")
        .get(0);
    let mood: u32 = c
        .query_one("SELECT oid FROM pg_type WHERE typname = 'mood'", &[])
        .await
        .expect("mood oid")
        .get(0);
    let st = typed(
        "SELECT e.enumlabel::text FROM pg_enum e
         WHERE e.enumtypid = ANY ($1::oid[]) ORDER BY e.enumsortorder",
    )
    .await
    .expect("prepare labels");
    let labels: Vec<String> = c
        .query(&st, &[&vec![mood]])
        .await
        .expect("labels")
        .iter()
        .map(|r| r.get(0))
        .collect();
    (unnested, any, sorted, labels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oid_array_parameters_answer_as_postgres_does() {
    let pg = tusk_testkit::db();
    let want = answers(&client(&pg.url()).await).await;
    assert_eq!(
        want,
        (
            vec![25, 16, 23],
            true,
            vec![16, 23, 25],
            vec!["sad".to_string(), "ok".to_string()]
        )
    );
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let c = client(&format!(
        "host=127.0.0.1 port={} user=app dbname=app",
        addr.port()
    ))
    .await;
    assert_eq!(answers(&c).await, want);
    // Outside a cast, the parameter keeps its declared array type, as in
    // PostgreSQL.
    let st = c
        .prepare_typed("SELECT $1", &[Type::OID_ARRAY])
        .await
        .expect("an array parameter outside a cast");
    assert_eq!(st.columns()[0].type_(), &Type::OID_ARRAY);
    let back: Vec<u32> = c
        .query_one(&st, &[&vec![7u32, 8]])
        .await
        .expect("select $1")
        .get(0);
    assert_eq!(back, vec![7, 8]);
}

/// An enum label as tokio-postgres reads and writes it (binary: the
/// label's bytes), accepted for any enum type.
#[derive(Debug, PartialEq)]
struct Label(String);

impl<'a> tokio_postgres::types::FromSql<'a> for Label {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Label, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Label(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), tokio_postgres::types::Kind::Enum(_))
    }
}

impl tokio_postgres::types::ToSql for Label {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), tokio_postgres::types::Kind::Enum(_))
    }

    tokio_postgres::types::to_sql_checked!();
}

/// What tokio-postgres learns of an enum type through its own type
/// lookup (pg_type joined with pg_range and pg_namespace, then pg_enum),
/// and an enum parameter and result in binary.
async fn enum_answers(c: &Client) -> (String, String, Vec<String>, Label, Vec<String>) {
    c.batch_execute(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE t (id int PRIMARY KEY, m mood)",
    )
    .await
    .expect("schema");
    let st = c
        .prepare("INSERT INTO t VALUES ($1, $2) RETURNING m")
        .await
        .expect("prepare");
    let ty = st.params()[1].clone();
    let labels = match ty.kind() {
        tokio_postgres::types::Kind::Enum(l) => l.clone(),
        other => panic!("not an enum: {other:?}"),
    };
    let back: Label = c
        .query_one(&st, &[&1i32, &Label("happy".into())])
        .await
        .expect("insert")
        .get(0);
    for (i, m) in [(2i32, "sad"), (3, "ok")] {
        c.execute(&st, &[&i, &Label(m.into())])
            .await
            .expect("insert");
    }
    let ordered: Vec<String> = c
        .query("SELECT m FROM t ORDER BY m", &[])
        .await
        .expect("select")
        .iter()
        .map(|r| r.get::<_, Label>(0).0)
        .collect();
    (
        ty.name().to_string(),
        ty.schema().to_string(),
        labels,
        back,
        ordered,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_learns_an_enum_type_as_from_postgres() {
    let pg = tusk_testkit::db();
    let want = enum_answers(&client(&pg.url()).await).await;
    assert_eq!(want.0, "mood");
    assert_eq!(want.4, vec!["sad", "ok", "happy"]);
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let c = client(&format!(
        "host=127.0.0.1 port={} user=app dbname=app",
        addr.port()
    ))
    .await;
    assert_eq!(enum_answers(&c).await, want);
}

/// Parameters inside an aggregate's FILTER and arguments (their types
/// inferred from there), the results binary: the same on both engines.
async fn agg_answers(c: &Client) -> Vec<(String, i64, Option<String>)> {
    c.batch_execute(
        "CREATE TABLE ag (k text, v text, n int);
         INSERT INTO ag VALUES ('a', 'x', 3), ('a', 'z', 1), ('a', 'y', 2), ('b', 'q', 10), ('b', 'p', NULL)",
    )
    .await
    .expect("table");
    let st = c
        .prepare(
            "SELECT k, count(*) FILTER (WHERE n > $1),
                    string_agg(v, $2 ORDER BY n DESC NULLS FIRST) FILTER (WHERE v <> $3)
             FROM ag GROUP BY k ORDER BY k",
        )
        .await
        .expect("prepare");
    assert_eq!(st.params(), &[Type::INT4, Type::TEXT, Type::TEXT]);
    c.query(&st, &[&1i32, &"/", &"y"])
        .await
        .expect("aggregate")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_order_and_filter_parameters_answer_as_postgres_does() {
    let pg = tusk_testkit::db();
    let want = agg_answers(&client(&pg.url()).await).await;
    assert_eq!(
        want,
        vec![
            ("a".to_string(), 2, Some("x/z".to_string())),
            ("b".to_string(), 1, Some("p/q".to_string())),
        ]
    );
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let c = client(&format!(
        "host=127.0.0.1 port={} user=app dbname=app",
        addr.port()
    ))
    .await;
    assert_eq!(agg_answers(&c).await, want);
}

/// char(n) in binary both ways: a bpchar parameter without its padding,
/// or with more blanks than n, meets the padded key (trailing blanks do
/// not count), and the column reads back padded.
async fn bpchar_answers(c: &Client) -> Vec<(String, i32, String)> {
    c.batch_execute(
        "CREATE TABLE bp (k char(4) PRIMARY KEY, n int);
         INSERT INTO bp VALUES ('ab', 1), ('x', 2)",
    )
    .await
    .expect("create");
    let st = c
        .prepare_typed(
            "SELECT k, n, $1::char(6) FROM bp WHERE k = $1 OR k = $2 ORDER BY k",
            &[Type::BPCHAR, Type::VARCHAR],
        )
        .await
        .expect("prepare");
    let mut out = Vec::new();
    for (a, b) in [("ab", "none"), ("ab      ", "x  "), ("zz", "ab")] {
        for r in c.query(&st, &[&a, &b]).await.expect("query") {
            out.push((r.get(0), r.get(1), r.get(2)));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bpchar_parameters_and_columns_answer_as_postgres_does() {
    let pg = tusk_testkit::db();
    let want = bpchar_answers(&client(&pg.url()).await).await;
    let s = |x: &str| x.to_string();
    assert_eq!(
        want,
        vec![
            (s("ab  "), 1, s("ab    ")),
            (s("ab  "), 1, s("ab    ")),
            (s("x   "), 2, s("ab    ")),
            (s("ab  "), 1, s("zz    ")),
        ]
    );
    let lite = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&lite, "127.0.0.1:0").expect("listening");
    let c = client(&format!(
        "host=127.0.0.1 port={} user=app dbname=app",
        addr.port()
    ))
    .await;
    assert_eq!(bpchar_answers(&c).await, want);
}
