//! Binary wire values to [`Json`], for the types the mapping names.

use tusk::types::{FromSql, Kind, Numeric, Type};

use super::{datetime, inet, interval, Json};

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
/// [`is_mapped`] is true.
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Json, DecodeError> {
    let Some(raw) = raw else {
        return Ok(Json::Null);
    };
    if let Some(elem) = array_element(ty) {
        return array(ty, elem, raw);
    }
    let number = |s: String| Ok(Json::Number(s));
    match *ty {
        Type::BOOL => match raw {
            [b] => Ok(Json::Bool(*b != 0)),
            _ => Err(bad(ty, "not 1 byte")),
        },
        Type::INT2 => number(i16::from_be_bytes(fixed(ty, raw)?).to_string()),
        Type::INT4 => number(i32::from_be_bytes(fixed(ty, raw)?).to_string()),
        Type::INT8 => number(i64::from_be_bytes(fixed(ty, raw)?).to_string()),
        Type::OID => number(u32::from_be_bytes(fixed(ty, raw)?).to_string()),
        Type::FLOAT4 => Ok(float4(f32::from_be_bytes(fixed(ty, raw)?))),
        Type::FLOAT8 => Ok(float8(f64::from_be_bytes(fixed(ty, raw)?))),
        Type::NUMERIC => Numeric::from_sql(&Type::NUMERIC, raw)
            .map(|n| Json::String(n.as_str().to_owned()))
            .map_err(|e| bad(ty, e.to_string())),
        Type::BYTEA => Ok(Json::String(bytea_hex(raw))),
        Type::UUID => Ok(Json::String(uuid(&fixed::<16>(ty, raw)?))),
        Type::DATE => Ok(Json::String(datetime::date(i32::from_be_bytes(fixed(
            ty, raw,
        )?)))),
        Type::TIME => Ok(Json::String(datetime::time(i64::from_be_bytes(fixed(
            ty, raw,
        )?)))),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => Ok(Json::String(datetime::timestamp(
            i64::from_be_bytes(fixed(ty, raw)?),
            *ty == Type::TIMESTAMPTZ,
        ))),
        Type::INTERVAL => {
            let b: [u8; 16] = fixed(ty, raw)?;
            let [t0, t1, t2, t3, t4, t5, t6, t7, d0, d1, d2, d3, m0, m1, m2, m3] = b;
            Ok(Json::String(interval::iso_8601(
                i64::from_be_bytes([t0, t1, t2, t3, t4, t5, t6, t7]),
                i32::from_be_bytes([d0, d1, d2, d3]),
                i32::from_be_bytes([m0, m1, m2, m3]),
            )))
        }
        Type::JSON => Ok(Json::Raw(utf8(raw))),
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => Ok(Json::Raw(utf8(text))),
            _ => Err(bad(ty, "unknown jsonb format version")),
        },
        Type::INET | Type::CIDR => inet::format(raw, *ty == Type::CIDR)
            .map(Json::String)
            .map_err(|e| bad(ty, e.to_string())),
        // text, varchar, char (with its padding), name, unknown
        _ => Ok(Json::String(utf8(raw))),
    }
}

fn fixed<const N: usize>(ty: &Type, raw: &[u8]) -> Result<[u8; N], DecodeError> {
    raw.try_into()
        .map_err(|_| bad(ty, format!("{} bytes where {N} were expected", raw.len())))
}

/// Text as the server sent it; bytes that are not UTF-8 (a SQL_ASCII
/// database) become U+FFFD rather than an error.
fn utf8(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// `\x` and lowercase hex, as PostgreSQL prints bytea (`bytea_output = hex`).
pub fn bytea_hex(raw: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + raw.len() * 2);
    s.push_str("\\x");
    for b in raw {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

fn uuid(b: &[u8; 16]) -> String {
    let hex = bytea_hex(b);
    let h = &hex[2..];
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
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

/// Reads big-endian integers off the front of a buffer.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }
    fn i32(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// PostgreSQL's limit on array dimensions (MAXDIM).
const MAX_DIMS: usize = 6;

/// A binary array: nested JSON arrays, one level per dimension (lower
/// bounds are dropped), NULL elements as null.
fn array(ty: &Type, elem: &Type, raw: &[u8]) -> Result<Json, DecodeError> {
    let short = || bad(ty, "truncated array");
    let mut r = Reader(raw);
    let ndim = r.i32().ok_or_else(short)?;
    let _has_nulls = r.i32().ok_or_else(short)?;
    let _elem_oid = r.i32().ok_or_else(short)?;
    let ndim = usize::try_from(ndim)
        .ok()
        .filter(|n| *n <= MAX_DIMS)
        .ok_or_else(|| bad(ty, format!("{ndim} dimensions")))?;
    let mut dims = Vec::with_capacity(ndim);
    let mut total = 1usize;
    for _ in 0..ndim {
        let len = r.i32().ok_or_else(short)?;
        let _lower_bound = r.i32().ok_or_else(short)?;
        let len = usize::try_from(len).map_err(|_| bad(ty, "negative dimension"))?;
        total = total.checked_mul(len).ok_or_else(short)?;
        dims.push(len);
    }
    if ndim == 0 {
        return Ok(Json::Array(Vec::new()));
    }
    // Every element takes at least its 4-byte length.
    if total > r.0.len() / 4 {
        return Err(short());
    }
    let mut items = Vec::with_capacity(total);
    for _ in 0..total {
        let len = r.i32().ok_or_else(short)?;
        let value = match usize::try_from(len) {
            Ok(n) => Some(r.take(n).ok_or_else(short)?),
            Err(_) if len == -1 => None,
            Err(_) => return Err(bad(ty, "negative element length")),
        };
        items.push(decode(elem, value)?);
    }
    let mut items = items.into_iter();
    Ok(nest(&dims, &mut items))
}

fn nest(dims: &[usize], items: &mut impl Iterator<Item = Json>) -> Json {
    match dims {
        [] | [_] => Json::Array(items.take(dims.first().copied().unwrap_or(0)).collect()),
        [n, rest @ ..] => Json::Array((0..*n).map(|_| nest(rest, items)).collect()),
    }
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
