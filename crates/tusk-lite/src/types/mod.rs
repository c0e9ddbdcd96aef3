//! SQL types and values: OIDs, text and binary input/output as PostgreSQL
//! formats them, comparison, and casts.

mod array;
mod binary;
pub mod bytea;
mod cast;
mod text;
pub mod uuid;

pub use array::{cast_elements, format_value, type_name_of};
pub use binary::{decode_binary, encode_binary, encode_binary_array, encode_binary_vector};
pub use cast::cast;
use text::out_of_range;
pub use text::{
    check_int, coerce_typmod, format_array, format_float, format_text, parse_array, parse_text,
};

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
    /// The one-byte `"char"` of the system catalogs (typtype, relkind,
    /// ...), a string of at most one byte.
    Char,
    /// A user enum type (CREATE TYPE ... AS ENUM), by its OID; its labels
    /// live in the catalog ([`crate::catalog::EnumType`]).
    Enum(u32),
    /// json: the input text, validated (a Value::Text).
    Json,
    /// jsonb: a Value::Jsonb.
    Jsonb,
    /// Binary strings (values: [`Value::Bytes`]).
    Bytea,
    /// 128-bit UUIDs (values: [`Value::Uuid`]).
    Uuid,
    /// time without time zone: microseconds since midnight.
    Time,
    /// interval: months, days, microseconds ([`crate::interval`]).
    Interval,
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
            Type::Char => 18,
            Type::Enum(oid) => oid,
            Type::Json => 114,
            Type::Jsonb => 3802,
            Type::Bytea => 17,
            Type::Uuid => 2950,
            Type::Time => 1083,
            Type::Interval => 1186,
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
            18 => Type::Char,
            114 => Type::Json,
            3802 => Type::Jsonb,
            17 => Type::Bytea,
            2950 => Type::Uuid,
            1083 => Type::Time,
            1186 => Type::Interval,
            _ => return None,
        })
    }

    /// pg_type.typlen as sent in RowDescription.
    pub fn typlen(self) -> i16 {
        match self {
            Type::Bool | Type::Char => 1,
            Type::Int2 => 2,
            Type::Int4 | Type::Float4 | Type::Oid | Type::Date | Type::Enum(_) => 4,
            Type::Int8 | Type::Float8 | Type::Timestamp | Type::Timestamptz | Type::Time => 8,
            Type::Interval => 16,
            Type::Name => 64,
            Type::Uuid => 16,
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
            Type::Char => "\"char\"",
            Type::Enum(_) => "enum",
            Type::Json => "json",
            Type::Jsonb => "jsonb",
            Type::Bytea => "bytea",
            Type::Uuid => "uuid",
            Type::Time => "time without time zone",
            Type::Interval => "interval",
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
            Type::Json => "json",
            Type::Jsonb => "jsonb",
            Type::Bytea => "bytea",
            Type::Uuid => "uuid",
            Type::Time => "time",
            Type::Interval => "interval",
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
            Type::Text | Type::Varchar | Type::Bpchar | Type::Name | Type::Char | Type::Unknown
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
            "time" => Type::Time,
            "interval" => Type::Interval,
            "unknown" => Type::Unknown,
            "json" => Type::Json,
            "jsonb" => Type::Jsonb,
            "bytea" => Type::Bytea,
            "uuid" => Type::Uuid,
            _ => return None,
        })
    }
}

/// The OID of the array type whose elements are `elem` (pg_type.typarray).
pub fn array_type_oid(elem: Type) -> Option<u32> {
    Some(match elem {
        Type::Bool => 1000,
        Type::Int2 => 1005,
        Type::Int4 => 1007,
        Type::Int8 => 1016,
        Type::Float4 => 1021,
        Type::Float8 => 1022,
        Type::Numeric => 1231,
        Type::Text => 1009,
        Type::Varchar => 1015,
        Type::Bpchar => 1014,
        Type::Name => 1003,
        Type::Oid => 1028,
        Type::Date => 1182,
        Type::Timestamp => 1115,
        Type::Timestamptz => 1185,
        Type::Json => 199,
        Type::Jsonb => 3807,
        Type::Bytea => 1001,
        Type::Uuid => 2951,
        Type::Time => 1183,
        Type::Interval => 1187,
        _ => return None,
    })
}

/// Every built-in type tusk-lite implements (pg_type lists them; arrays
/// and enums are built over them).
pub const BUILT_IN: [Type; 22] = [
    Type::Bool,
    Type::Char,
    Type::Int2,
    Type::Int4,
    Type::Int8,
    Type::Float4,
    Type::Float8,
    Type::Numeric,
    Type::Text,
    Type::Varchar,
    Type::Bpchar,
    Type::Name,
    Type::Oid,
    Type::Date,
    Type::Timestamp,
    Type::Timestamptz,
    Type::Json,
    Type::Jsonb,
    Type::Bytea,
    Type::Uuid,
    Type::Time,
    Type::Interval,
];

/// The element type of the built-in array type `oid`.
pub fn array_elem_of_oid(oid: u32) -> Option<Type> {
    BUILT_IN
        .into_iter()
        .find(|t| array_type_oid(*t) == Some(oid))
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

    /// The OID RowDescription and pg_type give this type (an array's
    /// is its element type's array type).
    pub fn type_oid(self) -> u32 {
        match self.ty {
            Type::Array if self.is_vector() => self.typmod.unsigned_abs(),
            Type::Array => array_type_oid(ColType::array_elem(self)).unwrap_or(1009),
            t => t.oid(),
        }
    }

    /// The typmod RowDescription gives (arrays ride their element type
    /// in it internally: -1 on the wire).
    pub fn wire_typmod(self) -> i32 {
        match self.ty {
            Type::Array => -1,
            _ => self.typmod,
        }
    }

    /// An array type's element type (text when unknown).
    pub fn array_elem(ty: ColType) -> Type {
        match ty.typmod {
            INT2VECTOR_OID => Type::Int2,
            OIDVECTOR_OID => Type::Oid,
            m => u32::try_from(m)
                .ok()
                .and_then(Type::from_oid)
                .unwrap_or(Type::Text),
        }
    }

    /// PostgreSQL's int2vector (pg_index.indkey, indoption): an int2
    /// array whose typmod marks it (see [`INT2VECTOR_OID`]).
    pub fn int2vector() -> ColType {
        ColType {
            ty: Type::Array,
            typmod: INT2VECTOR_OID,
        }
    }

    /// int2vector or oidvector: printed space-separated, subscripted
    /// from 0, sent as an array with lower bound 0.
    pub fn is_vector(self) -> bool {
        self.ty == Type::Array && matches!(self.typmod, INT2VECTOR_OID | OIDVECTOR_OID)
    }
}

/// int2vector's OID; as an array's typmod (which otherwise holds the
/// element type's OID) it marks the array as an int2vector.
pub const INT2VECTOR_OID: i32 = 22;
/// oidvector's OID, used as int2vector's.
pub const OIDVECTOR_OID: i32 = 30;

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
    /// An enum value: its label's sort order (pg_enum.enumsortorder,
    /// fixed once the label exists) and the label.
    Enum(f32, std::sync::Arc<str>),
    /// A jsonb value (json values are Text).
    Jsonb(std::sync::Arc<crate::json::Jsonb>),
    /// A bytea value.
    Bytes(Vec<u8>),
    /// A uuid value.
    Uuid([u8; 16]),
    /// An interval ([`crate::interval::Interval`]).
    Interval(crate::interval::Interval),
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
            (Value::Enum(a, x), Value::Enum(b, y)) => a.to_bits() == b.to_bits() && x == y,
            (Value::Jsonb(a), Value::Jsonb(b)) => a.compare(b) == Ordering::Equal,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Uuid(a), Value::Uuid(b)) => a == b,
            (Value::Interval(a), Value::Interval(b)) => a == b,
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
        (Value::Enum(x, _), Value::Enum(y, _)) => x.total_cmp(y),
        (Value::Jsonb(x), Value::Jsonb(y)) => x.compare(y),
        // byteacmp and uuid_cmp: memcmp, then the shorter first.
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::Uuid(x), Value::Uuid(y)) => x.cmp(y),
        (Value::Interval(x), Value::Interval(y)) => x.cmp_pg(*y),
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
