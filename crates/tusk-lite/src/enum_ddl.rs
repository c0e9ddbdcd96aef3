//! Executing CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD VALUE and DROP
//! TYPE: like every DDL, on the transaction's copy of the catalog,
//! published at COMMIT.

use std::sync::Arc;

use crate::catalog::{Catalog, EnumLabel, EnumType};
use crate::error::{code, Result, SqlError};
use crate::session::Outcome;
use crate::sql::statement::EnumAdd;
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::txn::{Engine, Txn};
use crate::types::Type;

/// The longest label PostgreSQL stores (NAMEDATALEN - 1 bytes).
const MAX_LABEL: usize = 63;

/// The transaction's catalog to change, after the checks every DDL makes.
fn catalog_to_change(engine: &Engine, txn: &Txn, what: &str) -> Result<Catalog> {
    if txn.read_only {
        return Err(SqlError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            format!("cannot execute {what} in a read-only transaction"),
        ));
    }
    engine
        .locks
        .acquire(txn.id, LockTag::Catalog, Mode::Exclusive, Wait::Block, None)?;
    Ok((*engine.catalog_for(txn)).clone())
}

fn check_label(label: &str) -> Result<()> {
    if label.len() > MAX_LABEL {
        return Err(
            SqlError::new("42602", format!("invalid enum label \"{label}\""))
                .with_detail(format!("Labels must be {MAX_LABEL} bytes or less.")),
        );
    }
    Ok(())
}

fn type_exists(cat: &Catalog, schema: &str, name: &str) -> bool {
    // A table's row type shares the type namespace, as in PostgreSQL.
    cat.enum_type(schema, name).is_some()
        || cat.table(schema, name).is_some()
        || cat.sequence(schema, name).is_some()
}

pub fn create_enum(
    engine: &Engine,
    txn: &mut Txn,
    schema: String,
    name: String,
    labels: Vec<String>,
) -> Result<Outcome> {
    let mut cat = catalog_to_change(engine, txn, "CREATE TYPE")?;
    if type_exists(&cat, &schema, &name) {
        return Err(SqlError::new(
            code::DUPLICATE_OBJECT,
            format!("type \"{name}\" already exists"),
        ));
    }
    for (i, l) in labels.iter().enumerate() {
        check_label(l)?;
        if labels[..i].contains(l) {
            return Err(SqlError::new(
                code::UNIQUE_VIOLATION,
                "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"",
            ));
        }
    }
    // PostgreSQL assigns the array type's OID first, then the type's,
    // then one per label.
    let array_oid = cat.alloc_oid();
    let oid = cat.alloc_oid();
    let mut ty = EnumType {
        oid,
        array_oid,
        schema,
        name,
        labels: Vec::with_capacity(labels.len()),
        label_oids: Vec::with_capacity(labels.len()),
    };
    for (i, label) in labels.into_iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        // Sort orders 1, 2, 3, ... as PostgreSQL numbers them.
        let order = (i + 1) as f32;
        ty.labels.push(EnumLabel {
            label,
            order,
            pending: false,
        });
        ty.label_oids.push(cat.alloc_oid());
    }
    cat.enums.push(Arc::new(ty));
    txn.catalog = Some(Arc::new(cat));
    Ok(Outcome::tag("CREATE TYPE"))
}

fn undefined_type(name: &str) -> SqlError {
    SqlError::new(
        code::UNDEFINED_OBJECT,
        format!("type \"{name}\" does not exist"),
    )
}

/// The enum type ALTER TYPE names, or PostgreSQL's error for another
/// kind of type.
fn enum_to_alter<'c>(cat: &'c Catalog, schema: &str, name: &str) -> Result<&'c Arc<EnumType>> {
    if let Some(e) = cat.enum_type(schema, name) {
        return Ok(e);
    }
    let builtin = (schema == "public" || schema == "pg_catalog")
        .then(|| Type::from_name(name))
        .flatten();
    if let Some(t) = builtin {
        return Err(SqlError::new(
            "42809",
            format!("{} is not an enum", t.name()),
        ));
    }
    if cat.table(schema, name).is_some() {
        return Err(SqlError::new("42809", format!("{name} is not an enum")));
    }
    Err(undefined_type(name))
}

pub fn add_value(engine: &Engine, txn: &mut Txn, add: EnumAdd) -> Result<Outcome> {
    let mut cat = catalog_to_change(engine, txn, "ALTER TYPE")?;
    let old = enum_to_alter(&cat, &add.schema, &add.name)?.clone();
    check_label(&add.label)?;
    let mut out = Outcome::tag("ALTER TYPE");
    if old.labels.iter().any(|l| l.label == add.label) {
        if add.if_not_exists {
            out.notices.push((
                "NOTICE",
                "42710",
                format!("enum label \"{}\" already exists, skipping", add.label),
            ));
            return Ok(out);
        }
        return Err(SqlError::new(
            code::DUPLICATE_OBJECT,
            format!("enum label \"{}\" already exists", add.label),
        ));
    }
    // Labels in sort order (declaration order is the order they were
    // added in; sort orders may interleave after BEFORE/AFTER).
    let mut sorted: Vec<usize> = (0..old.labels.len()).collect();
    sorted.sort_by(|a, b| old.labels[*a].order.total_cmp(&old.labels[*b].order));
    let order = match &add.neighbor {
        None => sorted.last().map_or(1.0, |i| old.labels[*i].order + 1.0),
        Some((nbr, after)) => {
            let pos = sorted
                .iter()
                .position(|i| old.labels[*i].label == *nbr)
                .ok_or_else(|| {
                    SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("\"{nbr}\" is not an existing enum label"),
                    )
                })?;
            let here = old.labels[sorted[pos]].order;
            let other = if *after {
                sorted.get(pos + 1)
            } else {
                pos.checked_sub(1).and_then(|p| sorted.get(p))
            };
            match other {
                None if *after => here + 1.0,
                None => here - 1.0,
                Some(o) => {
                    let there = old.labels[*o].order;
                    let mid = (here + there) / 2.0;
                    // PostgreSQL renumbers the labels when float4 runs
                    // out of room between two neighbors; the stored
                    // values of tusk-lite carry their sort order, so it
                    // cannot.
                    if mid == here || mid == there {
                        return Err(SqlError::unsupported(
                            "ALTER TYPE ... ADD VALUE needing the enum's labels renumbered",
                        ));
                    }
                    mid
                }
            }
        }
    };
    let label_oid = cat.alloc_oid();
    let mut ty = (*old).clone();
    ty.labels.push(EnumLabel {
        label: add.label,
        order,
        // Usable once this transaction commits, even when it created
        // the type too (PostgreSQL's check_safe_enum_use).
        pending: true,
    });
    ty.label_oids.push(label_oid);
    if let Some(e) = cat.enums.iter_mut().find(|e| e.oid == ty.oid) {
        *e = Arc::new(ty);
    }
    txn.catalog = Some(Arc::new(cat));
    Ok(out)
}

pub fn drop_types(
    engine: &Engine,
    txn: &mut Txn,
    names: Vec<(String, String)>,
    if_exists: bool,
    cascade: bool,
) -> Result<Outcome> {
    let mut cat = catalog_to_change(engine, txn, "DROP TYPE")?;
    let mut out = Outcome::tag("DROP TYPE");
    for (schema, name) in &names {
        let Some(e) = cat.enum_type(schema, name).cloned() else {
            let builtin = (schema == "public" || schema == "pg_catalog")
                .then(|| Type::from_name(name))
                .flatten();
            if let Some(t) = builtin {
                return Err(SqlError::new(
                    "2BP01",
                    format!(
                        "cannot drop type {} because it is required by the database system",
                        t.name()
                    ),
                ));
            }
            if cat.table(schema, name).is_some() {
                return Err(SqlError::new(
                    "2BP01",
                    format!("cannot drop type {name} because table {name} requires it"),
                )
                .with_hint(format!("You can drop table {name} instead.")));
            }
            if if_exists {
                out.notices.push((
                    "NOTICE",
                    "00000",
                    format!("type \"{name}\" does not exist, skipping"),
                ));
                continue;
            }
            return Err(undefined_type(name));
        };
        let users: Vec<String> = cat
            .tables
            .values()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| c.ty.ty == Type::Enum(e.oid))
                    .map(|c| {
                        format!(
                            "column {} of table {} depends on type {}",
                            c.name, t.name, e.name
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if !users.is_empty() {
            if cascade {
                return Err(SqlError::unsupported(
                    "DROP TYPE ... CASCADE of a type that columns use",
                ));
            }
            return Err(SqlError::new(
                "2BP01",
                format!(
                    "cannot drop type {} because other objects depend on it",
                    e.name
                ),
            )
            .with_detail(users.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        cat.enums.retain(|x| x.oid != e.oid);
    }
    txn.catalog = Some(Arc::new(cat));
    Ok(out)
}
