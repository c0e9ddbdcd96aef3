//! The capture trigger: a statement-level AFTER trigger on each base table
//! (one per event, with its transition table). It maps the statement's
//! changed rows to keys set-wise, queues them for the commit-time flush,
//! and places the flush marker once per transaction.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::catalog::table_rows;
use crate::error::{user, TvError};
use crate::{guard, guc, plans, state};
use tviews_core::sql::capture::parse_layout;

/// Trigger arguments: TVIEW oid, source index, kind (`d` direct, `j` join,
/// `f` full), the capture SQL over the transition tables and, for `d` and
/// `j`, the layout of its columns (main columns, then the values of each
/// join-value lock group, see `tviews_core::sql::capture::parse_layout`).
#[pg_trigger]
fn _capture<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, TvError> {
    // Errors are raised here, with their message (pgrx would print a
    // returned error with Debug formatting). The capture statement runs as
    // the writer (it reads only the statement's transition tables), in a
    // security-restricted operation, under the extension's fixed
    // search_path.
    match guard::run(Some(guard::current_user()), false, || capture(trigger)) {
        Ok(()) => Ok(None),
        Err(e) => e.raise(),
    }
}

/// A statement-level BEFORE trigger on every TVIEW table: only maintenance
/// (a refresh run by the extension, as the TVIEW's owner) writes it; a
/// direct INSERT, UPDATE, DELETE or TRUNCATE, by anyone, is refused.
#[pg_trigger]
fn _guard<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, TvError> {
    if guard::maintaining() {
        return Ok(None);
    }
    let name = trigger
        .relation()
        .map(|r| format!("{}.{}", r.namespace(), r.name()))
        .unwrap_or_else(|_| "?".into());
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
        format!("cannot change TVIEW \"{name}\" directly"),
        "A TVIEW is maintained by pg_tviews from its query: change the tables it reads, or call tviews.refresh()."
    );
}

fn capture(trigger: &PgTrigger<'_>) -> Result<(), TvError> {
    if !guc::ENABLED.get() {
        return Ok(());
    }
    let args = trigger.extra_args()?;
    let (tview, idx, kind, sql, layout) = match args.as_slice() {
        [t, i, k, s] => (t, i, k, s, None),
        [t, i, k, s, l] => (t, i, k, s, Some(l)),
        _ => return Err(user("tviews._capture expects 4 or 5 trigger arguments")),
    };
    let id: i64 = tview
        .parse()
        .map_err(|_| user("bad TVIEW id in trigger arguments"))?;
    // A capture trigger left behind by a TVIEW that no longer exists has
    // nothing to maintain.
    let Some(tview) = tview_of(id)? else {
        return Ok(());
    };
    let idx: i32 = idx
        .parse()
        .map_err(|_| user("bad source index in trigger arguments"))?;
    let max = guc::max_queue();
    let sub = state::current_subxact();
    Spi::connect_mut(|client| {
        match kind.as_str() {
            "f" => state::with(|s| s.queue.mark_full(tview, sub)),
            "d" | "j" => {
                // SAFETY: registers this trigger's transition tables with the
                // SPI connection just opened; the trigger data outlives it.
                #[allow(unsafe_code)]
                unsafe {
                    let td: *const pg_sys::TriggerData = trigger.trigger_data();
                    pg_sys::SPI_register_trigger_data(td.cast_mut());
                }
                // Cached per table shape: the plan is bound to the transition
                // table's columns, which the SQL text alone does not pin.
                let key = format!("{}:{}:{sql}", trigger.relid()?.to_u32(), shape(trigger)?);
                let found = table_rows(plans::run(client, &key, sql, &[], &[])?)?;
                if found.is_empty() {
                    return Ok(());
                }
                let (main, groups) = match layout {
                    Some(l) => parse_layout(l)?,
                    None => (found.first().map_or(0, Vec::len), Vec::new()),
                };
                let part = |r: &[Option<String>], at: usize, w: usize| -> Vec<Option<String>> {
                    r.get(at..at + w).map(<[_]>::to_vec).unwrap_or_default()
                };
                let mut at = main;
                for (g, w) in groups {
                    let values: Vec<Vec<Option<String>>> = found
                        .iter()
                        .map(|r| part(r, at, w))
                        .filter(|v| v.len() == w && v.iter().all(Option::is_some))
                        .collect();
                    at += w;
                    state::with(|s| s.queue.add_values(tview, g, values, sub, max));
                }
                let rows = found.iter().map(|r| part(r, 0, main));
                if kind == "d" {
                    // Rows kept only for a lock-group value may lack a key.
                    let keys: Vec<Vec<String>> = rows
                        .filter_map(|r| r.into_iter().collect::<Option<Vec<String>>>())
                        .collect();
                    state::with(|s| s.queue.add_keys(tview, keys, sub, max));
                } else {
                    let rows: Vec<Vec<Option<String>>> =
                        rows.filter(|r| r.iter().any(Option::is_some)).collect();
                    state::with(|s| s.queue.add_join_rows(tview, idx, rows, sub, max));
                }
            }
            other => return Err(user(format!("unknown capture kind {other:?}"))),
        }
        place_marker(client)?;
        Ok(())
    })
}

thread_local! {
    /// TVIEW id -> its table's oid, in this backend's database (both fixed
    /// for the TVIEW's life).
    static TVIEWS: RefCell<HashMap<i64, u32>> = RefCell::new(HashMap::new());
}

/// The oid of the TVIEW whose stable id is `id`, if it exists.
fn tview_of(id: i64) -> Result<Option<u32>, TvError> {
    if let Some(t) = TVIEWS.with(|m| m.borrow().get(&id).copied()) {
        return Ok(Some(t));
    }
    let found = Spi::connect(|c| {
        crate::catalog::first_text(
            c,
            "SELECT relid::pg_catalog.oid::pg_catalog.int8::pg_catalog.text FROM tviews._tview \
             WHERE id OPERATOR(pg_catalog.=) $1",
            &[id.into()],
        )
    })?
    .and_then(|t| t.parse::<u32>().ok());
    if let Some(t) = found {
        TVIEWS.with(|m| m.borrow_mut().insert(id, t));
    }
    Ok(found)
}

/// Inserts the marker row whose deferred constraint trigger runs the flush
/// at COMMIT / PREPARE TRANSACTION, once per transaction (again after a
/// savepoint that held it rolls back). Not during a flush, which drains
/// the queue itself.
pub fn place_marker(client: &mut SpiClient<'_>) -> Result<(), TvError> {
    let needed = state::with(|s| s.flushing.is_none() && s.marker.needed());
    if needed {
        // Marked placed before the INSERT: under SET CONSTRAINTS ... IMMEDIATE
        // the flush runs inside it and resets the marker when done.
        let sub = state::current_subxact();
        state::with(|s| s.marker.placed(sub));
        // PostgreSQL refuses to queue a deferred trigger event inside a
        // security-restricted operation (capture, a refresh cascading to the
        // TVIEWs that read it); this fixed statement, whose only trigger is
        // the extension's flush, runs outside it.
        guard::unrestricted(|| {
            plans::sql(
                client,
                "INSERT INTO tviews._pending VALUES (pg_catalog.pg_backend_pid())",
                &[],
                &[],
            )
            .map(|_| ())
            .map_err(TvError::from)
        })?;
    }
    Ok(())
}

/// The column types of the trigger's table, dropped columns included.
fn shape(trigger: &PgTrigger<'_>) -> Result<String, TvError> {
    let rel = trigger.relation()?;
    let desc = rel.tuple_desc();
    Ok(desc
        .iter()
        .map(|a| {
            if a.is_dropped() {
                "x".to_owned()
            } else {
                a.type_oid().value().to_u32().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(","))
}
