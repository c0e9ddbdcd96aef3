//! uuid's text form as PostgreSQL 15 reads it (upper or lower case, with
//! or without braces, hyphens after any group of four digits) and writes
//! it (lower case, 8-4-4-4-12).

use crate::error::{code, Result, SqlError};

/// uuid_in.
pub fn parse_uuid(s: &str) -> Result<[u8; 16]> {
    let bad = || {
        SqlError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type uuid: \"{s}\""),
        )
    };
    let mut src = s.as_bytes();
    let braces = src.first() == Some(&b'{');
    if braces {
        src = &src[1..];
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let (Some(hi), Some(lo)) = (
            src.first().and_then(|c| char::from(*c).to_digit(16)),
            src.get(1).and_then(|c| char::from(*c).to_digit(16)),
        ) else {
            return Err(bad());
        };
        *byte = u8::try_from(hi * 16 + lo).map_err(|_| bad())?;
        src = &src[2..];
        if src.first() == Some(&b'-') && i % 2 == 1 && i < 15 {
            src = &src[1..];
        }
    }
    if braces {
        if src.first() != Some(&b'}') {
            return Err(bad());
        }
        src = &src[1..];
    }
    if !src.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// uuid_out.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let h = super::bytea::hex_encode(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// gen_random_uuid(): a version 4 UUID from the operating system's
/// random source.
pub fn random_uuid() -> Result<[u8; 16]> {
    let mut u = [0u8; 16];
    getrandom::getrandom(&mut u)
        .map_err(|e| SqlError::internal(format!("could not generate random values: {e}")))?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_postgres_accepts() {
        let want = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for s in [
            want,
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        ] {
            assert_eq!(format_uuid(&parse_uuid(s).unwrap()), want, "{s}");
        }
        for s in [
            "",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0e-ebc99",
        ] {
            assert!(parse_uuid(s).is_err(), "{s}");
        }
        let r = random_uuid().unwrap();
        assert_eq!(r[6] >> 4, 4);
    }
}
