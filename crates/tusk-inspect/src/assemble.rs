//! The catalog query's flat lists, assembled into the model. Pure.

use std::collections::HashMap;

use serde::Deserialize;

use crate::model::*;

#[derive(Deserialize)]
struct Raw {
    server_version: String,
    database: String,
    schemas: Vec<RawSchema>,
    relations: Vec<RawRelation>,
    columns: Vec<RawColumn>,
    indexes: Vec<RawIndex>,
    constraints: Vec<RawConstraint>,
    triggers: Vec<RawTrigger>,
    policies: Vec<RawPolicy>,
    sequences: Vec<InSchema<Sequence>>,
    enums: Vec<InSchema<Enum>>,
    domains: Vec<InSchema<Domain>>,
    functions: Vec<InSchema<Function>>,
    extensions: Vec<Extension>,
}

#[derive(Deserialize)]
struct RawSchema {
    name: String,
    owner: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct RawRelation {
    oid: i64,
    schema: String,
    name: String,
    kind: String,
    owner: String,
    comment: Option<String>,
    unlogged: bool,
    row_security: bool,
    force_row_security: bool,
    partition_of: Option<String>,
    partition_bound: Option<String>,
    partition_key: Option<String>,
    definition: Option<String>,
}

#[derive(Deserialize)]
struct RawColumn {
    rel: i64,
    #[serde(flatten)]
    column: Column,
}

#[derive(Deserialize)]
struct RawIndex {
    rel: i64,
    #[serde(flatten)]
    index: Index,
}

#[derive(Deserialize)]
struct RawTrigger {
    rel: i64,
    #[serde(flatten)]
    trigger: Trigger,
}

#[derive(Deserialize)]
struct RawPolicy {
    rel: i64,
    #[serde(flatten)]
    policy: Policy,
}

#[derive(Deserialize)]
struct RawConstraint {
    rel: i64,
    name: String,
    kind: String,
    definition: String,
    deferrable: bool,
    initially_deferred: bool,
    validated: bool,
    columns: Vec<String>,
    ref_table: Option<String>,
    ref_columns: Vec<String>,
    on_update: Option<String>,
    on_delete: Option<String>,
}

#[derive(Deserialize)]
struct InSchema<T> {
    schema: String,
    #[serde(flatten)]
    item: T,
}

fn action(code: Option<&str>) -> String {
    match code {
        Some("r") => "RESTRICT",
        Some("c") => "CASCADE",
        Some("n") => "SET NULL",
        Some("d") => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_string()
}

fn take<T>(map: &mut HashMap<i64, Vec<T>>, rel: i64) -> Vec<T> {
    map.remove(&rel).unwrap_or_default()
}

fn group<T>(items: Vec<T>, rel: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut m: HashMap<i64, Vec<T>> = HashMap::new();
    for i in items {
        m.entry(rel(&i)).or_default().push(i);
    }
    m
}

/// Builds the model from the catalog query's JSON.
pub(crate) fn from_json(json: &str) -> Result<Database, tusk::Error> {
    let raw: Raw = serde_json::from_str(json).map_err(|e| {
        tusk::Error::with_source(tusk::ErrorKind::Protocol, "reading the catalog model", e)
    })?;
    let mut columns = group(raw.columns, |c| c.rel);
    let mut indexes = group(raw.indexes, |c| c.rel);
    let mut constraints = group(raw.constraints, |c| c.rel);
    let mut triggers = group(raw.triggers, |c| c.rel);
    let mut policies = group(raw.policies, |c| c.rel);

    let mut schemas: Vec<Schema> = raw
        .schemas
        .into_iter()
        .map(|s| Schema {
            name: s.name,
            owner: s.owner,
            comment: s.comment,
            tables: Vec::new(),
            views: Vec::new(),
            sequences: Vec::new(),
            enums: Vec::new(),
            composites: Vec::new(),
            domains: Vec::new(),
            functions: Vec::new(),
        })
        .collect();
    let index: HashMap<String, usize> = schemas
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let slot = |name: &str| index.get(name).copied();

    for r in raw.relations {
        let Some(si) = slot(&r.schema) else { continue };
        let cols: Vec<Column> = take(&mut columns, r.oid)
            .into_iter()
            .map(|c| c.column)
            .collect();
        let idx: Vec<Index> = take(&mut indexes, r.oid)
            .into_iter()
            .map(|c| c.index)
            .collect();
        let kind = match r.kind.as_str() {
            "r" => Some(TableKind::Ordinary),
            "p" => Some(TableKind::Partitioned),
            "f" => Some(TableKind::Foreign),
            _ => None,
        };
        let s = &mut schemas[si];
        match (kind, r.kind.as_str()) {
            (Some(kind), _) => s.tables.push(Table {
                name: r.name,
                kind,
                owner: r.owner,
                comment: r.comment,
                unlogged: r.unlogged,
                partition_key: r.partition_key,
                partition_of: r.partition_of,
                partition_bound: r.partition_bound,
                row_security: r.row_security,
                force_row_security: r.force_row_security,
                columns: cols,
                indexes: idx,
                constraints: take(&mut constraints, r.oid)
                    .into_iter()
                    .map(|c| Constraint {
                        kind: match c.kind.as_str() {
                            "p" => ConstraintKind::PrimaryKey,
                            "f" => ConstraintKind::ForeignKey,
                            "u" => ConstraintKind::Unique,
                            "c" => ConstraintKind::Check,
                            "x" => ConstraintKind::Exclusion,
                            _ => ConstraintKind::Other,
                        },
                        references: c.ref_table.map(|table| ForeignKey {
                            table,
                            columns: c.ref_columns,
                            on_update: action(c.on_update.as_deref()),
                            on_delete: action(c.on_delete.as_deref()),
                        }),
                        name: c.name,
                        definition: c.definition,
                        columns: c.columns,
                        deferrable: c.deferrable,
                        initially_deferred: c.initially_deferred,
                        validated: c.validated,
                    })
                    .collect(),
                triggers: take(&mut triggers, r.oid)
                    .into_iter()
                    .map(|t| t.trigger)
                    .collect(),
                policies: take(&mut policies, r.oid)
                    .into_iter()
                    .map(|p| p.policy)
                    .collect(),
            }),
            (None, "v" | "m") => s.views.push(View {
                name: r.name,
                materialized: r.kind == "m",
                definition: r.definition.unwrap_or_default(),
                owner: r.owner,
                comment: r.comment,
                columns: cols,
                indexes: idx,
            }),
            (None, "c") => s.composites.push(Composite {
                name: r.name,
                attributes: cols,
                comment: r.comment,
            }),
            _ => {} // sequences come with their own list
        }
    }
    for q in raw.sequences {
        if let Some(si) = slot(&q.schema) {
            schemas[si].sequences.push(q.item);
        }
    }
    for e in raw.enums {
        if let Some(si) = slot(&e.schema) {
            schemas[si].enums.push(e.item);
        }
    }
    for d in raw.domains {
        if let Some(si) = slot(&d.schema) {
            schemas[si].domains.push(d.item);
        }
    }
    for f in raw.functions {
        if let Some(si) = slot(&f.schema) {
            schemas[si].functions.push(f.item);
        }
    }
    Ok(Database {
        server_version: raw.server_version,
        database: raw.database,
        schemas,
        extensions: raw.extensions,
    })
}
