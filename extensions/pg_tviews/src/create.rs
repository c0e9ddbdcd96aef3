//! `tviews.create`: builds the TVIEW table, its backing view, its key, its
//! capture triggers and its catalog rows.

use std::collections::BTreeSet;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use tviews_core::analyze::{self, Analysis};
use tviews_core::graph::Graph;
use tviews_core::ident::quote_ident;
use tviews_core::options::TviewOptions;
use tviews_core::sql::capture::{plan_sources, trigger_ddl, CaptureKind};
use tviews_core::sql::locks::{lock_plan, LockGroup};

use crate::catalog::{qualify, rows, SpiCatalog};
use crate::error::{user, TvResult};

/// Creates table `name` filled from `query`, keyed by `options->'key'` (or
/// `pk_<name without tv_>`), and maintains it from then on. Returns the
/// number of rows loaded.
#[pg_extern(name = "create")]
fn create(name: &str, query: &str, options: default!(JsonB, "'{}'")) -> TvResult<i64> {
    Spi::connect_mut(|client| create_in(client, name, query, &options.0.to_string()))
}

fn create_in(client: &mut SpiClient<'_>, name: &str, query: &str, options: &str) -> TvResult<i64> {
    let query = query.trim().trim_end_matches(';').trim();
    let parts: Vec<String> = client
        .select("SELECT parse_ident($1)", None, &[name.into()])?
        .first()
        .get_one::<Vec<String>>()?
        .unwrap_or_default();
    let (schema, rel) = match parts.as_slice() {
        [rel] => {
            let schema = client
                .select("SELECT current_schema()::text", None, &[])?
                .first()
                .get_one::<String>()?
                .ok_or_else(|| {
                    user("no schema to create the TVIEW in: set search_path or qualify the name")
                })?;
            (schema, rel.clone())
        }
        [schema, rel] => (schema.clone(), rel.clone()),
        _ => {
            return Err(user(format!(
                "invalid TVIEW name \"{name}\": use name or schema.name"
            )))
        }
    };
    let opts = TviewOptions::parse(options, &rel)?;
    let target = format!("{}.{}", quote_ident(&schema), quote_ident(&rel));

    // Analyze before creating anything, so an unsupported query changes nothing.
    let text = crate::tree::query_text(query)?;
    let tree = tviews_core::node::parse(&text)?;
    let tree = tree
        .as_node()
        .ok_or_else(|| user("unexpected query tree"))?
        .clone();
    let eq = equality_ops(client, &analyze::operators(&tree))?;
    let analysis = analyze::analyze(&tree, &opts.key, &eq)?;
    check_sources(client, &analysis)?;

    client.update(
        &format!("CREATE TABLE {target} AS {query} WITH NO DATA"),
        None,
        &[],
    )?;
    let relid = client
        .select("SELECT $1::regclass::oid", None, &[target.as_str().into()])?
        .first()
        .get_one::<pg_sys::Oid>()?
        .ok_or_else(|| user("the TVIEW table vanished"))?
        .to_u32();
    let view = format!("tviews.q_{relid}");
    client.update(&format!("CREATE VIEW {view} AS {query}"), None, &[])?;

    // Capture triggers first: CREATE TRIGGER locks each base table against
    // writers until this transaction ends, so the load below (a new
    // snapshot under READ COMMITTED) misses no concurrent change.
    let plans = plan_sources(&analysis, &SpiCatalog { client })?;
    let groups = LockGroup::list_to_json(&lock_plan(&analysis, &SpiCatalog { client })?.groups);
    for p in &plans {
        let base = qualify(client, p.relid)?;
        for ddl in trigger_ddl(relid, p, &base) {
            client.update(&ddl, None, &[])?;
        }
    }
    let loaded = client
        .update(
            &format!("INSERT INTO {target} SELECT * FROM {view}"),
            None,
            &[],
        )?
        .len();
    check_key(client, &target, &opts.key)?;
    let key_list: Vec<String> = opts.key.iter().map(|k| quote_ident(k)).collect();
    client.update(
        &format!(
            "ALTER TABLE {target} ADD PRIMARY KEY ({})",
            key_list.join(", ")
        ),
        None,
        &[],
    )?;

    let level = level_of(client, relid, &analysis)?;
    client.update(
        "INSERT INTO tviews._tview (relid, viewid, key_cols, query, options, level, lock_groups) \
         VALUES ($1, $2::regclass, $3, $4, $5::jsonb, $6, $7)",
        None,
        &[
            pg_sys::Oid::from(relid).into(),
            view.as_str().into(),
            opts.key.clone().into(),
            query.into(),
            options.into(),
            level.into(),
            groups.into(),
        ],
    )?;
    for p in &plans {
        let kind = match p.kind {
            CaptureKind::Direct => "direct",
            CaptureKind::Join => "join",
            CaptureKind::Full => "full",
        };
        client.update(
            "INSERT INTO tviews._source (tview, idx, base, kind, captured, flush_sql, probes, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            None,
            &[
                pg_sys::Oid::from(relid).into(),
                p.idx.into(),
                pg_sys::Oid::from(p.relid).into(),
                kind.into(),
                p.captured.clone().into(),
                p.flush_sql.clone().into(),
                p.probes.clone().into(),
                p.detail.clone().into(),
            ],
        )?;
    }
    Ok(i64::try_from(loaded).unwrap_or(i64::MAX))
}

/// Which of `ops` are equality operators (named `=`, returning boolean).
fn equality_ops(client: &SpiClient<'_>, ops: &BTreeSet<u32>) -> TvResult<BTreeSet<u32>> {
    if ops.is_empty() {
        return Ok(BTreeSet::new());
    }
    let list: Vec<String> = ops.iter().map(u32::to_string).collect();
    let r = rows(
        client,
        "SELECT oid::int8::text FROM pg_operator WHERE oid = ANY($1::text[]::oid[]) AND oprname = '=' AND oprresult = 'bool'::regtype",
        &[list.into()],
    )?;
    Ok(r.into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .filter_map(|s| s.parse().ok())
        .collect())
}

/// Every source must be a plain or partitioned table (triggers can be put on it).
fn check_sources(client: &SpiClient<'_>, a: &Analysis) -> TvResult<()> {
    for s in &a.sources {
        if s.relkind != "r" && s.relkind != "p" {
            let what = match s.relkind.as_str() {
                "m" => "a materialized view",
                "f" => "a foreign table",
                "v" => "a view that could not be expanded",
                _ => "not a table",
            };
            let name = qualify(client, s.relid).unwrap_or_else(|_| s.relid.to_string());
            return Err(user(format!(
                "a TVIEW can only read tables, and {name} is {what}: changes to it cannot be captured"
            )));
        }
    }
    Ok(())
}

/// Refuses a key with NULLs or duplicates, naming an offending value.
fn check_key(client: &SpiClient<'_>, target: &str, key: &[String]) -> TvResult<()> {
    let cols: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
    let list = cols.join(", ");
    let nulls: Vec<String> = cols.iter().map(|c| format!("{c} IS NULL")).collect();
    let null = client
        .select(
            &format!(
                "SELECT 1 FROM {target} WHERE {} LIMIT 1",
                nulls.join(" OR ")
            ),
            None,
            &[],
        )?
        .len();
    if null > 0 {
        return Err(user(format!(
            "the query produces a NULL key ({list}); a TVIEW key must identify every row: filter those rows or choose another key"
        )));
    }
    let dup = rows(
        client,
        &format!("SELECT ROW({list})::text, count(*)::text FROM {target} GROUP BY {list} HAVING count(*) > 1 LIMIT 1"),
        &[],
    )?;
    if let Some(row) = dup.into_iter().next() {
        let v = row.first().cloned().flatten().unwrap_or_default();
        let n = row.get(1).cloned().flatten().unwrap_or_default();
        return Err(user(format!(
            "the query is not unique on its key ({list}): {v} appears {n} times; choose a key that identifies one row (options => '{{\"key\": [...]}}')"
        )));
    }
    Ok(())
}

/// The refresh level of a new TVIEW: one more than the TVIEWs it reads.
fn level_of(client: &SpiClient<'_>, relid: u32, a: &Analysis) -> TvResult<i32> {
    let mut g: Graph<u32> = Graph::new();
    let existing = rows(
        client,
        "SELECT t.relid::int8::text, coalesce(array_agg(s.base::int8) FILTER (WHERE s.base IS NOT NULL), '{}')::text \
         FROM tviews._tview t LEFT JOIN tviews._source s ON s.tview = t.relid GROUP BY t.relid",
        &[],
    )?;
    for row in existing {
        let t: u32 = row[0].as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
        let bases = crate::catalog::parse_text_array(row[1].as_deref().unwrap_or("{}"));
        g.add(t, bases.iter().filter_map(|b| b.parse().ok()));
    }
    g.add(relid, a.sources.iter().map(|s| s.relid));
    let levels = g.levels()?;
    Ok(levels
        .get(&relid)
        .copied()
        .and_then(|l| i32::try_from(l).ok())
        .unwrap_or(0))
}
