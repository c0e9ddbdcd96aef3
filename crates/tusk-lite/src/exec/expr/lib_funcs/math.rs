//! The math functions' cores, free of the executor: float8 functions
//! of one argument (with glibc's cbrt), dpow, gcd/lcm and width_bucket,
//! with PostgreSQL's errors.

use super::*;

/// float8 results: an infinite result of finite input overflows, as
/// PostgreSQL's float checks report it.
pub(super) fn checked(r: f64, x: f64) -> Result<f64> {
    if r.is_infinite() && x.is_finite() {
        return Err(out_of_range("value out of range: overflow"));
    }
    Ok(r)
}

/// cbrt as glibc computes it (PostgreSQL calls the C library's cbrt,
/// which is not correctly rounded: cbrt(27) is 3.0000000000000004 there).
pub(super) fn glibc_cbrt(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x + x;
    }
    // frexp: |x| = xm * 2^xe with xm in [0.5, 1).
    let (mut a, mut bias) = (x.abs(), 0);
    if a < f64::MIN_POSITIVE {
        a *= 2f64.powi(54);
        bias = -54;
    }
    let bits = a.to_bits();
    let exp = i32::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let xe = exp - 1022 + bias;
    let xm = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    const CBRT2: f64 = 1.2599210498948731648;
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    const SQR_CBRT2: f64 = 1.5874010519681994748;
    let factor = [1.0 / SQR_CBRT2, 1.0 / CBRT2, 1.0, CBRT2, SQR_CBRT2];
    // glibc's constants, as written there.
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    let u = 0.354895765043919860
        + ((1.50819193781584896
            + ((-2.11499494167371287
                + ((2.44693122563534430
                    + ((-1.83469277483613086
                        + (0.784932344976639262 - 0.145263899385486377 * xm) * xm)
                        * xm))
                    * xm))
                * xm))
            * xm);
    let t2 = u * u * u;
    let k = usize::try_from(2 + xe % 3).unwrap_or(2);
    let ym = u * (t2 + 2.0 * xm) / (2.0 * t2 + xm) * factor[k];
    let r = if x > 0.0 { ym } else { -ym };
    r * 2f64.powi(xe / 3)
}

const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

pub(super) fn math(m: MathFn, x: f64) -> Result<f64> {
    if x.is_nan() {
        return Ok(x);
    }
    let log_domain = |x: f64| -> Result<()> {
        if x == 0.0 {
            return Err(SqlError::new("2201E", "cannot take logarithm of zero"));
        }
        if x < 0.0 {
            return Err(SqlError::new(
                "2201E",
                "cannot take logarithm of a negative number",
            ));
        }
        Ok(())
    };
    let trig_domain = |x: f64| -> Result<()> {
        if x.is_infinite() {
            return Err(out_of_range("input is out of range"));
        }
        Ok(())
    };
    Ok(match m {
        MathFn::Exp => {
            if x.is_infinite() {
                return Ok(if x > 0.0 { x } else { 0.0 });
            }
            let r = x.exp();
            if r.is_infinite() {
                return Err(out_of_range("value out of range: overflow"));
            }
            if r == 0.0 {
                return Err(out_of_range("value out of range: underflow"));
            }
            r
        }
        MathFn::Ln => {
            log_domain(x)?;
            x.ln()
        }
        MathFn::Log10 => {
            log_domain(x)?;
            x.log10()
        }
        MathFn::Cbrt => glibc_cbrt(x),
        MathFn::Degrees => checked(x / RADIANS_PER_DEGREE, x)?,
        MathFn::Radians => checked(x * RADIANS_PER_DEGREE, x)?,
        MathFn::Sin => {
            trig_domain(x)?;
            x.sin()
        }
        MathFn::Cos => {
            trig_domain(x)?;
            x.cos()
        }
        MathFn::Tan => {
            trig_domain(x)?;
            x.tan()
        }
        MathFn::Cot => {
            trig_domain(x)?;
            1.0 / x.tan()
        }
        MathFn::Asin | MathFn::Acos => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(out_of_range("input is out of range"));
            }
            if m == MathFn::Asin {
                x.asin()
            } else {
                x.acos()
            }
        }
        MathFn::Atan => x.atan(),
        MathFn::Sind | MathFn::Cosd | MathFn::Tand | MathFn::Cotd => {
            trig_domain(x)?;
            super::degrees::trig(m, x)
        }
        MathFn::Asind | MathFn::Acosd => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(out_of_range("input is out of range"));
            }
            super::degrees::arc(m, x)
        }
        MathFn::Atand => super::degrees::atand(x),
        MathFn::Sinh => x.sinh(),
        MathFn::Cosh => x.cosh(),
        MathFn::Tanh => x.tanh(),
        MathFn::Asinh => x.asinh(),
        MathFn::Acosh => {
            if x < 1.0 {
                return Err(out_of_range("input is out of range"));
            }
            x.acosh()
        }
        MathFn::Atanh => {
            if !(-1.0..=1.0).contains(&x) {
                return Err(out_of_range("input is out of range"));
            }
            if x == 1.0 || x == -1.0 {
                f64::INFINITY.copysign(x)
            } else {
                x.atanh()
            }
        }
    })
}

/// dpow: power of doubles with PostgreSQL's errors and its own answers
/// for infinities and NaN.
pub(super) fn float_power(x: f64, y: f64) -> Result<f64> {
    let complex = || {
        SqlError::new(
            "2201F",
            "a negative number raised to a non-integer power yields a complex result",
        )
    };
    if x == 0.0 && y < 0.0 {
        return Err(SqlError::new(
            "2201F",
            "zero raised to a negative power is undefined",
        ));
    }
    if x < 0.0 && y.floor() != y {
        return Err(complex());
    }
    if x.is_nan() {
        return Ok(if y.is_nan() || y != 0.0 {
            f64::NAN
        } else {
            1.0
        });
    }
    if y.is_nan() {
        return Ok(if x == 1.0 { 1.0 } else { f64::NAN });
    }
    if y.is_infinite() {
        let ax = x.abs();
        return Ok(if ax == 1.0 {
            1.0
        } else if y > 0.0 {
            if ax > 1.0 {
                y
            } else {
                0.0
            }
        } else if ax > 1.0 {
            0.0
        } else {
            -y
        });
    }
    if x.is_infinite() {
        if y == 0.0 {
            return Ok(1.0);
        }
        if x > 0.0 {
            return Ok(if y > 0.0 { x } else { 0.0 });
        }
        let half = y / 2.0;
        let odd = half.floor() != half;
        return Ok(if y > 0.0 {
            if odd {
                x
            } else {
                -x
            }
        } else if odd {
            -0.0
        } else {
            0.0
        });
    }
    let r = x.powf(y);
    if r.is_nan() {
        return Err(complex());
    }
    if r.is_infinite() {
        return Err(out_of_range("value out of range: overflow"));
    }
    if r == 0.0 && x != 0.0 {
        return Err(out_of_range("value out of range: underflow"));
    }
    Ok(r)
}

pub(super) fn gcd_u(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// gcd or lcm of two integers of `ty` (int4 or int8).
pub(super) fn gcd_lcm(a: i64, b: i64, lcm: bool, ty: Type) -> Result<i64> {
    let g = gcd_u(u128::from(a.unsigned_abs()), u128::from(b.unsigned_abs()));
    let r = if !lcm {
        g
    } else if a == 0 || b == 0 {
        0
    } else {
        u128::from(a.unsigned_abs()) / g * u128::from(b.unsigned_abs())
    };
    i64::try_from(r)
        .ok()
        .and_then(|r| check_int(r, ty).ok())
        .ok_or_else(|| int_overflow(ty))
}

pub(super) fn bucket_error(msg: &str) -> SqlError {
    SqlError::new("2201G", msg.to_string())
}

pub(super) fn width_bucket_f64(op: f64, b1: f64, b2: f64, count: i64) -> Result<i64> {
    if count <= 0 {
        return Err(bucket_error("count must be greater than zero"));
    }
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(bucket_error(
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(bucket_error("lower and upper bounds must be finite"));
    }
    let c = count as f64;
    #[allow(clippy::cast_possible_truncation)]
    // The quotient lies in [0, count): it fits an int4 count.
    let inside = |x: f64| -> i64 { x as i64 + 1 };
    let r = if b1 < b2 {
        if op < b1 {
            0
        } else if op >= b2 {
            count + 1
        } else {
            inside(c * (op - b1) / (b2 - b1))
        }
    } else if b1 > b2 {
        if op > b1 {
            0
        } else if op <= b2 {
            count + 1
        } else {
            inside(c * (b1 - op) / (b1 - b2))
        }
    } else {
        return Err(bucket_error("lower bound cannot equal upper bound"));
    };
    check_int(r, Type::Int4).map_err(|_| int_overflow(Type::Int4))
}

pub(super) fn width_bucket_numeric(
    op: &Numeric,
    b1: &Numeric,
    b2: &Numeric,
    count: i64,
) -> Result<i64> {
    if count <= 0 {
        return Err(bucket_error("count must be greater than zero"));
    }
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(bucket_error(
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    let c = Numeric::from_i64(count);
    let (lo, hi) = match b1.cmp_total(b2) {
        Ordering::Less => (
            op.cmp_total(b1) == Ordering::Less,
            op.cmp_total(b2) != Ordering::Less,
        ),
        Ordering::Greater => (
            op.cmp_total(b1) == Ordering::Greater,
            op.cmp_total(b2) != Ordering::Greater,
        ),
        Ordering::Equal => return Err(bucket_error("lower bound cannot equal upper bound")),
    };
    let r = if lo {
        0
    } else if hi {
        count + 1
    } else {
        let (a, b) = if b1.cmp_total(b2) == Ordering::Less {
            (op.sub(b1), b2.sub(b1))
        } else {
            (b1.sub(op), b1.sub(b2))
        };
        a.mul(&c).div_trunc(&b, 0)?.to_i64_round().unwrap_or(0) + 1
    };
    check_int(r, Type::Int4).map_err(|_| int_overflow(Type::Int4))
}
