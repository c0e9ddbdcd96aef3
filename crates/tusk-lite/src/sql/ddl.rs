//! CREATE TABLE binding, and column DEFAULT expressions stored as SQL.

use pg_query::protobuf::{self as pb, node::Node as N};

use super::bind::{names, resolve_type, Binder};
use super::plan::Expr;
use super::statement::CreateTable;
use crate::catalog::Column;
use crate::error::{code, Result, SqlError};
use crate::types::ColType;

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
        if !s.options.is_empty() {
            return Err(SqlError::unsupported("table storage parameters (WITH)"));
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
        let mut pk: Option<Vec<String>> = None;
        let mut pk_name: Option<String> = None;
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
                    let ty = resolve_type(
                        cd.type_name
                            .as_ref()
                            .ok_or_else(|| SqlError::internal("column without type"))?,
                    )?;
                    if columns.iter().any(|c| c.name == cd.colname) {
                        return Err(SqlError::new(
                            code::DUPLICATE_COLUMN,
                            format!("column \"{}\" specified more than once", cd.colname),
                        ));
                    }
                    if cd.coll_clause.is_some() {
                        return Err(SqlError::unsupported("COLLATE"));
                    }
                    let mut col = Column {
                        name: cd.colname.clone(),
                        ty,
                        not_null: cd.is_not_null,
                        default: None,
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
                                set_pk(&mut pk, vec![cd.colname.clone()], &rel.relname)?;
                                if !con.conname.is_empty() {
                                    pk_name = Some(con.conname.clone());
                                }
                            }
                            Ok(C::ConstrUnique) => {
                                return Err(SqlError::unsupported("UNIQUE constraints"))
                            }
                            Ok(C::ConstrCheck) => {
                                return Err(SqlError::unsupported("CHECK constraints"))
                            }
                            Ok(C::ConstrForeign) => {
                                return Err(SqlError::unsupported("FOREIGN KEY constraints"))
                            }
                            Ok(C::ConstrIdentity) => {
                                return Err(SqlError::unsupported("identity columns"))
                            }
                            Ok(C::ConstrGenerated) => {
                                return Err(SqlError::unsupported("generated columns"))
                            }
                            _ => return Err(SqlError::unsupported("this column constraint")),
                        }
                    }
                    columns.push(col);
                }
                Some(N::Constraint(con)) => {
                    use pb::ConstrType as C;
                    match C::try_from(con.contype) {
                        Ok(C::ConstrPrimary) => {
                            set_pk(&mut pk, names(&con.keys), &rel.relname)?;
                            if !con.conname.is_empty() {
                                pk_name = Some(con.conname.clone());
                            }
                        }
                        Ok(C::ConstrUnique) => {
                            return Err(SqlError::unsupported("UNIQUE constraints"))
                        }
                        Ok(C::ConstrCheck) => {
                            return Err(SqlError::unsupported("CHECK constraints"))
                        }
                        Ok(C::ConstrForeign) => {
                            return Err(SqlError::unsupported("FOREIGN KEY constraints"))
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
        // Defaults must bind (same checks PostgreSQL does at CREATE).
        for c in &columns {
            if let Some(d) = &c.default {
                let mut b = Binder::new(self.catalog, Vec::new());
                b.bind_default(d, c.ty, &c.name)?;
            }
        }
        Ok(CreateTable {
            schema,
            name: rel.relname.clone(),
            if_not_exists: s.if_not_exists,
            columns,
            primary_key,
            pkey_name: pk_name,
        })
    }
}
