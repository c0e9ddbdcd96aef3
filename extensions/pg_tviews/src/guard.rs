//! The context every statement of the extension runs in.
//!
//! Maintenance runs the way PostgreSQL runs `REFRESH MATERIALIZED VIEW`:
//! as the TVIEW's owner, in a security-restricted operation
//! (`SECURITY_RESTRICTED_OPERATION`: no `SET ROLE`, no temporary objects,
//! no session-level changes by code it calls), with a fixed `search_path`
//! (`pg_catalog, pg_temp`), so no object planted in a schema on the
//! writer's `search_path` can be picked by a generated statement, and with
//! JIT off (a recompute is small; compiling it costs more than it saves).
//! While maintenance runs, the backend-local flag that lets statements
//! write TVIEW tables is set (see `_guard`).
//!
//! The previous user, security context and settings are restored when the
//! closure returns, and also when it fails (the error is then re-raised).

use std::cell::Cell;
use std::panic::AssertUnwindSafe;

use pgrx::prelude::*;

use crate::error::TvError;

thread_local! {
    /// How many maintenance scopes are open in this backend.
    static MAINTAINING: Cell<u32> = const { Cell::new(0) };
}

/// Whether maintenance (a refresh, a load at create) is running: only
/// then may a TVIEW table be written.
pub fn maintaining() -> bool {
    MAINTAINING.with(Cell::get) > 0
}

/// Runs `f` with the fixed `search_path` and JIT off; as `owner` (in a
/// security-restricted operation) when given; allowed to write TVIEW
/// tables when `write` is set.
pub fn run<R>(
    owner: Option<pg_sys::Oid>,
    write: bool,
    f: impl FnOnce() -> Result<R, TvError>,
) -> Result<R, TvError> {
    let mut saved_user = pg_sys::Oid::INVALID;
    let mut saved_sec: i32 = 0;
    // SAFETY: reads and sets the backend's user and GUC state the way
    // ExecRefreshMatView does; both are restored below, on success and on
    // error (and by transaction abort in any case).
    #[allow(unsafe_code)]
    let nest = unsafe {
        pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_sec);
        if let Some(owner) = owner {
            let flags = i32::try_from(
                pg_sys::SECURITY_RESTRICTED_OPERATION | pg_sys::SECURITY_LOCAL_USERID_CHANGE,
            )
            .unwrap_or(3);
            pg_sys::SetUserIdAndSecContext(owner, saved_sec | flags);
        }
        let nest = pg_sys::NewGUCNestLevel();
        set("search_path", c"pg_catalog, pg_temp");
        set("jit", c"off");
        nest
    };
    if write {
        MAINTAINING.with(|m| m.set(m.get() + 1));
    }
    let restore = move || {
        if write {
            MAINTAINING.with(|m| m.set(m.get().saturating_sub(1)));
        }
        // SAFETY: pops the GUC level pushed above and puts back the user.
        #[allow(unsafe_code)]
        unsafe {
            pg_sys::AtEOXact_GUC(true, nest);
            pg_sys::SetUserIdAndSecContext(saved_user, saved_sec);
        }
    };
    then_restore(f, restore)
}

/// Runs `f`, then `restore`: also when `f` raises a PostgreSQL error, which
/// goes on up afterwards.
fn then_restore<R>(
    f: impl FnOnce() -> Result<R, TvError>,
    restore: impl Fn() + std::panic::RefUnwindSafe,
) -> Result<R, TvError> {
    let out = PgTryBuilder::new(AssertUnwindSafe(f))
        .catch_others(|e| {
            restore();
            e.rethrow()
        })
        .execute();
    restore();
    out
}

/// Bounds each lock wait of the current GUC nest level by
/// `statement_timeout` when `lock_timeout` is unset or longer: PostgreSQL
/// stops the statement timer before COMMIT runs the deferred flush, so
/// without this a refresh waiting at COMMIT ignored `statement_timeout`.
pub fn bound_lock_waits() {
    // SAFETY: reads two int GUC variables of this backend.
    #[allow(unsafe_code)]
    let (lock, stmt) = unsafe { (pg_sys::LockTimeout, pg_sys::StatementTimeout) };
    if stmt > 0 && (lock == 0 || lock > stmt) {
        let value = std::ffi::CString::new(stmt.to_string()).unwrap_or_default();
        set("lock_timeout", &value);
    }
}

fn set(name: &str, value: &std::ffi::CStr) {
    let name = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // value is saved in the current GUC nest level.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
    }
}

/// The current user id.
pub fn current_user() -> pg_sys::Oid {
    // SAFETY: reads a backend global.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::GetUserId()
    }
}

/// Runs `f` with the security-restricted flag cleared (same user), then
/// puts the context back, also on error. Only for the extension's own
/// fixed statements.
pub fn unrestricted<R>(f: impl FnOnce() -> Result<R, TvError>) -> Result<R, TvError> {
    let mut user = pg_sys::Oid::INVALID;
    let mut sec: i32 = 0;
    let flag = i32::try_from(pg_sys::SECURITY_RESTRICTED_OPERATION).unwrap_or(2);
    // SAFETY: reads and sets the backend's user context; restored below.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut sec);
        if sec & flag == 0 {
            return f();
        }
        pg_sys::SetUserIdAndSecContext(user, sec & !flag);
    }
    let restore = move || {
        // SAFETY: puts back the context read above.
        #[allow(unsafe_code)]
        unsafe {
            pg_sys::SetUserIdAndSecContext(user, sec);
        }
    };
    then_restore(f, restore)
}

/// The owner of a relation (an error if it is gone).
pub fn owner_of(relid: u32) -> Result<pg_sys::Oid, TvError> {
    let oid = pg_sys::Oid::from(relid);
    // SAFETY: a syscache lookup; the tuple is released before returning.
    #[allow(unsafe_code)]
    unsafe {
        let tup = pg_sys::SearchSysCache1(
            i32::try_from(pg_sys::SysCacheIdentifier::RELOID).unwrap_or(0),
            pg_sys::Datum::from(oid),
        );
        if tup.is_null() {
            return Err(crate::error::user(format!(
                "relation {relid} does not exist"
            )));
        }
        let form = pg_sys::GETSTRUCT(tup).cast::<pg_sys::FormData_pg_class>();
        let owner = (*form).relowner;
        pg_sys::ReleaseSysCache(tup);
        Ok(owner)
    }
}

/// Whether the current user has the privileges of `role` (is it, or a
/// member of it), as ownership checks require.
pub fn has_privs_of(role: pg_sys::Oid) -> bool {
    // SAFETY: plain catalog lookups.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::has_privs_of_role(pg_sys::GetUserId(), role)
    }
}

/// The role that owns the extension's catalog (`tviews._tview`): the
/// only role that writes it.
pub fn catalog_owner() -> Result<pg_sys::Oid, TvError> {
    // SAFETY: a namespace-qualified name lookup, no user code runs.
    #[allow(unsafe_code)]
    let relid = unsafe {
        let ns = pg_sys::get_namespace_oid(c"tviews".as_ptr(), false);
        pg_sys::get_relname_relid(c"_tview".as_ptr(), ns)
    };
    owner_of(relid.to_u32())
}
