//! The rest of the SQL surface: `drop`, `refresh`, `refresh_keys`, `verify`.

use pgrx::prelude::*;
use pgrx::JsonB;
use tviews_core::graph::Graph;
use tviews_core::queue::Pending;

use crate::catalog::{self, rows};
use crate::error::{coded, TvResult};
use crate::flush::refresh_guarded;
use crate::{guard, state, stats};

/// Every TVIEW and the relations it reads.
pub const GRAPH_SQL: &str = "SELECT t.relid::pg_catalog.oid::pg_catalog.int8::pg_catalog.text, \
     COALESCE(pg_catalog.array_agg(s.base::pg_catalog.oid::pg_catalog.int8) FILTER (WHERE s.base IS NOT NULL), '{}')::pg_catalog.text \
     FROM tviews._tview t LEFT JOIN tviews._source s ON s.tview OPERATOR(pg_catalog.=) t.relid GROUP BY t.relid";

/// Every TVIEW and the relations it reads.
fn graph() -> TvResult<Graph<u32>> {
    let all = Spi::connect(|c| rows(c, GRAPH_SQL, &[]))?;
    let mut g = Graph::new();
    for row in all {
        let t: u32 = row[0].as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
        let bases = catalog::parse_text_array(row[1].as_deref().unwrap_or("{}"));
        g.add(t, bases.iter().filter_map(|b| b.parse().ok()));
    }
    Ok(g)
}

fn resolve(name: &str) -> TvResult<Option<u32>> {
    Spi::connect(|c| catalog::resolve(c, name))
}

fn require(name: &str) -> TvResult<u32> {
    resolve(name)?.ok_or_else(|| {
        coded(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("\"{name}\" is not a TVIEW (see tviews.registry)"),
        )
    })
}

fn meta(relid: u32) -> TvResult<catalog::Meta> {
    Spi::connect(|c| catalog::meta(c, relid))
}

/// Drops a TVIEW (its table, backing view, triggers and catalog rows);
/// with `cascade`, the TVIEWs that read it first. A plain `DROP TABLE`
/// cleans up the same way.
#[pg_extern(name = "drop")]
fn drop_tview(name: &str, if_exists: default!(bool, "false"), cascade: default!(bool, "false")) {
    drop_in(name, if_exists, cascade).unwrap_or_else(|e| e.raise());
}

fn drop_in(name: &str, if_exists: bool, cascade: bool) -> TvResult<()> {
    let Some(relid) = resolve(name)? else {
        if if_exists {
            notice!("TVIEW \"{name}\" does not exist, skipping");
            return Ok(());
        }
        return Err(coded(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("\"{name}\" is not a TVIEW (see tviews.registry)"),
        ));
    };
    let dependents = graph()?.dependents(&relid);
    if !dependents.is_empty() && !cascade {
        let names: Vec<String> = dependents
            .iter()
            .map(|d| meta(*d).map_or_else(|_| d.to_string(), |m| m.name))
            .collect();
        return Err(coded(PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST, format!(
            "cannot drop TVIEW \"{name}\": TVIEW(s) {} read it; drop them first or pass cascade => true",
            names.join(", ")
        )));
    }
    guard::run(None, false, || {
        for t in dependents.iter().rev().chain(std::iter::once(&relid)) {
            let m = meta(*t)?;
            Spi::connect_mut(|c| {
                c.update(&format!("DROP TABLE {}", m.name), None, &[])
                    .map(|_| ())
            })?;
        }
        Ok(())
    })
}

/// Like `REFRESH MATERIALIZED VIEW`: only the TVIEW's owner (or a member
/// of its role) may refresh it.
fn check_owner(m: &catalog::Meta) -> TvResult<()> {
    if guard::has_privs_of(m.owner) {
        return Ok(());
    }
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("must be owner of TVIEW {}", m.name)
    );
}

/// Rebuilds one TVIEW, or all in dependency order; returns rows changed
/// (deleted plus inserted). Changes cascade to TVIEWs that read it at commit.
#[pg_extern(name = "refresh")]
fn refresh(name: default!(Option<&str>, "NULL")) -> i64 {
    refresh_in(name).unwrap_or_else(|e| e.raise())
}

fn refresh_in(name: Option<&str>) -> TvResult<i64> {
    let order: Vec<u32> = match name {
        Some(n) => vec![require(n)?],
        None => graph()?.order()?,
    };
    let metas = order.into_iter().map(meta).collect::<TvResult<Vec<_>>>()?;
    for m in &metas {
        check_owner(m)?;
    }
    let mut changed = 0u64;
    for m in &metas {
        let out = refresh_guarded(m, Pending::full(state::current_subxact()), false)?;
        changed += out.deleted + out.inserted;
    }
    Ok(i64::try_from(changed).unwrap_or(i64::MAX))
}

/// Recomputes the given keys of a TVIEW now; `keys` is a JSON array of
/// values, of arrays (composite keys) or of objects by key column. Returns
/// rows changed.
#[pg_extern(name = "refresh_keys")]
fn refresh_keys(name: &str, keys: JsonB) -> i64 {
    refresh_keys_in(name, &keys).unwrap_or_else(|e| e.raise())
}

fn refresh_keys_in(name: &str, keys: &JsonB) -> TvResult<i64> {
    let m = meta(require(name)?)?;
    check_owner(&m)?;
    let names: Vec<String> = m.sql.key.iter().map(|(k, _)| k.clone()).collect();
    let parsed = tviews_core::sql::keys::parse(&keys.0.to_string(), &names)?;
    let out = refresh_guarded(&m, Pending::keys(parsed, state::current_subxact()), false)?;
    Ok(i64::try_from(out.deleted + out.inserted).unwrap_or(i64::MAX))
}

/// Compares each TVIEW (or one) with its defining query, as multisets of
/// rows (EXCEPT ALL both ways).
#[pg_extern(name = "verify")]
fn verify(
    name: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(tview, String),
        name!(missing, i64),
        name!(extra, i64),
        name!(ok, bool),
    ),
> {
    match verify_rows(name) {
        Ok(rows) => TableIterator::new(rows),
        Err(e) => e.raise(),
    }
}

fn verify_rows(name: Option<&str>) -> TvResult<Vec<(String, i64, i64, bool)>> {
    let order: Vec<u32> = match name {
        Some(n) => vec![require(n)?],
        None => graph()?.order()?,
    };
    // Like maintenance, the comparison runs as the TVIEW's owner in a
    // restricted context (so it computes what maintenance computes); only
    // the owner (or a member of its role) may ask, and verify() without a
    // name covers the TVIEWs the caller has the owner's rights on.
    let mut out = Vec::new();
    for t in order {
        let m = meta(t)?;
        if name.is_some() {
            check_owner(&m)?;
        } else if !guard::has_privs_of(m.owner) {
            continue;
        }
        let (missing, extra) = guard::run(Some(m.owner), false, || {
            Ok(Spi::connect(|c| {
                c.select(&m.sql.verify(), None, &[])?
                    .first()
                    .get_two::<i64, i64>()
            })?)
        })?;
        let (missing, extra) = (missing.unwrap_or(0), extra.unwrap_or(0));
        out.push((m.name, missing, extra, missing == 0 && extra == 0));
    }
    Ok(out)
}

/// Forgets a TVIEW's statistics (called when it is dropped).
#[pg_extern(name = "_forget_stats")]
fn forget_stats(relid: pg_sys::Oid) {
    stats::forget(relid.to_u32());
}
