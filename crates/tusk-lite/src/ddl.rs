//! Executing DDL: the catalog is copied into the transaction, changed,
//! and published at COMMIT; a table whose rows must change (a new primary
//! key, a new or dropped column) is rewritten in the transaction's write
//! set under an exclusive table lock.

use std::collections::HashSet;
use std::sync::Arc;

use crate::catalog::Table;
use crate::error::{code, Result, SqlError};
use crate::exec::Exec;
use crate::session::Outcome;
use crate::sql::bind::Binder;
use crate::sql::statement::{AlterCmd, CreateTable};
use crate::storage::keys;
use crate::txn::locks::{LockTag, Mode, Wait};
use crate::txn::{Engine, Txn};
use crate::types::{format_value, ColType, Value};

pub fn create_table(engine: &Engine, txn: &mut Txn, ct: CreateTable) -> Result<Outcome> {
    if txn.read_only {
        return Err(SqlError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            "cannot execute CREATE TABLE in a read-only transaction",
        ));
    }
    engine
        .locks
        .acquire(txn.id, LockTag::Catalog, Mode::Exclusive, Wait::Block, None)?;
    let mut cat = (*engine.catalog_for(txn)).clone();
    // Tables, sequences and indexes share one namespace (pg_class).
    if cat.relation_exists(&ct.schema, &ct.name) {
        if ct.if_not_exists {
            let mut out = Outcome::tag("CREATE TABLE");
            out.notices.push((
                "NOTICE",
                "42P07",
                format!("relation \"{}\" already exists, skipping", ct.name),
            ));
            return Ok(out);
        }
        return Err(SqlError::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", ct.name),
        ));
    }
    if let Some(p) = &ct.pkey_name {
        if cat.relation_exists(&ct.schema, p) {
            return Err(SqlError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{p}\" already exists"),
            ));
        }
    }
    let oid = cat.alloc_oid();
    let mut table = Table {
        oid,
        name: ct.name.clone(),
        schema: ct.schema.clone(),
        columns: ct.columns,
        primary_key: ct.primary_key,
        pkey_name: ct.pkey_name,
        checks: ct.checks,
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        relayouts: Vec::new(),
        reloptions: ct.reloptions,
    };
    crate::keys_ddl::add_to_new_table(&mut cat, &mut table, ct.uniques, ct.foreign_keys)?;
    for mut seq in ct.sequences {
        if cat.relation_exists(&seq.schema, &seq.name) {
            return Err(SqlError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists", seq.name),
            ));
        }
        seq.oid = cat.alloc_oid();
        seq.owned_by = Some(oid);
        cat.sequences.push(Arc::new(seq));
    }
    cat.tables.insert((ct.schema, ct.name), Arc::new(table));
    txn.catalog = Some(Arc::new(cat));
    Ok(Outcome::tag("CREATE TABLE"))
}

pub fn drop_tables(
    engine: &Engine,
    txn: &mut Txn,
    names: Vec<(String, String)>,
    if_exists: bool,
    cascade: bool,
) -> Result<Outcome> {
    if txn.read_only {
        return Err(SqlError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            "cannot execute DROP TABLE in a read-only transaction",
        ));
    }
    engine
        .locks
        .acquire(txn.id, LockTag::Catalog, Mode::Exclusive, Wait::Block, None)?;
    let mut cat = (*engine.catalog_for(txn)).clone();
    let mut out = Outcome::tag("DROP TABLE");
    let mut found = Vec::new();
    for (s, n) in &names {
        match cat.table(s, n) {
            Some(t) => found.push(t.clone()),
            None if if_exists => out.notices.push((
                "NOTICE",
                "00000",
                format!("table \"{n}\" does not exist, skipping"),
            )),
            None => {
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("table \"{n}\" does not exist"),
                ))
            }
        }
    }
    let oids: Vec<u32> = found.iter().map(|t| t.oid).collect();
    crate::keys_ddl::drop_referencing(&mut cat, &oids, cascade, &mut out)?;
    for t in found {
        for idx in &t.indexes {
            txn.writes.forget(idx.oid);
            txn.dropped.push(idx.oid);
        }
        engine.locks.acquire(
            txn.id,
            LockTag::Table(t.oid),
            Mode::Exclusive,
            Wait::Block,
            None,
        )?;
        cat.tables.remove(&(t.schema.clone(), t.name.clone()));
        cat.sequences.retain(|s| s.owned_by != Some(t.oid));
        txn.writes.forget(t.oid);
        txn.dropped.push(t.oid);
    }
    txn.catalog = Some(Arc::new(cat));
    Ok(out)
}

pub fn create_sequence(
    engine: &Engine,
    txn: &mut Txn,
    mut seq: crate::catalog::Sequence,
    if_not_exists: bool,
) -> Result<Outcome> {
    if txn.read_only {
        return Err(SqlError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            "cannot execute CREATE SEQUENCE in a read-only transaction",
        ));
    }
    engine
        .locks
        .acquire(txn.id, LockTag::Catalog, Mode::Exclusive, Wait::Block, None)?;
    let mut cat = (*engine.catalog_for(txn)).clone();
    if cat.relation_exists(&seq.schema, &seq.name) {
        if if_not_exists {
            let mut out = Outcome::tag("CREATE SEQUENCE");
            out.notices.push((
                "NOTICE",
                "42P07",
                format!("relation \"{}\" already exists, skipping", seq.name),
            ));
            return Ok(out);
        }
        return Err(SqlError::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", seq.name),
        ));
    }
    seq.oid = cat.alloc_oid();
    cat.sequences.push(Arc::new(seq));
    txn.catalog = Some(Arc::new(cat));
    Ok(Outcome::tag("CREATE SEQUENCE"))
}

pub fn drop_sequences(
    engine: &Engine,
    txn: &mut Txn,
    names: Vec<(String, String)>,
    if_exists: bool,
) -> Result<Outcome> {
    engine
        .locks
        .acquire(txn.id, LockTag::Catalog, Mode::Exclusive, Wait::Block, None)?;
    let mut cat = (*engine.catalog_for(txn)).clone();
    let mut out = Outcome::tag("DROP SEQUENCE");
    for (s, n) in &names {
        match cat.sequence(s, n).cloned() {
            Some(seq) => {
                if let Some(t) = seq.owned_by.and_then(|o| cat.table_by_oid(o)) {
                    return Err(SqlError::new(
                        "2BP01",
                        format!("cannot drop sequence {n} because other objects depend on it"),
                    )
                    .with_detail(format!(
                        "default value for a column of table {} depends on sequence {n}",
                        t.name
                    ))
                    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
                }
                cat.sequences.retain(|x| x.oid != seq.oid);
            }
            None if if_exists => out.notices.push((
                "NOTICE",
                "00000",
                format!("sequence \"{n}\" does not exist, skipping"),
            )),
            None => {
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("sequence \"{n}\" does not exist"),
                ))
            }
        }
    }
    txn.catalog = Some(Arc::new(cat));
    Ok(out)
}

pub fn alter_table(
    ex: &mut Exec<'_>,
    schema: &str,
    name: &str,
    missing_ok: bool,
    cmds: Vec<AlterCmd>,
) -> Result<Outcome> {
    let engine = ex.engine;
    if ex.txn.read_only {
        return Err(SqlError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            "cannot execute ALTER TABLE in a read-only transaction",
        ));
    }
    engine.locks.acquire(
        ex.txn.id,
        LockTag::Catalog,
        Mode::Exclusive,
        Wait::Block,
        None,
    )?;
    let mut cat = (*engine.catalog_for(ex.txn)).clone();
    let Some(old) = cat.table(schema, name).cloned() else {
        if missing_ok {
            let mut out = Outcome::tag("ALTER TABLE");
            out.notices.push((
                "NOTICE",
                "00000",
                format!("relation \"{name}\" does not exist, skipping"),
            ));
            return Ok(out);
        }
        return Err(SqlError::new(
            code::UNDEFINED_TABLE,
            format!("relation \"{name}\" does not exist"),
        ));
    };
    engine.locks.acquire(
        ex.txn.id,
        LockTag::Table(old.oid),
        Mode::Exclusive,
        Wait::Block,
        None,
    )?;
    let mut table: Table = (*old).clone();
    // How each old row becomes a new one: per new column, an old position
    // or a default to evaluate.
    enum Source {
        Old(usize),
        Default(Option<String>),
        /// ALTER COLUMN TYPE: the conversion, over an old row, and whether
        /// PostgreSQL rewrites the table for it (see [`keeps_rows`]).
        Convert(crate::sql::plan::Expr, bool),
    }
    let mut sources: Vec<Source> = (0..table.columns.len()).map(Source::Old).collect();
    let mut rekey = false;
    let mut reindex = false;
    let mut new_checks: Vec<(Option<String>, String, Option<String>)> = Vec::new();
    let mut new_uniques = Vec::new();
    let mut new_fks = Vec::new();
    let mut out = Outcome::tag("ALTER TABLE");
    for cmd in cmds {
        match cmd {
            AlterCmd::AddColumn(col) => {
                if table.column_index(&col.name).is_some() {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!(
                            "column \"{}\" of relation \"{name}\" already exists",
                            col.name
                        ),
                    ));
                }
                sources.push(Source::Default(col.default.clone()));
                table.columns.push(col);
            }
            AlterCmd::DropColumn {
                name: col,
                missing_ok,
            } => {
                let Some(i) = table.column_index(&col) else {
                    if missing_ok {
                        continue;
                    }
                    return Err(SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{col}\" of relation \"{name}\" does not exist"),
                    ));
                };
                if let Some(pk) = &table.primary_key {
                    if pk.contains(&i) {
                        return Err(SqlError::unsupported("dropping a primary key column"));
                    }
                }
                crate::keys_ddl::drop_column(ex, &mut cat, &mut table, i, &col)?;
                table.columns.remove(i);
                sources.remove(i);
                if let Some(pk) = &mut table.primary_key {
                    for p in pk.iter_mut() {
                        if *p > i {
                            *p -= 1;
                        }
                    }
                }
            }
            AlterCmd::AlterColumnType {
                name: col,
                ty,
                using,
            } => {
                let Some(i) = table.column_index(&col) else {
                    return Err(SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{col}\" of relation \"{name}\" does not exist"),
                    ));
                };
                let j = match &sources[i] {
                    Source::Old(j) => *j,
                    _ => return Err(SqlError::unsupported(
                        "ALTER COLUMN TYPE of a column added or converted in the same statement",
                    )),
                };
                let in_fk = table.foreign_keys.iter().any(|f| f.columns.contains(&i))
                    || cat
                        .referencing(table.oid)
                        .iter()
                        .any(|(_, f)| f.ref_columns.contains(&i));
                if in_fk {
                    return Err(SqlError::unsupported(
                        "ALTER COLUMN TYPE of a column in a foreign key",
                    ));
                }
                if table.primary_key.as_ref().is_some_and(|pk| pk.contains(&i)) {
                    rekey = true;
                }
                if table.indexes.iter().any(|x| x.columns.contains(&i)) {
                    reindex = true;
                }
                // PostgreSQL's order: the conversion, then the default.
                let from = &old.columns[j];
                if from.identity.is_some() {
                    // PostgreSQL changes the identity sequence's type too.
                    return Err(SqlError::unsupported(
                        "ALTER COLUMN TYPE of an identity column",
                    ));
                }
                let conversion = Binder::new(&cat, Vec::new()).bind_conversion(
                    &old,
                    &from.name,
                    using.as_deref(),
                    ty,
                )?;
                if let Some(d) = &table.columns[i].default {
                    Binder::new(&cat, Vec::new()).check_default_converts(d, from.ty, ty, &col)?;
                }
                let plain = format!("SELECT {}", crate::sql::syscat::quote_ident(&from.name));
                let rewrite = using.as_ref().is_some_and(|u| *u != plain)
                    || !keeps_rows(from.ty, ty)
                    || old_column(&conversion).is_none();
                table.columns[i].ty = ty;
                sources[i] = Source::Convert(conversion, rewrite);
            }
            AlterCmd::AddCheck { name: cname, expr } => new_checks.push((cname, expr, None)),
            AlterCmd::AddUnique(u) => new_uniques.push(u),
            AlterCmd::AddForeignKey(f) => new_fks.push(f),
            AlterCmd::DropConstraint {
                name: cname,
                missing_ok,
            } => crate::keys_ddl::drop_constraint(
                ex, &cat, &mut table, &cname, missing_ok, &mut out,
            )?,
            AlterCmd::RenameColumn { from, to } => {
                if table.checks.iter().any(|c| c.expr.contains(from.as_str())) {
                    return Err(SqlError::unsupported(
                        "renaming a column a CHECK constraint may use",
                    ));
                }
                let i = table.column_index(&from).ok_or_else(|| {
                    SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{from}\" does not exist"),
                    )
                })?;
                if table.column_index(&to).is_some() {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("column \"{to}\" of relation \"{name}\" already exists"),
                    ));
                }
                table.columns[i].name = to;
            }
            AlterCmd::AddPrimaryKey {
                columns,
                name: conname,
            } => {
                if table.primary_key.is_some() {
                    return Err(SqlError::new(
                        code::INVALID_TABLE_DEFINITION,
                        format!("multiple primary keys for table \"{name}\" are not allowed"),
                    ));
                }
                let mut idx = Vec::new();
                for c in &columns {
                    let i = table.column_index(c).ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!("column \"{c}\" of relation \"{name}\" does not exist"),
                        )
                    })?;
                    table.columns[i].not_null = true;
                    idx.push(i);
                }
                table.primary_key = Some(idx);
                table.pkey_name = Some(conname.unwrap_or_else(|| format!("{name}_pkey")));
                rekey = true;
            }
        }
    }
    // CHECK constraints on a dropped column go with it, as in PostgreSQL;
    // the others must still bind over the new columns (ALTER COLUMN TYPE:
    // PostgreSQL re-parses them over the new type, with its errors).
    let mut kept: Vec<crate::catalog::Check> = Vec::with_capacity(table.checks.len());
    for c in &table.checks {
        let probe = Table {
            checks: vec![c.clone()],
            ..table.clone()
        };
        match Binder::new(&cat, Vec::new()).bind_checks(&probe) {
            Ok(_) => kept.push(c.clone()),
            Err(e) if e.code == code::UNDEFINED_COLUMN => {}
            Err(e) => return Err(e),
        }
    }
    table.checks = kept;
    if !new_checks.is_empty() {
        let named = Binder::new(&cat, Vec::new()).name_checks(&table, new_checks)?;
        let probe = Table {
            checks: named.clone(),
            ..table.clone()
        };
        let bound = Binder::new(&cat, Vec::new()).bind_checks(&probe)?;
        ex.snapshot = engine.now();
        for (_, row) in ex.visible_rows(&old)? {
            if rekey || sources.len() != old.columns.len() {
                break; // validated below on the rewritten rows
            }
            for (cname, e) in &bound {
                if ex.eval(e, &row)?.as_bool() == Some(false) {
                    return Err(SqlError::new(
                        "23514",
                        format!("check constraint \"{cname}\" of relation \"{name}\" is violated by some row"),
                    ));
                }
            }
        }
        table.checks.extend(named);
    }
    let rewrite = rekey
        || sources
            .iter()
            .enumerate()
            .any(|(i, s)| !matches!(s, Source::Old(j) if *j == i))
        || sources.len() != old.columns.len();
    if rewrite {
        // Bind the defaults of new columns against the new catalog. As in
        // PostgreSQL, a default that is not volatile is evaluated once, by
        // the ALTER, and every existing row gets that value; a volatile
        // one is evaluated per row (PostgreSQL rewrites the table then).
        let mut defaults = Vec::new();
        let mut volatile = false;
        for (i, s) in sources.iter().enumerate() {
            defaults.push(match s {
                Source::Default(Some(d)) => {
                    let mut b = Binder::new(&cat, Vec::new());
                    let e = b.bind_default(d, table.columns[i].ty, &table.columns[i].name)?;
                    if is_volatile(&e) {
                        volatile = true;
                        Some(Err(e))
                    } else {
                        Some(Ok(ex.eval(&e, &[])?))
                    }
                }
                Source::Convert(_, rewrite) => {
                    volatile |= *rewrite;
                    None
                }
                _ => None,
            });
        }
        // What a snapshot older than this ALTER reads (see Relayout).
        let relayout = if volatile {
            None
        } else {
            let mut cols = Vec::with_capacity(sources.len());
            for (i, s) in sources.iter().enumerate() {
                cols.push(match (s, &defaults[i]) {
                    (Source::Old(j), _) => crate::catalog::FromOld::Column(*j),
                    // A conversion PostgreSQL makes without a rewrite
                    // keeps the stored value (varchar to text, a wider
                    // varchar or numeric): the old column's.
                    (Source::Convert(e, _), _) => crate::catalog::FromOld::Column(
                        old_column(e)
                            .ok_or_else(|| SqlError::internal("ALTER COLUMN TYPE layout"))?,
                    ),
                    (Source::Default(_), Some(Ok(v))) => {
                        let mut b = Vec::new();
                        crate::storage::codec::encode_row(Some(std::slice::from_ref(v)), &mut b)?;
                        crate::catalog::FromOld::Value(b)
                    }
                    (Source::Default(_), _) => crate::catalog::FromOld::Value({
                        let mut b = Vec::new();
                        crate::storage::codec::encode_row(Some(&[Value::Null]), &mut b)?;
                        b
                    }),
                });
            }
            Some(cols)
        };
        table.relayouts.push(crate::catalog::Relayout {
            at: 0,
            columns: relayout,
            rekey,
        });
        // With the exclusive lock held, every committed row is final: read the newest.
        ex.snapshot = engine.now();
        let mut seen = HashSet::new();
        let table_arc = Arc::new(table.clone());
        let all_checks = Binder::new(&cat, Vec::new()).bind_checks(&table_arc)?;
        ex.for_each_visible_page(&old, |ex, page| {
        for (key, row) in page {
            let mut new_row = Vec::with_capacity(sources.len());
            for (i, s) in sources.iter().enumerate() {
                new_row.push(match s {
                    Source::Old(j) => row[*j].clone(),
                    Source::Default(_) => match &defaults[i] {
                        Some(Ok(v)) => v.clone(),
                        Some(Err(e)) => ex.eval(e, &[])?,
                        None => Value::Null,
                    },
                    Source::Convert(e, _) => ex.eval(e, &row)?,
                });
            }
            for (cname, e) in &all_checks {
                if ex.eval(e, &new_row)?.as_bool() == Some(false) {
                    return Err(SqlError::new(
                        "23514",
                        format!("check constraint \"{cname}\" of relation \"{name}\" is violated by some row"),
                    ));
                }
            }
            for (i, c) in table_arc.columns.iter().enumerate() {
                if c.not_null && new_row[i].is_null() {
                    return Err(SqlError::new(
                        code::NOT_NULL_VIOLATION,
                        format!(
                            "column \"{}\" of relation \"{name}\" contains null values",
                            c.name
                        ),
                    ));
                }
            }
            let new_key = match &table_arc.primary_key {
                Some(pk) if rekey => {
                    let k = keys::row_key(&new_row, pk);
                    if !seen.insert(k.clone()) {
                        let cols: Vec<&str> = pk
                            .iter()
                            .map(|c| table_arc.columns[*c].name.as_str())
                            .collect();
                        let vals: Vec<String> = pk
                            .iter()
                            .map(|c| format_value(&new_row[*c], table_arc.columns[*c].ty))
                            .collect();
                        return Err(SqlError::new(
                            code::UNIQUE_VIOLATION,
                            format!(
                                "could not create unique index \"{}\"",
                                table_arc.pkey_name.clone().unwrap_or_default()
                            ),
                        )
                        .with_detail(format!(
                            "Key ({})=({}) is duplicated.",
                            cols.join(", "),
                            vals.join(", ")
                        )));
                    }
                    k
                }
                _ => key.clone(),
            };
            if new_key != key {
                ex.txn.writes.insert(old.oid, key, None)?;
            }
            ex.txn
                .writes
                .insert(old.oid, new_key, Some(Arc::from(new_row)))?;
        }
        Ok(())
        })?;
    }
    if rekey || reindex {
        crate::keys_ddl::rebuild_indexes(ex, &table)?;
    }
    for u in new_uniques {
        crate::keys_ddl::add_unique(ex, &mut cat, &mut table, u)?;
    }
    for f in new_fks {
        crate::keys_ddl::add_foreign_key(ex, &cat, &mut table, f)?;
    }
    cat.tables
        .insert((schema.to_string(), name.to_string()), Arc::new(table));
    ex.txn.catalog = Some(Arc::new(cat));
    Ok(out)
}

/// The old row's column a conversion reads unchanged (a column, or a
/// cast of one), if it is one.
fn old_column(e: &crate::sql::plan::Expr) -> Option<usize> {
    use crate::sql::plan::ExprKind;
    match &e.kind {
        ExprKind::Column(j) => Some(*j),
        ExprKind::Cast(inner, _) => old_column(inner),
        _ => None,
    }
}

/// Whether PostgreSQL changes a column's type from `from` to `to` without
/// rewriting the table (ATColumnChangeRequiresRewrite: a binary-coercible
/// conversion, or a length/precision coercion its support functions drop
/// because every old value fits): then an older snapshot still sees the
/// rows, else it sees the table empty.
fn keeps_rows(from: ColType, to: ColType) -> bool {
    use crate::types::Type as T;
    let (a, b) = (from.typmod, to.typmod);
    match (from.ty, to.ty) {
        (x, y) if x == y && a == b => true,
        (T::Varchar, T::Varchar) => b < 0 || (a >= 0 && b >= a),
        (T::Varchar, T::Text) => true,
        (T::Text, T::Varchar) => b < 0,
        // numeric(p,s): ((p << 16) | s) + 4; the same scale, no fewer digits.
        (T::Numeric, T::Numeric) => {
            b < 0
                || (a >= 0
                    && ((a - 4) & 0xffff) == ((b - 4) & 0xffff)
                    && (b - 4) >> 16 >= (a - 4) >> 16)
        }
        (T::Timestamp, T::Timestamp) | (T::Timestamptz, T::Timestamptz) => {
            !(0..6).contains(&b) || (a >= 0 && a <= b)
        }
        _ => false,
    }
}

/// Whether a bound expression calls a volatile function (random(),
/// nextval(), clock_timestamp(), ...): an added column's default that does
/// makes PostgreSQL rewrite the table instead of storing the value once.
pub(crate) fn is_volatile(e: &crate::sql::plan::Expr) -> bool {
    use crate::sql::plan::{ExprKind, Func};
    const VOLATILE: [Func; 11] = [
        Func::Random,
        Func::Nextval,
        Func::Setval,
        Func::ClockTimestamp,
        Func::PgSleep,
        Func::PgNotify,
        Func::AdvisoryLock,
        Func::AdvisoryTryLock,
        Func::AdvisoryUnlock,
        Func::SetConfig,
        Func::TerminateBackend,
    ];
    let mut volatile = false;
    crate::sql::bind::visit(e, &mut |x| {
        if matches!(&x.kind, ExprKind::Func(f, _) if VOLATILE.contains(f) || matches!(f, Func::Lib(l) if l.is_volatile()))
        {
            volatile = true;
        }
    });
    volatile
}
