//! sea-query statements through tusk: every value kind sea-query emits,
//! sent as a bind parameter into a column of its type on a real server,
//! then read back as the server's text; NULLs of each kind; arrays.

use sea_query::value::prelude::{chrono, jiff, rust_decimal, serde_json, time, uuid};
use sea_query::{Alias, ArrayType, Enum, Expr, ExprTrait, OptionEnum, Query, Value};
use tusk::sea_query::SeaQueryExt;
use tusk::Executor;

/// (column, its type, a value of the kind, the server's text for it).
fn kinds() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    let utc = chrono::DateTime::parse_from_rfc3339("2024-02-29T12:34:56.789Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let naive = utc.naive_utc();
    let tdt = time::PrimitiveDateTime::new(
        time::Date::from_calendar_date(2024, time::Month::February, 29).unwrap(),
        time::Time::from_hms_micro(12, 34, 56, 789_000).unwrap(),
    );
    let jdt: jiff::civil::DateTime = "2024-02-29T12:34:56.789".parse().unwrap();
    let id = uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
    vec![
        ("k_bool", "bool", Value::Bool(Some(true)), "true"),
        ("k_tinyint", "int2", Value::TinyInt(Some(-128)), "-128"),
        (
            "k_smallint",
            "int2",
            Value::SmallInt(Some(-32768)),
            "-32768",
        ),
        ("k_int", "int4", Value::Int(Some(i32::MIN)), "-2147483648"),
        (
            "k_bigint",
            "int8",
            Value::BigInt(Some(i64::MAX)),
            "9223372036854775807",
        ),
        (
            "k_tinyunsigned",
            "int2",
            Value::TinyUnsigned(Some(255)),
            "255",
        ),
        (
            "k_smallunsigned",
            "int4",
            Value::SmallUnsigned(Some(65535)),
            "65535",
        ),
        (
            "k_unsigned",
            "int8",
            Value::Unsigned(Some(u32::MAX)),
            "4294967295",
        ),
        ("k_bigunsigned", "int8", Value::BigUnsigned(Some(42)), "42"),
        (
            "k_bigunsigned_huge",
            "numeric",
            Value::BigUnsigned(Some(u64::MAX)),
            "18446744073709551615",
        ),
        ("k_float", "float4", Value::Float(Some(1.5)), "1.5"),
        ("k_double", "float8", Value::Double(Some(-0.1)), "-0.1"),
        (
            "k_string",
            "text",
            Value::String(Some("it's \"quoted\" ☃\n".into())),
            "it's \"quoted\" ☃\n",
        ),
        (
            "k_varchar",
            "varchar(10)",
            Value::String(Some("short".into())),
            "short",
        ),
        ("k_char", "char(1)", Value::Char(Some('é')), "é"),
        (
            "k_enum",
            "mood",
            Value::Enum(OptionEnum::Some(Box::new(Enum {
                type_name: "mood".into(),
                value: "happy".into(),
            }))),
            "happy",
        ),
        (
            "k_bytes",
            "bytea",
            Value::Bytes(Some(vec![0, 1, 0xff])),
            "\\x0001ff",
        ),
        (
            "k_jsonb",
            "jsonb",
            Value::Json(Some(Box::new(serde_json::json!({"a": [1, null, "x"]})))),
            "{\"a\": [1, null, \"x\"]}",
        ),
        (
            "k_json",
            "json",
            Value::Json(Some(Box::new(serde_json::json!({"b": true})))),
            "{\"b\":true}",
        ),
        (
            "k_chrono_date",
            "date",
            Value::ChronoDate(Some(naive.date())),
            "2024-02-29",
        ),
        (
            "k_chrono_time",
            "time",
            Value::ChronoTime(Some(naive.time())),
            "12:34:56.789",
        ),
        (
            "k_chrono_datetime",
            "timestamp",
            Value::ChronoDateTime(Some(naive)),
            "2024-02-29 12:34:56.789",
        ),
        (
            "k_chrono_utc",
            "timestamptz",
            Value::ChronoDateTimeUtc(Some(utc)),
            "2024-02-29 12:34:56.789+00",
        ),
        (
            "k_chrono_local",
            "timestamptz",
            Value::ChronoDateTimeLocal(Some(utc.with_timezone(&chrono::Local))),
            "2024-02-29 12:34:56.789+00",
        ),
        (
            "k_chrono_fixed",
            "timestamptz",
            Value::ChronoDateTimeWithTimeZone(Some(
                utc.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap()),
            )),
            "2024-02-29 12:34:56.789+00",
        ),
        (
            "k_time_date",
            "date",
            Value::TimeDate(Some(tdt.date())),
            "2024-02-29",
        ),
        (
            "k_time_time",
            "time",
            Value::TimeTime(Some(tdt.time())),
            "12:34:56.789",
        ),
        (
            "k_time_datetime",
            "timestamp",
            Value::TimeDateTime(Some(tdt)),
            "2024-02-29 12:34:56.789",
        ),
        (
            "k_time_offset",
            "timestamptz",
            Value::TimeDateTimeWithTimeZone(Some(
                tdt.assume_offset(time::UtcOffset::from_hms(-3, 0, 0).unwrap()),
            )),
            "2024-02-29 15:34:56.789+00",
        ),
        (
            "k_jiff_date",
            "date",
            Value::JiffDate(Some(jdt.date())),
            "2024-02-29",
        ),
        (
            "k_jiff_time",
            "time",
            Value::JiffTime(Some(jdt.time())),
            "12:34:56.789",
        ),
        (
            "k_jiff_datetime",
            "timestamp",
            Value::JiffDateTime(Some(Box::new(jdt))),
            "2024-02-29 12:34:56.789",
        ),
        (
            "k_jiff_timestamp",
            "timestamptz",
            Value::JiffTimestamp(Some(Box::new("2024-02-29T12:34:56.789Z".parse().unwrap()))),
            "2024-02-29 12:34:56.789+00",
        ),
        (
            "k_uuid",
            "uuid",
            Value::Uuid(Some(id)),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ),
        (
            "k_decimal",
            "numeric",
            Value::Decimal(Some(
                "-12345678901234567890.000123"
                    .parse::<rust_decimal::Decimal>()
                    .unwrap(),
            )),
            "-12345678901234567890.000123",
        ),
        (
            "k_int_array",
            "int4[]",
            Value::Array(
                ArrayType::Int,
                Some(Box::new(vec![
                    Value::Int(Some(1)),
                    Value::Int(None),
                    Value::Int(Some(-3)),
                ])),
            ),
            "{1,NULL,-3}",
        ),
        (
            "k_text_array",
            "text[]",
            Value::Array(
                ArrayType::String,
                Some(Box::new(vec![
                    Value::String(Some("a,b".into())),
                    Value::String(Some("{\"}".into())),
                ])),
            ),
            "{\"a,b\",\"{\\\"}\"}",
        ),
        (
            "k_bool_array",
            "bool[]",
            Value::Array(
                ArrayType::Bool,
                Some(Box::new(vec![Value::Bool(Some(false))])),
            ),
            "{f}",
        ),
        (
            "k_bigunsigned_array",
            "int8[]",
            Value::Array(
                ArrayType::BigUnsigned,
                Some(Box::new(vec![Value::BigUnsigned(Some(7))])),
            ),
            "{7}",
        ),
        (
            "k_enum_array",
            "mood[]",
            Value::Array(
                ArrayType::Enum(Box::new("mood".into())),
                Some(Box::new(vec![
                    Value::Enum(OptionEnum::Some(Box::new(Enum {
                        type_name: "mood".into(),
                        value: "sad".into(),
                    }))),
                    Value::Enum(OptionEnum::Some(Box::new(Enum {
                        type_name: "mood".into(),
                        value: "happy".into(),
                    }))),
                ])),
            ),
            "{sad,happy}",
        ),
        (
            "k_bytes_array",
            "bytea[]",
            Value::Array(
                ArrayType::Bytes,
                Some(Box::new(vec![Value::Bytes(Some(vec![0xab]))])),
            ),
            "{\"\\\\xab\"}",
        ),
        (
            "k_json_array",
            "jsonb[]",
            Value::Array(
                ArrayType::Json,
                Some(Box::new(vec![Value::Json(Some(Box::new(
                    serde_json::json!(1),
                )))])),
            ),
            "{1}",
        ),
        (
            "k_timestamptz_array",
            "timestamptz[]",
            Value::Array(
                ArrayType::ChronoDateTimeUtc,
                Some(Box::new(vec![Value::ChronoDateTimeUtc(Some(utc))])),
            ),
            "{\"2024-02-29 12:34:56.789+00\"}",
        ),
        (
            "k_uuid_array",
            "uuid[]",
            Value::Array(ArrayType::Uuid, Some(Box::new(vec![Value::Uuid(Some(id))]))),
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        ),
        (
            "k_decimal_array",
            "numeric[]",
            Value::Array(
                ArrayType::Decimal,
                Some(Box::new(vec![Value::Decimal(Some("0.5".parse().unwrap()))])),
            ),
            "{0.5}",
        ),
    ]
}

/// The same kind, NULL.
fn null_of(v: &Value) -> Value {
    match v {
        Value::Bool(_) => Value::Bool(None),
        Value::TinyInt(_) => Value::TinyInt(None),
        Value::SmallInt(_) => Value::SmallInt(None),
        Value::Int(_) => Value::Int(None),
        Value::BigInt(_) => Value::BigInt(None),
        Value::TinyUnsigned(_) => Value::TinyUnsigned(None),
        Value::SmallUnsigned(_) => Value::SmallUnsigned(None),
        Value::Unsigned(_) => Value::Unsigned(None),
        Value::BigUnsigned(_) => Value::BigUnsigned(None),
        Value::Float(_) => Value::Float(None),
        Value::Double(_) => Value::Double(None),
        Value::String(_) => Value::String(None),
        Value::Char(_) => Value::Char(None),
        Value::Enum(_) => Value::Enum(OptionEnum::None("mood".into())),
        Value::Bytes(_) => Value::Bytes(None),
        Value::Json(_) => Value::Json(None),
        Value::ChronoDate(_) => Value::ChronoDate(None),
        Value::ChronoTime(_) => Value::ChronoTime(None),
        Value::ChronoDateTime(_) => Value::ChronoDateTime(None),
        Value::ChronoDateTimeUtc(_) => Value::ChronoDateTimeUtc(None),
        Value::ChronoDateTimeLocal(_) => Value::ChronoDateTimeLocal(None),
        Value::ChronoDateTimeWithTimeZone(_) => Value::ChronoDateTimeWithTimeZone(None),
        Value::TimeDate(_) => Value::TimeDate(None),
        Value::TimeTime(_) => Value::TimeTime(None),
        Value::TimeDateTime(_) => Value::TimeDateTime(None),
        Value::TimeDateTimeWithTimeZone(_) => Value::TimeDateTimeWithTimeZone(None),
        Value::JiffDate(_) => Value::JiffDate(None),
        Value::JiffTime(_) => Value::JiffTime(None),
        Value::JiffDateTime(_) => Value::JiffDateTime(None),
        Value::JiffTimestamp(_) => Value::JiffTimestamp(None),
        Value::Uuid(_) => Value::Uuid(None),
        Value::Decimal(_) => Value::Decimal(None),
        Value::Array(ty, _) => Value::Array(ty.clone(), None),
    }
}

async fn connect(db: &tusk_testkit::TestDb) -> tusk::Connection {
    let conn = tusk::connect(&format!("{}?options=-c%20TimeZone%3DUTC", db.url()))
        .await
        .unwrap();
    conn
}

#[tokio::test]
async fn every_value_kind_is_a_bind_parameter_the_server_accepts() {
    let db = tusk_testkit::db();
    let kinds = kinds();
    let columns: Vec<String> = kinds
        .iter()
        .map(|(c, t, _, _)| format!("{c} {t}"))
        .collect();
    db.psql(&format!(
        "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE kinds (id int PRIMARY KEY, {})",
        columns.join(", ")
    ))
    .unwrap();
    let conn = connect(&db).await;
    let mut cols = vec![Alias::new("id")];
    cols.extend(kinds.iter().map(|(c, _, _, _)| Alias::new(*c)));
    let mut row = vec![Expr::val(1)];
    row.extend(kinds.iter().map(|(_, _, v, _)| Expr::val(v.clone())));
    let mut nulls = vec![Expr::val(2)];
    nulls.extend(kinds.iter().map(|(_, _, v, _)| Expr::val(null_of(v))));
    let (sql, values) = Query::insert()
        .into_table(Alias::new("kinds"))
        .columns(cols)
        .values_panic(row)
        .values_panic(nulls)
        .build_tusk()
        .unwrap();
    // Every value is a parameter: no literal of ours is in the SQL.
    assert!(!sql.contains("happy") && !sql.contains("2024"), "{sql}");
    assert_eq!(values.len(), 2 * (kinds.len() + 1));
    let n = conn.execute(sql.as_str(), &values.params()).await.unwrap();
    assert_eq!(n, 2);

    for (column, ty, value, text) in &kinds {
        // Read back as text, and found again with the value as a
        // parameter of a sea-query WHERE.
        // (json has no equality operator: its value is compared as text.)
        let found = if *ty == "json" {
            Expr::cust(format!("{column}::text")).eq(Expr::val(value.clone())
                .cast_as(Alias::new("json"))
                .cast_as(Alias::new("text")))
        } else {
            Expr::col(Alias::new(*column)).eq(Expr::val(value.clone()))
        };
        let (sql, values) = Query::select()
            .expr(Expr::cust(format!("{column}::text")))
            .from(Alias::new("kinds"))
            .and_where(found)
            .build_tusk()
            .unwrap();
        let rows = conn
            .query(sql.as_str(), &values.params())
            .await
            .unwrap_or_else(|e| panic!("{column} ({ty}): {sql}: {e}"));
        assert_eq!(rows.len(), 1, "{column} ({ty}) found by {sql}");
        let got: String = rows[0].get(0);
        assert_eq!(&got, text, "{column} ({ty})");
        let null: Option<String> = conn
            .query_scalar(
                &format!("SELECT {column}::text FROM kinds WHERE id = 2") as &str,
                &[],
            )
            .await
            .unwrap();
        assert_eq!(null, None, "{column} ({ty}) NULL");
    }
}

#[tokio::test]
async fn values_the_server_refuses_fail_with_its_error_and_nothing_is_kept() {
    let db = tusk_testkit::db();
    db.psql("CREATE TABLE t (n int8)").unwrap();
    let conn = connect(&db).await;
    let (sql, values) = Query::insert()
        .into_table(Alias::new("t"))
        .columns([Alias::new("n")])
        .values_panic([Expr::val(Value::BigUnsigned(Some(u64::MAX)))])
        .build_tusk()
        .unwrap();
    let err = conn
        .execute(sql.as_str(), &values.params())
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(tusk::SqlState::NUMERIC_VALUE_OUT_OF_RANGE),
        "{err}"
    );
    // An unsigned array element past bigint is refused before sending.
    let err = Query::insert()
        .into_table(Alias::new("t"))
        .columns([Alias::new("n")])
        .values_panic([Expr::val(Value::Array(
            ArrayType::BigUnsigned,
            Some(Box::new(vec![Value::BigUnsigned(Some(u64::MAX))])),
        ))])
        .build_tusk()
        .unwrap_err();
    assert_eq!(err.kind(), tusk::ErrorKind::Conversion);
    let message = err.to_string();
    assert!(message.contains("sea-query parameter $1"), "{message}");
    assert!(message.contains("out of range"), "{message}");
    let n: i64 = conn
        .query_scalar("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(n, 0);
}

// ---- review (issue 16): values at type edges against the server's own
// literal for them (the oracle), and arrays of every kind tusk enables ----

/// `SELECT $1 IS NOT DISTINCT FROM <literal>` through sea-query: true when
/// the bound value is what the server makes of the literal.
async fn same_as_literal(
    conn: &tusk::Connection,
    value: Value,
    literal: &str,
) -> Result<bool, tusk::Error> {
    let (sql, values) = Query::select()
        .expr(Expr::cust_with_values(
            format!("$1 IS NOT DISTINCT FROM {literal}"),
            [value],
        ))
        .build_tusk()?;
    conn.query_scalar(sql.as_str(), &values.params()).await
}

#[tokio::test]
async fn edge_values_equal_the_servers_literals() {
    let db = tusk_testkit::db();
    let conn = connect(&db).await;
    let chrono_min = chrono::NaiveDate::from_ymd_opt(-4713, 11, 24)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let chrono_late = chrono::NaiveDate::from_ymd_opt(262_142, 12, 31)
        .unwrap()
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            Value::BigInt(Some(i64::MIN)),
            "'-9223372036854775808'::int8",
        ),
        (Value::Int(Some(i32::MAX)), "2147483647"),
        (Value::SmallInt(Some(i16::MIN)), "'-32768'::int2"),
        (Value::Double(Some(f64::NAN)), "'NaN'::float8"),
        (Value::Double(Some(f64::INFINITY)), "'Infinity'::float8"),
        (
            Value::Double(Some(f64::NEG_INFINITY)),
            "'-Infinity'::float8",
        ),
        (
            Value::Double(Some(f64::MIN_POSITIVE)),
            "'2.2250738585072014e-308'::float8",
        ),
        (
            Value::Double(Some(f64::MAX)),
            "'1.7976931348623157e308'::float8",
        ),
        (Value::Float(Some(f32::NAN)), "'NaN'::float4"),
        (Value::Float(Some(f32::MAX)), "'3.4028235e38'::float4"),
        (Value::String(Some(String::new())), "''::text"),
        (
            Value::String(Some("𝄞 e\u{301} 👩‍👩‍👧 \u{7f}\t\\".into())),
            "E'𝄞 e\u{301} 👩‍👩‍👧 \\x7f\\t\\\\'::text",
        ),
        (Value::Bytes(Some(Vec::new())), "''::bytea"),
        (Value::Char(Some('\u{10FFFF}')), "U&'\\+10FFFF'::text"),
        (
            Value::Array(ArrayType::Int, Some(Box::new(vec![]))),
            "'{}'::int4[]",
        ),
        (
            Value::Array(
                ArrayType::Int,
                Some(Box::new(vec![Value::Int(None), Value::Int(Some(i32::MIN))])),
            ),
            "'{NULL,-2147483648}'::int4[]",
        ),
        (Value::Array(ArrayType::Int, None), "NULL::int4[]"),
        (
            Value::Array(
                ArrayType::String,
                Some(Box::new(vec![
                    Value::String(Some("NULL".into())),
                    Value::String(None),
                    Value::String(Some("a,\"b\"{}".into())),
                    Value::String(Some(String::new())),
                ])),
            ),
            "ARRAY['NULL', NULL, 'a,\"b\"{}', '']::text[]",
        ),
        (
            Value::Array(
                ArrayType::Double,
                Some(Box::new(vec![Value::Double(Some(f64::NAN))])),
            ),
            "'{NaN}'::float8[]",
        ),
        (
            Value::ChronoDateTime(Some(chrono_min)),
            "'4714-11-24 00:00:00 BC'::timestamp",
        ),
        (
            Value::ChronoDateTime(Some(chrono_late)),
            "'262142-12-31 23:59:59.999999'::timestamp",
        ),
        (
            Value::ChronoDate(Some(chrono::NaiveDate::from_ymd_opt(0, 1, 1).unwrap())),
            "'0001-01-01 BC'::date",
        ),
    ];
    let mut wrong = Vec::new();
    for (value, literal) in cases {
        let shown = format!("{value:?}");
        match same_as_literal(&conn, value, literal).await {
            Ok(true) => {}
            Ok(false) => wrong.push(format!("{shown} is not {literal}")),
            Err(e) => wrong.push(format!("{shown} vs {literal}: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn values_past_the_servers_range_are_refused_not_changed() {
    let db = tusk_testkit::db();
    db.psql("CREATE TABLE t (at timestamp, d date, s text)")
        .unwrap();
    let conn = connect(&db).await;
    // Before 4713 BC: chrono has it, PostgreSQL does not.
    let ancient = chrono::NaiveDate::from_ymd_opt(-5000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for value in [
        Value::ChronoDateTime(Some(ancient)),
        Value::ChronoDate(Some(ancient.date())),
        Value::String(Some("nul \0 inside".into())),
    ] {
        let column = match &value {
            Value::ChronoDateTime(_) => "at",
            Value::ChronoDate(_) => "d",
            _ => "s",
        };
        let shown = format!("{value:?}");
        let (sql, values) = Query::insert()
            .into_table(Alias::new("t"))
            .columns([Alias::new(column)])
            .values_panic([Expr::val(value)])
            .build_tusk()
            .unwrap();
        let result = conn.execute(sql.as_str(), &values.params()).await;
        assert!(result.is_err(), "{shown} was stored: {result:?}");
        let n: i64 = conn
            .query_scalar("SELECT count(*) FROM t", &[])
            .await
            .unwrap();
        assert_eq!(n, 0, "{shown}");
    }
}

#[tokio::test]
async fn arrays_of_time_and_jiff_values_are_sent_like_chronos() {
    let db = tusk_testkit::db();
    let conn = connect(&db).await;
    let date = time::Date::from_calendar_date(2024, time::Month::February, 29).unwrap();
    let t = time::Time::from_hms_micro(12, 34, 56, 789_000).unwrap();
    let pdt = time::PrimitiveDateTime::new(date, t);
    let jdate: jiff::civil::Date = "2024-02-29".parse().unwrap();
    let jtime: jiff::civil::Time = "12:34:56.789".parse().unwrap();
    let jdt: jiff::civil::DateTime = "2024-02-29T12:34:56.789".parse().unwrap();
    let jts: jiff::Timestamp = "2024-02-29T12:34:56.789Z".parse().unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            Value::Array(
                ArrayType::TimeDate,
                Some(Box::new(vec![
                    Value::TimeDate(Some(date)),
                    Value::TimeDate(None),
                ])),
            ),
            "'{2024-02-29,NULL}'::date[]",
        ),
        (
            Value::Array(
                ArrayType::TimeTime,
                Some(Box::new(vec![Value::TimeTime(Some(t))])),
            ),
            "'{12:34:56.789}'::time[]",
        ),
        (
            Value::Array(
                ArrayType::TimeDateTime,
                Some(Box::new(vec![Value::TimeDateTime(Some(pdt))])),
            ),
            "'{2024-02-29 12:34:56.789}'::timestamp[]",
        ),
        (
            Value::Array(
                ArrayType::TimeDateTimeWithTimeZone,
                Some(Box::new(vec![Value::TimeDateTimeWithTimeZone(Some(
                    pdt.assume_utc(),
                ))])),
            ),
            "'{2024-02-29 12:34:56.789+00}'::timestamptz[]",
        ),
        (
            Value::Array(
                ArrayType::JiffDate,
                Some(Box::new(vec![Value::JiffDate(Some(jdate))])),
            ),
            "'{2024-02-29}'::date[]",
        ),
        (
            Value::Array(
                ArrayType::JiffTime,
                Some(Box::new(vec![Value::JiffTime(Some(jtime))])),
            ),
            "'{12:34:56.789}'::time[]",
        ),
        (
            Value::Array(
                ArrayType::JiffDateTime,
                Some(Box::new(vec![Value::JiffDateTime(Some(Box::new(jdt)))])),
            ),
            "'{2024-02-29 12:34:56.789}'::timestamp[]",
        ),
        (
            Value::Array(
                ArrayType::JiffTimestamp,
                Some(Box::new(vec![Value::JiffTimestamp(Some(Box::new(jts)))])),
            ),
            "'{2024-02-29 12:34:56.789+00}'::timestamptz[]",
        ),
        (Value::Array(ArrayType::TimeDate, None), "NULL::date[]"),
    ];
    let mut wrong = Vec::new();
    for (value, literal) in cases {
        let shown = format!("{value:?}");
        match same_as_literal(&conn, value, literal).await {
            Ok(true) => {}
            Ok(false) => wrong.push(format!("{shown} is not {literal}")),
            Err(e) => wrong.push(format!("{shown} vs {literal}: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
