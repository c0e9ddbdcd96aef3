//! `tviews.create`: builds the TVIEW table, its backing view, its key, its
//! capture triggers and its catalog rows.

use std::collections::BTreeSet;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use tviews_core::analyze::{self, Analysis};
use tviews_core::graph::Graph;
use tviews_core::ident::{quote_ident, quote_literal};
use tviews_core::options::TviewOptions;
use tviews_core::sql::capture::{plan_sources, trigger_ddl, CaptureKind};
use tviews_core::sql::locks::{lock_plan, LockGroup};

use crate::catalog::{qualify, rows, SpiCatalog};
use crate::error::{coded, unsupported, user, TvResult};
use crate::guard;

/// Creates table `name` filled from `query`, keyed by `options->'key'` (or
/// `pk_<name without tv_>`), and maintains it from then on. Returns the
/// number of rows loaded.
#[pg_extern(name = "create")]
fn create(name: &str, query: &str, options: default!(JsonB, "'{}'")) -> i64 {
    Spi::connect_mut(|client| create_in(client, name, query, &options.0.to_string()))
        .unwrap_or_else(|e| e.raise())
}

fn create_in(client: &mut SpiClient<'_>, name: &str, query: &str, options: &str) -> TvResult<i64> {
    let query = query.trim().trim_end_matches(';').trim();
    let parts: Vec<String> = client
        .select("SELECT pg_catalog.parse_ident($1)", None, &[name.into()])?
        .first()
        .get_one::<Vec<String>>()?
        .unwrap_or_default();
    let (schema, rel) = match parts.as_slice() {
        [rel] => {
            let schema = client
                .select(
                    "SELECT pg_catalog.current_schema()::pg_catalog.text",
                    None,
                    &[],
                )?
                .first()
                .get_one::<String>()?
                .ok_or_else(|| {
                    user("no schema to create the TVIEW in: set search_path or qualify the name")
                })?;
            (schema, rel.clone())
        }
        [schema, rel] => (schema.clone(), rel.clone()),
        _ => {
            return Err(coded(
                PgSqlErrorCode::ERRCODE_INVALID_NAME,
                format!("invalid TVIEW name \"{name}\": use name or schema.name"),
            ))
        }
    };
    let opts = TviewOptions::parse(options, &rel)?;
    let target = format!("{}.{}", quote_ident(&schema), quote_ident(&rel));

    // Analyze before creating anything, so an unsupported query changes
    // nothing. The query is read under the caller's search_path (as
    // CREATE VIEW reads it); everything after runs under the extension's.
    let text = crate::tree::query_text(query)?;
    let tree = tviews_core::node::parse(&text)?;
    let tree = tree
        .as_node()
        .ok_or_else(|| user("unexpected query tree"))?
        .clone();
    let analysis = guard::run(None, false, || {
        let eq = equality_ops(client, &analyze::operators(&tree))?;
        let analysis = analyze::analyze(&tree, &opts.key, &eq)?;
        check_sources(client, &analysis)?;
        Ok(analysis)
    })?;

    // The table and the backing view are created from the query text as
    // the caller wrote it, under the caller's search_path.
    client.update(
        &format!("CREATE TABLE {target} AS {query} WITH NO DATA"),
        None,
        &[],
    )?;
    let relid = client
        .select(
            "SELECT $1::pg_catalog.regclass::pg_catalog.oid",
            None,
            &[target.as_str().into()],
        )?
        .first()
        .get_one::<pg_sys::Oid>()?
        .ok_or_else(|| user("the TVIEW table vanished"))?
        .to_u32();
    let staged = format!(
        "{}.{}",
        quote_ident(&schema),
        quote_ident(&format!("tviews_q_{relid}"))
    );
    client.update(&format!("CREATE VIEW {staged} AS {query}"), None, &[])?;
    let view = format!("tviews.q_{relid}");
    // The view belongs to the TVIEW's owner (its rights are checked when
    // maintenance reads it) and lives in schema tviews, where only the
    // extension's owner creates objects: that owner moves it there, and
    // draws the TVIEW's stable id.
    let id = guard::run(Some(guard::catalog_owner()?), false, || {
        client.update(&format!("ALTER VIEW {staged} SET SCHEMA tviews"), None, &[])?;
        client.update(
            &format!(
                "ALTER VIEW tviews.{} RENAME TO q_{relid}",
                quote_ident(&format!("tviews_q_{relid}"))
            ),
            None,
            &[],
        )?;
        client
            .select("SELECT pg_catalog.nextval('tviews._tview_id')", None, &[])?
            .first()
            .get_one::<i64>()?
            .ok_or_else(|| user("no TVIEW id"))
    })?;

    let (loaded, plans, groups, level) = guard::run(None, true, || {
        // Capture triggers first: CREATE TRIGGER locks each base table
        // against writers until this transaction ends, so the load below (a
        // new snapshot under READ COMMITTED) misses no concurrent change.
        let plans = plan_sources(&analysis, &SpiCatalog { client })?;
        let groups = LockGroup::list_to_json(&lock_plan(&analysis, &SpiCatalog { client })?.groups);
        for p in &plans {
            let base = qualify(client, p.relid)?;
            for ddl in trigger_ddl(id, p, &base) {
                client.update(&ddl, None, &[])?;
                // ALWAYS: also under session_replication_role = replica
                // (a logical replication subscriber's apply worker, which
                // otherwise left the TVIEW silently stale).
                if let Some(name) = ddl.split_whitespace().nth(2) {
                    fire_always(client, p.relid, name)?;
                }
            }
        }
        // Only maintenance writes the TVIEW table.
        client.update(
            &format!(
                "CREATE TRIGGER tviews_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {target} \
                 FOR EACH STATEMENT EXECUTE FUNCTION tviews._guard()"
            ),
            None,
            &[],
        )?;
        fire_always(client, relid, "tviews_guard")?;
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
        Ok((loaded, plans, groups, level))
    })?;

    // The registry holds SQL that runs at commit: only the extension's
    // owner writes it.
    guard::run(Some(guard::catalog_owner()?), false, || {
        register(
            client, id, relid, &view, &opts.key, query, options, level, &groups, &plans,
        )
    })?;
    Ok(i64::try_from(loaded).unwrap_or(i64::MAX))
}

#[allow(clippy::too_many_arguments)]
fn register(
    client: &mut SpiClient<'_>,
    id: i64,
    relid: u32,
    view: &str,
    key: &[String],
    query: &str,
    options: &str,
    level: i32,
    groups: &str,
    plans: &[tviews_core::sql::capture::SourcePlan],
) -> TvResult<()> {
    client.update(
        "INSERT INTO tviews._tview (relid, viewid, key_cols, query, options, level, lock_groups, id) \
         VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5::pg_catalog.jsonb, $6, $7, $8)",
        None,
        &[
            pg_sys::Oid::from(relid).into(),
            view.into(),
            key.to_vec().into(),
            query.into(),
            options.into(),
            level.into(),
            groups.into(),
            id.into(),
        ],
    )?;
    for p in plans {
        let kind = match p.kind {
            CaptureKind::Direct => "direct",
            CaptureKind::Join => "join",
            CaptureKind::Full => "full",
        };
        client.update(
            "INSERT INTO tviews._source (tview, idx, base, kind, captured, flush_sql, probes, detail, planned_base) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $3)",
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
    Ok(())
}

/// Which of `ops` are equality operators (named `=`, returning boolean).
fn equality_ops(client: &SpiClient<'_>, ops: &BTreeSet<u32>) -> TvResult<BTreeSet<u32>> {
    if ops.is_empty() {
        return Ok(BTreeSet::new());
    }
    let list: Vec<String> = ops.iter().map(u32::to_string).collect();
    let r = rows(
        client,
        "SELECT oid::pg_catalog.int8::pg_catalog.text FROM pg_catalog.pg_operator \
         WHERE oid OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]::pg_catalog.oid[]) \
         AND oprname OPERATOR(pg_catalog.=) '=' AND oprresult OPERATOR(pg_catalog.=) 'pg_catalog.bool'::pg_catalog.regtype",
        &[list.into()],
    )?;
    Ok(r.into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .filter_map(|s| s.parse().ok())
        .collect())
}

/// Every source must be a table whose every change the capture triggers
/// see, and that maintenance (as the owner) reads as the writer's query
/// would; anything else is refused here, naming the construct, rather
/// than accepted and left stale.
fn check_sources(client: &SpiClient<'_>, a: &Analysis) -> TvResult<()> {
    if let Some(v) = a.views.first() {
        let name = qualify(client, *v).unwrap_or_else(|_| v.to_string());
        return Err(unsupported(format!(
            "the TVIEW query reads view {name}: a view can be redefined (CREATE OR REPLACE VIEW) without the TVIEW knowing; \
             write the view's query into the TVIEW's query instead"
        )));
    }
    for s in &a.sources {
        let name = qualify(client, s.relid).unwrap_or_else(|_| s.relid.to_string());
        let what = match s.relkind.as_str() {
            "r" => None,
            "p" => Some(
                "a partitioned table (writes addressed to its partitions would not be captured)",
            ),
            "m" => Some("a materialized view"),
            "f" => Some("a foreign table"),
            "v" => Some("a view that could not be expanded"),
            _ => Some("not a table"),
        };
        if let Some(what) = what {
            return Err(unsupported(format!(
                "a TVIEW can only read plain tables, and {name} is {what}: changes to it cannot be captured"
            )));
        }
        let row = rows(
            client,
            "SELECT c.relpersistence::pg_catalog.text, c.relrowsecurity::pg_catalog.text, \
                    EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent OPERATOR(pg_catalog.=) c.oid)::pg_catalog.text \
                    , EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid OPERATOR(pg_catalog.=) c.oid)::pg_catalog.text \
             FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1",
            &[pg_sys::Oid::from(s.relid).into()],
        )?
        .into_iter()
        .next()
        .ok_or_else(|| user(format!("relation {name} does not exist")))?;
        let flag = |i: usize| row.get(i).cloned().flatten();
        let refuse = if flag(0).as_deref() == Some("u") {
            Some("an unlogged table (a crash empties it without the TVIEW knowing)")
        } else if flag(1).as_deref() == Some("true") {
            Some("a table with row-level security (maintenance, which runs as the TVIEW's owner, would see other rows than its readers)")
        } else if flag(2).as_deref() == Some("true") {
            Some("an inheritance parent (writes to its child tables would not be captured)")
        } else if flag(3).as_deref() == Some("true") {
            Some("a partition or inheritance child (writes addressed to its parent would not be captured)")
        } else {
            None
        };
        if let Some(what) = refuse {
            return Err(unsupported(format!(
                "a TVIEW cannot read {name}: it is {what}"
            )));
        }
    }
    Ok(())
}

/// Makes one of the extension's triggers fire ALWAYS (ALTER TABLE needs
/// the table's owner; the creator may only hold TRIGGER on it), through
/// the extension owner's tviews._fire_always, which does nothing else.
fn fire_always(client: &mut SpiClient<'_>, rel: u32, trigger: &str) -> TvResult<()> {
    client.update(
        &format!(
            "SELECT tviews._fire_always({rel}::pg_catalog.oid::pg_catalog.regclass, {})",
            quote_literal(trigger)
        ),
        None,
        &[],
    )?;
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
        return Err(coded(
            PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
            format!(
            "the query produces a NULL key ({list}); a TVIEW key must identify every row: filter those rows or choose another key"
        ),
        ));
    }
    let dup = rows(
        client,
        &format!("SELECT ROW({list})::pg_catalog.text, pg_catalog.count(*)::pg_catalog.text FROM {target} \
                  GROUP BY {list} HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1"),
        &[],
    )?;
    if let Some(row) = dup.into_iter().next() {
        let v = row.first().cloned().flatten().unwrap_or_default();
        let n = row.get(1).cloned().flatten().unwrap_or_default();
        return Err(coded(PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION, format!(
            "the query is not unique on its key ({list}): {v} appears {n} times; choose a key that identifies one row (options => '{{\"key\": [...]}}')"
        )));
    }
    Ok(())
}

/// The refresh level of a new TVIEW: one more than the TVIEWs it reads.
fn level_of(client: &SpiClient<'_>, relid: u32, a: &Analysis) -> TvResult<i32> {
    let mut g: Graph<u32> = Graph::new();
    let existing = rows(client, crate::api::GRAPH_SQL, &[])?;
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
