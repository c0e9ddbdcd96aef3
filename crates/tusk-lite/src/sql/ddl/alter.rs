//! Binding ALTER TABLE (ADD/DROP/RENAME COLUMN, ADD/DROP CONSTRAINT) and
//! ALTER TABLE ... RENAME COLUMN.

use super::*;

impl Binder<'_> {
    pub fn bind_alter_table(&mut self, s: &pb::AlterTableStmt) -> Result<Statement> {
        if s.objtype != pb::ObjectType::ObjectTable as i32 {
            return Err(SqlError::unsupported("ALTER of this object type"));
        }
        let rel = s
            .relation
            .as_ref()
            .ok_or_else(|| SqlError::internal("ALTER TABLE without table"))?;
        let schema = if rel.schemaname.is_empty() {
            "public".to_string()
        } else {
            rel.schemaname.clone()
        };
        let mut cmds = Vec::new();
        for c in &s.cmds {
            let Some(N::AlterTableCmd(cmd)) = &c.node else {
                continue;
            };
            use pb::AlterTableType as A;
            match A::try_from(cmd.subtype) {
                Ok(A::AtAddColumn) => {
                    let Some(N::ColumnDef(cd)) = cmd.def.as_deref().and_then(|d| d.node.as_ref())
                    else {
                        return Err(SqlError::internal("ADD COLUMN without definition"));
                    };
                    if cmd.missing_ok {
                        return Err(SqlError::unsupported("ADD COLUMN IF NOT EXISTS"));
                    }
                    let mut pk = None;
                    let mut col_checks = Vec::new();
                    let mut keys = ColumnKeys::default();
                    let col = self.column_def(cd, &mut pk, &mut col_checks, &mut keys)?;
                    if pk.is_some() || !keys.0.is_empty() || !keys.1.is_empty() {
                        return Err(SqlError::unsupported(
                            "ADD COLUMN ... PRIMARY KEY, UNIQUE or REFERENCES",
                        ));
                    }
                    if !col_checks.is_empty() {
                        return Err(SqlError::unsupported("ADD COLUMN ... CHECK"));
                    }
                    if col.identity.is_some() {
                        return Err(SqlError::unsupported(
                            "ADD COLUMN ... GENERATED AS IDENTITY",
                        ));
                    }
                    cmds.push(AlterCmd::AddColumn(col));
                }
                Ok(A::AtDropColumn) => {
                    if cmd.behavior == pb::DropBehavior::DropCascade as i32 {
                        return Err(SqlError::unsupported("DROP COLUMN ... CASCADE"));
                    }
                    cmds.push(AlterCmd::DropColumn {
                        name: cmd.name.clone(),
                        missing_ok: cmd.missing_ok,
                    });
                }
                Ok(A::AtAddConstraint) => {
                    let Some(N::Constraint(con)) = cmd.def.as_deref().and_then(|d| d.node.as_ref())
                    else {
                        return Err(SqlError::internal("ADD CONSTRAINT without constraint"));
                    };
                    match pb::ConstrType::try_from(con.contype) {
                        Ok(pb::ConstrType::ConstrPrimary) => {
                            if !con.indexname.is_empty() {
                                return Err(SqlError::unsupported("ADD PRIMARY KEY USING INDEX"));
                            }
                            crate::sql::constraints::key_options(con, "PRIMARY KEY")?;
                            cmds.push(AlterCmd::AddPrimaryKey {
                                columns: names(&con.keys),
                                name: (!con.conname.is_empty()).then(|| con.conname.clone()),
                            });
                        }
                        Ok(pb::ConstrType::ConstrUnique) => cmds.push(AlterCmd::AddUnique(
                            crate::sql::constraints::raw_unique(con, None)?,
                        )),
                        Ok(pb::ConstrType::ConstrCheck) => {
                            crate::sql::constraints::check_options(con, true)?;
                            let e = con
                                .raw_expr
                                .as_deref()
                                .ok_or_else(|| SqlError::internal("CHECK"))?;
                            cmds.push(AlterCmd::AddCheck {
                                name: (!con.conname.is_empty()).then(|| con.conname.clone()),
                                expr: expr_sql(e)?,
                            });
                        }
                        Ok(pb::ConstrType::ConstrForeign) if con.skip_validation => {
                            // PostgreSQL would skip checking the existing rows.
                            return Err(SqlError::unsupported("NOT VALID constraints"));
                        }
                        Ok(pb::ConstrType::ConstrForeign) => cmds.push(AlterCmd::AddForeignKey(
                            crate::sql::constraints::raw_fk(con, None)?,
                        )),
                        Ok(pb::ConstrType::ConstrExclusion) => {
                            return Err(SqlError::unsupported("EXCLUDE constraints"))
                        }
                        _ => return Err(SqlError::unsupported("this constraint")),
                    }
                }
                Ok(A::AtAlterColumnType) => {
                    let Some(N::ColumnDef(cd)) = cmd.def.as_deref().and_then(|d| d.node.as_ref())
                    else {
                        return Err(SqlError::internal("ALTER COLUMN TYPE without a type"));
                    };
                    let tn = cd
                        .type_name
                        .as_ref()
                        .ok_or_else(|| SqlError::internal("ALTER COLUMN TYPE without a type"))?;
                    if cd.coll_clause.is_some() {
                        return Err(SqlError::unsupported("ALTER COLUMN TYPE ... COLLATE"));
                    }
                    let using = match cd.raw_default.as_deref() {
                        Some(e) => Some(expr_sql(e)?),
                        None => None,
                    };
                    // serial is CREATE TABLE's shorthand, not a type.
                    let tyname = names(&tn.names).last().cloned().unwrap_or_default();
                    if matches!(
                        tyname.as_str(),
                        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
                    ) {
                        return Err(SqlError::new(
                            code::UNDEFINED_OBJECT,
                            format!("type \"{tyname}\" does not exist"),
                        ));
                    }
                    cmds.push(AlterCmd::AlterColumnType {
                        name: cmd.name.clone(),
                        ty: resolve_type(self.catalog, tn)?,
                        using,
                    });
                }
                Ok(A::AtDropConstraint) => {
                    if cmd.behavior == pb::DropBehavior::DropCascade as i32 {
                        return Err(SqlError::unsupported("DROP CONSTRAINT ... CASCADE"));
                    }
                    cmds.push(AlterCmd::DropConstraint {
                        name: cmd.name.clone(),
                        missing_ok: cmd.missing_ok,
                    });
                }
                Ok(other) => {
                    let n = format!("{other:?}");
                    return Err(SqlError::unsupported(format!(
                        "ALTER TABLE {}",
                        n.trim_start_matches("At")
                    )));
                }
                Err(_) => return Err(SqlError::unsupported("this ALTER TABLE command")),
            }
        }
        Ok(Statement::AlterTable {
            schema,
            name: rel.relname.clone(),
            missing_ok: s.missing_ok,
            cmds,
        })
    }

    pub fn bind_rename(&mut self, s: &pb::RenameStmt) -> Result<Statement> {
        if s.rename_type != pb::ObjectType::ObjectColumn as i32 {
            return Err(SqlError::unsupported("ALTER ... RENAME of this object"));
        }
        let rel = s
            .relation
            .as_ref()
            .ok_or_else(|| SqlError::internal("RENAME without table"))?;
        let schema = if rel.schemaname.is_empty() {
            "public".to_string()
        } else {
            rel.schemaname.clone()
        };
        Ok(Statement::AlterTable {
            schema,
            name: rel.relname.clone(),
            missing_ok: s.missing_ok,
            cmds: vec![AlterCmd::RenameColumn {
                from: s.subname.clone(),
                to: s.newname.clone(),
            }],
        })
    }
}
