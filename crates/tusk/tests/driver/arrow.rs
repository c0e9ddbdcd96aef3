//! `query_arrow` (feature `arrow`): every supported type, NULLs included,
//! compared with what `query` decodes for the same rows; batches split at
//! `BATCH_ROWS`; unsupported types and values Arrow cannot hold are errors
//! naming the column, and the connection stays usable.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use tusk::arrow::arrow_array::{
    cast::AsArray,
    types::{
        Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
        Time64MicrosecondType, TimestampMicrosecondType, UInt32Type,
    },
    Array, Decimal128Array,
};
use tusk::arrow::arrow_schema::{DataType, TimeUnit};
use tusk::types::Numeric;
use tusk::{ErrorKind, Executor};

const SETUP: &str = "
CREATE TABLE t (
  i2 int2, i4 int4, i8 int8, o oid, f4 float4, f8 float8, b bool,
  tx text, vc varchar(10), bp char(3), by bytea,
  d date, tm time, ts timestamp, tz timestamptz,
  n numeric(12, 3), nu numeric, u uuid, j jsonb
);
INSERT INTO t VALUES
  (1, 2, 3, 4, 1.5, 2.25, true, 'héllo', 'v', 'ab', '\\x00ff',
   '2024-02-29', '13:14:15.123456', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+02',
   '-12.5', '123456789012345678901234567890.0123456789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '{\"a\": [1, 2]}'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (-32768, -2147483648, -9223372036854775808, 4294967295, '-Infinity', 'NaN', false, '', '', '', '',
   '1900-01-01', '00:00', '1970-01-01 00:00', '2262-04-11 23:47:16.854775+00',
   '999999999.999', 'NaN', '00000000-0000-0000-0000-000000000000', 'null');
";

#[tokio::test]
async fn every_type_matches_query() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    c.execute_script(SETUP).await.unwrap();
    let sql = "SELECT * FROM t ORDER BY i4 DESC NULLS LAST";
    let rows = c.query(sql, &[]).await.unwrap();
    let batches = c.query_arrow(sql, &[]).await.unwrap();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    let schema = b.schema();
    let want = [
        ("i2", DataType::Int16),
        ("i4", DataType::Int32),
        ("i8", DataType::Int64),
        ("o", DataType::UInt32),
        ("f4", DataType::Float32),
        ("f8", DataType::Float64),
        ("b", DataType::Boolean),
        ("tx", DataType::Utf8),
        ("vc", DataType::Utf8),
        ("bp", DataType::Utf8),
        ("by", DataType::Binary),
        ("d", DataType::Date32),
        ("tm", DataType::Time64(TimeUnit::Microsecond)),
        ("ts", DataType::Timestamp(TimeUnit::Microsecond, None)),
        (
            "tz",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ),
        ("n", DataType::Decimal128(12, 3)),
        ("nu", DataType::Utf8),
        ("u", DataType::FixedSizeBinary(16)),
        ("j", DataType::Utf8),
    ];
    for (i, (name, ty)) in want.iter().enumerate() {
        assert_eq!(schema.field(i).name(), name);
        assert_eq!(schema.field(i).data_type(), ty, "{name}");
        assert!(schema.field(i).is_nullable());
    }
    let col = |name: &str| b.column_by_name(name).unwrap().clone();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for (r, row) in rows.iter().enumerate() {
        // NULL in query is null in Arrow, column by column.
        for (i, _) in want.iter().enumerate() {
            assert_eq!(
                row.raw(i).is_none(),
                b.column(i).is_null(r),
                "row {r} col {i}"
            );
        }
        if row.raw(0).is_none() {
            continue;
        }
        assert_eq!(
            row.get::<i16>("i2"),
            col("i2").as_primitive::<Int16Type>().value(r)
        );
        assert_eq!(
            row.get::<i32>("i4"),
            col("i4").as_primitive::<Int32Type>().value(r)
        );
        assert_eq!(
            row.get::<i64>("i8"),
            col("i8").as_primitive::<Int64Type>().value(r)
        );
        assert_eq!(
            row.get::<u32>("o"),
            col("o").as_primitive::<UInt32Type>().value(r)
        );
        assert_eq!(
            row.get::<f32>("f4").to_bits(),
            col("f4").as_primitive::<Float32Type>().value(r).to_bits()
        );
        assert_eq!(
            row.get::<f64>("f8").to_bits(),
            col("f8").as_primitive::<Float64Type>().value(r).to_bits()
        );
        assert_eq!(row.get::<bool>("b"), col("b").as_boolean().value(r));
        for t in ["tx", "vc", "bp"] {
            assert_eq!(row.get::<&str>(t), col(t).as_string::<i32>().value(r));
        }
        assert_eq!(
            row.get::<&[u8]>("by"),
            col("by").as_binary::<i32>().value(r)
        );
        let d: NaiveDate = row.get("d");
        assert_eq!(
            i32::try_from((d - epoch).num_days()).unwrap(),
            col("d").as_primitive::<Date32Type>().value(r)
        );
        let tm: NaiveTime = row.get("tm");
        let micros = (tm - NaiveTime::MIN).num_microseconds().unwrap();
        assert_eq!(
            micros,
            col("tm").as_primitive::<Time64MicrosecondType>().value(r)
        );
        let ts: NaiveDateTime = row.get("ts");
        assert_eq!(
            ts.and_utc().timestamp_micros(),
            col("ts")
                .as_primitive::<TimestampMicrosecondType>()
                .value(r)
        );
        let tz: DateTime<Utc> = row.get("tz");
        assert_eq!(
            tz.timestamp_micros(),
            col("tz")
                .as_primitive::<TimestampMicrosecondType>()
                .value(r)
        );
        let n: Numeric = row.get("n");
        let dec = col("n");
        let dec = dec.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(n.as_str(), dec.value_as_string(r));
        let nu: Numeric = row.get("nu");
        assert_eq!(nu.as_str(), col("nu").as_string::<i32>().value(r));
        let u: uuid::Uuid = row.get("u");
        assert_eq!(
            u.as_bytes().as_slice(),
            col("u").as_fixed_size_binary().value(r)
        );
        let j: serde_json::Value = row.get("j");
        let aj: serde_json::Value =
            serde_json::from_str(col("j").as_string::<i32>().value(r)).unwrap();
        assert_eq!(j, aj);
    }
    // The first row's values, spelled out.
    assert_eq!(
        col("n")
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap()
            .value_as_string(0),
        "-12.500"
    );
    assert_eq!(col("tx").as_string::<i32>().value(0), "héllo");
}

#[tokio::test]
async fn batches_split_and_params_and_no_rows() {
    let db = crate::db();
    let mut c = crate::conn(&db).await;
    let n = i64::try_from(tusk::arrow::BATCH_ROWS).unwrap() + 10;
    let batches = c
        .query_arrow(
            "SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g::text END AS s FROM generate_series(1, $1) g",
            &[&n],
        )
        .await
        .unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].num_rows(), tusk::arrow::BATCH_ROWS);
    assert_eq!(batches[1].num_rows(), 10);
    let last = &batches[1];
    // generate_series over an int8 parameter: int8.
    let g = last.column(0).as_primitive::<Int64Type>();
    assert_eq!(g.value(9), n);
    let nulls: usize = batches.iter().map(|b| b.column(1).null_count()).sum();
    assert_eq!(i64::try_from(nulls).unwrap(), n / 7);

    // Rows without columns keep their count.
    let empty = c
        .query_arrow("SELECT FROM generate_series(1, 3)", &[])
        .await
        .unwrap();
    assert_eq!(empty[0].num_columns(), 0);
    assert_eq!(empty[0].num_rows(), 3);

    let none = c
        .query_arrow("SELECT 1 AS x WHERE false", &[])
        .await
        .unwrap();
    assert!(none.is_empty());
    let st = tusk::Prepare::prepare(&c, "SELECT 1::int8 AS x, 'a'::text AS y")
        .await
        .unwrap();
    let schema = tusk::arrow::schema_of(st.columns()).unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Int64);

    // In a transaction too.
    let tx = c.transaction().await.unwrap();
    let b = tx.query_arrow("SELECT 5::int2 AS x", &[]).await.unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Int16Type>().value(0), 5);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn unsupported_types_and_unfit_values_are_errors_naming_the_column() {
    let db = crate::db();
    let c = crate::conn(&db).await;
    let cases = [
        (
            "SELECT 1 AS ok, '1 day'::interval AS iv",
            "\"iv\"",
            "interval",
        ),
        ("SELECT ARRAY[1] AS arr", "\"arr\"", "int4"),
        ("SELECT 'infinity'::date AS d", "\"d\"", "infinity"),
        ("SELECT 'infinity'::timestamptz AS t", "\"t\"", "infinity"),
        // -infinity is i32::MIN / i64::MIN on the wire: the epoch shift
        // does not overflow, so it must be caught by value.
        ("SELECT '-infinity'::date AS d", "\"d\"", "infinity"),
        ("SELECT '-infinity'::timestamp AS t", "\"t\"", "infinity"),
        ("SELECT 'NaN'::numeric(10, 2) AS n", "\"n\"", "NaN"),
    ];
    for (sql, col, what) in cases {
        let e = c.query_arrow(sql, &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conversion, "{sql}: {e}");
        let s = e.to_string();
        assert!(s.contains(col) && s.contains(what), "{sql}: {s}");
        // The connection is in step after the abandoned stream.
        let one: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
        assert_eq!(one, 1);
    }
    // An unfit value after a full batch: the rows before it do not leak.
    let e = c
        .query_arrow(
            "SELECT CASE WHEN g = 70000 THEN 'infinity'::date ELSE current_date END AS d FROM generate_series(1, 70001) g",
            &[],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("\"d\""), "{e}");
    let e = c
        .query_arrow(tusk::Query::new("SELECT 1").text(), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("binary"), "{e}");
    let one: i32 = c.query_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(one, 1);
}
