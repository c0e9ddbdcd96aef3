//! How much of the machine something else used during a round: the CPU
//! time of every process that is neither this benchmark nor one of its
//! descendants (the server and its backends, pgbench), from /proc.
//!
//! These machines are shared; a build next door takes CPU from the client
//! and the server alike. A round during which others used a sizeable part
//! of a core is flagged, so that a disturbed run is seen as one.

use std::collections::HashMap;

/// Ticks per second of /proc's CPU times (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU ticks at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// user + nice + system of all CPUs (/proc/stat).
    busy: u64,
    /// steal of all CPUs (a hypervisor's other guests).
    steal: u64,
    /// utime + stime + cutime + cstime of this process and every
    /// descendant, so that a child reaped in between still counts as ours.
    ours: u64,
}

/// Reads the ticks now; `None` where /proc cannot tell.
pub fn snapshot() -> Option<Snapshot> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |i: usize| cpu.get(i).copied().unwrap_or(0);
    let busy = field(0) + field(1) + field(2);
    let steal = field(7);
    Some(Snapshot {
        busy,
        steal,
        ours: tree_ticks(std::process::id())?,
    })
}

/// Cores' worth of CPU that others (and the hypervisor, as steal) took
/// between `a` and `b`, `secs` apart.
pub fn foreign_cores(a: &Snapshot, b: &Snapshot, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    let busy = b.busy.saturating_sub(a.busy);
    let ours = b.ours.saturating_sub(a.ours);
    let steal = b.steal.saturating_sub(a.steal);
    let foreign = busy.saturating_sub(ours) + steal;
    crate::measure::u64_f64(foreign) / TICKS / secs
}

/// (ppid, utime + stime + cutime + cstime) of one /proc/PID/stat.
fn parse_stat(text: &str) -> Option<(u32, u64)> {
    // The command name may hold spaces and parentheses: fields start after
    // the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
    let ppid = f.get(1)?.parse().ok()?;
    let mut ticks = 0u64;
    for i in 11..15 {
        let v: i64 = f.get(i)?.parse().ok()?;
        ticks += u64::try_from(v).unwrap_or(0);
    }
    Some((ppid, ticks))
}

/// The ticks of `root` and all its descendants.
fn tree_ticks(root: u32) -> Option<u64> {
    let mut procs: HashMap<u32, (u32, u64)> = HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) {
            if let Some(p) = parse_stat(&text) {
                procs.insert(pid, p);
            }
        }
    }
    let mut total = 0u64;
    let mut stack = vec![root];
    let mut seen = 0usize;
    while let Some(pid) = stack.pop() {
        seen += 1;
        if seen > procs.len() + 1 {
            break;
        }
        if let Some((_, ticks)) = procs.get(&pid) {
            total += ticks;
        }
        stack.extend(
            procs
                .iter()
                .filter(|(_, (ppid, _))| *ppid == pid)
                .map(|(p, _)| *p),
        );
    }
    Some(total)
}

/// Above this many cores taken by others, a round counts as disturbed.
pub const DISTURBED_CORES: f64 = 0.25;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_an_awkward_name() {
        let line =
            "1234 (a) b (c) S 77 1234 1234 0 -1 4194560 100 0 0 0 250 31 4 5 20 0 1 0 100 0 0";
        assert_eq!(parse_stat(line), Some((77, 250 + 31 + 4 + 5)));
    }

    #[test]
    fn our_own_tree_is_readable() {
        let a = snapshot().unwrap();
        let b = snapshot().unwrap();
        assert!(foreign_cores(&a, &b, 1.0) >= 0.0);
    }
}
