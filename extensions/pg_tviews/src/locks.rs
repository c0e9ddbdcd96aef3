//! Advisory locks on TVIEW keys, taken by direct function calls (no SQL).
//!
//! A refresh takes the TVIEW's lock in share mode and then one lock per key,
//! in hash order, so two flushes never wait on each other in a cycle; a
//! refresh of many keys (or a full refresh) takes the TVIEW's lock in
//! exclusive mode instead. All are transaction-level: released at commit.
//! Keys are put in canonical form (through the key type's input and output
//! functions) first, so every session hashes a value the same way.

use std::collections::HashSet;
use std::ffi::{CStr, CString};

use pgrx::fcinfo::direct_function_call_as_datum;
use pgrx::prelude::*;
use tviews_core::queue::Key;

use crate::error::{user, TvResult};

fn call(f: unsafe fn(pg_sys::FunctionCallInfo) -> pg_sys::Datum, args: &[Option<pg_sys::Datum>]) {
    // SAFETY: the advisory-lock functions take int4/int8 arguments, passed
    // as such, and return void.
    #[allow(unsafe_code)]
    unsafe {
        direct_function_call_as_datum(f, args);
    }
}

/// Locks the whole TVIEW, exclusively.
pub fn tview_exclusive(relid: u32) {
    call(
        pg_sys::pg_advisory_xact_lock_int8,
        &[i64::from(relid).into_datum()],
    );
}

/// Locks the keys of a TVIEW (share lock on the TVIEW, then each key).
pub fn keys(relid: u32, key_types: &[u32], keys: &HashSet<Key>) -> TvResult<()> {
    call(
        pg_sys::pg_advisory_xact_lock_shared_int8,
        &[i64::from(relid).into_datum()],
    );
    let mut hashes = Vec::with_capacity(keys.len());
    for k in keys {
        let mut h = Fnv::default();
        for (v, t) in k.iter().zip(key_types) {
            h.write(canonical(v, *t)?.as_bytes());
            h.write(&[0]);
        }
        hashes.push(h.finish());
    }
    hashes.sort_unstable();
    hashes.dedup();
    let class = i32::from_ne_bytes(relid.to_ne_bytes());
    for h in hashes {
        call(
            pg_sys::pg_advisory_xact_lock_int4,
            &[class.into_datum(), h.into_datum()],
        );
    }
    Ok(())
}

/// The value as the type's output function prints it.
fn canonical(text: &str, typoid: u32) -> TvResult<String> {
    let c = CString::new(text).map_err(|_| user("a key value contains a NUL byte"))?;
    // SAFETY: type I/O through PostgreSQL's own functions on a valid type
    // oid (from pg_attribute); a bad value raises a PostgreSQL ERROR.
    #[allow(unsafe_code)]
    unsafe {
        let oid = pg_sys::Oid::from(typoid);
        let mut input = pg_sys::Oid::INVALID;
        let mut ioparam = pg_sys::Oid::INVALID;
        pg_sys::getTypeInputInfo(oid, &mut input, &mut ioparam);
        let datum = pg_sys::OidInputFunctionCall(input, c.as_ptr().cast_mut(), ioparam, -1);
        let mut output = pg_sys::Oid::INVALID;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(oid, &mut output, &mut varlena);
        let out = pg_sys::OidOutputFunctionCall(output, datum);
        Ok(CStr::from_ptr(out).to_string_lossy().into_owned())
    }
}

/// 32-bit FNV-1a: small, stable across processes and builds.
struct Fnv(u32);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0x811c_9dc5)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }

    fn finish(&self) -> i32 {
        i32::from_ne_bytes(self.0.to_ne_bytes())
    }
}
