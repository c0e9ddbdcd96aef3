//! Memcomparable key encoding: byte order equals the values' SQL order
//! (for integers, floats, booleans and text), so a B-tree or LSM orders
//! rows by primary key.

use crate::types::Value;

/// The longest key (a primary key's encoded values, or an index entry's
/// indexed values) a row may have: the store keeps keys under 64 KiB
/// (table prefix, index values, row key and version together). PostgreSQL
/// limits a btree entry to 2704 bytes after compression; longer keys here
/// fail as there, with 54000.
pub const MAX_KEY: usize = 30_000;

/// The error for a key longer than [`MAX_KEY`] in index `index`.
pub fn key_too_long(len: usize, index: &str) -> crate::error::SqlError {
    crate::error::SqlError::new(
        crate::error::code::PROGRAM_LIMIT_EXCEEDED,
        format!("index row size {len} exceeds maximum {MAX_KEY} for index \"{index}\""),
    )
}

/// Appends the memcomparable encoding of `v` to `out`.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xFF),
        // An array keys its elements in order, then 0: a prefix sorts
        // first, as PostgreSQL orders arrays (element-wise, then length).
        Value::Array(items) => {
            out.push(2);
            for i in items {
                encode(i, out);
            }
            out.push(0);
        }
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Int(i) => {
            out.push(1);
            out.extend_from_slice(&(i.cast_unsigned() ^ (1 << 63)).to_be_bytes());
        }
        Value::Float(f) => {
            out.push(1);
            // Equal floats key equally, as PostgreSQL compares them: -0
            // is 0, and every NaN is one NaN (sorting after Infinity).
            let f = if *f == 0.0 {
                0.0
            } else if f.is_nan() {
                f64::NAN
            } else {
                *f
            };
            let bits = f.to_bits();
            let k = if f.is_sign_negative() {
                !bits
            } else {
                bits | (1 << 63)
            };
            out.extend_from_slice(&k.to_be_bytes());
        }
        Value::Numeric(n) => {
            // Canonical text: equal values encode equally (ordering of
            // numeric keys is not the byte order; range scans sort).
            out.push(1);
            let s = n.to_string();
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            };
            escape(s.as_bytes(), out);
        }
        Value::Text(s) => {
            out.push(1);
            escape(s.as_bytes(), out);
        }
        // jsonb: a canonical form (equal values encode equally; ordering
        // is not the byte order: range scans sort).
        Value::Jsonb(j) => {
            out.push(1);
            let mut b = Vec::new();
            j.key_bytes(&mut b);
            escape(&b, out);
        }
        // bytea orders as memcmp (the escaping keeps that order).
        Value::Bytes(b) => {
            out.push(1);
            escape(b, out);
        }
        Value::Uuid(u) => {
            out.push(1);
            out.extend_from_slice(u);
        }
        // Intervals order (and are equal) by their span, a month as 30
        // days and a day as 24 hours (interval_cmp_value).
        Value::Interval(iv) => {
            out.push(1);
            let k = iv.span().cast_unsigned() ^ (1 << 127);
            out.extend_from_slice(&k.to_be_bytes());
        }
        // Enums order (and are equal) by their label's sort order.
        Value::Enum(order, _) => {
            out.push(1);
            let bits = order.to_bits();
            let k = if order.is_sign_negative() {
                !bits
            } else {
                bits | (1 << 31)
            };
            out.extend_from_slice(&k.to_be_bytes());
        }
    }
}

fn escape(b: &[u8], out: &mut Vec<u8>) {
    for &c in b {
        if c == 0 {
            out.extend_from_slice(&[0, 0xFF]);
        } else {
            out.push(c);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// The key of a row under a primary key over `cols`.
pub fn row_key(row: &[Value], cols: &[usize]) -> Vec<u8> {
    let mut k = Vec::with_capacity(cols.len() * 9);
    for &c in cols {
        encode(&row[c], &mut k);
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_order_is_byte_order() {
        let vals = [-5i64, -1, 0, 1, 1000];
        let keys: Vec<Vec<u8>> = vals
            .iter()
            .map(|v| {
                let mut k = Vec::new();
                encode(&Value::Int(*v), &mut k);
                k
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}
