//! Running bound statements inside the session's transaction: queries,
//! DML, DDL, TRUNCATE and COPY.

use super::*;

impl Session {
    /// Runs a query or DML statement from its plan (which may be a cached
    /// one, so it is borrowed); None for other statements.
    pub(super) fn execute_plan(
        &mut self,
        stmt: &Statement,
        params: &[Value],
    ) -> Option<Result<Outcome>> {
        if !matches!(
            stmt,
            Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_)
        ) {
            return None;
        }
        let engine = self.engine.clone();
        self.ensure_txn();
        let Session { txn, info, .. } = self;
        let txn = txn.as_mut().expect("transaction just started");
        let snapshot = engine.statement_snapshot(txn);
        let mut ex = Exec {
            engine: &engine,
            txn,
            snapshot,
            params,
            outer: Vec::new(),
            session: info,
            ri: Default::default(),
        };
        Some(match stmt {
            Statement::Query(q) => ex.run(&q.plan).map(|rows| Outcome {
                tag: format!("SELECT {}", rows.len()),
                columns: Some(q.columns.clone()),
                rows,
                ..Outcome::default()
            }),
            Statement::Insert(i) => ex.insert(i).map(|(n, rows)| {
                written(
                    format!("INSERT 0 {n}"),
                    rows,
                    i.returning.as_ref().map(|_| &i.returning_cols),
                )
            }),
            Statement::Update(u) => ex.update(u).map(|(n, rows)| {
                written(
                    format!("UPDATE {n}"),
                    rows,
                    u.returning.as_ref().map(|_| &u.returning_cols),
                )
            }),
            Statement::Delete(d) => ex.delete(d).map(|(n, rows)| {
                written(
                    format!("DELETE {n}"),
                    rows,
                    d.returning.as_ref().map(|_| &d.returning_cols),
                )
            }),
            _ => return None,
        })
    }

    pub(super) fn execute_in_txn(&mut self, stmt: Statement, params: &[Value]) -> Result<Outcome> {
        let engine = self.engine.clone();
        let info = self.info.clone();
        let txn = self.ensure_txn();
        let snapshot = engine.statement_snapshot(txn);
        let mut ex = Exec {
            engine: &engine,
            txn,
            snapshot,
            params,
            outer: Vec::new(),
            session: &info,
            ri: Default::default(),
        };
        match stmt {
            Statement::CreateTable(ct) => crate::ddl::create_table(&engine, ex.txn, ct),
            Statement::DropTable {
                names,
                if_exists,
                cascade,
            } => crate::ddl::drop_tables(&engine, ex.txn, names, if_exists, cascade),
            Statement::CreateIndex(ci) => crate::keys_ddl::create_index(&mut ex, ci),
            Statement::DropIndex { names, if_exists } => {
                crate::keys_ddl::drop_indexes(&mut ex, names, if_exists)
            }
            Statement::Truncate(names) => {
                let cat = engine.catalog_for(ex.txn);
                let mut tables = Vec::new();
                for (s, n) in &names {
                    let t = cat.table(s, n).cloned().ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_TABLE,
                            format!("relation \"{n}\" does not exist"),
                        )
                    })?;
                    tables.push(t);
                }
                if ex.txn.read_only {
                    return Err(SqlError::new(
                        code::READ_ONLY_SQL_TRANSACTION,
                        "cannot execute TRUNCATE TABLE in a read-only transaction",
                    ));
                }
                crate::keys_ddl::check_truncate(&cat, &tables)?;
                // The catalog records the truncation (below): its lock
                // first, as every DDL takes it before its tables' locks.
                engine.locks.acquire(
                    ex.txn.id,
                    LockTag::Catalog,
                    Mode::Exclusive,
                    Wait::Block,
                    None,
                )?;
                for t in tables {
                    engine.locks.acquire(
                        ex.txn.id,
                        LockTag::Table(t.oid),
                        Mode::Exclusive,
                        Wait::Block,
                        None,
                    )?;
                    // With the exclusive lock no one else writes the table:
                    // delete every row this transaction can see, and the
                    // newest committed ones.
                    let snap = engine.now();
                    ex.snapshot = snap;
                    for (k, _) in ex.visible_rows(&t)? {
                        ex.txn.writes.insert(t.oid, k, None)?;
                    }
                    crate::keys_ddl::truncate_indexes(&mut ex, &t)?;
                }
                // As in PostgreSQL, a snapshot older than the TRUNCATE sees
                // the table empty (see catalog::Relayout).
                let mut cat = (*engine.catalog_for(ex.txn)).clone();
                for (s, n) in &names {
                    if let Some(t) = cat.tables.get_mut(&(s.clone(), n.clone())) {
                        let pending = t
                            .relayouts
                            .last()
                            .is_some_and(|r| r.at == 0 && r.columns.is_none());
                        if !pending {
                            Arc::make_mut(t).relayouts.push(crate::catalog::Relayout {
                                at: 0,
                                columns: None,
                                rekey: false,
                            });
                        }
                    }
                }
                ex.txn.catalog = Some(Arc::new(cat));
                Ok(Outcome::tag("TRUNCATE TABLE"))
            }
            Statement::CreateSequence { seq, if_not_exists } => {
                crate::ddl::create_sequence(&engine, ex.txn, seq, if_not_exists)
            }
            Statement::DropSequence { names, if_exists } => {
                crate::ddl::drop_sequences(&engine, ex.txn, names, if_exists)
            }
            Statement::CreateEnum {
                schema,
                name,
                labels,
            } => crate::enum_ddl::create_enum(&engine, ex.txn, schema, name, labels),
            Statement::AlterEnumAdd(add) => crate::enum_ddl::add_value(&engine, ex.txn, add),
            Statement::DropType {
                names,
                if_exists,
                cascade,
            } => crate::enum_ddl::drop_types(&engine, ex.txn, names, if_exists, cascade),
            Statement::Copy(c) => {
                if c.from {
                    if ex.txn.read_only {
                        return Err(SqlError::new(
                            code::READ_ONLY_SQL_TRANSACTION,
                            "cannot execute COPY FROM in a read-only transaction",
                        ));
                    }
                    return Ok(Outcome {
                        copy_in: Some(c),
                        tag: "COPY".into(),
                        ..Outcome::default()
                    });
                }
                let rows = ex.visible_rows(&c.table)?;
                let mut data = String::new();
                if c.format.header {
                    let names: Vec<Option<String>> = c
                        .columns
                        .iter()
                        .map(|&i| Some(c.table.columns[i].name.clone()))
                        .collect();
                    crate::copy::format_row(&names, &c.format, &mut data);
                }
                for (_, r) in &rows {
                    let fields: Vec<Option<String>> = c
                        .columns
                        .iter()
                        .map(|&i| {
                            let v = &r[i];
                            (!v.is_null())
                                .then(|| crate::types::format_text(v, c.table.columns[i].ty.ty))
                        })
                        .collect();
                    crate::copy::format_row(&fields, &c.format, &mut data);
                }
                Ok(Outcome {
                    copy_out: Some((c.columns.len(), data)),
                    tag: format!("COPY {}", rows.len()),
                    ..Outcome::default()
                })
            }
            Statement::CopyQuery(c) => {
                let rows = ex.run(&c.query.plan)?;
                let cols = &c.query.columns;
                let mut data = String::new();
                if c.format.header {
                    let names: Vec<Option<String>> =
                        cols.iter().map(|c| Some(c.name.clone())).collect();
                    crate::copy::format_row(&names, &c.format, &mut data);
                }
                for r in &rows {
                    let fields: Vec<Option<String>> = r
                        .iter()
                        .zip(cols)
                        .map(|(v, col)| {
                            (!v.is_null()).then(|| crate::types::format_text(v, col.ty.ty))
                        })
                        .collect();
                    crate::copy::format_row(&fields, &c.format, &mut data);
                }
                Ok(Outcome {
                    copy_out: Some((cols.len(), data)),
                    tag: format!("COPY {}", rows.len()),
                    ..Outcome::default()
                })
            }
            Statement::AlterTable {
                schema,
                name,
                missing_ok,
                cmds,
            } => crate::ddl::alter_table(&mut ex, &schema, &name, missing_ok, cmds),
            _ => Err(SqlError::internal("statement routed wrongly")),
        }
    }

    /// Inserts the rows of a piece of COPY ... FROM STDIN data: whole
    /// lines in text format, all of it in CSV (see
    /// [`crate::copy::splits_at_newlines`]). The rows go into the
    /// transaction as they come, so a large COPY is never all in memory.
    pub fn copy_chunk(
        &mut self,
        c: &crate::sql::statement::Copy,
        progress: &mut CopyProgress,
        data: &str,
    ) -> Result<()> {
        use crate::sql::plan::{Expr, ExprKind, Insert, Plan};
        if progress.ended {
            return Ok(());
        }
        let (mut rows, ended) = crate::copy::parse(data, &c.format)?;
        progress.ended = ended;
        if c.format.header && !progress.header_skipped && !rows.is_empty() {
            rows.remove(0);
            progress.header_skipped = true;
            progress.lines += 1; // PostgreSQL counts the header as line 1
        }
        if rows.is_empty() {
            return Ok(());
        }
        let first_line = progress.lines;
        progress.lines += rows.len();
        let engine = self.engine.clone();
        let info = self.info.clone();
        let catalog = match &self.txn {
            Some(t) => engine.catalog_for(t),
            None => engine.published_catalog(),
        };
        let table = &c.table;
        let mut defaults = Vec::with_capacity(table.columns.len());
        let checks;
        {
            let mut b = Binder::new(&catalog, Vec::new());
            checks = b.bind_checks(table)?;
            for col in &table.columns {
                defaults.push(match &col.default {
                    Some(d) => Some(b.bind_default(d, col.ty, &col.name)?),
                    None => None,
                });
            }
        }
        let mut values = Vec::with_capacity(rows.len());
        for (line, fields) in rows.into_iter().enumerate() {
            if fields.len() < c.columns.len() {
                let missing = &table.columns[c.columns[fields.len()]].name;
                return Err(SqlError::new(
                    "22P04",
                    format!("missing data for column \"{missing}\""),
                )
                .with_context(format!(
                    "COPY {}, line {}",
                    table.name,
                    first_line + line + 1
                )));
            }
            if fields.len() > c.columns.len() {
                return Err(
                    SqlError::new("22P04", "extra data after last expected column").with_context(
                        format!("COPY {}, line {}", table.name, first_line + line + 1),
                    ),
                );
            }
            let mut row = Vec::with_capacity(fields.len());
            for (f, &ci) in fields.into_iter().zip(&c.columns) {
                let ty = table.columns[ci].ty;
                let v = match f {
                    None => Value::Null,
                    // PostgreSQL's CONTEXT names the line, the column and
                    // the value (drivers read the line from it).
                    Some(s) => catalog.parse_text(&s, ty).map_err(|e| {
                        e.with_context(format!(
                            "COPY {}, line {}, column {}: \"{s}\"",
                            table.name,
                            first_line + line + 1,
                            table.columns[ci].name
                        ))
                    })?,
                };
                row.push(Expr::new(ExprKind::Const(v), ty));
            }
            values.push(row);
        }
        let ins = Insert {
            table: table.clone(),
            targets: c.columns.clone(),
            source: Plan::Values(values),
            defaults,
            on_conflict_nothing: false,
            upsert: None,
            arbiter: crate::sql::plan::Arbiter::Any,
            checks,
            returning: None,
            returning_cols: Vec::new(),
        };
        let txn = self.ensure_txn();
        let snapshot = engine.statement_snapshot(txn);
        let mut ex = Exec {
            engine: &engine,
            txn,
            snapshot,
            params: &[],
            outer: Vec::new(),
            session: &info,
            ri: Default::default(),
        };
        let (n, _) = ex.insert(&ins)?;
        progress.rows += n;
        Ok(())
    }
}

/// How far a COPY ... FROM STDIN has got.
#[derive(Debug, Default)]
pub struct CopyProgress {
    rows: u64,
    lines: usize,
    header_skipped: bool,
    /// The end marker came: later data is ignored.
    ended: bool,
}

impl CopyProgress {
    /// The command's outcome once the data has ended.
    pub fn outcome(&self) -> Outcome {
        Outcome::tag(format!("COPY {}", self.rows))
    }
}

/// The outcome of an INSERT, UPDATE or DELETE: its tag, and the rows and
/// columns of its RETURNING list when it has one.
fn written(tag: String, rows: Rows, returning: Option<&Vec<OutColumn>>) -> Outcome {
    Outcome {
        columns: returning.cloned(),
        rows,
        tag,
        ..Outcome::default()
    }
}
