//! What a round measures: operations, wall time, client CPU time and a
//! latency histogram; and the clocks behind them (getrusage, /proc).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Whose CPU time to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// This process, all its threads (the in-process drivers).
    SelfProcess,
    /// Children that have ended and been waited for (pgbench).
    Children,
}

/// User plus system CPU time consumed so far by `who`, from
/// `getrusage(2)` (microsecond resolution, unlike the 10 ms ticks of
/// `/proc/self/stat`).
#[allow(unsafe_code)]
pub fn cpu_time(who: Who) -> Duration {
    let which = match who {
        Who::SelfProcess => libc::RUSAGE_SELF,
        Who::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: `rusage` is plain old data for which all-zero bytes are a
    // valid value, and getrusage writes only into the struct we pass, whose
    // pointer is valid and exclusive for the duration of the call.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(which, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

/// The peak resident set size of this process so far (`VmHWM` of
/// /proc/self/status), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    status_field("VmHWM:")
}

/// The current resident set size (`VmRSS`), in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// An empty latency histogram in nanoseconds, 1 ns to 10 minutes, three
/// significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000_000, 3)
        .expect("constant bounds: low >= 1, high >= 2 * low, sigfig <= 5")
}

/// Nanoseconds of a duration, saturated to u64.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What one round of one driver measured.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Operations done (queries, rows for W4, inserts for W6).
    pub ops: u64,
    /// Wall time of the round.
    pub elapsed: Duration,
    /// Client CPU time (user + system) spent in the round.
    pub cpu: Duration,
    /// Latency per query (or per batch, or per scan), in nanoseconds;
    /// empty when the driver cannot tell.
    pub latency: Histogram<u64>,
    /// Cores' worth of CPU that other processes on the machine used
    /// during the round (see [`crate::noise`]); set by the harness.
    pub foreign_cores: Option<f64>,
}

impl Sample {
    /// Operations per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            u64_f64(self.ops) / secs
        } else {
            0.0
        }
    }

    /// Client CPU microseconds per operation.
    pub fn cpu_us_per_op(&self) -> f64 {
        if self.ops == 0 {
            return 0.0;
        }
        self.cpu.as_secs_f64() * 1e6 / u64_f64(self.ops)
    }
}

/// A u64 as f64 (exact below 2^53, which every count here is).
pub fn u64_f64(n: u64) -> f64 {
    // Counts stay far below 2^53; u32 halves keep this free of `as`.
    let hi = u32::try_from(n >> 32).unwrap_or(u32::MAX);
    let lo = u32::try_from(n & 0xffff_ffff).unwrap_or(u32::MAX);
    f64::from(hi) * 4_294_967_296.0 + f64::from(lo)
}

/// Measures an in-process round: wall clock, this process's CPU time, and
/// a latency per timed operation.
///
/// ```ignore
/// let mut m = Meter::start();
/// while m.before(deadline) {
///     let t = Instant::now();
///     do_query().await?;
///     m.record(t, 1);
/// }
/// let sample = m.finish();
/// ```
#[derive(Debug)]
pub struct Meter {
    start: Instant,
    cpu0: Duration,
    ops: u64,
    latency: Histogram<u64>,
    last: Instant,
}

impl Meter {
    /// Starts the clocks.
    pub fn start() -> Meter {
        let cpu0 = cpu_time(Who::SelfProcess);
        let start = Instant::now();
        Meter {
            start,
            cpu0,
            ops: 0,
            latency: histogram(),
            last: start,
        }
    }

    /// The instant the round started.
    pub fn started(&self) -> Instant {
        self.start
    }

    /// Whether the last recorded operation ended before `deadline` (so one
    /// more should run).
    pub fn before(&self, deadline: Instant) -> bool {
        self.last < deadline
    }

    /// Records one timed operation that started at `t0` and counted `ops`.
    pub fn record(&mut self, t0: Instant, ops: u64) {
        let now = Instant::now();
        let _ = self.latency.record(nanos(now - t0).max(1));
        self.ops += ops;
        self.last = now;
    }

    /// Adds operations and latencies measured elsewhere (by concurrent
    /// callers).
    pub fn merge(&mut self, ops: u64, latency: &Histogram<u64>) {
        self.ops += ops;
        let _ = self.latency.add(latency);
    }

    /// Stops the clocks.
    pub fn finish(self) -> Sample {
        let elapsed = self.start.elapsed();
        let cpu = cpu_time(Who::SelfProcess).saturating_sub(self.cpu0);
        Sample {
            ops: self.ops,
            elapsed,
            cpu,
            latency: self.latency,
            foreign_cores: None,
        }
    }
}

/// A small, fast random number generator (xorshift64*), so that picking
/// a random key costs the same few nanoseconds in every driver.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; 0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A key in `1..=n`.
    pub fn key(&mut self, n: u32) -> i32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        let k = x % u64::from(n.max(1)) + 1;
        i32::try_from(k).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_in_range() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            let k = r.key(1_000_000);
            assert!((1..=1_000_000).contains(&k));
        }
    }

    #[test]
    fn cpu_time_moves_forward() {
        let a = cpu_time(Who::SelfProcess);
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(cpu_time(Who::SelfProcess) >= a);
    }

    #[test]
    fn u64_to_f64_is_exact_for_counts() {
        assert_eq!(u64_f64(0), 0.0);
        assert_eq!(u64_f64(1_000_000), 1e6);
        assert_eq!(u64_f64(1 << 40), 1_099_511_627_776.0);
    }

    #[test]
    fn rss_is_readable() {
        assert!(rss_bytes().unwrap_or(0) > 0);
        assert!(peak_rss_bytes().unwrap_or(0) >= rss_bytes().unwrap_or(0) / 2);
    }
}
