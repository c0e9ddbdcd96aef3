//! [`Value`]: any column, decoded by its type at run time, for results whose
//! types are not known at compile time (a CLI, an admin tool, a generic
//! exporter); `serde::Serialize` turns it into JSON.

use super::value_text::{
    date_text, hex, interval_text, push_offset, time_text, timestamp_text, uuid_text,
};
use postgres_protocol::types as wire;
use postgres_types::{FromSql, Kind, Type};
use serde::ser::{SerializeMap, SerializeSeq};
use std::error::Error as StdError;

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
    /// `interval`, in PostgreSQL's default style (`1 year 2 mons 3 days 04:05:06.5`).
    Interval(String),
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
    /// uuid, dates and times).
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
            | Value::Interval(s) => Some(s),
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
        decode(ty, raw, 0)
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
        decode(ty, raw, 0)
    }
    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Nesting deeper than this is refused (a malicious or corrupt value).
const MAX_DEPTH: usize = 100;

fn text(raw: &[u8]) -> Result<Value, BoxError> {
    Ok(Value::Text(std::str::from_utf8(raw)?.to_string()))
}

fn be<const N: usize>(raw: &[u8]) -> Result<[u8; N], BoxError> {
    raw.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", raw.len()).into())
}

/// Whether tusk decodes a binary value of `ty` (into [`Value`], and so asks
/// for it in binary): built-in types it knows, and the looked-up types made
/// only of those. Other types are asked for in text format.
pub(crate) fn binary_ok(ty: &Type) -> bool {
    binary_ok_at(ty, 0)
}

fn binary_ok_at(ty: &Type, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if let Some(builtin) = builtin(ty) {
        return builtin;
    }
    match ty.kind() {
        Kind::Enum(_) => true,
        Kind::Array(e) | Kind::Domain(e) | Kind::Range(e) | Kind::Multirange(e) => {
            binary_ok_at(e, depth + 1)
        }
        Kind::Composite(fields) => fields.iter().all(|f| binary_ok_at(f.type_(), depth + 1)),
        Kind::Simple => {
            matches!(
                ty.name(),
                "hstore" | "citext" | "ltree" | "lquery" | "ltxtquery"
            ) && !ty.schema().is_empty()
        }
        _ => false,
    }
}

/// For a built-in type: whether tusk decodes its binary form; `None` for a
/// type that is not built in (or a built-in array or range: by element).
fn builtin(ty: &Type) -> Option<bool> {
    Type::from_oid(ty.oid())?;
    Some(match *ty {
        Type::BOOL
        | Type::INT2
        | Type::INT4
        | Type::INT8
        | Type::OID
        | Type::XID
        | Type::CID
        | Type::FLOAT4
        | Type::FLOAT8
        | Type::NUMERIC
        | Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::CHAR
        | Type::XML
        | Type::UNKNOWN
        | Type::BYTEA
        | Type::JSON
        | Type::JSONB
        | Type::UUID
        | Type::DATE
        | Type::TIME
        | Type::TIMETZ
        | Type::TIMESTAMP
        | Type::TIMESTAMPTZ
        | Type::INTERVAL
        | Type::INET
        | Type::CIDR
        | Type::MACADDR
        | Type::MACADDR8
        | Type::BIT
        | Type::VARBIT
        | Type::RECORD
        // Decoded by postgres-types' geo-types mapping: kept binary for
        // its users; `Value` shows them as PostgreSQL writes them.
        | Type::POINT
        | Type::BOX
        | Type::PATH => true,
        _ => match ty.kind() {
            Kind::Array(e) | Kind::Range(e) | Kind::Multirange(e) => return Some(binary_ok(e)),
            _ => false,
        },
    })
}

#[allow(clippy::too_many_lines)]
fn decode(ty: &Type, raw: &[u8], depth: usize) -> Result<Value, BoxError> {
    if depth > MAX_DEPTH {
        return Err("value nested too deeply".into());
    }
    let v = match *ty {
        Type::BOOL => Value::Bool(wire::bool_from_sql(raw)?),
        Type::INT2 => Value::Int(wire::int2_from_sql(raw)?.into()),
        Type::INT4 => Value::Int(wire::int4_from_sql(raw)?.into()),
        Type::INT8 => Value::Int(wire::int8_from_sql(raw)?),
        Type::OID | Type::XID | Type::CID => Value::Int(wire::oid_from_sql(raw)?.into()),
        Type::FLOAT4 => Value::Float(wire::float4_from_sql(raw)?.into()),
        Type::FLOAT8 => Value::Float(wire::float8_from_sql(raw)?),
        Type::NUMERIC => Value::Numeric(
            <crate::types::Numeric as FromSql>::from_sql(ty, raw)?
                .as_str()
                .to_string(),
        ),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::XML | Type::UNKNOWN => {
            text(raw)?
        }
        Type::CHAR => {
            // "char": one byte; PostgreSQL writes a high byte as an octal escape.
            let b = be::<1>(raw)?[0];
            Value::Text(if b.is_ascii() {
                char::from(b).to_string()
            } else {
                format!("\\{b:03o}")
            })
        }
        Type::BYTEA => Value::Bytes(raw.to_vec()),
        Type::JSON => Value::Json(serde_json::from_slice(raw)?),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => Value::Json(serde_json::from_slice(rest)?),
            _ => return Err("unsupported jsonb version".into()),
        },
        Type::UUID => Value::Uuid(uuid_text(wire::uuid_from_sql(raw)?)),
        Type::DATE => Value::Date(date_text(wire::date_from_sql(raw)?)),
        Type::TIME => Value::Time(time_text(wire::time_from_sql(raw)?)),
        Type::TIMETZ => {
            let micros = i64::from_be_bytes(be::<8>(raw.get(..8).ok_or("short timetz")?)?);
            let west = i32::from_be_bytes(be::<4>(raw.get(8..).ok_or("short timetz")?)?);
            let mut s = time_text(micros);
            push_offset(&mut s, -west);
            Value::Time(s)
        }
        Type::TIMESTAMP => Value::Timestamp(timestamp_text(wire::timestamp_from_sql(raw)?)),
        Type::TIMESTAMPTZ => {
            let us = wire::timestamp_from_sql(raw)?;
            let mut s = timestamp_text(us);
            if us != i64::MAX && us != i64::MIN {
                s.push_str("+00:00");
            }
            Value::TimestampTz(s)
        }
        Type::INTERVAL => {
            let micros = i64::from_be_bytes(be::<8>(raw.get(..8).ok_or("short interval")?)?);
            let days = i32::from_be_bytes(be::<4>(raw.get(8..12).ok_or("short interval")?)?);
            let months = i32::from_be_bytes(be::<4>(raw.get(12..).ok_or("short interval")?)?);
            Value::Interval(interval_text(months, days, micros))
        }
        Type::INET | Type::CIDR => {
            let i = wire::inet_from_sql(raw)?;
            let full = if i.addr().is_ipv4() { 32 } else { 128 };
            Value::Text(if *ty == Type::INET && i.netmask() == full {
                i.addr().to_string()
            } else {
                format!("{}/{}", i.addr(), i.netmask())
            })
        }
        Type::MACADDR | Type::MACADDR8 => {
            if raw.len() != 6 && raw.len() != 8 {
                return Err("bad macaddr length".into());
            }
            let parts: Vec<String> = raw.iter().map(|b| format!("{b:02x}")).collect();
            Value::Text(parts.join(":"))
        }
        Type::BIT | Type::VARBIT => {
            let v = wire::varbit_from_sql(raw)?;
            let n = v.len();
            let mut s = String::with_capacity(n);
            for i in 0..n {
                let byte = v.bytes().get(i / 8).ok_or("short bit string")?;
                s.push(if byte & (0x80 >> (i % 8)) != 0 {
                    '1'
                } else {
                    '0'
                });
            }
            Value::Text(s)
        }
        Type::POINT => {
            let p = wire::point_from_sql(raw)?;
            Value::Text(format!("({},{})", p.x(), p.y()))
        }
        Type::BOX => {
            let b = wire::box_from_sql(raw)?;
            Value::Text(format!(
                "({},{}),({},{})",
                b.upper_right().x(),
                b.upper_right().y(),
                b.lower_left().x(),
                b.lower_left().y()
            ))
        }
        Type::RECORD => decode_record(None, raw, depth)?,
        _ => match ty.kind() {
            Kind::Enum(_) => Value::Enum(std::str::from_utf8(raw)?.to_string()),
            Kind::Domain(base) => decode(base, raw, depth + 1)?,
            Kind::Array(elem) => decode_array(elem, raw, depth)?,
            Kind::Composite(fields) => decode_record(Some(fields), raw, depth)?,
            Kind::Range(sub) => Value::Range(Box::new(decode_range(sub, raw, depth)?)),
            Kind::Multirange(sub) => {
                let mut buf = raw;
                let n = take_i32(&mut buf)?;
                let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1024));
                for _ in 0..n {
                    let len = usize::try_from(take_i32(&mut buf)?)?;
                    let (r, rest) = buf.split_at_checked(len).ok_or("short multirange")?;
                    out.push(decode_range(sub, r, depth)?);
                    buf = rest;
                }
                Value::Multirange(out)
            }
            Kind::Simple if ty.name() == "hstore" => {
                let mut m = serde_json::Map::new();
                let mut it = wire::hstore_from_sql(raw)?;
                while let Some((k, v)) = fallible_iterator::FallibleIterator::next(&mut it)? {
                    m.insert(
                        k.to_string(),
                        v.map_or(serde_json::Value::Null, |v| v.into()),
                    );
                }
                Value::Json(serde_json::Value::Object(m))
            }
            Kind::Simple if ty.name() == "citext" => text(raw)?,
            Kind::Simple if matches!(ty.name(), "ltree" | "lquery" | "ltxtquery") => {
                match raw.split_first() {
                    Some((1, rest)) => text(rest)?,
                    _ => return Err("unsupported ltree version".into()),
                }
            }
            _ => Value::Unknown {
                type_name: ty.name().to_string(),
                bytes: raw.to_vec(),
            },
        },
    };
    Ok(v)
}

fn take_i32(buf: &mut &[u8]) -> Result<i32, BoxError> {
    let (head, rest) = buf.split_at_checked(4).ok_or("short value")?;
    *buf = rest;
    Ok(i32::from_be_bytes(be::<4>(head)?))
}

fn decode_array(elem: &Type, raw: &[u8], depth: usize) -> Result<Value, BoxError> {
    use fallible_iterator::FallibleIterator;
    let a = wire::array_from_sql(raw)?;
    let dims: Vec<usize> = a
        .dimensions()
        .map(|d| Ok(usize::try_from(d.len).unwrap_or(0)))
        .collect()?;
    let mut flat = Vec::new();
    let mut values = a.values();
    while let Some(v) = values.next()? {
        flat.push(match v {
            None => Value::Null,
            Some(b) => decode(elem, b, depth + 1)?,
        });
    }
    if dims.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    let total = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if total != Some(flat.len()) {
        return Err("array dimensions do not match its elements".into());
    }
    // Nest from the innermost dimension out.
    let mut level = flat;
    for &d in dims[1..].iter().rev() {
        let mut next = Vec::with_capacity(level.len() / d.max(1));
        let mut it = level.into_iter();
        loop {
            let chunk: Vec<Value> = it.by_ref().take(d).collect();
            if chunk.is_empty() {
                break;
            }
            next.push(Value::Array(chunk));
        }
        level = next;
    }
    Ok(Value::Array(level))
}

fn decode_record(
    fields: Option<&[postgres_types::Field]>,
    raw: &[u8],
    depth: usize,
) -> Result<Value, BoxError> {
    let mut buf = raw;
    let n = usize::try_from(take_i32(&mut buf)?)?;
    let mut out = Vec::with_capacity(n.min(1600));
    for i in 0..n {
        let oid = u32::from_be_bytes(be::<4>(buf.get(..4).ok_or("short record")?)?);
        buf = &buf[4..];
        let len = take_i32(&mut buf)?;
        let (name, ty) = match fields.and_then(|f| f.get(i)) {
            Some(f) => (f.name().to_string(), f.type_().clone()),
            None => (format!("f{}", i + 1), crate::row::type_of(oid)),
        };
        let v = if len < 0 {
            Value::Null
        } else {
            let len = usize::try_from(len)?;
            let (b, rest) = buf.split_at_checked(len).ok_or("short record field")?;
            buf = rest;
            decode(&ty, b, depth + 1)?
        };
        out.push((name, v));
    }
    Ok(Value::Composite(out))
}

fn decode_range(sub: &Type, raw: &[u8], depth: usize) -> Result<Range, BoxError> {
    let bound = |b: wire::RangeBound<Option<&[u8]>>| -> Result<(Option<Value>, bool), BoxError> {
        Ok(match b {
            wire::RangeBound::Inclusive(v) => (
                Some(v.map_or(Ok(Value::Null), |v| decode(sub, v, depth + 1))?),
                true,
            ),
            wire::RangeBound::Exclusive(v) => (
                Some(v.map_or(Ok(Value::Null), |v| decode(sub, v, depth + 1))?),
                false,
            ),
            wire::RangeBound::Unbounded => (None, false),
        })
    };
    Ok(match wire::range_from_sql(raw)? {
        wire::Range::Empty => Range {
            lower: None,
            upper: None,
            lower_inclusive: false,
            upper_inclusive: false,
            empty: true,
        },
        wire::Range::Nonempty(lo, hi) => {
            let (lower, lower_inclusive) = bound(lo)?;
            let (upper, upper_inclusive) = bound(hi)?;
            Range {
                lower,
                upper,
                lower_inclusive,
                upper_inclusive,
                empty: false,
            }
        }
    })
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
            | Value::TimestampTz(x)
            | Value::Interval(x) => s.serialize_str(x),
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
}
