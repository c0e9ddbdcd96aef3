//! The binary wire format of values (send and receive functions).

use super::*;

/// Binary output (the typsend functions).
pub fn encode_binary(v: &Value, ty: Type, out: &mut BytesMut) -> Result<()> {
    match (v, ty) {
        (Value::Bool(b), _) => out.put_u8(u8::from(*b)),
        (Value::Int(i), Type::Int2) => {
            out.put_i16(i16::try_from(*i).map_err(|_| out_of_range(ty))?)
        }
        (Value::Int(i), Type::Int4) => {
            out.put_i32(i32::try_from(*i).map_err(|_| out_of_range(ty))?)
        }
        (Value::Int(i), Type::Date) => {
            out.put_i32(i32::try_from(*i).map_err(|_| out_of_range(ty))?)
        }
        (Value::Int(i), Type::Oid) => out.put_u32(u32::try_from(*i).map_err(|_| out_of_range(ty))?),
        (Value::Int(i), _) => out.put_i64(*i),
        (Value::Float(f), Type::Float4) => out.put_f32(to_f32(*f)),
        (Value::Float(f), _) => out.put_f64(*f),
        (Value::Numeric(n), _) => encode_numeric(n, out),
        (Value::Text(s), _) => out.put_slice(s.as_bytes()),
        // enum_send: the label's bytes.
        (Value::Enum(_, label), _) => out.put_slice(label.as_bytes()),
        // jsonb_send: version 1, then the text.
        (Value::Jsonb(j), _) => {
            out.put_u8(1);
            out.put_slice(j.to_string().as_bytes());
        }
        (Value::Bytes(b), _) => out.put_slice(b),
        (Value::Uuid(u), _) => out.put_slice(u),
        (Value::Null, _) => {}
        (Value::Interval(iv), _) => out.put_slice(&crate::interval::to_bytes(*iv)),
        (Value::Array(_), _) => {
            return Err(SqlError::unsupported("binary output of arrays"));
        }
    }
    Ok(())
}

/// array_send of a one-dimensional array (lower bound 1) of `elem`.
/// int2vector/oidvector as int2vectorsend writes them: array_send of a
/// one-dimensional array with lower bound 0 (one dimension even when
/// empty).
pub fn encode_binary_vector(items: &[Value], elem: Type, out: &mut BytesMut) -> Result<()> {
    let len = |n: usize| {
        i32::try_from(n).map_err(|_| SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "array too large"))
    };
    out.put_i32(1);
    out.put_i32(0);
    out.put_u32(elem.oid());
    out.put_i32(len(items.len())?);
    out.put_i32(0);
    for v in items {
        let start = out.len();
        out.put_i32(0);
        encode_binary(v, elem, out)?;
        let n = len(out.len() - start - 4)?;
        out[start..start + 4].copy_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

pub fn encode_binary_array(items: &[Value], elem: Type, out: &mut BytesMut) -> Result<()> {
    let len = |n: usize| {
        i32::try_from(n).map_err(|_| SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "array too large"))
    };
    if items.is_empty() {
        out.put_i32(0);
        out.put_i32(0);
        out.put_u32(elem.oid());
        return Ok(());
    }
    out.put_i32(1);
    out.put_i32(i32::from(items.iter().any(Value::is_null)));
    out.put_u32(elem.oid());
    out.put_i32(len(items.len())?);
    out.put_i32(1);
    for v in items {
        if v.is_null() {
            out.put_i32(-1);
            continue;
        }
        let start = out.len();
        out.put_i32(0);
        encode_binary(v, elem, out)?;
        let n = len(out.len() - start - 4)?;
        out[start..start + 4].copy_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

/// array_recv of a one-dimensional array of a built-in element type
/// (the element type comes from the data, as array_recv checks it).
fn decode_binary_array(b: &[u8], want: Option<Type>) -> Option<Result<Value>> {
    let rd =
        |i: usize| -> Option<i32> { Some(i32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
    let ndim = rd(0)?;
    let elem_oid = u32::try_from(rd(8)?).ok()?;
    let Some(elem) = Type::from_oid(elem_oid) else {
        return Some(Err(SqlError::unsupported(format!(
            "arrays of type OID {elem_oid}"
        ))));
    };
    // array_recv: the elements must be of the array type's element type.
    if want.is_some_and(|w| w != elem) {
        return Some(Err(SqlError::new(
            code::DATATYPE_MISMATCH,
            format!(
                "binary data has array element type {elem_oid} ({}) instead of expected {} ({})",
                elem.name(),
                want.map(Type::oid).unwrap_or(0),
                want.map(Type::name).unwrap_or_default()
            ),
        )));
    }
    if ndim == 0 {
        return Some(Ok(Value::Array(Vec::new())));
    }
    if ndim != 1 {
        return Some(Err(SqlError::unsupported("multidimensional arrays")));
    }
    let n = usize::try_from(rd(12)?).ok()?;
    let mut pos = 20;
    let mut items = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let l = rd(pos)?;
        pos += 4;
        if l < 0 {
            items.push(Value::Null);
            continue;
        }
        let l = usize::try_from(l).ok()?;
        let data = b.get(pos..pos + l)?;
        pos += l;
        match decode_binary(data, ColType::plain(elem)) {
            Ok(v) => items.push(v),
            Err(e) => return Some(Err(e)),
        }
    }
    (pos == b.len()).then_some(Ok(Value::Array(items)))
}

/// numeric_send: base-10000 digits, weight, sign, display scale.
pub(super) fn encode_numeric(n: &Numeric, out: &mut BytesMut) {
    let Numeric::Finite { .. } = n else {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(0xC000);
        out.put_i16(0);
        return;
    };
    let dscale = n.scale();
    let text = n.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = int.trim_start_matches('0');
    // Pad the integer part on the left and the fraction on the right to
    // whole groups of four digits.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let all = format!("{}{int}{frac}{}", "0".repeat(int_pad), "0".repeat(frac_pad));
    let groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    let int_groups = (int.len() + int_pad) / 4;
    let mut weight = i32::try_from(int_groups).unwrap_or(0) - 1;
    let mut start = 0;
    while start < groups.len() && groups[start] == 0 {
        start += 1;
        weight -= 1;
    }
    let mut end = groups.len();
    while end > start && groups[end - 1] == 0 {
        end -= 1;
    }
    let digits = &groups[start..end];
    if digits.is_empty() {
        weight = 0;
    }
    out.put_i16(i16::try_from(digits.len()).unwrap_or(0));
    out.put_i16(i16::try_from(weight).unwrap_or(0));
    out.put_u16(if n.signum() < 0 { 0x4000 } else { 0 });
    out.put_u16(u16::try_from(dscale).unwrap_or(0));
    for d in digits {
        out.put_i16(*d);
    }
}

/// Binary input (the typreceive functions).
pub fn decode_binary(b: &[u8], ty: ColType) -> Result<Value> {
    let bad = || {
        SqlError::new(
            code::INVALID_BINARY_REPRESENTATION,
            "incorrect binary data format in bind parameter".to_string(),
        )
    };
    let v =
        match ty.ty {
            Type::Bool => Value::Bool(*b.first().ok_or_else(bad)? != 0),
            Type::Int2 => Value::Int(i64::from(i16::from_be_bytes(
                b.try_into().map_err(|_| bad())?,
            ))),
            Type::Int4 => Value::Int(i64::from(i32::from_be_bytes(
                b.try_into().map_err(|_| bad())?,
            ))),
            Type::Oid => Value::Int(i64::from(u32::from_be_bytes(
                b.try_into().map_err(|_| bad())?,
            ))),
            Type::Int8 | Type::Timestamp | Type::Timestamptz => {
                Value::Int(i64::from_be_bytes(b.try_into().map_err(|_| bad())?))
            }
            Type::Time => {
                let us = i64::from_be_bytes(b.try_into().map_err(|_| bad())?);
                if !(0..=crate::datetime::USECS_PER_DAY).contains(&us) {
                    return Err(SqlError::new("22008", "time out of range"));
                }
                Value::Int(us)
            }
            Type::Interval => Value::Interval(crate::interval::from_bytes(b).ok_or_else(bad)?),
            Type::Date => Value::Int(i64::from(i32::from_be_bytes(
                b.try_into().map_err(|_| bad())?,
            ))),
            Type::Float4 => Value::Float(f64::from(f32::from_be_bytes(
                b.try_into().map_err(|_| bad())?,
            ))),
            Type::Float8 => Value::Float(f64::from_be_bytes(b.try_into().map_err(|_| bad())?)),
            Type::Numeric => Value::Numeric(decode_numeric(b).ok_or_else(bad)?),
            Type::Json | Type::Jsonb => {
                let body = if ty.ty == Type::Jsonb {
                    match b.split_first() {
                        Some((1, rest)) => rest,
                        Some((v, _)) => {
                            return Err(SqlError::new(
                                code::INVALID_BINARY_REPRESENTATION,
                                format!("unsupported jsonb version number {v}"),
                            ))
                        }
                        None => return Err(bad()),
                    }
                } else {
                    b
                };
                let s = std::str::from_utf8(body).map_err(|_| {
                    SqlError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
                })?;
                return parse_text(s, ty);
            }
            Type::Bytea => Value::Bytes(b.to_vec()),
            Type::Uuid => Value::Uuid(b.try_into().map_err(|_| bad())?),
            Type::Array => {
                let want = (ty.typmod >= 0).then(|| ColType::array_elem(ty));
                return decode_binary_array(b, want).unwrap_or_else(|| Err(bad()));
            }
            // An enum's labels live in the catalog: Catalog::decode_binary.
            Type::Enum(oid) => {
                return Err(SqlError::internal(format!(
                    "enum input for type {oid} without its catalog"
                )))
            }
            _ => Value::Text(String::from_utf8(b.to_vec()).map_err(|_| {
                SqlError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
            })?),
        };
    coerce_typmod(v, ty, false)
}

pub(super) fn decode_numeric(b: &[u8]) -> Option<Numeric> {
    let rd = |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
    let ndigits = usize::try_from(rd(0)?).ok()?;
    let weight = i64::from(rd(2)?);
    let sign = u16::from_be_bytes([*b.get(4)?, *b.get(5)?]);
    let dscale = u16::from_be_bytes([*b.get(6)?, *b.get(7)?]);
    if sign == 0xC000 {
        return Some(Numeric::NaN);
    }
    let mut s = String::new();
    for i in 0..ndigits {
        s.push_str(&format!("{:04}", rd(8 + 2 * i)?));
    }
    if s.is_empty() {
        s.push('0');
    }
    // digits represent s * 10000^(weight - ndigits + 1)
    let exp = 4 * (weight - i64::try_from(ndigits).ok()? + 1);
    let text = format!("{}{s}e{exp}", if sign == 0x4000 { "-" } else { "" });
    let n = Numeric::parse(&text).ok()?;
    Some(n.round(i32::from(dscale)))
}
