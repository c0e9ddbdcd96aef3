//! to_char(timestamp | date | interval, format): PostgreSQL's datetime
//! template patterns (formatting.c's DCH keywords) with the FM, TH/th and
//! FX modifiers, double-quoted literal text and backslash escapes.

use crate::datetime::{civil_from_days, days_from_civil, PG_EPOCH_DAYS, USECS_PER_DAY};
use crate::interval::Interval;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// The keywords, longest first where one is a prefix of another.
const KEYWORDS: [&str; 72] = [
    "A.D.", "A.M.", "AD", "AM", "B.C.", "BC", "CC", "DAY", "DDD", "DD", "DY", "Day", "Dy", "D",
    "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "HH24", "HH12", "HH", "IDDD", "ID", "IW", "IYYY",
    "IYY", "IY", "I", "J", "MI", "MM", "MONTH", "MON", "MS", "Month", "Mon", "OF", "P.M.", "PM",
    "Q", "RM", "SSSSS", "SSSS", "SS", "TZH", "TZM", "TZ", "US", "WW", "W", "Y,YYY", "YYYY", "YYY",
    "YY", "Y", "a.d.", "a.m.", "b.c.", "month", "mon", "p.m.", "rm", "day", "dy", "tz", "of", "am",
    "pm", "ad", "bc",
];

/// The fields a template reads (year 0 is 1 BC; an interval's are its own).
struct Fields {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
    /// Days since 2000-01-01 (timestamps only).
    days: Option<i64>,
    /// Day of the year (an interval's: its span in days).
    yday: i64,
    interval: bool,
    tz: bool,
}

fn j2day(days: i64) -> i64 {
    (days + 2_451_545 + 1).rem_euclid(7)
}

fn isoweek(days: i64) -> (i64, i64) {
    // ISO week and year of a day (Monday-based, week 1 holds Jan 4).
    let dow = (j2day(days) + 6) % 7; // Monday = 0
    let thursday = days - dow + 3;
    let (iy, _, _) = civil_from_days(thursday + PG_EPOCH_DAYS);
    let jan1 = days_from_civil(iy, 1, 1) - PG_EPOCH_DAYS;
    ((thursday - jan1) / 7 + 1, iy)
}

/// PostgreSQL's date2j, also over an interval's fields.
fn date2j(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month > 2 {
        (year + 4800, month + 1)
    } else {
        (year + 4799, month + 13)
    };
    let century = y / 100;
    y * 365 - 32167 + y / 4 - century + century / 4 + 7834 * m / 256 + day
}

fn ordinal(n: i64, upper: bool) -> &'static str {
    let n = n.abs();
    let s = if (11..=13).contains(&(n % 100)) {
        "th"
    } else {
        match n % 10 {
            1 => "st",
            2 => "nd",
            3 => "rd",
            _ => "th",
        }
    };
    if upper {
        match s {
            "st" => "ST",
            "nd" => "ND",
            "rd" => "RD",
            _ => "TH",
        }
    } else {
        s
    }
}

fn cased(s: &str, kw: &str) -> String {
    if kw.chars().all(|c| !c.is_ascii_lowercase()) {
        s.to_uppercase()
    } else if kw.chars().all(|c| !c.is_ascii_uppercase()) {
        s.to_lowercase()
    } else {
        s.to_string()
    }
}

fn format(f: &Fields, fmt: &str) -> crate::error::Result<String> {
    let mut out = String::new();
    let b = fmt.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &fmt[i..];
        // Literal text.
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let ch = fmt[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            continue;
        }
        if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'"' {
            out.push('"');
            i += 2;
            continue;
        }
        // Prefix modifiers.
        let mut fm = false;
        let mut j = i;
        loop {
            let r = &fmt[j..];
            let two = r.get(..2).unwrap_or("");
            if two.eq_ignore_ascii_case("fm") {
                fm = true;
                j += 2;
            } else if two.eq_ignore_ascii_case("fx") || two.eq_ignore_ascii_case("tm") {
                j += 2;
            } else {
                break;
            }
        }
        let r = &fmt[j..];
        let kw = KEYWORDS
            .iter()
            .find(|k| r.starts_with(*k))
            .copied()
            .or_else(|| {
                // Number keywords match in any case.
                KEYWORDS
                    .iter()
                    .find(|k| {
                        r.len() >= k.len()
                            && r.is_char_boundary(k.len())
                            && r[..k.len()].eq_ignore_ascii_case(k)
                            && !k.chars().any(|c| c.is_ascii_lowercase())
                            && !matches!(
                                **k,
                                "DAY"
                                    | "DY"
                                    | "MONTH"
                                    | "MON"
                                    | "AM"
                                    | "PM"
                                    | "A.M."
                                    | "P.M."
                                    | "AD"
                                    | "BC"
                                    | "A.D."
                                    | "B.C."
                                    | "RM"
                                    | "TZ"
                                    | "OF"
                            )
                    })
                    .copied()
            });
        let Some(kw) = kw else {
            if j > i {
                // A lone modifier is copied as text? PostgreSQL drops it.
                i = j;
                continue;
            }
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        };
        let mut end = j + kw.len();
        let mut th = None;
        let after = &fmt[end..];
        if after.starts_with("TH") {
            th = Some(true);
            end += 2;
        } else if after.starts_with("th") {
            th = Some(false);
            end += 2;
        }
        i = end;
        let num = |out: &mut String, n: i64, width: usize| {
            if fm {
                out.push_str(&n.to_string());
            } else if n < 0 {
                out.push_str(&format!("-{:0w$}", -n, w = width));
            } else {
                out.push_str(&format!("{n:0width$}"));
            }
            if let Some(up) = th {
                out.push_str(ordinal(n, up));
            }
        };
        let text = |out: &mut String, s: &str, width: usize| {
            let s = cased(s, kw);
            if fm {
                out.push_str(&s);
            } else {
                out.push_str(&format!("{s:<width$}"));
            }
        };
        let adj_year = if f.interval || f.year > 0 {
            f.year
        } else {
            1 - f.year
        };
        let bc = !f.interval && f.year <= 0;
        let upper = kw.to_uppercase();
        // Patterns tied to calendar dates (INVALID_FOR_INTERVAL).
        if f.interval
            && matches!(
                upper.as_str(),
                "AD" | "BC"
                    | "A.D."
                    | "B.C."
                    | "MONTH"
                    | "MON"
                    | "DAY"
                    | "DY"
                    | "IDDD"
                    | "D"
                    | "ID"
                    | "IW"
                    | "IYYY"
                    | "IYY"
                    | "IY"
                    | "I"
                    | "TZ"
                    | "TZH"
                    | "TZM"
                    | "OF"
            )
        {
            return Err(crate::error::SqlError::new(
                "22007",
                "invalid format specification for an interval value",
            )
            .with_hint("Intervals are not tied to specific calendar dates."));
        }
        match upper.as_str() {
            "HH24" => num(&mut out, f.hour, 2),
            "HH" | "HH12" => {
                let h = match f.hour % 12 {
                    0 => 12,
                    h => h,
                };
                num(&mut out, h, 2)
            }
            "MI" => num(&mut out, f.min, 2),
            "SS" => num(&mut out, f.sec, 2),
            "SSSS" | "SSSSS" => num(&mut out, (f.hour * 60 + f.min) * 60 + f.sec, 0),
            "MS" => num(&mut out, f.fsec / 1000, 3),
            "US" => num(&mut out, f.fsec, 6),
            "FF1" | "FF2" | "FF3" | "FF4" | "FF5" | "FF6" => {
                let n: u32 = upper[2..].parse().unwrap_or(6);
                let v = f.fsec / 10i64.pow(6 - n);
                num(&mut out, v, n as usize)
            }
            "AM" | "PM" | "A.M." | "P.M." => {
                let pm = f.hour % 24 >= 12;
                let s = match (kw.contains('.'), pm) {
                    (false, false) => "AM",
                    (false, true) => "PM",
                    (true, false) => "A.M.",
                    (true, true) => "P.M.",
                };
                out.push_str(&if kw.chars().any(|c| c.is_ascii_lowercase()) {
                    s.to_lowercase()
                } else {
                    s.to_string()
                });
            }
            "AD" | "BC" | "A.D." | "B.C." => {
                let s = match (kw.contains('.'), bc) {
                    (false, false) => "AD",
                    (false, true) => "BC",
                    (true, false) => "A.D.",
                    (true, true) => "B.C.",
                };
                out.push_str(&if kw.chars().any(|c| c.is_ascii_lowercase()) {
                    s.to_lowercase()
                } else {
                    s.to_string()
                });
            }
            "Y,YYY" => {
                let y = adj_year;
                out.push_str(&format!("{},{:03}", y / 1000, y % 1000));
                if let Some(up) = th {
                    out.push_str(ordinal(y, up));
                }
            }
            "YYYY" => num(&mut out, adj_year, 4),
            "YYY" => num(&mut out, adj_year % 1000, 3),
            "YY" => num(&mut out, adj_year % 100, 2),
            "Y" => num(&mut out, adj_year % 10, 1),
            "IYYY" | "IYY" | "IY" | "I" => {
                let iy = f.days.map_or(f.year, |d| isoweek(d).1);
                let iy = if iy > 0 { iy } else { 1 - iy };
                let (m, w) = match upper.len() {
                    4 => (10_000, 4),
                    3 => (1000, 3),
                    2 => (100, 2),
                    _ => (10, 1),
                };
                num(&mut out, if w == 4 { iy } else { iy % m }, w)
            }
            "CC" => {
                let cc = if f.interval {
                    f.year / 100
                } else if f.year > 0 {
                    (f.year + 99) / 100
                } else {
                    -((99 - (f.year - 1)) / 100)
                };
                num(&mut out, cc, 2)
            }
            "MM" => num(&mut out, f.mon, 2),
            "MONTH" | "MON" if f.mon >= 1 => {
                let name = MONTHS[usize::try_from(f.mon - 1).unwrap_or(0) % 12];
                if upper == "MON" {
                    text(&mut out, &name[..3], 3)
                } else {
                    text(&mut out, name, 9)
                }
            }
            "RM" if f.mon >= 1 => {
                let r = ROMAN[usize::try_from(f.mon - 1).unwrap_or(0) % 12];
                text(&mut out, r, 4)
            }
            "DD" => num(&mut out, f.mday, 2),
            "DDD" => num(&mut out, f.yday, 3),
            "IDDD" => {
                let v = f.days.map_or(0, |d| {
                    let (w, _) = isoweek(d);
                    (w - 1) * 7 + (j2day(d) + 6) % 7 + 1
                });
                num(&mut out, v, 3)
            }
            "D" => num(&mut out, f.days.map_or(0, j2day) + 1, 1),
            "ID" => num(&mut out, f.days.map_or(0, |d| (j2day(d) + 6) % 7 + 1), 1),
            "DAY" | "DY" if let Some(d) = f.days => {
                let name = DAYS[usize::try_from(j2day(d)).unwrap_or(0)];
                if upper == "DY" {
                    text(&mut out, &name[..3], 3)
                } else {
                    text(&mut out, name, 9)
                }
            }
            "WW" => num(&mut out, (f.yday - 1) / 7 + 1, 2),
            "IW" => num(&mut out, f.days.map_or(0, |d| isoweek(d).0), 2),
            "W" => num(&mut out, (f.mday - 1) / 7 + 1, 1),
            "Q" if f.mon >= 1 => num(&mut out, (f.mon - 1) / 3 + 1, 1),
            "J" => num(&mut out, date2j(f.year, f.mon, f.mday), 0),
            "TZ" if f.tz => out.push_str(if kw == "tz" { "utc" } else { "UTC" }),
            "TZH" | "OF" => out.push_str("+00"),
            "TZM" => out.push_str("00"),
            _ => {}
        }
    }
    Ok(out)
}

/// to_char(timestamp[tz], text).
pub fn timestamp(us: i64, fmt: &str, tz: bool) -> String {
    let days = us.div_euclid(USECS_PER_DAY);
    let rem = us.rem_euclid(USECS_PER_DAY);
    let (year, mon, mday) = civil_from_days(days + PG_EPOCH_DAYS);
    let secs = rem / 1_000_000;
    let yday = days - (days_from_civil(year, 1, 1) - PG_EPOCH_DAYS) + 1;
    format(
        &Fields {
            year,
            mon,
            mday,
            hour: secs / 3600,
            min: secs / 60 % 60,
            sec: secs % 60,
            fsec: rem % 1_000_000,
            days: Some(days),
            yday,
            interval: false,
            tz,
        },
        fmt,
    )
    // Only an interval's template can be refused.
    .unwrap_or_default()
}

/// to_char(interval, text).
pub fn interval(iv: Interval, fmt: &str) -> crate::error::Result<String> {
    let (year, mon, mday, hour, min, sec, fsec) = iv.fields();
    format(
        &Fields {
            year,
            mon,
            mday,
            hour,
            min,
            sec,
            fsec,
            days: None,
            yday: (year * 12 + mon) * 30 + mday,
            interval: true,
            tz: false,
        },
        fmt,
    )
}

/// A template's pieces for to_char of a number.
enum NumTok {
    Digit(bool),
    Point,
    Comma,
    Sign(&'static str),
    Lit(String),
}

fn num_unsupported(what: &str) -> crate::error::SqlError {
    crate::error::SqlError::unsupported(format!("to_char() of numbers with {what}"))
}

/// to_char(number, format): the patterns 9 0 . , D G S MI PL SG FM TH
/// and literal text, as PostgreSQL's NUM_processor prints them.
pub fn number(n: &crate::numeric::Numeric, fmt: &str) -> crate::error::Result<String> {
    if n.is_nan() {
        return Err(num_unsupported("NaN"));
    }
    let mut toks = Vec::new();
    let mut fm = false;
    let mut th: Option<bool> = None;
    let mut has_sign = false;
    let mut seen_point = false;
    let mut pre = 0usize;
    let mut post = 0usize;
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let upper: Vec<char> = chars.iter().map(char::to_ascii_uppercase).collect();
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| upper.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let mut lit = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                lit.push(chars[i]);
                i += 1;
            }
            i += 1;
            toks.push(NumTok::Lit(lit));
            continue;
        }
        if at(i, "FM") {
            fm = true;
            i += 2;
        } else if at(i, "TH") {
            th = Some(chars[i] == 'T');
            i += 2;
        } else if c == '9' || c == '0' {
            toks.push(NumTok::Digit(c == '0'));
            if seen_point {
                post += 1;
            } else {
                pre += 1;
            }
            i += 1;
        } else if c == '.' || upper[i] == 'D' {
            if seen_point {
                return Err(crate::error::SqlError::new(
                    "42601",
                    "multiple decimal points",
                ));
            }
            seen_point = true;
            toks.push(NumTok::Point);
            i += 1;
        } else if c == ',' || upper[i] == 'G' {
            toks.push(NumTok::Comma);
            i += 1;
        } else if at(i, "MI") || at(i, "PL") || at(i, "SG") {
            has_sign |= upper[i] != 'P';
            toks.push(NumTok::Sign(match upper[i] {
                'M' => "MI",
                'P' => "PL",
                _ => "SG",
            }));
            i += 2;
        } else if upper[i] == 'S' {
            has_sign = true;
            toks.push(NumTok::Sign("S"));
            i += 1;
        } else if at(i, "EEEE")
            || at(i, "PR")
            || at(i, "RN")
            || upper[i] == 'V'
            || upper[i] == 'L'
            || upper[i] == 'B'
        {
            return Err(num_unsupported(&format!("the pattern {}", chars[i])));
        } else {
            toks.push(NumTok::Lit(c.to_string()));
            i += 1;
        }
    }
    let rounded = n.round(i32::try_from(post).unwrap_or(0)).to_string();
    let neg = rounded.starts_with('-') && rounded.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let body = rounded.trim_start_matches('-');
    let (ip, fp) = match body.split_once('.') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (body.to_string(), String::new()),
    };
    let ip = if seen_point && ip == "0" {
        String::new()
    } else {
        ip
    };
    let fp: Vec<char> = fp
        .chars()
        .chain(std::iter::repeat('0'))
        .take(post)
        .collect();
    let overflow = ip.len() > pre;
    let ipc: Vec<char> = ip.chars().collect();
    let lead = pre.saturating_sub(ipc.len());
    // Where the number starts: the first significant digit, or the first
    // '0' in the template, or the decimal point.
    let mut out = String::new();
    let mut started = false;
    let mut slot = 0usize; // integer digit slots seen
    let mut frac = 0usize;
    let mut after_point = false;
    let sign_char = |out: &mut String| {
        if neg {
            out.push('-');
        } else if !fm {
            out.push(' ');
        }
    };
    let mut trailing_nine_zeros = 0usize;
    // An S before the number puts the sign right before its first digit.
    let mut s_pending = false;
    let start = |out: &mut String, s_pending: bool| {
        if s_pending {
            out.push(if neg { '-' } else { '+' });
        } else if !has_sign {
            sign_char(out);
        }
    };
    for t in &toks {
        match t {
            NumTok::Digit(zero) if !after_point => {
                let idx = slot;
                slot += 1;
                let digit = if overflow {
                    Some('#')
                } else if idx >= lead {
                    Some(ipc[idx - lead])
                } else if *zero || started {
                    Some('0')
                } else {
                    None
                };
                match digit {
                    Some(d) => {
                        if !started {
                            started = true;
                            start(&mut out, s_pending);
                        }
                        out.push(d);
                    }
                    None => {
                        if !fm {
                            out.push(' ');
                        }
                    }
                }
            }
            NumTok::Digit(zero) => {
                let d = if overflow { '#' } else { fp[frac] };
                frac += 1;
                out.push(d);
                if !zero && d == '0' {
                    trailing_nine_zeros += 1;
                } else {
                    trailing_nine_zeros = 0;
                }
            }
            NumTok::Point => {
                if !started {
                    started = true;
                    start(&mut out, s_pending);
                }
                after_point = true;
                out.push('.');
            }
            NumTok::Comma => {
                if started {
                    out.push(',');
                } else if !fm {
                    out.push(' ');
                }
            }
            NumTok::Sign(kind) => match *kind {
                "MI" => {
                    if neg {
                        out.push('-');
                    } else if !fm {
                        out.push(' ');
                    }
                }
                "PL" => {
                    if neg {
                        if !fm {
                            out.push(' ');
                        }
                    } else {
                        out.push('+');
                    }
                }
                "SG" => out.push(if neg { '-' } else { '+' }),
                _ if !started => s_pending = true,
                _ => out.push(if neg { '-' } else { '+' }),
            },
            NumTok::Lit(s) => {
                trailing_nine_zeros = 0;
                out.push_str(s);
            }
        }
    }
    if fm && trailing_nine_zeros > 0 && !overflow && out.ends_with(&"0".repeat(trailing_nine_zeros))
    {
        out.truncate(out.len() - trailing_nine_zeros);
    }
    if let Some(up) = th {
        let v: i64 = ip.parse().unwrap_or(0);
        out.push_str(ordinal(v, up));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_templates_do_not_panic() {
        for fmt in ["fé", "FMé", "\"é", "\\", "é\"", "FM", "THth", "Y,YYé"] {
            let _ = timestamp(0, fmt, true);
            let _ = interval(Interval::new(1, 2, 3), fmt);
        }
        assert_eq!(
            timestamp(0, "FMDDth Month YYYY", false),
            "1st January   2000"
        );
    }

    #[test]
    fn random_number_templates_never_panic() {
        const PIECES: [&str; 16] = [
            "9", "0", ".", ",", "FM", "S", "MI", "PL", "SG", "TH", "\"", "é", "D", "G", " ", "th",
        ];
        let n = crate::numeric::Numeric::parse("-1234.5678").unwrap();
        let mut x: u64 = 0x1234_5678_9ABC_DEF1;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 8 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(PIECES[usize::try_from(x % 16).unwrap_or(0)]);
            }
            let _ = number(&n, &s);
            let _ = timestamp(0, &s, true);
            let _ = crate::from_char::parse("2024-03-05 1:02:03", &s);
        }
    }
}
