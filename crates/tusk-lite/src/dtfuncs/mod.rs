//! Date/time operators and functions over date, timestamp(tz), time and
//! interval, computed as PostgreSQL 15's (timestamp_pl_interval,
//! timestamp_age, timestamp_part, timestamp_trunc, ...). The session time
//! zone is UTC, so timestamptz computes as timestamp.

use std::cell::Cell;
use std::time::SystemTime;

use crate::datetime::{
    civil_from_days, days_from_civil, days_in_month, PG_EPOCH_DAYS, USECS_PER_DAY,
};
use crate::error::{Result, SqlError};
use crate::interval::{out_of_range, Interval};
use crate::numeric::Numeric;
use crate::types::{Type, Value};

mod fields;

use fields::{part, trunc_iv, trunc_ts};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtFunc {
    IntervalAdd,
    IntervalSub,
    IntervalNeg,
    /// interval * float8 (args: interval, factor).
    IntervalMul,
    IntervalDiv,
    /// timestamp(tz) + interval (args: timestamp, interval).
    TsPlusIv,
    TsMinusIv,
    /// timestamp - timestamp: an interval, justified into days.
    TsMinusTs,
    TimePlusIv,
    TimeMinusIv,
    TimeMinusTime,
    /// date + time: a timestamp.
    DatePlusTime,
    JustifyDays,
    JustifyHours,
    JustifyInterval,
    /// make_interval(years, months, weeks, days, hours, mins, secs).
    MakeInterval,
    MakeDate,
    MakeTimestamp,
    MakeTime,
    /// age(timestamp, timestamp).
    Age,
    /// age(timestamp): from midnight of today.
    AgeToday,
    /// extract (numeric) or date_part (float8) of a field of `src`.
    Part {
        src: Type,
        numeric: bool,
    },
    /// date_trunc(field, src).
    Trunc {
        src: Type,
    },
    /// to_char(src, format).
    ToChar {
        src: Type,
    },
    /// to_timestamp(float8): seconds since 1970.
    ToTimestampEpoch,
    /// to_timestamp(text, format) (timestamptz) and to_date(text, format).
    FromChar {
        date: bool,
    },
    StatementTimestamp,
    /// timezone(zone, timestamp[tz]) (AT TIME ZONE): UTC only.
    AtTimeZone,
    /// date_bin(stride, source, origin).
    DateBin,
    /// LOCALTIME: the transaction's start time of day.
    LocalTime,
}

const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;

pub(crate) fn ts_range() -> SqlError {
    SqlError::new("22008", "timestamp out of range")
}

pub(crate) fn check_ts(us: i64) -> Result<i64> {
    if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&us) {
        Ok(us)
    } else {
        Err(ts_range())
    }
}

thread_local! {
    static STATEMENT_START: Cell<Option<SystemTime>> = const { Cell::new(None) };
}

/// Marks the start of a statement on this session's thread
/// (statement_timestamp()).
pub fn statement_started() {
    STATEMENT_START.with(|c| c.set(Some(SystemTime::now())));
}

pub(crate) fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => {
            #[allow(clippy::cast_possible_truncation)]
            let i = *f as i64;
            i
        }
        _ => 0,
    }
}

pub(crate) fn float(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::Numeric(n) => n.to_f64(),
        _ => 0.0,
    }
}

pub(crate) fn iv(v: &Value) -> Interval {
    match v {
        Value::Interval(i) => *i,
        _ => Interval::default(),
    }
}

pub(crate) fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        _ => "",
    }
}

/// A timestamp's broken-down fields (year 0 is 1 BC, as PostgreSQL's tm).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tm {
    pub(crate) year: i64,
    pub(crate) mon: i64,
    pub(crate) mday: i64,
    pub(crate) hour: i64,
    pub(crate) min: i64,
    pub(crate) sec: i64,
    pub(crate) fsec: i64,
}

pub(crate) fn tm_of(us: i64) -> Tm {
    let days = us.div_euclid(USECS_PER_DAY);
    let rem = us.rem_euclid(USECS_PER_DAY);
    let (year, mon, mday) = civil_from_days(days + PG_EPOCH_DAYS);
    let secs = rem / 1_000_000;
    Tm {
        year,
        mon,
        mday,
        hour: secs / 3600,
        min: secs / 60 % 60,
        sec: secs % 60,
        fsec: rem % 1_000_000,
    }
}

pub(crate) fn tm_to_ts(t: &Tm) -> Result<i64> {
    let days = days_from_civil(t.year, t.mon, t.mday) - PG_EPOCH_DAYS;
    let time = ((t.hour * 60 + t.min) * 60 + t.sec) * 1_000_000 + t.fsec;
    days.checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(time))
        .ok_or_else(ts_range)
        .and_then(check_ts)
}

/// timestamp_pl_interval: months first (clamped to the month's last
/// day), then days, then the time.
pub fn ts_plus(ts: i64, span: Interval) -> Result<i64> {
    let mut ts = ts;
    if span.months != 0 {
        let mut t = tm_of(ts);
        let m0 = t.year * 12 + (t.mon - 1) + i64::from(span.months);
        t.year = m0.div_euclid(12);
        t.mon = m0.rem_euclid(12) + 1;
        t.mday = t.mday.min(days_in_month(t.year, t.mon));
        ts = tm_to_ts(&t)?;
    }
    if span.days != 0 {
        ts = ts
            .checked_add(i64::from(span.days) * USECS_PER_DAY)
            .ok_or_else(ts_range)?;
        check_ts(ts)?;
    }
    ts = ts.checked_add(span.micros).ok_or_else(ts_range)?;
    check_ts(ts)
}

/// timestamp_age: the symbolic difference, field by field.
fn age(dt1: i64, dt2: i64) -> Result<Interval> {
    let (t1, t2) = (tm_of(dt1), tm_of(dt2));
    let mut fsec = t1.fsec - t2.fsec;
    let mut sec = t1.sec - t2.sec;
    let mut min = t1.min - t2.min;
    let mut hour = t1.hour - t2.hour;
    let mut mday = t1.mday - t2.mday;
    let mut mon = t1.mon - t2.mon;
    let mut year = t1.year - t2.year;
    let flip = dt1 < dt2;
    if flip {
        fsec = -fsec;
        sec = -sec;
        min = -min;
        hour = -hour;
        mday = -mday;
        mon = -mon;
        year = -year;
    }
    while fsec < 0 {
        fsec += 1_000_000;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        mday -= 1;
    }
    while mday < 0 {
        let base = if flip { t1 } else { t2 };
        mday += days_in_month(base.year, base.mon);
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    if flip {
        fsec = -fsec;
        sec = -sec;
        min = -min;
        hour = -hour;
        mday = -mday;
        mon = -mon;
        year = -year;
    }
    let months = i32::try_from(year * 12 + mon).map_err(|_| out_of_range())?;
    let days = i32::try_from(mday).map_err(|_| out_of_range())?;
    Ok(Interval::new(
        months,
        days,
        ((hour * 60 + min) * 60 + sec) * 1_000_000 + fsec,
    ))
}

fn date_range() -> SqlError {
    SqlError::new("22008", "date out of range")
}

fn make_date(y: i64, m: i64, d: i64) -> Result<i64> {
    let bad = || {
        SqlError::new(
            "22008",
            format!("date field value out of range: {y}-{m:02}-{d:02}"),
        )
    };
    if y == 0 {
        return Err(bad());
    }
    let ay = if y < 0 { y + 1 } else { y };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(ay, m) {
        return Err(bad());
    }
    if !(-4713..=5_874_897).contains(&y) {
        return Err(date_range());
    }
    Ok(days_from_civil(ay, m, d) - PG_EPOCH_DAYS)
}

fn make_time(h: i64, m: i64, sec: f64) -> Result<i64> {
    let bad = || {
        SqlError::new(
            "22008",
            format!(
                "time field value out of range: {h}:{m:02}:{:0>2}",
                crate::types::format_float(sec, Type::Float8)
            ),
        )
    };
    #[allow(clippy::cast_possible_truncation)]
    let us = (sec * 1e6).round_ties_even() as i64;
    if !(0..=24).contains(&h) || !(0..=59).contains(&m) || !(0..=60_000_000).contains(&us) {
        return Err(bad());
    }
    let t = (h * 60 + m) * 60_000_000 + us;
    if t > USECS_PER_DAY {
        return Err(bad());
    }
    Ok(t)
}

pub fn call(f: DtFunc, v: &[Value], txn_started: SystemTime) -> Result<Value> {
    let a = |i: usize| v.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        DtFunc::IntervalAdd => Value::Interval(iv(&a(0)).checked_add(iv(&a(1)))?),
        DtFunc::IntervalSub => Value::Interval(iv(&a(0)).checked_sub(iv(&a(1)))?),
        DtFunc::IntervalNeg => Value::Interval(iv(&a(0)).checked_neg()?),
        DtFunc::IntervalMul => Value::Interval(iv(&a(0)).mul_f64(float(&a(1)))?),
        DtFunc::IntervalDiv => Value::Interval(iv(&a(0)).div_f64(float(&a(1)))?),
        DtFunc::TsPlusIv => Value::Int(ts_plus(int(&a(0)), iv(&a(1)))?),
        DtFunc::TsMinusIv => Value::Int(ts_plus(int(&a(0)), iv(&a(1)).checked_neg()?)?),
        DtFunc::TsMinusTs => {
            let d = int(&a(0))
                .checked_sub(int(&a(1)))
                .ok_or_else(out_of_range)?;
            Value::Interval(Interval::new(0, 0, d).justify_hours()?)
        }
        DtFunc::TimePlusIv => Value::Int(crate::timeofday::add(int(&a(0)), iv(&a(1)).micros)),
        DtFunc::TimeMinusIv => Value::Int(crate::timeofday::add(int(&a(0)), -iv(&a(1)).micros)),
        DtFunc::TimeMinusTime => Value::Interval(Interval::new(0, 0, int(&a(0)) - int(&a(1)))),
        DtFunc::DatePlusTime => Value::Int(check_ts(
            int(&a(0))
                .checked_mul(USECS_PER_DAY)
                .and_then(|d| d.checked_add(int(&a(1))))
                .ok_or_else(ts_range)?,
        )?),
        DtFunc::JustifyDays => Value::Interval(iv(&a(0)).justify_days()?),
        DtFunc::JustifyHours => Value::Interval(iv(&a(0)).justify_hours()?),
        DtFunc::JustifyInterval => Value::Interval(iv(&a(0)).justify_interval()?),
        DtFunc::MakeInterval => {
            let n = |i: usize| i32::try_from(int(&a(i))).map_err(|_| out_of_range());
            let (years, months, weeks, days, hours, mins) =
                (n(0)?, n(1)?, n(2)?, n(3)?, n(4)?, n(5)?);
            let secs = float(&a(6));
            let m = years
                .checked_mul(12)
                .and_then(|y| y.checked_add(months))
                .ok_or_else(out_of_range)?;
            let d = weeks
                .checked_mul(7)
                .and_then(|w| w.checked_add(days))
                .ok_or_else(out_of_range)?;
            let t = (f64::from(hours) * 3600.0 + f64::from(mins) * 60.0 + secs) * 1e6;
            let t = t.round_ties_even();
            if !t.is_finite() || !(-9.2e18..9.2e18).contains(&t) {
                return Err(out_of_range());
            }
            #[allow(clippy::cast_possible_truncation)]
            let t = t as i64;
            Value::Interval(Interval::new(m, d, t))
        }
        DtFunc::MakeDate => Value::Int(make_date(int(&a(0)), int(&a(1)), int(&a(2)))?),
        DtFunc::MakeTime => Value::Int(make_time(int(&a(0)), int(&a(1)), float(&a(2)))?),
        DtFunc::MakeTimestamp => {
            let (y, m, d) = (int(&a(0)), int(&a(1)), int(&a(2)));
            let day = make_date(y, m, d).map_err(|_| {
                SqlError::new(
                    "22008",
                    format!("date field value out of range: {y}-{m:02}-{d:02}"),
                )
            })?;
            let t = make_time(int(&a(3)), int(&a(4)), float(&a(5)))?;
            Value::Int(check_ts(day * USECS_PER_DAY + t)?)
        }
        DtFunc::Age => Value::Interval(age(int(&a(0)), int(&a(1)))?),
        DtFunc::AgeToday => {
            let now = crate::datetime::now_usecs(txn_started);
            let today = now.div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
            Value::Interval(age(today, int(&a(0)))?)
        }
        DtFunc::Part { src, numeric } => part(text(&a(0)), src, &a(1))?.value(numeric)?,
        DtFunc::Trunc {
            src: Type::Interval,
        } => Value::Interval(trunc_iv(text(&a(0)), iv(&a(1)))?),
        DtFunc::Trunc { src } => Value::Int(trunc_ts(text(&a(0)), src, int(&a(1)))?),
        DtFunc::ToChar { src } => match src {
            Type::Numeric => Value::Text(crate::to_char::number(
                &match a(0) {
                    Value::Numeric(n) => n,
                    v => Numeric::from_i64(int(&v)),
                },
                text(&a(1)),
            )?),
            Type::Interval => Value::Text(crate::to_char::interval(iv(&a(0)), text(&a(1)))?),
            Type::Date => Value::Text(crate::to_char::timestamp(
                int(&a(0)) * USECS_PER_DAY,
                text(&a(1)),
                false,
            )),
            _ => Value::Text(crate::to_char::timestamp(
                int(&a(0)),
                text(&a(1)),
                src == Type::Timestamptz,
            )),
        },
        DtFunc::ToTimestampEpoch => {
            let s = float(&a(0));
            if s.is_nan() {
                return Err(SqlError::new("22008", "timestamp cannot be NaN"));
            }
            if s.is_infinite() {
                return Err(SqlError::unsupported("infinite timestamps"));
            }
            let us = (s * 1e6).round_ties_even() - (PG_EPOCH_DAYS * USECS_PER_DAY) as f64;
            if !(MIN_TIMESTAMP as f64..END_TIMESTAMP as f64).contains(&us) {
                return Err(SqlError::new(
                    "22008",
                    format!(
                        "timestamp out of range: \"{}\"",
                        crate::types::format_float(s, Type::Float8)
                    ),
                ));
            }
            #[allow(clippy::cast_possible_truncation)]
            let us = us as i64;
            Value::Int(us)
        }
        DtFunc::FromChar { date } => {
            let us = crate::from_char::parse(text(&a(0)), text(&a(1)))?;
            if date {
                Value::Int(us.div_euclid(USECS_PER_DAY))
            } else {
                Value::Int(check_ts(us)?)
            }
        }
        DtFunc::AtTimeZone => {
            let zone_v = a(0);
            let zone = text(&zone_v);
            let utc = [
                "utc", "gmt", "z", "etc/utc", "etc/gmt", "utc0", "+00", "+00:00", "-00", "0",
            ]
            .iter()
            .any(|z| zone.trim().eq_ignore_ascii_case(z));
            if !utc {
                return Err(SqlError::unsupported(format!(
                    "AT TIME ZONE '{zone}' (only UTC: the session time zone is UTC)"
                )));
            }
            a(1)
        }
        DtFunc::DateBin => {
            let stride = iv(&a(0));
            if stride.months != 0 {
                return Err(SqlError::new(
                    "0A000",
                    "timestamps cannot be binned into intervals containing months or years",
                ));
            }
            let stride_us = i64::from(stride.days)
                .checked_mul(USECS_PER_DAY)
                .and_then(|d| d.checked_add(stride.micros))
                .ok_or_else(out_of_range)?;
            if stride_us <= 0 {
                return Err(SqlError::new("22008", "stride must be greater than zero"));
            }
            let (source, origin) = (int(&a(1)), int(&a(2)));
            let diff = source.checked_sub(origin).ok_or_else(out_of_range)?;
            let modulo = diff % stride_us;
            let mut result = origin + (diff - modulo);
            if modulo < 0 {
                result = check_ts(result - stride_us)?;
            }
            Value::Int(result)
        }
        DtFunc::StatementTimestamp => {
            let t = STATEMENT_START.with(Cell::get).unwrap_or(txn_started);
            Value::Int(crate::datetime::now_usecs(t.max(txn_started)))
        }
        DtFunc::LocalTime => {
            Value::Int(crate::datetime::now_usecs(txn_started).rem_euclid(USECS_PER_DAY))
        }
    })
}

/// generate_series(timestamp, timestamp, interval).
pub fn ts_series(start: i64, stop: i64, step: Interval) -> Result<Vec<Vec<Value>>> {
    let dir = step.span().signum();
    if dir == 0 {
        return Err(SqlError::new("22023", "step size cannot equal zero"));
    }
    let mut out = Vec::new();
    let mut t = start;
    while (dir > 0 && t <= stop) || (dir < 0 && t >= stop) {
        if out.len() >= 50_000_000 {
            return Err(SqlError::new(
                "54000",
                "generate_series would return more than 50000000 rows; tusk-lite computes a result whole and stops there",
            ));
        }
        out.push(vec![Value::Int(t)]);
        match ts_plus(t, step) {
            Ok(n) => t = n,
            Err(_) => break,
        }
    }
    Ok(out)
}
