//! Interval text input (DecodeInterval, DecodeISO8601Interval).

use super::format::{style, Style};
use super::*;

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
    /// Years apart from months, as pg_itm_in keeps them: the sum is
    /// checked last ("interval out of range").
    years: i32,
}

impl Acc {
    /// AdjustMicroseconds.
    fn add_micros(&mut self, val: i64, fval: f64, scale: i64) -> Option<()> {
        self.micros = self.micros.checked_add(val.checked_mul(scale)?)?;
        self.add_fract_micros(fval, scale)
    }
    /// AdjustFractMicroseconds: truncated, then a remainder past one half
    /// rounds away from zero.
    fn add_fract_micros(&mut self, fval: f64, scale: i64) -> Option<()> {
        if fval == 0.0 {
            return Some(());
        }
        let f = fval * scale as f64;
        let whole = f.trunc();
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&whole) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        let mut us = whole as i64;
        let rem = f - whole;
        if rem > 0.5 {
            us += 1;
        } else if rem < -0.5 {
            us -= 1;
        }
        self.micros = self.micros.checked_add(us)?;
        Some(())
    }
    fn add_days(&mut self, val: i64, scale: i64) -> Option<()> {
        let d = i32::try_from(val)
            .ok()?
            .checked_mul(i32::try_from(scale).ok()?)?;
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
        let y = i32::try_from(val)
            .ok()?
            .checked_mul(i32::try_from(scale).ok()?)?;
        self.years = self.years.checked_add(y)?;
        Some(())
    }
    /// AdjustFractYears: the months, rounded (rint).
    fn add_fract_years(&mut self, fval: f64, scale: i64) -> Option<()> {
        if fval == 0.0 {
            return Some(());
        }
        let m = (fval * (scale * 12) as f64).round_ties_even();
        if !fits_i32(m) {
            return None;
        }
        self.months = self.months.checked_add(trunc_i32(m))?;
        Some(())
    }
    /// "ago": every field negated (a field overflow when one cannot be).
    fn negate(&mut self) -> Option<()> {
        self.micros = self.micros.checked_neg()?;
        self.days = self.days.checked_neg()?;
        self.months = self.months.checked_neg()?;
        self.years = self.years.checked_neg()?;
        Some(())
    }
    /// itm2interval: years and months become one month count.
    fn finish(&self) -> Result<Interval> {
        let months = i64::from(self.years) * 12 + i64::from(self.months);
        let months = i32::try_from(months).map_err(|_| out_of_range())?;
        Ok(Interval::new(months, self.days, self.micros))
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
                    let v: i64 = format!("{}{int_part}", if neg { "-" } else { "" })
                        .parse()
                        .map_err(|_| field_overflow(s))?;
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
                    val = val
                        .checked_mul(12)
                        .and_then(|x| x.checked_add(v2))
                        .ok_or_else(|| field_overflow(s))?;
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
    if is_before {
        acc.negate().ok_or_else(|| field_overflow(s))?;
    }
    acc.finish()
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
    let b = body.as_bytes();
    let mut acc = Acc::default();
    let mut datepart = true;
    let mut havefield = false;
    let mut pos = 0usize;
    // ParseISO8601Number: a decimal number; its integer and fraction
    // parts, and the digits its integer part had.
    let number = |pos: &mut usize| -> Result<(i64, f64, usize)> {
        let start = *pos;
        if !matches!(b.get(start), Some(c) if c.is_ascii_digit() || *c == b'-' || *c == b'.') {
            return Err(bad(orig));
        }
        let mut e = start;
        if b[e] == b'-' {
            e += 1;
        }
        while e < b.len() && (b[e].is_ascii_digit() || b[e] == b'.') {
            e += 1;
        }
        let text = &body[start..e];
        let x: f64 = text.parse().map_err(|_| bad(orig))?;
        let whole = x.trunc();
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&whole) {
            return Err(field_overflow(orig));
        }
        *pos = e;
        #[allow(clippy::cast_possible_truncation)]
        let ip = whole as i64;
        let width = text.bytes().take_while(u8::is_ascii_digit).count();
        Ok((ip, x - whole, width))
    };
    let of = |r: Option<()>| r.ok_or_else(|| field_overflow(orig));
    while pos < b.len() {
        if b[pos] == b'T' {
            datepart = false;
            havefield = false;
            pos += 1;
            continue;
        }
        let (val, fval, width) = number(&mut pos)?;
        let unit = b.get(pos).copied().unwrap_or(0);
        pos += 1;
        if datepart {
            match unit {
                b'Y' => of(acc
                    .add_years(val, 1)
                    .and_then(|()| acc.add_fract_years(fval, 1)))?,
                b'M' => of(acc
                    .add_months(val)
                    .and_then(|()| acc.add_fract_days(fval, 30)))?,
                b'W' => of(acc
                    .add_days(val, 7)
                    .and_then(|()| acc.add_fract_days(fval, 7)))?,
                b'D' => of(acc
                    .add_days(val, 1)
                    .and_then(|()| acc.add_fract_micros(fval, USECS_PER_DAY)))?,
                b'T' | 0 if width == 8 && !havefield => {
                    // YYYYMMDD.
                    of(acc
                        .add_years(val / 10000, 1)
                        .and_then(|()| acc.add_months(val / 100 % 100))
                        .and_then(|()| acc.add_days(val % 100, 1))
                        .and_then(|()| acc.add_fract_micros(fval, USECS_PER_DAY)))?;
                    if unit == 0 {
                        return acc.finish();
                    }
                    datepart = false;
                    havefield = false;
                    continue;
                }
                b'T' | 0 | b'-' => {
                    // Y-M-D, each part optional from the right.
                    if havefield {
                        return Err(bad(orig));
                    }
                    of(acc
                        .add_years(val, 1)
                        .and_then(|()| acc.add_fract_years(fval, 1)))?;
                    if unit == 0 {
                        return acc.finish();
                    }
                    if unit == b'T' {
                        datepart = false;
                        havefield = false;
                        continue;
                    }
                    let (m, mf, _) = number(&mut pos)?;
                    of(acc.add_months(m).and_then(|()| acc.add_fract_days(mf, 30)))?;
                    match b.get(pos) {
                        None => return acc.finish(),
                        Some(b'T') => {
                            pos += 1;
                            datepart = false;
                            havefield = false;
                            continue;
                        }
                        Some(b'-') => pos += 1,
                        _ => return Err(bad(orig)),
                    }
                    let (d, df, _) = number(&mut pos)?;
                    of(acc
                        .add_days(d, 1)
                        .and_then(|()| acc.add_fract_micros(df, USECS_PER_DAY)))?;
                    match b.get(pos) {
                        None => return acc.finish(),
                        Some(b'T') => {
                            pos += 1;
                            datepart = false;
                            havefield = false;
                            continue;
                        }
                        _ => return Err(bad(orig)),
                    }
                }
                _ => return Err(bad(orig)),
            }
        } else {
            match unit {
                b'H' => of(acc.add_micros(val, fval, USECS_PER_HOUR))?,
                b'M' => of(acc.add_micros(val, fval, USECS_PER_MINUTE))?,
                b'S' => of(acc.add_micros(val, fval, USECS_PER_SEC))?,
                0 if width == 6 && !havefield => {
                    // hhmmss.
                    of(acc
                        .add_micros(val / 10000, 0.0, USECS_PER_HOUR)
                        .and_then(|()| acc.add_micros(val / 100 % 100, 0.0, USECS_PER_MINUTE))
                        .and_then(|()| acc.add_micros(val % 100, 0.0, USECS_PER_SEC))
                        .and_then(|()| acc.add_fract_micros(fval, 1)))?;
                    return acc.finish();
                }
                0 | b':' => {
                    // h:m:s.
                    if havefield {
                        return Err(bad(orig));
                    }
                    of(acc.add_micros(val, fval, USECS_PER_HOUR))?;
                    if unit == 0 {
                        return acc.finish();
                    }
                    let (m, mf, _) = number(&mut pos)?;
                    of(acc.add_micros(m, mf, USECS_PER_MINUTE))?;
                    match b.get(pos) {
                        None => return acc.finish(),
                        Some(b':') => pos += 1,
                        _ => return Err(bad(orig)),
                    }
                    let (sec, sf, _) = number(&mut pos)?;
                    of(acc.add_micros(sec, sf, USECS_PER_SEC))?;
                    if pos < b.len() {
                        return Err(bad(orig));
                    }
                    return acc.finish();
                }
                _ => return Err(bad(orig)),
            }
        }
        havefield = true;
    }
    acc.finish()
}
