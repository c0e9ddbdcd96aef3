//! Locks taken by a refresh, by direct calls to the lock manager (no SQL),
//! in a key space of their own (see [`acquire`]).
//!
//! Per TVIEW, every refresh takes its locks in one order:
//!
//! 1. the TVIEW's own lock (`int8` advisory lock on its oid): shared for a
//!    keyed refresh, exclusive for a full one, which therefore excludes
//!    every other refresh of the TVIEW;
//! 2. join-value locks (see `tviews_core::sql::locks`), rank by rank:
//!    writers of a step table lock its probed values shared, join sources
//!    probing them lock them exclusive;
//! 3. the keys, exclusive.
//!
//! Each rank is one ordered pass: first its stripes (16 coarse locks, shared),
//! then its exact locks in hash order. A rank with more than
//! `pg_tviews.max_key_locks` locks takes the stripes its values fall in
//! exclusively instead, which covers them all (bounded lock-table space):
//! this is an intention-lock scheme, so escalating never means upgrading a
//! lock already held. Locks are pairs `(TVIEW oid, rank << 28 |
//! exact << 27 | hash)`, compared as unsigned, so the whole order is the
//! numeric order and a hash collision only makes two values share a lock.
//! All are transaction-level: released after the commit is visible.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{CStr, CString};

use pgrx::prelude::*;
use tviews_core::sql::locks::ColumnId;

use crate::error::{user, TvResult};

/// The highest rank a lock group can have (deeper paths lock the TVIEW).
pub const MAX_GROUP_RANK: u32 = 14;
/// The rank of the keys: after every lock group.
pub const KEY_RANK: u32 = 15;
/// Coarse locks per rank.
const STRIPES: u32 = 16;
const EXACT: u32 = 1 << 27;
const HASH_MASK: u32 = EXACT - 1;

/// Lock strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Compatible with other shared holders.
    Shared,
    /// Conflicts with every holder.
    Exclusive,
}

/// `locktag_field4` of the TVIEW locks. SQL's advisory-lock functions
/// only ever use 1 (`int8` keys) and 2 (`int4` pairs), so no role can take
/// or hold a lock in this key space by calling them: a role without rights
/// on a TVIEW cannot make its writers wait.
const TVIEW_SPACE: u16 = 0x7476;
/// `locktag_field4` of the join-value, stripe and key locks.
const VALUE_SPACE: u16 = 0x7477;

/// Takes a transaction-level lock in the extension's key space. The wait
/// is an ordinary heavyweight-lock wait: bounded by `lock_timeout` and
/// `statement_timeout`, and seen by the deadlock detector.
fn acquire(space: u16, key1: u32, key2: u32, mode: Mode) {
    // SAFETY: builds an advisory lock tag the way SET_LOCKTAG_ADVISORY
    // does and takes it for the transaction; LockAcquire raises an ERROR
    // (timeout, deadlock, cancel) itself.
    #[allow(unsafe_code)]
    unsafe {
        let tag = pg_sys::LOCKTAG {
            locktag_field1: pg_sys::MyDatabaseId.to_u32(),
            locktag_field2: key1,
            locktag_field3: key2,
            locktag_field4: space,
            locktag_type: u8::try_from(pg_sys::LockTagType::LOCKTAG_ADVISORY).unwrap_or(10),
            locktag_lockmethodid: u8::try_from(pg_sys::USER_LOCKMETHOD).unwrap_or(2),
        };
        let lockmode = match mode {
            Mode::Shared => pg_sys::ShareLock,
            Mode::Exclusive => pg_sys::ExclusiveLock,
        };
        pg_sys::LockAcquire(&tag, i32::try_from(lockmode).unwrap_or(7), false, false);
    }
}

/// Locks the whole TVIEW, exclusively (a full refresh).
pub fn tview_exclusive(relid: u32) {
    acquire(TVIEW_SPACE, relid, 0, Mode::Exclusive);
}

/// Locks the TVIEW in share mode (a keyed refresh).
pub fn tview_shared(relid: u32) {
    acquire(TVIEW_SPACE, relid, 0, Mode::Shared);
}

/// The locks one refresh wants, by rank: hash -> strongest mode asked.
#[derive(Debug, Default)]
pub struct Wanted(BTreeMap<u32, HashMap<u32, Mode>>);

impl Wanted {
    /// Asks for `hash` at `rank` in `mode` (the stronger mode wins).
    pub fn add(&mut self, rank: u32, hash: u32, mode: Mode) {
        let e = self
            .0
            .entry(rank)
            .or_default()
            .entry(hash & HASH_MASK)
            .or_insert(mode);
        *e = (*e).max(mode);
    }

    /// Takes the locks asked for at `rank` (in order, see the module doc);
    /// past `max` exact locks, the rank's stripes exclusively instead.
    pub fn take(&self, relid: u32, rank: u32, max: usize) {
        let Some(wanted) = self.0.get(&rank) else {
            return;
        };
        let base = rank << 28;
        let stripes: BTreeSet<u32> = wanted.keys().map(|h| h % STRIPES).collect();
        let lock = |id: u32, mode: Mode| acquire(VALUE_SPACE, relid, id, mode);
        if wanted.len() > max {
            for s in stripes {
                lock(base | s, Mode::Exclusive);
            }
            return;
        }
        for s in stripes {
            lock(base | s, Mode::Shared);
        }
        let exact: BTreeMap<u32, Mode> = wanted.iter().map(|(h, m)| (*h, *m)).collect();
        for (h, mode) in exact {
            lock(base | EXACT | h, mode);
        }
    }
}

/// A column's type and collation, as the hashing needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// Type oid.
    pub typ: u32,
    /// Collation oid (0 when not collatable).
    pub coll: u32,
}

/// The type and collation of a table column (an error if it is gone).
pub fn column_type(c: ColumnId) -> TvResult<TypeInfo> {
    if c.attno <= 0 {
        return Err(user(format!(
            "a join column of relation {} is missing; recreate the TVIEW",
            c.relid
        )));
    }
    let mut typ = pg_sys::Oid::INVALID;
    let mut typmod = -1;
    let mut coll = pg_sys::Oid::INVALID;
    // SAFETY: a syscache lookup; a missing attribute raises a PostgreSQL
    // ERROR ("cache lookup failed"), which aborts the refresh.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::get_atttypetypmodcoll(
            pg_sys::Oid::from(c.relid),
            c.attno,
            &mut typ,
            &mut typmod,
            &mut coll,
        );
    }
    Ok(TypeInfo {
        typ: typ.to_u32(),
        coll: coll.to_u32(),
    })
}

/// The lock hash of a tuple of values (text forms) of the given types,
/// under `tag` (a lock group id, or `u32::MAX` for keys). Each value is
/// hashed by its type's hash function, so equal values hash equal whatever
/// their text (`5.0` and `5` as numeric) and across the integer types, as
/// in a hash join; a type without one hashes its canonical text.
pub fn tuple_hash(tag: u32, values: &[&str], types: &[TypeInfo]) -> TvResult<u32> {
    if values.len() != types.len() {
        return Err(user(
            "a captured value does not match its lock group; recreate the TVIEW",
        ));
    }
    let mut h = Fnv::default();
    h.write(&tag.to_le_bytes());
    for (v, t) in values.iter().zip(types) {
        h.write(&value_hash(v, *t)?.to_le_bytes());
    }
    Ok(h.0 & HASH_MASK)
}

fn value_hash(text: &str, t: TypeInfo) -> TvResult<u32> {
    let c = CString::new(text).map_err(|_| user("a key value contains a NUL byte"))?;
    // SAFETY: type I/O and hashing through PostgreSQL's own functions on a
    // valid type oid (from pg_attribute); a bad value raises a PostgreSQL
    // ERROR. The type cache entry lives for the backend.
    #[allow(unsafe_code)]
    unsafe {
        let oid = pg_sys::Oid::from(t.typ);
        let mut input = pg_sys::Oid::INVALID;
        let mut ioparam = pg_sys::Oid::INVALID;
        pg_sys::getTypeInputInfo(oid, &mut input, &mut ioparam);
        let datum = pg_sys::OidInputFunctionCall(input, c.as_ptr().cast_mut(), ioparam, -1);
        let flags = i32::try_from(pg_sys::TYPECACHE_HASH_PROC_FINFO).unwrap_or(0);
        let tce = pg_sys::lookup_type_cache(oid, flags);
        if !tce.is_null() && (*tce).hash_proc != pg_sys::Oid::INVALID {
            let coll = if t.coll != 0 {
                pg_sys::Oid::from(t.coll)
            } else {
                (*tce).typcollation
            };
            let d = pg_sys::FunctionCall1Coll(&mut (*tce).hash_proc_finfo, coll, datum);
            return Ok(u32::try_from(d.value() & 0xffff_ffff).unwrap_or(0));
        }
        let mut output = pg_sys::Oid::INVALID;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(oid, &mut output, &mut varlena);
        let out = pg_sys::OidOutputFunctionCall(output, datum);
        let mut h = Fnv::default();
        h.write(CStr::from_ptr(out).to_bytes());
        Ok(h.0)
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
}
