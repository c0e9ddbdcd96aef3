//! interval: PostgreSQL 15's (months, days, microseconds), with its text
//! input (DecodeInterval's rules: units and their abbreviations, `hh:mm:ss`,
//! `Y-M`, ISO 8601 `P1Y2M...`, `@ ... ago`), IntervalStyle postgres
//! output, ordering (30 days = 1 month, 24 hours = 1 day, as
//! interval_cmp_value) and arithmetic.

use std::cmp::Ordering;

use crate::error::{Result, SqlError};

pub const USECS_PER_DAY: i64 = 86_400_000_000;
const USECS_PER_HOUR: i64 = 3_600_000_000;
const USECS_PER_MINUTE: i64 = 60_000_000;
const USECS_PER_SEC: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

pub fn out_of_range() -> SqlError {
    SqlError::new("22008", "interval out of range")
}

fn bad(s: &str) -> SqlError {
    SqlError::new(
        "22007",
        format!("invalid input syntax for type interval: \"{s}\""),
    )
}

fn field_overflow(s: &str) -> SqlError {
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

fn fits_i32(x: f64) -> bool {
    (-2_147_483_648.0..2_147_483_648.0).contains(&x)
}

#[allow(clippy::cast_possible_truncation)]
fn trunc_i32(x: f64) -> i32 {
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

/// The session's IntervalStyle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    Postgres,
    PostgresVerbose,
    SqlStandard,
    Iso8601,
}

thread_local! {
    static STYLE: std::cell::Cell<Style> = const { std::cell::Cell::new(Style::Postgres) };
}

/// Sets this session thread's IntervalStyle; false for an unknown style.
pub fn set_style(name: &str) -> bool {
    let s = match name {
        "postgres" => Style::Postgres,
        "postgres_verbose" => Style::PostgresVerbose,
        "sql_standard" => Style::SqlStandard,
        "iso_8601" => Style::Iso8601,
        _ => return false,
    };
    STYLE.with(|c| c.set(s));
    true
}

fn style() -> Style {
    STYLE.with(std::cell::Cell::get)
}

/// AppendSeconds: |sec| (two digits when `fill`) and a trimmed fraction.
fn seconds(sec: i64, fsec: i64, fill: bool) -> String {
    let mut out = if fill {
        format!("{:02}", sec.unsigned_abs())
    } else {
        sec.unsigned_abs().to_string()
    };
    if fsec != 0 {
        let f = format!("{:06}", fsec.unsigned_abs());
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// Output in the session's IntervalStyle (EncodeInterval).
pub fn format(iv: Interval) -> String {
    match style() {
        Style::Postgres => format_postgres(iv),
        Style::PostgresVerbose => format_verbose(iv),
        Style::SqlStandard => format_sql_standard(iv),
        Style::Iso8601 => format_iso(iv),
    }
}

fn format_iso(iv: Interval) -> String {
    let (year, mon, mday, hour, min, sec, fsec) = iv.fields();
    if [year, mon, mday, hour, min, sec, fsec]
        .iter()
        .all(|x| *x == 0)
    {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let part = |out: &mut String, v: i64, u: char| {
        if v != 0 {
            out.push_str(&format!("{v}{u}"));
        }
    };
    part(&mut out, year, 'Y');
    part(&mut out, mon, 'M');
    part(&mut out, mday, 'D');
    if hour != 0 || min != 0 || sec != 0 || fsec != 0 {
        out.push('T');
    }
    part(&mut out, hour, 'H');
    part(&mut out, min, 'M');
    if sec != 0 || fsec != 0 {
        if sec < 0 || fsec < 0 {
            out.push('-');
        }
        out.push_str(&seconds(sec, fsec, false));
        out.push('S');
    }
    out
}

fn format_sql_standard(iv: Interval) -> String {
    let (mut year, mut mon, mut mday, mut hour, mut min, mut sec, mut fsec) = iv.fields();
    let all = [year, mon, mday, hour, min, sec, fsec];
    let has_negative = all.iter().any(|x| *x < 0);
    let has_positive = all.iter().any(|x| *x > 0);
    let has_year_month = year != 0 || mon != 0;
    let has_day_time = mday != 0 || hour != 0 || min != 0 || sec != 0 || fsec != 0;
    let standard = !((has_negative && has_positive) || (has_year_month && has_day_time));
    let mut out = String::new();
    if has_negative && standard {
        out.push('-');
        (year, mon, mday, hour, min, sec, fsec) = (-year, -mon, -mday, -hour, -min, -sec, -fsec);
    }
    if !has_negative && !has_positive {
        out.push('0');
    } else if !standard {
        let ys = if year < 0 || mon < 0 { '-' } else { '+' };
        let ds = if mday < 0 { '-' } else { '+' };
        let ss = if hour < 0 || min < 0 || sec < 0 || fsec < 0 {
            '-'
        } else {
            '+'
        };
        out.push_str(&format!(
            "{ys}{}-{} {ds}{} {ss}{}:{:02}:{}",
            year.abs(),
            mon.abs(),
            mday.abs(),
            hour.abs(),
            min.abs(),
            seconds(sec, fsec, true)
        ));
    } else if has_year_month {
        out.push_str(&format!("{year}-{mon}"));
    } else if mday != 0 {
        out.push_str(&format!(
            "{mday} {hour}:{min:02}:{}",
            seconds(sec, fsec, true)
        ));
    } else {
        out.push_str(&format!("{hour}:{min:02}:{}", seconds(sec, fsec, true)));
    }
    out
}

fn format_verbose(iv: Interval) -> String {
    let (year, mon, mday, hour, min, sec, fsec) = iv.fields();
    let mut out = String::from("@");
    let mut is_zero = true;
    let mut is_before = false;
    for (v, unit) in [
        (year, "year"),
        (mon, "mon"),
        (mday, "day"),
        (hour, "hour"),
        (min, "min"),
    ] {
        if v == 0 {
            continue;
        }
        let mut v = v;
        if is_zero {
            is_before = v < 0;
            v = v.abs();
        } else if is_before {
            v = -v;
        }
        out.push_str(&format!(" {v} {unit}{}", if v == 1 { "" } else { "s" }));
        is_zero = false;
    }
    if sec != 0 || fsec != 0 {
        out.push(' ');
        if sec < 0 || (sec == 0 && fsec < 0) {
            if is_zero {
                is_before = true;
            } else if !is_before {
                out.push('-');
            }
        } else if is_before {
            out.push('-');
        }
        out.push_str(&seconds(sec, fsec, false));
        out.push_str(&format!(
            " sec{}",
            if sec.abs() != 1 || fsec != 0 { "s" } else { "" }
        ));
        is_zero = false;
    }
    if is_zero {
        out.push_str(" 0");
    }
    if is_before {
        out.push_str(" ago");
    }
    out
}

/// IntervalStyle postgres output.
fn format_postgres(iv: Interval) -> String {
    let (year, mon, mday, hour, min, sec, fsec) = iv.fields();
    let mut out = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    for (value, unit) in [(year, "year"), (mon, "mon"), (mday, "day")] {
        if value == 0 {
            continue;
        }
        if !is_zero {
            out.push(' ');
        }
        if is_before && value > 0 {
            out.push('+');
        }
        out.push_str(&format!(
            "{value} {unit}{}",
            if value != 1 { "s" } else { "" }
        ));
        is_before = value < 0;
        is_zero = false;
    }
    if is_zero || hour != 0 || min != 0 || sec != 0 || fsec != 0 {
        let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
        if !is_zero {
            out.push(' ');
        }
        if minus {
            out.push('-');
        } else if is_before {
            out.push('+');
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            hour.unsigned_abs(),
            min.unsigned_abs(),
            sec.unsigned_abs()
        ));
        if fsec != 0 {
            let f = format!("{:06}", fsec.unsigned_abs());
            out.push('.');
            out.push_str(f.trim_end_matches('0'));
        }
    }
    out
}

/// Units DecodeUnits knows (deltatktbl), lowercased.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

pub fn unit_of(word: &str) -> Option<Unit> {
    use Unit::*;
    Some(match word {
        "microsecond" | "microseconds" | "microsecon" | "us" | "usec" | "usecs" | "useconds" => {
            Microsecond
        }
        "millisecond" | "milliseconds" | "millisecon" | "ms" | "msec" | "msecs" | "mseconds" => {
            Millisecond
        }
        "second" | "seconds" | "s" | "sec" | "secs" => Second,
        "minute" | "minutes" | "m" | "min" | "mins" => Minute,
        "hour" | "hours" | "h" | "hr" | "hrs" => Hour,
        "day" | "days" | "d" => Day,
        "week" | "weeks" | "w" => Week,
        "month" | "months" | "mon" | "mons" => Month,
        "year" | "years" | "y" | "yr" | "yrs" => Year,
        "decade" | "decades" | "dec" | "decs" => Decade,
        "century" | "centuries" | "c" | "cent" => Century,
        "millennium" | "millennia" | "mil" | "mils" => Millennium,
        _ => return None,
    })
}

/// The fields of an interval being parsed (pg_itm_in).
#[derive(Default)]
struct Acc {
    micros: i64,
    days: i32,
    months: i32,
}

impl Acc {
    fn add_micros(&mut self, val: i64, fval: f64, scale: i64) -> Option<()> {
        self.micros = self
            .micros
            .checked_add(val.checked_mul(scale)?)?
            .checked_add(round_f(fval * scale as f64)?)?;
        Some(())
    }
    fn add_fract_micros(&mut self, fval: f64, scale: i64) -> Option<()> {
        if fval == 0.0 {
            return Some(());
        }
        self.micros = self.micros.checked_add(round_f(fval * scale as f64)?)?;
        Some(())
    }
    fn add_days(&mut self, val: i64, scale: i64) -> Option<()> {
        let d = i32::try_from(val.checked_mul(scale)?).ok()?;
        self.days = self.days.checked_add(d)?;
        Some(())
    }
    fn add_fract_days(&mut self, fval: f64, scale: i64) -> Option<()> {
        if fval == 0.0 {
            return Some(());
        }
        let fval = fval * scale as f64;
        let whole = fval.trunc();
        if !fits_i32(whole) {
            return None;
        }
        self.days = self.days.checked_add(trunc_i32(whole))?;
        self.add_fract_micros(fval - whole, USECS_PER_DAY)
    }
    fn add_months(&mut self, val: i64) -> Option<()> {
        self.months = self.months.checked_add(i32::try_from(val).ok()?)?;
        Some(())
    }
    fn add_years(&mut self, val: i64, scale: i64) -> Option<()> {
        let m = i32::try_from(val.checked_mul(scale)?.checked_mul(12)?).ok()?;
        self.months = self.months.checked_add(m)?;
        Some(())
    }
    fn add_fract_years(&mut self, fval: f64, scale: i64) -> Option<()> {
        if fval == 0.0 {
            return Some(());
        }
        let m = (fval * (scale * 12) as f64).trunc();
        if !fits_i32(m) {
            return None;
        }
        self.months = self.months.checked_add(trunc_i32(m))?;
        Some(())
    }
}

fn round_f(x: f64) -> Option<i64> {
    let r = x.round_ties_even();
    if r.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some(r as i64)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldKind {
    Number,
    Time,
    Signed,
    Word,
}

/// ParseDateTime's split of an interval string into fields.
fn split_fields(s: &str) -> Option<Vec<(FieldKind, String)>> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || c == '.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let kind = if i < b.len() && b[i] == ':' {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == ':' || b[i] == '.') {
                    i += 1;
                }
                FieldKind::Time
            } else {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == '-' || b[i] == '.') {
                    i += 1;
                }
                FieldKind::Number
            };
            out.push((kind, b[start..i].iter().collect()));
        } else if c == '+' || c == '-' {
            i += 1;
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i].is_ascii_digit() || b[i] == '.') {
                let ds = i;
                while i < b.len()
                    && (b[i].is_ascii_digit() || b[i] == ':' || b[i] == '.' || b[i] == '-')
                {
                    i += 1;
                }
                let mut f = String::from(c);
                f.extend(&b[ds..i]);
                out.push((FieldKind::Signed, f));
            } else if i < b.len() && b[i].is_alphabetic() {
                while i < b.len() && b[i].is_alphabetic() {
                    i += 1;
                }
                let mut f = String::from(c);
                f.extend(&b[start + 1..i]);
                out.push((FieldKind::Word, f.to_lowercase()));
            } else {
                return None;
            }
        } else if c.is_alphabetic() {
            while i < b.len() && b[i].is_alphabetic() {
                i += 1;
            }
            out.push((
                FieldKind::Word,
                b[start..i].iter().collect::<String>().to_lowercase(),
            ));
        } else if c.is_ascii_punctuation() {
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// A field qualifier's rightmost unit (`INTERVAL '1' DAY`): the unit a
/// bare number takes; None means seconds.
pub type Range = Option<Unit>;

/// Text input of an interval (IntervalStyle postgres rules).
pub fn parse(s: &str) -> Result<Interval> {
    parse_range(s, None, false)
}

/// `minute_to_second`: the qualifier is MINUTE TO SECOND (then `a:b` is
/// minutes and seconds).
pub fn parse_range(s: &str, range: Range, minute_to_second: bool) -> Result<Interval> {
    let t = s.trim();
    if let Some(iso) = t.strip_prefix('P') {
        return parse_iso(iso, s);
    }
    let fields = split_fields(t).ok_or_else(|| bad(s))?;
    // sql_standard: a leading '-' applies to every field when no other
    // field has a sign of its own.
    let force_negative = style() == Style::SqlStandard
        && fields.first().is_some_and(|(_, f)| f.starts_with('-'))
        && !fields[1..].iter().any(|(_, f)| f.starts_with(['-', '+']));
    let mut acc = Acc::default();
    let mut ty: Option<Unit> = None;
    let mut seen = 0u32;
    let mut parsing_unit = false;
    let mut is_before = false;
    // "ago" leaves no unit for a bare number before it ('5 ago' is bad).
    let mut ago_pending = false;
    let n = fields.len();
    for (i, (kind, f)) in fields.iter().enumerate().rev() {
        let tmask: u32;
        match kind {
            FieldKind::Time | FieldKind::Signed
                if *kind == FieldKind::Time || f[1..].contains(':') =>
            {
                let (neg, body) = match f.as_bytes()[0] {
                    b'-' => (true, &f[1..]),
                    b'+' => (false, &f[1..]),
                    _ => (false, f.as_str()),
                };
                let us = decode_time(body, minute_to_second).map_err(|e| match e {
                    TimeErr::Bad => bad(s),
                    TimeErr::Overflow => field_overflow(s),
                })?;
                acc.micros = if neg || force_negative { -us } else { us };
                tmask = 0b1110;
                ty = Some(Unit::Day);
                parsing_unit = false;
            }
            FieldKind::Number | FieldKind::Signed => {
                parsing_unit = false;
                let unit = ty.or(range).unwrap_or(Unit::Second);
                let neg = f.starts_with('-');
                let body = f.trim_start_matches(['+', '-']);
                let (int_part, rest) = match body.find(['-', '.']) {
                    Some(p) => (&body[..p], &body[p..]),
                    None => (body, ""),
                };
                if int_part.is_empty() && !rest.starts_with('.') {
                    return Err(bad(s));
                }
                if ago_pending && ty.is_none() {
                    return Err(bad(s));
                }
                let mut val: i64 = if int_part.is_empty() {
                    0
                } else {
                    let v: i64 = int_part.parse().map_err(|_| field_overflow(s))?;
                    let v = if neg { -v } else { v };
                    if i32::try_from(v).is_err() {
                        return Err(field_overflow(s));
                    }
                    v
                };
                let mut fval = 0.0;
                let mut unit = unit;
                if let Some(r) = rest.strip_prefix('-') {
                    // SQL "years-months".
                    if r.is_empty() || !r.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(bad(s));
                    }
                    let v2: i64 = r.parse().map_err(|_| field_overflow(s))?;
                    if v2 >= 12 {
                        return Err(field_overflow(s));
                    }
                    let v2 = if neg { -v2 } else { v2 };
                    val = val * 12 + v2;
                    unit = Unit::Month;
                } else if let Some(r) = rest.strip_prefix('.') {
                    if !r.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(bad(s));
                    }
                    fval = format!("0.{r}").parse::<f64>().map_err(|_| bad(s))?;
                    if neg {
                        fval = -fval;
                    }
                } else if !rest.is_empty() {
                    return Err(bad(s));
                }
                if force_negative {
                    val = -val.abs();
                    fval = -fval.abs();
                }
                let ok = match unit {
                    Unit::Microsecond => acc.add_micros(val, fval, 1),
                    Unit::Millisecond => acc.add_micros(val, fval, 1000),
                    Unit::Second => acc.add_micros(val, fval, USECS_PER_SEC),
                    Unit::Minute => acc.add_micros(val, fval, USECS_PER_MINUTE),
                    Unit::Hour => acc.add_micros(val, fval, USECS_PER_HOUR),
                    Unit::Day => acc
                        .add_days(val, 1)
                        .and_then(|()| acc.add_fract_micros(fval, USECS_PER_DAY)),
                    Unit::Week => acc
                        .add_days(val, 7)
                        .and_then(|()| acc.add_fract_days(fval, 7)),
                    Unit::Month => acc
                        .add_months(val)
                        .and_then(|()| acc.add_fract_days(fval, 30)),
                    Unit::Year => acc
                        .add_years(val, 1)
                        .and_then(|()| acc.add_fract_years(fval, 1)),
                    Unit::Decade => acc
                        .add_years(val, 10)
                        .and_then(|()| acc.add_fract_years(fval, 10)),
                    Unit::Century => acc
                        .add_years(val, 100)
                        .and_then(|()| acc.add_fract_years(fval, 100)),
                    Unit::Millennium => acc
                        .add_years(val, 1000)
                        .and_then(|()| acc.add_fract_years(fval, 1000)),
                };
                if ok.is_none() {
                    return Err(field_overflow(s));
                }
                tmask = match unit {
                    Unit::Microsecond | Unit::Millisecond => 0b1000,
                    Unit::Second if fval != 0.0 => 0b1000,
                    Unit::Second => 0b1000_0000_0000,
                    Unit::Minute => 0b100,
                    Unit::Hour => 0b10,
                    Unit::Day => 0b1_0000,
                    Unit::Week => 0b10_0000,
                    Unit::Month => 0b100_0000,
                    Unit::Year => 0b1000_0000,
                    Unit::Decade => 0b1_0000_0000,
                    Unit::Century => 0b10_0000_0000,
                    Unit::Millennium => 0b100_0000_0000,
                };
                if unit == Unit::Hour {
                    ty = Some(Unit::Day);
                }
            }
            FieldKind::Word => {
                if parsing_unit {
                    return Err(bad(s));
                }
                if f == "ago" {
                    if i != n - 1 {
                        return Err(bad(s));
                    }
                    is_before = true;
                    ago_pending = true;
                    continue;
                }
                match unit_of(f) {
                    Some(u) => {
                        ty = Some(u);
                        parsing_unit = true;
                        continue;
                    }
                    None => return Err(bad(s)),
                }
            }
            FieldKind::Time => return Err(bad(s)),
        }
        // Seconds and microseconds share a bit pattern loosely: PG's
        // masks forbid the same unit twice.
        let tm = if tmask == 0b1000_0000_0000 {
            0b1000
        } else {
            tmask
        };
        if tm & seen != 0 {
            return Err(bad(s));
        }
        seen |= tm;
    }
    if seen == 0 || parsing_unit {
        return Err(bad(s));
    }
    let mut iv = Interval::new(acc.months, acc.days, acc.micros);
    if is_before {
        iv = iv.checked_neg().map_err(|_| field_overflow(s))?;
    }
    Ok(iv)
}

enum TimeErr {
    Bad,
    Overflow,
}

/// DecodeTimeForInterval: `hh:mm`, `hh:mm:ss[.f]`, `mm:ss.f`.
fn decode_time(s: &str, minute_to_second: bool) -> std::result::Result<i64, TimeErr> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |x: &str| -> std::result::Result<i64, TimeErr> {
        if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
            return Err(TimeErr::Bad);
        }
        x.parse::<i64>().map_err(|_| TimeErr::Overflow)
    };
    let frac = |x: &str| -> std::result::Result<i64, TimeErr> {
        if !x.bytes().all(|c| c.is_ascii_digit()) {
            return Err(TimeErr::Bad);
        }
        let f: f64 = format!("0.{x}").parse().map_err(|_| TimeErr::Bad)?;
        round_f(f * 1e6).ok_or(TimeErr::Bad)
    };
    let (h, m, sec, fs) = match parts.as_slice() {
        [h, m] => match m.split_once('.') {
            Some((mm, f)) => (0, num(h)?, num(mm)?, frac(f)?),
            None if minute_to_second => (0, num(h)?, num(m)?, 0),
            None => (num(h)?, num(m)?, 0, 0),
        },
        [h, m, sec] => match sec.split_once('.') {
            Some((ss, f)) => (num(h)?, num(m)?, num(ss)?, frac(f)?),
            None => (num(h)?, num(m)?, num(sec)?, 0),
        },
        _ => return Err(TimeErr::Bad),
    };
    if m > 59 || sec > 60 || fs > USECS_PER_SEC {
        return Err(TimeErr::Overflow);
    }
    h.checked_mul(USECS_PER_HOUR)
        .and_then(|x| x.checked_add(m * USECS_PER_MINUTE + sec * USECS_PER_SEC + fs))
        .ok_or(TimeErr::Overflow)
}

/// ISO 8601 designators: `P1Y2M3W4DT5H6M7.5S` (after the `P`).
fn parse_iso(body: &str, orig: &str) -> Result<Interval> {
    if body.is_empty() {
        return Err(bad(orig));
    }
    let mut acc = Acc::default();
    let mut in_time = false;
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('T') {
            if in_time {
                return Err(bad(orig));
            }
            in_time = true;
            rest = r;
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .ok_or_else(|| bad(orig))?;
        let (num, tail) = rest.split_at(end);
        if num.is_empty() {
            return Err(bad(orig));
        }
        let x: f64 = num.parse().map_err(|_| bad(orig))?;
        let val = x.trunc();
        if !fits_i32(val) {
            return Err(field_overflow(orig));
        }
        let (val, fval) = (i64::from(trunc_i32(val)), x - val);
        let d = tail.chars().next().ok_or_else(|| bad(orig))?;
        let ok = match (in_time, d) {
            (false, 'Y') => acc
                .add_years(val, 1)
                .and_then(|()| acc.add_fract_years(fval, 1)),
            (false, 'M') => acc
                .add_months(val)
                .and_then(|()| acc.add_fract_days(fval, 30)),
            (false, 'W') => acc
                .add_days(val, 7)
                .and_then(|()| acc.add_fract_days(fval, 7)),
            (false, 'D') => acc
                .add_days(val, 1)
                .and_then(|()| acc.add_fract_micros(fval, USECS_PER_DAY)),
            (true, 'H') => acc.add_micros(val, fval, USECS_PER_HOUR),
            (true, 'M') => acc.add_micros(val, fval, USECS_PER_MINUTE),
            (true, 'S') => acc.add_micros(val, fval, USECS_PER_SEC),
            _ => return Err(bad(orig)),
        };
        if ok.is_none() {
            return Err(field_overflow(orig));
        }
        rest = &tail[1..];
    }
    Ok(Interval::new(acc.months, acc.days, acc.micros))
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
}
