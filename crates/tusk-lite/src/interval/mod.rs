//! interval: PostgreSQL 15's (months, days, microseconds), with its text
//! input (DecodeInterval's rules: units and their abbreviations, `hh:mm:ss`,
//! `Y-M`, ISO 8601 `P1Y2M...`, `@ ... ago`), IntervalStyle postgres
//! output, ordering (30 days = 1 month, 24 hours = 1 day, as
//! interval_cmp_value) and arithmetic.

use std::cmp::Ordering;

use crate::error::{Result, SqlError};

mod format;
mod parse;

pub use format::{format, set_style, Style};
pub use parse::{parse, parse_range, unit_of, Range, Unit};

pub const USECS_PER_DAY: i64 = 86_400_000_000;
pub(crate) const USECS_PER_HOUR: i64 = 3_600_000_000;
pub(crate) const USECS_PER_MINUTE: i64 = 60_000_000;
pub(crate) const USECS_PER_SEC: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

pub fn out_of_range() -> SqlError {
    SqlError::new("22008", "interval out of range")
}

pub(crate) fn bad(s: &str) -> SqlError {
    SqlError::new(
        "22007",
        format!("invalid input syntax for type interval: \"{s}\""),
    )
}

pub(crate) fn field_overflow(s: &str) -> SqlError {
    SqlError::new(
        "22015",
        format!("interval field value out of range: \"{s}\""),
    )
}

impl Interval {
    pub fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    /// interval_cmp_value: the span with a month as 30 days.
    pub fn span(self) -> i128 {
        let days = i128::from(self.months) * 30 + i128::from(self.days);
        days * i128::from(USECS_PER_DAY) + i128::from(self.micros)
    }

    pub fn cmp_pg(self, o: Interval) -> Ordering {
        self.span().cmp(&o.span())
    }

    pub fn checked_add(self, o: Interval) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_add(o.months).ok_or_else(out_of_range)?,
            days: self.days.checked_add(o.days).ok_or_else(out_of_range)?,
            micros: self.micros.checked_add(o.micros).ok_or_else(out_of_range)?,
        })
    }

    pub fn checked_neg(self) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(out_of_range)?,
            days: self.days.checked_neg().ok_or_else(out_of_range)?,
            micros: self.micros.checked_neg().ok_or_else(out_of_range)?,
        })
    }

    pub fn checked_sub(self, o: Interval) -> Result<Interval> {
        self.checked_add(o.checked_neg()?)
    }

    /// interval_mul: fractional months cascade into days, fractional
    /// days into time.
    pub fn mul_f64(self, factor: f64) -> Result<Interval> {
        let m = f64::from(self.months) * factor;
        if m.is_nan() || !fits_i32(m) {
            return Err(out_of_range());
        }
        let months = trunc_i32(m);
        let d = f64::from(self.days) * factor;
        if d.is_nan() || !fits_i32(d) {
            return Err(out_of_range());
        }
        let mut days = trunc_i32(d);
        self.cascade(months, &mut days, m, d, self.micros as f64 * factor)
    }

    /// interval_div.
    pub fn div_f64(self, factor: f64) -> Result<Interval> {
        if factor == 0.0 {
            return Err(SqlError::new("22012", "division by zero"));
        }
        let m = f64::from(self.months) / factor;
        let d = f64::from(self.days) / factor;
        if m.is_nan() || !fits_i32(m) || d.is_nan() || !fits_i32(d) {
            return Err(out_of_range());
        }
        let months = trunc_i32(m);
        let mut days = trunc_i32(d);
        self.cascade(months, &mut days, m, d, self.micros as f64 / factor)
    }

    fn cascade(self, months: i32, days: &mut i32, m: f64, d: f64, time: f64) -> Result<Interval> {
        let tsround = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        let month_rem_days = tsround((m - f64::from(months)) * 30.0);
        let mut sec_rem =
            tsround((d - f64::from(*days) + month_rem_days - month_rem_days.trunc()) * 86_400.0);
        if sec_rem.abs() >= 86_400.0 {
            let whole = (sec_rem / 86_400.0).trunc();
            *days = days
                .checked_add(trunc_i32(whole))
                .ok_or_else(out_of_range)?;
            sec_rem -= whole * 86_400.0;
        }
        *days = days
            .checked_add(trunc_i32(month_rem_days))
            .ok_or_else(out_of_range)?;
        let t = (time + sec_rem * 1e6).round_ties_even();
        if t.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
            return Err(out_of_range());
        }
        #[allow(clippy::cast_possible_truncation)]
        let micros = t as i64;
        Ok(Interval {
            months,
            days: *days,
            micros,
        })
    }

    pub fn justify_hours(self) -> Result<Interval> {
        let mut r = self;
        let whole = r.micros / USECS_PER_DAY;
        r.micros -= whole * USECS_PER_DAY;
        r.days = i32::try_from(i64::from(r.days) + whole).map_err(|_| out_of_range())?;
        if r.days > 0 && r.micros < 0 {
            r.micros += USECS_PER_DAY;
            r.days -= 1;
        } else if r.days < 0 && r.micros > 0 {
            r.micros -= USECS_PER_DAY;
            r.days += 1;
        }
        Ok(r)
    }

    pub fn justify_days(self) -> Result<Interval> {
        let mut r = self;
        let whole = r.days / 30;
        r.days -= whole * 30;
        r.months = r.months.checked_add(whole).ok_or_else(out_of_range)?;
        if r.months > 0 && r.days < 0 {
            r.days += 30;
            r.months -= 1;
        } else if r.months < 0 && r.days > 0 {
            r.days -= 30;
            r.months += 1;
        }
        Ok(r)
    }

    pub fn justify_interval(self) -> Result<Interval> {
        let mut r = self;
        if (r.days > 0 && r.micros > 0) || (r.days < 0 && r.micros < 0) {
            let whole = r.days / 30;
            r.days -= whole * 30;
            r.months = r.months.checked_add(whole).ok_or_else(out_of_range)?;
        }
        let whole = r.micros / USECS_PER_DAY;
        r.micros -= whole * USECS_PER_DAY;
        r.days = i32::try_from(i64::from(r.days) + whole).map_err(|_| out_of_range())?;
        let whole = r.days / 30;
        r.days -= whole * 30;
        r.months = r.months.checked_add(whole).ok_or_else(out_of_range)?;
        if r.months > 0 && (r.days < 0 || (r.days == 0 && r.micros < 0)) {
            r.days += 30;
            r.months -= 1;
        } else if r.months < 0 && (r.days > 0 || (r.days == 0 && r.micros > 0)) {
            r.days -= 30;
            r.months += 1;
        }
        if r.days > 0 && r.micros < 0 {
            r.micros += USECS_PER_DAY;
            r.days -= 1;
        } else if r.days < 0 && r.micros > 0 {
            r.micros -= USECS_PER_DAY;
            r.days += 1;
        }
        Ok(r)
    }

    /// The fields interval2itm gives: years, months, days, hours,
    /// minutes, seconds, microseconds (each truncated toward zero).
    pub fn fields(self) -> (i64, i64, i64, i64, i64, i64, i64) {
        let t = self.micros;
        (
            i64::from(self.months / 12),
            i64::from(self.months % 12),
            i64::from(self.days),
            t / USECS_PER_HOUR,
            t / USECS_PER_MINUTE % 60,
            t / USECS_PER_SEC % 60,
            t % USECS_PER_SEC,
        )
    }
}

pub(crate) fn fits_i32(x: f64) -> bool {
    (-2_147_483_648.0..2_147_483_648.0).contains(&x)
}

#[allow(clippy::cast_possible_truncation)]
pub(crate) fn trunc_i32(x: f64) -> i32 {
    // Callers check the range first; `as` saturates otherwise.
    x as i32
}

const M_MONTH: i64 = 1 << 1;
const M_YEAR: i64 = 1 << 2;
const M_DAY: i64 = 1 << 3;
const M_HOUR: i64 = 1 << 10;
const M_MINUTE: i64 = 1 << 11;
const M_SECOND: i64 = 1 << 12;
const FULL_RANGE: i64 = 0x7FFF;

/// The field qualifiers PostgreSQL accepts, with their intervaltypmodout text.
const RANGES: [(i64, &str); 14] = [
    (FULL_RANGE, ""),
    (M_YEAR, " year"),
    (M_MONTH, " month"),
    (M_DAY, " day"),
    (M_HOUR, " hour"),
    (M_MINUTE, " minute"),
    (M_SECOND, " second"),
    (M_YEAR | M_MONTH, " year to month"),
    (M_DAY | M_HOUR, " day to hour"),
    (M_DAY | M_HOUR | M_MINUTE, " day to minute"),
    (M_DAY | M_HOUR | M_MINUTE | M_SECOND, " day to second"),
    (M_HOUR | M_MINUTE, " hour to minute"),
    (M_HOUR | M_MINUTE | M_SECOND, " hour to second"),
    (M_MINUTE | M_SECOND, " minute to second"),
];

/// intervaltypmodin: (range << 16) | precision (0xFFFF: full precision).
pub fn typmod(range: i64, precision: i64) -> Result<i32> {
    if !RANGES.iter().any(|(r, _)| *r == range) {
        return Err(SqlError::new("22023", "invalid INTERVAL type modifier"));
    }
    if precision != 0xFFFF && precision < 0 {
        return Err(SqlError::new(
            "22023",
            format!("INTERVAL({precision}) precision must not be negative"),
        ));
    }
    let precision = if precision == 0xFFFF {
        precision
    } else {
        precision.min(6)
    };
    i32::try_from((range << 16) | precision)
        .map_err(|_| SqlError::new("22023", "invalid INTERVAL type modifier"))
}

/// format_type's text for an interval typmod.
pub fn type_name(typmod: i32) -> String {
    if typmod < 0 {
        return "interval".into();
    }
    let range = i64::from(typmod >> 16);
    let precision = typmod & 0xFFFF;
    let fields = RANGES
        .iter()
        .find(|(r, _)| *r == range)
        .map_or("", |(_, t)| t);
    if precision == 0xFFFF {
        format!("interval{fields}")
    } else {
        format!("interval{fields}({precision})")
    }
}

/// The unit a bare number takes under a typmod, and whether `a:b` means
/// minutes and seconds.
pub fn typmod_range(typmod: i32) -> (Range, bool) {
    if typmod < 0 {
        return (None, false);
    }
    let range = i64::from(typmod >> 16);
    let unit = match range {
        M_YEAR => Some(Unit::Year),
        M_MONTH | 0b110 => Some(Unit::Month),
        M_DAY => Some(Unit::Day),
        r if r == M_HOUR || r == M_DAY | M_HOUR => Some(Unit::Hour),
        r if r == M_MINUTE || r == M_HOUR | M_MINUTE || r == M_DAY | M_HOUR | M_MINUTE => {
            Some(Unit::Minute)
        }
        _ => None,
    };
    (unit, range == M_MINUTE | M_SECOND)
}

/// AdjustIntervalForTypmod.
pub fn apply_typmod(mut iv: Interval, typmod: i32) -> Interval {
    if typmod < 0 {
        return iv;
    }
    let range = i64::from(typmod >> 16);
    let precision = typmod & 0xFFFF;
    if range == M_YEAR {
        iv.months = iv.months / 12 * 12;
        iv.days = 0;
        iv.micros = 0;
    } else if range == M_MONTH || range == M_YEAR | M_MONTH {
        iv.days = 0;
        iv.micros = 0;
    } else if range == M_DAY {
        iv.micros = 0;
    } else if range == M_HOUR || range == M_DAY | M_HOUR {
        iv.micros = iv.micros / USECS_PER_HOUR * USECS_PER_HOUR;
    } else if range == M_MINUTE || range == M_HOUR | M_MINUTE || range == M_DAY | M_HOUR | M_MINUTE
    {
        iv.micros = iv.micros / USECS_PER_MINUTE * USECS_PER_MINUTE;
    }
    if (0..=6).contains(&precision) {
        let scale = 10i64.pow(u32::try_from(6 - precision).unwrap_or(0));
        let offset = scale / 2;
        iv.micros = if iv.micros >= 0 {
            (iv.micros.saturating_add(offset)) / scale * scale
        } else {
            -((iv.micros.saturating_neg().saturating_add(offset)) / scale * scale)
        };
    }
    iv
}

/// Binary I/O: int64 microseconds, int32 days, int32 months.
pub fn to_bytes(iv: Interval) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&iv.micros.to_be_bytes());
    b[8..12].copy_from_slice(&iv.days.to_be_bytes());
    b[12..].copy_from_slice(&iv.months.to_be_bytes());
    b
}

pub fn from_bytes(b: &[u8]) -> Option<Interval> {
    if b.len() != 16 {
        return None;
    }
    Some(Interval {
        micros: i64::from_be_bytes(b[..8].try_into().ok()?),
        days: i32::from_be_bytes(b[8..12].try_into().ok()?),
        months: i32::from_be_bytes(b[12..].try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> String {
        format(parse(s).unwrap())
    }

    #[test]
    fn parses_and_prints_as_postgres() {
        assert_eq!(rt("1 day 2 hours"), "1 day 02:00:00");
        assert_eq!(rt("1-2"), "1 year 2 mons");
        assert_eq!(rt("P1Y2M"), "1 year 2 mons");
        assert_eq!(rt("1 day -00:00:01"), "1 day -00:00:01");
        assert_eq!(rt("@ 1 hour ago"), "-01:00:00");
        assert_eq!(rt("-1 days +02:00"), "-1 days +02:00:00");
        assert_eq!(
            rt("1 year 2 mons 3 days 04:05:06.5"),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(rt("1.5 years"), "1 year 6 mons");
        assert_eq!(rt("0"), "00:00:00");
        assert_eq!(rt("1"), "00:00:01");
        assert_eq!(rt("3 weeks"), "21 days");
        assert!(parse("1 fortnight").is_err());
        assert!(parse("").is_err());
        assert!(parse("1 day 1 day").is_err());
    }

    #[test]
    fn random_text_never_panics() {
        const PIECES: [&str; 24] = [
            "1",
            "-",
            "+",
            ".",
            ":",
            "P",
            "T",
            "Y",
            "M",
            "D",
            "H",
            "S",
            " ",
            "day",
            "ago",
            "@",
            "9223372036854775807",
            "2147483648",
            "-1-2",
            "é",
            "0.5",
            "W",
            "year",
            "12:60",
        ];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 7 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(PIECES[usize::try_from(x % 24).unwrap_or(0)]);
            }
            for (range, m2s) in [(None, false), (Some(Unit::Day), false), (None, true)] {
                if let Ok(iv) = parse_range(&s, range, m2s) {
                    let _ = format(iv);
                    let _ = iv.mul_f64(1.5);
                    let _ = iv.justify_interval();
                }
            }
        }
    }
}
