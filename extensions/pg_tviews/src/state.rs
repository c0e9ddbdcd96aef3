//! Backend state that lives for one transaction at most: the queue of
//! pending keys, the flush marker, and whether a flush is running. The
//! callbacks that clear it are registered once, in `_PG_init`.

use std::cell::RefCell;

use pgrx::pg_sys;
use pgrx::prelude::*;
use tviews_core::queue::{Marker, Queue};

/// This transaction's state.
#[derive(Default)]
pub struct TxState {
    /// Pending work per TVIEW.
    pub queue: Queue,
    /// Where the flush marker stands.
    pub marker: Marker,
    /// A flush is running (started in this subtransaction): captures feed
    /// it directly, without a marker.
    pub flushing: Option<u32>,
}

thread_local! {
    static STATE: RefCell<TxState> = RefCell::new(TxState::default());
}

/// Runs `f` on the state.
pub fn with<R>(f: impl FnOnce(&mut TxState) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn reset() {
    with(|s| *s = TxState::default());
}

#[pg_guard]
extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_PRE_COMMIT | XACT_EVENT_PARALLEL_PRE_COMMIT | XACT_EVENT_PRE_PREPARE => {
            // The deferred flush trigger has run by now; work still queued
            // would leave a TVIEW stale, so the commit fails instead.
            let pending =
                with(|s| (!s.queue.is_empty()).then(|| s.queue.tviews().collect::<Vec<_>>()));
            if let Some(tviews) = pending {
                reset();
                ereport!(
                    ERROR,
                    PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("pg_tviews: changes to TVIEW(s) {tviews:?} were captured but not applied before commit"),
                    "the commit-time refresh trigger on tviews._pending did not run; check that it exists and is DEFERRABLE INITIALLY DEFERRED"
                );
            }
        }
        XACT_EVENT_COMMIT
        | XACT_EVENT_PARALLEL_COMMIT
        | XACT_EVENT_ABORT
        | XACT_EVENT_PARALLEL_ABORT
        | XACT_EVENT_PREPARE => reset(),
        _ => {}
    }
}

#[pg_guard]
extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my: pg_sys::SubTransactionId,
    parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::SubXactEvent::*;
    match event {
        SUBXACT_EVENT_COMMIT_SUB => with(|s| {
            s.marker.subxact_commit(my, parent);
            s.queue.subxact_commit(my, parent);
        }),
        SUBXACT_EVENT_ABORT_SUB => with(|s| {
            // Work queued in the subtransaction goes (its changes are gone);
            // work its flushes applied comes back (their refresh is gone).
            s.marker.subxact_abort(my);
            s.queue.subxact_abort(my, crate::guc::max_queue());
            if s.flushing == Some(my) {
                s.flushing = None;
            }
        }),
        _ => {}
    }
}

/// Registers the transaction callbacks; called once per backend.
pub fn register_callbacks() {
    // SAFETY: plain registration of functions with the signatures
    // PostgreSQL expects; called once from _PG_init.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
    }
}

/// The current subtransaction id.
pub fn current_subxact() -> u32 {
    // SAFETY: reads transaction state; valid inside a transaction.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::GetCurrentSubTransactionId()
    }
}

/// Whether the transaction uses one snapshot throughout (REPEATABLE READ or
/// SERIALIZABLE).
pub fn uses_xact_snapshot() -> bool {
    // SAFETY: reads a backend global.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ.try_into().unwrap_or(2)
    }
}
