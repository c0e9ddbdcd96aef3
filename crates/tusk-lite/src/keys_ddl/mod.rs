//! DDL for unique constraints, foreign keys and indexes: naming them as
//! PostgreSQL does, resolving foreign keys against the catalog, building
//! and dropping index entries, and the dependency rules between tables
//! that foreign keys bring (DROP TABLE, TRUNCATE, DROP COLUMN).

mod index;

pub use index::{create_index, drop_indexes};

use std::sync::Arc;

use crate::catalog::{Catalog, ForeignKey, Index, Table, TableId};
use crate::error::{code, Result, SqlError};
use crate::exec::Exec;
use crate::session::Outcome;
use crate::sql::statement::{CreateIndex, RawFk, RawUnique};
use crate::storage::Ts;
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::types::Type;

/// `<table>_<col>_..._<suffix>`, numbered (`..._key1`) until no relation
/// or constraint of the table has it, as PostgreSQL chooses names.
pub fn choose_name(
    cat: &Catalog,
    table: &Table,
    cols: &[String],
    suffix: &str,
    constraint: bool,
) -> String {
    let mut base = table.name.clone();
    for c in cols {
        base.push('_');
        base.push_str(c);
    }
    let mut n = 0;
    loop {
        let name = if n == 0 {
            format!("{base}_{suffix}")
        } else {
            format!("{base}_{suffix}{n}")
        };
        let taken = cat.relation_exists(&table.schema, &name)
            || table.indexes.iter().any(|i| i.name == name)
            || table.pkey_name.as_deref() == Some(name.as_str())
            || (constraint && table.has_constraint(&name));
        if !taken {
            return name;
        }
        n += 1;
    }
}

fn column_positions(table: &Table, cols: &[String], what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for c in cols {
        let i = table.column_index(c).ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_COLUMN,
                format!("column \"{c}\" {what}does not exist"),
            )
        })?;
        out.push(i);
    }
    Ok(out)
}

/// A new secondary index of `table`, named and given an OID.
fn new_index(
    cat: &mut Catalog,
    table: &Table,
    name: Option<String>,
    cols: &[String],
    unique: bool,
    constraint: bool,
) -> Result<Index> {
    let columns = column_positions(table, cols, if constraint { "named in key " } else { "" })?;
    let name = match name {
        Some(n) => {
            if cat.relation_exists(&table.schema, &n)
                || table.indexes.iter().any(|i| i.name == n)
                || table.pkey_name.as_deref() == Some(n.as_str())
            {
                return Err(SqlError::new(
                    code::DUPLICATE_TABLE,
                    format!("relation \"{n}\" already exists"),
                ));
            }
            n
        }
        None => choose_name(
            cat,
            table,
            cols,
            if constraint { "key" } else { "idx" },
            constraint,
        ),
    };
    Ok(Index {
        oid: cat.alloc_oid(),
        name,
        columns,
        unique,
        constraint,
        built_at: crate::catalog::PENDING,
        options: Vec::new(),
    })
}

/// Integer types reference each other, as do the string types; anything
/// else must be the same type.
fn comparable(a: Type, b: Type) -> bool {
    let family = |t: Type| match t {
        Type::Int2 | Type::Int4 | Type::Int8 => 1,
        Type::Text | Type::Varchar | Type::Bpchar => 2,
        _ => 0,
    };
    a == b || (family(a) != 0 && family(a) == family(b))
}

/// Resolves a FOREIGN KEY of `table` against the catalog (or `table`
/// itself, for a self-reference).
fn resolve_fk(cat: &Catalog, table: &Table, raw: &RawFk) -> Result<ForeignKey> {
    let parent: Table = if raw.ref_schema == table.schema && raw.ref_table == table.name {
        table.clone()
    } else {
        cat.table(&raw.ref_schema, &raw.ref_table)
            .map(|t| (**t).clone())
            .ok_or_else(|| {
                SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("relation \"{}\" does not exist", raw.ref_table),
                )
            })?
    };
    let columns = column_positions(table, &raw.columns, "referenced in foreign key constraint ")?;
    let ref_columns = if raw.ref_columns.is_empty() {
        parent.primary_key.clone().ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_OBJECT,
                format!(
                    "there is no primary key for referenced table \"{}\"",
                    parent.name
                ),
            )
        })?
    } else {
        column_positions(
            &parent,
            &raw.ref_columns,
            "referenced in foreign key constraint ",
        )?
    };
    if columns.len() != ref_columns.len() {
        return Err(SqlError::new(
            "42830",
            "number of referencing and referenced columns for foreign key disagree",
        ));
    }
    let sorted = |c: &[usize]| {
        let mut c = c.to_vec();
        c.sort_unstable();
        c
    };
    let want = sorted(&ref_columns);
    let unique = parent.primary_key.as_deref().map(sorted) == Some(want.clone())
        || parent
            .indexes
            .iter()
            .any(|i| i.unique && sorted(&i.columns) == want);
    if !unique {
        return Err(SqlError::new(
            "42830",
            format!(
                "there is no unique constraint matching given keys for referenced table \"{}\"",
                parent.name
            ),
        ));
    }
    let col_names: Vec<String> = columns
        .iter()
        .map(|c| table.columns[*c].name.clone())
        .collect();
    let name = match &raw.name {
        Some(n) => {
            if table.has_constraint(n) {
                return Err(SqlError::new(
                    code::DUPLICATE_OBJECT,
                    format!(
                        "constraint \"{n}\" for relation \"{}\" already exists",
                        table.name
                    ),
                ));
            }
            n.clone()
        }
        None => choose_name(cat, table, &col_names, "fkey", true),
    };
    for (c, r) in columns.iter().zip(&ref_columns) {
        let (a, b) = (table.columns[*c].ty.ty, parent.columns[*r].ty.ty);
        if !comparable(a, b) {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("foreign key constraint \"{name}\" cannot be implemented"),
            )
            .with_detail(format!(
                "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                table.columns[*c].name,
                parent.columns[*r].name,
                a.name(),
                b.name()
            )));
        }
    }
    Ok(ForeignKey {
        name,
        columns,
        ref_table: parent.oid,
        ref_columns,
        on_delete: raw.on_delete,
        on_update: raw.on_update,
    })
}

/// Adds UNIQUE constraints (as indexes) and then foreign keys to a new
/// table (nothing to build or validate: it has no rows).
pub fn add_to_new_table(
    cat: &mut Catalog,
    table: &mut Table,
    uniques: Vec<RawUnique>,
    fks: Vec<RawFk>,
) -> Result<()> {
    for u in uniques {
        let idx = new_index(cat, table, u.name, &u.columns, true, true)?;
        table.indexes.push(idx);
    }
    for f in fks {
        let fk = resolve_fk(cat, table, &f)?;
        table.foreign_keys.push(fk);
    }
    Ok(())
}

/// ALTER TABLE ADD UNIQUE: the index, built over the rows now.
pub fn add_unique(
    ex: &mut Exec<'_>,
    cat: &mut Catalog,
    table: &mut Table,
    u: RawUnique,
) -> Result<()> {
    let idx = new_index(cat, table, u.name, &u.columns, true, true)?;
    ex.build_index(table, &idx)?;
    table.indexes.push(idx);
    Ok(())
}

/// ALTER TABLE ADD FOREIGN KEY: every existing row must reference a row.
pub fn add_foreign_key(
    ex: &mut Exec<'_>,
    cat: &Catalog,
    table: &mut Table,
    raw: RawFk,
) -> Result<()> {
    let fk = resolve_fk(cat, table, &raw)?;
    let parent: Table = if fk.ref_table == table.oid {
        table.clone()
    } else {
        cat.table_by_oid(fk.ref_table)
            .map(|t| (**t).clone())
            .ok_or_else(|| SqlError::internal("referenced table vanished"))?
    };
    ex.snapshot = ex.engine.now();
    for (_, row) in ex.visible_rows(table)? {
        if fk.columns.iter().any(|c| row[*c].is_null()) {
            continue;
        }
        ex.check_reference(table, &fk, &parent, &row)?;
    }
    table.foreign_keys.push(fk);
    Ok(())
}

/// Rebuilds every index of `table` from its rows (after a rewrite that
/// changed storage keys).
pub fn rebuild_indexes(ex: &mut Exec<'_>, table: &Table) -> Result<()> {
    for idx in &table.indexes {
        for (k, _) in ex.entries(idx.oid, &[], Ts::MAX)? {
            ex.txn.writes.insert(idx.oid, k, None)?;
        }
        ex.build_index(table, idx)?;
    }
    Ok(())
}

/// Forgets an index: its entries go at COMMIT.
fn forget_index(ex: &mut Exec<'_>, oid: u32) {
    ex.txn.writes.forget(oid);
    ex.txn.dropped.push(oid);
}

/// ALTER TABLE DROP CONSTRAINT (UNIQUE, FOREIGN KEY or CHECK).
pub fn drop_constraint(
    ex: &mut Exec<'_>,
    cat: &Catalog,
    table: &mut Table,
    name: &str,
    missing_ok: bool,
    out: &mut Outcome,
) -> Result<()> {
    if table.pkey_name.as_deref() == Some(name) {
        return Err(SqlError::unsupported("dropping a primary key"));
    }
    if let Some(p) = table.checks.iter().position(|c| c.name == name) {
        table.checks.remove(p);
        return Ok(());
    }
    if let Some(p) = table.foreign_keys.iter().position(|f| f.name == name) {
        table.foreign_keys.remove(p);
        return Ok(());
    }
    if let Some(p) = table
        .indexes
        .iter()
        .position(|i| i.constraint && i.name == name)
    {
        let cols = table.indexes[p].columns.clone();
        if let Some((child, fk)) = cat.referencing(table.oid).into_iter().find(|(_, fk)| {
            fk.ref_columns.len() == cols.len() && fk.ref_columns.iter().all(|c| cols.contains(c))
        }) {
            return Err(SqlError::new(
                "2BP01",
                format!(
                    "cannot drop constraint {name} on table {} because other objects depend on it",
                    table.name
                ),
            )
            .with_detail(format!(
                "constraint {} on table {} depends on index {name}",
                fk.name, child.name
            ))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        let idx = table.indexes.remove(p);
        forget_index(ex, idx.oid);
        return Ok(());
    }
    if missing_ok {
        out.notices.push((
            "NOTICE",
            "00000",
            format!(
                "constraint \"{name}\" of relation \"{}\" does not exist, skipping",
                table.name
            ),
        ));
        return Ok(());
    }
    Err(SqlError::new(
        code::UNDEFINED_OBJECT,
        format!(
            "constraint \"{name}\" of relation \"{}\" does not exist",
            table.name
        ),
    ))
}

/// DROP COLUMN at position `i`: indexes and foreign keys of the table
/// using it go with it (as in PostgreSQL); positions after it shift, in
/// this table and in other tables' foreign keys referencing it. A column
/// another table's foreign key references cannot be dropped.
pub fn drop_column(
    ex: &mut Exec<'_>,
    cat: &mut Catalog,
    table: &mut Table,
    i: usize,
    col: &str,
) -> Result<()> {
    for (child, fk) in cat.referencing(table.oid) {
        if child.oid != table.oid && fk.ref_columns.contains(&i) {
            return Err(SqlError::new(
                "2BP01",
                format!(
                    "cannot drop column {col} of table {} because other objects depend on it",
                    table.name
                ),
            )
            .with_detail(format!(
                "constraint {} on table {} depends on column {col} of table {}",
                fk.name, child.name, table.name
            ))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
    }
    let shift = |cols: &mut Vec<usize>| {
        for c in cols.iter_mut() {
            if *c > i {
                *c -= 1;
            }
        }
    };
    let (gone, kept): (Vec<Index>, Vec<Index>) = std::mem::take(&mut table.indexes)
        .into_iter()
        .partition(|x| x.columns.contains(&i));
    for g in gone {
        forget_index(ex, g.oid);
    }
    table.indexes = kept;
    for x in &mut table.indexes {
        shift(&mut x.columns);
    }
    let own = table.oid;
    table.foreign_keys.retain(|f| {
        !(f.columns.contains(&i) || (f.ref_table == own && f.ref_columns.contains(&i)))
    });
    for f in &mut table.foreign_keys {
        shift(&mut f.columns);
        if f.ref_table == own {
            shift(&mut f.ref_columns);
        }
    }
    let others: Vec<Arc<Table>> = cat
        .tables
        .values()
        .filter(|t| t.oid != own && t.foreign_keys.iter().any(|f| f.ref_table == own))
        .cloned()
        .collect();
    for t in others {
        let mut t = (*t).clone();
        for f in &mut t.foreign_keys {
            if f.ref_table == own {
                shift(&mut f.ref_columns);
            }
        }
        cat.tables
            .insert((t.schema.clone(), t.name.clone()), Arc::new(t));
    }
    Ok(())
}

/// DROP TABLE's foreign-key rule: other tables' foreign keys referencing
/// the dropped ones fail the drop (2BP01), or with CASCADE are dropped
/// (with a NOTICE naming each).
pub fn drop_referencing(
    cat: &mut Catalog,
    dropping: &[TableId],
    cascade: bool,
    out: &mut Outcome,
) -> Result<()> {
    let mut deps: Vec<(String, String, String)> = Vec::new(); // (fk, on table, depends on table)
    for &oid in dropping {
        let Some(parent) = cat.table_by_oid(oid).cloned() else {
            continue;
        };
        for (child, fk) in cat.referencing(oid) {
            if !dropping.contains(&child.oid) {
                deps.push((fk.name, child.name.clone(), parent.name.clone()));
            }
        }
    }
    if deps.is_empty() {
        return Ok(());
    }
    if !cascade {
        let first = cat
            .table_by_oid(dropping[0])
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let detail: Vec<String> = deps
            .iter()
            .map(|(fk, on, of)| format!("constraint {fk} on table {on} depends on table {of}"))
            .collect();
        return Err(SqlError::new(
            "2BP01",
            format!("cannot drop table {first} because other objects depend on it"),
        )
        .with_detail(detail.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    let lines: Vec<String> = deps
        .iter()
        .map(|(fk, on, _)| format!("drop cascades to constraint {fk} on table {on}"))
        .collect();
    let msg = if lines.len() == 1 {
        lines[0].clone()
    } else {
        format!("drop cascades to {} other objects", lines.len())
    };
    out.notices.push(("NOTICE", "00000", msg));
    let children: Vec<Arc<Table>> = cat
        .tables
        .values()
        .filter(|t| {
            !dropping.contains(&t.oid)
                && t.foreign_keys
                    .iter()
                    .any(|f| dropping.contains(&f.ref_table))
        })
        .cloned()
        .collect();
    for c in children {
        let mut t = (*c).clone();
        t.foreign_keys.retain(|f| !dropping.contains(&f.ref_table));
        cat.tables
            .insert((t.schema.clone(), t.name.clone()), Arc::new(t));
    }
    Ok(())
}

/// TRUNCATE may not empty a table another (not truncated) table references.
pub fn check_truncate(cat: &Catalog, tables: &[Arc<Table>]) -> Result<()> {
    let oids: Vec<TableId> = tables.iter().map(|t| t.oid).collect();
    for t in tables {
        if let Some((child, _)) = cat
            .referencing(t.oid)
            .into_iter()
            .find(|(c, _)| !oids.contains(&c.oid))
        {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "cannot truncate a table referenced in a foreign key constraint",
            )
            .with_detail(format!(
                "Table \"{}\" references \"{}\".",
                child.name, t.name
            ))
            .with_hint(format!(
                "Truncate table \"{}\" at the same time, or use TRUNCATE ... CASCADE.",
                child.name
            )));
        }
    }
    Ok(())
}

/// TRUNCATE's index side: every entry of the table's indexes goes.
pub fn truncate_indexes(ex: &mut Exec<'_>, table: &Table) -> Result<()> {
    for idx in &table.indexes {
        for (k, _) in ex.entries(idx.oid, &[], Ts::MAX)? {
            ex.txn.writes.insert(idx.oid, k, None)?;
        }
    }
    Ok(())
}
