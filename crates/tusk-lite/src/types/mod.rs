//! SQL types and values: OIDs, text and binary input/output as PostgreSQL
//! formats them, comparison, and casts.

mod binary;
mod cast;

pub use binary::{decode_binary, encode_binary};
pub use cast::cast;

use bytes::{BufMut, BytesMut};
use std::cmp::Ordering;

use crate::datetime;
use crate::error::{code, Result, SqlError};
use crate::numeric::Numeric;

/// Rounds a double to the nearest real (float4), as float8 -> float4
/// conversion does: narrowing is this function's purpose.
#[allow(clippy::cast_possible_truncation)]
pub fn to_f32(v: f64) -> f32 {
    v as f32
}

/// A built-in type tusk-lite implements, named as in pg_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Type {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Varchar,
    Bpchar,
    Name,
    Oid,
    Date,
    Timestamp,
    Timestamptz,
    /// An array; its element type's OID rides in the ColType's typmod
    /// (catalog columns and psql's describe queries only, for now).
    Array,
    /// An untyped string literal, resolved by context.
    Unknown,
}

impl Type {
    pub fn oid(self) -> u32 {
        match self {
            Type::Bool => 16,
            Type::Int2 => 21,
            Type::Int4 => 23,
            Type::Int8 => 20,
            Type::Float4 => 700,
            Type::Float8 => 701,
            Type::Numeric => 1700,
            Type::Text => 25,
            Type::Varchar => 1043,
            Type::Bpchar => 1042,
            Type::Name => 19,
            Type::Oid => 26,
            Type::Date => 1082,
            Type::Timestamp => 1114,
            Type::Timestamptz => 1184,
            Type::Array => 1009,
            Type::Unknown => 705,
        }
    }

    pub fn from_oid(oid: u32) -> Option<Type> {
        Some(match oid {
            16 => Type::Bool,
            21 => Type::Int2,
            23 => Type::Int4,
            20 => Type::Int8,
            700 => Type::Float4,
            701 => Type::Float8,
            1700 => Type::Numeric,
            25 => Type::Text,
            1043 => Type::Varchar,
            1042 => Type::Bpchar,
            19 => Type::Name,
            26 => Type::Oid,
            1082 => Type::Date,
            1114 => Type::Timestamp,
            1184 => Type::Timestamptz,
            705 => Type::Unknown,
            _ => return None,
        })
    }

    /// pg_type.typlen as sent in RowDescription.
    pub fn typlen(self) -> i16 {
        match self {
            Type::Bool => 1,
            Type::Int2 => 2,
            Type::Int4 | Type::Float4 | Type::Oid | Type::Date => 4,
            Type::Int8 | Type::Float8 | Type::Timestamp | Type::Timestamptz => 8,
            Type::Name => 64,
            Type::Unknown => -2,
            _ => -1,
        }
    }

    /// The name PostgreSQL prints in messages (format_type).
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Int2 => "smallint",
            Type::Int4 => "integer",
            Type::Int8 => "bigint",
            Type::Float4 => "real",
            Type::Float8 => "double precision",
            Type::Numeric => "numeric",
            Type::Text => "text",
            Type::Varchar => "character varying",
            Type::Bpchar => "character",
            Type::Name => "name",
            Type::Oid => "oid",
            Type::Date => "date",
            Type::Timestamp => "timestamp without time zone",
            Type::Timestamptz => "timestamp with time zone",
            Type::Array => "text[]",
            Type::Unknown => "unknown",
        }
    }

    /// The name used in input-syntax errors (the type's internal name).
    pub fn input_name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Int2 => "smallint",
            Type::Int4 => "integer",
            Type::Int8 => "bigint",
            Type::Float4 => "real",
            Type::Float8 => "double precision",
            Type::Numeric => "numeric",
            Type::Oid => "oid",
            Type::Date => "date",
            Type::Timestamp => "timestamp",
            Type::Timestamptz => "timestamp with time zone",
            _ => "text",
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(self, Type::Int2 | Type::Int4 | Type::Int8)
    }

    pub fn is_numeric_family(self) -> bool {
        matches!(
            self,
            Type::Int2
                | Type::Int4
                | Type::Int8
                | Type::Float4
                | Type::Float8
                | Type::Numeric
                | Type::Oid
        )
    }

    pub fn is_string(self) -> bool {
        matches!(
            self,
            Type::Text | Type::Varchar | Type::Bpchar | Type::Name | Type::Unknown
        )
    }

    /// Looks a type up by the names pg_query produces (`pg_catalog.int4`, `text`, ...).
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "bool" | "boolean" => Type::Bool,
            "int2" | "smallint" => Type::Int2,
            "int4" | "int" | "integer" => Type::Int4,
            "int8" | "bigint" => Type::Int8,
            "float4" | "real" => Type::Float4,
            "float8" | "double precision" => Type::Float8,
            "numeric" | "decimal" => Type::Numeric,
            "text" => Type::Text,
            "varchar" | "character varying" => Type::Varchar,
            "bpchar" | "char" | "character" => Type::Bpchar,
            "name" => Type::Name,
            "oid" => Type::Oid,
            "date" => Type::Date,
            "timestamp" => Type::Timestamp,
            "timestamptz" => Type::Timestamptz,
            "unknown" => Type::Unknown,
            _ => return None,
        })
    }
}

/// A type with its modifier (PostgreSQL's atttypmod: -1 when absent;
/// varchar(n)/bpchar(n) store n + 4; numeric(p,s) stores ((p << 16) | s) + 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ColType {
    pub ty: Type,
    pub typmod: i32,
}

impl ColType {
    pub fn plain(ty: Type) -> ColType {
        ColType { ty, typmod: -1 }
    }

    /// An array of `elem` (the element type's OID rides in the typmod).
    pub fn array_of(elem: Type) -> ColType {
        ColType {
            ty: Type::Array,
            typmod: i32::try_from(elem.oid()).unwrap_or(25),
        }
    }

    /// An array type's element type (text when unknown).
    pub fn array_elem(ty: ColType) -> Type {
        u32::try_from(ty.typmod)
            .ok()
            .and_then(Type::from_oid)
            .unwrap_or(Type::Text)
    }
}

/// A value. The static type lives in the plan; the value holds the payload.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Numeric(Numeric),
    Text(String),
    /// An array's elements (one dimension, lower bound 1).
    Array(Vec<Value>),
}

/// Structural equality (for matching bound expressions), not SQL equality.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Numeric(a), Value::Numeric(b)) => a.to_string() == b.to_string(),
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

fn invalid_input(ty: Type, s: &str) -> SqlError {
    SqlError::new(
        code::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {}: \"{s}\"", ty.input_name()),
    )
}

fn out_of_range(ty: Type) -> SqlError {
    SqlError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("{} out of range", ty.name()),
    )
}

/// Range-checks an integer for its type.
pub fn check_int(v: i64, ty: Type) -> Result<i64> {
    let ok = match ty {
        Type::Int2 => i16::try_from(v).is_ok(),
        Type::Int4 => i32::try_from(v).is_ok(),
        Type::Oid => u32::try_from(v).is_ok(),
        _ => true,
    };
    if ok {
        Ok(v)
    } else {
        Err(out_of_range(ty))
    }
}

fn parse_int(s: &str, ty: Type) -> Result<i64> {
    let t = s.trim();
    let v: i128 = t.parse().map_err(|_| {
        if !t.is_empty()
            && t.trim_start_matches(['+', '-'])
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("value \"{s}\" is out of range for type {}", ty.name()),
            )
        } else {
            invalid_input(ty, s)
        }
    })?;
    let v = i64::try_from(v).map_err(|_| {
        SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{s}\" is out of range for type {}", ty.name()),
        )
    })?;
    check_int(v, ty).map_err(|_| {
        SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{s}\" is out of range for type {}", ty.name()),
        )
    })
}

fn parse_float(s: &str, ty: Type) -> Result<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "nan" => f64::NAN,
        "infinity" | "+infinity" | "inf" | "+inf" => f64::INFINITY,
        "-infinity" | "-inf" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("inf") || lower.contains("nan") {
                return Err(invalid_input(ty, s));
            }
            t.parse::<f64>().map_err(|_| invalid_input(ty, s))?
        }
    };
    if ty == Type::Float4 {
        let f = to_f32(v);
        if f.is_infinite() && !v.is_infinite() {
            return Err(SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("\"{s}\" is out of range for type real"),
            ));
        }
        return Ok(f64::from(f));
    }
    if v.is_infinite() && !lower.contains("inf") {
        return Err(SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{s}\" is out of range for type double precision"),
        ));
    }
    Ok(v)
}

fn parse_bool(s: &str) -> Result<bool> {
    let t = s.trim().to_ascii_lowercase();
    let matches = |full: &str| !t.is_empty() && full.starts_with(t.as_str());
    if matches("true") || matches("yes") || t == "on" || t == "1" {
        Ok(true)
    } else if matches("false")
        || (t.len() >= 2 && "off".starts_with(t.as_str()))
        || matches("no")
        || t == "0"
    {
        Ok(false)
    } else {
        Err(invalid_input(Type::Bool, s))
    }
}

/// Text input: the value a string literal or text parameter denotes.
pub fn parse_text(s: &str, ty: ColType) -> Result<Value> {
    let v = match ty.ty {
        Type::Bool => Value::Bool(parse_bool(s)?),
        Type::Int2 | Type::Int4 | Type::Int8 | Type::Oid => Value::Int(parse_int(s, ty.ty)?),
        Type::Float4 | Type::Float8 => Value::Float(parse_float(s, ty.ty)?),
        Type::Numeric => Value::Numeric(Numeric::parse(s)?),
        Type::Date => Value::Int(datetime::parse_date(s)?),
        Type::Timestamp => Value::Int(datetime::parse_timestamp(s, "timestamp", false)?),
        Type::Timestamptz => Value::Int(datetime::parse_timestamp(
            s,
            "timestamp with time zone",
            true,
        )?),
        Type::Array => Value::Array(parse_array(s, ColType::array_elem(ty))?),
        _ => Value::Text(s.to_string()),
    };
    coerce_typmod(v, ty, false)
}

/// Applies a column's type modifier (length, precision) to a value:
/// assignment errors on overflow, an explicit cast truncates.
pub fn coerce_typmod(v: Value, ty: ColType, explicit: bool) -> Result<Value> {
    if ty.typmod < 0 {
        return Ok(v);
    }
    match (ty.ty, v) {
        (Type::Varchar | Type::Bpchar, Value::Text(s)) => {
            let n = usize::try_from(ty.typmod - 4).unwrap_or(0);
            let len = s.chars().count();
            let s = if len > n {
                let cut: String = s.chars().take(n).collect();
                let rest_blank = s.chars().skip(n).all(|c| c == ' ');
                if !explicit && !rest_blank {
                    return Err(SqlError::new(
                        code::STRING_DATA_RIGHT_TRUNCATION,
                        format!(
                            "value too long for type {}({n})",
                            if ty.ty == Type::Varchar {
                                "character varying"
                            } else {
                                "character"
                            }
                        ),
                    ));
                }
                cut
            } else {
                s
            };
            if ty.ty == Type::Bpchar {
                let len = s.chars().count();
                Ok(Value::Text(format!(
                    "{s}{}",
                    " ".repeat(n.saturating_sub(len))
                )))
            } else {
                Ok(Value::Text(s))
            }
        }
        (Type::Timestamp | Type::Timestamptz, Value::Int(us)) => {
            Ok(Value::Int(datetime::round_precision(us, ty.typmod)))
        }
        (Type::Numeric, Value::Numeric(n)) => {
            let m = ty.typmod - 4;
            let precision = u32::try_from((m >> 16) & 0xffff).unwrap_or(0);
            let scale = u32::try_from(m & 0xffff).unwrap_or(0);
            Ok(Value::Numeric(n.apply_typmod(precision, scale)?))
        }
        (_, v) => Ok(v),
    }
}

/// float8out with extra_float_digits > 0: the shortest exact digits,
/// fixed notation for exponents -4..15, else `d.ddde+XX`.
pub fn format_float(v: f64, ty: Type) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = if ty == Type::Float4 {
        format!("{:e}", to_f32(v))
    } else {
        format!("{v:e}")
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let limit = if ty == Type::Float4 { 6 } else { 15 };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= limit {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(usize::try_from(-exp - 1).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exp + 1).unwrap_or(1);
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Text output of a non-null value.
pub fn format_text(v: &Value, ty: Type) -> String {
    match (v, ty) {
        (Value::Int(d), Type::Date) => return datetime::format_date(*d),
        (Value::Int(us), Type::Timestamp) => return datetime::format_timestamp(*us, false),
        (Value::Int(us), Type::Timestamptz) => return datetime::format_timestamp(*us, true),
        _ => {}
    }
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "t" } else { "f" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f, ty),
        Value::Numeric(n) => n.to_string(),
        Value::Text(s) => s.clone(),
        Value::Array(items) => format_array(items, ty),
    }
}

/// An array's text form, as array_out writes it: `{a,b,NULL}`, elements
/// quoted when they are empty or hold a delimiter, quote, brace, blank or
/// backslash, or spell NULL.
pub fn format_array(items: &[Value], _ty: Type) -> String {
    let mut out = String::from("{");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v.is_null() {
            out.push_str("NULL");
            continue;
        }
        let s = format_text(v, Type::Text);
        let quote = s.is_empty()
            || s.eq_ignore_ascii_case("null")
            || s.chars()
                .any(|c| matches!(c, ',' | '"' | '{' | '}' | '\\') || c.is_ascii_whitespace());
        if quote {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&s);
        }
    }
    out.push('}');
    out
}

/// Parses an array's text form (one dimension) into its elements, each
/// read as `elem`.
pub fn parse_array(s: &str, elem: Type) -> Result<Vec<Value>> {
    let bad = || {
        SqlError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("malformed array literal: \"{s}\""),
        )
    };
    let t = s.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut cur = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => cur.push(chars.next().ok_or_else(bad)?),
                    Some(c) => cur.push(c),
                    None => return Err(bad()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '{' | '}' | '"') {
                    return Err(bad());
                }
                cur.push(c);
                chars.next();
            }
            cur = cur.trim_end().to_string();
        }
        if !quoted && cur.eq_ignore_ascii_case("null") {
            items.push(Value::Null);
        } else if !quoted && cur.is_empty() {
            return Err(bad());
        } else {
            items.push(parse_text(&cur, ColType::plain(elem))?);
        }
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return Err(bad()),
        }
    }
    Ok(items)
}

/// Orders two non-null values of the same comparison class.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => float_cmp(*x, *y),
        (Value::Numeric(x), Value::Numeric(y)) => x.cmp_total(y),
        (Value::Int(x), Value::Float(y)) => float_cmp(*x as f64, *y),
        (Value::Float(x), Value::Int(y)) => float_cmp(*x, *y as f64),
        (Value::Int(x), Value::Numeric(y)) => Numeric::from_i64(*x).cmp_total(y),
        (Value::Numeric(x), Value::Int(y)) => x.cmp_total(&Numeric::from_i64(*y)),
        (Value::Numeric(x), Value::Float(y)) => float_cmp(x.to_f64(), *y),
        (Value::Float(x), Value::Numeric(y)) => float_cmp(*x, y.to_f64()),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (a, b) in x.iter().zip(y) {
                let o = compare(a, b);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

/// PostgreSQL orders NaN above every other float and equal to itself.
pub fn float_cmp(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::binary::{decode_numeric, encode_numeric};
    use super::*;

    #[test]
    fn float_output_matches_postgres() {
        assert_eq!(format_float(0.1, Type::Float8), "0.1");
        assert_eq!(format_float(1e15, Type::Float8), "1e+15");
        assert_eq!(format_float(1e14, Type::Float8), "100000000000000");
        assert_eq!(format_float(0.0001, Type::Float8), "0.0001");
        assert_eq!(format_float(0.00001, Type::Float8), "1e-05");
        assert_eq!(format_float(1.5e300, Type::Float8), "1.5e+300");
        assert_eq!(format_float(-2.5, Type::Float8), "-2.5");
        assert_eq!(format_float(f64::from(0.1f32), Type::Float4), "0.1");
    }

    #[test]
    fn numeric_binary_round_trip() {
        for s in ["0", "1.50", "-12345.6789", "0.0001", "100000000", "NaN"] {
            let n = Numeric::parse(s).unwrap();
            let mut b = BytesMut::new();
            encode_numeric(&n, &mut b);
            let back = decode_numeric(&b).unwrap();
            assert_eq!(back.to_string(), n.to_string(), "{s}");
        }
    }
}
