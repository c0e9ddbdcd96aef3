//! How [`Value`](super::Value) writes dates, times, intervals, UUIDs and
//! bytes: as PostgreSQL does (its `to_jsonb()` output), from the binary
//! wire values.

use std::fmt::Write as _;

pub(super) fn uuid_text(b: [u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Days since 2000-01-01 to a civil date (Howard Hinnant's algorithm).
pub(super) fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let z = days_since_2000 + 10957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A date as PostgreSQL's ISO style writes it (years before 1 as `BC`).
pub(super) fn ymd(days: i64) -> String {
    let (y, m, d) = civil(days);
    if y <= 0 {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

pub(super) fn date_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => ymd(d.into()),
    }
}

/// `HH:MM:SS` and the fraction without trailing zeros.
pub(super) fn push_hms(s: &mut String, hours: i64, minutes: i64, seconds: i64, micros: i64) {
    let _ = write!(s, "{hours:02}:{minutes:02}:{seconds:02}");
    if micros != 0 {
        let f = format!("{micros:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
}

pub(super) fn time_text(micros: i64) -> String {
    let mut s = String::new();
    let secs = micros.div_euclid(1_000_000);
    push_hms(
        &mut s,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        micros.rem_euclid(1_000_000),
    );
    s
}

/// `+HH[:MM[:SS]]` (east of UTC positive), as PostgreSQL writes a `timetz`.
pub(super) fn push_offset(s: &mut String, east_secs: i32) {
    let sign = if east_secs < 0 { '-' } else { '+' };
    let a = east_secs.unsigned_abs();
    let _ = write!(s, "{sign}{:02}", a / 3600);
    if !a.is_multiple_of(3600) {
        let _ = write!(s, ":{:02}", a / 60 % 60);
    }
    if !a.is_multiple_of(60) {
        let _ = write!(s, ":{:02}", a % 60);
    }
}

pub(super) fn timestamp_text(us: i64) -> String {
    match us {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let days = us.div_euclid(86_400_000_000);
    let rest = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil(days);
    let mut s = if y <= 0 {
        format!("{:04}-{m:02}-{d:02}T", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}T")
    };
    let secs = rest / 1_000_000;
    push_hms(
        &mut s,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 1_000_000,
    );
    if y <= 0 {
        s.push_str(" BC");
    }
    s
}

/// PostgreSQL's `IntervalStyle = postgres` output.
pub(crate) fn interval_text(months: i32, days: i32, micros: i64) -> String {
    let mut s = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |s: &mut String, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        let _ = write!(
            s,
            "{}{}{value} {unit}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    };
    part(&mut s, i64::from(months / 12), "year");
    part(&mut s, i64::from(months % 12), "mon");
    part(&mut s, i64::from(days), "day");
    let hours = micros / 3_600_000_000;
    let minutes = micros / 60_000_000 % 60;
    let seconds = micros / 1_000_000 % 60;
    let frac = micros % 1_000_000;
    if is_zero || micros != 0 {
        let minus = micros < 0;
        let _ = write!(
            s,
            "{}{}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            }
        );
        push_hms(
            &mut s,
            hours.abs(),
            minutes.abs(),
            seconds.abs(),
            frac.abs(),
        );
    }
    s
}

pub(super) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(date_text(0), "2000-01-01");
        assert_eq!(date_text(-1), "1999-12-31");
        assert_eq!(date_text(59), "2000-02-29");
        assert_eq!(date_text(-730_119), "0001-01-01");
        assert_eq!(date_text(-730_120), "0001-12-31 BC");
        assert_eq!(timestamp_text(1_500_000), "2000-01-01T00:00:01.5");
        assert_eq!(timestamp_text(-1), "1999-12-31T23:59:59.999999");
        assert_eq!(time_text(86_399_000_000), "23:59:59");
        let mut s = time_text(0);
        push_offset(&mut s, -(5 * 3600 + 30 * 60));
        assert_eq!(s, "00:00:00-05:30");
    }

    #[test]
    fn intervals_as_postgres_writes_them() {
        assert_eq!(interval_text(0, 0, 0), "00:00:00");
        assert_eq!(
            interval_text(14, 3, 14_706_500_000),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(interval_text(1, 1, 0), "1 mon 1 day");
        assert_eq!(interval_text(0, -1, 3_600_000_000), "-1 days +01:00:00");
        assert_eq!(interval_text(0, 0, -1), "-00:00:00.000001");
    }
}
