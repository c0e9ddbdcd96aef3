//! The locks one keyed refresh takes, in the order `locks` describes: the
//! TVIEW's lock, then the join-value locks rank by rank (each rank's probes
//! computed once the lower ranks are held, so the rows probed through are
//! final), then the keys.

use std::collections::{HashMap, HashSet};

use pgrx::spi::SpiClient;
use tviews_core::queue::{Key, Pending};
use tviews_core::sql::locks::{ColumnId, ProbeFrom};

use crate::catalog::Meta;
use crate::error::{user, TvResult};
use crate::flush::{columns, query_rows, JoinWork, Outcome};
use crate::locks::{self, Mode, TypeInfo, Wanted};
use crate::{guc, latest};

/// Takes the TVIEW's lock and its join-value locks (module `locks`), rank by
/// rank, computing each rank's probes once the lower ranks are held.
/// Returns whether the whole TVIEW was locked exclusively instead (paths
/// deeper than the ranks the lock ids hold), which makes key locks moot.
pub fn lock_values(
    c: &SpiClient<'_>,
    meta: &Meta,
    work: &Pending,
    joins: &[JoinWork],
    rr: bool,
    out: &mut Outcome,
) -> TvResult<bool> {
    let group = |g: &i32| {
        meta.groups.get(g).ok_or_else(|| {
            user(format!(
                "TVIEW {} lost its lock group {g}; recreate it",
                meta.name
            ))
        })
    };
    let mut top: Option<u32> = None;
    for g in work.values.keys() {
        top = top.max(Some(group(g)?.rank));
    }
    for p in joins.iter().flat_map(|j| &j.probes) {
        top = top.max(Some(p.rank));
    }
    if top.is_some_and(|t| t > locks::MAX_GROUP_RANK) {
        locks::tview_exclusive(meta.relid);
        return Ok(true);
    }
    locks::tview_shared(meta.relid);
    let Some(top) = top else {
        return Ok(false);
    };
    let max = max_locks();
    let mut types = Types {
        relmap: &meta.relmap,
        known: HashMap::new(),
    };
    let mut wanted = Wanted::default();
    for (g, rows) in &work.values {
        let grp = group(g)?;
        let tys = types.of(&grp.columns)?;
        for r in rows.keys() {
            if let Some(v) = r
                .iter()
                .map(Option::as_deref)
                .collect::<Option<Vec<&str>>>()
            {
                let h = locks::tuple_hash(g.unsigned_abs(), &v, &tys)?;
                wanted.add(grp.rank, h, Mode::Shared);
            }
        }
    }
    for rank in 0..=top {
        for j in joins {
            for p in j.probes.iter().filter(|p| p.rank == rank) {
                let tys = types.of(&p.columns)?;
                let values = match &p.from {
                    ProbeFrom::Root(cols) => j
                        .rows
                        .iter()
                        .map(|r| cols.iter().map(|i| r.get(*i).cloned().flatten()).collect())
                        .collect(),
                    ProbeFrom::Sql(sql) => {
                        let mut v = query_rows(c, sql, &j.rows, out)?;
                        // The mapping also goes through the rows as they
                        // were before this transaction: lock those too.
                        let width = j.rows.first().map_or(0, Vec::len);
                        v.extend(latest::rows_before(c, sql, &columns(&j.rows, width))?);
                        out.statements += 1;
                        if rr {
                            // Lock what the latest data probes too; the key
                            // check below fails the commit if it differs.
                            let width = j.rows.first().map_or(0, Vec::len);
                            v.extend(latest::rows(c, sql, &columns(&j.rows, width))?);
                            out.statements += 1;
                        }
                        v
                    }
                };
                for r in values {
                    if let Some(v) = r
                        .iter()
                        .map(Option::as_deref)
                        .collect::<Option<Vec<&str>>>()
                    {
                        let h = locks::tuple_hash(p.group.unsigned_abs(), &v, &tys)?;
                        wanted.add(rank, h, Mode::Exclusive);
                    }
                }
            }
        }
        wanted.take(meta.relid, rank, max);
    }
    Ok(false)
}

/// Column types for lock hashing, looked up once per refresh. Columns are
/// named by the oids their tables had when the TVIEW was planned (`relmap`
/// gives today's).
struct Types<'m> {
    relmap: &'m HashMap<u32, u32>,
    known: HashMap<ColumnId, TypeInfo>,
}

impl Types<'_> {
    fn of(&mut self, cols: &[ColumnId]) -> TvResult<Vec<TypeInfo>> {
        cols.iter()
            .map(|c| {
                if let Some(t) = self.known.get(c) {
                    return Ok(*t);
                }
                let now = ColumnId {
                    relid: self.relmap.get(&c.relid).copied().unwrap_or(c.relid),
                    attno: c.attno,
                };
                let t = locks::column_type(now)?;
                self.known.insert(*c, t);
                Ok(t)
            })
            .collect()
    }
}

fn max_locks() -> usize {
    usize::try_from(guc::MAX_KEY_LOCKS.get()).unwrap_or(0)
}

/// Locks the keys, after every join-value lock.
pub fn lock_keys(meta: &Meta, keys: &HashSet<Key>) -> TvResult<()> {
    let mut wanted = Wanted::default();
    for k in keys {
        let v: Vec<&str> = k.iter().map(String::as_str).collect();
        let h = locks::tuple_hash(u32::MAX, &v, &meta.key_types)?;
        wanted.add(locks::KEY_RANK, h, Mode::Exclusive);
    }
    wanted.take(meta.relid, locks::KEY_RANK, max_locks());
    Ok(())
}
