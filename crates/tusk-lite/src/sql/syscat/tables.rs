//! The relations that list the user's tables and what hangs off them:
//! pg_class, pg_index, pg_attribute, pg_attrdef and pg_constraint, built
//! from a snapshot of the catalog the statement sees.

use super::pg_type::{align, collatable, storage};
use super::*;

/// pg_class, pg_index, pg_attribute, pg_attrdef or pg_constraint, or None
/// for another relation.
/// An int2[] of 1-based column numbers; NULL when there are none.
fn attnums(cols: &[usize]) -> Value {
    if cols.is_empty() {
        return Value::Null;
    }
    Value::Array(
        cols.iter()
            .map(|c| Value::Int(i64::try_from(c + 1).unwrap_or(0)))
            .collect(),
    )
}

pub(super) fn relation(cat: &Catalog, rel: &str) -> Option<SysRel> {
    let snap = || Snapshot::new(cat);
    Some(match rel {
        "pg_class" => {
            let s = snap();
            let rows = s
                .rels
                .iter()
                .map(|r| {
                    let (natts, checks, hasindex) = match (&r.table, &r.index) {
                        (Some(tb), _) => (
                            tb.columns.len(),
                            tb.checks.len(),
                            tb.primary_key.is_some() || !tb.indexes.is_empty(),
                        ),
                        (None, Some(ix)) => (ix.columns.len(), 0, false),
                        _ => (3, 0, false),
                    };
                    let am = match r.kind {
                        'r' => oids::HEAP,
                        'i' => oids::BTREE,
                        _ => 0,
                    };
                    vec![
                        i(r.oid),
                        t(&r.name),
                        i(if r.schema == "public" {
                            oids::PUBLIC
                        } else {
                            oids::PG_CATALOG
                        }),
                        i(0),
                        i(0),
                        i(oids::BOOTSTRAP_USER),
                        i(am),
                        i(r.oid),
                        i(0),
                        i(0),
                        Value::Float(-1.0),
                        i(0),
                        i(0),
                        b(hasindex),
                        b(false),
                        t("p"),
                        t(&r.kind.to_string()),
                        i(i64::try_from(natts).unwrap_or(0)),
                        i(i64::try_from(checks).unwrap_or(0)),
                        b(false),
                        // PostgreSQL's foreign keys are triggers on both
                        // tables; psql shows foreign keys only when this
                        // is set. (tusk-lite's pg_trigger stays empty:
                        // those triggers are internal, and psql hides them.)
                        b(r.table.as_ref().is_some_and(|tb| {
                            !tb.foreign_keys.is_empty() || !cat.referencing(tb.oid).is_empty()
                        })),
                        b(false),
                        b(false),
                        b(false),
                        b(true),
                        t(if r.kind == 'S' || r.kind == 'i' {
                            "n"
                        } else {
                            "d"
                        }),
                        b(false),
                        i(0),
                        match r.table.as_ref().map(|tb| &tb.reloptions) {
                            Some(o) if !o.is_empty() => {
                                Value::Array(o.iter().map(|x| Value::Text(x.clone())).collect())
                            }
                            _ => Value::Null,
                        },
                        Value::Null,
                    ]
                })
                .collect();
            SysRel {
                cols: vec![
                    ("oid", oid()),
                    ("relname", name()),
                    ("relnamespace", oid()),
                    ("reltype", oid()),
                    ("reloftype", oid()),
                    ("relowner", oid()),
                    ("relam", oid()),
                    ("relfilenode", oid()),
                    ("reltablespace", oid()),
                    ("relpages", int4()),
                    ("reltuples", float4()),
                    ("relallvisible", int4()),
                    ("reltoastrelid", oid()),
                    ("relhasindex", boolean()),
                    ("relisshared", boolean()),
                    ("relpersistence", text()),
                    ("relkind", text()),
                    ("relnatts", int2()),
                    ("relchecks", int2()),
                    ("relhasrules", boolean()),
                    ("relhastriggers", boolean()),
                    ("relhassubclass", boolean()),
                    ("relrowsecurity", boolean()),
                    ("relforcerowsecurity", boolean()),
                    ("relispopulated", boolean()),
                    ("relreplident", text()),
                    ("relispartition", boolean()),
                    ("relrewrite", oid()),
                    ("reloptions", text_array()),
                    ("relpartbound", text()),
                ],
                rows,
            }
        }
        "pg_index" => {
            let s = snap();
            let rows = s
                .rels
                .iter()
                .filter_map(|r| {
                    let ix = r.index.as_ref()?;
                    let n = i64::try_from(ix.columns.len()).unwrap_or(0);
                    let key = ix
                        .columns
                        .iter()
                        .map(|c| i(i64::try_from(*c + 1).unwrap_or(0)))
                        .collect();
                    let opts = (0..ix.columns.len())
                        .map(|k| i(i64::from(ix.option(k))))
                        .collect();
                    Some(vec![
                        i(r.oid),
                        i(i64::from(ix.table.oid)),
                        i(n),
                        i(n),
                        b(ix.unique),
                        b(ix.primary),
                        b(false),
                        b(true),
                        b(false),
                        b(true),
                        b(false),
                        b(true),
                        b(true),
                        b(false),
                        b(false),
                        Value::Array(key),
                        Value::Array(opts),
                        Value::Null,
                        Value::Null,
                    ])
                })
                .collect();
            SysRel {
                cols: vec![
                    ("indexrelid", oid()),
                    ("indrelid", oid()),
                    ("indnatts", int2()),
                    ("indnkeyatts", int2()),
                    ("indisunique", boolean()),
                    ("indisprimary", boolean()),
                    ("indisexclusion", boolean()),
                    ("indimmediate", boolean()),
                    ("indisclustered", boolean()),
                    ("indisvalid", boolean()),
                    ("indcheckxmin", boolean()),
                    ("indisready", boolean()),
                    ("indislive", boolean()),
                    ("indisreplident", boolean()),
                    ("indnullsnotdistinct", boolean()),
                    ("indkey", ColType::int2vector()),
                    ("indoption", ColType::int2vector()),
                    ("indexprs", text()),
                    ("indpred", text()),
                ],
                rows,
            }
        }
        "pg_attribute" => {
            let s = snap();
            let mut rows = Vec::new();
            for r in &s.rels {
                // (name, type, not null, has default, attidentity)
                type Att = (String, ColType, bool, bool, &'static str);
                let cols: Vec<Att> = match (&r.table, &r.index) {
                    (Some(tb), _) => tb
                        .columns
                        .iter()
                        .map(|c| {
                            let ident = c.identity.map_or("", |k| k.code());
                            let has_def = c.default.is_some()
                                && c.identity.is_none()
                                && !super::info_columns::null_default(c);
                            (c.name.clone(), c.ty, c.not_null, has_def, ident)
                        })
                        .collect(),
                    (None, Some(ix)) => ix
                        .columns
                        .iter()
                        .map(|c| {
                            let col = &ix.table.columns[*c];
                            (col.name.clone(), col.ty, false, false, "")
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                for (n, (cname, ty, not_null, has_def, ident)) in cols.into_iter().enumerate() {
                    rows.push(vec![
                        i(r.oid),
                        t(&cname),
                        i(ty.type_oid()),
                        i(-1),
                        i(ty.ty.typlen()),
                        i(i64::try_from(n + 1).unwrap_or(0)),
                        i(0),
                        i(if ty.ty == Type::Array { -1 } else { ty.typmod }),
                        b(ty.ty.typlen() > 0 && ty.ty.typlen() <= 8),
                        t(align(ty.ty)),
                        t(storage(ty.ty)),
                        t(""),
                        b(not_null),
                        b(has_def),
                        b(false),
                        t(ident),
                        t(""),
                        b(false),
                        b(true),
                        i(0),
                        i(if collatable(ty.ty) {
                            oids::DEFAULT_COLLATION
                        } else {
                            0
                        }),
                    ]);
                }
            }
            SysRel {
                cols: vec![
                    ("attrelid", oid()),
                    ("attname", name()),
                    ("atttypid", oid()),
                    ("attstattarget", int4()),
                    ("attlen", int2()),
                    ("attnum", int2()),
                    ("attndims", int4()),
                    ("atttypmod", int4()),
                    ("attbyval", boolean()),
                    ("attalign", text()),
                    ("attstorage", text()),
                    ("attcompression", text()),
                    ("attnotnull", boolean()),
                    ("atthasdef", boolean()),
                    ("atthasmissing", boolean()),
                    ("attidentity", text()),
                    ("attgenerated", text()),
                    ("attisdropped", boolean()),
                    ("attislocal", boolean()),
                    ("attinhcount", int4()),
                    ("attcollation", oid()),
                ],
                rows,
            }
        }
        "pg_attrdef" => {
            let s = snap();
            let mut rows = Vec::new();
            for tb in s.rels.iter().filter_map(|r| r.table.as_ref()) {
                for (n, c) in tb.columns.iter().enumerate() {
                    // An identity column's nextval is no default to
                    // PostgreSQL's catalogs.
                    // adbin holds the expression as pg_get_expr prints it
                    // without pretty-printing (`'x'::text`, `'-1'::integer`,
                    // `(1 + 2)`); pg_get_expr returns it for both forms.
                    // PostgreSQL keeps no row for DEFAULT NULL.
                    if let (Some(d), None) = (&c.default, c.identity) {
                        if super::info_columns::null_default(c) {
                            continue;
                        }
                        let text = super::info_columns::column_default(cat, c)
                            .unwrap_or_else(|| expr_text(d));
                        rows.push(vec![
                            i(i64::from(tb.oid) * 1000 + i64::try_from(n).unwrap_or(0)),
                            i(i64::from(tb.oid)),
                            i(i64::try_from(n + 1).unwrap_or(0)),
                            t(&text),
                        ]);
                    }
                }
            }
            SysRel {
                cols: vec![
                    ("oid", oid()),
                    ("adrelid", oid()),
                    ("adnum", int2()),
                    // pg_node_tree: tusk-lite keeps the expression's SQL
                    // text, which pg_get_expr returns as it is.
                    ("adbin", text()),
                ],
                rows,
            }
        }
        "pg_constraint" => {
            let s = snap();
            let rows = s
                .cons
                .iter()
                .map(|c| {
                    vec![
                        i(c.oid),
                        t(&c.name),
                        i(oids::PUBLIC),
                        t(&c.kind.to_string()),
                        b(false),
                        b(false),
                        b(true),
                        i(i64::from(c.table.oid)),
                        i(0),
                        i(c.index_oid),
                        i(0),
                        i(c.ref_table),
                        t(&c.on_update.to_string()),
                        t(&c.on_delete.to_string()),
                        t(if c.kind == 'f' { "s" } else { " " }),
                        b(true),
                        i(0),
                        b(false),
                        attnums(&c.key),
                        attnums(&c.ref_key),
                    ]
                })
                .collect();
            SysRel {
                cols: vec![
                    ("oid", oid()),
                    ("conname", name()),
                    ("connamespace", oid()),
                    ("contype", text()),
                    ("condeferrable", boolean()),
                    ("condeferred", boolean()),
                    ("convalidated", boolean()),
                    ("conrelid", oid()),
                    ("contypid", oid()),
                    ("conindid", oid()),
                    ("conparentid", oid()),
                    ("confrelid", oid()),
                    ("confupdtype", text()),
                    ("confdeltype", text()),
                    ("confmatchtype", text()),
                    ("conislocal", boolean()),
                    ("coninhcount", int4()),
                    ("connoinherit", boolean()),
                    ("conkey", ColType::array_of(Type::Int2)),
                    ("confkey", ColType::array_of(Type::Int2)),
                ],
                rows,
            }
        }
        "pg_sequence" => SysRel {
            cols: vec![
                ("seqrelid", oid()),
                ("seqtypid", oid()),
                ("seqstart", int8()),
                ("seqincrement", int8()),
                ("seqmax", int8()),
                ("seqmin", int8()),
                ("seqcache", int8()),
                ("seqcycle", boolean()),
            ],
            rows: cat
                .sequences
                .iter()
                .map(|s| {
                    vec![
                        i(s.oid),
                        i(s.type_oid()),
                        i(s.start),
                        i(s.increment),
                        i(s.max),
                        i(s.min),
                        i(1),
                        b(s.cycle),
                    ]
                })
                .collect(),
        },
        "pg_depend" => {
            // The dependencies psql reads: a sequence owned by a serial
            // column (deptype 'a', auto). The rest of PostgreSQL's
            // dependency graph is not kept.
            let mut rows = Vec::new();
            for s in &cat.sequences {
                let Some(tb) = s.owned_by.and_then(|o| cat.table_by_oid(o)) else {
                    continue;
                };
                let call = crate::catalog::nextval_call(&s.name);
                let Some(n) = tb
                    .columns
                    .iter()
                    .position(|c| c.default.as_deref().is_some_and(|d| d.contains(&call)))
                else {
                    continue;
                };
                // An identity column's sequence is an internal part of it.
                let deptype = if tb.columns[n].identity.is_some() {
                    "i"
                } else {
                    "a"
                };
                rows.push(vec![
                    i(oids::PG_CLASS),
                    i(s.oid),
                    i(0),
                    i(oids::PG_CLASS),
                    i(tb.oid),
                    i(i64::try_from(n + 1).unwrap_or(0)),
                    t(deptype),
                ]);
            }
            SysRel {
                cols: vec![
                    ("classid", oid()),
                    ("objid", oid()),
                    ("objsubid", int4()),
                    ("refclassid", oid()),
                    ("refobjid", oid()),
                    ("refobjsubid", int4()),
                    ("deptype", text()),
                ],
                rows,
            }
        }
        _ => return None,
    })
}
