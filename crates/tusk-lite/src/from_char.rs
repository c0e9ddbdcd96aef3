//! to_timestamp(text, format) and to_date(text, format): PostgreSQL's
//! from_char rules for the common patterns (YYYY YY MM DD DDD HH24 HH12 HH
//! MI SS MS US AM/PM Mon Month Dy Day, FM, separators): a separator in the
//! template matches one separator in the input or none, blanks before a
//! field are skipped, a field followed by a separator (or the end) reads
//! as many digits as there are, and input that ends early leaves the
//! remaining fields at their defaults (year 1 BC, January, day 1).

use crate::datetime::{days_from_civil, days_in_month, PG_EPOCH_DAYS, USECS_PER_DAY};
use crate::error::{Result, SqlError};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// Patterns, longest first; (pattern, digits it takes, is a number).
const PATTERNS: [(&str, usize); 22] = [
    ("A.M.", 0),
    ("P.M.", 0),
    ("AM", 0),
    ("PM", 0),
    ("DDD", 3),
    ("DD", 2),
    ("DAY", 0),
    ("DY", 0),
    ("HH24", 2),
    ("HH12", 2),
    ("HH", 2),
    ("MI", 2),
    ("MM", 2),
    ("MONTH", 0),
    ("MON", 0),
    ("MS", 3),
    ("SS", 2),
    ("US", 6),
    ("YYYY", 4),
    ("YY", 2),
    ("FM", 0),
    ("FX", 0),
];

/// Patterns tusk-lite does not read back (0A000 rather than a guess).
const UNSUPPORTED: [&str; 14] = [
    "Y,YYY", "YYY", "IYYY", "IW", "ID", "TZH", "TZM", "TZ", "OF", "SSSS", "CC", "J", "WW", "RM",
];

enum Node {
    Field(&'static str, usize, bool),
    Sep,
    Lit(char),
}

fn bad_value(v: &str, pat: &str, detail: &str) -> SqlError {
    SqlError::new("22007", format!("invalid value \"{v}\" for \"{pat}\"")).with_detail(detail)
}

fn nodes(fmt: &str) -> Result<Vec<Node>> {
    let chars: Vec<char> = fmt.chars().collect();
    let up: String = fmt.to_ascii_uppercase();
    let upc: Vec<char> = up.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut fm = false;
    let starts = |i: usize, p: &str| {
        p.chars()
            .enumerate()
            .all(|(k, c)| upc.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                out.push(Node::Lit(chars[i]));
                i += 1;
            }
            i += 1;
            continue;
        }
        if let Some(p) = UNSUPPORTED.iter().find(|p| starts(i, p)) {
            if !PATTERNS
                .iter()
                .any(|(q, _)| q.len() > p.len() && starts(i, q))
            {
                return Err(SqlError::unsupported(format!(
                    "to_timestamp()/to_date() with the pattern {p}"
                )));
            }
        }
        if let Some((p, n)) = PATTERNS.iter().find(|(p, _)| starts(i, p)) {
            i += p.chars().count();
            match *p {
                "FM" => fm = true,
                "FX" => return Err(SqlError::unsupported("to_timestamp()/to_date() in FX mode")),
                _ => {
                    out.push(Node::Field(p, *n, fm));
                    fm = false;
                }
            }
            continue;
        }
        let c = chars[i];
        out.push(if c.is_alphanumeric() {
            Node::Lit(c)
        } else {
            Node::Sep
        });
        i += 1;
    }
    Ok(out)
}

#[derive(Default)]
struct Fields {
    year: Option<i64>,
    mon: Option<i64>,
    mday: Option<i64>,
    yday: Option<i64>,
    hour: i64,
    hour12: bool,
    pm: Option<bool>,
    min: i64,
    sec: i64,
    us: i64,
}

/// Parses `input` under `fmt`: microseconds since 2000-01-01.
pub fn parse(input: &str, fmt: &str) -> Result<i64> {
    let nodes = nodes(fmt)?;
    let s: Vec<char> = input.chars().collect();
    let mut pos = 0usize;
    let mut f = Fields::default();
    for (k, node) in nodes.iter().enumerate() {
        if pos >= s.len() {
            break;
        }
        match node {
            Node::Sep => {
                if !s[pos].is_alphanumeric() {
                    pos += 1;
                }
            }
            Node::Lit(_) => pos += 1,
            Node::Field(p, len, fm) => {
                while pos < s.len() && s[pos].is_whitespace() {
                    pos += 1;
                }
                if *len == 0 {
                    let rest: String = s[pos..].iter().collect::<String>().to_lowercase();
                    let word = |list: &[&str], abbrev: bool| -> Option<(usize, usize)> {
                        list.iter().enumerate().find_map(|(i, w)| {
                            let w = if abbrev { &w[..3] } else { w };
                            rest.starts_with(w).then_some((i, w.chars().count()))
                        })
                    };
                    let no_match = || {
                        let v: String = s[pos..].iter().take_while(|c| c.is_alphabetic()).collect();
                        bad_value(
                            &v,
                            p_name(p),
                            "The given value did not match any of the allowed values for this field.",
                        )
                    };
                    match *p {
                        "MONTH" | "MON" => {
                            let (i, n) = word(&MONTHS, *p == "MON").ok_or_else(no_match)?;
                            f.mon = Some(i64::try_from(i).unwrap_or(0) + 1);
                            pos += n;
                        }
                        "DAY" | "DY" => {
                            let (_, n) = word(&DAYS, *p == "DY").ok_or_else(no_match)?;
                            pos += n;
                        }
                        _ => {
                            // AM/PM/A.M./P.M.
                            let dotted = p.contains('.');
                            let (am, pm) = if dotted {
                                ("a.m.", "p.m.")
                            } else {
                                ("am", "pm")
                            };
                            if rest.starts_with(am) {
                                f.pm = Some(false);
                            } else if rest.starts_with(pm) {
                                f.pm = Some(true);
                            } else {
                                return Err(no_match());
                            }
                            pos += am.len();
                        }
                    }
                    continue;
                }
                let next_sep = match nodes.get(k + 1) {
                    None | Some(Node::Sep) => true,
                    Some(Node::Field(_, n, _)) => *n == 0,
                    Some(Node::Lit(c)) => !c.is_ascii_digit(),
                };
                let start = pos;
                let digits: String = if *fm || next_sep {
                    let mut e = pos;
                    if e < s.len() && (s[e] == '-' || s[e] == '+') {
                        e += 1;
                    }
                    while e < s.len() && s[e].is_ascii_digit() {
                        e += 1;
                    }
                    pos = e;
                    s[start..e].iter().collect()
                } else {
                    let e = (pos + len).min(s.len());
                    if e - pos < *len {
                        return Err(SqlError::new(
                            "22007",
                            format!(
                                "source string too short for \"{}\" formatting field",
                                p_name(p)
                            ),
                        )
                        .with_detail(format!(
                            "Field requires {len} characters, but only {} remain.",
                            e - pos
                        ))
                        .with_hint(
                            "If your source string is not fixed-width, try using the \"FM\" modifier.",
                        ));
                    }
                    pos = e;
                    s[start..e].iter().collect()
                };
                let v: i64 = digits.parse().map_err(|_| {
                    let shown: String = s[start..].iter().take(*len.max(&1)).collect();
                    bad_value(&shown, p_name(p), "Value must be an integer.")
                })?;
                let ndig = i64::try_from(digits.trim_start_matches(['-', '+']).len()).unwrap_or(0);
                match *p {
                    "YYYY" => f.year = Some(v),
                    "YY" => {
                        f.year = Some(if v < 70 {
                            v + 2000
                        } else if v < 100 {
                            v + 1900
                        } else {
                            v
                        })
                    }
                    "MM" => f.mon = Some(v),
                    "DD" => f.mday = Some(v),
                    "DDD" => f.yday = Some(v),
                    "HH24" => f.hour = v,
                    "HH12" | "HH" => {
                        f.hour = v;
                        f.hour12 = true;
                    }
                    "MI" => f.min = v,
                    "SS" => f.sec = v,
                    "MS" => {
                        f.us = v * 1000 * 10i64.pow(u32::try_from((3 - ndig).max(0)).unwrap_or(0))
                    }
                    _ => f.us = v * 10i64.pow(u32::try_from((6 - ndig).max(0)).unwrap_or(0)),
                }
            }
        }
    }
    let range = || {
        SqlError::new(
            "22008",
            format!("date/time field value out of range: \"{input}\""),
        )
    };
    if f.hour12 || f.pm.is_some() {
        if f.hour12 && !(1..=12).contains(&f.hour) {
            return Err(SqlError::new(
                "22007",
                format!("hour \"{}\" is invalid for the 12-hour clock", f.hour),
            )
            .with_hint("Use the 24-hour clock, or give an hour between 1 and 12."));
        }
        if f.pm == Some(true) && f.hour < 12 {
            f.hour += 12;
        } else if f.pm == Some(false) && f.hour == 12 {
            f.hour = 0;
        }
    }
    // A year before 1 is BC in the input (year 0 is 1 BC, as the default).
    let year = match f.year {
        Some(y) if y <= 0 => return Err(range()),
        Some(y) => y,
        None => 0,
    };
    let mut mon = f.mon.unwrap_or(1);
    let mut mday = f.mday.unwrap_or(1);
    if let (Some(yd), None, None) = (f.yday, f.mon, f.mday) {
        let len = if days_in_month(year, 2) == 29 {
            366
        } else {
            365
        };
        if !(1..=len).contains(&yd) {
            return Err(range());
        }
        let mut d = yd;
        mon = 1;
        while d > days_in_month(year, mon) {
            d -= days_in_month(year, mon);
            mon += 1;
        }
        mday = d;
    }
    if !(1..=12).contains(&mon) || mday < 1 || mday > days_in_month(year, mon) {
        return Err(range());
    }
    if !(0..=24).contains(&f.hour)
        || !(0..=59).contains(&f.min)
        || !(0..=60).contains(&f.sec)
        || f.us < 0
    {
        return Err(range());
    }
    if year > 294_276 {
        return Err(SqlError::new("22008", "timestamp out of range"));
    }
    let days = days_from_civil(year, mon, mday) - PG_EPOCH_DAYS;
    Ok(days * USECS_PER_DAY + ((f.hour * 60 + f.min) * 60 + f.sec) * 1_000_000 + f.us)
}

/// The pattern's name as PostgreSQL's messages spell it.
fn p_name(p: &str) -> &str {
    match p {
        "MONTH" => "Month",
        "MON" => "Mon",
        "DAY" => "Day",
        "DY" => "Dy",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_templates() {
        let d = |s, f| crate::datetime::format_timestamp(parse(s, f).unwrap(), false);
        assert_eq!(d("2024-03-05", "YYYY-MM-DD"), "2024-03-05 00:00:00");
        assert_eq!(d("20240305", "YYYYMMDD"), "2024-03-05 00:00:00");
        assert_eq!(d("March 5, 2024", "Month DD, YYYY"), "2024-03-05 00:00:00");
        assert_eq!(
            d("2024/3/5 2:07:09 PM", "YYYY/MM/DD HH12:MI:SS AM"),
            "2024-03-05 14:07:09"
        );
        assert!(parse("abc", "YYYY-MM-DD").is_err());
        assert!(parse("2024-02-30", "YYYY-MM-DD").is_err());
        for s in ["é", "2024-é", "-", "99999999999999999999"] {
            let _ = parse(s, "YYYY-MM-DD HH24:MI:SS.US Mon");
        }
    }
}
