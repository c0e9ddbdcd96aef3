//! Running a read-only query under the latest snapshot instead of the
//! transaction's, for the REPEATABLE READ / SERIALIZABLE conflict check:
//! if recomputing a TVIEW's keys gives another answer with the newest
//! committed data, a concurrent transaction changed them and this one must
//! fail with 40001 rather than write a stale row.

use std::ffi::{CStr, CString};

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::error::{user, TvResult};

/// SPI's null flags: `' '` and `'n'`.
const NOT_NULL: std::ffi::c_char = 32;
const IS_NULL: std::ffi::c_char = 110;

/// Rows of `sql` (every column as text) under a fresh snapshot that also
/// sees this transaction's own changes. Parameters are `text[]` values.
pub fn rows(
    client: &SpiClient<'_>,
    sql: &str,
    args: &[Vec<Option<String>>],
) -> TvResult<Vec<Vec<Option<String>>>> {
    run(client, sql, args, false)
}

/// Rows of `sql` under the latest committed data *without* any change of
/// this transaction (a snapshot whose command counter is the first one):
/// the rows as they were before this transaction touched them.
pub fn rows_before(
    client: &SpiClient<'_>,
    sql: &str,
    args: &[Vec<Option<String>>],
) -> TvResult<Vec<Vec<Option<String>>>> {
    run(client, sql, args, true)
}

fn run(
    _client: &SpiClient<'_>,
    sql: &str,
    args: &[Vec<Option<String>>],
    before: bool,
) -> TvResult<Vec<Vec<Option<String>>>> {
    let c = CString::new(sql).map_err(|_| user("query contains a NUL byte"))?;
    let nargs = i32::try_from(args.len()).map_err(|_| user("too many parameters"))?;
    let mut types: Vec<pg_sys::Oid> = vec![pg_sys::TEXTARRAYOID; args.len()];
    let mut values: Vec<pg_sys::Datum> = Vec::with_capacity(args.len());
    let mut nulls: Vec<std::ffi::c_char> = Vec::with_capacity(args.len());
    for a in args {
        let d = a.clone().into_datum();
        nulls.push(if d.is_some() { NOT_NULL } else { IS_NULL });
        values.push(d.unwrap_or(pg_sys::Datum::from(0)));
    }
    // SAFETY: SPI is connected (we hold a client); the plan, values and
    // nulls arrays live until SPI_execute_snapshot returns; result tuples
    // are read within SPI_processed and the tuple descriptor's width, and
    // SPI_getvalue's palloc'd strings are copied before the next call.
    #[allow(unsafe_code)]
    unsafe {
        let plan = pg_sys::SPI_prepare(c.as_ptr(), nargs, types.as_mut_ptr());
        if plan.is_null() {
            let code = pg_sys::SPI_result;
            return Err(user(format!(
                "could not prepare a conflict check (SPI error {code})"
            )));
        }
        pg_sys::CommandCounterIncrement();
        let snap = pg_sys::GetLatestSnapshot();
        if before {
            // The latest snapshot is a static copy PostgreSQL refills on
            // every call; SPI copies it again before running. Command id 0
            // sees none of this transaction's own inserts and all of the
            // rows it deleted or updated, as they were.
            (*snap).curcid = pg_sys::FirstCommandId;
        }
        let rc = pg_sys::SPI_execute_snapshot(
            plan,
            values.as_mut_ptr(),
            nulls.as_ptr(),
            snap,
            std::ptr::null_mut(),
            true,
            false,
            0,
        );
        if rc < 0 {
            return Err(user(format!("conflict check failed (SPI error {rc})")));
        }
        let table = pg_sys::SPI_tuptable;
        let mut out = Vec::new();
        if table.is_null() {
            return Ok(out);
        }
        let n = usize::try_from(pg_sys::SPI_processed).unwrap_or(0);
        let desc = (*table).tupdesc;
        let width = (*desc).natts;
        for i in 0..n {
            let tuple = *(*table).vals.add(i);
            let mut row = Vec::new();
            for col in 1..=width {
                let v = pg_sys::SPI_getvalue(tuple, desc, col);
                row.push(if v.is_null() {
                    None
                } else {
                    Some(CStr::from_ptr(v).to_string_lossy().into_owned())
                });
            }
            out.push(row);
        }
        pg_sys::SPI_freetuptable(table);
        pg_sys::SPI_freeplan(plan);
        Ok(out)
    }
}
