//! Settings: `pg_tviews.enabled`, `pg_tviews.max_propagation_depth`,
//! `pg_tviews.max_queue_size`, `pg_tviews.max_key_locks`.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Capture changes (off: TVIEWs are not maintained until `tviews.refresh()`).
pub static ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);
/// How many times one flush may go back to a lower level (user triggers on a
/// TVIEW that write a base table) before it gives up.
pub static MAX_DEPTH: GucSetting<i32> = GucSetting::<i32>::new(16);
/// Pending keys per TVIEW and transaction before falling back to a full
/// refresh of that TVIEW.
pub static MAX_QUEUE: GucSetting<i32> = GucSetting::<i32>::new(100_000);
/// Keys locked one by one per refresh; above this the TVIEW is locked as a
/// whole for the rest of the transaction.
pub static MAX_KEY_LOCKS: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Registers the settings (from `_PG_init`).
pub fn register() {
    GucRegistry::define_bool_guc(
        c"pg_tviews.enabled",
        c"Maintain TVIEWs (capture base-table changes and refresh at commit).",
        c"When off, changes are not captured and TVIEWs go stale until tviews.refresh().",
        &ENABLED,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_tviews.max_propagation_depth",
        c"Maximum number of times a commit-time flush may return to an already refreshed level.",
        c"Bounds loops made by user triggers on TVIEWs that write base tables.",
        &MAX_DEPTH,
        0,
        10_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_tviews.max_queue_size",
        c"Pending keys per TVIEW and transaction before falling back to a full refresh.",
        c"Bounds the memory one transaction's queue can take.",
        &MAX_QUEUE,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"pg_tviews.max_key_locks",
        c"Keys (or join values) locked one by one per refresh and rank before locking coarse stripes instead.",
        c"Per-value advisory locks keep concurrent writers of unrelated rows apart; past this many, at most 16 stripe locks per rank save lock-table space.",
        &MAX_KEY_LOCKS,
        0,
        1_000_000,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// `max_queue_size` as a usize.
pub fn max_queue() -> usize {
    usize::try_from(MAX_QUEUE.get()).unwrap_or(1)
}
