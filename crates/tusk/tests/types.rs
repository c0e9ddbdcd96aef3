//! Type round trips against a real PostgreSQL (rust-postgres's `test_type`
//! convention): for every `(value, literal)` pair, the literal selected and
//! decoded into Rust equals the value, and the value sent as a parameter and
//! read back equals it too; every type also maps NULL to `None` both ways.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use fallible_iterator::FallibleIterator;
use postgres_types::{Date, Timestamp};
use tusk::types::{Numeric, RawValue, Type};
use tusk::{Connection, ErrorKind, Executor, Prepare};

use common::{cases, check, check_by, hex_literal, quote, text_of, Huge, Interval, MdArray};

#[tokio::test]
async fn integers() {
    let db = common::db();
    let c = common::conn(&db).await;
    check(
        &c,
        "int2",
        &cases([
            (i16::MIN, "-32768"),
            (i16::MAX, "32767"),
            (0, "0"),
            (-1, "-1"),
        ]),
    )
    .await;
    check(
        &c,
        "int4",
        &cases([
            (i32::MIN, "-2147483648"),
            (i32::MAX, "2147483647"),
            (0, "0"),
            (42, "42"),
        ]),
    )
    .await;
    check(
        &c,
        "int8",
        &cases([
            (i64::MIN, "-9223372036854775808"),
            (i64::MAX, "9223372036854775807"),
            (0, "0"),
        ]),
    )
    .await;
    check(&c, "oid", &cases([(0u32, "0"), (u32::MAX, "4294967295")])).await;
    check(&c, "bool", &cases([(true, "true"), (false, "false")])).await;
    check(
        &c,
        "\"char\"",
        &cases([(0i8, "''"), (i8::try_from(b'a').unwrap(), "'a'")]),
    )
    .await;
}

#[tokio::test]
async fn floats_with_nan_and_infinities() {
    let db = common::db();
    let c = common::conn(&db).await;
    // Bit-for-bit, except that NaN equals NaN (-0.0 keeps its sign).
    let same32 = |a: &f32, b: &f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let same64 = |a: &f64, b: &f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    check_by(
        &c,
        "float4",
        &cases([
            (0.0f32, "'0'"),
            (-0.0, "'-0'"),
            (1.5, "'1.5'"),
            (f32::MAX, "'3.4028235e38'"),
            (f32::MIN_POSITIVE, "'1.1754944e-38'"),
            (f32::NAN, "'NaN'"),
            (f32::INFINITY, "'Infinity'"),
            (f32::NEG_INFINITY, "'-Infinity'"),
        ]),
        same32,
    )
    .await;
    check_by(
        &c,
        "float8",
        &cases([
            (0.0f64, "'0'"),
            (-0.0, "'-0'"),
            (0.1, "'0.1'"),
            (f64::MAX, "'1.7976931348623157e308'"),
            (f64::MIN_POSITIVE, "'2.2250738585072014e-308'"),
            (f64::NAN, "'NaN'"),
            (f64::INFINITY, "'Infinity'"),
            (f64::NEG_INFINITY, "'-Infinity'"),
        ]),
        same64,
    )
    .await;
}

#[tokio::test]
async fn text_and_bytea() {
    let db = common::db();
    let c = common::conn(&db).await;
    let texts = [
        "",
        "hello",
        "héllo wörld, 日本語, 🐘",
        "it's \"quoted\"",
        "back\\slash and\nnewline\ttab",
    ];
    let text_cases: Vec<(Option<String>, String)> = texts
        .iter()
        .map(|s| (Some(s.to_string()), quote(s)))
        .collect();
    check(&c, "text", &text_cases).await;
    check(&c, "varchar", &text_cases).await;
    check(&c, "name", &cases([("pg_class".to_string(), "'pg_class'")])).await;
    check(&c, "char(3)", &cases([("ab ".to_string(), "'ab'")])).await;

    // A NUL byte is not valid in PostgreSQL text: the server says so.
    let e = c
        .query_scalar::<String>("SELECT $1::text", &[&"a\0b"])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e}");

    let small = vec![0u8, 1, 0x7f, 0x80, 0xff];
    check(
        &c,
        "bytea",
        &[
            (Some(Vec::new()), hex_literal(&[])),
            (Some(small.clone()), hex_literal(&small)),
        ],
    )
    .await;
    // A borrowed slice goes out as bytea too.
    let n: i32 = c
        .query_scalar("SELECT length($1::bytea)", &[&small.as_slice()])
        .await
        .unwrap();
    assert_eq!(n, 5);
}

/// 1 MiB of bytea both ways: a 2 MiB literal in the query text, and the
/// value as a parameter (and a borrowed slice).
async fn one_mib_bytea(c: &Connection) {
    let mib: Vec<u8> = (0..1usize << 20)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    check(c, "bytea", &[(Some(mib.clone()), hex_literal(&mib))]).await;
    let n: i32 = c
        .query_scalar("SELECT length($1::bytea)", &[&mib.as_slice()])
        .await
        .unwrap();
    assert_eq!(n, 1 << 20);
}

#[tokio::test]
async fn one_mib_bytea_over_plain_tcp() {
    let db = common::db();
    let c = tusk::connect(&format!("{}?sslmode=disable", db.url()))
        .await
        .unwrap();
    one_mib_bytea(&c).await;
}

/// Over TLS, any flight over 64 KiB hangs (see the ignore reason): bounded
/// by a timeout here so that it fails instead of hanging.
#[tokio::test]
async fn one_mib_bytea_over_tls() {
    let db = common::db();
    let c = tusk::connect(&format!("{}?sslmode=require", db.url()))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(20), one_mib_bytea(&c))
        .await
        .expect("a 1 MiB query over TLS did not finish in 20 s");
}

#[tokio::test]
async fn numeric_keeps_digits_scale_and_specials() {
    let db = common::db();
    let c = common::conn(&db).await;
    let big_int = "1234567890".repeat(100);
    let big_frac = format!("0.{}1", "0".repeat(999));
    let big_both = format!("-{}.{}", "9".repeat(500), "5".repeat(500));
    let values = [
        "0",
        "1",
        "-1",
        "12345.678900",
        "0.00",
        "-0.5",
        "0.0001",
        "10000",
        "99999999",
        "1.10",
        "123456789012345678901234567890.123456789",
        big_int.as_str(),
        big_frac.as_str(),
        big_both.as_str(),
    ];
    let mut numeric_cases: Vec<(Option<Numeric>, String)> = values
        .iter()
        .map(|v| (Some(v.parse().unwrap()), (*v).to_string()))
        .collect();
    for special in ["NaN", "Infinity", "-Infinity"] {
        numeric_cases.push((Some(special.parse().unwrap()), quote(special)));
    }
    assert_eq!(big_int.len(), 1000);
    check(&c, "numeric", &numeric_cases).await;

    // The scale the server chose is the one kept.
    let n: Numeric = c
        .query_scalar("SELECT 12345.6789::numeric(12, 6)", &[])
        .await
        .unwrap();
    assert_eq!(n.as_str(), "12345.678900");
    let nan: Numeric = c.query_scalar("SELECT 'NaN'::numeric", &[]).await.unwrap();
    assert!(nan.is_nan());
}

#[tokio::test]
async fn timestamps_dates_and_times() {
    let db = common::db();
    let c = common::conn(&db).await;
    let utc = |y, mo, d, h, mi, s, us| -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + chrono::Duration::microseconds(us)
    };
    check(
        &c,
        "timestamptz",
        &cases([
            (utc(2000, 1, 1, 0, 0, 0, 0), "'2000-01-01 00:00:00+00'"),
            (utc(1970, 1, 1, 0, 0, 0, 0), "'1970-01-01 00:00:00+00'"),
            (
                utc(2024, 2, 29, 12, 34, 56, 789_012),
                "'2024-02-29 14:34:56.789012+02'",
            ),
            (utc(1, 1, 1, 0, 0, 0, 0), "'0001-01-01 00:00:00+00'"),
            (
                utc(9999, 12, 31, 23, 59, 59, 999_999),
                "'9999-12-31 23:59:59.999999+00'",
            ),
        ]),
    )
    .await;
    let naive = |y, mo, d, h, mi, s, us| utc(y, mo, d, h, mi, s, us).naive_utc();
    let naive_cases = cases([
        (naive(2000, 1, 1, 0, 0, 0, 0), "'2000-01-01 00:00:00'"),
        (
            naive(2024, 2, 29, 12, 34, 56, 789_012),
            "'2024-02-29 12:34:56.789012'",
        ),
        (
            naive(1969, 12, 31, 23, 59, 59, 1),
            "'1969-12-31 23:59:59.000001'",
        ),
    ]);
    check::<NaiveDateTime>(&c, "timestamp", &naive_cases).await;

    // Infinity exists for both timestamp types (and date): postgres-types'
    // `Timestamp`/`Date` wrappers carry it; a bare chrono type refuses it.
    check(
        &c,
        "timestamptz",
        &cases([
            (Timestamp::PosInfinity, "'infinity'"),
            (Timestamp::NegInfinity, "'-infinity'"),
            (
                Timestamp::Value(utc(2024, 2, 29, 12, 0, 0, 0)),
                "'2024-02-29 12:00:00+00'",
            ),
        ]),
    )
    .await;
    check::<Timestamp<NaiveDateTime>>(
        &c,
        "timestamp",
        &cases([
            (Timestamp::PosInfinity, "'infinity'"),
            (Timestamp::NegInfinity, "'-infinity'"),
        ]),
    )
    .await;
    let e = c
        .query_scalar::<DateTime<Utc>>("SELECT 'infinity'::timestamptz", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");

    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    check(
        &c,
        "date",
        &cases([
            (date(2000, 1, 1), "'2000-01-01'"),
            (date(2024, 2, 29), "'2024-02-29'"),
            (date(1, 1, 1), "'0001-01-01'"),
            (date(-43, 3, 15), "'0044-03-15 BC'"),
            (date(9999, 12, 31), "'9999-12-31'"),
        ]),
    )
    .await;
    check(
        &c,
        "date",
        &cases([
            (Date::PosInfinity, "'infinity'"),
            (Date::NegInfinity, "'-infinity'"),
            (Date::Value(date(2024, 2, 29)), "'2024-02-29'"),
        ]),
    )
    .await;
    let e = c
        .query_scalar::<NaiveDate>("SELECT 'infinity'::date", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");

    let time = |h, m, s, us| NaiveTime::from_hms_micro_opt(h, m, s, us).unwrap();
    check(
        &c,
        "time",
        &cases([
            (time(0, 0, 0, 0), "'00:00:00'"),
            (time(12, 34, 56, 789_012), "'12:34:56.789012'"),
            (time(23, 59, 59, 999_999), "'23:59:59.999999'"),
        ]),
    )
    .await;
}

#[tokio::test]
async fn intervals() {
    let db = common::db();
    let c = common::conn(&db).await;
    let iv = |months, days, micros| Interval {
        months,
        days,
        micros,
    };
    let hms = |h: i64, m: i64, s: i64, us: i64| ((h * 60 + m) * 60 + s) * 1_000_000 + us;
    check(
        &c,
        "interval",
        &cases([
            (iv(0, 0, 0), "'0'"),
            (
                iv(14, 3, hms(4, 5, 6, 789_000)),
                "'1 year 2 mons 3 days 04:05:06.789'",
            ),
            (iv(0, -1, 0), "'-1 day'"),
            (iv(1, -1, 0), "'1 mon -1 day'"),
            (iv(0, 0, -1), "'-00:00:00.000001'"),
            (iv(-2_136_000_000, 0, 0), "'-178000000 years'"),
            (iv(0, 0, i64::MAX), "'2562047788:00:54.775807'"),
        ]),
    )
    .await;
    // PostgreSQL 15 has no infinite interval (16 does not either; 17 does).
    let e = c
        .query("SELECT 'infinity'::interval", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e}");
    assert_eq!(e.code().unwrap().code(), "22007", "{e}");
}

#[tokio::test]
async fn uuid_json_and_jsonb() {
    let db = common::db();
    let c = common::conn(&db).await;
    let u = |s: &str| (s.parse::<uuid::Uuid>().unwrap(), quote(s));
    check(
        &c,
        "uuid",
        &cases([
            u("00000000-0000-0000-0000-000000000000"),
            u("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            u("ffffffff-ffff-ffff-ffff-ffffffffffff"),
        ]),
    )
    .await;

    let j = |s: &str| {
        (
            serde_json::from_str::<serde_json::Value>(s).unwrap(),
            quote(s),
        )
    };
    let json_cases = cases([
        j(r#"{"a": 1, "b": [true, null, "x", 2.5], "c": {"d": "é 🐘"}}"#),
        j("[]"),
        j("{}"),
        j(r#""a string""#),
        j("-12.5"),
        // JSON null is a value (Some), not SQL NULL (None).
        j("null"),
    ]);
    check(&c, "json", &json_cases).await;
    check(&c, "jsonb", &json_cases).await;
}

#[tokio::test]
async fn inet_and_cidr() {
    use cidr::{IpCidr, IpInet};
    use std::net::IpAddr;
    let db = common::db();
    let c = common::conn(&db).await;
    let ip = |s: &str| (s.parse::<IpAddr>().unwrap(), quote(s));
    check(
        &c,
        "inet",
        &cases([
            ip("127.0.0.1"),
            ip("0.0.0.0"),
            ip("255.255.255.255"),
            ip("192.0.2.1"),
            ip("::1"),
            ip("2001:db8::1"),
        ]),
    )
    .await;
    let inet = |s: &str| (s.parse::<IpInet>().unwrap(), quote(s));
    check(
        &c,
        "inet",
        &cases([
            inet("192.0.2.1/24"),
            inet("2001:db8::1/64"),
            inet("10.0.0.1/32"),
        ]),
    )
    .await;
    let net = |s: &str| (s.parse::<IpCidr>().unwrap(), quote(s));
    check(
        &c,
        "cidr",
        &cases([
            net("192.0.2.0/24"),
            net("0.0.0.0/0"),
            net("198.51.100.7/32"),
            net("2001:db8::/32"),
        ]),
    )
    .await;
}

#[tokio::test]
async fn one_dimensional_arrays() {
    let db = common::db();
    let c = common::conn(&db).await;
    check::<Vec<Option<i32>>>(
        &c,
        "int4[]",
        &cases([
            (vec![], "'{}'"),
            (vec![Some(1), None, Some(3)], "'{1,NULL,3}'"),
            (vec![None], "'{NULL}'"),
            (
                vec![Some(i32::MIN), Some(i32::MAX)],
                "ARRAY[-2147483648, 2147483647]",
            ),
        ]),
    )
    .await;
    check::<Vec<i64>>(
        &c,
        "int8[]",
        &cases([(vec![1, -1, i64::MAX], "'{1,-1,9223372036854775807}'")]),
    )
    .await;
    check::<Vec<bool>>(&c, "bool[]", &cases([(vec![true, false], "'{t,f}'")])).await;
    let s = |v: &str| Some(v.to_string());
    check::<Vec<Option<String>>>(
        &c,
        "text[]",
        &cases([
            (vec![], "'{}'"),
            (
                vec![s("a,b"), s("q\"uote"), None, s(""), s("é 🐘"), s("NULL")],
                "ARRAY['a,b', 'q\"uote', NULL, '', 'é 🐘', 'NULL']",
            ),
        ]),
    )
    .await;
}

#[tokio::test]
async fn two_dimensional_arrays() {
    let db = common::db();
    let c = common::conn(&db).await;
    let grid = MdArray {
        dims: vec![(2, 1), (3, 1)],
        elems: vec![Some(1), Some(2), Some(3), Some(4), None, Some(6)],
    };
    let shifted = MdArray {
        dims: vec![(1, 0), (2, -5)],
        elems: vec![Some(7), Some(8)],
    };
    check::<MdArray<i32>>(
        &c,
        "int4[]",
        &cases([
            (grid.clone(), "'{{1,2,3},{4,NULL,6}}'"),
            (shifted.clone(), "'[0:0][-5:-4]={{7,8}}'"),
        ]),
    )
    .await;
    // The server sees the shape we sent.
    let row = c
        .query_one(
            "SELECT array_dims($1::int4[]), array_ndims($1::int4[]), ($1::int4[])[2][3]",
            &[&grid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<&str>(0usize), "[1:2][1:3]");
    assert_eq!(row.get::<i32>(1usize), 2);
    assert_eq!(row.get::<i32>(2usize), 6);
    // A flat Vec refuses a 2-D array instead of flattening it.
    let e = c
        .query_scalar::<Vec<i32>>("SELECT '{{1,2},{3,4}}'::int4[]", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let text = MdArray {
        dims: vec![(2, 1), (2, 1)],
        elems: vec![
            Some("a".to_string()),
            Some("b c".to_string()),
            None,
            Some("d".to_string()),
        ],
    };
    check(&c, "text[]", &cases([(text, "'{{a,\"b c\"},{NULL,d}}'")])).await;
}

#[tokio::test]
async fn user_defined_types_read_raw_and_as_text() {
    let db = common::db();
    let c = common::conn(&db).await;
    c.execute_script(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
         CREATE TYPE pair AS (a int4, b text);",
    )
    .await
    .unwrap();

    // Enum: the binary form is the label.
    let row = c.query_one("SELECT 'happy'::mood", &[]).await.unwrap();
    let raw: RawValue = row.get(0usize);
    assert_eq!(raw.bytes, b"happy");
    // Looked up from pg_type.
    assert_eq!(raw.ty.name(), "mood");
    assert!(matches!(raw.ty.kind(), tusk::types::Kind::Enum(_)));
    assert_eq!(
        text_of(&c, "SELECT 'happy'::mood").await.as_deref(),
        Some("happy")
    );

    // Domain: the server describes the column as the base type, so it
    // reads as the base type, raw or decoded; a parameter passes the check.
    let row = c.query_one("SELECT 5::posint", &[]).await.unwrap();
    let raw: RawValue = row.get(0usize);
    assert_eq!(raw.ty, Type::INT4);
    assert_eq!(raw.bytes, 5i32.to_be_bytes());
    assert_eq!(row.get::<i32>(0usize), 5);
    assert_eq!(text_of(&c, "SELECT 5::posint").await.as_deref(), Some("5"));
    let v: i32 = c.query_scalar("SELECT $1::posint", &[&7i32]).await.unwrap();
    assert_eq!(v, 7);
    let e = c
        .query_scalar::<i32>("SELECT $1::posint", &[&-7i32])
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "23514", "{e}");

    // Composite: count, then (oid, length, bytes) per field.
    let row = c.query_one("SELECT ROW(7, 'x')::pair", &[]).await.unwrap();
    let raw: RawValue = row.get(0usize);
    let mut want = Vec::new();
    want.extend_from_slice(&2i32.to_be_bytes());
    want.extend_from_slice(&Type::INT4.oid().to_be_bytes());
    want.extend_from_slice(&4i32.to_be_bytes());
    want.extend_from_slice(&7i32.to_be_bytes());
    want.extend_from_slice(&Type::TEXT.oid().to_be_bytes());
    want.extend_from_slice(&1i32.to_be_bytes());
    want.extend_from_slice(b"x");
    assert_eq!(raw.bytes, want.as_slice());
    assert_eq!(
        text_of(&c, "SELECT ROW(7, 'x')::pair").await.as_deref(),
        Some("(7,x)")
    );

    // NULL of a user-defined type is None, raw or text.
    let row = c.query_one("SELECT NULL::mood", &[]).await.unwrap();
    assert_eq!(row.get::<Option<RawValue>>(0usize), None);
    assert_eq!(row.raw(0), None);
    assert_eq!(text_of(&c, "SELECT NULL::mood").await, None);

    // A typed read into a Rust type that does not match is a Conversion
    // error, not a panic.
    let e = c
        .query_scalar::<String>("SELECT 'ok'::mood", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    let e = c
        .query_scalar::<i32>("SELECT ROW(7, 'x')::pair", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
}

/// An enum's binary column is its label: `Row::get_text` reads it (tusk
/// looked the type up), as text results do.
#[tokio::test]
async fn binary_enum_column_reads_through_text_results() {
    let db = common::db();
    let c = common::conn(&db).await;
    c.execute_script("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        .await
        .unwrap();
    let row = c.query_one("SELECT 'ok'::mood", &[]).await.unwrap();
    assert!(!row.is_text());
    assert_eq!(row.get_text(0usize).unwrap(), Some("ok"));
    let row = c
        .query_one(tusk::Query::new("SELECT 'ok'::mood").text(), &[])
        .await
        .unwrap();
    assert_eq!(row.get_text(0usize).unwrap(), Some("ok"));
}

#[tokio::test]
async fn hstore_reads_raw_and_as_text() {
    let db = common::db();
    let c = common::conn(&db).await;
    c.execute_script("CREATE EXTENSION hstore").await.unwrap();
    let sql = r#"SELECT 'a=>1, b=>NULL, "c d"=>"é"'::hstore"#;
    let row = c.query_one(sql, &[]).await.unwrap();
    let raw: RawValue = row.get(0usize);
    let mut entries: Vec<(String, Option<String>)> =
        postgres_protocol::types::hstore_from_sql(raw.bytes)
            .unwrap()
            .map(|(k, v)| Ok((k.to_string(), v.map(str::to_string))))
            .collect()
            .unwrap();
    entries.sort();
    assert_eq!(
        entries,
        vec![
            ("a".to_string(), Some("1".to_string())),
            ("b".to_string(), None),
            ("c d".to_string(), Some("é".to_string())),
        ]
    );
    let text = text_of(&c, sql).await.unwrap();
    assert!(text.contains(r#""c d"=>"é""#), "{text}");
    assert!(text.contains(r#""b"=>NULL"#), "{text}");
    // A string parameter is inferred as hstore.
    let v: Option<String> = c
        .query_scalar("SELECT ($1::hstore) -> 'k'", &[&"k=>v"])
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("v"));
}

#[tokio::test]
async fn string_parameters_fill_uuid_enum_and_jsonb_columns() {
    let db = common::db();
    let c = common::conn(&db).await;
    c.execute_script(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE t (id uuid, m mood, doc jsonb, d date);",
    )
    .await
    .unwrap();
    let id = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
    let doc = String::from(r#"{"k": [1, 2]}"#);
    let n = c
        .execute(
            "INSERT INTO t (id, m, doc, d) VALUES ($1, $2, $3, $4)",
            &[&id, &"happy", &doc, &"2024-02-29"],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let row = c
        .query_one("SELECT id, m::text, doc, d FROM t WHERE id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(
        row.get::<uuid::Uuid>(0usize),
        id.parse::<uuid::Uuid>().unwrap()
    );
    assert_eq!(row.get::<&str>(1usize), "happy");
    assert_eq!(
        row.get::<serde_json::Value>(2usize),
        serde_json::json!({"k": [1, 2]})
    );
    assert_eq!(
        row.get::<NaiveDate>(3usize),
        NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
    );
    // An enum compared with a string parameter; a bad label is the server's error.
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE m = $1", &[&"happy"])
        .await
        .unwrap();
    assert_eq!(n, 1);
    let e = c
        .execute("INSERT INTO t (m) VALUES ($1)", &[&"furious"])
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22P02", "{e}");
    // A serde_json::Value parameter also fills the jsonb column.
    let v = serde_json::json!({"n": null});
    c.execute("INSERT INTO t (doc) VALUES ($1)", &[&v])
        .await
        .unwrap();
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM t WHERE doc = $1", &[&v])
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// The wire's lengths are i32: one byte over is a Conversion error before
/// anything is sent. Costs one 2 GiB buffer: the parameter goes through a
/// prepared statement, so it is encoded once (an unprepared query would
/// also encode it while probing its type, doubling the memory).
#[tokio::test]
async fn a_parameter_over_2_gib_is_refused_before_sending() {
    let db = common::db();
    let c = common::conn(&db).await;
    c.execute_script("CREATE TABLE big (b bytea)")
        .await
        .unwrap();
    let stmt = c.prepare("INSERT INTO big VALUES ($1)").await.unwrap();
    let over = usize::try_from(i32::MAX).unwrap() + 1;
    let e = c.execute(&stmt, &[&Huge(over)]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conversion, "{e}");
    assert!(e.code().is_none(), "the server must not have seen it: {e}");
    assert!(e.to_string().contains("too large"), "{e}");
    // Nothing reached the server, and the connection is still in step.
    let n: i64 = c
        .query_scalar("SELECT count(*) FROM big", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
    c.execute(&stmt, &[&Huge(3)]).await.unwrap();
    let len: i32 = c
        .query_scalar("SELECT length(b) FROM big", &[])
        .await
        .unwrap();
    assert_eq!(len, 3);
}
