//! Dates, times and timestamps from their binary form, printed the way
//! PostgreSQL's own `to_json()` prints them in a session whose TimeZone is
//! UTC (`EncodeDateTime` with `USE_XSD_DATES`):
//!
//! - date `2024-02-29`, time `13:05:09.25`, timestamp `2024-02-29T13:05:09.25`,
//!   timestamptz `2024-02-29T13:05:09.25+00:00` (RFC 3339; the fraction has at
//!   most 6 digits, trailing zeros dropped, none when zero);
//! - `infinity` and `-infinity` for infinite dates and timestamps;
//! - years past 9999 print all their digits (`12345-01-01`), and dates
//!   before year 1 print PostgreSQL's way, the year counted back from 1 BC
//!   with ` BC` at the very end (`0044-03-15 BC`,
//!   `0044-03-15T12:00:00+00:00 BC`). Neither is RFC 3339, which has no
//!   room for them.

/// Microseconds in a day.
const USECS_PER_DAY: i64 = 86_400_000_000;
/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

/// (year, month, day) in the proleptic Gregorian calendar with
/// astronomical years (0 is 1 BC) for `z` days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `YYYY-MM-DD` (PostgreSQL's year numbering: 1 BC is `0001` with
/// `bc` set); returns whether the date is BC.
fn push_date(days_since_1970: i64, out: &mut String) -> bool {
    let (year, month, day) = civil_from_days(days_since_1970);
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    out.push_str(&format!("{shown:04}-{month:02}-{day:02}"));
    bc
}

/// Appends `.ffffff` with trailing zeros removed, nothing when zero.
pub(crate) fn push_fraction(micros: i64, out: &mut String) {
    let micros = micros.abs();
    if micros != 0 {
        let digits = format!("{micros:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Appends `HH:MM:SS[.ffffff]` for microseconds since midnight.
fn push_time(micros: i64, out: &mut String) {
    let hours = micros / 3_600_000_000;
    let minutes = micros / 60_000_000 % 60;
    let seconds = micros / 1_000_000 % 60;
    out.push_str(&format!("{hours:02}:{minutes:02}:{seconds:02}"));
    push_fraction(micros % 1_000_000, out);
}

/// A `date` (days since 2000-01-01).
pub fn date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        _ => {
            let mut out = String::with_capacity(13);
            if push_date(i64::from(days) + PG_EPOCH_DAYS, &mut out) {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// A `time` (microseconds since midnight, up to 24:00:00).
pub fn time(micros: i64) -> String {
    let mut out = String::with_capacity(15);
    push_time(micros, &mut out);
    out
}

/// A `timestamp` (microseconds since 2000-01-01 00:00:00), or with `utc`
/// a `timestamptz` (microseconds since 2000-01-01 00:00:00 UTC), which
/// gets the offset `+00:00`.
pub fn timestamp(micros: i64, utc: bool) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => {
            let days = micros.div_euclid(USECS_PER_DAY) + PG_EPOCH_DAYS;
            let mut out = String::with_capacity(32);
            let bc = push_date(days, &mut out);
            out.push('T');
            push_time(micros.rem_euclid(USECS_PER_DAY), &mut out);
            if utc {
                out.push_str("+00:00");
            }
            if bc {
                out.push_str(" BC");
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = USECS_PER_DAY;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(PG_EPOCH_DAYS), (2000, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "2000-01-01");
        assert_eq!(date(-1), "1999-12-31");
        assert_eq!(date(59), "2000-02-29");
        assert_eq!(date(i32::MAX), "infinity");
        assert_eq!(date(i32::MIN), "-infinity");
        // 0001-01-01 is day -730119; the day before is 1 BC.
        assert_eq!(date(-730_119), "0001-01-01");
        assert_eq!(date(-730_120), "0001-12-31 BC");
        // 10000-01-01
        assert_eq!(date(2_921_940), "10000-01-01");
    }

    #[test]
    fn times() {
        assert_eq!(time(0), "00:00:00");
        assert_eq!(time(45_296_789_000), "12:34:56.789");
        assert_eq!(time(86_399_999_999), "23:59:59.999999");
        assert_eq!(time(86_400_000_000), "24:00:00");
        assert_eq!(time(1), "00:00:00.000001");
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0, false), "2000-01-01T00:00:00");
        assert_eq!(timestamp(0, true), "2000-01-01T00:00:00+00:00");
        assert_eq!(timestamp(-1, false), "1999-12-31T23:59:59.999999");
        assert_eq!(
            timestamp(DAY + 500_000, true),
            "2000-01-02T00:00:00.5+00:00"
        );
        assert_eq!(timestamp(i64::MAX, true), "infinity");
        assert_eq!(timestamp(i64::MIN, false), "-infinity");
        assert_eq!(
            timestamp(-730_120 * DAY + 3_600_000_000, true),
            "0001-12-31T01:00:00+00:00 BC"
        );
    }
}
