//! date, timestamp and timestamptz: values are days (date) or
//! microseconds (timestamps) since 2000-01-01, PostgreSQL's epoch; text
//! input and output in ISO style. The session time zone is UTC, so a
//! timestamptz prints with `+00`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, SqlError};

/// Days from 1970-01-01 to 2000-01-01.
pub(crate) const PG_EPOCH_DAYS: i64 = 10_957;
pub const USECS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The current time as microseconds since 2000-01-01.
pub fn now_usecs(t: SystemTime) -> i64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let us = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    us - PG_EPOCH_DAYS * USECS_PER_DAY
}

fn syntax(ty: &str, s: &str) -> SqlError {
    SqlError::new(
        "22007",
        format!("invalid input syntax for type {ty}: \"{s}\""),
    )
}

fn range(s: &str) -> SqlError {
    SqlError::new(
        "22008",
        format!("date/time field value out of range: \"{s}\""),
    )
}

/// Splits off a trailing era word: `BC` (true) or `AD` (false).
fn strip_era(t: &str) -> (&str, bool) {
    let t = t.trim_end();
    for (word, bc) in [("BC", true), ("AD", false)] {
        if let Some(head) = t.len().checked_sub(2).and_then(|i| t.get(..i)) {
            let tail = &t[head.len()..];
            if tail.eq_ignore_ascii_case(word) && head.ends_with(char::is_whitespace) {
                return (head.trim_end(), bc);
            }
        }
    }
    (t, false)
}

/// Parses `YYYY-MM-DD` (a year before Christ when `bc`); returns days
/// since 2000-01-01.
fn parse_ymd(part: &str, ty: &str, orig: &str, bc: bool) -> Result<i64> {
    let mut it = part.split('-');
    let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(syntax(ty, orig));
    };
    let num = |x: &str| -> Result<i64> {
        if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax(ty, orig));
        }
        x.parse().map_err(|_| syntax(ty, orig))
    };
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if !(1..=9999).contains(&y) || bc && y > 4713 {
        return Err(SqlError::unsupported(
            "dates outside the years 4713 BC to 9999 AD",
        ));
    }
    // 1 BC is the proleptic Gregorian year 0, 2 BC year -1, ...
    let y = if bc { 1 - y } else { y };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(range(orig));
    }
    Ok(days_from_civil(y, m, d) - PG_EPOCH_DAYS)
}

pub fn parse_date(s: &str) -> Result<i64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("epoch") {
        return Ok(-PG_EPOCH_DAYS);
    }
    if [
        "infinity",
        "-infinity",
        "now",
        "today",
        "tomorrow",
        "yesterday",
    ]
    .iter()
    .any(|w| t.eq_ignore_ascii_case(w))
    {
        return Err(SqlError::unsupported(format!(
            "the special date value '{t}'"
        )));
    }
    let (body, bc) = strip_era(t);
    let day = body.split([' ', 'T']).next().unwrap_or("");
    if day.len() != body.len() {
        // A time part is allowed and ignored, as PostgreSQL does.
        parse_timestamp(t, "date", false)?;
    }
    parse_ymd(day, "date", s, bc)
}

/// Parses an ISO timestamp with an optional zone; for `with_tz` the zone
/// shifts the value to UTC, otherwise it is ignored (as PostgreSQL does).
pub fn parse_timestamp(s: &str, ty: &str, with_tz: bool) -> Result<i64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("epoch") {
        return Ok(-PG_EPOCH_DAYS * USECS_PER_DAY);
    }
    if [
        "infinity",
        "-infinity",
        "now",
        "today",
        "tomorrow",
        "yesterday",
    ]
    .iter()
    .any(|w| t.eq_ignore_ascii_case(w))
    {
        return Err(SqlError::unsupported(format!(
            "the special timestamp value '{t}'"
        )));
    }
    let (t, bc) = strip_era(t);
    let (day, rest) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let days = parse_ymd(day, ty, s, bc)?;
    let mut us = days * USECS_PER_DAY;
    if rest.is_empty() {
        return Ok(us);
    }
    // Split off a zone: Z, UTC, GMT, +HH, +HH:MM, +HHMM, -...
    let (time, zone) = {
        let upper = rest.to_ascii_uppercase();
        if let Some(x) = upper
            .strip_suffix("UTC")
            .or_else(|| upper.strip_suffix("GMT"))
            .or_else(|| upper.strip_suffix('Z'))
        {
            (rest[..x.trim_end().len()].to_string(), Some(0i64))
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let z = &rest[i + 1..];
            let digits: String = z.chars().filter(|c| *c != ':').collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4
            {
                return Err(syntax(ty, s));
            }
            let (h, m) = if digits.len() <= 2 {
                (digits.parse::<i64>().unwrap_or(0), 0)
            } else {
                let (a, b) = digits.split_at(digits.len() - 2);
                (a.parse::<i64>().unwrap_or(0), b.parse::<i64>().unwrap_or(0))
            };
            if h > 15 || m > 59 {
                return Err(SqlError::new(
                    "22009",
                    format!("time zone displacement out of range: \"{s}\""),
                ));
            }
            let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
            (
                rest[..i].trim().to_string(),
                Some(sign * (h * 3600 + m * 60)),
            )
        } else {
            (rest.to_string(), None)
        }
    };
    let mut parts = time.split(':');
    let h = parts.next().ok_or_else(|| syntax(ty, s))?;
    let mi = parts.next().ok_or_else(|| syntax(ty, s))?;
    let sec = parts.next().unwrap_or("0");
    if parts.next().is_some() {
        return Err(syntax(ty, s));
    }
    let num = |x: &str| -> Result<i64> {
        if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax(ty, s));
        }
        x.parse().map_err(|_| syntax(ty, s))
    };
    let (h, mi) = (num(h)?, num(mi)?);
    let (sec_i, frac) = match sec.split_once('.') {
        Some((a, b)) => (num(a)?, b),
        None => (num(sec)?, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(ty, s));
    }
    // Microseconds, rounded half up on the 7th digit.
    let mut frac_us = 0i64;
    for (i, c) in frac.bytes().take(7).enumerate() {
        let d = i64::from(c - b'0');
        if i < 6 {
            frac_us = frac_us * 10 + d;
        } else if d >= 5 {
            frac_us += 1;
        }
    }
    for _ in frac.len()..6 {
        frac_us *= 10;
    }
    if h > 24 || mi > 59 || sec_i > 60 || (h == 24 && (mi > 0 || sec_i > 0 || frac_us > 0)) {
        return Err(range(s));
    }
    us += ((h * 60 + mi) * 60 + sec_i) * 1_000_000 + frac_us;
    if with_tz {
        if let Some(z) = zone {
            us -= z * 1_000_000;
        }
    }
    Ok(us)
}

pub fn format_date(days: i64) -> String {
    let (ymd, bc) = ymd_text(days);
    if bc {
        format!("{ymd} BC")
    } else {
        ymd
    }
}

/// `YYYY-MM-DD` of a day, and whether its year is before Christ (the
/// era word goes last, after a timestamp's time and zone).
fn ymd_text(days: i64) -> (String, bool) {
    let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
    if y <= 0 {
        (format!("{:04}-{m:02}-{d:02}", 1 - y), true)
    } else {
        (format!("{y:04}-{m:02}-{d:02}"), false)
    }
}

pub fn format_timestamp(us: i64, with_tz: bool) -> String {
    let days = us.div_euclid(USECS_PER_DAY);
    let rem = us.rem_euclid(USECS_PER_DAY);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let (ymd, bc) = ymd_text(days);
    let mut out = format!(
        "{ymd} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac > 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    if with_tz {
        out.push_str("+00");
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

/// Rounds microseconds to a timestamp(p) precision.
pub fn round_precision(us: i64, p: i32) -> i64 {
    if !(0..6).contains(&p) {
        return us;
    }
    let unit = 10i64.pow(u32::try_from(6 - p).unwrap_or(0));
    let q = us.div_euclid(unit);
    let r = us.rem_euclid(unit);
    (if r * 2 >= unit { q + 1 } else { q }) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_date("2000-01-01").unwrap(), 0);
        assert_eq!(format_date(parse_date("2024-02-29").unwrap()), "2024-02-29");
        assert!(parse_date("2023-02-29").is_err());
        let ts = parse_timestamp("2024-03-05 12:34:56.789", "timestamp", false).unwrap();
        assert_eq!(format_timestamp(ts, false), "2024-03-05 12:34:56.789");
        let tz = parse_timestamp("2024-03-05 12:00:00+02", "timestamptz", true).unwrap();
        assert_eq!(format_timestamp(tz, true), "2024-03-05 10:00:00+00");
        assert_eq!(
            format_timestamp(
                parse_timestamp("1999-12-31T23:59:59Z", "timestamptz", true).unwrap(),
                true
            ),
            "1999-12-31 23:59:59+00"
        );
    }

    #[test]
    fn years_before_christ() {
        let d = parse_date("0044-03-15 BC").unwrap();
        assert_eq!(format_date(d), "0044-03-15 BC");
        assert_eq!(
            format_date(parse_date("0001-12-31 bc").unwrap() + 1),
            "0001-01-01"
        );
        let tz = parse_timestamp("0001-12-31 23:00:00.5+00 BC", "timestamptz", true).unwrap();
        assert_eq!(format_timestamp(tz, true), "0001-12-31 23:00:00.5+00 BC");
        assert_eq!(
            format_timestamp(
                parse_timestamp("2000-01-01 AD", "timestamp", false).unwrap(),
                false
            ),
            "2000-01-01 00:00:00"
        );
        assert!(parse_date("4714-01-01 BC").is_err());
    }
}
