//! A per-backend cache of prepared statements, keyed by SQL text (and, for
//! capture statements, by the shape of the transition table). PostgreSQL's
//! plan cache revalidates them after DDL, so they are safe to keep across
//! transactions; they carry no transaction state.
//!
//! Every statement is prepared "mutating" (SPI read_only = false), so under
//! READ COMMITTED each execution takes a fresh snapshot: the flush relies on
//! that after waiting for key locks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::rc::Rc;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};
use pgrx::PgOid;

/// Beyond this many cached statements the cache is emptied (TVIEWs being
/// created and dropped in a long-lived session).
const MAX_PLANS: usize = 512;

type Cache = HashMap<String, Rc<OwnedPreparedStatement>>;

thread_local! {
    // Never dropped at backend exit (freeing plans then would call into a
    // PostgreSQL that is shutting down); emptied explicitly when too big.
    static CACHE: RefCell<ManuallyDrop<Cache>> = RefCell::new(ManuallyDrop::new(HashMap::new()));
}

/// Runs `sql` (cached under `key`) with `args`, whose types are `types`.
pub fn run<'c>(
    client: &SpiClient<'c>,
    key: &str,
    sql: &str,
    types: &[PgOid],
    args: &[DatumWithOid<'_>],
) -> SpiResult<SpiTupleTable<'c>> {
    let cached = CACHE.with(|c| c.borrow().get(key).cloned());
    let plan = match cached {
        Some(p) => p,
        None => {
            let p = Rc::new(client.prepare_mut(sql, types)?.keep());
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() >= MAX_PLANS {
                    c.clear();
                }
                c.insert(key.to_owned(), Rc::clone(&p));
            });
            p
        }
    };
    // The map is not borrowed while the statement runs: it may fire
    // triggers that use the cache themselves.
    client.select(&*plan, None, args)
}

/// [`run`] keyed by the SQL text itself.
pub fn sql<'c>(
    client: &SpiClient<'c>,
    sql: &str,
    types: &[PgOid],
    args: &[DatumWithOid<'_>],
) -> SpiResult<SpiTupleTable<'c>> {
    run(client, sql, sql, types, args)
}

/// `n` parameters of type `text[]`.
pub fn text_arrays(n: usize) -> Vec<PgOid> {
    vec![PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTARRAYOID); n]
}
