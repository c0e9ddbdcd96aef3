//! Binding CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD VALUE and DROP
//! TYPE (executed by `crate::enum_ddl`).

use pg_query::protobuf::{self as pb, node::Node as N};

use super::super::bind::{names, Binder};
use super::super::statement::{EnumAdd, Statement};
use crate::error::{code, Result, SqlError};

/// `name` or `schema.name` as (schema, name): tusk-lite has schema public
/// for user objects.
fn qualified(parts: &[String]) -> Result<(String, String)> {
    match parts {
        [n] => Ok(("public".to_string(), n.clone())),
        [s, n] => Ok((s.clone(), n.clone())),
        _ => Err(SqlError::new(
            code::SYNTAX_ERROR,
            format!(
                "improper qualified name (too many dotted names): {}",
                parts.join(".")
            ),
        )),
    }
}

/// A schema other than public: PostgreSQL's error for a schema that does
/// not exist (tusk-lite has no CREATE SCHEMA), pg_catalog's for creating
/// there.
fn check_schema(schema: &str, creating: bool) -> Result<()> {
    match schema {
        "public" => Ok(()),
        "pg_catalog" if creating => Err(SqlError::new(
            "42939",
            "permission denied to create \"pg_catalog\" objects",
        )),
        "pg_catalog" => Ok(()),
        other => Err(SqlError::new(
            "3F000",
            format!("schema \"{other}\" does not exist"),
        )),
    }
}

impl Binder<'_> {
    pub fn bind_create_enum(&mut self, s: &pb::CreateEnumStmt) -> Result<Statement> {
        let (schema, name) = qualified(&names(&s.type_name))?;
        check_schema(&schema, true)?;
        let labels = s
            .vals
            .iter()
            .map(|v| match &v.node {
                Some(N::String(s)) => Ok(s.sval.clone()),
                _ => Err(SqlError::internal("enum label is not a string")),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement::CreateEnum {
            schema,
            name,
            labels,
        })
    }

    pub fn bind_alter_enum(&mut self, s: &pb::AlterEnumStmt) -> Result<Statement> {
        if !s.old_val.is_empty() {
            return Err(SqlError::unsupported("ALTER TYPE ... RENAME VALUE"));
        }
        let (schema, name) = qualified(&names(&s.type_name))?;
        check_schema(&schema, false)?;
        Ok(Statement::AlterEnumAdd(EnumAdd {
            schema,
            name,
            label: s.new_val.clone(),
            neighbor: (!s.new_val_neighbor.is_empty())
                .then(|| (s.new_val_neighbor.clone(), s.new_val_is_after)),
            if_not_exists: s.skip_if_new_val_exists,
        }))
    }

    pub fn bind_drop_type(&mut self, s: &pb::DropStmt) -> Result<Statement> {
        let mut out = Vec::new();
        for o in &s.objects {
            let parts = match &o.node {
                Some(N::TypeName(t)) => {
                    if !t.array_bounds.is_empty() {
                        return Err(SqlError::unsupported("DROP TYPE of an array type"));
                    }
                    names(&t.names)
                }
                Some(N::List(l)) => names(&l.items),
                _ => return Err(SqlError::internal("DROP TYPE object")),
            };
            let (schema, name) = qualified(&parts)?;
            if parts.len() > 1 {
                check_schema(&schema, false)?;
            }
            out.push((schema, name));
        }
        Ok(Statement::DropType {
            names: out,
            if_exists: s.missing_ok,
            cascade: s.behavior == pb::DropBehavior::DropCascade as i32,
        })
    }
}
