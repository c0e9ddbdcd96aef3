//! Schedule evaluation with an injected clock: every "now" is a literal.

use chrono::{DateTime, Utc};

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn fires(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
    let s = Schedule::parse(expr).unwrap();
    let tz = parse_zone(zone).unwrap();
    let mut t = utc(from);
    let mut out = Vec::new();
    for _ in 0..n {
        t = s.next_after(tz, t).unwrap();
        out.push(t.to_rfc3339());
    }
    out
}

#[test]
fn five_six_fields_aliases_and_every() {
    assert_eq!(
        fires("*/15 * * * *", "UTC", "2025-01-01T00:07:00Z", 2),
        ["2025-01-01T00:15:00+00:00", "2025-01-01T00:30:00+00:00"]
    );
    assert_eq!(
        fires("*/20 * * * * *", "UTC", "2025-01-01T00:00:00Z", 2),
        ["2025-01-01T00:00:20+00:00", "2025-01-01T00:00:40+00:00"]
    );
    assert_eq!(
        fires("@hourly", "UTC", "2025-01-01T00:07:00Z", 1),
        ["2025-01-01T01:00:00+00:00"]
    );
    assert_eq!(
        fires("@daily", "Europe/Berlin", "2025-01-01T12:00:00Z", 1),
        ["2025-01-01T23:00:00+00:00"]
    );
    assert_eq!(
        fires("@midnight", "UTC", "2025-01-01T12:00:00Z", 1),
        ["2025-01-02T00:00:00+00:00"]
    );
    assert_eq!(
        fires("@every 30s", "UTC", "2025-01-01T00:00:01Z", 2),
        ["2025-01-01T00:00:31+00:00", "2025-01-01T00:01:01+00:00"]
    );
    assert_eq!(
        Schedule::parse("@every 1h30m").unwrap().to_string(),
        "@every 1h 30m"
    );
    assert_eq!(
        Schedule::parse(" 0 3 * * MON ").unwrap().to_string(),
        "0 3 * * MON"
    );
}

#[test]
fn bad_schedules_are_typed_errors() {
    for bad in [
        "",
        "* * * *",
        "* * * * * * * *",
        "61 * * * *",
        "@reboot",
        "@every",
        "@every soon",
        "@every 0s",
        "@every 1500ms",
        "*/0 * * * *",
    ] {
        match Schedule::parse(bad) {
            Err(CronError::InvalidSchedule { .. }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(matches!(
        parse_zone("Mars/Olympus"),
        Err(CronError::UnknownZone { .. })
    ));
    assert!(parse_zone("America/New_York").is_ok());
}

#[test]
fn a_schedule_that_never_fires_is_refused() {
    let now = utc("2025-01-01T00:00:00Z");
    for never in ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 11 *"] {
        let s = Schedule::parse(never).unwrap();
        match s.validate(chrono_tz::UTC, now) {
            Err(CronError::NeverFires { expr }) => assert_eq!(expr, never),
            other => panic!("{never}: {other:?}"),
        }
    }
    // February 29th fires (in leap years).
    let leap = Schedule::parse("0 0 29 2 *").unwrap();
    leap.validate(chrono_tz::UTC, now).unwrap();
    assert_eq!(
        leap.next_after(chrono_tz::UTC, now).unwrap().to_rfc3339(),
        "2028-02-29T00:00:00+00:00"
    );
}

// Europe/Berlin: 2025-03-30 02:00 CET -> 03:00 CEST; 2025-10-26 03:00
// CEST -> 02:00 CET. America/New_York: 2025-03-09 02:00 EST -> 03:00 EDT;
// 2025-11-02 02:00 EDT -> 01:00 EST.

#[test]
fn dst_spring_forward_a_fixed_0230_job_fires_at_0300() {
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
        [
            "2025-03-30T01:00:00+00:00", // 03:00 CEST, right after the gap
            "2025-03-31T00:30:00+00:00", // 02:30 CEST
            "2025-04-01T00:30:00+00:00",
        ]
    );
    assert_eq!(
        fires("30 2 * * *", "America/New_York", "2025-03-07T12:00:00Z", 3),
        [
            "2025-03-08T07:30:00+00:00", // 02:30 EST, the day before
            "2025-03-09T07:00:00+00:00", // 03:00 EDT, right after the gap
            "2025-03-10T06:30:00+00:00", // 02:30 EDT
        ]
    );
}

#[test]
fn dst_fall_back_a_fixed_0230_job_fires_once() {
    // Berlin repeats 02:00-03:00: 02:30 fires at its first (CEST) time only.
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 2),
        [
            "2025-10-26T00:30:00+00:00", // 02:30 CEST
            "2025-10-27T01:30:00+00:00", // 02:30 CET the next day, not 01:30Z on the 26th
        ]
    );
    // New York repeats 01:00-02:00: 02:30 happens once anyway, and the
    // repeated 01:30 fires once, at its first (EDT) time.
    assert_eq!(
        fires("30 2 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T07:30:00+00:00", "2025-11-03T07:30:00+00:00"]
    );
    assert_eq!(
        fires("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T05:30:00+00:00", "2025-11-03T06:30:00+00:00"]
    );
}

#[test]
fn dst_interval_jobs_follow_the_wall_clock() {
    // Spring forward: nothing in the missing hour.
    assert_eq!(
        fires("*/30 * * * *", "Europe/Berlin", "2025-03-30T00:15:00Z", 3),
        [
            "2025-03-30T00:30:00+00:00", // 01:30 CET
            "2025-03-30T01:00:00+00:00", // 03:00 CEST
            "2025-03-30T01:30:00+00:00", // 03:30 CEST
        ]
    );
    // Fall back: the repeated hour fires twice.
    assert_eq!(
        fires("*/30 * * * *", "Europe/Berlin", "2025-10-25T23:45:00Z", 5),
        [
            "2025-10-26T00:00:00+00:00", // 02:00 CEST
            "2025-10-26T00:30:00+00:00", // 02:30 CEST
            "2025-10-26T01:00:00+00:00", // 02:00 CET
            "2025-10-26T01:30:00+00:00", // 02:30 CET
            "2025-10-26T02:00:00+00:00", // 03:00 CET
        ]
    );
}
