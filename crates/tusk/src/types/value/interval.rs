//! `interval` from its binary form (microseconds, days, months), printed
//! exactly as PostgreSQL prints it with `intervalstyle = iso_8601`
//! (`EncodeInterval` in PostgreSQL's `datetime.c`): `P1Y2M3DT4H5M6.5S`,
//! each part with its own sign (`P-1DT2H`), `PT0S` for zero, and
//! `infinity`/`-infinity` for PostgreSQL 17's infinite intervals.

use std::fmt;

/// An `interval` as PostgreSQL stores it: months, days and microseconds,
/// each with its own sign. [`Display`](fmt::Display) and [`as_str`](Self::as_str)
/// give PostgreSQL's default style (`1 year 2 mons 3 days 04:05:06.5`),
/// [`iso_8601`](Self::iso_8601) the `intervalstyle = iso_8601` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    months: i32,
    days: i32,
    microseconds: i64,
    text: String,
}

impl Interval {
    /// The interval of these parts.
    pub fn new(months: i32, days: i32, microseconds: i64) -> Interval {
        Interval {
            months,
            days,
            microseconds,
            text: match (months, days, microseconds) {
                (i32::MAX, i32::MAX, i64::MAX) => "infinity".into(),
                (i32::MIN, i32::MIN, i64::MIN) => "-infinity".into(),
                _ => super::super::value_text::interval_text(months, days, microseconds),
            },
        }
    }

    /// The months part (a year is 12).
    pub fn months(&self) -> i32 {
        self.months
    }

    /// The days part.
    pub fn days(&self) -> i32 {
        self.days
    }

    /// The time part, in microseconds.
    pub fn microseconds(&self) -> i64 {
        self.microseconds
    }

    /// PostgreSQL's default (`intervalstyle = postgres`) text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text PostgreSQL writes with `intervalstyle = iso_8601`
    /// (`P1Y2M3DT4H5M6.5S`, `P-1DT2H`, `PT0S`).
    pub fn iso_8601(&self) -> String {
        iso_8601(self.microseconds, self.days, self.months)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `.` and the microseconds without trailing zeros (nothing for zero).
fn push_fraction(micros: i64, out: &mut String) {
    let micros = micros.abs();
    if micros != 0 {
        let digits = format!("{micros:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

const USECS_PER_HOUR: i64 = 3_600_000_000;
const USECS_PER_MINUTE: i64 = 60_000_000;
const USECS_PER_SEC: i64 = 1_000_000;

/// The ISO 8601 text of an interval.
pub(crate) fn iso_8601(time: i64, days: i32, months: i32) -> String {
    if time == i64::MAX && days == i32::MAX && months == i32::MAX {
        return "infinity".into();
    }
    if time == i64::MIN && days == i32::MIN && months == i32::MIN {
        return "-infinity".into();
    }
    // interval2itm: C division truncates toward zero, as Rust's does.
    let year = months / 12;
    let mon = months % 12;
    let hour = time / USECS_PER_HOUR;
    let rest = time - hour * USECS_PER_HOUR;
    let min = rest / USECS_PER_MINUTE;
    let rest = rest - min * USECS_PER_MINUTE;
    let sec = rest / USECS_PER_SEC;
    let fsec = rest - sec * USECS_PER_SEC;

    if year == 0 && mon == 0 && days == 0 && hour == 0 && min == 0 && sec == 0 && fsec == 0 {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    part(&mut out, i64::from(year), 'Y');
    part(&mut out, i64::from(mon), 'M');
    part(&mut out, i64::from(days), 'D');
    if hour != 0 || min != 0 || sec != 0 || fsec != 0 {
        out.push('T');
    }
    part(&mut out, hour, 'H');
    part(&mut out, min, 'M');
    if sec != 0 || fsec != 0 {
        if sec < 0 || fsec < 0 {
            out.push('-');
        }
        out.push_str(&sec.abs().to_string());
        push_fraction(fsec, &mut out);
        out.push('S');
    }
    out
}

/// `AddISO8601IntPart`: nothing for zero, else the number and its unit.
fn part(out: &mut String, value: i64, unit: char) {
    if value != 0 {
        out.push_str(&value.to_string());
        out.push(unit);
    }
}

#[cfg(test)]
mod tests {
    use super::iso_8601;

    const H: i64 = 3_600_000_000;
    const M: i64 = 60_000_000;
    const S: i64 = 1_000_000;

    #[test]
    fn zero_and_simple_parts() {
        assert_eq!(iso_8601(0, 0, 0), "PT0S");
        assert_eq!(iso_8601(0, 1, 0), "P1D");
        assert_eq!(
            iso_8601(4 * H + 5 * M + 6 * S + 789_000, 3, 14),
            "P1Y2M3DT4H5M6.789S"
        );
        assert_eq!(iso_8601(0, 0, 12), "P1Y");
        assert_eq!(iso_8601(90 * M, 0, 0), "PT1H30M");
    }

    #[test]
    fn signs_are_per_part() {
        assert_eq!(iso_8601(2 * H, -1, 0), "P-1DT2H");
        assert_eq!(iso_8601(0, -1, 1), "P1M-1D");
        assert_eq!(iso_8601(0, 0, -13), "P-1Y-1M");
        assert_eq!(iso_8601(-1_500_000, 0, 0), "PT-1.5S");
        assert_eq!(iso_8601(-500_000, 0, 0), "PT-0.5S");
        assert_eq!(iso_8601(-(H + 1), 0, 0), "PT-1H-0.000001S");
        assert_eq!(iso_8601(-(61 * S), 0, 0), "PT-1M-1S");
    }

    #[test]
    fn infinities_and_extremes() {
        assert_eq!(iso_8601(i64::MAX, i32::MAX, i32::MAX), "infinity");
        assert_eq!(iso_8601(i64::MIN, i32::MIN, i32::MIN), "-infinity");
        assert_eq!(iso_8601(i64::MAX, 0, 0), "PT2562047788H54.775807S");
    }
}
