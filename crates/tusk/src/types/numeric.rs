use bytes::{BufMut, BytesMut};
use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use std::error::Error;
use std::fmt;
use std::str::FromStr;

type BoxError = Box<dyn Error + Sync + Send>;

const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;

/// An exact NUMERIC value, kept as its decimal text with the server's scale
/// ("12345.678900", "-0.5", "NaN", "Infinity", "-Infinity").
///
/// No arbitrary-precision arithmetic: convert to your decimal crate of
/// choice with `to_string()`/`parse()`, or use the `with-rust_decimal-1`
/// feature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Numeric(String);

/// The text is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid numeric value {0:?}")]
pub struct ParseNumericError(String);

impl Numeric {
    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True for NaN.
    pub fn is_nan(&self) -> bool {
        self.0 == "NaN"
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Numeric {
    type Err = ParseNumericError;
    fn from_str(s: &str) -> Result<Numeric, ParseNumericError> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "nan" => return Ok(Numeric("NaN".into())),
            "infinity" | "+infinity" | "inf" => return Ok(Numeric("Infinity".into())),
            "-infinity" | "-inf" => return Ok(Numeric("-Infinity".into())),
            _ => {}
        }
        let err = || ParseNumericError(s.to_string());
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        // An exponent ("1E+3", "2.5e-7", as Python's Decimal and float
        // print them) moves the point, as the server's numeric_in does.
        let (body, exp) = match body.split_once(['e', 'E']) {
            Some((b, e)) => {
                let e: i64 = e.parse().map_err(|_| err())?;
                // Far beyond what the server stores (131072 digits before
                // the point, 16383 after): refuse before allocating.
                if e.unsigned_abs() > 1_000_000 {
                    return Err(err());
                }
                (b, e)
            }
            None => (body, 0),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let shifted;
        let (int, frac) = if exp == 0 {
            (int, frac)
        } else {
            let digits = format!("{int}{frac}");
            #[allow(clippy::cast_possible_wrap)]
            let point = int.len() as i64 + exp;
            shifted = if point <= 0 {
                #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
                let zeros = "0".repeat((-point) as usize);
                (String::new(), format!("{zeros}{digits}"))
            } else {
                #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
                let point = point as usize;
                if point >= digits.len() {
                    let zeros = "0".repeat(point - digits.len());
                    (format!("{digits}{zeros}"), String::new())
                } else {
                    (digits[..point].to_string(), digits[point..].to_string())
                }
            };
            (shifted.0.as_str(), shifted.1.as_str())
        };
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        let zero = int == "0" && frac.bytes().all(|b| b == b'0');
        let mut out = String::with_capacity(t.len() + 1);
        if neg && !zero {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        Ok(Numeric(out))
    }
}

fn read_u16(b: &[u8], at: usize) -> Result<u16, BoxError> {
    b.get(at..at + 2)
        .map(|x| u16::from_be_bytes([x[0], x[1]]))
        .ok_or_else(|| "truncated numeric".into())
}

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Numeric, BoxError> {
        let ndigits = usize::from(read_u16(raw, 0)?);
        let weight = i32::from(read_u16(raw, 2)?.cast_signed());
        let sign = read_u16(raw, 4)?;
        let dscale = usize::from(read_u16(raw, 6)?);
        match sign {
            NAN => return Ok(Numeric("NaN".into())),
            PINF => return Ok(Numeric("Infinity".into())),
            NINF => return Ok(Numeric("-Infinity".into())),
            POS | NEG => {}
            _ => return Err("invalid numeric sign".into()),
        }
        if raw.len() != 8 + 2 * ndigits {
            return Err("invalid numeric length".into());
        }
        let mut digits = Vec::with_capacity(ndigits);
        for i in 0..ndigits {
            let d = read_u16(raw, 8 + 2 * i)?;
            if d > 9999 {
                return Err("invalid numeric digit".into());
            }
            digits.push(d);
        }
        let group = |i: i32| -> u16 {
            usize::try_from(i)
                .ok()
                .and_then(|i| digits.get(i).copied())
                .unwrap_or(0)
        };
        let mut s = String::new();
        if sign == NEG && digits.iter().any(|d| *d != 0) {
            s.push('-');
        }
        if weight < 0 {
            s.push('0');
        } else {
            for i in 0..=weight {
                if i == 0 {
                    s.push_str(&group(i).to_string());
                } else {
                    s.push_str(&format!("{:04}", group(i)));
                }
            }
        }
        if dscale > 0 {
            s.push('.');
            let mut frac = String::with_capacity(dscale + 4);
            let mut i = weight + 1;
            while frac.len() < dscale {
                frac.push_str(&format!("{:04}", group(i)));
                i += 1;
            }
            frac.truncate(dscale);
            s.push_str(&frac);
        }
        Ok(Numeric(s))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl ToSql for Numeric {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let s = self.0.as_str();
        let (sign, special) = match s {
            "NaN" => (NAN, true),
            "Infinity" => (PINF, true),
            "-Infinity" => (NINF, true),
            _ if s.starts_with('-') => (NEG, false),
            _ => (POS, false),
        };
        if special {
            out.put_u16(0);
            out.put_u16(0);
            out.put_u16(sign);
            out.put_u16(0);
            return Ok(IsNull::No);
        }
        let body = s.trim_start_matches('-');
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let dscale = u16::try_from(frac.len()).map_err(|_| "numeric scale too large")?;
        // Left-pad the integer part and right-pad the fraction to groups of 4.
        let int_pad = (4 - int.len() % 4) % 4;
        let frac_pad = (4 - frac.len() % 4) % 4;
        let mut all = String::with_capacity(int.len() + frac.len() + 8);
        all.extend(std::iter::repeat_n('0', int_pad));
        all.push_str(int);
        all.push_str(frac);
        all.extend(std::iter::repeat_n('0', frac_pad));
        let mut groups: Vec<u16> = all
            .as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0')))
            .collect();
        let int_groups = (int.len() + int_pad) / 4;
        let mut weight = i32::try_from(int_groups).map_err(|_| "numeric too large")? - 1;
        // Strip leading zero groups (adjusting the weight) and trailing ones.
        let lead = groups.iter().take_while(|g| **g == 0).count();
        groups.drain(..lead);
        weight -= i32::try_from(lead).map_err(|_| "numeric too large")?;
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            weight = 0;
        }
        out.put_u16(u16::try_from(groups.len()).map_err(|_| "numeric too large")?);
        out.put_i16(i16::try_from(weight).map_err(|_| "numeric too large")?);
        out.put_u16(if groups.is_empty() { POS } else { sign });
        out.put_u16(dscale);
        for g in groups {
            out.put_u16(g);
        }
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exponents_as_the_server_does() {
        let p = |s: &str| s.parse::<Numeric>().unwrap().to_string();
        assert_eq!(p("1E+3"), "1000");
        assert_eq!(p("1.5e3"), "1500");
        assert_eq!(p("-2.5E-3"), "-0.0025");
        assert_eq!(p("0E-7"), "0.0000000");
        assert_eq!(p("0.001E+5"), "100");
        assert_eq!(p("12.34e1"), "123.4");
        assert_eq!(p("1e+20"), "100000000000000000000");
        assert!("1e".parse::<Numeric>().is_err());
        assert!("e5".parse::<Numeric>().is_err());
        assert!("1e99999999999".parse::<Numeric>().is_err());
    }

    fn round(s: &str) -> String {
        let n: Numeric = s.parse().unwrap();
        let mut b = BytesMut::new();
        n.to_sql(&Type::NUMERIC, &mut b).unwrap();
        Numeric::from_sql(&Type::NUMERIC, &b).unwrap().0
    }

    #[test]
    fn round_trips_keep_digits_and_scale() {
        for s in [
            "0",
            "1",
            "-1",
            "12345.678900",
            "0.0001",
            "-0.5",
            "10000",
            "99999999",
            "1.10",
            "0.000000001",
            "123456789012345678901234567890.123456789",
            "NaN",
            "Infinity",
            "-Infinity",
            "0.00",
        ] {
            assert_eq!(round(s), s, "{s}");
        }
        assert_eq!(round("-0.00"), "0.00");
        assert_eq!(round("007.50"), "7.50");
    }

    #[test]
    fn parse_rejects_garbage() {
        for s in ["", "abc", "1.2.3", "--1", "1e", "."] {
            assert!(s.parse::<Numeric>().is_err(), "{s}");
        }
    }

    #[test]
    fn decode_rejects_malformed_bytes() {
        assert!(Numeric::from_sql(&Type::NUMERIC, &[0, 1]).is_err());
        assert!(Numeric::from_sql(&Type::NUMERIC, &[0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Numeric::from_sql(&Type::NUMERIC, &[0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff]).is_err());
        assert!(Numeric::from_sql(&Type::NUMERIC, &[0, 0, 0, 0, 0x12, 0x34, 0, 0]).is_err());
    }
}
