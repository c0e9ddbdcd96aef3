//! `tusk query --json` for every type of the mapping, through the library
//! entry point, against a real PostgreSQL. Every case runs twice: alone
//! (all columns binary) and beside a `point` column (the statement then
//! runs in text format and mapped columns are converted back by the
//! server): the JSON must be the same.

mod common;

use common::{json_lines, with_setting};
use tusk_testkit::Cluster;

/// (SQL expression, expected JSON of its value).
const CASES: &[(&str, &str)] = &[
    // integers and oid
    ("1::int2", "1"),
    ("(-32768)::int2", "-32768"),
    ("2147483647::int4", "2147483647"),
    ("(-9223372036854775808)::int8", "-9223372036854775808"),
    ("4294967295::oid", "4294967295"),
    // floats
    ("1.5::float4", "1.5"),
    ("0.1::float4", "0.1"),
    ("0.1::float8", "0.1"),
    ("1::float8", "1"),
    ("'-0'::float8", "-0"),
    ("1e300::float8", "1e300"),
    ("'NaN'::float4", r#""NaN""#),
    ("'NaN'::float8", r#""NaN""#),
    ("'Infinity'::float8", r#""Infinity""#),
    ("'-Infinity'::float4", r#""-Infinity""#),
    // numeric: exact digits and scale
    ("12345.678900::numeric", r#""12345.678900""#),
    ("1.5::numeric(10,4)", r#""1.5000""#),
    ("(-0.001)::numeric", r#""-0.001""#),
    ("0::numeric(5,2)", r#""0.00""#),
    ("'NaN'::numeric", r#""NaN""#),
    ("'Infinity'::numeric", r#""Infinity""#),
    ("'-Infinity'::numeric", r#""-Infinity""#),
    // bool
    ("true", "true"),
    ("false", "false"),
    // text types; char keeps its padding
    ("'héllo \"q\" \\ x'::text", r#""héllo \"q\" \\ x""#),
    ("E'tab\\tnl\\n'::text", r#""tab\tnl\n""#),
    ("'v'::varchar(5)", r#""v""#),
    ("'ab'::char(4)", r#""ab  ""#),
    ("'n'::name", r#""n""#),
    ("'lit'", r#""lit""#),
    // bytea
    ("'\\xDEADbeef'::bytea", r#""\\xdeadbeef""#),
    ("''::bytea", r#""\\x""#),
    // uuid
    (
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid",
        r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#,
    ),
    // dates and times
    ("'2024-02-29'::date", r#""2024-02-29""#),
    ("'infinity'::date", r#""infinity""#),
    ("'-infinity'::date", r#""-infinity""#),
    ("'0044-03-15 BC'::date", r#""0044-03-15 BC""#),
    ("'10000-01-01'::date", r#""10000-01-01""#),
    ("'13:05:09.25'::time", r#""13:05:09.25""#),
    ("'00:00:00.000001'::time", r#""00:00:00.000001""#),
    ("'24:00'::time", r#""24:00:00""#),
    (
        "'2024-02-29 13:05:09.123456'::timestamp",
        r#""2024-02-29T13:05:09.123456""#,
    ),
    (
        "'1999-12-31 23:59:59'::timestamp",
        r#""1999-12-31T23:59:59""#,
    ),
    ("'infinity'::timestamp", r#""infinity""#),
    ("'-infinity'::timestamp", r#""-infinity""#),
    (
        "'2024-02-29 13:05:09+05:30'::timestamptz",
        r#""2024-02-29T07:35:09+00:00""#,
    ),
    (
        "'0001-01-01 00:00:00+00 BC'::timestamptz",
        r#""0001-01-01T00:00:00+00:00 BC""#,
    ),
    ("'infinity'::timestamptz", r#""infinity""#),
    ("'-infinity'::timestamptz", r#""-infinity""#),
    // intervals (ISO 8601 as PostgreSQL prints it)
    (
        "'1 year 2 mons 3 days 04:05:06.789'::interval",
        r#""P1Y2M3DT4H5M6.789S""#,
    ),
    ("'-1 day +2 hours'::interval", r#""P-1DT2H""#),
    ("'1 mon -1 day -0.5 sec'::interval", r#""P1M-1DT-0.5S""#),
    ("'0'::interval", r#""PT0S""#),
    // json and jsonb: the value itself
    (
        r#"'{"b": 1, "a": [1, 2.50]}'::json"#,
        r#"{"b":1,"a":[1,2.50]}"#,
    ),
    (r#"'{"b": 1, "a": null}'::jsonb"#, r#"{"a":null,"b":1}"#),
    (r#"'"str"'::jsonb"#, r#""str""#),
    ("'null'::jsonb", "null"),
    ("'[1, \"x y\"]'::json", r#"[1,"x y"]"#),
    // inet and cidr
    ("'192.168.0.1/24'::inet", r#""192.168.0.1/24""#),
    ("'192.168.0.1'::inet", r#""192.168.0.1""#),
    ("'10.0.0.0/8'::cidr", r#""10.0.0.0/8""#),
    ("'::ffff:1.2.3.4'::inet", r#""::ffff:1.2.3.4""#),
    ("'2001:DB8::1/64'::inet", r#""2001:db8::1/64""#),
    // arrays: nested, NULL elements, bounds dropped
    ("ARRAY[[1,NULL],[3,4]]", "[[1,null],[3,4]]"),
    ("'{}'::int[]", "[]"),
    ("ARRAY['a', NULL]::text[]", r#"["a",null]"#),
    ("ARRAY[1.5::float8, 'NaN']", r#"[1.5,"NaN"]"#),
    ("'[0:1]={7,8}'::int[]", "[7,8]"),
    ("'{{{1},{2}},{{3},{4}}}'::int8[]", "[[[1],[2]],[[3],[4]]]"),
    ("ARRAY['ab'::char(3), NULL]", r#"["ab ",null]"#),
    ("ARRAY[1.50::numeric]", r#"["1.50"]"#),
    (
        "ARRAY['2024-01-01'::date, 'infinity']",
        r#"["2024-01-01","infinity"]"#,
    ),
    ("ARRAY['1 day'::interval, NULL]", r#"["P1D",null]"#),
    (r#"ARRAY['{"a":1}'::jsonb]"#, r#"[{"a":1}]"#),
    ("ARRAY['\\x01'::bytea]", r#"["\\x01"]"#),
    ("ARRAY['10.0.0.1'::inet]", r#"["10.0.0.1"]"#),
    // NULL of every kind
    ("NULL::int4", "null"),
    ("NULL::float8", "null"),
    ("NULL::numeric", "null"),
    ("NULL::text", "null"),
    ("NULL::bytea", "null"),
    ("NULL::date", "null"),
    ("NULL::timestamptz", "null"),
    ("NULL::interval", "null"),
    ("NULL::jsonb", "null"),
    ("NULL::inet", "null"),
    ("NULL::int[]", "null"),
    ("NULL::point", "null"),
    // other types: their text form
    ("point(1,2)", r#""(1,2)""#),
    ("'12.34'::money", r#""$12.34""#),
    ("'a'::\"char\"", r#""a""#),
    ("int4range(1,5)", r#""[1,5)""#),
    ("'12:00+02'::timetz", r#""12:00:00+02""#),
    ("ROW(1, 'a b')", r#""(1,\"a b\")""#),
    ("'1 2'::int2vector", r#""1 2""#),
    ("ARRAY[point(1,2), NULL]", r#"["(1,2)",null]"#),
    (
        "ARRAY[[int4range(1,2)],[NULL::int4range]]",
        r#"[["[1,2)"],[null]]"#,
    ),
];

#[test]
fn every_mapped_type_in_binary_and_in_text() {
    let db = Cluster::shared().database().unwrap();
    let url = db.url();
    let mut failures = Vec::new();
    for (expr, expected) in CASES {
        let binary = json_lines(&url, &format!("SELECT {expr} AS v"), &[]);
        let want = format!("{{\"v\":{expected}}}");
        if binary != [want.clone()] {
            failures.push(format!("binary {expr}: got {binary:?}, want {want}"));
        }
        let text = json_lines(&url, &format!("SELECT {expr} AS v, point(0,0) AS z"), &[]);
        let want = format!("{{\"v\":{expected},\"z\":\"(0,0)\"}}");
        if text != [want.clone()] {
            failures.push(format!("text {expr}: got {text:?}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn enums_and_domains() {
    let db = Cluster::shared().database().unwrap();
    db.psql("CREATE TYPE mood AS ENUM ('ok', 'happy'); CREATE DOMAIN pos AS int CHECK (VALUE > 0)")
        .unwrap();
    let lines = json_lines(
        &db.url(),
        "SELECT 'happy'::mood AS m, ARRAY['ok'::mood] AS ms, 5::pos AS p",
        &[],
    );
    assert_eq!(lines, [r#"{"m":"happy","ms":["ok"],"p":5}"#]);
}

#[test]
fn numeric_with_a_thousand_digits() {
    let db = Cluster::shared().database().unwrap();
    let digits = "9".repeat(1000);
    let lines = json_lines(
        &db.url(),
        "SELECT ($1 || '.50')::numeric AS n",
        &[digits.as_str()],
    );
    assert_eq!(lines, [format!("{{\"n\":\"{digits}.50\"}}")]);
}

#[test]
fn parameters_are_text_typed_by_the_server() {
    let db = Cluster::shared().database().unwrap();
    let lines = json_lines(
        &db.url(),
        "SELECT $1::int + 1 AS n, $2::date AS d, $3 AS s",
        &["41", "2024-02-29", "x"],
    );
    assert_eq!(lines, [r#"{"n":42,"d":"2024-02-29","s":"x"}"#]);
}

#[test]
fn timestamptz_is_utc_whatever_the_session_time_zone() {
    let db = Cluster::shared().database().unwrap();
    for zone in ["Asia/Kolkata", "America/New_York"] {
        let url = with_setting(&db.url(), "TimeZone", zone);
        for extra in ["", ", point(0,0) AS z"] {
            let sql = format!(
                "SELECT '2024-07-01 12:00:00.5+00'::timestamptz AS a, \
                 '2024-01-01 00:00:00'::timestamptz AS b, current_setting('TimeZone') AS tz{extra}"
            );
            let rows = common::json_rows(&url, &sql, &[]);
            assert_eq!(rows[0]["a"], "2024-07-01T12:00:00.5+00:00", "{zone}");
            let b = rows[0]["b"].as_str().unwrap();
            let expected = match zone {
                "Asia/Kolkata" => "2023-12-31T18:30:00+00:00",
                _ => "2024-01-01T05:00:00+00:00",
            };
            assert_eq!(b, expected, "{zone}{extra}");
            assert_eq!(rows[0]["tz"], zone);
        }
    }
}

#[test]
fn duplicate_column_names_and_column_order_are_kept() {
    let db = Cluster::shared().database().unwrap();
    let lines = json_lines(&db.url(), "SELECT 2 AS b, 1 AS a, 3 AS b", &[]);
    assert_eq!(lines, [r#"{"b":2,"a":1,"b":3}"#]);
    let none = json_lines(&db.url(), "SELECT 1 AS a WHERE false", &[]);
    assert!(none.is_empty());
}
