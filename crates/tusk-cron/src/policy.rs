//! What a job does when runs would overlap, when fire times were missed,
//! and when a run fails.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::error::CronError;

/// What happens to a due run while an earlier run of the same job is
/// still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlap {
    /// The due run is recorded as skipped (pg_cron runs one instance of a
    /// job at a time; this is that, without its unbounded queue).
    #[default]
    Skip,
    /// The due run waits until the running one has finished, then runs.
    Queue,
    /// The due run starts alongside.
    Allow,
}

impl Overlap {
    /// `skip`, `queue` or `allow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Queue => "queue",
            Overlap::Allow => "allow",
        }
    }
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Overlap {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Overlap, CronError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "skip" => Ok(Overlap::Skip),
            "queue" => Ok(Overlap::Queue),
            "allow" => Ok(Overlap::Allow),
            _ => Err(CronError::Invalid(format!(
                "unknown overlap policy `{s}`: use skip, queue or allow"
            ))),
        }
    }
}

/// What happens to fire times that passed while no worker ran (older
/// than the workers' misfire grace, see
/// [`WorkerOptions::misfire_grace`](crate::WorkerOptions::misfire_grace)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Misfire {
    /// None of them runs; one skipped entry in the history counts them.
    Skip,
    /// They are coalesced into one run (the latest of them), unless a fire
    /// time within the grace runs anyway.
    #[default]
    RunOnce,
    /// The latest `N` of them run, oldest first; the rest are skipped.
    CatchUp(u32),
}

impl fmt::Display for Misfire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misfire::Skip => f.write_str("skip"),
            Misfire::RunOnce => f.write_str("run-once"),
            Misfire::CatchUp(n) => write!(f, "catch-up-{n}"),
        }
    }
}

impl Serialize for Misfire {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Misfire {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Misfire, CronError> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        match t.as_str() {
            "skip" => return Ok(Misfire::Skip),
            "run-once" => return Ok(Misfire::RunOnce),
            _ => {}
        }
        if let Some(n) = t.strip_prefix("catch-up-") {
            if let Ok(n) = n.parse::<u32>() {
                if (1..=1000).contains(&n) {
                    return Ok(Misfire::CatchUp(n));
                }
            }
        }
        Err(CronError::Invalid(format!(
            "unknown misfire policy `{s}`: use skip, run-once or catch-up-N (N from 1 to 1000)"
        )))
    }
}

/// Retries of a failed run: up to `retries` more attempts, the k-th after
/// `backoff * 2^(k-1)` (at most `max_backoff`), with up to a quarter
/// taken off at random so that retries of many jobs spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// Attempts after the first (0: a failed run stays failed).
    pub retries: u32,
    /// The wait before the first retry.
    #[serde(with = "crate::serde_ms")]
    pub backoff: Duration,
    /// The longest wait.
    #[serde(with = "crate::serde_ms")]
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            retries: 0,
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl Retry {
    /// The wait before attempt `attempt + 1`, after attempt `attempt`
    /// (1-based) failed, before jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff.max(self.backoff))
    }

    /// [`Retry::delay`] with jitter: a uniformly random 0-25% taken off.
    pub fn delay_jittered(&self, attempt: u32) -> Duration {
        let d = self.delay(attempt);
        d.saturating_sub(d.mul_f64(fastrand::f64() * 0.25))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_print() {
        for s in ["skip", "queue", "allow"] {
            assert_eq!(s.parse::<Overlap>().unwrap().to_string(), s);
        }
        assert!("sometimes".parse::<Overlap>().is_err());
        for s in ["skip", "run-once", "catch-up-3"] {
            assert_eq!(s.parse::<Misfire>().unwrap().to_string(), s);
        }
        assert_eq!(
            "catch_up_2".parse::<Misfire>().unwrap(),
            Misfire::CatchUp(2)
        );
        for bad in [
            "catch-up-0",
            "catch-up-",
            "catch-up-x",
            "later",
            "catch-up-1001",
        ] {
            assert!(bad.parse::<Misfire>().is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = Retry {
            retries: 5,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
        };
        let d: Vec<u64> = (1..=5).map(|a| r.delay(a).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 5, 5]);
        for a in 1..=5 {
            let j = r.delay_jittered(a);
            assert!(j <= r.delay(a) && j >= r.delay(a).mul_f64(0.75));
        }
        assert_eq!(r.delay(u32::MAX), Duration::from_secs(5));
    }
}
