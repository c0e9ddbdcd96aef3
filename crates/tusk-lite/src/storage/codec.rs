//! Row encoding for the durable store: a version is either a deletion
//! (one byte 0) or a row (1, a u16 column count, then each value tagged).

use crate::error::{Result, SqlError};
use crate::numeric::Numeric;
use crate::types::Value;

pub fn encode_row(row: Option<&[Value]>, out: &mut Vec<u8>) -> Result<()> {
    let Some(row) = row else {
        out.push(0);
        return Ok(());
    };
    out.push(1);
    let n = u16::try_from(row.len()).map_err(|_| SqlError::internal("too many columns"))?;
    out.extend_from_slice(&n.to_be_bytes());
    for v in row {
        match v {
            Value::Null => out.push(0),
            Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
            Value::Int(i) => {
                out.push(2);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Value::Float(f) => {
                out.push(3);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Value::Numeric(n) => bytes(4, n.to_string().as_bytes(), out)?,
            Value::Text(s) => bytes(5, s.as_bytes(), out)?,
            Value::Jsonb(j) => bytes(7, j.to_string().as_bytes(), out)?,
            // An array: 11, a u32 count of chunks, each chunk (at most
            // u16::MAX elements) a row of its own, tagged 12 and
            // length-prefixed.
            Value::Array(items) => {
                out.push(11);
                let chunks = items.chunks(usize::from(u16::MAX));
                let n = u32::try_from(chunks.len())
                    .map_err(|_| SqlError::internal("array too large"))?;
                out.extend_from_slice(&n.to_be_bytes());
                for chunk in chunks {
                    let mut b = Vec::new();
                    encode_row(Some(chunk), &mut b)?;
                    bytes(12, &b, out)?;
                }
            }
            Value::Interval(iv) => {
                out.push(10);
                out.extend_from_slice(&crate::interval::to_bytes(*iv));
            }
            Value::Enum(order, label) => {
                out.push(6);
                out.extend_from_slice(&order.to_bits().to_be_bytes());
                bytes(5, label.as_bytes(), out)?;
            }
            Value::Bytes(b) => bytes(8, b, out)?,
            Value::Uuid(u) => {
                out.push(9);
                out.extend_from_slice(u);
            }
        }
    }
    Ok(())
}

fn bytes(tag: u8, b: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.push(tag);
    let len = u32::try_from(b.len()).map_err(|_| SqlError::internal("value too large"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

fn corrupt() -> SqlError {
    SqlError::new("XX001", "corrupt row in storage")
}

/// Decodes a version: None for a deletion.
pub fn decode_row(b: &[u8]) -> Result<Option<Vec<Value>>> {
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = b.get(pos..pos + n).ok_or_else(corrupt)?;
        pos += n;
        Ok(s)
    };
    match take(1)?[0] {
        0 => return Ok(None),
        1 => {}
        _ => return Err(corrupt()),
    }
    let n = u16::from_be_bytes(take(2)?.try_into().map_err(|_| corrupt())?);
    let mut row = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let v = match take(1)?[0] {
            0 => Value::Null,
            1 => Value::Bool(take(1)?[0] != 0),
            2 => Value::Int(i64::from_be_bytes(
                take(8)?.try_into().map_err(|_| corrupt())?,
            )),
            3 => Value::Float(f64::from_bits(u64::from_be_bytes(
                take(8)?.try_into().map_err(|_| corrupt())?,
            ))),
            t @ (4 | 5 | 7) => {
                let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| corrupt())?);
                let s = std::str::from_utf8(take(usize::try_from(len).map_err(|_| corrupt())?)?)
                    .map_err(|_| corrupt())?
                    .to_string();
                if t == 4 {
                    Value::Numeric(Numeric::parse(&s)?)
                } else if t == 7 {
                    Value::Jsonb(std::sync::Arc::new(crate::json::Jsonb::parse(&s)?))
                } else {
                    Value::Text(s)
                }
            }
            6 => {
                let order = f32::from_bits(u32::from_be_bytes(
                    take(4)?.try_into().map_err(|_| corrupt())?,
                ));
                if take(1)?[0] != 5 {
                    return Err(corrupt());
                }
                let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| corrupt())?);
                let s = std::str::from_utf8(take(usize::try_from(len).map_err(|_| corrupt())?)?)
                    .map_err(|_| corrupt())?;
                Value::Enum(order, s.into())
            }
            8 => {
                let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| corrupt())?);
                Value::Bytes(take(usize::try_from(len).map_err(|_| corrupt())?)?.to_vec())
            }
            9 => Value::Uuid(take(16)?.try_into().map_err(|_| corrupt())?),
            10 => Value::Interval(crate::interval::from_bytes(take(16)?).ok_or_else(corrupt)?),
            11 => {
                let chunks = u32::from_be_bytes(take(4)?.try_into().map_err(|_| corrupt())?);
                let mut items = Vec::new();
                for _ in 0..chunks {
                    if take(1)?[0] != 12 {
                        return Err(corrupt());
                    }
                    let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| corrupt())?);
                    let b = take(usize::try_from(len).map_err(|_| corrupt())?)?;
                    items.extend(decode_row(b)?.ok_or_else(corrupt)?);
                }
                Value::Array(items)
            }
            _ => return Err(corrupt()),
        };
        row.push(v);
    }
    Ok(Some(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let row = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-7),
            Value::Float(1.5),
            Value::Numeric(Numeric::parse("12.340").unwrap()),
            Value::Text("héllo".into()),
            Value::Enum(1.5, "a b".into()),
            Value::Jsonb(std::sync::Arc::new(
                crate::json::Jsonb::parse(r#"{"b": [1.0, "x"], "a": null}"#).unwrap(),
            )),
            Value::Bytes(vec![0, 1, 255]),
            Value::Uuid([7; 16]),
            Value::Interval(crate::interval::Interval::new(-14, 3, -1_500_000)),
            Value::Array(vec![Value::Int(1), Value::Null, Value::Text("x".into())]),
            Value::Array(Vec::new()),
        ];
        let mut b = Vec::new();
        encode_row(Some(&row), &mut b).unwrap();
        assert_eq!(decode_row(&b).unwrap().unwrap(), row);
        let mut d = Vec::new();
        encode_row(None, &mut d).unwrap();
        assert_eq!(decode_row(&d).unwrap(), None);
    }
}
