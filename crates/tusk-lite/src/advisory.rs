//! Session-level advisory locks (`pg_advisory_lock(bigint)`,
//! `pg_try_advisory_lock`, `pg_advisory_unlock`,
//! `pg_advisory_unlock_all`): exclusive locks on 64-bit keys a session
//! holds until it unlocks them or ends, counted when taken again, as in
//! PostgreSQL. A waiting session stops on a cancel, on
//! pg_terminate_backend() and at `lock_timeout`; waits among advisory
//! locks are not part of deadlock detection (a cycle waits until one of
//! those ends it).

use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{code, Result, SqlError};

/// The database's advisory locks: key → (holding session's pid, count).
#[derive(Default)]
pub struct Advisory {
    held: Mutex<HashMap<i64, (i32, u64)>>,
    cv: Condvar,
}

impl Advisory {
    /// Takes `key` for session `pid`, waiting while another session holds
    /// it; `stop` flags (cancel, terminate) end the wait with 57014 and
    /// `deadline` with 55P03.
    pub fn lock(
        &self,
        key: i64,
        pid: i32,
        stop: &AtomicBool,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let mut held = self.held.lock();
        loop {
            match held.get_mut(&key) {
                None => {
                    held.insert(key, (pid, 1));
                    return Ok(());
                }
                Some((p, n)) if *p == pid => {
                    *n += 1;
                    return Ok(());
                }
                Some(_) => {}
            }
            if stop.load(Ordering::Relaxed) {
                return Err(SqlError::new(
                    code::QUERY_CANCELED,
                    "canceling statement due to user request",
                ));
            }
            let mut nap = Duration::from_millis(50);
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(SqlError::new(
                        code::LOCK_NOT_AVAILABLE,
                        "canceling statement due to lock timeout",
                    ));
                }
                nap = nap.min(left);
            }
            self.cv.wait_for(&mut held, nap);
        }
    }

    /// Takes `key` for session `pid` if no other session holds it.
    pub fn try_lock(&self, key: i64, pid: i32) -> bool {
        let mut held = self.held.lock();
        match held.get_mut(&key) {
            None => {
                held.insert(key, (pid, 1));
                true
            }
            Some((p, n)) if *p == pid => {
                *n += 1;
                true
            }
            Some(_) => false,
        }
    }

    /// Releases one hold of `key` by session `pid`; false when it held
    /// none.
    pub fn unlock(&self, key: i64, pid: i32) -> bool {
        let mut held = self.held.lock();
        match held.get_mut(&key) {
            Some((p, n)) if *p == pid => {
                *n -= 1;
                if *n == 0 {
                    held.remove(&key);
                    self.cv.notify_all();
                }
                true
            }
            _ => false,
        }
    }

    /// Releases every lock session `pid` holds.
    pub fn unlock_all(&self, pid: i32) {
        let mut held = self.held.lock();
        let before = held.len();
        held.retain(|_, (p, _)| *p != pid);
        if held.len() != before {
            self.cv.notify_all();
        }
    }
}
