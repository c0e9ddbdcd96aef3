//! Reading PostgreSQL's and the extension's catalogs through SPI.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::collections::HashMap;

use tviews_core::sql::locks::LockGroup;
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
    fn relation(&self, relid: u32) -> tviews_core::Result<String> {
        qualify(self.client, relid)
            .map_err(|_| tviews_core::Error::Tree(format!("relation {relid} not found")))
    }

    fn column_type(&self, relid: u32, attno: i16) -> tviews_core::Result<String> {
        self.client
            .select(
                "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = $1 AND attnum = $2",
                None,
                &[pg_sys::Oid::from(relid).into(), attno.into()],
            )
            .and_then(|t| t.first().get_one::<String>())
            .ok()
            .flatten()
            .ok_or_else(|| tviews_core::Error::Tree(format!("column {attno} of relation {relid} not found")))
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
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
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
    /// Key column type and collation oids, in key order.
    pub key_types: Vec<crate::locks::TypeInfo>,
    /// Join-value lock groups, by id.
    pub groups: HashMap<i32, LockGroup>,
    /// Statement generator.
    pub sql: RefreshSql,
}

const META_SQL: &str = "\
SELECT t.relid::int8::text, format('%I.%I', n.nspname, c.relname), t.level::text, \
       format('%I.%I', vn.nspname, v.relname), \
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a \
         WHERE a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped)::text, \
       t.key_cols::text, \
       (SELECT array_agg(format_type(a.atttypid, NULL) ORDER BY k.i) FROM unnest(t.key_cols) WITH ORDINALITY k(name, i) \
         JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = k.name)::text, \
       (SELECT array_agg(a.atttypid::int8 ORDER BY k.i) FROM unnest(t.key_cols) WITH ORDINALITY k(name, i) \
         JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = k.name)::text, \
       (SELECT array_agg(a.attcollation::int8 ORDER BY k.i) FROM unnest(t.key_cols) WITH ORDINALITY k(name, i) \
         JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = k.name)::text, \
       t.lock_groups \
FROM tviews._tview t JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_class v ON v.oid = t.viewid JOIN pg_namespace vn ON vn.oid = v.relnamespace \
WHERE t.relid = $1";

/// Loads one TVIEW's metadata.
pub fn meta(client: &SpiClient<'_>, relid: u32) -> TvResult<Meta> {
    let table = crate::plans::sql(
        client,
        META_SQL,
        &[pgrx::PgOid::BuiltIn(pg_sys::BuiltinOid::OIDOID)],
        &[pg_sys::Oid::from(relid).into()],
    )?;
    let r = table_rows(table)?;
    let row = r
        .into_iter()
        .next()
        .ok_or_else(|| user(format!("relation {relid} is not a TVIEW")))?;
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
    Ok(Meta {
        relid,
        name: col(1),
        level: col(2).parse().unwrap_or(0),
        key_types,
        groups,
        sql: RefreshSql {
            table: col(1),
            view: col(3),
            columns,
            key: keys.into_iter().zip(types).collect(),
        },
    })
}

/// Resolves a TVIEW name (as a user types it) to its oid.
pub fn resolve(client: &SpiClient<'_>, name: &str) -> TvResult<Option<u32>> {
    let r = first_text(
        client,
        "SELECT t.relid::int8::text FROM tviews._tview t WHERE t.relid = to_regclass($1)",
        &[name.into()],
    )?;
    Ok(r.and_then(|s| s.parse().ok()))
}

pub use tviews_core::sql::parse_text_array;
