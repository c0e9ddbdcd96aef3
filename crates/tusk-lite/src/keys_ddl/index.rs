//! CREATE [UNIQUE] INDEX and DROP INDEX.

use super::*;

pub(super) fn catalog_lock(ex: &mut Exec<'_>, what: &str) -> Result<()> {
    if ex.txn.read_only {
        return Err(SqlError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            format!("cannot execute {what} in a read-only transaction"),
        ));
    }
    ex.engine.locks.acquire(
        ex.txn.id,
        LockTag::Catalog,
        Mode::Exclusive,
        Wait::Block,
        Some(&ex.session.cancel),
    )?;
    Ok(())
}

/// CREATE [UNIQUE] INDEX: holds the table exclusively while it builds.
pub fn create_index(ex: &mut Exec<'_>, ci: CreateIndex) -> Result<Outcome> {
    catalog_lock(ex, "CREATE INDEX")?;
    let mut cat = (*ex.engine.catalog_for(ex.txn)).clone();
    let old = cat.table(&ci.schema, &ci.table).cloned().ok_or_else(|| {
        SqlError::new(
            code::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", ci.table),
        )
    })?;
    if let Some(n) = &ci.name {
        if ci.if_not_exists && cat.relation_exists(&ci.schema, n) {
            let mut out = Outcome::tag("CREATE INDEX");
            out.notices.push((
                "NOTICE",
                "42P07",
                format!("relation \"{n}\" already exists, skipping"),
            ));
            return Ok(out);
        }
    }
    ex.lock(LockTag::Table(old.oid), Mode::Exclusive, Wait::Block)?;
    let mut table = (*old).clone();
    let mut idx = new_index(&mut cat, &table, ci.name, &ci.columns, ci.unique, false)?;
    if ci.options.iter().any(|o| *o != 0) {
        idx.options = ci.options;
    }
    ex.build_index(&table, &idx)?;
    table.indexes.push(idx);
    cat.tables
        .insert((table.schema.clone(), table.name.clone()), Arc::new(table));
    ex.txn.catalog = Some(Arc::new(cat));
    Ok(Outcome::tag("CREATE INDEX"))
}

/// DROP INDEX: not the index of a constraint (drop the constraint).
pub fn drop_indexes(
    ex: &mut Exec<'_>,
    names: Vec<(String, String)>,
    if_exists: bool,
) -> Result<Outcome> {
    catalog_lock(ex, "DROP INDEX")?;
    let mut cat = (*ex.engine.catalog_for(ex.txn)).clone();
    let mut out = Outcome::tag("DROP INDEX");
    for (schema, name) in names {
        let requires = |t: &Table| {
            SqlError::new(
                "2BP01",
                format!(
                    "cannot drop index {name} because constraint {name} on table {} requires it",
                    t.name
                ),
            )
            .with_hint(format!(
                "You can drop constraint {name} on table {} instead.",
                t.name
            ))
        };
        if let Some(t) = cat
            .tables
            .values()
            .find(|t| t.schema == schema && t.pkey_name.as_deref() == Some(name.as_str()))
        {
            return Err(requires(t));
        }
        let Some((t, pos)) = cat.index(&schema, &name).map(|(t, p)| (t.clone(), p)) else {
            if if_exists {
                out.notices.push((
                    "NOTICE",
                    "00000",
                    format!("index \"{name}\" does not exist, skipping"),
                ));
                continue;
            }
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("index \"{name}\" does not exist"),
            ));
        };
        if t.indexes[pos].constraint {
            return Err(requires(&t));
        }
        ex.lock(LockTag::Table(t.oid), Mode::Exclusive, Wait::Block)?;
        let mut table = (*t).clone();
        let idx = table.indexes.remove(pos);
        forget_index(ex, idx.oid);
        cat.tables
            .insert((table.schema.clone(), table.name.clone()), Arc::new(table));
    }
    ex.txn.catalog = Some(Arc::new(cat));
    Ok(out)
}
