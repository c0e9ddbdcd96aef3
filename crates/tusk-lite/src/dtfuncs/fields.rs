//! extract/date_part fields and date_trunc of dates, timestamps, times
//! and intervals (timestamp_part, interval_part, timestamp_trunc).

use super::*;

/// Julian day number of a day counted from 2000-01-01.
fn julian(days: i64) -> i64 {
    days + 2_451_545
}

fn j_of(y: i64, m: i64, d: i64) -> i64 {
    julian(days_from_civil(y, m, d) - PG_EPOCH_DAYS)
}

/// j2day: 0 = Sunday.
fn j2day(j: i64) -> i64 {
    (j + 1).rem_euclid(7)
}

fn isoweek(y: i64, m: i64, d: i64) -> (i64, i64) {
    let dayn = j_of(y, m, d);
    let mut year = y;
    let mut day4 = j_of(year, 1, 4);
    let mut day0 = j2day(day4 - 1);
    if dayn < day4 - day0 {
        year -= 1;
        day4 = j_of(year, 1, 4);
        day0 = j2day(day4 - 1);
    }
    let mut week = (dayn - (day4 - day0)) / 7 + 1;
    if week >= 52 {
        let d4 = j_of(year + 1, 1, 4);
        let d0 = j2day(d4 - 1);
        if dayn >= d4 - d0 {
            week = (dayn - (d4 - d0)) / 7 + 1;
            year += 1;
        }
    }
    (week, year)
}

/// A field's value: `num / 10^scale`.
pub(crate) struct Part {
    num: i128,
    scale: u32,
    /// date_part's float8 where PostgreSQL computes it another way than
    /// `num / 10^scale` (seconds as `sec + fsec / 1e6`, ...).
    float: Option<f64>,
}

impl Part {
    fn int(n: i64) -> Part {
        Part {
            num: i128::from(n),
            scale: 0,
            float: None,
        }
    }

    /// Seconds (scale 6) or milliseconds (scale 3) of `us` microseconds
    /// within the minute, with date_part's float8 as PostgreSQL computes it.
    fn secs(us: i64, scale: u32) -> Part {
        let (sec, fsec) = ((us / 1_000_000) as f64, (us % 1_000_000) as f64);
        Part {
            num: i128::from(us),
            scale,
            float: Some(if scale == 3 {
                sec * 1000.0 + fsec / 1000.0
            } else {
                sec + fsec / 1_000_000.0
            }),
        }
    }
    pub(crate) fn value(&self, numeric: bool) -> Result<Value> {
        let p = 10i128.pow(self.scale);
        if numeric {
            let neg = self.num < 0;
            let a = self.num.unsigned_abs();
            let p = p.unsigned_abs();
            let s = if self.scale == 0 {
                format!("{}{a}", if neg { "-" } else { "" })
            } else {
                format!(
                    "{}{}.{:0w$}",
                    if neg { "-" } else { "" },
                    a / p,
                    a % p,
                    w = self.scale as usize
                )
            };
            Ok(Value::Numeric(Numeric::parse(&s)?))
        } else {
            Ok(Value::Float(
                self.float.unwrap_or(self.num as f64 / p as f64),
            ))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Unit(crate::interval::Unit),
    Epoch,
    Dow,
    IsoDow,
    Doy,
    IsoYear,
    Quarter,
    Julian,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
}

fn field_of(units: &str) -> Option<Field> {
    Some(match units {
        "epoch" => Field::Epoch,
        "dow" => Field::Dow,
        "isodow" => Field::IsoDow,
        "doy" => Field::Doy,
        "isoyear" => Field::IsoYear,
        "quarter" | "qtr" => Field::Quarter,
        "julian" | "j" => Field::Julian,
        "timezone" => Field::Timezone,
        "timezone_h" | "timezone_hour" => Field::TimezoneHour,
        "timezone_m" | "timezone_minute" => Field::TimezoneMinute,
        u => Field::Unit(crate::interval::unit_of(u)?),
    })
}

fn type_label(src: Type) -> &'static str {
    src.name()
}

fn not_recognized(units: &str, src: Type) -> SqlError {
    SqlError::new(
        "22023",
        format!(
            "unit \"{units}\" not recognized for type {}",
            type_label(src)
        ),
    )
}

fn not_supported(units: &str, src: Type) -> SqlError {
    SqlError::new(
        "0A000",
        format!(
            "unit \"{units}\" not supported for type {}",
            type_label(src)
        ),
    )
}

fn year_fields(year: i64, f: Field) -> Option<i64> {
    use crate::interval::Unit as U;
    Some(match f {
        Field::Unit(U::Year) => {
            if year > 0 {
                year
            } else {
                year - 1
            }
        }
        Field::Unit(U::Decade) => {
            if year >= 0 {
                year / 10
            } else {
                -((8 - (year - 1)) / 10)
            }
        }
        Field::Unit(U::Century) => {
            if year > 0 {
                (year + 99) / 100
            } else {
                -((99 - (year - 1)) / 100)
            }
        }
        Field::Unit(U::Millennium) => {
            if year > 0 {
                (year + 999) / 1000
            } else {
                -((999 - (year - 1)) / 1000)
            }
        }
        _ => return None,
    })
}

fn date_fields(y: i64, m: i64, d: i64, f: Field) -> Option<i64> {
    use crate::interval::Unit as U;
    if let Some(v) = year_fields(y, f) {
        return Some(v);
    }
    Some(match f {
        Field::Unit(U::Day) => d,
        Field::Unit(U::Month) => m,
        Field::Quarter => (m - 1) / 3 + 1,
        Field::Unit(U::Week) => isoweek(y, m, d).0,
        Field::IsoYear => {
            let iy = isoweek(y, m, d).1;
            if iy > 0 {
                iy
            } else {
                iy - 1
            }
        }
        Field::Dow => j2day(j_of(y, m, d)),
        Field::IsoDow => {
            let w = j2day(j_of(y, m, d));
            if w == 0 {
                7
            } else {
                w
            }
        }
        Field::Doy => j_of(y, m, d) - j_of(y, 1, 1) + 1,
        _ => return None,
    })
}

pub(crate) fn part(units_raw: &str, src: Type, v: &Value) -> Result<Part> {
    use crate::interval::Unit as U;
    let units = units_raw.to_lowercase();
    let f = field_of(&units).ok_or_else(|| not_recognized(&units, src))?;
    match src {
        Type::Date => {
            let days = int(v);
            let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
            if let Some(x) = date_fields(y, m, d, f) {
                return Ok(Part::int(x));
            }
            match f {
                Field::Julian => Ok(Part::int(julian(days))),
                Field::Epoch => Ok(Part::int((days + PG_EPOCH_DAYS) * 86_400)),
                _ => Err(not_supported(&units, src)),
            }
        }
        Type::Timestamp | Type::Timestamptz => {
            let us = int(v);
            let t = tm_of(us);
            if let Some(x) = date_fields(t.year, t.mon, t.mday, f) {
                return Ok(Part::int(x));
            }
            Ok(match f {
                Field::Unit(U::Microsecond) => Part::int(t.sec * 1_000_000 + t.fsec),
                Field::Unit(U::Millisecond) => Part::secs(t.sec * 1_000_000 + t.fsec, 3),
                Field::Unit(U::Second) => Part::secs(t.sec * 1_000_000 + t.fsec, 6),
                Field::Unit(U::Minute) => Part::int(t.min),
                Field::Unit(U::Hour) => Part::int(t.hour),
                Field::Epoch => Part {
                    num: i128::from(us) + i128::from(PG_EPOCH_DAYS * USECS_PER_DAY),
                    scale: 6,
                    float: None,
                },
                Field::Julian if us.rem_euclid(USECS_PER_DAY) == 0 => {
                    Part::int(julian(us.div_euclid(USECS_PER_DAY)))
                }
                Field::Timezone | Field::TimezoneHour | Field::TimezoneMinute
                    if src == Type::Timestamptz =>
                {
                    Part::int(0)
                }
                _ => return Err(not_supported(&units, src)),
            })
        }
        Type::Time => {
            let us = int(v);
            Ok(match f {
                Field::Unit(U::Microsecond) => Part::int(us % 60_000_000),
                Field::Unit(U::Millisecond) => Part::secs(us % 60_000_000, 3),
                Field::Unit(U::Second) => Part::secs(us % 60_000_000, 6),
                Field::Unit(U::Minute) => Part::int(us / 60_000_000 % 60),
                Field::Unit(U::Hour) => Part::int(us / 3_600_000_000),
                Field::Epoch => Part {
                    num: i128::from(us),
                    scale: 6,
                    float: None,
                },
                _ => return Err(not_supported(&units, src)),
            })
        }
        Type::Interval => {
            let i = iv(v);
            let (year, mon, mday, hour, min, sec, fsec) = i.fields();
            Ok(match f {
                Field::Unit(U::Microsecond) => Part::int(sec * 1_000_000 + fsec),
                Field::Unit(U::Millisecond) => Part::secs(sec * 1_000_000 + fsec, 3),
                Field::Unit(U::Second) => Part::secs(sec * 1_000_000 + fsec, 6),
                Field::Unit(U::Minute) => Part::int(min),
                Field::Unit(U::Hour) => Part::int(hour),
                Field::Unit(U::Day) => Part::int(mday),
                Field::Unit(U::Month) => Part::int(mon),
                Field::Quarter => Part::int(mon / 3 + 1),
                Field::Unit(U::Year) => Part::int(year),
                Field::Unit(U::Decade) => Part::int(year / 10),
                Field::Unit(U::Century) => Part::int(year / 100),
                Field::Unit(U::Millennium) => Part::int(year / 1000),
                Field::Epoch => {
                    let m = i128::from(i.months);
                    let secs =
                        (1461 * (m / 12) + 120 * (m % 12) + 4 * i128::from(i.days)) * (86_400 / 4);
                    Part {
                        num: secs * 1_000_000 + i128::from(i.micros),
                        scale: 6,
                        float: Some(
                            i.micros as f64 / 1_000_000.0
                                + (365.25 * 86_400.0) * f64::from(i.months / 12)
                                + (30.0 * 86_400.0) * f64::from(i.months % 12)
                                + 86_400.0 * f64::from(i.days),
                        ),
                    }
                }
                _ => return Err(not_supported(&units, src)),
            })
        }
        _ => Err(not_supported(&units, src)),
    }
}

pub(crate) fn trunc_ts(units_raw: &str, src: Type, us: i64) -> Result<i64> {
    use crate::interval::Unit as U;
    let units = units_raw.to_lowercase();
    let f = field_of(&units).ok_or_else(|| not_recognized(&units, src))?;
    let mut t = tm_of(us);
    if f == Field::Unit(U::Week) {
        let days = us.div_euclid(USECS_PER_DAY);
        let dow = j2day(julian(days));
        let monday = days - (dow + 6) % 7;
        return check_ts(monday * USECS_PER_DAY);
    }
    let level = match f {
        Field::Unit(U::Millennium) => 0,
        Field::Unit(U::Century) => 1,
        Field::Unit(U::Decade) => 2,
        Field::Unit(U::Year) => 3,
        Field::Quarter => 4,
        Field::Unit(U::Month) => 5,
        Field::Unit(U::Day) => 6,
        Field::Unit(U::Hour) => 7,
        Field::Unit(U::Minute) => 8,
        Field::Unit(U::Second) => 9,
        Field::Unit(U::Millisecond) => 10,
        Field::Unit(U::Microsecond) => 11,
        _ => return Err(not_supported(&units, src)),
    };
    let y = t.year;
    match level {
        0 => {
            t.year = if y > 0 {
                (y + 999) / 1000 * 1000 - 999
            } else {
                -((999 - (y - 1)) / 1000) * 1000 + 1
            }
        }
        1 => {
            t.year = if y > 0 {
                (y + 99) / 100 * 100 - 99
            } else {
                -((99 - (y - 1)) / 100) * 100 + 1
            }
        }
        2 => {
            t.year = if y > 0 {
                y / 10 * 10
            } else {
                -((8 - (y - 1)) / 10) * 10
            }
        }
        _ => {}
    }
    if level <= 3 {
        t.mon = 1;
    }
    if level == 4 {
        t.mon = 3 * ((t.mon - 1) / 3) + 1;
    }
    if level <= 5 {
        t.mday = 1;
    }
    if level <= 6 {
        t.hour = 0;
    }
    if level <= 7 {
        t.min = 0;
    }
    if level <= 8 {
        t.sec = 0;
    }
    if level <= 9 {
        t.fsec = 0;
    }
    if level == 10 {
        t.fsec = t.fsec / 1000 * 1000;
    }
    tm_to_ts(&t)
}

pub(crate) fn trunc_iv(units_raw: &str, i: Interval) -> Result<Interval> {
    use crate::interval::Unit as U;
    let units = units_raw.to_lowercase();
    let f = field_of(&units).ok_or_else(|| not_recognized(&units, Type::Interval))?;
    let (mut year, mut mon, mut mday, mut hour, mut min, mut sec, mut fsec) = i.fields();
    let level = match f {
        Field::Unit(U::Millennium) => {
            year = year / 1000 * 1000;
            0
        }
        Field::Unit(U::Century) => {
            year = year / 100 * 100;
            0
        }
        Field::Unit(U::Decade) => {
            year = year / 10 * 10;
            0
        }
        Field::Unit(U::Year) => 0,
        Field::Quarter => {
            mon = 3 * (mon / 3);
            1
        }
        Field::Unit(U::Month) => 1,
        Field::Unit(U::Day) => 2,
        Field::Unit(U::Hour) => 3,
        Field::Unit(U::Minute) => 4,
        Field::Unit(U::Second) => 5,
        Field::Unit(U::Millisecond) => {
            fsec = fsec / 1000 * 1000;
            6
        }
        Field::Unit(U::Microsecond) => 6,
        _ => return Err(not_supported(&units, Type::Interval)),
    };
    if level == 0 {
        mon = 0;
    }
    if level <= 1 {
        mday = 0;
    }
    if level <= 2 {
        hour = 0;
    }
    if level <= 3 {
        min = 0;
    }
    if level <= 4 {
        sec = 0;
    }
    if level <= 5 {
        fsec = 0;
    }
    let months = i32::try_from(year * 12 + mon).map_err(|_| out_of_range())?;
    let days = i32::try_from(mday).map_err(|_| out_of_range())?;
    Ok(Interval::new(
        months,
        days,
        ((hour * 60 + min) * 60 + sec) * 1_000_000 + fsec,
    ))
}
