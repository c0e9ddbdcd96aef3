//! Decoding a [`Value`](super::Value) from a column's binary form, by its
//! type: built-in types, arrays, composites, ranges and multiranges, with
//! a nesting bound.

use super::*;

/// Nesting deeper than this is refused (a malicious or corrupt value).
const MAX_DEPTH: usize = 100;

fn text(raw: &[u8], o: DecodeOptions) -> Result<Value, BoxError> {
    Ok(Value::Text(utf8(raw, o)?))
}

fn utf8(raw: &[u8], o: DecodeOptions) -> Result<String, BoxError> {
    Ok(if o.lossy_text {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        std::str::from_utf8(raw)?.to_string()
    })
}

fn json(raw: &[u8], o: DecodeOptions) -> Result<Value, BoxError> {
    Ok(if o.json_text {
        Value::JsonText(utf8(raw, o)?)
    } else {
        Value::Json(serde_json::from_slice(raw)?)
    })
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

pub(super) fn binary_ok_at(ty: &Type, depth: usize) -> bool {
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
pub(super) fn decode(
    ty: &Type,
    raw: &[u8],
    depth: usize,
    o: DecodeOptions,
) -> Result<Value, BoxError> {
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
            text(raw, o)?
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
        Type::JSON => json(raw, o)?,
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => json(rest, o)?,
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
                // `to_jsonb` writes the offset before the era: `...+00:00 BC`.
                let at = s.strip_suffix(" BC").map_or(s.len(), str::len);
                s.insert_str(at, "+00:00");
            }
            Value::TimestampTz(s)
        }
        Type::INTERVAL => {
            let micros = i64::from_be_bytes(be::<8>(raw.get(..8).ok_or("short interval")?)?);
            let days = i32::from_be_bytes(be::<4>(raw.get(8..12).ok_or("short interval")?)?);
            let months = i32::from_be_bytes(be::<4>(raw.get(12..).ok_or("short interval")?)?);
            Value::Interval(Interval::new(months, days, micros))
        }
        Type::INET | Type::CIDR => Value::Text(super::inet::format(raw, *ty == Type::CIDR)?),
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
        Type::RECORD => decode_record(None, raw, depth, o)?,
        _ => match ty.kind() {
            Kind::Enum(_) => Value::Enum(utf8(raw, o)?),
            Kind::Domain(base) => decode(base, raw, depth + 1, o)?,
            Kind::Array(elem) => decode_array(elem, raw, depth, o)?,
            Kind::Composite(fields) => decode_record(Some(fields), raw, depth, o)?,
            Kind::Range(sub) => Value::Range(Box::new(decode_range(sub, raw, depth, o)?)),
            Kind::Multirange(sub) => {
                let mut buf = raw;
                let n = take_i32(&mut buf)?;
                let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1024));
                for _ in 0..n {
                    let len = usize::try_from(take_i32(&mut buf)?)?;
                    let (r, rest) = buf.split_at_checked(len).ok_or("short multirange")?;
                    out.push(decode_range(sub, r, depth, o)?);
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
            Kind::Simple if ty.name() == "citext" => text(raw, o)?,
            Kind::Simple if matches!(ty.name(), "ltree" | "lquery" | "ltxtquery") => {
                match raw.split_first() {
                    Some((1, rest)) => text(rest, o)?,
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

fn decode_array(
    elem: &Type,
    raw: &[u8],
    depth: usize,
    o: DecodeOptions,
) -> Result<Value, BoxError> {
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
            Some(b) => decode(elem, b, depth + 1, o)?,
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
    o: DecodeOptions,
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
            decode(&ty, b, depth + 1, o)?
        };
        out.push((name, v));
    }
    Ok(Value::Composite(out))
}

fn decode_range(sub: &Type, raw: &[u8], depth: usize, o: DecodeOptions) -> Result<Range, BoxError> {
    let bound = |b: wire::RangeBound<Option<&[u8]>>| -> Result<(Option<Value>, bool), BoxError> {
        Ok(match b {
            wire::RangeBound::Inclusive(v) => (
                Some(v.map_or(Ok(Value::Null), |v| decode(sub, v, depth + 1, o))?),
                true,
            ),
            wire::RangeBound::Exclusive(v) => (
                Some(v.map_or(Ok(Value::Null), |v| decode(sub, v, depth + 1, o))?),
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
