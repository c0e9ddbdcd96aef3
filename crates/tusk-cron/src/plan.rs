//! Which fire times of a job become runs, given when the job was next due
//! and the time now: the misfire policy applied. Pure: `now` is passed in
//! (the workers pass the database server's clock, one clock for all of
//! them; tests pass whatever they like).

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::policy::Misfire;
use crate::schedule::Schedule;

/// How many missed fire times are counted one by one before the count
/// is reported as "at least this many".
pub const COUNT_CAP: u64 = 100_000;

/// What a due job turns into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Fire times to run, oldest first.
    pub fire: Vec<DateTime<Utc>>,
    /// How many fire times were missed and are not run (at most
    /// [`COUNT_CAP`]).
    pub skipped: u64,
    /// The latest skipped fire time, if any.
    pub last_skipped: Option<DateTime<Utc>>,
    /// The next fire time after `now` (`None`: the schedule has no more).
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Plans the fire times in `[next_run_at, now]`. Those at or after
/// `now - grace` are on time and always run; the older ones were missed
/// and `misfire` decides: [`Misfire::Skip`] runs none of them,
/// [`Misfire::RunOnce`] runs the latest of them unless an on-time one
/// runs anyway, [`Misfire::CatchUp`]`(n)` runs the latest `n`.
pub fn plan(
    schedule: &Schedule,
    tz: Tz,
    misfire: Misfire,
    grace: Duration,
    next_run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Plan {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let cutoff = now
        .checked_sub_signed(grace)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let step = |t: DateTime<Utc>| -> Option<DateTime<Utc>> {
        match schedule {
            Schedule::Every(d) => t.checked_add_signed(chrono::Duration::from_std(*d).ok()?),
            Schedule::Cron { .. } => schedule.next_after(tz, t),
        }
    };
    if next_run_at > now {
        return Plan {
            fire: Vec::new(),
            skipped: 0,
            last_skipped: None,
            next_run_at: Some(next_run_at),
        };
    }
    // The missed ones: [next_run_at, cutoff). Counted, keeping the last
    // few (catch-up keeps at most 1000).
    let keep = match misfire {
        Misfire::Skip => 1,
        Misfire::RunOnce => 2,
        Misfire::CatchUp(n) => n as usize + 1,
    };
    let mut late: std::collections::VecDeque<DateTime<Utc>> = Default::default();
    let mut late_count: u64 = 0;
    let mut t = Some(next_run_at);
    // Jump over long gaps instead of walking millions of fire times.
    if let Schedule::Every(d) = schedule {
        if let Ok(step_ms) = i64::try_from(d.as_millis()) {
            let span = (cutoff - next_run_at).num_milliseconds();
            if step_ms > 0 && span > step_ms * 2_000 {
                let n = span / step_ms - 1_000;
                late_count = u64::try_from(n).unwrap_or(0);
                t = next_run_at.checked_add_signed(chrono::Duration::milliseconds(n * step_ms));
            }
        }
    }
    let mut walked: u64 = 0;
    while let Some(x) = t {
        if x >= cutoff {
            break;
        }
        late_count += 1;
        late.push_back(x);
        if late.len() > keep {
            late.pop_front();
        }
        walked += 1;
        if walked >= COUNT_CAP {
            // Too many to walk: restart from the latest ones before the
            // cutoff (a per-second cron job missed for months).
            let mut back = Vec::new();
            let mut b =
                schedule.prev_at_or_before(tz, cutoff - chrono::Duration::seconds(1), next_run_at);
            while let Some(y) = b {
                if back.len() >= keep || y < next_run_at {
                    break;
                }
                back.push(y);
                b = schedule.prev_at_or_before(tz, y - chrono::Duration::seconds(1), next_run_at);
            }
            back.reverse();
            late = back.into();
            late_count = u64::MAX;
            t = schedule.next_after(tz, cutoff - chrono::Duration::nanoseconds(1));
            while let Some(y) = t {
                if y >= cutoff {
                    break;
                }
                t = step(y);
            }
            break;
        }
        t = step(x);
    }
    let mut on_time = Vec::new();
    while let Some(x) = t {
        if x > now {
            break;
        }
        on_time.push(x);
        t = step(x);
    }
    let late: Vec<_> = late.into_iter().collect();
    let run_late: Vec<DateTime<Utc>> = match misfire {
        Misfire::Skip => Vec::new(),
        Misfire::RunOnce if on_time.is_empty() => late.last().copied().into_iter().collect(),
        Misfire::RunOnce => Vec::new(),
        Misfire::CatchUp(n) => late[late.len().saturating_sub(n as usize)..].to_vec(),
    };
    let skipped = late_count
        .saturating_sub(run_late.len() as u64)
        .min(COUNT_CAP);
    let last_skipped = if skipped == 0 {
        None
    } else {
        // The latest missed fire time that does not run.
        late.iter()
            .rev()
            .find(|x| !run_late.contains(x))
            .copied()
            .or(Some(next_run_at))
    };
    let mut fire = run_late;
    fire.extend(on_time);
    Plan {
        fire,
        skipped,
        last_skipped,
        next_run_at: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn p(expr: &str, misfire: Misfire, next: &str, now: &str) -> Plan {
        plan(
            &Schedule::parse(expr).unwrap(),
            chrono_tz::UTC,
            misfire,
            Duration::from_secs(60),
            utc(next),
            utc(now),
        )
    }

    fn times(v: &[DateTime<Utc>]) -> Vec<String> {
        v.iter().map(|t| t.format("%H:%M").to_string()).collect()
    }

    #[test]
    fn on_time_fires_run_and_the_next_is_after_now() {
        let x = p(
            "*/10 * * * *",
            Misfire::Skip,
            "2025-01-01T10:00:00Z",
            "2025-01-01T10:00:30Z",
        );
        assert_eq!(times(&x.fire), ["10:00"]);
        assert_eq!(x.skipped, 0);
        assert_eq!(x.next_run_at, Some(utc("2025-01-01T10:10:00Z")));
        let early = p(
            "*/10 * * * *",
            Misfire::Skip,
            "2025-01-01T10:10:00Z",
            "2025-01-01T10:00:30Z",
        );
        assert!(early.fire.is_empty());
        assert_eq!(early.next_run_at, Some(utc("2025-01-01T10:10:00Z")));
    }

    #[test]
    fn misfire_policies_after_an_hour_down() {
        // Due since 09:00, now 10:00:30: 09:00..09:50 missed (6), 10:00 on time.
        let (next, now) = ("2025-01-01T09:00:00Z", "2025-01-01T10:00:30Z");
        let skip = p("*/10 * * * *", Misfire::Skip, next, now);
        assert_eq!(times(&skip.fire), ["10:00"]);
        assert_eq!(skip.skipped, 6);
        assert_eq!(skip.last_skipped, Some(utc("2025-01-01T09:50:00Z")));
        let once = p("*/10 * * * *", Misfire::RunOnce, next, now);
        assert_eq!(
            times(&once.fire),
            ["10:00"],
            "coalesced into the on-time run"
        );
        assert_eq!(once.skipped, 6);
        let catch = p("*/10 * * * *", Misfire::CatchUp(2), next, now);
        assert_eq!(times(&catch.fire), ["09:40", "09:50", "10:00"]);
        assert_eq!(catch.skipped, 4);
        assert_eq!(catch.last_skipped, Some(utc("2025-01-01T09:30:00Z")));
        let all = p("*/10 * * * *", Misfire::CatchUp(100), next, now);
        assert_eq!(all.fire.len(), 7);
        assert_eq!((all.skipped, all.last_skipped), (0, None));
        // Nothing on time: run-once runs the latest missed one.
        let once = p(
            "*/10 * * * *",
            Misfire::RunOnce,
            next,
            "2025-01-01T10:05:00Z",
        );
        assert_eq!(times(&once.fire), ["10:00"]);
        assert_eq!(once.skipped, 6);
        assert_eq!(once.last_skipped, Some(utc("2025-01-01T09:50:00Z")));
        assert_eq!(once.next_run_at, Some(utc("2025-01-01T10:10:00Z")));
    }

    #[test]
    fn a_worker_planning_across_dst_nights_runs_0230_once() {
        let s = Schedule::parse("30 2 * * *").unwrap();
        let berlin = crate::parse_zone("Europe/Berlin").unwrap();
        let grace = Duration::from_secs(6 * 3600);
        // Fall back: due at the first 02:30 (CEST); a worker that looks at
        // 03:10 CET, after the second 02:30, runs it once.
        let x = plan(
            &s,
            berlin,
            Misfire::CatchUp(10),
            grace,
            utc("2025-10-26T00:30:00Z"),
            utc("2025-10-26T02:10:00Z"),
        );
        assert_eq!(x.fire, [utc("2025-10-26T00:30:00Z")]);
        assert_eq!(x.next_run_at, Some(utc("2025-10-27T01:30:00Z")));
        // Spring forward: the night's run is at 03:00 CEST, once.
        let y = plan(
            &s,
            berlin,
            Misfire::CatchUp(10),
            grace,
            utc("2025-03-30T01:00:00Z"),
            utc("2025-03-30T03:00:00Z"),
        );
        assert_eq!(y.fire, [utc("2025-03-30T01:00:00Z")]);
        assert_eq!(y.next_run_at, Some(utc("2025-03-31T00:30:00Z")));
    }

    #[test]
    fn long_outages_are_counted_without_walking_every_fire_time() {
        // A per-second job down for a year, and an @every 1s job.
        let x = p(
            "* * * * * *",
            Misfire::CatchUp(3),
            "2024-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
        );
        assert_eq!(x.skipped, COUNT_CAP);
        assert_eq!(
            x.fire.len(),
            3 + 61,
            "the latest 3 missed, then 23:59:00..=00:00:00"
        );
        assert_eq!(x.next_run_at, Some(utc("2025-01-01T00:00:01Z")));
        let y = p(
            "@every 1s",
            Misfire::RunOnce,
            "2024-01-01T00:00:00Z",
            "2025-01-01T00:00:00.5Z",
        );
        assert_eq!(
            y.fire.len(),
            60,
            "23:59:01..=00:00:00 are on time (the cutoff is 23:59:00.5)"
        );
        assert_eq!(y.next_run_at, Some(utc("2025-01-01T00:00:01Z")));
        assert_eq!(y.skipped, COUNT_CAP);
    }
}
