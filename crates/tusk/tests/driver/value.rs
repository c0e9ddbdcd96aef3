//! `types::Value`: every type decoded at run time, checked against the
//! server's own `to_jsonb()` (or its text output) as the oracle.

use tusk::types::{Range, Value};
use tusk::Executor;

/// `expr` read as a `Value` and serialized must equal `to_jsonb(expr)`.
async fn same_as_jsonb(c: &tusk::Connection, expr: &str) -> Value {
    let sql = format!("SELECT {expr} AS v, to_jsonb({expr}) AS j");
    let row = c
        .query_one(sql.as_str(), &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let v: Value = row.get("v");
    let j: serde_json::Value = row
        .get::<Option<serde_json::Value>>("j")
        .unwrap_or(serde_json::Value::Null);
    assert_eq!(serde_json::to_value(&v).unwrap(), j, "{expr}: {v:?}");
    v
}

/// `expr` read as a `Value` must be the string `expr::text` is.
async fn same_as_text(c: &tusk::Connection, expr: &str) -> Value {
    let sql = format!("SELECT {expr} AS v, ({expr})::text AS t");
    let row = c
        .query_one(sql.as_str(), &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let v: Value = row.get("v");
    let t: String = row.get("t");
    assert_eq!(v.as_str(), Some(t.as_str()), "{expr}: {v:?}");
    v
}

const SCHEMA: &str = "
    SET TimeZone = 'UTC';
    CREATE EXTENSION hstore;
    CREATE EXTENSION citext;
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TYPE point2 AS (x int4, label text);
    CREATE TYPE shape AS (name text, corners point2[], center point2, mood mood);
    CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
    CREATE TYPE floatrange AS RANGE (subtype = float8);
    CREATE SCHEMA \"Odd Schema\";
    CREATE TYPE \"Odd Schema\".\"Odd Type\" AS (\"a field\" int4, \"B\" text);
";

#[tokio::test]
async fn every_type_matches_the_servers_to_jsonb() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(SCHEMA).await.unwrap();
    for expr in [
        "true",
        "NULL::int4",
        "(-32768)::int2",
        "2147483647::int4",
        "(-9223372036854775808)::int8",
        "1.5::float4",
        "(-2.25)::float8",
        "1e300::float8",
        "'NaN'::float8",
        "'-Infinity'::float8",
        "'héllo \"world\"\n'::text",
        "'ab'::char(5)",
        "'x'::varchar(3)",
        "'pg_class'::name",
        "'a'::\"char\"",
        "'MiXeD'::citext",
        "'<a>b</a>'::xml",
        "'\\x00ff10'::bytea",
        "''::bytea",
        "'{\"a\": [1, 2.5, null], \"b\": {\"c\": \"d\"}}'::json",
        "'{\"a\": [1, 2.5, null], \"b\": {\"c\": \"d\"}}'::jsonb",
        "'\"just a string\"'::jsonb",
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
        "'2024-02-29'::date",
        "'0044-03-15 BC'::date",
        "'infinity'::date",
        "'13:14:15.5'::time",
        "'00:00:00'::time",
        "'13:14:15.123456+05:30'::timetz",
        "'10:00:00-08'::timetz",
        "'2024-01-02 03:04:05.5'::timestamp",
        "'1999-12-31 23:59:59.999999'::timestamp",
        "'-infinity'::timestamp",
        "'2024-01-02 03:04:05+02'::timestamptz",
        "'1 year 2 mons 3 days 04:05:06.5'::interval",
        "'-1 days +01:00:00'::interval",
        "'-00:00:00.000001'::interval",
        "'0'::interval",
        "'100 hours'::interval",
        "'192.168.0.1'::inet",
        "'192.168.0.1/24'::inet",
        "'10.0.0.0/8'::cidr",
        "'::1'::inet",
        "'2001:db8::/32'::cidr",
        "'08:00:2b:01:02:03'::macaddr",
        "'08:00:2b:01:02:03:04:05'::macaddr8",
        "B'10101'::bit(5)",
        "B'1'::varbit",
        "'(1.5,-2)'::point",
        "ARRAY[1, NULL, 3]::int4[]",
        "'{}'::int4[]",
        "ARRAY[[1, 2], [3, 4], [5, 6]]::int8[]",
        "'[0:1]={7,8}'::int4[]",
        "ARRAY['a', NULL, 'c\"d']::text[]",
        "ARRAY['2024-01-01'::date]",
        "ARRAY['{\"k\": 1}'::jsonb]",
        "ROW(1, 'a', NULL)",
        "ROW(1, ROW(2, 'x'))",
        "'happy'::mood",
        "ARRAY['sad', 'ok']::mood[]",
        "ROW(7, 'seven')::point2",
        "ROW(NULL, NULL)::point2",
        "ROW('tri', ARRAY[ROW(1, NULL)::point2, ROW(NULL, 'b')::point2], NULL, 'ok')::shape",
        "ARRAY[ROW(1, 'a')::point2, NULL]",
        "5::posint",
        "ROW(1, 'x')::\"Odd Schema\".\"Odd Type\"",
        "'a=>1, b=>NULL, \"c d\"=>\"e\"'::hstore",
    ] {
        same_as_jsonb(&c, expr).await;
    }
    // Decoded into the variants one expects.
    let v = same_as_jsonb(&c, "ARRAY['sad', 'ok']::mood[]").await;
    assert_eq!(
        v,
        Value::Array(vec![Value::Enum("sad".into()), Value::Enum("ok".into())])
    );
    let v = same_as_jsonb(&c, "ROW(7, 'seven')::point2").await;
    assert_eq!(
        v,
        Value::Composite(vec![
            ("x".into(), Value::Int(7)),
            ("label".into(), Value::Text("seven".into()))
        ])
    );
    assert_eq!(same_as_jsonb(&c, "5::posint").await, Value::Int(5));
    // (to_jsonb writes an oid as a string; Value keeps it a number.)
    let v: Value = c.query_scalar("SELECT 4294967295::oid", &[]).await.unwrap();
    assert_eq!(v, Value::Int(4_294_967_295));
}

#[tokio::test]
async fn numerics_and_ranges_match_the_servers_text() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(SCHEMA).await.unwrap();
    for expr in [
        "12.50::numeric",
        "0::numeric",
        "(-0.000001)::numeric(10, 6)",
        "123456789012345678901234567890.123456789::numeric",
        "'NaN'::numeric",
        "'Infinity'::numeric",
        "'-Infinity'::numeric",
    ] {
        let v = same_as_text(&c, expr).await;
        assert!(matches!(v, Value::Numeric(_)), "{v:?}");
    }
    // Ranges: bounds against lower()/upper() through to_jsonb, and the
    // bound flags against lower_inc()/upper_inc().
    for expr in [
        "int4range(1, 10)",
        "int4range(NULL, 3)",
        "'empty'::int4range",
        "numrange(1.5, 2.5, '[]')",
        "tstzrange('2024-01-01', NULL)",
        "daterange('2024-01-01', '2024-02-01')",
        "floatrange(1.5, 2.5, '(]')",
        "int8range(NULL, NULL)",
    ] {
        let sql = format!(
            "SELECT {expr} AS v, isempty({expr}) AS e,
                    CASE WHEN lower_inf({expr}) THEN NULL ELSE to_jsonb(lower({expr})) END AS lo,
                    CASE WHEN upper_inf({expr}) THEN NULL ELSE to_jsonb(upper({expr})) END AS hi,
                    lower_inc({expr}) AS li, upper_inc({expr}) AS ui"
        );
        let row = c.query_one(sql.as_str(), &[]).await.unwrap();
        let Value::Range(r) = row.get::<Value>("v") else {
            panic!("{expr}: not a range")
        };
        let r: Range = *r;
        assert_eq!(r.empty, row.get::<bool>("e"), "{expr}");
        if r.empty {
            continue;
        }
        // (Numerics serialize as exact strings; to_jsonb writes numbers.)
        let j = |v: &Option<Value>| {
            v.as_ref().map(|v| match v {
                Value::Numeric(n) => serde_json::from_str(n).unwrap(),
                v => serde_json::to_value(v).unwrap(),
            })
        };
        assert_eq!(
            j(&r.lower),
            row.get::<Option<serde_json::Value>>("lo"),
            "{expr}"
        );
        assert_eq!(
            j(&r.upper),
            row.get::<Option<serde_json::Value>>("hi"),
            "{expr}"
        );
        assert_eq!(r.lower_inclusive, row.get::<bool>("li"), "{expr}");
        assert_eq!(r.upper_inclusive, row.get::<bool>("ui"), "{expr}");
    }
    // Multiranges (PostgreSQL 14+), built-in and user-defined.
    for expr in [
        "'{[1,3), [5,7)}'::int4multirange",
        "'{}'::datemultirange",
        "floatmultirange(floatrange(1, 2), floatrange(3, 4, '[]'))",
    ] {
        let sql = format!(
            "SELECT {expr} AS v, ARRAY(SELECT lower(r)::text || ',' || upper(r)::text
                                       FROM unnest({expr}) r) AS b"
        );
        let row = c.query_one(sql.as_str(), &[]).await.unwrap();
        let Value::Multirange(rs) = row.get::<Value>("v") else {
            panic!("{expr}: not a multirange")
        };
        let b: Vec<String> = row.get("b");
        let got: Vec<String> = rs
            .iter()
            .map(|r| {
                let t = |v: &Option<Value>| match v {
                    Some(Value::Int(n)) => n.to_string(),
                    Some(Value::Float(f)) => f.to_string(),
                    other => format!("{other:?}"),
                };
                format!("{},{}", t(&r.lower), t(&r.upper))
            })
            .collect();
        assert_eq!(got, b, "{expr}");
    }
    // Serialized: an object with the bounds.
    let v: Value = c
        .query_scalar("SELECT int4range(1, 10)", &[])
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"lower":1,"upper":10,"bounds":"[)"}"#
    );
}

#[tokio::test]
async fn rows_serialize_as_objects_and_text_results_are_text() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let rows = c
        .query(
            "SELECT 1 AS n, 'x' AS s, NULL::int4 AS z, ARRAY[1.5] AS a",
            &[],
        )
        .await
        .unwrap();
    let json = serde_json::to_string(&tusk::types::row_to_values(&rows[0]).unwrap()).unwrap();
    assert_eq!(json, r#"{"n":1,"s":"x","z":null,"a":["1.5"]}"#);
    let rows = c
        .query(
            tusk::Query::new("SELECT 1 AS n, NULL::int4 AS z").text(),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<Value>("n"), Value::Text("1".into()));
    assert_eq!(rows[0].get::<Value>("z"), Value::Null);
}

/// The values whose text `Value` once wrote differently from the server:
/// a timestamptz before year 1 (`... BC+00:00`) and IPv6 with an IPv4
/// tail (Rust's `::102:304` for PostgreSQL's `::1.2.3.4`).
#[tokio::test]
async fn bc_timestamps_and_ipv4_tails_match_the_servers_to_jsonb() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("SET TimeZone = 'UTC'").await.unwrap();
    for expr in [
        "'0001-12-31 23:00:00.5+00 BC'::timestamptz",
        "'4713-01-01 00:00:00+00 BC'::timestamptz",
        "'0044-03-15 12:00:00 BC'::timestamp",
        "'::1.2.3.4'::inet",
        "'::0.0.0.1'::inet",
        "'::ffff:1.2.3.4/120'::inet",
        "'::ffff:1.2.3.0/120'::cidr",
        "'1:0:0:1::'::inet",
        "'2001:0:0:1:0:0:0:1/64'::inet",
    ] {
        same_as_jsonb(&c, expr).await;
    }
}

/// What a printing tool (the CLI's `--json`) asks of `Value`: an
/// interval's parts and its ISO 8601 text, and json as the server wrote it.
#[tokio::test]
async fn intervals_have_parts_and_json_text_is_kept_on_request() {
    use tusk::types::DecodeOptions;
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script("SET IntervalStyle = 'iso_8601'")
        .await
        .unwrap();
    for expr in [
        "'1 year 2 mons 3 days 04:05:06.5'",
        "'-1 days +01:00:00'",
        "'1 mon -1 day -0.5 sec'",
        "'0'",
        "'-178000000 years'",
    ] {
        let sql = format!("SELECT {expr}::interval AS v, {expr}::interval::text AS t");
        let row = c.query_one(sql.as_str(), &[]).await.unwrap();
        let Value::Interval(i) = row.get::<Value>("v") else {
            panic!("{expr}: not an interval");
        };
        assert_eq!(i.iso_8601(), row.get::<String>("t"), "{expr}");
        let back = tusk::types::Interval::new(i.months(), i.days(), i.microseconds());
        assert_eq!(back, i);
    }
    let row = c
        .query_one(
            "SELECT '{\"b\": 1, \"a\": [2.50, 1e400], \"b\": 3}'::json AS j, \
                    ARRAY['{\"z\": 1, \"a\": 2}'::jsonb] AS a",
            &[],
        )
        .await
        .unwrap();
    let text = DecodeOptions::default().json_text(true);
    let j = Value::from_binary_with(row.columns()[0].type_(), row.raw(0).unwrap(), text).unwrap();
    assert_eq!(
        j,
        Value::JsonText("{\"b\": 1, \"a\": [2.50, 1e400], \"b\": 3}".into())
    );
    assert_eq!(
        serde_json::to_string(&j).unwrap(),
        "{\"b\": 1, \"a\": [2.50, 1e400], \"b\": 3}"
    );
    let a = Value::from_binary_with(row.columns()[1].type_(), row.raw(1).unwrap(), text).unwrap();
    assert_eq!(
        a,
        Value::Array(vec![Value::JsonText("{\"a\": 2, \"z\": 1}".into())])
    );
}
