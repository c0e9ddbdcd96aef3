//! [`Value`]: any column, decoded by its type at run time, for results whose
//! types are not known at compile time (a CLI, an admin tool, a generic
//! exporter); `serde::Serialize` turns it into JSON.

use super::value_text::{date_text, hex, push_offset, time_text, timestamp_text, uuid_text};
use postgres_protocol::types as wire;
use postgres_types::{FromSql, Kind, Type};
use serde::ser::{SerializeMap, SerializeSeq};
use std::error::Error as StdError;

mod binary;
mod inet;
mod interval;
pub(crate) use binary::binary_ok;
use binary::decode;
pub use interval::Interval;

type BoxError = Box<dyn StdError + Sync + Send>;

/// A column's value, decoded by its type at run time.
///
/// Read any column with `row.get::<Value>(i)` (or `try_get`): built-in
/// types, the user-defined types tusk looked up (enums, composites,
/// domains, arrays, ranges, multiranges) and `hstore`/`citext` decode into
/// the variants below; a column that arrived in text format (a type tusk
/// does not decode, or [`Query::text`](crate::Query::text)) is
/// [`Value::Text`]; a binary value of a type tusk cannot decode is
/// [`Value::Unknown`] with its bytes.
///
/// `Serialize` writes what PostgreSQL's `to_jsonb()` writes (bytes as
/// `\x`-hex strings, NaN and infinities as strings), except that numerics
/// are strings (exact), `oid`s are numbers, timestamps with time zone are
/// in UTC (`+00:00`, as `to_jsonb` with `TimeZone = 'UTC'`) and ranges are
/// objects.
///
/// ```no_run
/// # async fn f(conn: &tusk::Connection) -> Result<(), tusk::Error> {
/// use tusk::{types::Value, Executor};
/// let rows = conn.query("SELECT 1 AS n, 'x' AS s, ARRAY[1.5, NULL] AS a", &[]).await?;
/// let v: Value = rows[0].get("a");
/// assert_eq!(v, Value::Array(vec![Value::Numeric("1.5".into()), Value::Null]));
/// // A whole row as a JSON object:
/// let json = serde_json::to_string(&tusk::types::row_to_values(&rows[0])?);
/// # let _ = json;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int2`, `int4`, `int8`, `oid`, `xid`, `cid`.
    Int(i64),
    /// `float4`, `float8` (NaN and infinities included).
    Float(f64),
    /// `numeric`, exactly, as PostgreSQL writes it (`"12.50"`, `"NaN"`,
    /// `"Infinity"`).
    Numeric(String),
    /// Text types (`text`, `varchar`, `char(n)`, `name`, `"char"`,
    /// `citext`, `xml`), network and bit-string types as PostgreSQL writes
    /// them (`inet`, `cidr`, `macaddr`, `macaddr8`, `bit`, `varbit`), and
    /// any column that arrived in text format.
    Text(String),
    /// `bytea`.
    Bytes(Vec<u8>),
    /// `json`, `jsonb`, and `hstore` (as an object of strings or nulls).
    Json(serde_json::Value),
    /// `json` or `jsonb` as the server's text, with key order, duplicate
    /// keys and number digits kept: what [`Value::from_binary_with`]
    /// gives with [`DecodeOptions::json_text`].
    JsonText(String),
    /// `uuid`, hyphenated lower case.
    Uuid(String),
    /// `date`: `YYYY-MM-DD`, `infinity` or `-infinity`.
    Date(String),
    /// `time` (`HH:MM:SS[.ffffff]`) and `timetz` (with `+HH[:MM]`).
    Time(String),
    /// `timestamp`: `YYYY-MM-DDTHH:MM:SS[.ffffff]`, `infinity` or `-infinity`.
    Timestamp(String),
    /// `timestamptz`, in UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`.
    TimestampTz(String),
    /// `interval`: its parts, and its text in PostgreSQL's default style
    /// (`1 year 2 mons 3 days 04:05:06.5`).
    Interval(Interval),
    /// An array (of any dimension: nested arrays), lower bounds dropped.
    Array(Vec<Value>),
    /// A composite (a row type, or an anonymous `record`): fields in order.
    Composite(Vec<(String, Value)>),
    /// An enum's label.
    Enum(String),
    /// A range.
    Range(Box<Range>),
    /// A multirange: its ranges.
    Multirange(Vec<Range>),
    /// A binary value of a type tusk does not decode.
    Unknown {
        /// The type's name.
        type_name: String,
        /// The bytes the server sent.
        bytes: Vec<u8>,
    },
}

/// A range value: bounds absent when unbounded, or the range is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// The lower bound (`None`: unbounded or empty).
    pub lower: Option<Value>,
    /// The upper bound (`None`: unbounded or empty).
    pub upper: Option<Value>,
    /// Whether the lower bound is included (`[`).
    pub lower_inclusive: bool,
    /// Whether the upper bound is included (`]`).
    pub upper_inclusive: bool,
    /// The empty range.
    pub empty: bool,
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string inside the string-like variants (text, numeric, enum,
    /// uuid, dates and times, intervals, json text).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s)
            | Value::Numeric(s)
            | Value::Enum(s)
            | Value::Uuid(s)
            | Value::Date(s)
            | Value::Time(s)
            | Value::Timestamp(s)
            | Value::TimestampTz(s)
            | Value::JsonText(s) => Some(s),
            Value::Interval(i) => Some(i.as_str()),
            _ => None,
        }
    }

    /// The integer of [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The number of [`Value::Float`] or [`Value::Int`].
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// The boolean of [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Decodes a binary value of type `ty`.
    pub fn from_binary(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
        decode(ty, raw, 0, DecodeOptions::default())
    }

    /// Decodes a binary value of type `ty`, as `options` say.
    pub fn from_binary_with(
        ty: &Type,
        raw: &[u8],
        options: DecodeOptions,
    ) -> Result<Value, BoxError> {
        decode(ty, raw, 0, options)
    }
}

/// How [`Value::from_binary_with`] decodes, for tools that print values
/// exactly as the server sent them. The default is what
/// [`Value::from_binary`] and `row.get::<Value>` do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    json_text: bool,
    lossy_text: bool,
}

impl DecodeOptions {
    /// `json` and `jsonb` (also inside arrays, composites and ranges)
    /// become [`Value::JsonText`], the server's text unparsed, rather than
    /// [`Value::Json`]: key order, duplicate keys and number digits
    /// (`2.50`, `1e400`) are kept.
    #[must_use]
    pub fn json_text(mut self, yes: bool) -> DecodeOptions {
        self.json_text = yes;
        self
    }

    /// Text that is not UTF-8 (a `SQL_ASCII` database) has its bad bytes
    /// replaced by U+FFFD rather than being an error.
    #[must_use]
    pub fn lossy_text(mut self, yes: bool) -> DecodeOptions {
        self.lossy_text = yes;
        self
    }
}

/// Every column of `row` as `(name, value)`: serializes as a JSON object
/// (keys in column order; a repeated column name repeats its key).
pub fn row_to_values(row: &crate::Row) -> Result<Columns, crate::Error> {
    let mut out = Vec::with_capacity(row.len());
    for (i, c) in row.columns().iter().enumerate() {
        out.push((c.name().to_string(), row.try_get::<Value>(i)?));
    }
    Ok(Columns(out))
}

/// A row's columns as values, from [`row_to_values`]: serializes as a JSON
/// object.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns(pub Vec<(String, Value)>);

impl serde::Serialize for Columns {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        if *ty == Type::TEXT {
            // How `Row` hands over a column in text format.
            return Ok(Value::Text(std::str::from_utf8(raw)?.to_string()));
        }
        decode(ty, raw, 0, DecodeOptions::default())
    }
    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(f) => s.serialize_str(if f.is_nan() {
                "NaN"
            } else if *f > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }),
            Value::Numeric(x)
            | Value::Text(x)
            | Value::Enum(x)
            | Value::Uuid(x)
            | Value::Date(x)
            | Value::Time(x)
            | Value::Timestamp(x)
            | Value::TimestampTz(x) => s.serialize_str(x),
            Value::Interval(i) => s.serialize_str(i.as_str()),
            Value::JsonText(text) => match serde_json::value::RawValue::from_string(text.clone()) {
                Ok(raw) => raw.serialize(s),
                Err(e) => Err(serde::ser::Error::custom(e)),
            },
            Value::Bytes(b) | Value::Unknown { bytes: b, .. } => s.serialize_str(&hex(b)),
            Value::Json(j) => j.serialize(s),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Composite(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Value::Range(r) => r.serialize(s),
            Value::Multirange(rs) => {
                let mut seq = s.serialize_seq(Some(rs.len()))?;
                for r in rs {
                    seq.serialize_element(r)?;
                }
                seq.end()
            }
        }
    }
}

/// A range serializes as `"empty"` or as
/// `{"lower": .., "upper": .., "bounds": "[)"}` (an unbounded side is null).
impl serde::Serialize for Range {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.empty {
            return s.serialize_str("empty");
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("lower", &self.lower)?;
        m.serialize_entry("upper", &self.upper)?;
        let bounds = format!(
            "{}{}",
            if self.lower_inclusive { '[' } else { '(' },
            if self.upper_inclusive { ']' } else { ')' }
        );
        m.serialize_entry("bounds", &bounds)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_values_are_errors_not_panics() {
        for ty in [
            Type::INT4,
            Type::JSONB,
            Type::TIMETZ,
            Type::INTERVAL,
            Type::INT4_ARRAY,
            Type::INT4_RANGE,
            Type::RECORD,
            Type::INET,
            Type::VARBIT,
            Type::UUID,
            Type::INT4MULTI_RANGE,
        ] {
            for raw in [&[][..], &[0xff; 3], &[0, 0, 0, 9, 0xff]] {
                let _ = Value::from_binary(&ty, raw);
            }
        }
        assert!(Value::from_binary(
            &Type::INT4_ARRAY,
            &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]
        )
        .is_err());
    }

    #[test]
    fn lossy_text_replaces_what_is_not_utf8() {
        let raw = b"a\xffb";
        assert!(Value::from_binary(&Type::TEXT, raw).is_err());
        let lossy = DecodeOptions::default().lossy_text(true);
        assert_eq!(
            Value::from_binary_with(&Type::TEXT, raw, lossy).unwrap(),
            Value::Text("a\u{fffd}b".into())
        );
    }
}
