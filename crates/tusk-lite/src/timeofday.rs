//! time (without time zone): microseconds since midnight, 0 to
//! 24:00:00 inclusive, as PostgreSQL's time_in and time_out read and print.

use crate::datetime::USECS_PER_DAY;
use crate::error::{Result, SqlError};

fn bad(s: &str) -> SqlError {
    SqlError::new(
        "22007",
        format!("invalid input syntax for type time: \"{s}\""),
    )
}

fn range(s: &str) -> SqlError {
    SqlError::new(
        "22008",
        format!("date/time field value out of range: \"{s}\""),
    )
}

/// Text input: `hh:mm[:ss[.ffffff]]` with an optional AM/PM, an optional
/// date in front and a zone behind (both ignored, as time_in does).
pub fn parse(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "allballs" {
        return Ok(0);
    }
    if ["now", "infinity", "-infinity", "epoch"].contains(&t.as_str()) {
        return Err(SqlError::unsupported(format!(
            "the special time value '{t}'"
        )));
    }
    let mut tokens: Vec<&str> = t.split_whitespace().collect();

    // A date in front (a timestamp's text) is read and dropped.
    if tokens.len() > 1 && tokens[0].contains(['-', '/']) && !tokens[0].starts_with(['-', '+']) {
        crate::datetime::parse_date(tokens[0]).map_err(|_| bad(s))?;
        tokens.remove(0);
    }
    let mut ampm = None;
    if let Some(last) = tokens.last() {
        match *last {
            "am" | "a.m." => ampm = Some(false),
            "pm" | "p.m." => ampm = Some(true),
            _ => {}
        }
        if ampm.is_some() {
            tokens.pop();
        }
    }
    // A zone behind: `z`, `utc`, `gmt`, `+hh[:mm]`, `-hh[:mm]` (ignored).
    if tokens.len() > 1 {
        let z = tokens[tokens.len() - 1];
        if ["z", "utc", "gmt"].contains(&z) || z.starts_with(['+', '-']) {
            tokens.pop();
        }
    }
    let [body] = tokens.as_slice() else {
        return Err(bad(s));
    };
    let mut body = *body;
    for (suffix, pm) in [("am", false), ("pm", true)] {
        if let Some(b) = body.strip_suffix(suffix) {
            body = b;
            ampm = Some(pm);
        }
    }
    let body = match body.find(['+', '-', 'z']) {
        Some(i) if i > 0 => {
            // A zone behind (ignored): `z`, or a sign and digits/colons.
            let zone = &body[i..];
            let ok = zone == "z"
                || (zone.len() > 1 && zone[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'));
            if !ok {
                return Err(bad(s));
            }
            &body[..i]
        }
        _ => body,
    };
    let num = |x: &str| -> Result<i64> {
        if x.is_empty() || x.len() > 9 || !x.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad(s));
        }
        x.parse().map_err(|_| bad(s))
    };
    // hhmmss[.f] without colons.
    let compact;
    let body = match body.split_once('.') {
        _ if body.contains(':') => body,
        Some((digits, frac)) if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            compact = format!("{}:{}:{}.{frac}", &digits[..2], &digits[2..4], &digits[4..]);
            compact.as_str()
        }
        None if body.len() == 6 && body.bytes().all(|b| b.is_ascii_digit()) => {
            compact = format!("{}:{}:{}", &body[..2], &body[2..4], &body[4..]);
            compact.as_str()
        }
        None if body.len() == 4 && body.bytes().all(|b| b.is_ascii_digit()) => {
            compact = format!("{}:{}", &body[..2], &body[2..]);
            compact.as_str()
        }
        _ => body,
    };
    let parts: Vec<&str> = body.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (num(h)?, num(m)?, "0"),
        [h, m, sec] => (num(h)?, num(m)?, *sec),
        _ => return Err(bad(s)),
    };
    let (si, frac) = match sec.split_once('.') {
        Some((a, b)) => (num(a)?, b),
        None => (num(sec)?, ""),
    };
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(s));
    }
    let f: f64 = format!("0.{frac}0").parse().map_err(|_| bad(s))?;
    #[allow(clippy::cast_possible_truncation)]
    let fus = (f * 1e6).round_ties_even() as i64;
    let mut h = h;
    if let Some(pm) = ampm {
        if !(0..=12).contains(&h) {
            return Err(range(s));
        }
        if pm && h != 12 {
            h += 12;
        } else if !pm && h == 12 {
            h = 0;
        }
    }
    if h > 24 || m > 59 || si > 60 {
        return Err(range(s));
    }
    let us = ((h * 60 + m) * 60 + si) * 1_000_000 + fus;
    if us > USECS_PER_DAY {
        return Err(range(s));
    }
    Ok(us)
}

/// time_out: `HH:MM:SS[.ffffff]` (trailing zeros of the fraction dropped).
pub fn format(us: i64) -> String {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac > 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// time(p): rounds to p fractional digits.
pub fn round_precision(us: i64, p: i32) -> i64 {
    crate::datetime::round_precision(us, p)
}

/// time + interval: the interval's time part, wrapped around midnight.
pub fn add(us: i64, iv_micros: i64) -> i64 {
    (us + iv_micros.rem_euclid(USECS_PER_DAY)).rem_euclid(USECS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_prints() {
        assert_eq!(format(parse("12:34:56.789").unwrap()), "12:34:56.789");
        assert_eq!(format(parse("1:02 pm").unwrap()), "13:02:00");
        assert_eq!(format(parse("24:00").unwrap()), "24:00:00");
        assert_eq!(format(parse("2024-01-01 04:05:06+02").unwrap()), "04:05:06");
        assert!(parse("25:00").is_err());
        assert!(parse("abc").is_err());
    }

    #[test]
    fn random_text_never_panics() {
        const PIECES: [&str; 16] = [
            "1",
            "-",
            "+",
            ".",
            ":",
            "z",
            " ",
            "am",
            "pm",
            "2024-01-01",
            "é",
            "24",
            "60",
            "040506",
            "t",
            "99999999999",
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 6 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(PIECES[usize::try_from(x % 16).unwrap_or(0)]);
            }
            if let Ok(us) = parse(&s) {
                assert!((0..=USECS_PER_DAY).contains(&us), "{s}");
            }
        }
    }
}
