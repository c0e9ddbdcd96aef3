//! Results as Arrow record batches (feature `arrow`): column values go from
//! the binary wire format straight into Arrow builders, with no Rust value
//! per cell in between.
//!
//! | PostgreSQL | Arrow |
//! |---|---|
//! | `int2`, `int4`, `int8` | `Int16`, `Int32`, `Int64` |
//! | `oid` | `UInt32` |
//! | `float4`, `float8` | `Float32`, `Float64` |
//! | `bool` | `Boolean` |
//! | `text`, `varchar`, `bpchar`, `name`, `json`, `jsonb` | `Utf8` |
//! | `bytea` | `Binary` |
//! | `date` | `Date32` |
//! | `time` | `Time64(Microsecond)` |
//! | `timestamp` | `Timestamp(Microsecond, None)` |
//! | `timestamptz` | `Timestamp(Microsecond, "UTC")` |
//! | `numeric(p, s)`, p ≤ 38, 0 ≤ s ≤ p | `Decimal128(p, s)` |
//! | `numeric` (other) | `Utf8` (the decimal text) |
//! | `uuid` | `FixedSizeBinary(16)` |
//!
//! NULL is an Arrow null in every column. Any other column type is an
//! error naming the column and its type (cast it in SQL, `::text`). A
//! value Arrow cannot hold (`'infinity'::date`, NaN in a `numeric(p, s)`)
//! is an error naming the column.
//!
//! ```no_run
//! # #[cfg(feature = "arrow")]
//! # async fn run(db: &impl tusk::Executor) -> Result<(), tusk::Error> {
//! let batches = db
//!     .query_arrow("SELECT g AS id, g::text AS name FROM generate_series(1, 10) g", &[])
//!     .await?;
//! let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
//! assert_eq!(rows, 10);
//! # Ok(()) }
//! ```

use std::pin::Pin;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures_core::Stream;
use postgres_types::{FromSql, Type};

use crate::error::{Error, ErrorKind};
use crate::row::{Column, Row};
use crate::stream::RowStream;
use crate::types::Numeric;

pub use arrow_array;
pub use arrow_schema;

/// Rows per record batch (the last batch may have fewer).
pub const BATCH_ROWS: usize = 65_536;

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
const DAYS_TO_PG_EPOCH: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const MICROS_TO_PG_EPOCH: i64 = 946_684_800_000_000;

/// How one PostgreSQL column maps to Arrow.
#[derive(Clone, Copy, Debug)]
enum Kind {
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Bool,
    Text,
    Jsonb,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Decimal { precision: u8, scale: i8 },
    NumericText,
    Uuid,
}

fn kind_of(col: &Column) -> Result<Kind, Error> {
    let t = col.type_();
    Ok(match *t {
        Type::INT2 => Kind::I16,
        Type::INT4 => Kind::I32,
        Type::INT8 => Kind::I64,
        Type::OID => Kind::Oid,
        Type::FLOAT4 => Kind::F32,
        Type::FLOAT8 => Kind::F64,
        Type::BOOL => Kind::Bool,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => Kind::Text,
        Type::JSONB => Kind::Jsonb,
        Type::BYTEA => Kind::Bytea,
        Type::DATE => Kind::Date,
        Type::TIME => Kind::Time,
        Type::TIMESTAMP => Kind::Timestamp,
        Type::TIMESTAMPTZ => Kind::TimestampTz,
        Type::UUID => Kind::Uuid,
        Type::NUMERIC => numeric_kind(col.type_modifier()),
        _ => {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!(
                    "column {:?} has type {}, which query_arrow does not support; cast it in SQL (::text) or see tusk::arrow for the supported types",
                    col.name(),
                    t.name()
                ),
            ))
        }
    })
}

/// `numeric(p, s)` as Decimal128 when it fits, else its text.
fn numeric_kind(typmod: i32) -> Kind {
    // typmod = ((p << 16) | (s & 0x7ff)) + 4, with s an 11-bit signed value.
    if typmod < 4 {
        return Kind::NumericText;
    }
    let m = typmod - 4;
    let p = (m >> 16) & 0xffff;
    let s = ((m & 0x7ff) ^ 1024) - 1024;
    match (u8::try_from(p), i8::try_from(s)) {
        (Ok(precision), Ok(scale)) if precision <= 38 && scale >= 0 && i32::from(scale) <= p => {
            Kind::Decimal { precision, scale }
        }
        _ => Kind::NumericText,
    }
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::I16 => DataType::Int16,
        Kind::I32 => DataType::Int32,
        Kind::I64 => DataType::Int64,
        Kind::Oid => DataType::UInt32,
        Kind::F32 => DataType::Float32,
        Kind::F64 => DataType::Float64,
        Kind::Bool => DataType::Boolean,
        Kind::Text | Kind::Jsonb | Kind::NumericText => DataType::Utf8,
        Kind::Bytea => DataType::Binary,
        Kind::Date => DataType::Date32,
        Kind::Time => DataType::Time64(TimeUnit::Microsecond),
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
        Kind::Uuid => DataType::FixedSizeBinary(16),
    }
}

/// The Arrow schema of a result with these columns (from
/// [`Statement::columns`](crate::Statement::columns), for a result that may
/// have no rows), or an error naming the first column Arrow does not take.
/// Every field is nullable.
pub fn schema_of(columns: &[Column]) -> Result<Schema, Error> {
    let fields = columns
        .iter()
        .map(|c| Ok(Field::new(c.name(), data_type(kind_of(c)?), true)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Schema::new(fields))
}

enum Builder {
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    Oid(UInt32Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    Bytea(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Ts(TimestampMicrosecondBuilder),
    Decimal(Decimal128Builder),
    Uuid(FixedSizeBinaryBuilder),
}

impl Builder {
    fn new(kind: Kind) -> Result<Builder, Error> {
        let n = BATCH_ROWS.min(1024);
        Ok(match kind {
            Kind::I16 => Builder::I16(Int16Builder::with_capacity(n)),
            Kind::I32 => Builder::I32(Int32Builder::with_capacity(n)),
            Kind::I64 => Builder::I64(Int64Builder::with_capacity(n)),
            Kind::Oid => Builder::Oid(UInt32Builder::with_capacity(n)),
            Kind::F32 => Builder::F32(Float32Builder::with_capacity(n)),
            Kind::F64 => Builder::F64(Float64Builder::with_capacity(n)),
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(n)),
            Kind::Text | Kind::Jsonb | Kind::NumericText => {
                Builder::Text(StringBuilder::with_capacity(n, n * 16))
            }
            Kind::Bytea => Builder::Bytea(BinaryBuilder::with_capacity(n, n * 16)),
            Kind::Date => Builder::Date(Date32Builder::with_capacity(n)),
            Kind::Time => Builder::Time(Time64MicrosecondBuilder::with_capacity(n)),
            Kind::Timestamp => Builder::Ts(TimestampMicrosecondBuilder::with_capacity(n)),
            Kind::TimestampTz => {
                Builder::Ts(TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"))
            }
            Kind::Decimal { precision, scale } => Builder::Decimal(
                Decimal128Builder::with_capacity(n)
                    .with_precision_and_scale(precision, scale)
                    .map_err(arrow_error)?,
            ),
            Kind::Uuid => Builder::Uuid(FixedSizeBinaryBuilder::with_capacity(n, 16)),
        })
    }

    fn append_null(&mut self) {
        match self {
            Builder::I16(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::I64(b) => b.append_null(),
            Builder::Oid(b) => b.append_null(),
            Builder::F32(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Bytea(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Ts(b) => b.append_null(),
            Builder::Decimal(b) => b.append_null(),
            Builder::Uuid(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::Oid(b) => Arc::new(b.finish()),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Bytea(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Decimal(b) => Arc::new(b.finish()),
            Builder::Uuid(b) => Arc::new(b.finish()),
        }
    }
}

fn arrow_error(e: arrow_schema::ArrowError) -> Error {
    Error::with_source(ErrorKind::Conversion, format!("arrow: {e}"), e)
}

/// A value of `name` that does not fit.
fn bad_value(name: &str, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Conversion, format!("column {name:?}: {what}"))
}

fn fixed<const N: usize>(name: &str, ty: &str, raw: &[u8]) -> Result<[u8; N], Error> {
    raw.try_into().map_err(|_| {
        bad_value(
            name,
            format!(
                "a {ty} value of {} bytes (expected {N}) from the server",
                raw.len()
            ),
        )
    })
}

/// Appends one binary value of column `c`.
fn append(b: &mut Builder, kind: Kind, name: &str, raw: &[u8]) -> Result<(), Error> {
    match (b, kind) {
        (Builder::I16(b), _) => b.append_value(i16::from_be_bytes(fixed(name, "int2", raw)?)),
        (Builder::I32(b), _) => b.append_value(i32::from_be_bytes(fixed(name, "int4", raw)?)),
        (Builder::I64(b), _) => b.append_value(i64::from_be_bytes(fixed(name, "int8", raw)?)),
        (Builder::Oid(b), _) => b.append_value(u32::from_be_bytes(fixed(name, "oid", raw)?)),
        (Builder::F32(b), _) => b.append_value(f32::from_be_bytes(fixed(name, "float4", raw)?)),
        (Builder::F64(b), _) => b.append_value(f64::from_be_bytes(fixed(name, "float8", raw)?)),
        (Builder::Bool(b), _) => b.append_value(fixed::<1>(name, "bool", raw)?[0] != 0),
        (Builder::Text(b), Kind::NumericText) => {
            let n = Numeric::from_sql(&Type::NUMERIC, raw)
                .map_err(|e| bad_value(name, format!("bad numeric: {e}")))?;
            b.append_value(n.as_str());
        }
        (Builder::Text(b), kind) => {
            let raw = match kind {
                // jsonb's binary form is a version byte, then the text.
                Kind::Jsonb => match raw.split_first() {
                    Some((1, rest)) => rest,
                    _ => return Err(bad_value(name, "unknown jsonb binary version")),
                },
                _ => raw,
            };
            let s = std::str::from_utf8(raw).map_err(|e| bad_value(name, e))?;
            b.append_value(s);
        }
        (Builder::Bytea(b), _) => b.append_value(raw),
        (Builder::Date(b), _) => {
            let d = i32::from_be_bytes(fixed(name, "date", raw)?);
            // ±infinity are i32::MAX / i32::MIN: no date to shift.
            let d = Some(d)
                .filter(|d| *d != i32::MIN && *d != i32::MAX)
                .and_then(|d| d.checked_add(DAYS_TO_PG_EPOCH))
                .ok_or_else(|| bad_value(name, "date infinity or -infinity has no Arrow value"))?;
            b.append_value(d);
        }
        (Builder::Time(b), _) => b.append_value(i64::from_be_bytes(fixed(name, "time", raw)?)),
        (Builder::Ts(b), _) => {
            let t = i64::from_be_bytes(fixed(name, "timestamp", raw)?);
            // ±infinity are i64::MAX / i64::MIN: no instant to shift.
            let t = Some(t)
                .filter(|t| *t != i64::MIN && *t != i64::MAX)
                .and_then(|t| t.checked_add(MICROS_TO_PG_EPOCH))
                .ok_or_else(|| {
                    bad_value(name, "timestamp infinity or -infinity has no Arrow value")
                })?;
            b.append_value(t);
        }
        (Builder::Decimal(b), Kind::Decimal { precision, scale }) => {
            let n = Numeric::from_sql(&Type::NUMERIC, raw)
                .map_err(|e| bad_value(name, format!("bad numeric: {e}")))?;
            b.append_value(decimal(name, n.as_str(), precision, scale)?);
        }
        (Builder::Decimal(_), _) => {
            return Err(Error::new(
                ErrorKind::Other,
                "query_arrow: a decimal builder without its scale",
            ))
        }
        (Builder::Uuid(b), _) => b
            .append_value(fixed::<16>(name, "uuid", raw)?)
            .map_err(arrow_error)?,
    }
    Ok(())
}

/// Decimal text ("-12.50") as an i128 scaled by `scale`, checked against
/// `precision`.
fn decimal(name: &str, text: &str, precision: u8, scale: i8) -> Result<i128, Error> {
    let unfit = || {
        bad_value(
            name,
            format!("{text} does not fit Decimal128({precision}, {scale})"),
        )
    };
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let scale = usize::try_from(scale).map_err(|_| unfit())?;
    if frac.len() > scale || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return Err(unfit());
    }
    let mut v: i128 = 0;
    let mut digits = 0usize;
    let pad = std::iter::repeat_n(b'0', scale - frac.len());
    for c in int.bytes().chain(frac.bytes()).chain(pad) {
        if v != 0 || c != b'0' {
            digits += 1;
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c - b'0')))
            .ok_or_else(unfit)?;
    }
    if digits > usize::from(precision) {
        return Err(unfit());
    }
    Ok(if neg { -v } else { v })
}

/// Collects a row stream into record batches of at most [`BATCH_ROWS`]
/// rows. No rows, no batches (get the schema from [`schema_of`]).
pub(crate) async fn collect(mut stream: RowStream) -> Result<Vec<RecordBatch>, Error> {
    let mut batches = Vec::new();
    let mut shape: Option<(SchemaRef, Vec<Kind>)> = None;
    let mut builders: Vec<Builder> = Vec::new();
    let mut rows = 0usize;
    while let Some(row) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        let row = row?;
        let (_, kinds) = match &shape {
            Some(s) => s,
            None => {
                if row.is_text() {
                    return Err(Error::new(
                        ErrorKind::Conversion,
                        "query_arrow reads binary results; do not ask for text (Query::text)",
                    ));
                }
                let kinds = row
                    .columns()
                    .iter()
                    .map(kind_of)
                    .collect::<Result<Vec<_>, _>>()?;
                let schema = Arc::new(schema_of(row.columns())?);
                builders = kinds
                    .iter()
                    .map(|k| Builder::new(*k))
                    .collect::<Result<_, _>>()?;
                shape.insert((schema, kinds))
            }
        };
        append_row(&row, kinds, &mut builders)?;
        rows += 1;
        if rows == BATCH_ROWS {
            if let Some((schema, _)) = &shape {
                batches.push(finish(schema, &mut builders, rows)?);
            }
            rows = 0;
        }
    }
    if rows > 0 {
        if let Some((schema, _)) = &shape {
            batches.push(finish(schema, &mut builders, rows)?);
        }
    }
    Ok(batches)
}

fn append_row(row: &Row, kinds: &[Kind], builders: &mut [Builder]) -> Result<(), Error> {
    // The body was checked when the row arrived (Row::new): walk it once.
    let body = &row.body[..];
    let mut pos = 0usize;
    for (i, (b, kind)) in builders.iter_mut().zip(kinds).enumerate() {
        let bad = || Error::protocol("malformed DataRow message");
        let len = body.get(pos..pos + 4).ok_or_else(bad)?;
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        pos += 4;
        match usize::try_from(len) {
            Err(_) => b.append_null(),
            Ok(n) => {
                let raw = body.get(pos..pos + n).ok_or_else(bad)?;
                pos += n;
                append(b, *kind, row.columns()[i].name(), raw)?;
            }
        }
    }
    Ok(())
}

fn finish(schema: &SchemaRef, builders: &mut [Builder], rows: usize) -> Result<RecordBatch, Error> {
    let columns = builders.iter_mut().map(Builder::finish).collect();
    // The row count, for a result without columns (`SELECT FROM t`).
    let opts = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema.clone(), columns, &opts).map_err(arrow_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmods() {
        // numeric(10, 2): ((10 << 16) | 2) + 4
        assert!(matches!(
            numeric_kind((10 << 16 | 2) + 4),
            Kind::Decimal {
                precision: 10,
                scale: 2
            }
        ));
        assert!(matches!(numeric_kind(-1), Kind::NumericText));
        assert!(matches!(numeric_kind((39 << 16) + 4), Kind::NumericText));
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal("c", "-12.5", 10, 2).unwrap(), -1250);
        assert_eq!(decimal("c", "0.00", 3, 2).unwrap(), 0);
        assert_eq!(decimal("c", "123", 5, 0).unwrap(), 123);
        assert!(decimal("c", "NaN", 10, 2).is_err());
        assert!(decimal("c", "1.234", 10, 2).is_err());
        assert!(decimal("c", "1234", 3, 0).is_err());
        let max = "9".repeat(38);
        assert_eq!(decimal("c", &max, 38, 0).unwrap().to_string(), max);
    }
}
