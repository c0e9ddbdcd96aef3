//! Interval output in each IntervalStyle (EncodeInterval).

use super::Interval;

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

pub(crate) fn style() -> Style {
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
