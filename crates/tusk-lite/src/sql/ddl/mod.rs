//! CREATE TABLE binding, and column DEFAULT expressions stored as SQL.

mod alter;
mod copy;
mod enums;
mod sequence;

use pg_query::protobuf::{self as pb, node::Node as N};

use super::bind::{bool_literal, names, resolve_type, Binder};
use super::plan::Expr;
use super::plan::ExprKind;
use super::statement::{AlterCmd, Copy, CreateTable, RawFk, RawUnique, Statement};
use crate::catalog::Column;
use crate::catalog::{Check, Table};
use crate::copy::CopyFormat;
use crate::error::{code, Result, SqlError};
use crate::types::ColType;

/// A type as PostgreSQL's messages name it (format_type_be, or
/// format_type_with_typemod when `typmod`).
fn type_name(ty: ColType, typmod: bool) -> String {
    let m = if typmod { i64::from(ty.typmod) } else { -1 };
    crate::sql::syscat::format_type(i64::from(ty.type_oid()), m)
        .unwrap_or_else(|| ty.ty.name().to_string())
}

/// A column's UNIQUE and REFERENCES constraints.
type ColumnKeys = (Vec<RawUnique>, Vec<RawFk>);

/// `SELECT <expr>` as SQL text, for storing a DEFAULT in the catalog.
fn expr_sql(expr: &pb::Node) -> Result<String> {
    let mut pr = pg_query::parse("SELECT 1", 0)
        .map_err(|e| SqlError::internal(e.to_string()))?
        .protobuf;
    let target = pb::Node {
        node: Some(N::ResTarget(Box::new(pb::ResTarget {
            name: String::new(),
            indirection: Vec::new(),
            val: Some(Box::new(expr.clone())),
            location: 0,
        }))),
    };
    if let Some(Some(N::SelectStmt(s))) = pr
        .stmts
        .first_mut()
        .and_then(|r| r.stmt.as_mut())
        .map(|n| n.node.as_mut())
    {
        s.target_list = vec![target];
    }
    pg_query::deparse(&pr, Default::default()).map_err(|e| SqlError::internal(e.to_string()))
}

impl Binder<'_> {
    /// Binds a stored DEFAULT (`SELECT <expr>`) as a value for a column of `ty`.
    pub fn bind_default(&mut self, sql: &str, ty: ColType, column: &str) -> Result<Expr> {
        let parsed = pg_query::parse(sql, 0).map_err(|e| SqlError::internal(e.to_string()))?;
        let node = parsed
            .protobuf
            .stmts
            .first()
            .and_then(|r| r.stmt.as_deref())
            .and_then(|n| match &n.node {
                Some(N::SelectStmt(s)) => s.target_list.first().cloned(),
                _ => None,
            })
            .and_then(|t| match t.node {
                Some(N::ResTarget(rt)) => rt.val.map(|v| *v),
                _ => None,
            })
            .ok_or_else(|| SqlError::internal("bad stored default"))?;
        let e = self.bind_expr(&node)?;
        self.assign(e, ty, column)
    }

    /// A column definition (type, NOT NULL, DEFAULT) as CREATE TABLE and
    /// ALTER TABLE ADD COLUMN give it.
    fn column_def(
        &mut self,
        cd: &pb::ColumnDef,
        pk: &mut Option<(Vec<String>, Option<String>)>,
        checks: &mut Vec<(Option<String>, String)>,
        keys: &mut ColumnKeys,
    ) -> Result<Column> {
        let ty = resolve_type(
            self.catalog,
            cd.type_name
                .as_ref()
                .ok_or_else(|| SqlError::internal("column without type"))?,
        )?;
        if cd.coll_clause.is_some() {
            return Err(SqlError::unsupported("COLLATE"));
        }
        // Column STORAGE is PostgreSQL 16's grammar (the parser is newer).
        if !cd.storage_name.is_empty() || !cd.storage.is_empty() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "syntax error at or near \"STORAGE\"",
            ));
        }
        if !cd.compression.is_empty() {
            return Err(SqlError::unsupported("column COMPRESSION"));
        }
        let mut col = Column {
            name: cd.colname.clone(),
            ty,
            not_null: cd.is_not_null,
            default: None,
            identity: None,
        };
        if let Some(d) = cd.raw_default.as_deref() {
            col.default = Some(expr_sql(d)?);
        }
        for c in &cd.constraints {
            let Some(N::Constraint(con)) = &c.node else {
                continue;
            };
            use pb::ConstrType as C;
            match C::try_from(con.contype) {
                Ok(C::ConstrNotnull) => col.not_null = true,
                Ok(C::ConstrNull) => {}
                Ok(C::ConstrDefault) => {
                    let d = con
                        .raw_expr
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("DEFAULT"))?;
                    col.default = Some(expr_sql(d)?);
                }
                Ok(C::ConstrPrimary) => {
                    super::constraints::key_options(con, "PRIMARY KEY")?;
                    if pk.is_some() {
                        return Err(SqlError::new(
                            code::INVALID_TABLE_DEFINITION,
                            "multiple primary keys for table are not allowed",
                        ));
                    }
                    let name = (!con.conname.is_empty()).then(|| con.conname.clone());
                    *pk = Some((vec![cd.colname.clone()], name));
                }
                Ok(C::ConstrUnique) => keys
                    .0
                    .push(super::constraints::raw_unique(con, Some(&cd.colname))?),
                Ok(C::ConstrCheck) => {
                    super::constraints::check_options(con, false)?;
                    let e = con
                        .raw_expr
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("CHECK"))?;
                    checks.push((
                        (!con.conname.is_empty()).then(|| con.conname.clone()),
                        expr_sql(e)?,
                    ));
                }
                Ok(C::ConstrForeign) => keys
                    .1
                    .push(super::constraints::raw_fk(con, Some(&cd.colname))?),
                Ok(C::ConstrIdentity) => {
                    col.identity = Some(if con.generated_when == "a" {
                        crate::catalog::Identity::Always
                    } else {
                        crate::catalog::Identity::ByDefault
                    });
                }
                Ok(C::ConstrGenerated) => return Err(SqlError::unsupported("generated columns")),
                // The defaults, as PostgreSQL has them.
                Ok(C::ConstrAttrNotDeferrable | C::ConstrAttrImmediate) => {}
                Ok(C::ConstrAttrDeferrable | C::ConstrAttrDeferred) => {
                    return Err(SqlError::unsupported("DEFERRABLE constraints"))
                }
                _ => return Err(SqlError::unsupported("this column constraint")),
            }
        }
        if let Some(d) = &col.default {
            let mut b = Binder::new(self.catalog, Vec::new());
            b.bind_default(d, col.ty, &col.name)?;
        }
        Ok(col)
    }

    /// ALTER COLUMN TYPE's conversion of column `column` of `table`'s
    /// rows to `to`: the USING expression (`SELECT <expr>`), else the column
    /// itself, by an assignment cast, with PostgreSQL's errors.
    pub fn bind_conversion(
        &mut self,
        table: &Table,
        column: &str,
        using: Option<&str>,
        to: ColType,
    ) -> Result<Expr> {
        let sql = match using {
            Some(u) => u.to_string(),
            None => format!("SELECT {}", crate::sql::syscat::quote_ident(column)),
        };
        let e = self.bind_row_expr(table, &sql, false)?;
        self.coerce(e, to, true).map_err(|err| {
            if err.code != code::DATATYPE_MISMATCH {
                return err; // e.g. USING 'x' for an integer: 22P02
            }
            let target = type_name(to, false);
            match using {
                Some(_) => SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "result of USING clause for column \"{column}\" cannot be cast automatically to type {target}"
                    ),
                )
                .with_hint("You might need to add an explicit cast."),
                None => SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("column \"{column}\" cannot be cast automatically to type {target}"),
                )
                .with_hint(format!(
                    "You might need to specify \"USING {}::{}\".",
                    crate::sql::syscat::quote_ident(column),
                    type_name(to, true)
                )),
            }
        })
    }

    /// ALTER COLUMN TYPE of a column with a DEFAULT: PostgreSQL keeps the
    /// default only if its value (typed as the old column) converts to the
    /// new type by an assignment cast.
    pub fn check_default_converts(
        &mut self,
        default: &str,
        from: ColType,
        to: ColType,
        column: &str,
    ) -> Result<()> {
        let e = self.bind_default(default, from, column)?;
        match self.coerce(e, to, true) {
            Err(err) if err.code == code::DATATYPE_MISMATCH => Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "default for column \"{column}\" cannot be cast automatically to type {}",
                    type_name(to, false)
                ),
            )),
            Err(err) => Err(err),
            Ok(_) => Ok(()),
        }
    }

    /// Binds a table's CHECK constraints over its row.
    pub fn bind_checks(&mut self, table: &Table) -> Result<Vec<(String, Expr)>> {
        let mut out = Vec::new();
        for c in &table.checks {
            out.push((c.name.clone(), self.bind_check_expr(table, &c.expr)?));
        }
        Ok(out)
    }

    fn bind_check_expr(&mut self, table: &Table, sql: &str) -> Result<Expr> {
        self.bind_row_expr(table, sql, true)
    }

    /// Binds `SELECT <expr>` over a row of `table`: a CHECK constraint's
    /// (`check`: boolean) or ALTER COLUMN TYPE's USING expression.
    fn bind_row_expr(&mut self, table: &Table, sql: &str, check: bool) -> Result<Expr> {
        let parsed = pg_query::parse(sql, 0).map_err(|e| SqlError::internal(e.to_string()))?;
        let node = parsed
            .protobuf
            .stmts
            .first()
            .and_then(|r| r.stmt.as_deref())
            .and_then(|n| match &n.node {
                Some(N::SelectStmt(s)) => s.target_list.first().cloned(),
                _ => None,
            })
            .and_then(|t| match t.node {
                Some(N::ResTarget(rt)) => rt.val.map(|v| *v),
                _ => None,
            })
            .ok_or_else(|| SqlError::internal("bad stored CHECK"))?;
        self.scopes
            .push(super::dml::table_scope(table, &table.name));
        let r = self.bind_expr(&node).and_then(|e| match check {
            true => self.to_bool(e, "CHECK"),
            false => Ok(e),
        });
        self.scopes.pop();
        let e = r?;
        let mut bad = false;
        super::bind::visit(&e, &mut |x| {
            if matches!(x.kind, ExprKind::Subquery { .. } | ExprKind::Agg(_)) {
                bad = true;
            }
        });
        if bad {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                if check {
                    "cannot use subquery in check constraint"
                } else {
                    "cannot use subquery in transform expression"
                },
            ));
        }
        Ok(e)
    }

    /// Names and validates CHECK constraints as PostgreSQL names them:
    /// `<table>_<first column>_check`, numbered when taken.
    pub fn name_checks(
        &mut self,
        table: &Table,
        raw: Vec<(Option<String>, String, Option<String>)>,
    ) -> Result<Vec<Check>> {
        let mut taken: Vec<String> = table.checks.iter().map(|c| c.name.clone()).collect();
        if let Some(p) = &table.pkey_name {
            taken.push(p.clone());
        }
        let mut out = Vec::new();
        for (name, expr, col) in raw {
            let e = self.bind_check_expr(table, &expr)?;
            let name = match name {
                Some(n) => {
                    if taken.contains(&n) {
                        return Err(SqlError::new(
                            code::DUPLICATE_OBJECT,
                            format!(
                                "constraint \"{n}\" for relation \"{}\" already exists",
                                table.name
                            ),
                        ));
                    }
                    n
                }
                None => {
                    // The column's name when the check uses exactly one
                    // column, as PostgreSQL's AddRelationNewConstraints
                    // chooses it, also for a column constraint (`b text
                    // CHECK (b <> '' AND a < 100)` is `<table>_check`).
                    let _ = col;
                    let mut used: Vec<usize> = Vec::new();
                    super::bind::visit(&e, &mut |x| {
                        if let ExprKind::Column(i) = &x.kind {
                            if !used.contains(i) {
                                used.push(*i);
                            }
                        }
                    });
                    let first = match used.as_slice() {
                        [i] => Some(table.columns[*i].name.clone()),
                        _ => None,
                    };
                    let base = match first {
                        Some(c) => format!("{}_{c}_check", table.name),
                        None => format!("{}_check", table.name),
                    };
                    let mut n = base.clone();
                    let mut k = 1;
                    while taken.contains(&n) {
                        n = format!("{base}{k}");
                        k += 1;
                    }
                    n
                }
            };
            taken.push(name.clone());
            out.push(Check { name, expr });
        }
        Ok(out)
    }

    pub fn bind_create_table(&mut self, s: &pb::CreateStmt) -> Result<CreateTable> {
        let rel = s
            .relation
            .as_ref()
            .ok_or_else(|| SqlError::internal("CREATE TABLE without name"))?;
        if !s.inh_relations.is_empty() {
            return Err(SqlError::unsupported("INHERITS"));
        }
        if s.partspec.is_some() || s.partbound.is_some() {
            return Err(SqlError::unsupported("partitioned tables"));
        }
        if rel.relpersistence == "t" {
            return Err(SqlError::unsupported("temporary tables"));
        }
        if rel.relpersistence == "u" {
            return Err(SqlError::unsupported("UNLOGGED tables"));
        }
        if s.of_typename.is_some() {
            return Err(SqlError::unsupported("CREATE TABLE OF"));
        }
        // Storage parameters: fillfactor (pgbench -i sets it) is kept for
        // pg_class.reloptions and \d+'s "Options:", as PostgreSQL shows
        // it, and changes nothing else (tusk-lite's storage has no pages
        // to leave room in); any other is refused.
        let mut reloptions = Vec::new();
        for o in &s.options {
            let Some(N::DefElem(d)) = &o.node else {
                continue;
            };
            if d.defname != "fillfactor" || !d.defnamespace.is_empty() {
                return Err(SqlError::unsupported(format!(
                    "table storage parameter {}",
                    d.defname
                )));
            }
            let text = match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                Some(N::Integer(i)) => i.ival.to_string(),
                Some(N::String(s)) => s.sval.clone(),
                Some(N::Float(f)) => f.fval.clone(),
                None => "true".to_string(),
                _ => String::new(),
            };
            // PostgreSQL's parse_int: an integer, or a number rounded to
            // the nearest one (halves to even).
            let t = text.trim();
            let n = t
                .parse::<i32>()
                .map(f64::from)
                .ok()
                .or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(f64::round_ties_even)
                })
                .ok_or_else(|| {
                    SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("invalid value for integer option \"fillfactor\": {text}"),
                    )
                })?;
            if !(10.0..=100.0).contains(&n) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("value {text} out of bounds for option \"fillfactor\""),
                )
                .with_detail("Valid values are between \"10\" and \"100\"."));
            }
            if !reloptions.is_empty() {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "parameter \"fillfactor\" specified more than once",
                ));
            }
            // Kept as written ('fillfactor= 70' too), as PostgreSQL keeps it.
            reloptions.push(format!("fillfactor={text}"));
        }
        if s.oncommit != pb::OnCommitAction::OncommitNoop as i32
            && s.oncommit != pb::OnCommitAction::Undefined as i32
        {
            return Err(SqlError::new(
                code::INVALID_TABLE_DEFINITION,
                "ON COMMIT can only be used on temporary tables",
            ));
        }
        // The defaults: exact as they are; anything else is not kept.
        if !s.tablespacename.is_empty() && s.tablespacename != "pg_default" {
            return Err(SqlError::unsupported(format!(
                "TABLESPACE {}",
                s.tablespacename
            )));
        }
        if !s.access_method.is_empty() && s.access_method != "heap" {
            return Err(SqlError::unsupported(format!(
                "table access method {}",
                s.access_method
            )));
        }
        let schema = if rel.schemaname.is_empty() {
            "public".to_string()
        } else {
            rel.schemaname.clone()
        };
        if schema != "public" {
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("schema \"{schema}\" does not exist"),
            )
            .with_detail("tusk-lite has only the public schema"));
        }
        let mut columns: Vec<Column> = Vec::new();
        let mut sequences = Vec::new();
        let mut raw_checks: Vec<(Option<String>, String, Option<String>)> = Vec::new();
        let mut pk: Option<Vec<String>> = None;
        let mut pk_name: Option<String> = None;
        let mut uniques: Vec<RawUnique> = Vec::new();
        let mut foreign_keys: Vec<RawFk> = Vec::new();
        let set_pk = |pk: &mut Option<Vec<String>>, cols: Vec<String>, table: &str| -> Result<()> {
            if pk.is_some() {
                return Err(SqlError::new(
                    code::INVALID_TABLE_DEFINITION,
                    format!("multiple primary keys for table \"{table}\" are not allowed"),
                ));
            }
            *pk = Some(cols);
            Ok(())
        };
        for elt in &s.table_elts {
            match &elt.node {
                Some(N::ColumnDef(cd)) => {
                    if columns.iter().any(|c| c.name == cd.colname) {
                        return Err(SqlError::new(
                            code::DUPLICATE_COLUMN,
                            format!("column \"{}\" specified more than once", cd.colname),
                        ));
                    }
                    let identities = cd
                        .constraints
                        .iter()
                        .filter(|c| {
                            matches!(&c.node, Some(N::Constraint(con))
                                if con.contype == pb::ConstrType::ConstrIdentity as i32)
                        })
                        .count();
                    if identities > 1 {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            format!(
                                "multiple identity specifications for column \"{}\" of table \"{}\"",
                                cd.colname, rel.relname
                            ),
                        ));
                    }
                    let mut col_pk = None;
                    let serial = cd
                        .type_name
                        .as_ref()
                        .and_then(|t| names(&t.names).pop())
                        .and_then(|n| match n.as_str() {
                            "serial" | "serial4" => Some("int4"),
                            "bigserial" | "serial8" => Some("int8"),
                            "smallserial" | "serial2" => Some("int2"),
                            _ => None,
                        });
                    let mut cd = cd.clone();
                    if let (Some(ty), Some(t)) = (serial, cd.type_name.as_mut()) {
                        t.names = vec![pb::Node {
                            node: Some(N::String(pb::String {
                                sval: ty.to_string(),
                            })),
                        }];
                    }
                    let mut col_checks = Vec::new();
                    let mut keys = ColumnKeys::default();
                    let mut col = self.column_def(&cd, &mut col_pk, &mut col_checks, &mut keys)?;
                    uniques.extend(keys.0);
                    foreign_keys.extend(keys.1);
                    for (name, expr) in col_checks {
                        raw_checks.push((name, expr, Some(cd.colname.clone())));
                    }
                    if let Some(ty) = serial {
                        if col.default.is_some() {
                            return Err(SqlError::new(code::SYNTAX_ERROR, format!("multiple default values specified for column \"{}\" of table \"{}\"", col.name, rel.relname)));
                        }
                        let seq_name = format!("{}_{}_seq", rel.relname, col.name);
                        let max = match ty {
                            "int2" => i64::from(i16::MAX),
                            "int4" => i64::from(i32::MAX),
                            _ => i64::MAX,
                        };
                        sequences.push(crate::catalog::Sequence {
                            oid: 0,
                            schema: "public".into(),
                            name: seq_name.clone(),
                            start: 1,
                            increment: 1,
                            min: 1,
                            max,
                            cycle: false,
                            owned_by: None,
                            type_oid: match ty {
                                "int2" => 21,
                                "int4" => 23,
                                _ => 20,
                            },
                        });
                        col.not_null = true;
                        col.default = Some(format!(
                            "SELECT {}",
                            crate::catalog::nextval_call(&seq_name)
                        ));
                    }
                    if col.identity.is_some() {
                        if col.default.is_some() {
                            return Err(SqlError::new(
                                code::SYNTAX_ERROR,
                                format!(
                                    "both default and identity specified for column \"{}\" of table \"{}\"",
                                    col.name, rel.relname
                                ),
                            ));
                        }
                        let seq_name = format!("{}_{}_seq", rel.relname, col.name);
                        sequences.push(self.identity_sequence(&col, &cd, &seq_name)?);
                        col.not_null = true;
                        col.default = Some(format!(
                            "SELECT {}",
                            crate::catalog::nextval_call(&seq_name)
                        ));
                    }
                    let col = col;
                    if let Some((cols, name)) = col_pk {
                        set_pk(&mut pk, cols, &rel.relname)?;
                        if name.is_some() {
                            pk_name = name;
                        }
                    }
                    columns.push(col);
                }
                Some(N::Constraint(con)) => {
                    use pb::ConstrType as C;
                    match C::try_from(con.contype) {
                        Ok(C::ConstrPrimary) => {
                            super::constraints::key_options(con, "PRIMARY KEY")?;
                            set_pk(&mut pk, names(&con.keys), &rel.relname)?;
                            if !con.conname.is_empty() {
                                pk_name = Some(con.conname.clone());
                            }
                        }
                        Ok(C::ConstrUnique) => {
                            uniques.push(super::constraints::raw_unique(con, None)?)
                        }
                        Ok(C::ConstrCheck) => {
                            super::constraints::check_options(con, false)?;
                            let e = con
                                .raw_expr
                                .as_deref()
                                .ok_or_else(|| SqlError::internal("CHECK"))?;
                            raw_checks.push((
                                (!con.conname.is_empty()).then(|| con.conname.clone()),
                                expr_sql(e)?,
                                None,
                            ));
                        }
                        Ok(C::ConstrForeign) => {
                            foreign_keys.push(super::constraints::raw_fk(con, None)?)
                        }
                        Ok(C::ConstrExclusion) => {
                            return Err(SqlError::unsupported("EXCLUDE constraints"))
                        }
                        _ => return Err(SqlError::unsupported("this table constraint")),
                    }
                }
                Some(N::TableLikeClause(_)) => {
                    return Err(SqlError::unsupported("CREATE TABLE ... LIKE"))
                }
                _ => return Err(SqlError::unsupported("this table element")),
            }
        }
        let primary_key = match pk {
            Some(cols) => {
                let mut idx = Vec::new();
                for c in cols {
                    let i = columns.iter().position(|x| x.name == c).ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!("column \"{c}\" named in key does not exist"),
                        )
                    })?;
                    if idx.contains(&i) {
                        return Err(SqlError::new(
                            code::DUPLICATE_COLUMN,
                            format!("column \"{c}\" appears twice in primary key constraint"),
                        ));
                    }
                    columns[i].not_null = true;
                    idx.push(i);
                }
                pk_name = Some(pk_name.unwrap_or_else(|| format!("{}_pkey", rel.relname)));
                Some(idx)
            }
            None => None,
        };
        let tmp = Table {
            oid: 0,
            name: rel.relname.clone(),
            schema: schema.clone(),
            columns: columns.clone(),
            primary_key: primary_key.clone(),
            pkey_name: pk_name.clone(),
            checks: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            relayouts: Vec::new(),
            reloptions: Vec::new(),
        };
        let checks = self.name_checks(&tmp, raw_checks)?;
        Ok(CreateTable {
            schema,
            name: rel.relname.clone(),
            if_not_exists: s.if_not_exists,
            columns,
            primary_key,
            pkey_name: pk_name,
            checks,
            sequences,
            uniques,
            foreign_keys,
            reloptions,
        })
    }
}
