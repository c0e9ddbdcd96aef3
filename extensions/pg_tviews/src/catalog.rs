//! Reading PostgreSQL's and the extension's catalogs through SPI.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::cell::RefCell;
use std::collections::HashMap;

use tviews_core::sql::locks::{LockGroup, Probe, ProbeFrom};
use tviews_core::sql::refresh::RefreshSql;
use tviews_core::sql::Catalog;

use crate::error::{user, TvResult};

/// Runs a query and returns every row as text columns.
pub fn rows(
    client: &SpiClient<'_>,
    sql: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> TvResult<Vec<Vec<Option<String>>>> {
    table_rows(client.select(sql, None, args)?)
}

/// Every row of a result as text columns.
pub fn table_rows(table: pgrx::spi::SpiTupleTable<'_>) -> TvResult<Vec<Vec<Option<String>>>> {
    let ncols = table.columns()?;
    let mut out = Vec::with_capacity(table.len());
    for row in table {
        let mut r = Vec::with_capacity(ncols);
        for i in 1..=ncols {
            r.push(row.get::<String>(i)?);
        }
        out.push(r);
    }
    Ok(out)
}

/// Answers the SQL generators' catalog questions.
pub struct SpiCatalog<'a, 'c> {
    /// The connection.
    pub client: &'a SpiClient<'c>,
}

impl Catalog for SpiCatalog<'_, '_> {
    fn relation_ref(&self, relid: u32) -> tviews_core::Result<String> {
        Ok(tviews_core::sql::rel_token(relid))
    }

    fn relation(&self, relid: u32) -> tviews_core::Result<String> {
        qualify(self.client, relid)
            .map_err(|_| tviews_core::Error::Tree(format!("relation {relid} not found")))
    }

    fn column_type(&self, relid: u32, attno: i16) -> tviews_core::Result<String> {
        self.client
            .select(
                "SELECT pg_catalog.format('%I.%I', n.nspname, t.typname) FROM pg_catalog.pg_attribute a \
                 JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid \
                 JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace \
                 WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.=) $2",
                None,
                &[pg_sys::Oid::from(relid).into(), attno.into()],
            )
            .and_then(|t| t.first().get_one::<String>())
            .ok()
            .flatten()
            .ok_or_else(|| tviews_core::Error::Tree(format!("column {attno} of relation {relid} not found")))
    }

    fn eq_operator(&self, relid: u32, attno: i16) -> tviews_core::Result<String> {
        let t = crate::locks::column_type(tviews_core::sql::locks::ColumnId { relid, attno })
            .map_err(|e| tviews_core::Error::Tree(e.to_string()))?;
        Ok(eq_operator(t.typ))
    }
}

/// `OPERATOR(schema.=)`: the equality operator of a type (its type cache
/// entry), qualified by the schema that holds it.
pub fn eq_operator(typ: u32) -> String {
    // SAFETY: type cache and syscache lookups on a type oid read from
    // pg_attribute; the namespace name is copied before returning.
    #[allow(unsafe_code)]
    unsafe {
        let flags = i32::try_from(pg_sys::TYPECACHE_EQ_OPR).unwrap_or(0);
        let tce = pg_sys::lookup_type_cache(pg_sys::Oid::from(typ), flags);
        if tce.is_null() || (*tce).eq_opr == pg_sys::Oid::INVALID {
            return tviews_core::sql::refresh::EQ.to_owned();
        }
        let tup = pg_sys::SearchSysCache1(
            i32::try_from(pg_sys::SysCacheIdentifier::OPEROID).unwrap_or(0),
            pg_sys::Datum::from((*tce).eq_opr),
        );
        if tup.is_null() {
            return tviews_core::sql::refresh::EQ.to_owned();
        }
        let nsp = (*pg_sys::GETSTRUCT(tup).cast::<pg_sys::FormData_pg_operator>()).oprnamespace;
        pg_sys::ReleaseSysCache(tup);
        let ns = pg_sys::get_namespace_name(nsp);
        if ns.is_null() {
            return tviews_core::sql::refresh::EQ.to_owned();
        }
        let ns = std::ffi::CStr::from_ptr(ns).to_string_lossy().into_owned();
        format!("OPERATOR({}.=)", tviews_core::ident::quote_ident(&ns))
    }
}

/// The first column of the first row, if any.
pub fn first_text(
    client: &SpiClient<'_>,
    sql: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> TvResult<Option<String>> {
    Ok(rows(client, sql, args)?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten()))
}

/// `schema.name`, both quoted as needed, whatever the search_path.
pub fn qualify(client: &SpiClient<'_>, relid: u32) -> TvResult<String> {
    first_text(
        client,
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.oid OPERATOR(pg_catalog.=) $1",
        &[pg_sys::Oid::from(relid).into()],
    )?
    .ok_or_else(|| user(format!("relation {relid} does not exist")))
}

/// One TVIEW as the refresh needs it.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The TVIEW table.
    pub relid: u32,
    /// Its name, for messages.
    pub name: String,
    /// Refresh level (0 reads no TVIEW).
    pub level: i64,
    /// The TVIEW table's owner: maintenance runs as this role.
    pub owner: pg_sys::Oid,
    /// The backing view.
    pub viewid: u32,
    /// Join-mapped sources by index: their flush SQL and probes, with the
    /// relations named as they are named today.
    pub joins: HashMap<i32, (String, Vec<Probe>)>,
    /// Key column type and collation oids, in key order.
    pub key_types: Vec<crate::locks::TypeInfo>,
    /// Join-value lock groups, by id.
    pub groups: HashMap<i32, LockGroup>,
    /// The oid each base table had when the TVIEW was planned (which lock
    /// groups and probes name) -> its oid now (other after a restore).
    pub relmap: HashMap<u32, u32>,
    /// Statement generator.
    pub sql: RefreshSql,
}

const META_SQL: &str = "\
SELECT t.relid::pg_catalog.oid::pg_catalog.int8::pg_catalog.text, pg_catalog.format('%I.%I', n.nspname, c.relname), \
       t.level::pg_catalog.text, pg_catalog.format('%I.%I', vn.nspname, v.relname), \
       (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid OPERATOR(pg_catalog.=) t.relid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)::pg_catalog.text, \
       t.key_cols::pg_catalog.text, \
       (SELECT pg_catalog.array_agg(pg_catalog.format('%I.%I', tn.nspname, ty.typname) ORDER BY k.i) \
         FROM pg_catalog.unnest(t.key_cols) WITH ORDINALITY k(name, i) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.relid AND a.attname OPERATOR(pg_catalog.=) k.name \
         JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid \
         JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) ty.typnamespace)::pg_catalog.text, \
       (SELECT pg_catalog.array_agg(a.atttypid::pg_catalog.int8 ORDER BY k.i) FROM pg_catalog.unnest(t.key_cols) WITH ORDINALITY k(name, i) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.relid AND a.attname OPERATOR(pg_catalog.=) k.name)::pg_catalog.text, \
       (SELECT pg_catalog.array_agg(a.attcollation::pg_catalog.int8 ORDER BY k.i) FROM pg_catalog.unnest(t.key_cols) WITH ORDINALITY k(name, i) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.relid AND a.attname OPERATOR(pg_catalog.=) k.name)::pg_catalog.text, \
       t.lock_groups, c.relowner::pg_catalog.int8::pg_catalog.text, \
       (SELECT pg_catalog.array_agg(pg_catalog.format('%s:%s', s.planned_base, s.base::pg_catalog.oid)) \
         FROM tviews._source s WHERE s.tview OPERATOR(pg_catalog.=) t.relid)::pg_catalog.text, \
       t.viewid::pg_catalog.oid::pg_catalog.int8::pg_catalog.text, \
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(s.idx, s.flush_sql, s.probes)) \
         FROM tviews._source s WHERE s.tview OPERATOR(pg_catalog.=) t.relid \
         AND s.kind OPERATOR(pg_catalog.=) 'join')::pg_catalog.text \
FROM tviews._tview t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid \
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) t.viewid \
JOIN pg_catalog.pg_namespace vn ON vn.oid OPERATOR(pg_catalog.=) v.relnamespace \
WHERE t.relid OPERATOR(pg_catalog.=) $1";

/// Loads one TVIEW's metadata.
pub fn meta(client: &SpiClient<'_>, relid: u32) -> TvResult<Meta> {
    meta_opt(client, relid)?.ok_or_else(|| user(format!("relation {relid} is not a TVIEW")))
}

/// Loads one TVIEW's metadata; `None` when it is not (or no longer) a TVIEW.
pub fn meta_opt(client: &SpiClient<'_>, relid: u32) -> TvResult<Option<Meta>> {
    let table = crate::plans::sql(
        client,
        META_SQL,
        &[pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::OIDOID)],
        &[pg_sys::Oid::from(relid).into()],
    )?;
    let r = table_rows(table)?;
    let Some(row) = r.into_iter().next() else {
        return Ok(None);
    };
    let owner: u32 = row
        .get(10)
        .cloned()
        .flatten()
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| user(format!("TVIEW {relid} has no owner")))?;
    let col = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let columns = parse_text_array(&col(4));
    let keys = parse_text_array(&col(5));
    let types = parse_text_array(&col(6));
    let parse_oids = |i: usize| -> Vec<u32> {
        parse_text_array(&col(i))
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect()
    };
    let key_types: Vec<crate::locks::TypeInfo> = parse_oids(7)
        .into_iter()
        .zip(parse_oids(8))
        .map(|(typ, coll)| crate::locks::TypeInfo { typ, coll })
        .collect();
    let groups = LockGroup::list_from_json(&col(9))?
        .into_iter()
        .map(|g| (g.id, g))
        .collect();
    if keys.len() != types.len() || key_types.len() != keys.len() {
        return Err(user(format!(
            "TVIEW {} lost a key column; recreate it",
            col(1)
        )));
    }
    let key_eq = key_types.iter().map(|t| eq_operator(t.typ)).collect();
    let relmap: HashMap<u32, u32> = parse_text_array(&col(11))
        .iter()
        .filter_map(|p| {
            let (a, b) = p.split_once(':')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    let joins = join_sources(&col(1), &col(13), &relmap)?;
    Ok(Some(Meta {
        relid,
        name: col(1),
        level: col(2).parse().unwrap_or(0),
        owner: pg_sys::Oid::from(owner),
        viewid: col(12).parse().unwrap_or(0),
        joins,
        key_types,
        groups,
        relmap,
        sql: RefreshSql {
            table: col(1),
            view: col(3),
            columns,
            key: keys.into_iter().zip(types).collect(),
            key_eq,
        },
    }))
}

/// The join sources of a TVIEW (`[[idx, flush_sql, probes], ...]`), their
/// relation placeholders replaced by today's names (the oids planned are
/// mapped through `relmap` first, for a restored database).
fn join_sources(
    tview: &str,
    json: &str,
    relmap: &HashMap<u32, u32>,
) -> TvResult<HashMap<i32, (String, Vec<Probe>)>> {
    let lost = |idx: &str| user(format!("TVIEW {tview} lost its source {idx}; recreate it"));
    if json.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|_| lost("list"))?;
    let name = |planned: u32| -> tviews_core::Result<String> {
        let oid = relmap.get(&planned).copied().unwrap_or(planned);
        relation_name(oid).ok_or_else(|| {
            tviews_core::Error::Catalog(format!(
                "a table TVIEW {tview} reads (oid {oid}) no longer exists; recreate the TVIEW"
            ))
        })
    };
    let mut out = HashMap::new();
    for r in rows {
        let idx = r.get(0).and_then(serde_json::Value::as_i64).unwrap_or(-1);
        let idx = i32::try_from(idx).map_err(|_| lost("index"))?;
        let sql = r
            .get(1)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| lost(&idx.to_string()))?;
        let probes = r
            .get(2)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| lost(&idx.to_string()))?;
        let sql = tviews_core::sql::resolve_rel_tokens(sql, name)?;
        let mut probes = Probe::list_from_json(probes)?;
        for p in &mut probes {
            if let ProbeFrom::Sql(q) = &p.from {
                p.from = ProbeFrom::Sql(tviews_core::sql::resolve_rel_tokens(q, name)?);
            }
        }
        out.insert(idx, (sql, probes));
    }
    Ok(out)
}

/// `schema.name` of a relation, quoted as needed (syscache lookups).
fn relation_name(oid: u32) -> Option<String> {
    // SAFETY: syscache lookups; the palloc'd names are copied at once.
    #[allow(unsafe_code)]
    unsafe {
        let o = pg_sys::Oid::from(oid);
        let rel = pg_sys::get_rel_name(o);
        if rel.is_null() {
            return None;
        }
        let ns = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(o));
        if ns.is_null() {
            return None;
        }
        let q = |p: *const std::ffi::c_char| {
            tviews_core::ident::quote_ident(&std::ffi::CStr::from_ptr(p).to_string_lossy())
        };
        Some(format!("{}.{}", q(ns), q(rel)))
    }
}

thread_local! {
    /// Metadata of the TVIEWs this backend refreshed, dropped when the
    /// relcache entry of the TVIEW, its backing view or one of its base
    /// tables is invalidated (DDL on any of them, a drop, an owner change).
    static METAS: RefCell<HashMap<u32, Meta>> = RefCell::new(HashMap::new());
}

/// [`meta_opt`], cached for the life of the relations it describes.
pub fn meta_cached(client: &SpiClient<'_>, relid: u32) -> TvResult<Option<Meta>> {
    if let Some(m) = METAS.with(|c| c.borrow().get(&relid).cloned()) {
        return Ok(Some(m));
    }
    let m = meta_opt(client, relid)?;
    if let Some(m) = &m {
        METAS.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= 512 {
                c.clear();
            }
            c.insert(relid, m.clone());
        });
    }
    Ok(m)
}

#[pg_guard]
extern "C-unwind" fn forget_meta(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let r = relid.to_u32();
    METAS.with(|c| {
        let mut c = c.borrow_mut();
        if r == 0 {
            c.clear();
        } else {
            c.retain(|k, m| *k != r && m.viewid != r && !m.relmap.values().any(|b| *b == r));
        }
    });
}

#[pg_guard]
extern "C-unwind" fn forget_metas(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    METAS.with(|c| c.borrow_mut().clear());
}

/// Registers the callbacks that keep [`meta_cached`] exact (a relcache
/// invalidation of a relation it names; any schema change, which renames
/// what it names); called once, from `_PG_init`.
pub fn register_callbacks() {
    // SAFETY: registers functions with the signatures PostgreSQL expects.
    #[allow(unsafe_code)]
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(forget_meta), pg_sys::Datum::from(0));
        pg_sys::CacheRegisterSyscacheCallback(
            i32::try_from(pg_sys::SysCacheIdentifier::NAMESPACEOID).unwrap_or(0),
            Some(forget_metas),
            pg_sys::Datum::from(0),
        );
    }
}

/// Resolves a TVIEW name (as a user types it) to its oid.
pub fn resolve(client: &SpiClient<'_>, name: &str) -> TvResult<Option<u32>> {
    let r = first_text(
        client,
        "SELECT t.relid::pg_catalog.oid::pg_catalog.int8::pg_catalog.text FROM tviews._tview t \
         WHERE t.relid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)",
        &[name.into()],
    )?;
    Ok(r.and_then(|s| s.parse().ok()))
}

pub use tviews_core::sql::parse_text_array;
