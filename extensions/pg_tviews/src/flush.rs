//! The commit-time flush: run by the deferred constraint trigger on
//! `tviews._pending` at COMMIT or PREPARE TRANSACTION (or earlier under
//! `SET CONSTRAINTS ... IMMEDIATE`). It drains the queue in refresh order,
//! and cascades: refreshing a TVIEW fires the capture triggers of the
//! TVIEWs that read it, which queue more work at a higher level.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use tviews_core::queue::{Key, Pending};
use tviews_core::sql::locks::Probe;

use crate::catalog::table_rows;
use crate::catalog::{self, rows, Meta};
use crate::error::{coded, user, TvError, TvResult};
use crate::{guard, guc, latest, locks, lockset, plans, state, stats};

/// The flush trigger (on `tviews._pending`, deferred).
#[pg_trigger]
fn _flush<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, TvError> {
    // Errors are raised here, with their message (pgrx would print a
    // returned error with Debug formatting).
    match flush(trigger) {
        Ok(()) => Ok(None),
        Err(e) => e.raise(),
    }
}

fn flush(trigger: &PgTrigger<'_>) -> Result<(), TvError> {
    let tid = marker_tid(trigger);
    guard::run(None, false, || {
        Spi::connect_mut(|c| {
            plans::sql(
                c,
                "DELETE FROM tviews._pending WHERE ctid OPERATOR(pg_catalog.=) $1::pg_catalog.text::pg_catalog.tid",
                &[pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::TEXTOID)],
                &[tid.as_str().into()],
            )
            .map(|_| ())
        })
        .map_err(TvError::from)
    })?;
    if state::with(|s| s.flushing.is_some()) {
        return Ok(());
    }
    let sub = state::current_subxact();
    state::with(|s| {
        s.flushing = Some(sub);
        s.marker.reset();
    });
    let result = guard::run(None, false, || {
        guard::bound_lock_waits();
        run()
    });
    state::with(|s| s.flushing = None);
    result?;
    Ok(())
}

/// `(block,offset)` of the row that fired the trigger.
fn marker_tid(trigger: &PgTrigger<'_>) -> String {
    let td = trigger.trigger_data();
    // SAFETY: an AFTER INSERT row trigger always carries the inserted tuple.
    #[allow(unsafe_code)]
    let tid = unsafe { (*td.tg_trigtuple).t_self };
    let (block, offset) = pgrx::itemptr::item_pointer_get_both(tid);
    format!("({block},{offset})")
}

/// Drains the queue.
pub fn run() -> TvResult<()> {
    let max_visits = usize::try_from(guc::MAX_DEPTH.get()).unwrap_or(0) + 1;
    let mut metas: HashMap<u32, Option<Meta>> = HashMap::new();
    let mut visits: HashMap<u32, usize> = HashMap::new();
    loop {
        let pending: Vec<u32> = state::with(|s| s.queue.tviews().collect());
        if pending.is_empty() {
            return Ok(());
        }
        for t in pending {
            if let std::collections::hash_map::Entry::Vacant(e) = metas.entry(t) {
                // A TVIEW dropped in this transaction has nothing left to
                // refresh; any other failure to read its metadata fails the
                // commit (never a TVIEW silently left unmaintained).
                e.insert(Spi::connect(|c| catalog::meta_cached(c, t))?);
            }
        }
        let rank = |t: u32| {
            metas
                .get(&t)
                .and_then(|m| m.as_ref())
                .map_or(-1, |m| m.level)
        };
        let Some((t, work)) = state::with(|s| s.queue.take_next(rank)) else {
            return Ok(());
        };
        // A TVIEW dropped in this transaction has nothing left to refresh.
        let Some(Some(meta)) = metas.get(&t) else {
            continue;
        };
        let v = visits.entry(t).or_default();
        *v += 1;
        if *v > max_visits {
            return Err(coded(PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX, format!(
                "refreshing TVIEW {} came back to it {} times in one commit: a trigger on a TVIEW writes the tables it reads? (pg_tviews.max_propagation_depth = {})",
                meta.name,
                *v - 1,
                guc::MAX_DEPTH.get()
            )));
        }
        refresh_guarded(meta, work, true)?;
    }
}

/// Refreshes one TVIEW's pending work, recording the outcome in the stats.
/// For a flush (`from_flush`), work that fails goes back to the queue (a
/// savepoint that rolls the failure back gets the flush fired again, with
/// its work intact), and work applied inside a subtransaction is logged, so
/// it comes back if that subtransaction rolls back.
pub fn refresh_guarded(meta: &Meta, work: Pending, from_flush: bool) -> TvResult<Outcome> {
    let start = Instant::now();
    let backup = work.clone();
    let relid = meta.relid;
    let result = PgTryBuilder::new(AssertUnwindSafe(|| {
        guard::run(Some(meta.owner), true, || refresh(meta, work))
    }))
    .catch_others(|e| {
        let (msg, code) = match &e {
            pg_sys::panic::CaughtError::PostgresError(r)
            | pg_sys::panic::CaughtError::ErrorReport(r) => {
                (r.message().to_owned(), r.sql_error_code())
            }
            pg_sys::panic::CaughtError::RustPanic { ereport, .. } => {
                (ereport.message().to_owned(), ereport.sql_error_code())
            }
        };
        stats::record_error(relid, &msg);
        if from_flush {
            requeue(relid, backup.clone());
        }
        if code == PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE {
            // A refresh waits at COMMIT only for another refresh of the
            // same TVIEW rows (locks no other role can take), and no
            // longer than lock_timeout: say so.
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
                format!(
                    "could not refresh TVIEW {}: another transaction is refreshing the same rows ({msg})",
                    meta.name
                ),
                "The wait at COMMIT for a concurrent refresh of the same TVIEW rows is bounded by lock_timeout (by statement_timeout when that is shorter); retry the transaction."
            );
        }
        // The writer's COMMIT runs the refresh with the owner's rights; an
        // error's text can quote rows only the owner may read (a value
        // that failed a cast, a key), so a writer without the owner's
        // privileges gets the SQLSTATE and where to look, as tviews.stats
        // shows last_error only to the owner's roles. Retryable failures
        // keep their own message.
        let passes = matches!(
            code,
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE
                | PgSqlErrorCode::ERRCODE_T_R_DEADLOCK_DETECTED
                | PgSqlErrorCode::ERRCODE_QUERY_CANCELED
                | PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY
        );
        if !passes && !guard::has_privs_of(meta.owner) {
            ereport!(
                ERROR,
                code,
                format!(
                    "could not refresh TVIEW {}: the refresh, run with its owner's rights, failed",
                    meta.name
                ),
                "The error is recorded in tviews.stats.last_error, shown to roles with the privileges of the TVIEW's owner."
            );
        }
        e.rethrow()
    })
    .execute();
    let elapsed = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    match result {
        Ok(out) => {
            stats::update(relid, |s| {
                s.refreshes += 1;
                s.keys += out.keys;
                s.written += out.inserted;
                s.deleted += out.deleted;
                s.noop += out.existing.saturating_sub(out.deleted);
                s.full += u64::from(out.full);
                s.statements += out.statements;
                s.total_us += elapsed;
                s.max_us = s.max_us.max(elapsed);
            });
            if from_flush {
                let sub = state::current_subxact();
                state::with(|s| s.queue.applied(sub, relid, backup));
            }
            Ok(out)
        }
        Err(e) => {
            stats::record_error(relid, &e.to_string());
            if from_flush {
                requeue(relid, backup);
            }
            Err(e)
        }
    }
}

fn requeue(relid: u32, work: Pending) {
    let max = guc::max_queue();
    state::with(|s| s.queue.requeue(relid, work, max));
}

/// What one refresh did.
#[derive(Default)]
pub struct Outcome {
    /// Keys recomputed.
    pub keys: u64,
    /// Rows deleted.
    pub deleted: u64,
    /// Rows inserted.
    pub inserted: u64,
    /// Rows that existed for those keys before.
    pub existing: u64,
    /// Whether it was a full refresh.
    pub full: bool,
    /// SQL statements run.
    pub statements: u64,
}

fn refresh(meta: &Meta, work: Pending) -> TvResult<Outcome> {
    Spi::connect_mut(|c| {
        let mut out = Outcome::default();
        if work.full.is_some() {
            full(c, meta, &mut out)?;
            return Ok(out);
        }
        let rr = state::uses_xact_snapshot();
        let joins = load_joins(c, meta, &work, &mut out)?;
        // Every value a join source probes, and every probed value a
        // changed row carries, is locked before the keys are mapped: the
        // rows the mapping goes through are then final (a concurrent
        // writer of them has committed, and is seen, or waits for us).
        let whole = lockset::lock_values(c, meta, &work, &joins, rr, &mut out)?;
        let mut keys: HashSet<Key> = work.keys.keys().cloned().collect();
        for j in &joins {
            keys.extend(map_join(c, &j.sql, &j.rows, &mut out)?);
            // The rows joined through may have been changed by this same
            // transaction (both sides of a join, a self-join): map through
            // them as they were before it too.
            let width = j.rows.first().map_or(0, Vec::len);
            keys.extend(
                latest::rows_before(c, &j.sql, &columns(&j.rows, width))?
                    .into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(Option::unwrap_or_default)
                            .collect::<Key>()
                    }),
            );
            out.statements += 1;
        }
        if rr {
            check_latest_keys(c, meta, &keys, &joins, &mut out)?;
        }
        if keys.is_empty() {
            return Ok(out);
        }
        if !whole {
            lockset::lock_keys(meta, &keys)?;
        }
        if rr {
            check_latest_rows(c, meta, &keys, &mut out)?;
        }
        apply(c, meta, &keys, &mut out)?;
        Ok(out)
    })
}

/// A join-mapped source's work: its flush SQL, its probes and its
/// captured rows.
pub struct JoinWork {
    /// Maps the captured rows to keys.
    pub sql: String,
    /// How each path step is probed.
    pub probes: Vec<Probe>,
    /// The captured rows.
    pub rows: Vec<Vec<Option<String>>>,
}

/// The flush SQL and probes of each join-mapped source with its captured rows.
fn load_joins(
    _c: &SpiClient<'_>,
    meta: &Meta,
    work: &Pending,
    _out: &mut Outcome,
) -> TvResult<Vec<JoinWork>> {
    let mut joins = Vec::new();
    for (idx, captured) in &work.joins {
        let (sql, probes) = meta.joins.get(idx).ok_or_else(|| {
            user(format!(
                "TVIEW {} lost its source {idx}; recreate it",
                meta.name
            ))
        })?;
        joins.push(JoinWork {
            sql: sql.clone(),
            probes: probes.clone(),
            rows: captured.keys().cloned().collect(),
        });
    }
    Ok(joins)
}

/// Captured rows, column-wise, as `text[]` parameters.
pub fn columns<T: Clone>(rows: &[Vec<T>], width: usize) -> Vec<Vec<T>> {
    (0..width)
        .map(|i| rows.iter().filter_map(|r| r.get(i).cloned()).collect())
        .collect()
}

fn key_params(meta: &Meta, keys: &HashSet<Key>) -> Vec<Vec<Option<String>>> {
    let list: Vec<Vec<Option<String>>> = keys
        .iter()
        .map(|k| k.iter().cloned().map(Some).collect())
        .collect();
    columns(&list, meta.sql.key.len())
}

/// Rows of `sql` over the captured rows (one `text[]` parameter per column).
pub fn query_rows(
    c: &SpiClient<'_>,
    sql: &str,
    captured: &[Vec<Option<String>>],
    out: &mut Outcome,
) -> TvResult<Vec<Vec<Option<String>>>> {
    let width = captured.first().map_or(0, Vec::len);
    let params: Vec<pgrx::datum::DatumWithOid<'_>> = columns(captured, width)
        .into_iter()
        .map(Into::into)
        .collect();
    out.statements += 1;
    table_rows(plans::sql(c, sql, &plans::text_arrays(width), &params)?)
}

fn map_join(
    c: &SpiClient<'_>,
    sql: &str,
    captured: &[Vec<Option<String>>],
    out: &mut Outcome,
) -> TvResult<Vec<Key>> {
    Ok(query_rows(c, sql, captured, out)?
        .into_iter()
        .map(|r| r.into_iter().map(Option::unwrap_or_default).collect())
        .collect())
}

/// REPEATABLE READ / SERIALIZABLE: the join sources must map to no key
/// under the latest committed data that they do not map to under this
/// transaction's snapshot, or a concurrent transaction changed the rows
/// joined through and writing would leave a TVIEW row stale. Checked even
/// when no key was found (a concurrent insert on the other side of a join).
fn check_latest_keys(
    c: &SpiClient<'_>,
    meta: &Meta,
    keys: &HashSet<Key>,
    joins: &[JoinWork],
    out: &mut Outcome,
) -> TvResult<()> {
    for j in joins {
        let width = j.rows.first().map_or(0, Vec::len);
        let latest_keys = latest::rows(c, &j.sql, &columns(&j.rows, width))?;
        out.statements += 1;
        if latest_keys
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(Option::unwrap_or_default)
                    .collect::<Key>()
            })
            .any(|k| !keys.contains(&k))
        {
            serialization_failure(meta);
        }
    }
    Ok(())
}

/// REPEATABLE READ / SERIALIZABLE, once the keys are locked: this
/// transaction's snapshot must compute the same rows as the latest
/// committed data.
fn check_latest_rows(
    c: &SpiClient<'_>,
    meta: &Meta,
    keys: &HashSet<Key>,
    out: &mut Outcome,
) -> TvResult<()> {
    let params = key_params(meta, keys);
    let sql = meta.sql.digest_keys();
    let mine = rows(
        c,
        &sql,
        &params.iter().cloned().map(Into::into).collect::<Vec<_>>(),
    )?;
    let theirs = latest::rows(c, &sql, &params)?;
    out.statements += 2;
    if mine != theirs {
        serialization_failure(meta);
    }
    Ok(())
}

fn serialization_failure(meta: &Meta) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
        format!(
            "could not serialize access due to concurrent update of TVIEW {} rows",
            meta.name
        ),
        "a concurrent transaction changed data these TVIEW rows are computed from; retry the transaction"
    );
}

fn apply(c: &SpiClient<'_>, meta: &Meta, keys: &HashSet<Key>, out: &mut Outcome) -> TvResult<()> {
    let params: Vec<pgrx::datum::DatumWithOid<'_>> =
        key_params(meta, keys).into_iter().map(Into::into).collect();
    let r = plans::sql(
        c,
        &meta.sql.keys(),
        &plans::text_arrays(meta.sql.key.len()),
        &params,
    )?
    .first();
    out.statements += 1;
    out.keys += u64::try_from(keys.len()).unwrap_or(u64::MAX);
    record(&r, out)
}

fn record(r: &pgrx::spi::SpiTupleTable<'_>, out: &mut Outcome) -> TvResult<()> {
    let (d, i, e) = r.get_three::<i64, i64, i64>()?;
    out.deleted += d.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    out.inserted += i.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    out.existing += e.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    Ok(())
}

/// Recomputes the whole TVIEW under an exclusive lock on it.
pub fn full(c: &SpiClient<'_>, meta: &Meta, out: &mut Outcome) -> TvResult<()> {
    out.full = true;
    locks::tview_exclusive(meta.relid);
    if state::uses_xact_snapshot() {
        let sql = meta.sql.digest_full();
        let mine = rows(c, &sql, &[])?;
        let theirs = latest::rows(c, &sql, &[])?;
        out.statements += 2;
        if mine != theirs {
            serialization_failure(meta);
        }
    }
    let r = plans::sql(c, &meta.sql.full(), &[], &[])?.first();
    out.statements += 1;
    record(&r, out)
}
