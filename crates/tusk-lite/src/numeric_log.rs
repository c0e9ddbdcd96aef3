//! exp, ln and log of `numeric`, with the result scales PostgreSQL 15
//! picks (numeric.c: numeric_exp, numeric_ln, log_var and
//! estimate_ln_dweight). Values are computed in fixed point with guard
//! digits (square-root range reduction and an atanh series for ln, halving
//! and a Taylor series for exp), then rounded half away from zero.

use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive, Zero};

use crate::error::{code, Result, SqlError};
use crate::numeric::Numeric;

/// NUMERIC_MIN_SIG_DIGITS, NUMERIC_MAX_DISPLAY_SCALE and
/// NUMERIC_MAX_RESULT_SCALE in numeric.c.
const MIN_SIG_DIGITS: i64 = 16;
const MAX_DISPLAY_SCALE: i64 = 1000;
const MAX_RESULT_SCALE: f64 = 2000.0;
/// numeric_exp's log10(e), as numeric.c writes it (one ulp off the true
/// value, which the result scale depends on).
#[allow(clippy::approx_constant)]
const PG_LOG10_E: f64 = 0.434_294_481_903_252;

fn pow10(n: u32) -> BigInt {
    BigInt::from(10u32).pow(n)
}

fn log_error(msg: &str) -> SqlError {
    SqlError::new("2201E", msg.to_string())
}

/// The number of decimal digits of a positive integer.
fn ndigits(m: &BigInt) -> i64 {
    i64::try_from(m.abs().to_string().len()).unwrap_or(0)
}

/// `m * 10^(e)` for any sign of `e` (truncating).
fn shift10(m: &BigInt, e: i64) -> BigInt {
    let n = u32::try_from(e.unsigned_abs()).unwrap_or(u32::MAX);
    if e >= 0 {
        m * pow10(n)
    } else {
        m / pow10(n)
    }
}

/// The decimal exponent of the first significant digit of `m / 10^s`.
fn dexp(m: &BigInt, s: u32) -> i64 {
    ndigits(m) - i64::from(s) - 1
}

/// estimate_ln_dweight: the decimal weight of ln(v), v = m / 10^s > 0.
fn estimate_ln_dweight(m: &BigInt, s: u32) -> i64 {
    let one = pow10(s);
    // 0.9 <= v <= 1.1: ln(v) ~ v - 1.
    if m * 10 >= &one * 9 && m * 10 <= &one * 11 {
        let x = m - &one;
        return if x.is_zero() { 0 } else { dexp(&x, s) };
    }
    // The first one or two base-10000 digits of v and their weight.
    let p = dexp(m, s);
    let w = p.div_euclid(4);
    let scaled = shift10(m, -(i64::from(s) + 4 * w)); // floor(v / 10000^w)
    let d0 = scaled.to_f64().unwrap_or(1.0);
    let rest = m - shift10(&scaled, i64::from(s) + 4 * w);
    let (digits, dweight) = if rest.is_zero() {
        (d0, 4 * w)
    } else {
        let two = shift10(m, -(i64::from(s) + 4 * w - 4));
        (two.to_f64().unwrap_or(1.0), 4 * w - 4)
    };
    #[allow(clippy::cast_possible_truncation)]
    // C's (int) of a small double, as numeric.c computes it.
    let r = (digits.ln() + dweight as f64 * std::f64::consts::LN_10)
        .abs()
        .log10() as i64;
    r
}

fn clamp_scale(rscale: i64) -> u32 {
    u32::try_from(rscale.clamp(0, MAX_DISPLAY_SCALE)).unwrap_or(0)
}

/// ln(m / 10^s) * 10^p in fixed point (m > 0).
fn ln_fixed(m: &BigInt, s: u32, p: u32) -> BigInt {
    let one = pow10(p);
    // v = a * 10^e with a in [1, 10).
    let e = dexp(m, s);
    let mut a = shift10(m, i64::from(p) - i64::from(s) - e);
    let mut k = 0u32;
    let near = &one * 101 / 100;
    while a > near {
        a = (&a * &one).sqrt();
        k += 1;
    }
    let mut ln = atanh_ln(&a, &one) << k;
    if e != 0 {
        let mut ten: BigInt = &one * 10;
        let mut j = 0u32;
        while ten > near {
            ten = (&ten * &one).sqrt();
            j += 1;
        }
        ln += (atanh_ln(&ten, &one) << j) * e;
    }
    ln
}

/// ln(a) for a near 1 (fixed point, `one` = 1): 2 atanh((a-1)/(a+1)).
fn atanh_ln(a: &BigInt, one: &BigInt) -> BigInt {
    let z = (a - one) * one / (a + one);
    let z2 = &z * &z / one;
    let mut term = z;
    let mut sum = BigInt::zero();
    let mut n = 1u32;
    while !term.is_zero() {
        sum += &term / n;
        term = term * &z2 / one;
        n += 2;
    }
    sum * 2
}

/// Rounds a fixed-point value with `p` digits to `scale` digits, half away
/// from zero.
fn round_to(v: &BigInt, p: u32, scale: u32) -> Numeric {
    let d = pow10(p - scale);
    let q = v / &d;
    let r = v - &q * &d;
    let q = if r.abs() * 2 >= d {
        if v.is_negative() {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    };
    Numeric::Finite { mantissa: q, scale }
}

/// The positive finite parts of a logarithm's argument, or its error.
fn log_arg(n: &Numeric) -> Result<Option<(BigInt, u32)>> {
    match n {
        Numeric::NaN => Ok(None),
        Numeric::Finite { mantissa, scale } => {
            if mantissa.is_zero() {
                Err(log_error("cannot take logarithm of zero"))
            } else if mantissa.is_negative() {
                Err(log_error("cannot take logarithm of a negative number"))
            } else {
                Ok(Some((mantissa.clone(), *scale)))
            }
        }
    }
}

/// ln(numeric).
pub fn ln(n: &Numeric) -> Result<Numeric> {
    let Some((m, s)) = log_arg(n)? else {
        return Ok(Numeric::NaN);
    };
    let dweight = estimate_ln_dweight(&m, s);
    let rscale = clamp_scale((MIN_SIG_DIGITS - dweight).max(i64::from(s)));
    let guard = 20 + u32::try_from(ndigits(&BigInt::from(dexp(&m, s)))).unwrap_or(0);
    let p = rscale + guard;
    Ok(round_to(&ln_fixed(&m, s, p), p, rscale))
}

/// log(base, numeric) (log(x) and log10(x) are log(10, x)).
pub fn log(base: &Numeric, n: &Numeric) -> Result<Numeric> {
    let b = log_arg(base)?;
    let x = log_arg(n)?;
    let (Some((bm, bs)), Some((m, s))) = (b, x) else {
        return Ok(Numeric::NaN);
    };
    let base_dw = estimate_ln_dweight(&bm, bs);
    let num_dw = estimate_ln_dweight(&m, s);
    let result_dw = num_dw - base_dw;
    let rscale = clamp_scale(
        (MIN_SIG_DIGITS - result_dw)
            .max(i64::from(bs))
            .max(i64::from(s)),
    );
    let extra = |m: &BigInt, s: u32| u32::try_from(ndigits(&BigInt::from(dexp(m, s)))).unwrap_or(0);
    let p = rscale
        + 30
        + u32::try_from(result_dw.unsigned_abs()).unwrap_or(0)
        + extra(&bm, bs)
        + extra(&m, s);
    let ln_b = ln_fixed(&bm, bs, p);
    if ln_b.is_zero() {
        return Err(SqlError::new(code::DIVISION_BY_ZERO, "division by zero"));
    }
    let ln_x = ln_fixed(&m, s, p);
    // (ln_x / ln_b) at p digits: ln_x * 10^p / ln_b.
    let q = ln_x * pow10(p) / ln_b;
    Ok(round_to(&q, p, rscale))
}

/// exp(numeric).
pub fn exp(n: &Numeric) -> Result<Numeric> {
    let Numeric::Finite { mantissa, scale } = n else {
        return Ok(Numeric::NaN);
    };
    let x = n.to_f64();
    let val = (x * PG_LOG10_E).clamp(-MAX_RESULT_SCALE, MAX_RESULT_SCALE);
    #[allow(clippy::cast_possible_truncation)]
    // Clamped to +-2000 just above: C's (int) conversion.
    let rscale = clamp_scale((MIN_SIG_DIGITS - val as i64).max(i64::from(*scale)));
    if x.abs() >= MAX_RESULT_SCALE * 3.0 {
        if x > 0.0 {
            return Err(SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ));
        }
        return Ok(Numeric::Finite {
            mantissa: BigInt::zero(),
            scale: rscale,
        });
    }
    // Halve x until it is below 0.01, sum the series, square back.
    let mut k = 0u32;
    let mut h = x.abs();
    while h >= 0.01 {
        h /= 2.0;
        k += 1;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // x is below 6000 here: its decimal weight is small and positive.
    let weight = (x * PG_LOG10_E).max(0.0).ceil() as u32;
    let p = rscale + 20 + weight + k;
    let one = pow10(p);
    let xf = shift10(mantissa, i64::from(p) - i64::from(*scale));
    let r = xf >> k;
    let mut sum = one.clone();
    let mut term = one.clone();
    let mut i = 1u32;
    loop {
        term = term * &r / &one / i;
        if term.is_zero() {
            break;
        }
        sum += &term;
        i += 1;
    }
    for _ in 0..k {
        sum = &sum * &sum / &one;
    }
    Ok(round_to(&sum, p, rscale))
}

/// gcd or lcm of two numerics, at the larger of their scales (NaN in,
/// NaN out).
pub fn gcd_lcm(a: &Numeric, b: &Numeric, lcm: bool) -> Numeric {
    let (
        Numeric::Finite {
            mantissa: ma,
            scale: sa,
        },
        Numeric::Finite {
            mantissa: mb,
            scale: sb,
        },
    ) = (a, b)
    else {
        return Numeric::NaN;
    };
    let s = (*sa).max(*sb);
    let x = (ma * pow10(s - sa)).abs();
    let y = (mb * pow10(s - sb)).abs();
    let (mut g, mut h) = (x.clone(), y.clone());
    while !h.is_zero() {
        let r = &g % &h;
        g = h;
        h = r;
    }
    let mantissa = if !lcm {
        g
    } else if x.is_zero() || y.is_zero() {
        BigInt::zero()
    } else {
        &x / &g * &y
    };
    Numeric::Finite { mantissa, scale: s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn matches_postgres() {
        assert_eq!(exp(&n("1.0")).unwrap().to_string(), "2.7182818284590452");
        assert_eq!(ln(&n("2.0")).unwrap().to_string(), "0.6931471805599453");
        assert_eq!(
            log(&n("10"), &n("100")).unwrap().to_string(),
            "2.0000000000000000"
        );
        assert!(ln(&n("0")).is_err());
        assert!(log(&n("1"), &n("5")).is_err());
    }
}
