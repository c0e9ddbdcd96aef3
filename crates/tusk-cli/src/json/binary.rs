//! Binary wire values to [`Json`], for the types the mapping names: the
//! driver decodes them into its [`Value`]; this module formats a `Value`
//! as the server prints it.

use tusk::types::{DecodeOptions, Kind, Type, Value};

use super::Json;

/// A binary value that does not have its type's layout (a server bug, or
/// a type whose OID was reused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode a {type_name} value: {reason}")]
pub struct DecodeError {
    type_name: String,
    reason: String,
}

fn bad(ty: &Type, reason: impl Into<String>) -> DecodeError {
    DecodeError {
        type_name: ty.name().to_owned(),
        reason: reason.into(),
    }
}

/// Whether the mapping decodes this type (not an array) from binary.
pub fn is_scalar_mapped(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::NUMERIC
            | Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
            | Type::BYTEA
            | Type::UUID
            | Type::DATE
            | Type::TIME
            | Type::TIMESTAMP
            | Type::TIMESTAMPTZ
            | Type::INTERVAL
            | Type::JSON
            | Type::JSONB
            | Type::INET
            | Type::CIDR
    )
}

/// The element type of an array type (not `int2vector`/`oidvector`,
/// whose text form is not an array literal: they stay "other" types).
pub fn array_element(ty: &Type) -> Option<&Type> {
    match ty.kind() {
        Kind::Array(elem) if *ty != Type::INT2_VECTOR && *ty != Type::OID_VECTOR => Some(elem),
        _ => None,
    }
}

/// Whether [`decode`] handles this type: a mapped scalar, or an array of one.
pub fn is_mapped(ty: &Type) -> bool {
    is_scalar_mapped(ty) || array_element(ty).is_some_and(is_scalar_mapped)
}

/// Decodes one binary value (`None` is SQL NULL) of a type for which
/// [`is_mapped`] is true: the driver's [`Value`] (json kept as the
/// server's text, non-UTF-8 text replaced rather than refused), then
/// [`to_json`].
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Json, DecodeError> {
    let Some(raw) = raw else {
        return Ok(Json::Null);
    };
    let options = DecodeOptions::default().json_text(true).lossy_text(true);
    let value = Value::from_binary_with(ty, raw, options).map_err(|e| bad(ty, e.to_string()))?;
    Ok(to_json(ty, &value))
}

/// A decoded value of type `ty` as the JSON the mapping prints: numbers
/// exact, floats the shortest text of their own width, intervals in ISO
/// 8601, json as the server wrote it, arrays nested by dimension.
pub fn to_json(ty: &Type, value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => Json::Number(n.to_string()),
        // A float4 widened to f64 exactly: its own shortest text is the
        // server's (`0.1`, not `0.10000000149011612`).
        #[allow(clippy::cast_possible_truncation)]
        Value::Float(f) if *ty == Type::FLOAT4 => float4(*f as f32),
        Value::Float(f) => float8(*f),
        Value::Interval(i) => Json::String(i.iso_8601()),
        Value::JsonText(text) => Json::Raw(text.clone()),
        Value::Json(j) => Json::Raw(j.to_string()),
        Value::Bytes(b) => Json::String(bytea_hex(b)),
        Value::Array(items) => {
            // Nested arrays are the dimensions of one array: same element type.
            let elem = array_element(ty).unwrap_or(ty);
            Json::Array(items.iter().map(|v| to_json(elem, v)).collect())
        }
        other => match other.as_str() {
            Some(s) => Json::String(s.to_owned()),
            // Types outside the mapping (composites, ranges...): the
            // driver's own JSON.
            None => Json::Raw(serde_json::to_string(other).unwrap_or_else(|_| "null".into())),
        },
    }
}

/// `\x` and lowercase hex, as PostgreSQL prints bytea (`bytea_output = hex`).
fn bytea_hex(raw: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + raw.len() * 2);
    s.push_str("\\x");
    for b in raw {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

/// A float as a JSON number (shortest text that reads back exactly, with
/// no `.0` on whole numbers), or the strings `NaN`, `Infinity`, `-Infinity`.
pub fn float8(v: f64) -> Json {
    if v.is_finite() {
        Json::Number(strip_point_zero(ryu::Buffer::new().format_finite(v)))
    } else {
        Json::String(non_finite(v.is_nan(), v > 0.0).into())
    }
}

/// Like [`float8`], with the shortest text for the `f32` (`0.1`, not the
/// `0.10000000149011612` that widening to `f64` would give).
pub fn float4(v: f32) -> Json {
    if v.is_finite() {
        Json::Number(strip_point_zero(ryu::Buffer::new().format_finite(v)))
    } else {
        Json::String(non_finite(v.is_nan(), v > 0.0).into())
    }
}

fn non_finite(nan: bool, positive: bool) -> &'static str {
    match (nan, positive) {
        (true, _) => "NaN",
        (false, true) => "Infinity",
        (false, false) => "-Infinity",
    }
}

fn strip_point_zero(s: &str) -> String {
    s.strip_suffix(".0").unwrap_or(s).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Json {
        Json::Number(s.into())
    }

    #[test]
    fn floats() {
        assert_eq!(float8(1.0), num("1"));
        assert_eq!(float8(-0.0), num("-0"));
        assert_eq!(float8(0.1), num("0.1"));
        assert_eq!(float8(1e300), num("1e300"));
        assert_eq!(float8(f64::NAN), Json::String("NaN".into()));
        assert_eq!(float8(f64::INFINITY), Json::String("Infinity".into()));
        assert_eq!(float8(f64::NEG_INFINITY), Json::String("-Infinity".into()));
        assert_eq!(float4(0.1), num("0.1"));
        assert_eq!(float4(f32::NEG_INFINITY), Json::String("-Infinity".into()));
    }

    #[test]
    fn scalars() {
        let d = |ty: &Type, raw: &[u8]| decode(ty, Some(raw)).unwrap();
        assert_eq!(d(&Type::INT2, &[0xff, 0xfe]), num("-2"));
        assert_eq!(d(&Type::OID, &[0xff, 0xff, 0xff, 0xff]), num("4294967295"));
        assert_eq!(d(&Type::BOOL, &[1]), Json::Bool(true));
        assert_eq!(
            d(&Type::BYTEA, &[0xde, 0xad, 0x01]),
            Json::String("\\xdead01".into())
        );
        assert_eq!(d(&Type::BYTEA, &[]), Json::String("\\x".into()));
        assert_eq!(d(&Type::BPCHAR, b"ab  "), Json::String("ab  ".into()));
        assert_eq!(
            d(&Type::JSONB, b"\x01{\"a\": 1}"),
            Json::Raw("{\"a\": 1}".into())
        );
        assert_eq!(
            d(
                &Type::UUID,
                &[
                    0xA0, 0xEE, 0xBC, 0x99, 0x9C, 0x0B, 0x4E, 0xF8, 0xBB, 0x6D, 0x6B, 0xB9, 0xBD,
                    0x38, 0x0A, 0x11
                ]
            ),
            Json::String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
        );
        assert_eq!(decode(&Type::INT4, None).unwrap(), Json::Null);
        assert!(decode(&Type::INT4, Some(&[1, 2])).is_err());
    }

    fn int4_array(dims: &[(i32, i32)], items: &[Option<i32>]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&i32::try_from(dims.len()).unwrap().to_be_bytes());
        raw.extend_from_slice(&i32::from(items.contains(&None)).to_be_bytes());
        raw.extend_from_slice(&23i32.to_be_bytes());
        for (len, lb) in dims {
            raw.extend_from_slice(&len.to_be_bytes());
            raw.extend_from_slice(&lb.to_be_bytes());
        }
        for item in items {
            match item {
                Some(v) => {
                    raw.extend_from_slice(&4i32.to_be_bytes());
                    raw.extend_from_slice(&v.to_be_bytes());
                }
                None => raw.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        raw
    }

    #[test]
    fn arrays_nest_and_keep_nulls() {
        let raw = int4_array(&[(2, 1), (2, 1)], &[Some(1), None, Some(3), Some(4)]);
        let v = decode(&Type::INT4_ARRAY, Some(&raw)).unwrap();
        assert_eq!(v.to_json_string(), "[[1,null],[3,4]]");
        let empty = int4_array(&[], &[]);
        assert_eq!(
            decode(&Type::INT4_ARRAY, Some(&empty)).unwrap(),
            Json::Array(vec![])
        );
        let mut truncated = int4_array(&[(3, 1)], &[Some(1), Some(2), Some(3)]);
        truncated.truncate(truncated.len() - 2);
        assert!(decode(&Type::INT4_ARRAY, Some(&truncated)).is_err());
        let huge = int4_array(&[(i32::MAX, 1), (i32::MAX, 1)], &[]);
        assert!(decode(&Type::INT4_ARRAY, Some(&huge)).is_err());
    }

    #[test]
    fn mapped_types() {
        assert!(is_mapped(&Type::INTERVAL_ARRAY));
        assert!(is_mapped(&Type::BPCHAR));
        assert!(!is_mapped(&Type::POINT));
        assert!(!is_mapped(&Type::POINT_ARRAY));
        assert!(!is_mapped(&Type::INT2_VECTOR));
        assert!(!is_mapped(&Type::MONEY));
    }
}
