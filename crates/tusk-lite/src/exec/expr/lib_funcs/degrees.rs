//! PostgreSQL's degree-based trigonometry (float.c: dsind, dcosd, dtand,
//! dcotd, dasind, dacosd, datand, datan2d): the range is reduced to the
//! first quadrant and the radian functions are scaled so that 0, 30, 45,
//! 60 and 90 degrees give exact answers, as there.

use super::MathFn;

const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

fn sin_30() -> f64 {
    (30.0 * RADIANS_PER_DEGREE).sin()
}

fn one_minus_cos_60() -> f64 {
    1.0 - (60.0 * RADIANS_PER_DEGREE).cos()
}

fn sind_0_to_30(x: f64) -> f64 {
    let sin_x = (x * RADIANS_PER_DEGREE).sin();
    (sin_x / sin_30()) / 2.0
}

fn cosd_0_to_60(x: f64) -> f64 {
    let one_minus_cos_x = 1.0 - (x * RADIANS_PER_DEGREE).cos();
    1.0 - (one_minus_cos_x / one_minus_cos_60()) / 2.0
}

fn sind_q1(x: f64) -> f64 {
    if x <= 30.0 {
        sind_0_to_30(x)
    } else {
        cosd_0_to_60(90.0 - x)
    }
}

fn cosd_q1(x: f64) -> f64 {
    if x <= 60.0 {
        cosd_0_to_60(x)
    } else {
        sind_0_to_30(90.0 - x)
    }
}

/// sind, cosd, tand or cotd of a finite, non-NaN `x` (degrees).
pub(super) fn trig(m: MathFn, x: f64) -> f64 {
    let mut a = x % 360.0;
    let mut sign = 1.0;
    match m {
        MathFn::Cosd => {
            if a < 0.0 {
                a = -a;
            }
            if a > 180.0 {
                a = 360.0 - a;
            }
            if a > 90.0 {
                a = 180.0 - a;
                sign = -sign;
            }
            sign * cosd_q1(a)
        }
        _ => {
            if a < 0.0 {
                a = -a;
                sign = -sign;
            }
            if a > 180.0 {
                a = 360.0 - a;
                sign = -sign;
            }
            if a > 90.0 {
                a = 180.0 - a;
                if m != MathFn::Sind {
                    sign = -sign;
                }
            }
            let r = match m {
                MathFn::Sind => sign * sind_q1(a),
                MathFn::Tand => {
                    let tan_45 = sind_q1(45.0) / cosd_q1(45.0);
                    sign * ((sind_q1(a) / cosd_q1(a)) / tan_45)
                }
                _ => {
                    let cot_45 = cosd_q1(45.0) / sind_q1(45.0);
                    sign * ((cosd_q1(a) / sind_q1(a)) / cot_45)
                }
            };
            // No minus zero (tand(180) and cotd(90)), as PostgreSQL.
            if r == 0.0 && m != MathFn::Sind {
                0.0
            } else {
                r
            }
        }
    }
}

fn asind_q1(x: f64) -> f64 {
    if x <= 0.5 {
        (x.asin() / 0.5f64.asin()) * 30.0
    } else {
        90.0 - (x.acos() / 0.5f64.acos()) * 60.0
    }
}

fn acosd_q1(x: f64) -> f64 {
    if x <= 0.5 {
        90.0 - (x.asin() / 0.5f64.asin()) * 30.0
    } else {
        (x.acos() / 0.5f64.acos()) * 60.0
    }
}

/// asind or acosd of `x` in [-1, 1].
pub(super) fn arc(m: MathFn, x: f64) -> f64 {
    match (m, x >= 0.0) {
        (MathFn::Asind, true) => asind_q1(x),
        (MathFn::Asind, false) => -asind_q1(-x),
        (_, true) => acosd_q1(x),
        (_, false) => 90.0 + asind_q1(-x),
    }
}

pub(super) fn atand(x: f64) -> f64 {
    (x.atan() / 1f64.atan()) * 45.0
}

pub(super) fn atan2d(y: f64, x: f64) -> f64 {
    if y.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    (y.atan2(x) / 1f64.atan()) * 45.0
}
