//! A job's schedule: a cron expression (5 or 6 fields, or `@hourly`,
//! `@daily`, ...) evaluated in an IANA time zone, or a fixed interval
//! (`@every 30s`). Pure: no clock, no I/O; every function takes the time
//! it computes from.
//!
//! Parsing and evaluation are the `croner` crate's; its DST rules are
//! cronie's and Vixie cron's (`docs/cron.md`, "Daylight saving time"):
//!
//! * a fixed-time job (`30 2 * * *`) whose time does not exist on a
//!   spring-forward day fires at the first instant after the gap (03:00
//!   in Europe/Berlin and America/New_York), once;
//! * on a fall-back day the repeated 02:30 fires once, at its first
//!   occurrence (the summer-time one);
//! * a job with a wildcard or step in its second, minute or hour field
//!   (`*/15 * * * *`) follows the wall clock: nothing fires in the
//!   skipped hour, and the repeated hour fires twice.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};

use crate::error::CronError;

/// How often a job fires.
#[derive(Clone)]
pub enum Schedule {
    /// A cron expression: `m h dom mon dow`, `s m h dom mon dow`, or an
    /// alias (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
    /// `@midnight`, `@hourly`).
    Cron {
        /// The expression as written.
        expr: String,
        /// The parsed form.
        cron: Box<croner::Cron>,
    },
    /// `@every 30s`: a fixed interval (at least one second), counted from
    /// the job's first fire time; time zones and DST do not matter.
    Every(Duration),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({self})")
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron { expr, .. } => f.write_str(expr),
            Schedule::Every(d) => write!(f, "@every {}", humantime::format_duration(*d)),
        }
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl FromStr for Schedule {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Schedule, CronError> {
        Schedule::parse(s)
    }
}

fn invalid(expr: &str, reason: impl Into<String>) -> CronError {
    CronError::InvalidSchedule {
        expr: expr.to_owned(),
        reason: reason.into(),
    }
}

impl Schedule {
    /// Parses a schedule. Errors ([`CronError::InvalidSchedule`]) say what
    /// is wrong; an expression that parses but can never fire (`0 0 30 2
    /// *`) is caught by [`Schedule::validate`], not here.
    pub fn parse(s: &str) -> Result<Schedule, CronError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(invalid(s, "the schedule is empty"));
        }
        if let Some(rest) = text.strip_prefix("@every") {
            let rest = rest.trim();
            if rest.is_empty() {
                return Err(invalid(s, "`@every` needs an interval, e.g. `@every 30s`"));
            }
            let d = humantime::parse_duration(rest).map_err(|e| {
                invalid(
                    s,
                    format!("`{rest}` is not an interval ({e}); write e.g. 30s, 5m, 1h30m"),
                )
            })?;
            if d < Duration::from_secs(1) || d.subsec_nanos() != 0 {
                return Err(invalid(
                    s,
                    "an `@every` interval is a whole number of seconds, at least 1s",
                ));
            }
            return Ok(Schedule::Every(d));
        }
        if text.starts_with('@') {
            let known = [
                "@yearly",
                "@annually",
                "@monthly",
                "@weekly",
                "@daily",
                "@midnight",
                "@hourly",
            ];
            let lower = text.to_ascii_lowercase();
            if !known.contains(&lower.as_str()) {
                return Err(invalid(
                    s,
                    "unknown alias: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <interval>",
                ));
            }
            let expr = if lower == "@midnight" {
                "0 0 * * *"
            } else {
                lower.as_str()
            };
            return Self::cron(s, expr);
        }
        let fields = text.split_whitespace().count();
        if fields != 5 && fields != 6 {
            return Err(invalid(
                s,
                format!("{fields} fields: a cron expression has 5 (minute hour day-of-month month day-of-week) or 6 (a second first)"),
            ));
        }
        Self::cron(s, text)
    }

    fn cron(original: &str, expr: &str) -> Result<Schedule, CronError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expr)
            .map_err(|e| invalid(original, e.to_string()))?;
        Ok(Schedule::Cron {
            expr: original.trim().to_owned(),
            cron: Box::new(cron),
        })
    }

    /// Checks that the schedule fires at least once within the next 20
    /// years after `now` in `tz` ([`CronError::NeverFires`] otherwise).
    pub fn validate(&self, tz: Tz, now: DateTime<Utc>) -> Result<(), CronError> {
        let first = self.next_after(tz, now);
        let horizon = now + chrono::Duration::days(366 * 20);
        match first {
            Some(t) if t <= horizon => Ok(()),
            _ => Err(CronError::NeverFires {
                expr: self.to_string(),
            }),
        }
    }

    /// The first fire time strictly after `after`, in `tz`; `None` if
    /// there is none (before the year 5000). For `@every`, `after` plus the
    /// interval (`None` past the last representable date).
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => after.checked_add_signed(chrono::Duration::from_std(*d).ok()?),
            Schedule::Cron { cron, .. } => cron
                .find_next_occurrence(&after.with_timezone(&tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// The last fire time at or before `at`, in `tz` (for catching up
    /// the most recent missed runs). For `@every`, counted from `anchor`.
    pub fn prev_at_or_before(
        &self,
        tz: Tz,
        at: DateTime<Utc>,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => {
                if at < anchor {
                    return None;
                }
                let step = i64::try_from(d.as_secs()).ok()?.checked_mul(1000)?;
                let since = (at - anchor).num_milliseconds();
                Some(anchor + chrono::Duration::milliseconds(since / step * step))
            }
            Schedule::Cron { cron, .. } => cron
                .find_previous_occurrence(&at.with_timezone(&tz), true)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// Parses an IANA time zone name (`Europe/Berlin`, `UTC`);
/// [`CronError::UnknownZone`] otherwise.
pub fn parse_zone(name: &str) -> Result<Tz, CronError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CronError::UnknownZone {
            zone: name.to_owned(),
        })
}

#[cfg(test)]
mod tests;
