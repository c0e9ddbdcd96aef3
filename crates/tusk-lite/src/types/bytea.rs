//! bytea's text forms as PostgreSQL 15 reads and writes them (byteain,
//! byteaout with bytea_output = hex) and the encodings of encode() and
//! decode() (hex, base64, escape), with PostgreSQL's errors.

use crate::error::{code, Result, SqlError};

/// byteaout with bytea_output = hex: `\x` then two lower-case digits a byte.
pub fn format_bytea(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("\\x");
    s.push_str(&hex_encode(b));
    s
}

/// byteain: the hex format (`\x...`) or the escape format (`\\`,
/// `\ooo`, other bytes as they are).
pub fn parse_bytea(s: &str) -> Result<Vec<u8>> {
    if let Some(hex) = s.strip_prefix("\\x") {
        return hex_decode(hex);
    }
    escape_decode(s)
}

fn bad_bytea() -> SqlError {
    SqlError::new(
        code::INVALID_TEXT_REPRESENTATION,
        "invalid input syntax for type bytea",
    )
}

fn is_octal(c: u8) -> bool {
    (b'0'..=b'7').contains(&c)
}

/// The escape format (byteain's and decode(..., 'escape')'s): a backslash
/// starts `\\` or three octal digits, the first at most 3.
fn escape_decode(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && is_octal(b[i + 2])
            && is_octal(b[i + 3])
        {
            out.push(((b[i + 1] - b'0') << 6) | ((b[i + 2] - b'0') << 3) | (b[i + 3] - b'0'));
            i += 4;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            return Err(bad_bytea());
        }
    }
    Ok(out)
}

/// encode(..., 'escape'): NUL and high-bit bytes as `\ooo`, a backslash
/// doubled, everything else as it is.
fn escape_encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c == 0 || c >= 0x80 {
            s.push_str(&format!("\\{c:03o}"));
        } else if c == b'\\' {
            s.push_str("\\\\");
        } else {
            s.push(char::from(c));
        }
    }
    s
}

pub fn hex_encode(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * b.len());
    for &c in b {
        s.push(char::from(DIGITS[usize::from(c >> 4)]));
        s.push(char::from(DIGITS[usize::from(c & 15)]));
    }
    s
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The character starting at byte `i` of `s` (for error messages).
fn char_at(s: &str, i: usize) -> String {
    s.get(i..)
        .and_then(|r| r.chars().next())
        .map(String::from)
        .unwrap_or_default()
}

/// hex_decode: pairs of hex digits, blanks (space, tab, CR, LF) between
/// pairs skipped.
fn hex_decode(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    let bad_digit = |i: usize| {
        SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("invalid hexadecimal digit: \"{}\"", char_at(s, i)),
        )
    };
    while i < b.len() {
        if matches!(b[i], b' ' | b'\n' | b'\t' | b'\r') {
            i += 1;
            continue;
        }
        let hi = hex_digit(b[i]).ok_or_else(|| bad_digit(i))?;
        i += 1;
        if i >= b.len() {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "invalid hexadecimal data: odd number of digits",
            ));
        }
        let lo = hex_digit(b[i]).ok_or_else(|| bad_digit(i))?;
        i += 1;
        out.push((hi << 4) | lo);
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// b64_encode: lines of 76 characters joined by newlines.
fn base64_encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 4 / 3 + 4);
    let mut line = 0;
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (k, c)| acc | (u32::from(*c) << (16 - 8 * k)));
        let sym = |shift: u32| char::from(B64[usize::try_from((n >> shift) & 63).unwrap_or(0)]);
        if line >= 76 {
            s.push('\n');
            line = 0;
        }
        s.push(sym(18));
        s.push(sym(12));
        s.push(if chunk.len() > 1 { sym(6) } else { '=' });
        s.push(if chunk.len() > 2 { sym(0) } else { '=' });
        line += 4;
    }
    s
}

/// b64_decode, as PostgreSQL reads it: blanks skipped, `=` only in the
/// last group.
fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() * 3 / 4);
    let (mut buf, mut pos, mut end) = (0u32, 0, 0);
    for (i, &c) in b.iter().enumerate() {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        let v = if c == b'=' {
            if end == 0 {
                end = match pos {
                    2 => 1,
                    3 => 2,
                    _ => {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            "unexpected \"=\" while decoding base64 sequence",
                        ))
                    }
                };
            }
            0
        } else {
            match B64.iter().position(|x| *x == c) {
                Some(p) => u32::try_from(p).unwrap_or(0),
                None => {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "invalid symbol \"{}\" found while decoding base64 sequence",
                            char_at(s, i)
                        ),
                    ))
                }
            }
        };
        buf = (buf << 6) + v;
        pos += 1;
        if pos == 4 {
            let [_, x, y, z] = buf.to_be_bytes();
            out.push(x);
            if end == 0 || end > 1 {
                out.push(y);
            }
            if end == 0 || end > 2 {
                out.push(z);
            }
            buf = 0;
            pos = 0;
        }
    }
    if pos != 0 {
        return Err(
            SqlError::new(code::INVALID_PARAMETER_VALUE, "invalid base64 end sequence").with_hint(
                "Input data is missing padding, is truncated, or is otherwise corrupted.",
            ),
        );
    }
    Ok(out)
}

fn unknown_encoding(name: &str) -> SqlError {
    SqlError::new(
        code::INVALID_PARAMETER_VALUE,
        format!("unrecognized encoding: \"{name}\""),
    )
}

/// encode(bytes, format).
pub fn encode(b: &[u8], format: &str) -> Result<String> {
    Ok(match format.to_ascii_lowercase().as_str() {
        "hex" => hex_encode(b),
        "base64" => base64_encode(b),
        "escape" => escape_encode(b),
        _ => return Err(unknown_encoding(format)),
    })
}

/// decode(text, format).
pub fn decode(s: &str, format: &str) -> Result<Vec<u8>> {
    match format.to_ascii_lowercase().as_str() {
        "hex" => hex_decode(s),
        "base64" => base64_decode(s),
        "escape" => escape_decode(s),
        _ => Err(unknown_encoding(format)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        assert_eq!(parse_bytea("\\x0102ff").unwrap(), vec![1, 2, 255]);
        assert_eq!(parse_bytea("\\x01 02\n").unwrap(), vec![1, 2]);
        assert_eq!(parse_bytea("a\\001\\\\").unwrap(), b"a\x01\\".to_vec());
        assert!(parse_bytea("\\x1").is_err());
        assert!(parse_bytea("\\9").is_err());
        assert_eq!(format_bytea(&[0xde, 0xad]), "\\xdead");
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0u8, 255, 128][..]] {
            for f in ["hex", "base64", "escape"] {
                assert_eq!(decode(&encode(data, f).unwrap(), f).unwrap(), data, "{f}");
            }
        }
        assert_eq!(encode(b"hello", "base64").unwrap(), "aGVsbG8=");
        assert_eq!(
            encode(&[0; 60], "base64")
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .len(),
            76
        );
    }
}
