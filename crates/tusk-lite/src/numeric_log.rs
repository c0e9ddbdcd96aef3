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
    let (sum, p) = exp_fixed(mantissa, *scale, x, rscale);
    Ok(round_to(&sum, p, rscale))
}

/// exp(m / 10^s) in fixed point, with enough digits for `rscale` digits
/// after the point: (value * 10^p, p). `x` is the argument as a double
/// (below 6000 in magnitude).
fn exp_fixed(m: &BigInt, s: u32, x: f64, rscale: u32) -> (BigInt, u32) {
    // Halve x until it is below 0.01, sum the series, square back.
    let mut k = 0u32;
    let mut h = x.abs();
    while h >= 0.01 {
        h /= 2.0;
        k += 1;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // |x| is below 6000 (callers check): a small positive weight.
    let weight = (x * PG_LOG10_E).max(0.0).ceil() as u32;
    let p = rscale + 20 + weight + k;
    let one = pow10(p);
    let xf = shift10(m, i64::from(p) - i64::from(s));
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
    (sum, p)
}

fn overflow() -> SqlError {
    SqlError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

/// power(numeric, numeric), at numeric_power's scale: an integral
/// exponent (power_var_int) gives max(16, the base's scale) digits,
/// another one enough for 16 significant digits.
pub fn power(base: &Numeric, exponent: &Numeric) -> Result<Numeric> {
    let one = || Numeric::from_i64(1);
    let (bm, bs, em, es) = match (base, exponent) {
        (
            Numeric::Finite {
                mantissa: bm,
                scale: bs,
            },
            Numeric::Finite {
                mantissa: em,
                scale: es,
            },
        ) => (bm, *bs, em, *es),
        // NaN ^ 0 and 1 ^ NaN are 1, as in PostgreSQL.
        (Numeric::NaN, Numeric::Finite { mantissa, .. }) if mantissa.is_zero() => return Ok(one()),
        (Numeric::Finite { mantissa, scale }, Numeric::NaN) if *mantissa == pow10(*scale) => {
            return Ok(one())
        }
        _ => return Ok(Numeric::NaN),
    };
    let integral = (em % pow10(es)).is_zero();
    if bm.is_zero() && em.is_negative() {
        return Err(SqlError::new(
            "2201F",
            "zero raised to a negative power is undefined",
        ));
    }
    if bm.is_negative() && !integral {
        return Err(SqlError::new(
            "2201F",
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let int_exp = if integral {
        (em / pow10(es))
            .to_i64()
            .filter(|n| i32::try_from(*n).is_ok())
    } else {
        None
    };
    let bf = Numeric::Finite {
        mantissa: bm.abs(),
        scale: bs,
    }
    .to_f64();
    if let Some(n) = int_exp {
        let rscale = clamp_scale(MIN_SIG_DIGITS.max(i64::from(bs)));
        if n == 0 {
            return Ok(Numeric::Finite {
                mantissa: pow10(rscale),
                scale: rscale,
            });
        }
        if bm.is_zero() {
            return Ok(Numeric::Finite {
                mantissa: BigInt::zero(),
                scale: rscale,
            });
        }
        let f = n as f64 * bf.log10();
        if f > 3.0 * 32767.0 * 4.0 {
            return Err(overflow());
        }
        if f + 1.0 < -f64::from(rscale) {
            return Ok(Numeric::Finite {
                mantissa: BigInt::zero(),
                scale: rscale,
            });
        }
        let negative = bm.is_negative() && n % 2 != 0;
        let k = u32::try_from(n.unsigned_abs()).unwrap_or(u32::MAX);
        // Exactly, while the digits stay few.
        if ndigits(bm).saturating_mul(i64::from(k)) <= 20_000 {
            let pw = bm.abs().pow(k);
            let ps = bs * k;
            let (r, neg) = if n > 0 {
                (
                    shift10(&pw, i64::from(rscale) + 1 - i64::from(ps)),
                    negative,
                )
            } else {
                (pow10(ps + rscale + 1) / pw, negative)
            };
            // Truncated to rscale+1 digits; exact when nothing was cut.
            let exact = n > 0 && ps <= rscale;
            return Ok(if exact {
                let q: BigInt = &r / 10;
                Numeric::Finite {
                    mantissa: if neg { -q } else { q },
                    scale: rscale,
                }
            } else {
                round_extra_digit(&r, neg, rscale)
            });
        }
        let v = exp_of_product(bm.abs(), bs, em, es, n as f64 * bf.ln(), rscale)?;
        return Ok(match v {
            Numeric::Finite { mantissa, scale } if negative => Numeric::Finite {
                mantissa: -mantissa,
                scale,
            },
            other => other,
        });
    }
    if bm.is_zero() {
        return Ok(Numeric::Finite {
            mantissa: BigInt::zero(),
            scale: 16,
        });
    }
    let ef = exponent.to_f64();
    let val = bf.ln() * ef;
    if val.abs() > MAX_RESULT_SCALE * 3.01 {
        if val > 0.0 {
            return Err(overflow());
        }
        return Ok(Numeric::Finite {
            mantissa: BigInt::zero(),
            scale: 1000,
        });
    }
    #[allow(clippy::cast_possible_truncation)]
    // Below 2000 * 3.01 * 0.43 in magnitude: C's (int) conversion.
    let w = (val * PG_LOG10_E) as i64;
    let rscale = clamp_scale((MIN_SIG_DIGITS - w).max(i64::from(bs)).max(i64::from(es)));
    exp_of_product(bm.abs(), bs, em, es, val, rscale)
}

/// exp(ln(b / 10^bs) * e / 10^es) rounded to `rscale`; `val` is that
/// exponent as a double.
fn exp_of_product(
    bm: BigInt,
    bs: u32,
    em: &BigInt,
    es: u32,
    val: f64,
    rscale: u32,
) -> Result<Numeric> {
    if val.abs() >= MAX_RESULT_SCALE * 3.0 {
        if val > 0.0 {
            return Err(overflow());
        }
        return Ok(Numeric::Finite {
            mantissa: BigInt::zero(),
            scale: rscale,
        });
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // |val| is below 6000 here.
    let weight = (val * PG_LOG10_E).abs().ceil() as u32;
    let q = rscale + 30 + weight + u32::try_from(ndigits(em)).unwrap_or(0);
    // ln(b) * e at q digits.
    let l = ln_fixed(&bm, bs, q) * em / pow10(es);
    let (sum, p) = exp_fixed(&l, q, val, rscale);
    Ok(round_to(&sum, p, rscale))
}

/// The decimal weight of a base-10000 digit group holding the first
/// significant digit (numeric.c's var->weight), 0 for zero.
fn nbase_weight(m: &BigInt, s: u32) -> i64 {
    if m.is_zero() {
        0
    } else {
        dexp(m, s).div_euclid(4)
    }
}

/// Rounds floor(v * 10^(scale+1)) (one extra digit, truncated) to
/// `scale` digits, half away from zero.
fn round_extra_digit(r: &BigInt, negative: bool, scale: u32) -> Numeric {
    let ten = BigInt::from(10);
    let q = r / &ten;
    let d = r % &ten;
    let q = if d >= BigInt::from(5) { q + 1 } else { q };
    Numeric::Finite {
        mantissa: if negative { -q } else { q },
        scale,
    }
}

/// sqrt(numeric), correctly rounded at numeric_sqrt's scale.
pub fn sqrt(n: &Numeric) -> Result<Numeric> {
    let Numeric::Finite { mantissa, scale } = n else {
        return Ok(Numeric::NaN);
    };
    if mantissa.is_negative() {
        return Err(SqlError::new(
            "2201F",
            "cannot take square root of a negative number",
        ));
    }
    let sweight = (nbase_weight(mantissa, *scale) + 1) * 4 / 2 - 1;
    let rscale = clamp_scale((MIN_SIG_DIGITS - sweight).max(i64::from(*scale)));
    let big = mantissa * pow10(2 * rscale + 2 - scale);
    Ok(round_extra_digit(&big.sqrt(), false, rscale))
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
