//! The binder: pg_query's parse tree to bound statements.

use pg_query::protobuf::{self as pb, node::Node as N};
use std::sync::Arc;

use super::plan::*;
use super::scope::{Lookup, Scope, ScopeCol};
use super::statement::Statement;
use super::typing::{common_type, operator_error};
use crate::catalog::{Catalog, Table};
use crate::error::{code, Result, SqlError};
use crate::numeric::Numeric;
use crate::txn::Isolation;
use crate::types::{self, ColType, Type, Value};

mod array_funcs;
mod catalog_funcs;
mod datetime;
mod expr;
mod from;
mod func;
mod func_lib;
mod json;
mod operators;
mod select;
mod select_body;
mod typename;

use select_body::*;
pub(crate) use select_body::{children, visit};
pub use typename::{figure_colname, resolve_type};

pub struct Binder<'a> {
    pub catalog: &'a Catalog,
    /// Parameter types: given by Parse, or inferred (Unknown until then).
    pub params: Vec<Type>,
    pub(super) scopes: Vec<Scope>,
    /// Aggregates found while binding a target list or HAVING.
    aggs: Option<Vec<AggCall>>,
    /// Where aggregates are being rejected, for the error message.
    no_agg_context: &'static str,
    /// WITH queries in scope, innermost last.
    ctes: Vec<(String, Query)>,
    /// Binding the parameter of `$n::type[]` (where a parameter declared
    /// as an array type may stand).
    array_param_cast: bool,
    /// Parameter type OIDs, where the type alone does not say them: an
    /// array parameter's array type (declared by Parse, or inferred from
    /// a column it is assigned to); 0 elsewhere.
    pub param_oids: Vec<u32>,
    /// The tables this binder looked up by name, in lookup order: the
    /// session locks them before running the statement and binds again if
    /// the catalog changed while it waited (as PostgreSQL locks relations
    /// during parse analysis).
    pub tables: std::cell::RefCell<Vec<crate::catalog::TableId>>,
    /// The outermost scope (index into `scopes`) an outer column
    /// reference has reached since it was last reset: a subquery that
    /// reached below its own first scope is correlated.
    outer_reach: std::cell::Cell<usize>,
    /// The next [`Binder::bind_select`] binds a set operation's leaf.
    set_op_leaf: bool,
    /// The SELECT being bound is a set operation's leaf: its unknown-typed
    /// outputs stay unknown, for the set operation to resolve.
    keep_unknown: bool,
}

pub fn node_str(n: &pb::Node) -> Option<&str> {
    match &n.node {
        Some(N::String(s)) => Some(&s.sval),
        _ => None,
    }
}

pub fn names(list: &[pb::Node]) -> Vec<String> {
    list.iter()
        .filter_map(node_str)
        .map(str::to_string)
        .collect()
}

fn unsupported_node(n: &pb::Node) -> SqlError {
    let name = match &n.node {
        Some(node) => {
            let dbg = format!("{node:?}");
            dbg.split('(')
                .next()
                .unwrap_or("this construct")
                .to_string()
        }
        None => "this construct".to_string(),
    };
    SqlError::unsupported(name)
}

fn agg_func(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "string_agg" => AggFunc::StringAgg,
        "json_agg" => AggFunc::JsonAgg {
            jsonb: false,
            structured: false,
        },
        "jsonb_agg" => AggFunc::JsonAgg {
            jsonb: true,
            structured: false,
        },
        "json_object_agg" => AggFunc::JsonObjectAgg { jsonb: false },
        "jsonb_object_agg" => AggFunc::JsonObjectAgg { jsonb: true },
        "array_agg" => AggFunc::ArrayAgg,
        _ => return None,
    })
}

fn a_const_value(c: &pb::AConst) -> Expr {
    match &c.val {
        _ if c.isnull => Expr::constant(Value::Null, Type::Unknown),
        Some(pb::a_const::Val::Ival(i)) => {
            Expr::constant(Value::Int(i64::from(i.ival)), Type::Int4)
        }
        Some(pb::a_const::Val::Fval(f)) => {
            // Integer literals too large for int4 arrive as Float (a
            // negative one with its sign: the parser folds the minus in).
            let digits = f.fval.strip_prefix('-').unwrap_or(&f.fval);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(i) = f.fval.parse::<i64>() {
                    // -2147483648 fits int4, as PostgreSQL types it.
                    let ty = if i32::try_from(i).is_ok() {
                        Type::Int4
                    } else {
                        Type::Int8
                    };
                    return Expr::constant(Value::Int(i), ty);
                }
            }
            match Numeric::parse(&f.fval) {
                Ok(n) => Expr::constant(Value::Numeric(n), Type::Numeric),
                Err(_) => Expr::constant(Value::Text(f.fval.clone()), Type::Unknown),
            }
        }
        Some(pb::a_const::Val::Sval(s)) => {
            Expr::constant(Value::Text(s.sval.clone()), Type::Unknown)
        }
        Some(pb::a_const::Val::Boolval(b)) => Expr::constant(Value::Bool(b.boolval), Type::Bool),
        Some(pb::a_const::Val::Bsval(_)) => Expr::constant(Value::Null, Type::Unknown),
        None => Expr::constant(Value::Null, Type::Unknown),
    }
}

pub(super) fn bool_literal(n: &pb::Node) -> Option<bool> {
    match &n.node {
        Some(N::AConst(c)) => match &c.val {
            Some(pb::a_const::Val::Ival(i)) => Some(i.ival != 0),
            Some(pb::a_const::Val::Sval(s)) => {
                types::parse_text(&s.sval, ColType::plain(Type::Bool))
                    .ok()?
                    .as_bool()
            }
            Some(pb::a_const::Val::Boolval(b)) => Some(b.boolval),
            _ => None,
        },
        Some(N::String(s)) => match s.sval.as_str() {
            "on" | "true" => Some(true),
            "off" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Transaction options of BEGIN / SET TRANSACTION.
fn txn_options(opts: &[pb::Node]) -> Result<(Option<Isolation>, Option<bool>)> {
    let mut iso = None;
    let mut ro = None;
    for o in opts {
        let Some(N::DefElem(d)) = &o.node else {
            continue;
        };
        let arg = d.arg.as_deref();
        match d.defname.as_str() {
            "transaction_isolation" => {
                let level = arg.and_then(|a| match &a.node {
                    Some(N::AConst(c)) => match &c.val {
                        Some(pb::a_const::Val::Sval(s)) => Some(s.sval.clone()),
                        _ => None,
                    },
                    _ => None,
                });
                iso = Some(isolation_from_name(level.as_deref().unwrap_or(""))?);
            }
            "transaction_read_only" => ro = arg.and_then(bool_literal),
            "transaction_deferrable" => {}
            other => return Err(SqlError::unsupported(format!("transaction option {other}"))),
        }
    }
    Ok((iso, ro))
}

pub fn isolation_from_name(level: &str) -> Result<Isolation> {
    match level.to_ascii_lowercase().as_str() {
        "read committed" | "read uncommitted" => Ok(Isolation::ReadCommitted),
        "repeatable read" => Ok(Isolation::RepeatableRead),
        "serializable" => Err(SqlError::unsupported("SERIALIZABLE isolation")),
        other => Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"transaction_isolation\": \"{other}\""),
        )),
    }
}

fn set_value(args: &[pb::Node]) -> String {
    args.iter()
        .map(|a| match &a.node {
            Some(N::AConst(c)) => match &c.val {
                Some(pb::a_const::Val::Sval(s)) => s.sval.clone(),
                Some(pb::a_const::Val::Ival(i)) => i.ival.to_string(),
                Some(pb::a_const::Val::Fval(f)) => f.fval.clone(),
                Some(pb::a_const::Val::Boolval(b)) => if b.boolval { "on" } else { "off" }.into(),
                _ => String::new(),
            },
            Some(N::TypeCast(tc)) => tc
                .arg
                .as_deref()
                .map(|n| set_value(std::slice::from_ref(n)))
                .unwrap_or_default(),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn range_var_name(r: &pb::RangeVar) -> (String, String) {
    let schema = if r.schemaname.is_empty() {
        "public".to_string()
    } else {
        r.schemaname.clone()
    };
    (schema, r.relname.clone())
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a Catalog, params: Vec<Type>) -> Binder<'a> {
        Binder {
            catalog,
            params,
            scopes: Vec::new(),
            aggs: None,
            no_agg_context: "WHERE",
            ctes: Vec::new(),
            array_param_cast: false,
            param_oids: Vec::new(),
            tables: Default::default(),
            outer_reach: std::cell::Cell::new(usize::MAX),
            set_op_leaf: false,
            keep_unknown: false,
        }
    }

    pub fn set_param_type(&mut self, i: usize, t: Type) {
        if self.params.len() <= i {
            self.params.resize(i + 1, Type::Unknown);
        }
        if self.params[i] == Type::Unknown {
            self.params[i] = t;
        }
    }

    /// Records the array type a parameter was inferred to be.
    pub fn set_param_oid(&mut self, i: usize, oid: u32) {
        if self.param_oids.len() <= i {
            self.param_oids.resize(i + 1, 0);
        }
        if self.param_oids[i] == 0 {
            self.param_oids[i] = oid;
        }
    }

    /// The element type of array parameter `i`, when its array type is known.
    pub fn param_array_elem(&self, i: usize) -> Option<Type> {
        self.param_oids
            .get(i)
            .and_then(|oid| types::array_elem_of_oid(*oid))
    }

    /// The parameter type OIDs Describe reports (after binding).
    pub fn param_type_oids(&self) -> Vec<u32> {
        self.param_types()
            .iter()
            .enumerate()
            .map(|(i, t)| match (t, self.param_oids.get(i)) {
                (Type::Array, Some(&oid)) if oid != 0 => oid,
                _ => t.oid(),
            })
            .collect()
    }

    /// Parameter types after binding: unresolved ones default to text.
    pub fn param_types(&self) -> Vec<Type> {
        self.params
            .iter()
            .map(|t| if *t == Type::Unknown { Type::Text } else { *t })
            .collect()
    }

    pub fn table(&self, r: &pb::RangeVar) -> Result<Arc<Table>> {
        let (schema, name) = range_var_name(r);
        let t = self.catalog.table(&schema, &name).cloned().ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", r.relname),
            )
        })?;
        let mut tables = self.tables.borrow_mut();
        if !tables.contains(&t.oid) {
            tables.push(t.oid);
        }
        Ok(t)
    }

    pub fn bind_statement(&mut self, node: &pb::Node) -> Result<Statement> {
        let Some(n) = &node.node else {
            return Err(SqlError::new(code::SYNTAX_ERROR, "empty statement"));
        };
        match n {
            N::SelectStmt(s) => Ok(Statement::Query(Box::new(self.bind_select(s)?))),
            N::InsertStmt(s) => Ok(Statement::Insert(Box::new(self.bind_insert(s)?))),
            N::UpdateStmt(s) => Ok(Statement::Update(Box::new(self.bind_update(s)?))),
            N::DeleteStmt(s) => Ok(Statement::Delete(Box::new(self.bind_delete(s)?))),
            N::CreateStmt(s) => Ok(Statement::CreateTable(self.bind_create_table(s)?)),
            N::ExplainStmt(e) => self.bind_explain(e),
            N::AlterTableStmt(s) => self.bind_alter_table(s),
            N::CopyStmt(s) => self.bind_copy(s),
            N::CreateSeqStmt(s) => self.bind_create_sequence(s),
            N::CreateEnumStmt(s) => self.bind_create_enum(s),
            N::AlterEnumStmt(s) => self.bind_alter_enum(s),
            N::DropStmt(s) if s.remove_type == pb::ObjectType::ObjectType as i32 => {
                self.bind_drop_type(s)
            }
            N::RenameStmt(s) => self.bind_rename(s),
            N::DropStmt(s) if s.remove_type == pb::ObjectType::ObjectSequence as i32 => {
                let mut out = Vec::new();
                for o in &s.objects {
                    if let Some(N::List(l)) = &o.node {
                        let parts = names(&l.items);
                        out.push(match parts.as_slice() {
                            [n] => ("public".to_string(), n.clone()),
                            [s, n] => (s.clone(), n.clone()),
                            _ => return Err(SqlError::unsupported("cross-database references")),
                        });
                    }
                }
                Ok(Statement::DropSequence {
                    names: out,
                    if_exists: s.missing_ok,
                })
            }
            N::IndexStmt(s) => self.bind_create_index(s),
            N::DeclareCursorStmt(s) => {
                // PostgreSQL's CURSOR_OPT_* bits.
                const BINARY: i32 = 0x1;
                const SCROLL: i32 = 0x2;
                const NO_SCROLL: i32 = 0x4;
                const HOLD: i32 = 0x20;
                let Some(q) = s.query.as_deref() else {
                    return Err(SqlError::internal("DECLARE without a query"));
                };
                let query = match self.bind_statement(q)? {
                    Statement::Query(q) => q,
                    _ => return Err(SqlError::new("42P11", "DECLARE CURSOR must be a SELECT")),
                };
                // As PostgreSQL: a holdable cursor must be read only (the
                // plan's debug form shows a row-locking node anywhere in it).
                if s.options & HOLD != 0 && format!("{:?}", query.plan).contains("LockRows") {
                    return Err(SqlError::new(
                        code::FEATURE_NOT_SUPPORTED,
                        "DECLARE CURSOR WITH HOLD ... FOR UPDATE is not supported",
                    )
                    .with_detail("Holdable cursors must be READ ONLY."));
                }
                Ok(Statement::DeclareCursor(Box::new(
                    crate::sql::statement::DeclareCursor {
                        name: s.portalname.clone(),
                        query,
                        hold: s.options & HOLD != 0,
                        binary: s.options & BINARY != 0,
                        scroll: if s.options & NO_SCROLL != 0 {
                            Some(false)
                        } else if s.options & SCROLL != 0 {
                            Some(true)
                        } else {
                            None
                        },
                    },
                )))
            }
            N::FetchStmt(s) => {
                use crate::sql::statement::FetchHow;
                let n = s.how_many;
                let how = match pb::FetchDirection::try_from(s.direction) {
                    Ok(pb::FetchDirection::FetchBackward) => FetchHow::Backward(n),
                    Ok(pb::FetchDirection::FetchAbsolute) => FetchHow::Absolute(n),
                    Ok(pb::FetchDirection::FetchRelative) => FetchHow::Relative(n),
                    _ => FetchHow::Forward(n),
                };
                Ok(Statement::Fetch(crate::sql::statement::Fetch {
                    name: s.portalname.clone(),
                    how,
                    is_move: s.ismove,
                }))
            }
            N::ClosePortalStmt(s) => Ok(Statement::CloseCursor(
                (!s.portalname.is_empty()).then(|| s.portalname.clone()),
            )),
            N::DiscardStmt(s) => Ok(Statement::Discard(
                match pb::DiscardMode::try_from(s.target) {
                    Ok(pb::DiscardMode::DiscardPlans) => "PLANS",
                    Ok(pb::DiscardMode::DiscardSequences) => "SEQUENCES",
                    Ok(pb::DiscardMode::DiscardTemp) => "TEMP",
                    _ => "ALL",
                },
            )),
            N::ListenStmt(s) => Ok(Statement::Listen(crate::notify::ListenOp::Listen(
                s.conditionname.clone(),
            ))),
            N::UnlistenStmt(s) => Ok(Statement::Listen(if s.conditionname.is_empty() {
                crate::notify::ListenOp::UnlistenAll
            } else {
                crate::notify::ListenOp::Unlisten(s.conditionname.clone())
            })),
            N::NotifyStmt(s) => Ok(Statement::Notify {
                channel: s.conditionname.clone(),
                payload: s.payload.clone(),
            }),
            N::DropStmt(s) if s.remove_type == pb::ObjectType::ObjectIndex as i32 => {
                self.bind_drop_index(s)
            }
            N::DropStmt(s) => {
                if s.remove_type != pb::ObjectType::ObjectTable as i32 {
                    let what = pb::ObjectType::try_from(s.remove_type)
                        .map(|o| format!("{o:?}").trim_start_matches("Object").to_uppercase())
                        .unwrap_or_default();
                    return Err(SqlError::unsupported(format!("DROP {what}")));
                }
                let mut out = Vec::new();
                for o in &s.objects {
                    if let Some(N::List(l)) = &o.node {
                        let parts = names(&l.items);
                        let (schema, name) = match parts.as_slice() {
                            [n] => ("public".to_string(), n.clone()),
                            [s, n] => (s.clone(), n.clone()),
                            _ => return Err(SqlError::unsupported("cross-database references")),
                        };
                        out.push((schema, name));
                    }
                }
                Ok(Statement::DropTable {
                    names: out,
                    if_exists: s.missing_ok,
                    cascade: s.behavior == pb::DropBehavior::DropCascade as i32,
                })
            }
            N::TruncateStmt(s) => {
                if s.restart_seqs || s.behavior == pb::DropBehavior::DropCascade as i32 {
                    return Err(SqlError::unsupported(
                        "TRUNCATE with RESTART IDENTITY or CASCADE",
                    ));
                }
                let mut out = Vec::new();
                for r in &s.relations {
                    if let Some(N::RangeVar(rv)) = &r.node {
                        out.push(range_var_name(rv));
                    }
                }
                Ok(Statement::Truncate(out))
            }
            N::TransactionStmt(t) => {
                use pb::TransactionStmtKind as K;
                match K::try_from(t.kind) {
                    Ok(K::TransStmtBegin) | Ok(K::TransStmtStart) => {
                        let (isolation, read_only) = txn_options(&t.options)?;
                        Ok(Statement::Begin {
                            isolation,
                            read_only,
                        })
                    }
                    Ok(K::TransStmtCommit) if !t.chain => Ok(Statement::Commit),
                    Ok(K::TransStmtRollback) if !t.chain => Ok(Statement::Rollback),
                    Ok(K::TransStmtSavepoint) => Ok(Statement::Savepoint(t.savepoint_name.clone())),
                    Ok(K::TransStmtRelease) => Ok(Statement::Release(t.savepoint_name.clone())),
                    Ok(K::TransStmtRollbackTo) => {
                        Ok(Statement::RollbackTo(t.savepoint_name.clone()))
                    }
                    Ok(K::TransStmtCommit) | Ok(K::TransStmtRollback) => {
                        Err(SqlError::unsupported("AND CHAIN"))
                    }
                    _ => Err(SqlError::unsupported("two-phase commit")),
                }
            }
            N::VariableSetStmt(v) => {
                use pb::VariableSetKind as K;
                match K::try_from(v.kind) {
                    Ok(K::VarSetValue) => {
                        if v.name == "transaction_isolation" || v.name == "transaction_read_only" {
                            let val = set_value(&v.args);
                            return Ok(if v.name == "transaction_isolation" {
                                Statement::SetTransaction {
                                    isolation: Some(isolation_from_name(&val)?),
                                    read_only: None,
                                }
                            } else {
                                let ro =
                                    types::parse_text(&val, ColType::plain(Type::Bool))?.as_bool();
                                Statement::SetTransaction {
                                    isolation: None,
                                    read_only: ro,
                                }
                            });
                        }
                        Ok(Statement::Set {
                            name: v.name.to_ascii_lowercase(),
                            value: Some(set_value(&v.args)),
                            local: v.is_local,
                        })
                    }
                    Ok(K::VarSetDefault) => Ok(Statement::Set {
                        name: v.name.to_ascii_lowercase(),
                        value: None,
                        local: v.is_local,
                    }),
                    Ok(K::VarReset) => Ok(Statement::Reset(v.name.to_ascii_lowercase())),
                    Ok(K::VarResetAll) => Ok(Statement::ResetAll),
                    Ok(K::VarSetMulti)
                        if v.name == "TRANSACTION" || v.name == "SESSION CHARACTERISTICS" =>
                    {
                        let (isolation, read_only) = txn_options(&v.args)?;
                        if v.name == "TRANSACTION" {
                            Ok(Statement::SetTransaction {
                                isolation,
                                read_only,
                            })
                        } else {
                            Err(SqlError::unsupported("SET SESSION CHARACTERISTICS"))
                        }
                    }
                    _ => Err(SqlError::unsupported(format!("SET {}", v.name))),
                }
            }
            N::VariableShowStmt(v) => Ok(Statement::Show(v.name.to_ascii_lowercase())),
            N::VacuumStmt(v) => Ok(Statement::Maintenance(if v.is_vacuumcmd {
                "VACUUM"
            } else {
                "ANALYZE"
            })),
            N::CheckPointStmt(_) => Ok(Statement::Maintenance("CHECKPOINT")),
            other => {
                let dbg = format!("{other:?}");
                let kind = dbg.split('(').next().unwrap_or("statement");
                Err(SqlError::unsupported(statement_name(kind)))
            }
        }
    }
}

/// The name PostgreSQL uses for a statement kind in messages.
fn statement_name(kind: &str) -> String {
    let map: &[(&str, &str)] = &[
        ("CreateTrigStmt", "CREATE TRIGGER"),
        ("CreateFunctionStmt", "CREATE FUNCTION"),
        ("ViewStmt", "CREATE VIEW"),
        ("IndexStmt", "CREATE INDEX"),
        ("CreateSeqStmt", "CREATE SEQUENCE"),
        ("AlterTableStmt", "ALTER TABLE"),
        ("CreateSchemaStmt", "CREATE SCHEMA"),
        ("CreatedbStmt", "CREATE DATABASE"),
        ("DropdbStmt", "DROP DATABASE"),
        ("CopyStmt", "COPY"),
        ("ExplainStmt", "EXPLAIN"),
        ("PrepareStmt", "PREPARE"),
        ("ExecuteStmt", "EXECUTE"),
        ("DeallocateStmt", "DEALLOCATE"),
        ("DeclareCursorStmt", "DECLARE CURSOR"),
        ("FetchStmt", "FETCH"),
        ("ClosePortalStmt", "CLOSE"),
        ("ListenStmt", "LISTEN"),
        ("NotifyStmt", "NOTIFY"),
        ("UnlistenStmt", "UNLISTEN"),
        ("LockStmt", "LOCK"),
        ("CreateExtensionStmt", "CREATE EXTENSION"),
        ("RuleStmt", "CREATE RULE"),
        ("CreateRoleStmt", "CREATE ROLE"),
        ("GrantStmt", "GRANT"),
        ("GrantRoleStmt", "GRANT"),
        ("CommentStmt", "COMMENT"),
        ("DoStmt", "DO"),
        ("CallStmt", "CALL"),
        ("CreateTableAsStmt", "CREATE TABLE AS"),
        ("RenameStmt", "ALTER ... RENAME"),
        ("CompositeTypeStmt", "CREATE TYPE"),
        ("CreateDomainStmt", "CREATE DOMAIN"),
        ("DiscardStmt", "DISCARD"),
        ("MergeStmt", "MERGE"),
        ("ReindexStmt", "REINDEX"),
        ("ClusterStmt", "CLUSTER"),
        ("AlterSeqStmt", "ALTER SEQUENCE"),
    ];
    map.iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| format!("the statement {kind}"))
}
