//! PostgreSQL's `numeric`: arbitrary precision decimal with a display
//! scale, and PostgreSQL's rules for the scale of each operation's result
//! (`src/backend/utils/adt/numeric.c`).

use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt;

use crate::error::{code, Result, SqlError};

/// NUMERIC_MIN_SIG_DIGITS in numeric.c.
const MIN_SIG_DIGITS: i64 = 16;
/// NUMERIC_MAX_DISPLAY_SCALE in numeric.c.
const MAX_DISPLAY_SCALE: i64 = 1000;

/// A finite numeric is `mantissa * 10^-scale`; NaN compares greater than
/// every other value, as in PostgreSQL.
#[derive(Clone, Debug)]
pub enum Numeric {
    Finite { mantissa: BigInt, scale: u32 },
    NaN,
}

fn pow10(n: u32) -> BigInt {
    BigInt::from(10u32).pow(n)
}

impl Numeric {
    pub fn from_i64(v: i64) -> Numeric {
        Numeric::Finite {
            mantissa: BigInt::from(v),
            scale: 0,
        }
    }

    pub fn zero() -> Numeric {
        Numeric::from_i64(0)
    }

    /// Parses numeric input syntax: `[+-]digits[.digits][e[+-]digits]`,
    /// `NaN`, surrounding whitespace allowed.
    pub fn parse(s: &str) -> Result<Numeric> {
        let bad = || {
            SqlError::new(
                code::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type numeric: \"{s}\""),
            )
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("nan") {
            return Ok(Numeric::NaN);
        }
        if t.to_ascii_lowercase().trim_start_matches(['+', '-']) == "infinity" {
            return Err(SqlError::unsupported("numeric infinity"));
        }
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (num, exp) = match body.find(['e', 'E']) {
            Some(i) => {
                let e = &body[i + 1..];
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                // PostgreSQL: an exponent of INT_MAX / 2 or more either way
                // overflows, whatever the digits (0e1073741823 included).
                let e = e.parse::<i64>().ok().filter(|e| e.abs() < 1_073_741_823);
                let e = e.ok_or_else(|| {
                    SqlError::new(
                        code::NUMERIC_VALUE_OUT_OF_RANGE,
                        "value overflows numeric format",
                    )
                })?;
                (&body[..i], e)
            }
            None => (body, 0),
        };
        let (int, frac) = match num.find('.') {
            Some(i) => (&num[..i], &num[i + 1..]),
            None => (num, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let digits = format!("{int}{frac}");
        let mut mantissa: BigInt = digits.parse().map_err(|_| bad())?;
        if neg {
            mantissa = -mantissa;
        }
        let scale = i64::try_from(frac.len())
            .map_err(|_| bad())?
            .saturating_sub(exp);
        // PostgreSQL's limits (make_result): a display scale up to
        // NUMERIC_DSCALE_MAX (16383) and up to 131072 digits before the
        // point (weight NUMERIC_WEIGHT_MAX); zero has no digits.
        let significant = digits.trim_start_matches('0').len();
        let int_digits = i64::try_from(significant)
            .map_err(|_| bad())?
            .saturating_sub(scale);
        if scale > 16383 || (significant > 0 && int_digits > 131_072) {
            return Err(SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ));
        }
        if mantissa.is_zero() && scale < 0 {
            return Ok(Numeric::zero());
        }
        if scale >= 0 {
            Ok(Numeric::Finite {
                mantissa,
                scale: u32::try_from(scale).map_err(|_| bad())?,
            })
        } else {
            let up = u32::try_from(-scale).map_err(|_| bad())?;
            Ok(Numeric::Finite {
                mantissa: mantissa * pow10(up),
                scale: 0,
            })
        }
    }

    pub fn is_nan(&self) -> bool {
        matches!(self, Numeric::NaN)
    }

    pub fn scale(&self) -> u32 {
        match self {
            Numeric::Finite { scale, .. } => *scale,
            Numeric::NaN => 0,
        }
    }

    fn parts(&self) -> Option<(&BigInt, u32)> {
        match self {
            Numeric::Finite { mantissa, scale } => Some((mantissa, *scale)),
            Numeric::NaN => None,
        }
    }

    /// The mantissa rescaled to `scale` (which must be >= the current scale).
    fn mantissa_at(&self, scale: u32) -> BigInt {
        match self {
            Numeric::Finite { mantissa, scale: s } => mantissa * pow10(scale - s),
            Numeric::NaN => BigInt::zero(),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.parts().is_some_and(|(m, _)| m.is_zero())
    }

    pub fn add(&self, other: &Numeric) -> Numeric {
        match (self.parts(), other.parts()) {
            (Some((_, a)), Some((_, b))) => {
                let s = a.max(b);
                Numeric::Finite {
                    mantissa: self.mantissa_at(s) + other.mantissa_at(s),
                    scale: s,
                }
            }
            _ => Numeric::NaN,
        }
    }

    pub fn neg(&self) -> Numeric {
        match self {
            Numeric::Finite { mantissa, scale } => Numeric::Finite {
                mantissa: -mantissa,
                scale: *scale,
            },
            Numeric::NaN => Numeric::NaN,
        }
    }

    pub fn sub(&self, other: &Numeric) -> Numeric {
        self.add(&other.neg())
    }

    pub fn mul(&self, other: &Numeric) -> Numeric {
        match (self.parts(), other.parts()) {
            (Some((a, sa)), Some((b, sb))) => Numeric::Finite {
                mantissa: a * b,
                scale: sa + sb,
            },
            _ => Numeric::NaN,
        }
    }

    /// Base-10000 weight and first digit, as numeric.c's select_div_scale
    /// sees them.
    fn weight_first_digit(&self) -> (i64, i64) {
        let Some((m, scale)) = self.parts() else {
            return (0, 0);
        };
        if m.is_zero() {
            return (0, 0);
        }
        let s = m.abs().to_string();
        let e10 = i64::try_from(s.len()).unwrap_or(i64::MAX) - 1 - i64::from(scale);
        let w = e10.div_euclid(4);
        let ndig = usize::try_from(e10 - 4 * w + 1).unwrap_or(1);
        let mut first = String::new();
        for i in 0..ndig {
            first.push(s.as_bytes().get(i).map(|&b| b as char).unwrap_or('0'));
        }
        (w, first.parse().unwrap_or(0))
    }

    /// Division with numeric.c's result scale (select_div_scale), rounded
    /// half away from zero.
    pub fn div(&self, other: &Numeric) -> Result<Numeric> {
        if other.is_zero() {
            return Err(division_by_zero());
        }
        let (Some((a, sa)), Some((b, sb))) = (self.parts(), other.parts()) else {
            return Ok(Numeric::NaN);
        };
        let (w1, f1) = self.weight_first_digit();
        let (w2, f2) = other.weight_first_digit();
        let mut qweight = w1 - w2;
        if f1 <= f2 {
            qweight -= 1;
        }
        let rscale = (MIN_SIG_DIGITS - qweight * 4)
            .max(i64::from(sa))
            .max(i64::from(sb))
            .clamp(0, MAX_DISPLAY_SCALE);
        let rscale = u32::try_from(rscale).unwrap_or(0);
        Ok(Numeric::Finite {
            mantissa: div_round(&(a * pow10(rscale + sb)), &(b * pow10(sa))),
            scale: rscale,
        })
    }

    /// Division truncated to `scale` digits (no rounding), for div() and mod.
    pub fn div_trunc(&self, other: &Numeric, scale: u32) -> Result<Numeric> {
        if other.is_zero() {
            return Err(division_by_zero());
        }
        let (Some((a, sa)), Some((b, sb))) = (self.parts(), other.parts()) else {
            return Ok(Numeric::NaN);
        };
        Ok(Numeric::Finite {
            mantissa: (a * pow10(scale + sb)) / (b * pow10(sa)),
            scale,
        })
    }

    pub fn rem(&self, other: &Numeric) -> Result<Numeric> {
        let q = self.div_trunc(other, 0)?;
        Ok(self.sub(&q.mul(other)))
    }

    /// Rounds (half away from zero) to `scale` digits after the point;
    /// a negative scale rounds to the left of the point.
    pub fn round(&self, scale: i32) -> Numeric {
        let Some((m, s)) = self.parts() else {
            return Numeric::NaN;
        };
        let target = i64::from(scale);
        if target >= i64::from(s) {
            let t = u32::try_from(target).unwrap_or(0);
            return Numeric::Finite {
                mantissa: m * pow10(t - s),
                scale: t,
            };
        }
        let drop = u32::try_from(i64::from(s) - target).unwrap_or(0);
        let q = div_round(m, &pow10(drop));
        if target >= 0 {
            Numeric::Finite {
                mantissa: q,
                scale: u32::try_from(target).unwrap_or(0),
            }
        } else {
            let up = u32::try_from(-target).unwrap_or(0);
            Numeric::Finite {
                mantissa: q * pow10(up),
                scale: 0,
            }
        }
    }

    /// Truncates toward zero to `scale` digits.
    pub fn trunc(&self, scale: i32) -> Numeric {
        let Some((m, s)) = self.parts() else {
            return Numeric::NaN;
        };
        // A negative scale truncates left of the point: trunc(1234.5, -2)
        // is 1200.
        if scale < 0 {
            let k = pow10(scale.unsigned_abs());
            return Numeric::Finite {
                mantissa: m / pow10(s) / &k * &k,
                scale: 0,
            };
        }
        let target = i64::from(scale.max(0));
        if target >= i64::from(s) {
            return self.round(scale.max(0));
        }
        let drop = u32::try_from(i64::from(s) - target).unwrap_or(0);
        Numeric::Finite {
            mantissa: m / pow10(drop),
            scale: u32::try_from(target).unwrap_or(0),
        }
    }

    /// Applies a `numeric(precision, scale)` type modifier.
    pub fn apply_typmod(&self, precision: u32, scale: u32) -> Result<Numeric> {
        let r = self.round(i32::try_from(scale).unwrap_or(0));
        if let Some((m, _)) = r.parts() {
            let digits = if m.is_zero() {
                0
            } else {
                m.abs().to_string().len()
            };
            let int_digits = digits.saturating_sub(scale as usize);
            if int_digits > precision.saturating_sub(scale) as usize {
                let p = precision;
                return Err(SqlError::new(
                    code::NUMERIC_VALUE_OUT_OF_RANGE,
                    "numeric field overflow",
                )
                .with_detail(format!(
                    "A field with precision {p}, scale {scale} must round to an absolute value less than {}.",
                    if p == scale { "1".to_string() } else { format!("10^{}", p - scale) }
                )));
            }
        }
        Ok(r)
    }

    pub fn to_f64(&self) -> f64 {
        match self {
            Numeric::NaN => f64::NAN,
            n => n.to_string().parse().unwrap_or(f64::NAN),
        }
    }

    /// Rounds to an integer (half away from zero), None when out of i64.
    pub fn to_i64_round(&self) -> Option<i64> {
        match self.round(0) {
            Numeric::Finite { mantissa, .. } => mantissa.to_i64(),
            Numeric::NaN => None,
        }
    }

    /// float8 to numeric as PostgreSQL does it: through "%.15g".
    pub fn from_f64(v: f64) -> Result<Numeric> {
        if v.is_nan() {
            return Ok(Numeric::NaN);
        }
        if v.is_infinite() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "cannot convert infinity to numeric",
            ));
        }
        Numeric::parse(&format_g(v, 15))
    }

    pub fn signum(&self) -> i32 {
        match self {
            Numeric::Finite { mantissa, .. } => match mantissa.sign() {
                Sign::Minus => -1,
                Sign::NoSign => 0,
                Sign::Plus => 1,
            },
            Numeric::NaN => 0,
        }
    }

    pub fn abs(&self) -> Numeric {
        if self.signum() < 0 {
            self.neg()
        } else {
            self.clone()
        }
    }

    pub fn floor(&self) -> Numeric {
        let t = self.trunc(0);
        if self.signum() < 0 && t.cmp_total(self) != Ordering::Equal {
            t.sub(&Numeric::from_i64(1))
        } else {
            t
        }
    }

    pub fn ceil(&self) -> Numeric {
        let t = self.trunc(0);
        if self.signum() > 0 && t.cmp_total(self) != Ordering::Equal {
            t.add(&Numeric::from_i64(1))
        } else {
            t
        }
    }

    /// Total order: NaN after everything, equal to itself.
    pub fn cmp_total(&self, other: &Numeric) -> Ordering {
        match (self, other) {
            (Numeric::NaN, Numeric::NaN) => Ordering::Equal,
            (Numeric::NaN, _) => Ordering::Greater,
            (_, Numeric::NaN) => Ordering::Less,
            (a, b) => {
                let s = a.scale().max(b.scale());
                a.mantissa_at(s).cmp(&b.mantissa_at(s))
            }
        }
    }
}

fn division_by_zero() -> SqlError {
    SqlError::new(code::DIVISION_BY_ZERO, "division by zero")
}

/// a / b rounded half away from zero.
fn div_round(a: &BigInt, b: &BigInt) -> BigInt {
    let q = a / b;
    let r = a - &q * b;
    if (r.abs() * 2u32) >= b.abs() {
        if (a.sign() == Sign::Minus) != (b.sign() == Sign::Minus) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

/// C's `%.{prec}g`.
pub fn format_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let e = format!("{:.*e}", prec.saturating_sub(1), v);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let p = i32::try_from(prec).unwrap_or(15);
    if exp < -4 || exp >= p {
        let mant = trim_frac(mant);
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = usize::try_from(p - 1 - exp).unwrap_or(0);
        trim_frac(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_frac(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Numeric::NaN => f.write_str("NaN"),
            Numeric::Finite { mantissa, scale } => {
                let neg = mantissa.sign() == Sign::Minus;
                let mut digits = mantissa.abs().to_string();
                let scale = *scale as usize;
                if digits.len() <= scale {
                    digits = format!("{}{digits}", "0".repeat(scale + 1 - digits.len()));
                }
                let (int, frac) = digits.split_at(digits.len() - scale);
                if neg && !mantissa.is_zero() {
                    f.write_str("-")?;
                }
                f.write_str(int)?;
                if scale > 0 {
                    write!(f, ".{frac}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(n("1.50").to_string(), "1.50");
        assert_eq!(n("-0.001").to_string(), "-0.001");
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n(".5").to_string(), "0.5");
        assert!(Numeric::parse("abc").is_err());
    }

    #[test]
    fn division_scale_matches_postgres() {
        // SELECT 1::numeric / 3 => 0.33333333333333333333
        assert_eq!(
            n("1").div(&n("3")).unwrap().to_string(),
            "0.33333333333333333333"
        );
        // SELECT 10::numeric / 4 => 2.5000000000000000
        assert_eq!(
            n("10").div(&n("4")).unwrap().to_string(),
            "2.5000000000000000"
        );
        // SELECT 2::numeric / 3 => 0.66666666666666666667
        assert_eq!(
            n("2").div(&n("3")).unwrap().to_string(),
            "0.66666666666666666667"
        );
        // SELECT 12345.678::numeric / 7 => 1763.6682857142857143
        assert_eq!(
            n("12345.678").div(&n("7")).unwrap().to_string(),
            "1763.6682857142857143"
        );
    }

    #[test]
    fn g_format() {
        assert_eq!(format_g(0.1, 15), "0.1");
        assert_eq!(format_g(1e20, 15), "1e+20");
        assert_eq!(format_g(123.456, 15), "123.456");
    }
}
