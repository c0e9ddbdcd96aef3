//! The progress line of `tusk copy`: drawn on stderr when it is a
//! terminal, at most ten times a second, erased at the end.

use std::io::Write;
use std::time::{Duration, Instant};

/// Redraw at most this often.
const EVERY: Duration = Duration::from_millis(100);

/// A progress line (or nothing, when `enabled` is false).
pub(crate) struct Progress {
    enabled: bool,
    total: Option<u64>,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    pub(crate) fn new(enabled: bool, total: Option<u64>) -> Progress {
        Progress {
            enabled,
            total,
            start: Instant::now(),
            last: None,
        }
    }

    /// Redraws with `done` bytes, if it is time.
    pub(crate) fn update(&mut self, done: u64, err: &mut dyn Write) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < EVERY) {
            return;
        }
        self.last = Some(now);
        let line = render(done, self.total, now.duration_since(self.start));
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    /// Erases the line.
    pub(crate) fn finish(&mut self, err: &mut dyn Write) {
        if self.enabled && self.last.is_some() {
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// `[#####...............]  25%  1.0 MiB / 4.0 MiB  2.0 MiB/s`, or without
/// a total, `1.0 MiB  2.0 MiB/s`.
pub(crate) fn render(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        // Display only: a rate off by a fraction of a byte is fine.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let r = (done as f64 / secs) as u64;
        format!("{}/s", bytes(r))
    } else {
        String::new()
    };
    match total {
        Some(total) if total > 0 => {
            const WIDTH: u64 = 20;
            let shown = done.min(total);
            let filled = shown * WIDTH / total;
            let pct = shown * 100 / total;
            let bar: String = (0..WIDTH)
                .map(|i| if i < filled { '#' } else { '.' })
                .collect();
            format!(
                "[{bar}] {pct:>3}%  {} / {}  {rate}",
                bytes(done),
                bytes(total)
            )
        }
        _ => format!("{}  {rate}", bytes(done)),
    }
}

/// `512 B`, `1.5 KiB`, `3.0 MiB`, `1.2 GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    // Display only.
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_bar_with_a_total_and_bytes_without() {
        assert_eq!(
            render(
                1024 * 1024,
                Some(4 * 1024 * 1024),
                Duration::from_millis(500)
            ),
            "[#####...............]  25%  1.0 MiB / 4.0 MiB  2.0 MiB/s"
        );
        assert_eq!(render(10, None, Duration::from_secs(1)), "10 B  10 B/s");
        // More than announced (a file that grew): capped at 100%.
        assert!(
            render(9, Some(4), Duration::from_secs(1)).starts_with("[####################] 100%")
        );
        assert_eq!(bytes(1536), "1.5 KiB");
    }

    #[test]
    fn draws_nothing_when_disabled() {
        let mut out = Vec::new();
        let mut p = Progress::new(false, Some(10));
        p.update(5, &mut out);
        p.finish(&mut out);
        assert!(out.is_empty());
    }
}
