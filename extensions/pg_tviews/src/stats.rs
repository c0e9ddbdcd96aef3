//! Refresh statistics in shared memory (`tviews.stats`), so they are not
//! transactional: counting never conflicts between writers and survives
//! the rollback of the transaction it counts. Needs
//! `shared_preload_libraries = 'pg_tviews'`; without it nothing is counted
//! and `tviews.stats` says so.

use std::sync::atomic::{AtomicBool, Ordering};

use pgrx::prelude::*;
use pgrx::{pg_shmem_init, pg_sys, PGRXSharedMemory, PgLwLock};

const SLOTS: usize = 512;
const ERR_LEN: usize = 240;

/// Counters for one TVIEW.
#[derive(Copy, Clone)]
pub struct Slot {
    db: u32,
    relid: u32,
    /// Refresh operations (one per TVIEW per flush, or per manual call).
    pub refreshes: u64,
    /// Keys recomputed.
    pub keys: u64,
    /// Rows inserted (new or changed).
    pub written: u64,
    /// Rows deleted (changed or vanished).
    pub deleted: u64,
    /// Recomputed rows found unchanged and left alone.
    pub noop: u64,
    /// Full refreshes.
    pub full: u64,
    /// SQL statements run by refreshes.
    pub statements: u64,
    /// Time in refreshes, microseconds.
    pub total_us: u64,
    /// Longest refresh, microseconds.
    pub max_us: u64,
    /// Failed refreshes.
    pub errors: u64,
    err_len: usize,
    err: [u8; ERR_LEN],
}

impl Slot {
    const EMPTY: Slot = Slot {
        db: 0,
        relid: 0,
        refreshes: 0,
        keys: 0,
        written: 0,
        deleted: 0,
        noop: 0,
        full: 0,
        statements: 0,
        total_us: 0,
        max_us: 0,
        errors: 0,
        err_len: 0,
        err: [0; ERR_LEN],
    };

    fn last_error(&self) -> Option<String> {
        (self.err_len > 0).then(|| String::from_utf8_lossy(&self.err[..self.err_len]).into_owned())
    }
}

/// The shared table of counters.
#[derive(Copy, Clone)]
pub struct Stats {
    slots: [Slot; SLOTS],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            slots: [Slot::EMPTY; SLOTS],
        }
    }
}

// SAFETY: plain-old-data (no pointers), always accessed under the LWLock.
#[allow(unsafe_code)]
unsafe impl PGRXSharedMemory for Stats {}

// SAFETY: the name is unique to this extension.
#[allow(unsafe_code)]
static STATS: PgLwLock<Stats> = unsafe { PgLwLock::new(c"pg_tviews_stats") };

/// Whether the shared memory was requested (set once in `_PG_init` of the
/// postmaster; forked backends inherit it).
static AVAILABLE: AtomicBool = AtomicBool::new(false);

/// Requests the shared memory when loaded by `shared_preload_libraries`.
// pg_shmem_init! tests the features pg13, pg14 and pg16-pg18, which this
// crate does not declare: it is built for PostgreSQL 15 alone.
#[allow(unexpected_cfgs)]
pub fn init() {
    // SAFETY: reads a backend global during _PG_init, which runs in one
    // thread before any query.
    #[allow(unsafe_code)]
    let preloading = unsafe { pg_sys::process_shared_preload_libraries_in_progress };
    if preloading {
        pg_shmem_init!(STATS);
        AVAILABLE.store(true, Ordering::Relaxed);
    }
}

fn available() -> bool {
    AVAILABLE.load(Ordering::Relaxed)
}

fn my_db() -> u32 {
    // SAFETY: reads a backend global.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::MyDatabaseId.to_u32()
    }
}

/// Applies `f` to the counters of one TVIEW (no-op without shared memory).
pub fn update(relid: u32, f: impl FnOnce(&mut Slot)) {
    if !available() {
        return;
    }
    let db = my_db();
    let mut g = STATS.exclusive();
    let pos = g
        .slots
        .iter()
        .position(|s| s.db == db && s.relid == relid)
        .or_else(|| g.slots.iter().position(|s| s.relid == 0));
    if let Some(i) = pos {
        let s = &mut g.slots[i];
        s.db = db;
        s.relid = relid;
        f(s);
    }
}

/// Records an error message.
pub fn record_error(relid: u32, msg: &str) {
    update(relid, |s| {
        s.errors += 1;
        let mut end = msg.len().min(ERR_LEN);
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        s.err[..end].copy_from_slice(&msg.as_bytes()[..end]);
        s.err_len = end;
    });
}

/// Forgets a TVIEW's counters (on drop).
pub fn forget(relid: u32) {
    if !available() {
        return;
    }
    let db = my_db();
    let mut g = STATS.exclusive();
    for s in g
        .slots
        .iter_mut()
        .filter(|s| s.db == db && s.relid == relid)
    {
        *s = Slot::EMPTY;
    }
}

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn ms(us: u64) -> f64 {
    std::time::Duration::from_micros(us).as_secs_f64() * 1000.0
}

/// Counters of this database's TVIEWs (used by the `tviews.stats` view).
#[allow(clippy::type_complexity)]
#[pg_extern(name = "_stats")]
fn stats_rows() -> TableIterator<
    'static,
    (
        name!(relid, pg_sys::Oid),
        name!(refreshes, i64),
        name!(keys_refreshed, i64),
        name!(rows_written, i64),
        name!(rows_deleted, i64),
        name!(noop_skipped, i64),
        name!(full_refreshes, i64),
        name!(statements, i64),
        name!(total_ms, f64),
        name!(max_ms, f64),
        name!(errors, i64),
        name!(last_error, Option<String>),
    ),
> {
    if !available() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "pg_tviews statistics need shared memory: add pg_tviews to shared_preload_libraries and restart PostgreSQL"
        );
    }
    let db = my_db();
    let g = STATS.share();
    let rows: Vec<_> = g
        .slots
        .iter()
        .filter(|s| s.db == db && s.relid != 0)
        .map(|s| {
            (
                pg_sys::Oid::from(s.relid),
                big(s.refreshes),
                big(s.keys),
                big(s.written),
                big(s.deleted),
                big(s.noop),
                big(s.full),
                big(s.statements),
                ms(s.total_us),
                ms(s.max_us),
                big(s.errors),
                // An error message can quote data: only for roles with the
                // privileges of the TVIEW's owner, however it is called.
                s.last_error().filter(|_| {
                    crate::guard::owner_of(s.relid).is_ok_and(crate::guard::has_privs_of)
                }),
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// Zeroes the counters of this database's TVIEWs.
#[pg_extern(name = "stats_reset")]
fn stats_reset() {
    if !available() {
        return;
    }
    let db = my_db();
    let mut g = STATS.exclusive();
    for s in g.slots.iter_mut().filter(|s| s.db == db) {
        *s = Slot::EMPTY;
    }
}
