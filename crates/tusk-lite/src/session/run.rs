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
        let late = self.rows_before_errors;
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
            initplans: Default::default(),
        };
        Some(match stmt {
            Statement::Query(q) if late => {
                let (rows, late_error) = ex.run_upto(&q.plan, None);
                Ok(Outcome {
                    tag: format!("SELECT {}", rows.len()),
                    columns: Some(q.columns.clone()),
                    rows,
                    late_error,
                    ..Outcome::default()
                })
            }
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
            initplans: Default::default(),
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
                let names: Vec<String> = c
                    .columns
                    .iter()
                    .map(|&i| c.table.columns[i].name.clone())
                    .collect();
                let types: Vec<ColType> =
                    c.columns.iter().map(|&i| c.table.columns[i].ty).collect();
                let out = copy_out(
                    &c.format,
                    &names,
                    &types,
                    rows.iter().map(|(_, r)| c.columns.iter().map(|&i| &r[i])),
                )?;
                Ok(Outcome {
                    copy_out: Some(out),
                    tag: format!("COPY {}", rows.len()),
                    ..Outcome::default()
                })
            }
            Statement::CopyQuery(c) => {
                let rows = ex.run(&c.query.plan)?;
                let cols = &c.query.columns;
                let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
                let types: Vec<ColType> = cols.iter().map(|c| c.ty).collect();
                let out = copy_out(&c.format, &names, &types, rows.iter().map(|r| r.iter()))?;
                Ok(Outcome {
                    copy_out: Some(out),
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
        self.copy_rows(
            c,
            progress,
            rows,
            |cat: &crate::catalog::Catalog, s: &String, ty| cat.parse_text(s, ty),
            |s| Some(s.as_str()),
        )
    }

    /// Inserts the whole rows at the start of a piece of binary COPY data
    /// and returns the bytes they took (the rest waits for the next
    /// piece). `last`: the data has ended.
    pub fn copy_binary_chunk(
        &mut self,
        c: &crate::sql::statement::Copy,
        progress: &mut CopyProgress,
        data: &[u8],
        last: bool,
    ) -> Result<usize> {
        let parsed = progress.binary.parse(data, c.columns.len(), last);
        let (rows, used) = parsed.map_err(|e| {
            let r = &progress.binary;
            let column = r
                .error_field()
                .and_then(|k| c.columns.get(k))
                .map(|&i| format!(", column {}", c.table.columns[i].name))
                .unwrap_or_default();
            match r.error_line() {
                Some(line) => e.with_context(format!("COPY {}, line {line}{column}", c.table.name)),
                None => e,
            }
        })?;
        self.copy_rows(
            c,
            progress,
            rows,
            |cat: &crate::catalog::Catalog, b: &Vec<u8>, ty| {
                crate::copy::binary::check_field(b, ty.ty)?;
                cat.decode_binary(b, ty).map_err(|e| {
                    if e.code == code::INVALID_BINARY_REPRESENTATION {
                        SqlError::new(e.code, "incorrect binary data format")
                    } else {
                        e
                    }
                })
            },
            |_| None,
        )?;
        Ok(used)
    }

    /// Inserts rows of COPY fields, each converted by `convert`.
    /// (`shown`: the field as an error's CONTEXT quotes it, if it does.)
    fn copy_rows<F>(
        &mut self,
        c: &crate::sql::statement::Copy,
        progress: &mut CopyProgress,
        rows: Vec<Vec<Option<F>>>,
        convert: impl Fn(&crate::catalog::Catalog, &F, crate::types::ColType) -> Result<Value>,
        shown: impl Fn(&F) -> Option<&str>,
    ) -> Result<()> {
        use crate::sql::plan::{Expr, ExprKind, Insert, Plan};
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
                    Some(s) => convert(&catalog, &s, ty).map_err(|e| {
                        let at = format!(
                            "COPY {}, line {}, column {}",
                            table.name,
                            first_line + line + 1,
                            table.columns[ci].name
                        );
                        e.with_context(match shown(&s) {
                            None => at,
                            Some(s) => format!("{at}: \"{s}\""),
                        })
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
            initplans: Default::default(),
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
    binary: crate::copy::binary::Reader,
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

/// COPY ... TO STDOUT's data: one CopyData message per row, as PostgreSQL
/// sends them (the binary header rides with the first row, the trailer
/// alone).
fn copy_out<'a, R: Iterator<Item = &'a Value>>(
    format: &crate::copy::CopyFormat,
    names: &[String],
    types: &[ColType],
    rows: impl Iterator<Item = R>,
) -> Result<CopyOut> {
    let mut ends = Vec::new();
    if format.binary {
        let mut data = bytes::BytesMut::new();
        crate::copy::binary::write_header(&mut data);
        for r in rows {
            crate::copy::binary::write_row(r.zip(types.iter().copied()), types.len(), &mut data)?;
            ends.push(data.len());
        }
        crate::copy::binary::write_trailer(&mut data);
        ends.push(data.len());
        return Ok(CopyOut {
            columns: types.len(),
            binary: true,
            data: data.to_vec(),
            ends,
        });
    }
    let mut data = String::new();
    if format.header {
        let names: Vec<Option<String>> = names.iter().map(|n| Some(n.clone())).collect();
        crate::copy::format_row(&names, format, &mut data);
        ends.push(data.len());
    }
    for r in rows {
        let fields: Vec<Option<String>> = r
            .zip(types)
            .map(|(v, ty)| (!v.is_null()).then(|| crate::types::format_value(v, *ty)))
            .collect();
        crate::copy::format_row(&fields, format, &mut data);
        ends.push(data.len());
    }
    Ok(CopyOut {
        columns: types.len(),
        binary: false,
        data: data.into_bytes(),
        ends,
    })
}
