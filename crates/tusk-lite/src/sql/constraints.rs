//! Binding UNIQUE and FOREIGN KEY constraints (in CREATE TABLE and ALTER
//! TABLE ADD CONSTRAINT), CREATE INDEX and DROP INDEX.

use pg_query::protobuf::{self as pb, node::Node as N};

use super::bind::{names, Binder};
use super::statement::{CreateIndex, RawFk, RawUnique, Statement};
use crate::catalog::FkAction;
use crate::error::{Result, SqlError};

fn conname(con: &pb::Constraint) -> Option<String> {
    (!con.conname.is_empty()).then(|| con.conname.clone())
}

fn deferrable(con: &pb::Constraint) -> Result<()> {
    if con.deferrable || con.initdeferred {
        return Err(SqlError::unsupported("DEFERRABLE constraints"));
    }
    Ok(())
}

/// What a PRIMARY KEY or UNIQUE constraint (`what`) may say about its
/// index that tusk-lite would otherwise ignore: each fails with 0A000.
pub(crate) fn key_options(con: &pb::Constraint, what: &str) -> Result<()> {
    deferrable(con)?;
    if con.nulls_not_distinct {
        return Err(SqlError::unsupported(format!("{what} NULLS NOT DISTINCT")));
    }
    if !con.including.is_empty() {
        return Err(SqlError::unsupported(format!("{what} ... INCLUDE")));
    }
    if !con.options.is_empty() {
        return Err(SqlError::unsupported(format!(
            "{what} ... WITH (storage parameters)"
        )));
    }
    if !con.indexspace.is_empty() {
        return Err(SqlError::unsupported(format!(
            "{what} ... USING INDEX TABLESPACE"
        )));
    }
    if !con.indexname.is_empty() {
        return Err(SqlError::unsupported(format!("{what} ... USING INDEX")));
    }
    if con.without_overlaps {
        return Err(SqlError::unsupported(format!(
            "{what} ... WITHOUT OVERLAPS"
        )));
    }
    Ok(())
}

/// A CHECK constraint's NO INHERIT (shown by pg_get_constraintdef and
/// \d in PostgreSQL) and, when `alter`, NOT VALID (PostgreSQL then skips
/// the existing rows; in CREATE TABLE it means nothing and is accepted).
pub(crate) fn check_options(con: &pb::Constraint, alter: bool) -> Result<()> {
    deferrable(con)?;
    if con.is_no_inherit {
        return Err(SqlError::unsupported("CHECK ... NO INHERIT"));
    }
    if alter && con.skip_validation {
        return Err(SqlError::unsupported("NOT VALID constraints"));
    }
    Ok(())
}

/// A UNIQUE constraint; `column` for a column constraint.
pub(super) fn raw_unique(con: &pb::Constraint, column: Option<&str>) -> Result<RawUnique> {
    key_options(con, "UNIQUE")?;
    let columns = match column {
        Some(c) => vec![c.to_string()],
        None => names(&con.keys),
    };
    Ok(RawUnique {
        name: conname(con),
        columns,
    })
}

fn action(c: &str, what: &str) -> Result<FkAction> {
    Ok(match c {
        "a" | "" => FkAction::NoAction,
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => return Err(SqlError::unsupported(format!("ON {what} SET DEFAULT"))),
        _ => return Err(SqlError::unsupported(format!("this ON {what} action"))),
    })
}

/// A FOREIGN KEY constraint; `column` for a column constraint.
pub(super) fn raw_fk(con: &pb::Constraint, column: Option<&str>) -> Result<RawFk> {
    deferrable(con)?;
    if con.fk_matchtype == "f" || con.fk_matchtype == "p" {
        return Err(SqlError::unsupported("MATCH FULL and MATCH PARTIAL"));
    }
    if !con.fk_del_set_cols.is_empty() {
        return Err(SqlError::unsupported("ON DELETE SET NULL (columns)"));
    }
    // NOT VALID: in CREATE TABLE it means nothing (PostgreSQL marks the
    // key validated); ALTER TABLE refuses it (sql::ddl::alter).
    let rel = con
        .pktable
        .as_ref()
        .ok_or_else(|| SqlError::internal("FOREIGN KEY without a table"))?;
    let columns = match column {
        Some(c) => vec![c.to_string()],
        None => names(&con.fk_attrs),
    };
    Ok(RawFk {
        name: conname(con),
        columns,
        ref_schema: if rel.schemaname.is_empty() {
            "public".into()
        } else {
            rel.schemaname.clone()
        },
        ref_table: rel.relname.clone(),
        ref_columns: names(&con.pk_attrs),
        on_delete: action(&con.fk_del_action, "DELETE")?,
        on_update: action(&con.fk_upd_action, "UPDATE")?,
    })
}

/// An index column's ordering as PostgreSQL's indoption bits: 1 for
/// DESC, 2 for NULLS FIRST (the default with DESC).
fn indoption(e: &pb::IndexElem) -> Result<i16> {
    let desc = match pb::SortByDir::try_from(e.ordering) {
        Ok(pb::SortByDir::SortbyDesc) => true,
        Ok(pb::SortByDir::SortbyUsing) => {
            return Err(SqlError::unsupported("USING in an index column"))
        }
        _ => false,
    };
    let nulls_first = match pb::SortByNulls::try_from(e.nulls_ordering) {
        Ok(pb::SortByNulls::SortbyNullsFirst) => true,
        Ok(pb::SortByNulls::SortbyNullsLast) => false,
        _ => desc,
    };
    Ok(i16::from(desc) | (i16::from(nulls_first) << 1))
}

impl Binder<'_> {
    pub fn bind_create_index(&mut self, s: &pb::IndexStmt) -> Result<Statement> {
        let rel = s
            .relation
            .as_ref()
            .ok_or_else(|| SqlError::internal("CREATE INDEX without a table"))?;
        if !s.access_method.is_empty() && s.access_method != "btree" {
            return Err(SqlError::unsupported(format!(
                "index access method {}",
                s.access_method
            )));
        }
        if s.where_clause.is_some() {
            return Err(SqlError::unsupported("partial indexes"));
        }
        if !s.index_including_params.is_empty() {
            return Err(SqlError::unsupported("CREATE INDEX ... INCLUDE"));
        }
        if !s.options.is_empty() || !s.table_space.is_empty() {
            return Err(SqlError::unsupported("index storage parameters"));
        }
        if s.nulls_not_distinct {
            return Err(SqlError::unsupported("NULLS NOT DISTINCT"));
        }
        if s.concurrent {
            return Err(SqlError::unsupported("CREATE INDEX CONCURRENTLY"));
        }
        let mut columns = Vec::new();
        let mut options = Vec::new();
        for p in &s.index_params {
            let Some(N::IndexElem(e)) = &p.node else {
                return Err(SqlError::internal("index element"));
            };
            if e.expr.is_some() || e.name.is_empty() {
                return Err(SqlError::unsupported("expression indexes"));
            }
            if !e.collation.is_empty() || !e.opclass.is_empty() {
                return Err(SqlError::unsupported(
                    "index collations and operator classes",
                ));
            }
            if !e.opclassopts.is_empty() {
                return Err(SqlError::unsupported("operator class options"));
            }
            columns.push(e.name.clone());
            options.push(indoption(e)?);
        }
        // The table must exist now (42P01 as PostgreSQL says it).
        let table = self.table(rel)?;
        Ok(Statement::CreateIndex(CreateIndex {
            name: (!s.idxname.is_empty()).then(|| s.idxname.clone()),
            schema: table.schema.clone(),
            table: table.name.clone(),
            columns,
            options,
            unique: s.unique,
            if_not_exists: s.if_not_exists,
        }))
    }

    /// DROP INDEX names.
    pub fn bind_drop_index(&mut self, s: &pb::DropStmt) -> Result<Statement> {
        if s.concurrent {
            return Err(SqlError::unsupported("DROP INDEX CONCURRENTLY"));
        }
        if s.behavior == pb::DropBehavior::DropCascade as i32 {
            return Err(SqlError::unsupported("DROP INDEX ... CASCADE"));
        }
        let mut out = Vec::new();
        for o in &s.objects {
            if let Some(N::List(l)) = &o.node {
                out.push(match names(&l.items).as_slice() {
                    [n] => ("public".to_string(), n.clone()),
                    [s, n] => (s.clone(), n.clone()),
                    _ => return Err(SqlError::unsupported("cross-database references")),
                });
            }
        }
        Ok(Statement::DropIndex {
            names: out,
            if_exists: s.missing_ok,
        })
    }
}
