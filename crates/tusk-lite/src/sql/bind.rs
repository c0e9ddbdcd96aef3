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
        _ => return None,
    })
}

/// The name PostgreSQL gives an output column (FigureColname).
pub fn figure_colname(n: &pb::Node) -> String {
    match &n.node {
        Some(N::ColumnRef(c)) => c
            .fields
            .last()
            .and_then(node_str)
            .unwrap_or("?column?")
            .to_string(),
        Some(N::FuncCall(f)) => f
            .funcname
            .last()
            .and_then(node_str)
            .unwrap_or("?column?")
            .to_string(),
        Some(N::TypeCast(tc)) => {
            let inner = tc.arg.as_deref().map(figure_colname).unwrap_or_default();
            if inner == "?column?" {
                tc.type_name
                    .as_ref()
                    .and_then(|t| t.names.last())
                    .and_then(node_str)
                    .unwrap_or("?column?")
                    .to_string()
            } else {
                inner
            }
        }
        Some(N::CaseExpr(_)) => "case".into(),
        Some(N::CoalesceExpr(_)) => "coalesce".into(),
        Some(N::MinMaxExpr(m)) => if m.op == pb::MinMaxOp::IsLeast as i32 {
            "least"
        } else {
            "greatest"
        }
        .into(),
        Some(N::AExpr(a)) if a.kind == pb::AExprKind::AexprNullif as i32 => "nullif".into(),
        Some(N::SubLink(s)) => match pb::SubLinkType::try_from(s.sub_link_type) {
            Ok(pb::SubLinkType::ExistsSublink) => "exists".into(),
            Ok(pb::SubLinkType::ExprSublink) => {
                match s.subselect.as_deref().and_then(|n| match &n.node {
                    Some(N::SelectStmt(sel)) => sel.target_list.first().cloned(),
                    _ => None,
                }) {
                    Some(t) => match &t.node {
                        Some(N::ResTarget(rt)) if !rt.name.is_empty() => rt.name.clone(),
                        Some(N::ResTarget(rt)) => {
                            rt.val.as_deref().map(figure_colname).unwrap_or_default()
                        }
                        _ => "?column?".into(),
                    },
                    None => "?column?".into(),
                }
            }
            _ => "?column?".into(),
        },
        Some(N::SqlvalueFunction(f)) => match pb::SqlValueFunctionOp::try_from(f.op) {
            Ok(pb::SqlValueFunctionOp::SvfopCurrentUser) => "current_user".into(),
            Ok(pb::SqlValueFunctionOp::SvfopSessionUser) => "session_user".into(),
            Ok(pb::SqlValueFunctionOp::SvfopUser) => "current_user".into(),
            Ok(pb::SqlValueFunctionOp::SvfopCurrentCatalog) => "current_catalog".into(),
            Ok(pb::SqlValueFunctionOp::SvfopCurrentSchema) => "current_schema".into(),
            _ => "?column?".into(),
        },
        Some(N::AConst(c)) if matches!(c.val, Some(pb::a_const::Val::Boolval(_))) => "bool".into(),
        _ => "?column?".into(),
    }
}

/// Resolves a TypeName to a type with its modifier.
pub fn resolve_type(t: &pb::TypeName) -> Result<ColType> {
    let parts = names(&t.names);
    let name = parts.last().cloned().unwrap_or_default();
    if !t.array_bounds.is_empty() {
        return Err(SqlError::unsupported(format!("type {name}[]")));
    }
    if t.setof || t.pct_type {
        return Err(SqlError::unsupported("%TYPE and SETOF"));
    }
    let ty = Type::from_name(&name).ok_or_else(|| {
        if matches!(
            name.as_str(),
            "date"
                | "time"
                | "timestamp"
                | "timestamptz"
                | "interval"
                | "uuid"
                | "json"
                | "jsonb"
                | "bytea"
                | "serial"
                | "bigserial"
                | "smallserial"
                | "serial4"
                | "serial8"
                | "timetz"
        ) {
            SqlError::unsupported(format!("type {name}"))
        } else {
            SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("type \"{name}\" does not exist"),
            )
        }
    })?;
    let mods: Vec<i64> = t
        .typmods
        .iter()
        .map(|m| match &m.node {
            Some(N::AConst(c)) => match &c.val {
                Some(pb::a_const::Val::Ival(i)) => Ok(i64::from(i.ival)),
                _ => Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    "type modifiers must be simple constants or identifiers",
                )),
            },
            _ => Err(SqlError::new(
                code::SYNTAX_ERROR,
                "type modifiers must be simple constants or identifiers",
            )),
        })
        .collect::<Result<_>>()?;
    let typmod = match (ty, mods.as_slice()) {
        (_, []) => -1,
        (Type::Varchar | Type::Bpchar, [n]) => {
            let label = if ty == Type::Varchar {
                "varchar"
            } else {
                "char"
            };
            if *n < 1 {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("length for type {label} must be at least 1"),
                ));
            }
            if *n > 10_485_760 {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("length for type {label} cannot exceed 10485760"),
                ));
            }
            i32::try_from(*n + 4).unwrap_or(-1)
        }
        (Type::Numeric, [p]) | (Type::Numeric, [p, _]) => {
            let s = mods.get(1).copied().unwrap_or(0);
            if !(1..=1000).contains(p) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("NUMERIC precision {p} must be between 1 and 1000"),
                ));
            }
            if s < 0 || s > *p {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("NUMERIC scale {s} must be between 0 and precision {p}"),
                ));
            }
            i32::try_from(((*p << 16) | s) + 4).unwrap_or(-1)
        }
        (Type::Timestamp | Type::Timestamptz, [p]) => {
            if !(0..=6).contains(p) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("TIMESTAMP({p}) precision must be between 0 and 6"),
                ));
            }
            i32::try_from(*p).unwrap_or(-1)
        }
        (Type::Float8 | Type::Float4, [p])
            if name == "float" || name == "float8" || name == "float4" =>
        {
            // float(p): 1-24 is real, 25-53 double precision.
            if *p < 1 {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "precision for type float must be at least 1 bit",
                ));
            }
            if *p > 53 {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "precision for type float must be less than 54 bits",
                ));
            }
            return Ok(ColType::plain(if *p <= 24 {
                Type::Float4
            } else {
                Type::Float8
            }));
        }
        _ => {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("type modifier is not allowed for type \"{name}\""),
            ))
        }
    };
    Ok(ColType { ty, typmod })
}

fn a_const_value(c: &pb::AConst) -> Expr {
    match &c.val {
        _ if c.isnull => Expr::constant(Value::Null, Type::Unknown),
        Some(pb::a_const::Val::Ival(i)) => {
            Expr::constant(Value::Int(i64::from(i.ival)), Type::Int4)
        }
        Some(pb::a_const::Val::Fval(f)) => {
            // Integer literals too large for int4 arrive as Float.
            if f.fval.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(i) = f.fval.parse::<i64>() {
                    return Expr::constant(Value::Int(i), Type::Int8);
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

fn range_var_name(r: &pb::RangeVar) -> (String, String) {
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

    /// Parameter types after binding: unresolved ones default to text.
    pub fn param_types(&self) -> Vec<Type> {
        self.params
            .iter()
            .map(|t| if *t == Type::Unknown { Type::Text } else { *t })
            .collect()
    }

    pub fn table(&self, r: &pb::RangeVar) -> Result<Arc<Table>> {
        let (schema, name) = range_var_name(r);
        self.catalog.table(&schema, &name).cloned().ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", r.relname),
            )
        })
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
            N::AlterTableStmt(s) => self.bind_alter_table(s),
            N::CopyStmt(s) => self.bind_copy(s),
            N::CreateSeqStmt(s) => self.bind_create_sequence(s),
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

    // ---- expressions -------------------------------------------------

    fn lookup_column(&self, fields: &[pb::Node]) -> Result<Expr> {
        let parts = names(fields);
        let (qual, name) = match parts.as_slice() {
            [c] => (None, c.as_str()),
            [t, c] => (Some(t.as_str()), c.as_str()),
            [_, t, c] => (Some(t.as_str()), c.as_str()),
            _ => return Err(SqlError::unsupported("this column reference")),
        };
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            match scope.lookup(qual, name) {
                Lookup::Found(i) => {
                    let c = &scope.cols[i];
                    return Ok(if depth == 0 {
                        Expr::column(i, c.ty)
                    } else {
                        Expr::new(ExprKind::Outer(depth, i), c.ty)
                    });
                }
                Lookup::Ambiguous => {
                    return Err(SqlError::new(
                        code::AMBIGUOUS_COLUMN,
                        format!("column reference \"{name}\" is ambiguous"),
                    ))
                }
                Lookup::NotFound => {}
            }
        }
        if let Some(q) = qual {
            if !self.scopes.iter().any(|s| s.has_qualifier(q)) {
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("missing FROM-clause entry for table \"{q}\""),
                ));
            }
            return Err(SqlError::new(
                code::UNDEFINED_COLUMN,
                format!("column {q}.{name} does not exist"),
            ));
        }
        Err(SqlError::new(
            code::UNDEFINED_COLUMN,
            format!("column \"{name}\" does not exist"),
        ))
    }

    pub fn bind_expr(&mut self, node: &pb::Node) -> Result<Expr> {
        let Some(n) = &node.node else {
            return Err(SqlError::new(code::SYNTAX_ERROR, "empty expression"));
        };
        match n {
            N::ColumnRef(c) => {
                if c.fields.iter().any(|f| matches!(f.node, Some(N::AStar(_)))) {
                    return Err(SqlError::unsupported("* in this position"));
                }
                self.lookup_column(&c.fields)
            }
            N::AConst(c) => Ok(a_const_value(c)),
            N::ParamRef(p) => {
                let i = usize::try_from(p.number - 1).map_err(|_| {
                    SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $0")
                })?;
                if self.params.len() <= i {
                    self.params.resize(i + 1, Type::Unknown);
                }
                Ok(Expr::new(
                    ExprKind::Param(i),
                    ColType::plain(self.params[i]),
                ))
            }
            N::TypeCast(tc) => {
                let to = resolve_type(
                    tc.type_name
                        .as_ref()
                        .ok_or_else(|| SqlError::internal("cast without type"))?,
                )?;
                let inner = self.bind_expr(
                    tc.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("cast without argument"))?,
                )?;
                self.explicit_cast(inner, to)
            }
            N::AExpr(a) => self.bind_a_expr(a),
            N::BoolExpr(b) => {
                let mut args = Vec::with_capacity(b.args.len());
                let label = match pb::BoolExprType::try_from(b.boolop) {
                    Ok(pb::BoolExprType::AndExpr) => "AND",
                    Ok(pb::BoolExprType::OrExpr) => "OR",
                    _ => "NOT",
                };
                for a in &b.args {
                    let e = self.bind_expr(a)?;
                    args.push(self.to_bool(e, label)?);
                }
                Ok(match pb::BoolExprType::try_from(b.boolop) {
                    Ok(pb::BoolExprType::AndExpr) => {
                        Expr::new(ExprKind::And(args), ColType::plain(Type::Bool))
                    }
                    Ok(pb::BoolExprType::OrExpr) => {
                        Expr::new(ExprKind::Or(args), ColType::plain(Type::Bool))
                    }
                    _ => Expr::new(
                        ExprKind::Not(Box::new(
                            args.into_iter()
                                .next()
                                .ok_or_else(|| SqlError::internal("NOT without argument"))?,
                        )),
                        ColType::plain(Type::Bool),
                    ),
                })
            }
            N::NullTest(t) => {
                let e = self.bind_expr(
                    t.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("IS NULL without argument"))?,
                )?;
                let e = if e.ty.ty == Type::Unknown {
                    self.coerce(e, ColType::plain(Type::Text), false)?
                } else {
                    e
                };
                Ok(Expr::new(
                    ExprKind::IsNull(
                        Box::new(e),
                        t.nulltesttype == pb::NullTestType::IsNotNull as i32,
                    ),
                    ColType::plain(Type::Bool),
                ))
            }
            N::BooleanTest(t) => {
                let e = self.bind_expr(
                    t.arg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("IS TRUE without argument"))?,
                )?;
                let e = self.to_bool(e, "IS TRUE")?;
                use pb::BoolTestType as B;
                let test = match B::try_from(t.booltesttype) {
                    Ok(B::IsTrue) => BoolTest::IsTrue,
                    Ok(B::IsNotTrue) => BoolTest::IsNotTrue,
                    Ok(B::IsFalse) => BoolTest::IsFalse,
                    Ok(B::IsNotFalse) => BoolTest::IsNotFalse,
                    Ok(B::IsUnknown) => BoolTest::IsUnknown,
                    _ => BoolTest::IsNotUnknown,
                };
                Ok(Expr::new(
                    ExprKind::BoolTest(Box::new(e), test),
                    ColType::plain(Type::Bool),
                ))
            }
            N::FuncCall(f) => self.bind_func(f),
            N::CaseExpr(c) => self.bind_case(c),
            N::CoalesceExpr(c) => {
                let args = self.bind_list(&c.args)?;
                let (args, ty) = self.unify_all(args, "COALESCE")?;
                Ok(Expr::new(ExprKind::Coalesce(args), ty))
            }
            N::MinMaxExpr(m) => {
                let args = self.bind_list(&m.args)?;
                let greatest = m.op == pb::MinMaxOp::IsGreatest as i32;
                let (args, ty) =
                    self.unify_all(args, if greatest { "GREATEST" } else { "LEAST" })?;
                Ok(Expr::new(ExprKind::Greatest(args, greatest), ty))
            }
            N::SubLink(s) => self.bind_sublink(s),
            N::SqlvalueFunction(f) => {
                use pb::SqlValueFunctionOp as O;
                let (func, ty) = match O::try_from(f.op) {
                    Ok(O::SvfopCurrentUser)
                    | Ok(O::SvfopUser)
                    | Ok(O::SvfopSessionUser)
                    | Ok(O::SvfopCurrentRole) => (Func::CurrentUser, Type::Name),
                    Ok(O::SvfopCurrentCatalog) => (Func::CurrentDatabase, Type::Name),
                    Ok(O::SvfopCurrentSchema) => (Func::CurrentSchema, Type::Name),
                    Ok(O::SvfopCurrentTimestamp) | Ok(O::SvfopCurrentTimestampN) => {
                        (Func::Now, Type::Timestamptz)
                    }
                    Ok(O::SvfopLocaltimestamp) | Ok(O::SvfopLocaltimestampN) => {
                        (Func::LocalTimestamp, Type::Timestamp)
                    }
                    Ok(O::SvfopCurrentDate) => (Func::CurrentDate, Type::Date),
                    _ => {
                        return Err(SqlError::unsupported(
                            "CURRENT_TIME and LOCALTIME (type time)",
                        ))
                    }
                };
                Ok(Expr::new(
                    ExprKind::Func(func, Vec::new()),
                    ColType::plain(ty),
                ))
            }
            N::SetToDefault(_) => Err(SqlError::new(
                code::SYNTAX_ERROR,
                "DEFAULT is not allowed in this context",
            )),
            _ => Err(unsupported_node(node)),
        }
    }

    pub(super) fn bind_list(&mut self, list: &[pb::Node]) -> Result<Vec<Expr>> {
        list.iter().map(|n| self.bind_expr(n)).collect()
    }

    fn explicit_cast(&mut self, inner: Expr, to: ColType) -> Result<Expr> {
        match &inner.kind {
            ExprKind::Const(Value::Text(s)) if inner.ty.ty == Type::Unknown => {
                let v = types::parse_text(s, ColType::plain(to.ty))?;
                let v = types::coerce_typmod(v, to, true)?;
                return Ok(Expr::new(ExprKind::Const(v), to));
            }
            ExprKind::Const(Value::Null) => return Ok(Expr::new(ExprKind::Const(Value::Null), to)),
            ExprKind::Param(i) if inner.ty.ty == Type::Unknown => {
                let i = *i;
                self.set_param_type(i, to.ty);
                let p = Expr::new(ExprKind::Param(i), ColType::plain(to.ty));
                return Ok(if to.typmod >= 0 {
                    Expr::new(ExprKind::Cast(Box::new(p), true), to)
                } else {
                    p
                });
            }
            _ => {}
        }
        let from = inner.ty.ty;
        let allowed = from == to.ty
            || (from.is_numeric_family() && to.ty.is_numeric_family())
            || from.is_string()
            || to.ty.is_string()
            || (matches!(from, Type::Date | Type::Timestamp | Type::Timestamptz)
                && matches!(to.ty, Type::Date | Type::Timestamp | Type::Timestamptz))
            || (from == Type::Bool && to.ty == Type::Int4)
            || (from == Type::Int4 && to.ty == Type::Bool);
        if !allowed {
            return Err(SqlError::new(
                code::CANNOT_COERCE,
                format!("cannot cast type {} to {}", from.name(), to.ty.name()),
            ));
        }
        // A cast of a constant folds now, as PostgreSQL's planner does.
        if let ExprKind::Const(v) = &inner.kind {
            let v = types::cast(v.clone(), from, to, true)?;
            return Ok(Expr::new(ExprKind::Const(v), to));
        }
        Ok(Expr::new(ExprKind::Cast(Box::new(inner), true), to))
    }

    pub fn to_bool(&mut self, e: Expr, context: &str) -> Result<Expr> {
        match e.ty.ty {
            Type::Bool => Ok(e),
            Type::Unknown => self.coerce(e, ColType::plain(Type::Bool), false),
            other => Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "argument of {context} must be type boolean, not type {}",
                    other.name()
                ),
            )),
        }
    }

    /// Brings both operands to their common type.
    fn unify_pair(&mut self, a: Expr, b: Expr, op: &str) -> Result<(Expr, Expr, Type)> {
        let t =
            common_type(a.ty.ty, b.ty.ty).ok_or_else(|| operator_error(op, a.ty.ty, b.ty.ty))?;
        let a = self.coerce_plain(a, t)?;
        let b = self.coerce_plain(b, t)?;
        Ok((a, b, t))
    }

    pub(super) fn coerce_plain(&mut self, e: Expr, t: Type) -> Result<Expr> {
        if e.ty.ty == t {
            return Ok(e);
        }
        self.coerce(e, ColType::plain(t), false)
    }

    fn unify_all(&mut self, args: Vec<Expr>, what: &str) -> Result<(Vec<Expr>, ColType)> {
        let mut t = Type::Unknown;
        for a in &args {
            t = common_type(t, a.ty.ty).ok_or_else(|| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "{what} types {} and {} cannot be matched",
                        t.name(),
                        a.ty.ty.name()
                    ),
                )
            })?;
        }
        if t == Type::Unknown {
            t = Type::Text;
        }
        let same_typmod = args
            .first()
            .map(|a| a.ty)
            .filter(|f| args.iter().all(|a| a.ty == *f));
        let out = args
            .into_iter()
            .map(|a| self.coerce_plain(a, t))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            out,
            same_typmod
                .filter(|c| c.ty == t)
                .unwrap_or(ColType::plain(t)),
        ))
    }

    fn binary(&mut self, op: &str, l: Expr, r: Expr) -> Result<Expr> {
        let bop = match op {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            "=" => BinOp::Eq,
            "<>" | "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "||" => BinOp::Concat,
            _ => return Err(SqlError::unsupported(format!("operator {op}"))),
        };
        if bop == BinOp::Concat {
            let (lt, rt) = (l.ty.ty, r.ty.ty);
            if !(lt.is_string() || rt.is_string()) {
                return Err(operator_error(op, lt, rt));
            }
            let l = self.coerce(l, ColType::plain(Type::Text), true)?;
            let r = self.coerce(r, ColType::plain(Type::Text), true)?;
            return Ok(Expr::new(
                ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                ColType::plain(Type::Text),
            ));
        }
        let dt = |t: Type| matches!(t, Type::Date | Type::Timestamp | Type::Timestamptz);
        if !bop.is_comparison() && (dt(l.ty.ty) || dt(r.ty.ty)) {
            let (lt, rt) = (l.ty.ty, r.ty.ty);
            let int_like = |t: Type| t.is_integer() || t == Type::Unknown;
            return match (bop, lt, rt) {
                (BinOp::Add | BinOp::Sub, Type::Date, r_t) if int_like(r_t) => {
                    let r = self.coerce_plain(r, Type::Int4)?;
                    Ok(Expr::new(
                        ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                        ColType::plain(Type::Date),
                    ))
                }
                (BinOp::Add, l_t, Type::Date) if int_like(l_t) => {
                    let l = self.coerce_plain(l, Type::Int4)?;
                    Ok(Expr::new(
                        ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                        ColType::plain(Type::Date),
                    ))
                }
                (BinOp::Sub, Type::Date, Type::Date) => Ok(Expr::new(
                    ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                    ColType::plain(Type::Int4),
                )),
                (BinOp::Sub, Type::Timestamp | Type::Timestamptz, _)
                | (_, _, Type::Timestamp | Type::Timestamptz) => {
                    Err(SqlError::unsupported("interval arithmetic"))
                }
                _ => Err(operator_error(op, lt, rt)),
            };
        }
        let (l, r, t) = self.unify_pair(l, r, op)?;
        if bop.is_comparison() {
            return Ok(Expr::new(
                ExprKind::Binary(bop, Box::new(l), Box::new(r)),
                ColType::plain(Type::Bool),
            ));
        }
        if !t.is_numeric_family() || (bop == BinOp::Mod && matches!(t, Type::Float4 | Type::Float8))
        {
            return Err(operator_error(op, t, t));
        }
        Ok(Expr::new(
            ExprKind::Binary(bop, Box::new(l), Box::new(r)),
            ColType::plain(t),
        ))
    }

    fn bind_a_expr(&mut self, a: &pb::AExpr) -> Result<Expr> {
        use pb::AExprKind as K;
        let op = a.name.last().and_then(node_str).unwrap_or("").to_string();
        let kind = K::try_from(a.kind).unwrap_or(K::Undefined);
        let lexpr = a.lexpr.as_deref();
        let rexpr = a
            .rexpr
            .as_deref()
            .ok_or_else(|| SqlError::internal("operator without right operand"))?;
        match kind {
            K::AexprOp => {
                let Some(l) = lexpr else {
                    // Prefix operators.
                    let r = self.bind_expr(rexpr)?;
                    return match op.as_str() {
                        "-" => {
                            if let ExprKind::Const(v) = &r.kind {
                                let folded = match v {
                                    Value::Int(i) => Some(Value::Int(-i)),
                                    Value::Numeric(n) => Some(Value::Numeric(n.neg())),
                                    Value::Float(f) => Some(Value::Float(-f)),
                                    _ => None,
                                };
                                if let Some(v) = folded {
                                    let ty = if r.ty.ty == Type::Int8
                                        && matches!(v, Value::Int(i) if i32::try_from(i).is_ok())
                                    {
                                        Type::Int4
                                    } else {
                                        r.ty.ty
                                    };
                                    return Ok(Expr::constant(v, ty));
                                }
                            }
                            if !r.ty.ty.is_numeric_family() {
                                return Err(SqlError::new(
                                    code::UNDEFINED_FUNCTION,
                                    format!("operator does not exist: - {}", r.ty.ty.name()),
                                ));
                            }
                            let ty = r.ty;
                            Ok(Expr::new(ExprKind::Neg(Box::new(r)), ColType::plain(ty.ty)))
                        }
                        "+" => Ok(r),
                        _ => Err(SqlError::unsupported(format!("prefix operator {op}"))),
                    };
                };
                let l = self.bind_expr(l)?;
                let r = self.bind_expr(rexpr)?;
                match op.as_str() {
                    "~~" | "!~~" | "~~*" | "!~~*" => {
                        self.like(l, r, op.contains('*'), op.starts_with('!'))
                    }
                    _ => self.binary(&op, l, r),
                }
            }
            K::AexprLike | K::AexprIlike => {
                let l = self
                    .bind_expr(lexpr.ok_or_else(|| SqlError::internal("LIKE without operand"))?)?;
                let r = self.bind_expr(rexpr)?;
                self.like(l, r, kind == K::AexprIlike, op.starts_with('!'))
            }
            K::AexprDistinct | K::AexprNotDistinct => {
                let l = self.bind_expr(
                    lexpr.ok_or_else(|| SqlError::internal("IS DISTINCT without operand"))?,
                )?;
                let r = self.bind_expr(rexpr)?;
                let (l, r, _) = self.unify_pair(l, r, "=")?;
                Ok(Expr::new(
                    ExprKind::IsDistinct(Box::new(l), Box::new(r), kind == K::AexprNotDistinct),
                    ColType::plain(Type::Bool),
                ))
            }
            K::AexprNullif => {
                let l = self.bind_expr(
                    lexpr.ok_or_else(|| SqlError::internal("NULLIF without operand"))?,
                )?;
                let r = self.bind_expr(rexpr)?;
                let (l, r, _) = self.unify_pair(l, r, "=")?;
                let ty = l.ty;
                Ok(Expr::new(ExprKind::NullIf(Box::new(l), Box::new(r)), ty))
            }
            K::AexprIn => {
                let l =
                    self.bind_expr(lexpr.ok_or_else(|| SqlError::internal("IN without operand"))?)?;
                let Some(N::List(list)) = &rexpr.node else {
                    return Err(SqlError::unsupported("IN with this right operand"));
                };
                let items = self.bind_list(&list.items)?;
                let mut all = vec![l];
                all.extend(items);
                let mut t = Type::Unknown;
                for e in &all {
                    t = common_type(t, e.ty.ty)
                        .ok_or_else(|| operator_error("=", all[0].ty.ty, e.ty.ty))?;
                }
                let t = if t == Type::Unknown { Type::Text } else { t };
                let mut all = all
                    .into_iter()
                    .map(|e| self.coerce_plain(e, t))
                    .collect::<Result<Vec<_>>>()?;
                let l = all.remove(0);
                Ok(Expr::new(
                    ExprKind::InList(Box::new(l), all, op == "<>"),
                    ColType::plain(Type::Bool),
                ))
            }
            K::AexprBetween | K::AexprNotBetween => {
                let l = self.bind_expr(
                    lexpr.ok_or_else(|| SqlError::internal("BETWEEN without operand"))?,
                )?;
                let Some(N::List(list)) = &rexpr.node else {
                    return Err(SqlError::internal("BETWEEN bounds"));
                };
                let lo = self.bind_expr(&list.items[0])?;
                let hi = self.bind_expr(&list.items[1])?;
                let ge = self.binary(">=", l.clone(), lo)?;
                let le = self.binary("<=", l, hi)?;
                let both = Expr::new(ExprKind::And(vec![ge, le]), ColType::plain(Type::Bool));
                Ok(if kind == K::AexprNotBetween {
                    Expr::new(ExprKind::Not(Box::new(both)), ColType::plain(Type::Bool))
                } else {
                    both
                })
            }
            K::AexprOpAny | K::AexprOpAll => Err(SqlError::unsupported("op ANY/ALL (array)")),
            _ => Err(SqlError::unsupported(format!("operator kind {kind:?}"))),
        }
    }

    fn like(&mut self, l: Expr, r: Expr, ci: bool, negated: bool) -> Result<Expr> {
        if !l.ty.ty.is_string() {
            return Err(operator_error(
                if ci { "~~*" } else { "~~" },
                l.ty.ty,
                r.ty.ty,
            ));
        }
        let l = self.coerce(l, ColType::plain(Type::Text), false)?;
        let r = self.coerce(r, ColType::plain(Type::Text), false)?;
        Ok(Expr::new(
            ExprKind::Like {
                expr: Box::new(l),
                pattern: Box::new(r),
                case_insensitive: ci,
                negated,
            },
            ColType::plain(Type::Bool),
        ))
    }

    fn bind_case(&mut self, c: &pb::CaseExpr) -> Result<Expr> {
        let operand = match c.arg.as_deref() {
            Some(a) => Some(self.bind_expr(a)?),
            None => None,
        };
        let mut conds = Vec::new();
        let mut results = Vec::new();
        for w in &c.args {
            let Some(N::CaseWhen(cw)) = &w.node else {
                continue;
            };
            let cond = self.bind_expr(
                cw.expr
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("WHEN"))?,
            )?;
            conds.push(cond);
            results.push(
                self.bind_expr(
                    cw.result
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("THEN"))?,
                )?,
            );
        }
        let default = match c.defresult.as_deref() {
            Some(d) => Some(self.bind_expr(d)?),
            None => None,
        };
        let mut all = results;
        let has_default = default.is_some();
        if let Some(d) = default {
            all.push(d);
        }
        let (mut all, ty) = self.unify_all(all, "CASE")?;
        let default = if has_default { all.pop() } else { None };
        // Conditions: booleans, or (with an operand) comparable to it.
        let mut operand_b = operand;
        let mut whens = Vec::new();
        for (cond, res) in conds.into_iter().zip(all) {
            let cond = match &mut operand_b {
                Some(op) => {
                    let (o, cnd, _) = self.unify_pair(op.clone(), cond, "=")?;
                    *op = o;
                    cnd
                }
                None => self.to_bool(cond, "CASE/WHEN")?,
            };
            whens.push((cond, res));
        }
        Ok(Expr::new(
            ExprKind::Case {
                operand: operand_b.map(Box::new),
                whens,
                default: default.map(Box::new),
            },
            ty,
        ))
    }

    fn bind_func(&mut self, f: &pb::FuncCall) -> Result<Expr> {
        let parts = names(&f.funcname);
        let name = parts
            .last()
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if parts.len() > 1 && parts[0] != "pg_catalog" {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {}() does not exist", parts.join(".")),
            ));
        }
        if f.over.is_some() {
            return Err(SqlError::unsupported("window functions"));
        }
        if let Some(agg) = agg_func(&name) {
            return self.bind_agg(agg, f, &name);
        }
        if f.agg_star || f.agg_distinct || !f.agg_order.is_empty() || f.agg_filter.is_some() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("{name} is not an aggregate function"),
            ));
        }
        let args = self.bind_list(&f.args)?;
        let n = args.len();
        let text = ColType::plain(Type::Text);
        let arg_types: Vec<Type> = args.iter().map(|a| a.ty.ty).collect();
        let no_func = || {
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function {name}({}) does not exist",
                    arg_types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let mut args = args;
        let (func, ty): (Func, ColType) = match (name.as_str(), n) {
            ("lower", 1)
            | ("upper", 1)
            | ("btrim", 1 | 2)
            | ("ltrim", 1 | 2)
            | ("rtrim", 1 | 2) => {
                if !arg_types.iter().all(|t| t.is_string()) {
                    return Err(no_func());
                }
                let func = match name.as_str() {
                    "lower" => Func::Lower,
                    "upper" => Func::Upper,
                    "btrim" => Func::Btrim,
                    "ltrim" => Func::Ltrim,
                    _ => Func::Rtrim,
                };
                (func, text)
            }
            ("length" | "char_length" | "character_length", 1) => {
                if !arg_types[0].is_string() {
                    return Err(no_func());
                }
                (Func::Length, ColType::plain(Type::Int4))
            }
            ("abs", 1) | ("sign", 1) | ("floor", 1) | ("ceil", 1) | ("ceiling", 1) => {
                let t = if arg_types[0] == Type::Unknown {
                    Type::Float8
                } else {
                    arg_types[0]
                };
                if !t.is_numeric_family() {
                    return Err(no_func());
                }
                let func = match name.as_str() {
                    "abs" => Func::Abs,
                    "sign" => Func::Sign,
                    "floor" => Func::Floor,
                    _ => Func::Ceil,
                };
                let t = if func != Func::Abs && t.is_integer() {
                    Type::Float8
                } else {
                    t
                };
                let t = if func != Func::Abs && t == Type::Float4 {
                    Type::Float8
                } else {
                    t
                };
                let t = if func != Func::Abs && t == Type::Numeric {
                    Type::Numeric
                } else {
                    t
                };
                (func, ColType::plain(t))
            }
            ("round" | "trunc", 1 | 2) => {
                let func = if name == "round" {
                    Func::Round
                } else {
                    Func::Trunc
                };
                let t = if n == 2 || arg_types[0] == Type::Numeric || arg_types[0].is_integer() {
                    if n == 1 && arg_types[0].is_integer() {
                        Type::Float8
                    } else {
                        Type::Numeric
                    }
                } else {
                    Type::Float8
                };
                if !arg_types[0].is_numeric_family() && arg_types[0] != Type::Unknown {
                    return Err(no_func());
                }
                (func, ColType::plain(t))
            }
            ("sqrt", 1) => (Func::Sqrt, ColType::plain(Type::Float8)),
            ("power" | "pow", 2) => (Func::Power, ColType::plain(Type::Float8)),
            ("mod", 2) => {
                let t = common_type(arg_types[0], arg_types[1]).ok_or_else(no_func)?;
                if !t.is_numeric_family() || matches!(t, Type::Float4 | Type::Float8) {
                    return Err(no_func());
                }
                (Func::Mod, ColType::plain(t))
            }
            ("concat", _) => {
                for a in &mut args {
                    if a.ty.ty == Type::Unknown {
                        *a = self.coerce(a.clone(), text, false)?;
                    }
                }
                return Ok(Expr::new(ExprKind::Func(Func::Concat, args), text));
            }
            ("substr" | "substring", 2 | 3) => (Func::Substr, text),
            ("replace", 3) => (Func::Replace, text),
            ("strpos", 2) => {
                args.swap(0, 1);
                (Func::Position, ColType::plain(Type::Int4))
            }
            ("position", 2) => (Func::Position, ColType::plain(Type::Int4)),
            ("left", 2) => (Func::Left, text),
            ("right", 2) => (Func::Right, text),
            ("repeat", 2) => (Func::Repeat, text),
            ("version", 0) => (Func::Version, text),
            ("current_database", 0) => (Func::CurrentDatabase, ColType::plain(Type::Name)),
            ("current_schema", 0) => (Func::CurrentSchema, ColType::plain(Type::Name)),
            ("pg_typeof", 1) => (Func::PgTypeof, text),
            ("random", 0) => (Func::Random, ColType::plain(Type::Float8)),
            ("nextval", 1) | ("currval", 1) => {
                let f = if name == "nextval" {
                    Func::Nextval
                } else {
                    Func::Currval
                };
                (f, ColType::plain(Type::Int8))
            }
            ("setval", 2 | 3) => (Func::Setval, ColType::plain(Type::Int8)),
            ("now" | "transaction_timestamp", 0) => (Func::Now, ColType::plain(Type::Timestamptz)),
            ("clock_timestamp", 0) => (Func::ClockTimestamp, ColType::plain(Type::Timestamptz)),
            (
                "statement_timestamp"
                | "generate_series"
                | "to_char"
                | "date_trunc"
                | "extract"
                | "date_part"
                | "array_agg"
                | "json_build_object"
                | "jsonb_build_object"
                | "gen_random_uuid"
                | "pg_sleep",
                _,
            ) => return Err(SqlError::unsupported(format!("function {name}()"))),
            _ => return Err(no_func()),
        };
        // Argument types each function takes.
        let want: Vec<Type> = match func {
            Func::Lower
            | Func::Upper
            | Func::Length
            | Func::Btrim
            | Func::Ltrim
            | Func::Rtrim
            | Func::Replace
            | Func::Position => vec![Type::Text; n],
            Func::Substr => vec![Type::Text, Type::Int4, Type::Int4],
            Func::Nextval | Func::Currval => vec![Type::Text],
            Func::Setval => vec![Type::Text, Type::Int8, Type::Bool],
            Func::Left | Func::Right | Func::Repeat => vec![Type::Text, Type::Int4],
            Func::Round | Func::Trunc => vec![ty.ty, Type::Int4],
            Func::Sqrt | Func::Power => vec![Type::Float8, Type::Float8],
            Func::Abs | Func::Sign | Func::Floor | Func::Ceil | Func::Mod => vec![ty.ty; n],
            _ => Vec::new(),
        };
        let mut bound = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            let t = want.get(i).copied().unwrap_or(a.ty.ty);
            let a = if func == Func::PgTypeof || (func == Func::Length && a.ty.ty == Type::Bpchar) {
                a
            } else if a.ty.ty.is_string() && t.is_string() {
                self.coerce(a, ColType::plain(Type::Text), false)?
            } else {
                self.coerce(a, ColType::plain(t), false)
                    .map_err(|_| no_func())?
            };
            bound.push(a);
        }
        Ok(Expr::new(ExprKind::Func(func, bound), ty))
    }

    fn bind_agg(&mut self, agg: AggFunc, f: &pb::FuncCall, name: &str) -> Result<Expr> {
        if self.aggs.is_none() {
            return Err(SqlError::new(
                code::GROUPING_ERROR,
                format!(
                    "aggregate functions are not allowed in {}",
                    self.no_agg_context
                ),
            ));
        }
        if !f.agg_order.is_empty() || f.agg_filter.is_some() {
            return Err(SqlError::unsupported("aggregate ORDER BY and FILTER"));
        }
        // Arguments are bound in the input scope, with aggregates forbidden.
        let saved = self.aggs.take();
        let saved_ctx = self.no_agg_context;
        self.no_agg_context = "aggregate function calls";
        let args = if f.agg_star {
            Ok(Vec::new())
        } else {
            self.bind_list(&f.args)
        };
        self.aggs = saved;
        self.no_agg_context = saved_ctx;
        let mut args = args.map_err(|e| {
            if e.code == code::GROUPING_ERROR {
                SqlError::new(
                    code::GROUPING_ERROR,
                    "aggregate function calls cannot be nested",
                )
            } else {
                e
            }
        })?;
        let func = if f.agg_star { AggFunc::CountStar } else { agg };
        let arity_ok = match func {
            AggFunc::CountStar => args.is_empty(),
            AggFunc::StringAgg => args.len() == 2,
            _ => args.len() == 1,
        };
        let types: Vec<&str> = args.iter().map(|a| a.ty.ty.name()).collect();
        let no_func = SqlError::new(
            code::UNDEFINED_FUNCTION,
            format!("function {name}({}) does not exist", types.join(", ")),
        )
        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.");
        if !arity_ok {
            return Err(no_func);
        }
        let at = args.first().map(|a| a.ty.ty).unwrap_or(Type::Unknown);
        let ty = match func {
            AggFunc::CountStar | AggFunc::Count => Type::Int8,
            AggFunc::Sum => match at {
                Type::Int2 | Type::Int4 => Type::Int8,
                Type::Int8 | Type::Numeric => Type::Numeric,
                Type::Float4 => Type::Float4,
                Type::Float8 | Type::Unknown => Type::Float8,
                _ => return Err(no_func),
            },
            AggFunc::Avg => match at {
                Type::Int2 | Type::Int4 | Type::Int8 | Type::Numeric => Type::Numeric,
                Type::Float4 | Type::Float8 | Type::Unknown => Type::Float8,
                _ => return Err(no_func),
            },
            AggFunc::Min | AggFunc::Max => {
                if at == Type::Unknown {
                    Type::Text
                } else {
                    at
                }
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => {
                if at != Type::Bool && at != Type::Unknown {
                    return Err(no_func);
                }
                Type::Bool
            }
            AggFunc::StringAgg => Type::Text,
        };
        // Coerce arguments to the aggregate's input type.
        for (i, a) in args.iter_mut().enumerate() {
            let want = match func {
                AggFunc::StringAgg => Type::Text,
                AggFunc::BoolAnd | AggFunc::BoolOr => Type::Bool,
                AggFunc::Sum | AggFunc::Avg if a.ty.ty == Type::Unknown => Type::Float8,
                AggFunc::Min | AggFunc::Max if a.ty.ty == Type::Unknown => Type::Text,
                _ => a.ty.ty,
            };
            if a.ty.ty != want || i > 0 {
                *a = self.coerce(a.clone(), ColType::plain(want), false)?;
            }
        }
        let ty = if matches!(func, AggFunc::Min | AggFunc::Max) {
            args[0].ty
        } else {
            ColType::plain(ty)
        };
        let call = AggCall {
            func,
            args,
            distinct: f.agg_distinct,
            ty,
        };
        let list = self
            .aggs
            .as_mut()
            .ok_or_else(|| SqlError::internal("aggregate context"))?;
        let idx = match list.iter().position(|c| *c == call) {
            Some(i) => i,
            None => {
                list.push(call);
                list.len() - 1
            }
        };
        Ok(Expr::new(ExprKind::Agg(idx), ty))
    }

    fn bind_sublink(&mut self, s: &pb::SubLink) -> Result<Expr> {
        use pb::SubLinkType as K;
        let Some(N::SelectStmt(sel)) = s.subselect.as_deref().and_then(|n| n.node.as_ref()) else {
            return Err(SqlError::internal("subquery without SELECT"));
        };
        let kind = K::try_from(s.sub_link_type).unwrap_or(K::Undefined);
        // The subquery sees this query's columns as outer references.
        let saved_aggs = self.aggs.take();
        let q = self.bind_select(sel);
        self.aggs = saved_aggs;
        let q = q?;
        match kind {
            K::ExistsSublink => Ok(Expr::new(
                ExprKind::Subquery {
                    plan: Box::new(q.plan),
                    kind: SubqueryKind::Exists,
                    left: None,
                },
                ColType::plain(Type::Bool),
            )),
            K::ExprSublink => {
                if q.columns.len() != 1 {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "subquery must return only one column",
                    ));
                }
                let ty = q.columns[0].ty;
                Ok(Expr::new(
                    ExprKind::Subquery {
                        plan: Box::new(q.plan),
                        kind: SubqueryKind::Scalar,
                        left: None,
                    },
                    ty,
                ))
            }
            K::AnySublink | K::AllSublink => {
                if q.columns.len() != 1 {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "subquery has too many columns",
                    ));
                }
                let op = s
                    .oper_name
                    .last()
                    .and_then(node_str)
                    .unwrap_or("=")
                    .to_string();
                let left = self.bind_expr(
                    s.testexpr
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("IN without operand"))?,
                )?;
                let sub_ty = q.columns[0].ty.ty;
                let t = common_type(left.ty.ty, sub_ty)
                    .ok_or_else(|| operator_error(&op, left.ty.ty, sub_ty))?;
                let left = self.coerce_plain(left, t)?;
                let mut plan = q.plan;
                if sub_ty != t {
                    let col = Expr::column(0, ColType::plain(sub_ty));
                    let cast = Expr::new(ExprKind::Cast(Box::new(col), false), ColType::plain(t));
                    plan = Plan::Project(Box::new(plan), vec![cast]);
                }
                let bop = match op.as_str() {
                    "=" => BinOp::Eq,
                    "<>" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    "<=" => BinOp::Le,
                    ">" => BinOp::Gt,
                    ">=" => BinOp::Ge,
                    _ => return Err(SqlError::unsupported(format!("operator {op} with ANY/ALL"))),
                };
                let kind = if kind == K::AnySublink {
                    SubqueryKind::Any(bop)
                } else {
                    SubqueryKind::All(bop)
                };
                Ok(Expr::new(
                    ExprKind::Subquery {
                        plan: Box::new(plan),
                        kind,
                        left: Some(Box::new(left)),
                    },
                    ColType::plain(Type::Bool),
                ))
            }
            _ => Err(SqlError::unsupported("this kind of subquery")),
        }
    }

    // ---- SELECT ------------------------------------------------------

    fn bind_from_item(&mut self, node: &pb::Node) -> Result<(Plan, Scope)> {
        match &node.node {
            Some(N::RangeVar(r))
                if r.schemaname.is_empty() && self.ctes.iter().any(|(n, _)| *n == r.relname) =>
            {
                let (_, q) = self
                    .ctes
                    .iter()
                    .rev()
                    .find(|(n, _)| *n == r.relname)
                    .cloned()
                    .ok_or_else(|| SqlError::internal("cte"))?;
                let qual = r
                    .alias
                    .as_ref()
                    .map(|a| a.aliasname.clone())
                    .unwrap_or_else(|| r.relname.clone());
                let alias_cols = r
                    .alias
                    .as_ref()
                    .map(|a| names(&a.colnames))
                    .unwrap_or_default();
                let cols = q
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                        ty: c.ty,
                        table_oid: 0,
                        attnum: 0,
                        hidden: false,
                    })
                    .collect();
                Ok((q.plan, Scope { cols }))
            }
            Some(N::RangeVar(r)) => {
                if !r.schemaname.is_empty() && r.schemaname != "public" {
                    if r.schemaname == "pg_catalog" || r.schemaname == "information_schema" {
                        return Err(SqlError::unsupported(format!(
                            "system catalog {}.{}",
                            r.schemaname, r.relname
                        )));
                    }
                    return Err(SqlError::new(
                        code::UNDEFINED_TABLE,
                        format!("relation \"{}.{}\" does not exist", r.schemaname, r.relname),
                    ));
                }
                let t = self.table(r)?;
                let qual = r
                    .alias
                    .as_ref()
                    .map(|a| a.aliasname.clone())
                    .unwrap_or_else(|| t.name.clone());
                let alias_cols = r
                    .alias
                    .as_ref()
                    .map(|a| names(&a.colnames))
                    .unwrap_or_default();
                let cols = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeCol {
                        qualifier: Some(qual.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                        ty: c.ty,
                        table_oid: t.oid,
                        attnum: i16::try_from(i + 1).unwrap_or(0),
                        hidden: false,
                    })
                    .collect();
                Ok((
                    Plan::Scan {
                        table: t,
                        key: None,
                    },
                    Scope { cols },
                ))
            }
            Some(N::JoinExpr(j)) => {
                let (lp, ls) = self.bind_from_item(
                    j.larg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("join"))?,
                )?;
                let (rp, rs) = self.bind_from_item(
                    j.rarg
                        .as_deref()
                        .ok_or_else(|| SqlError::internal("join"))?,
                )?;
                let left_width = ls.cols.len();
                let right_width = rs.cols.len();
                let mut scope = ls;
                scope.cols.extend(rs.cols);
                let kind = match pb::JoinType::try_from(j.jointype) {
                    Ok(pb::JoinType::JoinInner) => JoinKind::Inner,
                    Ok(pb::JoinType::JoinLeft) => JoinKind::Left,
                    Ok(pb::JoinType::JoinRight) => JoinKind::Right,
                    Ok(pb::JoinType::JoinFull) => JoinKind::Full,
                    _ => return Err(SqlError::unsupported("this join type")),
                };
                let on = match j.quals.as_deref() {
                    Some(q) => {
                        self.scopes.push(scope);
                        let e = self.bind_expr(q).and_then(|e| self.to_bool(e, "JOIN/ON"));
                        let scope_back = self.scopes.pop();
                        scope = scope_back.unwrap_or_default();
                        Some(e?)
                    }
                    None => None,
                };
                if j.alias.is_some() || j.join_using_alias.is_some() {
                    return Err(SqlError::unsupported("an alias on a JOIN"));
                }
                if j.is_natural || !j.using_clause.is_empty() {
                    return self.bind_join_using(j, lp, rp, scope, left_width, right_width, kind);
                }
                Ok((
                    Plan::Join {
                        left: Box::new(lp),
                        right: Box::new(rp),
                        kind,
                        on,
                        left_width,
                        right_width,
                    },
                    scope,
                ))
            }
            Some(N::RangeSubselect(s)) => {
                if s.lateral {
                    return Err(SqlError::unsupported("LATERAL"));
                }
                let Some(N::SelectStmt(sel)) = s.subquery.as_deref().and_then(|n| n.node.as_ref())
                else {
                    return Err(SqlError::internal("subquery in FROM"));
                };
                let alias = s.alias.as_ref().ok_or_else(|| {
                    SqlError::new(code::SYNTAX_ERROR, "subquery in FROM must have an alias")
                })?;
                let q = self.bind_select(sel)?;
                let alias_cols = names(&alias.colnames);
                let cols = q
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeCol {
                        qualifier: Some(alias.aliasname.clone()),
                        name: alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                        ty: c.ty,
                        table_oid: 0,
                        attnum: 0,
                        hidden: false,
                    })
                    .collect();
                Ok((q.plan, Scope { cols }))
            }
            Some(N::RangeFunction(rf)) => self.bind_range_function(rf),
            _ => Err(unsupported_node(node)),
        }
    }

    /// JOIN ... USING (cols) and NATURAL JOIN: equality on the named
    /// columns, which then appear once (merged) before the other columns.
    #[allow(clippy::too_many_arguments)]
    fn bind_join_using(
        &mut self,
        j: &pb::JoinExpr,
        lp: Plan,
        rp: Plan,
        scope: Scope,
        left_width: usize,
        right_width: usize,
        kind: JoinKind,
    ) -> Result<(Plan, Scope)> {
        let (ls, rs) = scope.cols.split_at(left_width);
        let names_used: Vec<String> = if j.is_natural {
            ls.iter()
                .filter(|c| !c.hidden && rs.iter().any(|r| !r.hidden && r.name == c.name))
                .map(|c| c.name.clone())
                .collect()
        } else {
            names(&j.using_clause)
        };
        let find = |cols: &[ScopeCol], n: &str, side: &str| -> Result<usize> {
            let hits: Vec<usize> = cols
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.hidden && c.name == n)
                .map(|(i, _)| i)
                .collect();
            match hits.as_slice() {
                [i] => Ok(*i),
                [] => Err(SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!(
                        "column \"{n}\" specified in USING clause does not exist in {side} table"
                    ),
                )),
                _ => Err(SqlError::new(
                    code::AMBIGUOUS_COLUMN,
                    format!("common column name \"{n}\" appears more than once in {side} table"),
                )),
            }
        };
        let mut conds = Vec::new();
        let mut merged = Vec::new();
        let mut merged_cols = Vec::new();
        let mut hide_left = Vec::new();
        let mut hide_right = Vec::new();
        for n in &names_used {
            let li = find(ls, n, "left")?;
            let ri = find(rs, n, "right")?;
            let l = Expr::column(li, ls[li].ty);
            let r = Expr::column(left_width + ri, rs[ri].ty);
            let (l, r, t) = self.unify_pair(l, r, "=")?;
            conds.push(Expr::new(
                ExprKind::Binary(BinOp::Eq, Box::new(l.clone()), Box::new(r.clone())),
                ColType::plain(Type::Bool),
            ));
            let ty = if ls[li].ty == rs[ri].ty {
                ls[li].ty
            } else {
                ColType::plain(t)
            };
            merged.push(match kind {
                JoinKind::Inner | JoinKind::Left => l,
                JoinKind::Right => r,
                JoinKind::Full => Expr::new(ExprKind::Coalesce(vec![l, r]), ty),
            });
            merged_cols.push(ScopeCol {
                qualifier: None,
                name: n.clone(),
                ty,
                table_oid: 0,
                attnum: 0,
                hidden: false,
            });
            hide_left.push(li);
            hide_right.push(ri);
        }
        let on = match conds.len() {
            0 => None,
            1 => conds.pop(),
            _ => Some(Expr::new(ExprKind::And(conds), ColType::plain(Type::Bool))),
        };
        let join = Plan::Join {
            left: Box::new(lp),
            right: Box::new(rp),
            kind,
            on,
            left_width,
            right_width,
        };
        let mut exprs = merged;
        let mut cols = merged_cols;
        for (i, c) in ls.iter().enumerate() {
            exprs.push(Expr::column(i, c.ty));
            let mut c = c.clone();
            c.hidden = c.hidden || hide_left.contains(&i);
            cols.push(c);
        }
        for (i, c) in rs.iter().enumerate() {
            exprs.push(Expr::column(left_width + i, c.ty));
            let mut c = c.clone();
            c.hidden = c.hidden || hide_right.contains(&i);
            cols.push(c);
        }
        Ok((Plan::Project(Box::new(join), exprs), Scope { cols }))
    }

    fn bind_range_function(&mut self, rf: &pb::RangeFunction) -> Result<(Plan, Scope)> {
        if rf.lateral {
            return Err(SqlError::unsupported("LATERAL"));
        }
        if rf.ordinality {
            return Err(SqlError::unsupported("WITH ORDINALITY"));
        }
        if rf.is_rowsfrom || rf.functions.len() != 1 {
            return Err(SqlError::unsupported("ROWS FROM"));
        }
        let Some(N::List(l)) = &rf.functions[0].node else {
            return Err(SqlError::internal("function in FROM"));
        };
        let Some(N::FuncCall(f)) = l.items.first().and_then(|n| n.node.as_ref()) else {
            return Err(SqlError::unsupported("this function in FROM"));
        };
        let fname = names(&f.funcname).pop().unwrap_or_default();
        if fname != "generate_series" {
            return Err(SqlError::unsupported(format!("function {fname}() in FROM")));
        }
        if !(2..=3).contains(&f.args.len()) {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                "function generate_series() does not exist",
            ));
        }
        let mut args = self.bind_list(&f.args)?;
        let mut t = Type::Unknown;
        for a in &args {
            t = common_type(t, a.ty.ty).unwrap_or(Type::Text);
        }
        let t = match t {
            Type::Int2 | Type::Int4 | Type::Unknown => Type::Int4,
            Type::Int8 => Type::Int8,
            other => {
                return Err(SqlError::unsupported(format!(
                    "generate_series over {}",
                    other.name()
                )))
            }
        };
        for a in &mut args {
            *a = self.coerce_plain(a.clone(), t)?;
        }
        let step = if args.len() == 3 { args.pop() } else { None };
        let stop = args.pop().ok_or_else(|| SqlError::internal("series"))?;
        let start = args.pop().ok_or_else(|| SqlError::internal("series"))?;
        let (qual, col) = match &rf.alias {
            Some(a) => {
                let cols = names(&a.colnames);
                (
                    a.aliasname.clone(),
                    cols.first().cloned().unwrap_or_else(|| a.aliasname.clone()),
                )
            }
            None => ("generate_series".to_string(), "generate_series".to_string()),
        };
        let scope = Scope {
            cols: vec![ScopeCol {
                qualifier: Some(qual),
                name: col,
                ty: ColType::plain(t),
                table_oid: 0,
                attnum: 0,
                hidden: false,
            }],
        };
        Ok((Plan::Series { start, stop, step }, scope))
    }

    pub(super) fn bind_from(&mut self, from: &[pb::Node]) -> Result<(Plan, Scope)> {
        let mut acc: Option<(Plan, Scope)> = None;
        for item in from {
            let (p, s) = self.bind_from_item(item)?;
            acc = Some(match acc {
                None => (p, s),
                Some((lp, ls)) => {
                    let left_width = ls.cols.len();
                    let right_width = s.cols.len();
                    let mut scope = ls;
                    scope.cols.extend(s.cols);
                    (
                        Plan::Join {
                            left: Box::new(lp),
                            right: Box::new(p),
                            kind: JoinKind::Inner,
                            on: None,
                            left_width,
                            right_width,
                        },
                        scope,
                    )
                }
            });
        }
        Ok(acc.unwrap_or((Plan::OneRow, Scope::default())))
    }

    pub fn bind_select(&mut self, s: &pb::SelectStmt) -> Result<Query> {
        if let Some(w) = &s.with_clause {
            if w.recursive {
                return Err(SqlError::unsupported("WITH RECURSIVE"));
            }
            let depth = self.ctes.len();
            for c in &w.ctes {
                let Some(N::CommonTableExpr(cte)) = &c.node else {
                    continue;
                };
                let Some(N::SelectStmt(q)) = cte.ctequery.as_deref().and_then(|n| n.node.as_ref())
                else {
                    self.ctes.truncate(depth);
                    return Err(SqlError::unsupported("data-modifying statements in WITH"));
                };
                if self.ctes[depth..].iter().any(|(n, _)| *n == cte.ctename) {
                    self.ctes.truncate(depth);
                    return Err(SqlError::new(
                        "42712",
                        format!(
                            "WITH query name \"{}\" specified more than once",
                            cte.ctename
                        ),
                    ));
                }
                let bound = self.bind_select(q);
                let mut bound = match bound {
                    Ok(b) => b,
                    Err(e) => {
                        self.ctes.truncate(depth);
                        return Err(e);
                    }
                };
                let cols = names(&cte.aliascolnames);
                if cols.len() > bound.columns.len() {
                    self.ctes.truncate(depth);
                    return Err(SqlError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        format!(
                            "WITH query \"{}\" has {} columns available but {} columns specified",
                            cte.ctename,
                            bound.columns.len(),
                            cols.len()
                        ),
                    ));
                }
                for (c, n) in bound.columns.iter_mut().zip(cols) {
                    c.name = n;
                }
                self.ctes.push((cte.ctename.clone(), bound));
            }
            let mut inner = s.clone();
            inner.with_clause = None;
            let r = self.bind_select(&inner);
            self.ctes.truncate(depth);
            return r;
        }
        if s.into_clause.is_some() {
            return Err(SqlError::unsupported("SELECT INTO"));
        }

        if !s.window_clause.is_empty() {
            return Err(SqlError::unsupported("window functions"));
        }
        let op = pb::SetOperation::try_from(s.op).unwrap_or(pb::SetOperation::SetopNone);
        if op != pb::SetOperation::SetopNone {
            return self.bind_set_op(s, op);
        }
        if !s.values_lists.is_empty() {
            return self.bind_values(s);
        }
        let (input, scope) = self.bind_from(&s.from_clause)?;
        self.scopes.push(scope);
        let r = if s.locking_clause.is_empty() {
            self.bind_select_body(s, input)
        } else {
            self.bind_locking_select(s, input)
        };
        self.scopes.pop();
        r
    }

    /// SELECT ... FOR UPDATE / FOR SHARE over one table.
    fn bind_locking_select(&mut self, s: &pb::SelectStmt, input: Plan) -> Result<Query> {
        let mut exclusive = false;
        let mut wait = crate::txn::locks::Wait::Block;
        for lc in &s.locking_clause {
            let Some(N::LockingClause(lc)) = &lc.node else {
                continue;
            };
            match pb::LockClauseStrength::try_from(lc.strength) {
                Ok(pb::LockClauseStrength::LcsForupdate) => exclusive = true,
                Ok(pb::LockClauseStrength::LcsForshare) => {}
                _ => return Err(SqlError::unsupported("FOR NO KEY UPDATE and FOR KEY SHARE")),
            }
            wait = match pb::LockWaitPolicy::try_from(lc.wait_policy) {
                Ok(pb::LockWaitPolicy::LockWaitSkip) => crate::txn::locks::Wait::SkipLocked,
                Ok(pb::LockWaitPolicy::LockWaitError) => crate::txn::locks::Wait::NoWait,
                _ => wait,
            };
            if !lc.locked_rels.is_empty() {
                return Err(SqlError::unsupported("FOR UPDATE OF"));
            }
        }
        let what = if exclusive { "FOR UPDATE" } else { "FOR SHARE" };
        let Plan::Scan { table, .. } = input else {
            return Err(SqlError::unsupported(format!(
                "{what} on joins, subqueries or functions in FROM"
            )));
        };
        if !s.group_clause.is_empty() || s.having_clause.is_some() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("{what} is not allowed with GROUP BY clause"),
            ));
        }
        if !s.distinct_clause.is_empty() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("{what} is not allowed with DISTINCT clause"),
            ));
        }
        let filter = self.bind_where(s.where_clause.as_deref())?;
        let key = super::dml::key_lookup(&table, filter.as_ref());
        let mut targets: Vec<(String, Expr, u32, i16)> = Vec::new();
        let scope = self.scopes.last().cloned().unwrap_or_default();
        for t in &s.target_list {
            let Some(N::ResTarget(rt)) = &t.node else {
                continue;
            };
            let val = rt
                .val
                .as_deref()
                .ok_or_else(|| SqlError::internal("target"))?;
            if let Some(N::ColumnRef(c)) = &val.node {
                if matches!(
                    c.fields.last().and_then(|f| f.node.as_ref()),
                    Some(N::AStar(_))
                ) {
                    for (i, c) in scope.cols.iter().enumerate() {
                        targets.push((
                            c.name.clone(),
                            Expr::column(i, c.ty),
                            c.table_oid,
                            c.attnum,
                        ));
                    }
                    continue;
                }
            }
            let e = self.bind_expr(val)?;
            let e = if e.ty.ty == Type::Unknown {
                self.coerce(e, ColType::plain(Type::Text), false)?
            } else {
                e
            };
            let (oid, att) = match &e.kind {
                ExprKind::Column(i) => (scope.cols[*i].table_oid, scope.cols[*i].attnum),
                _ => (0, 0),
            };
            let name = if rt.name.is_empty() {
                figure_colname(val)
            } else {
                rt.name.clone()
            };
            targets.push((name, e, oid, att));
        }
        let mut order = Vec::new();
        for sb in &s.sort_clause {
            let Some(N::SortBy(sb)) = &sb.node else {
                continue;
            };
            let node = sb
                .node
                .as_deref()
                .ok_or_else(|| SqlError::internal("ORDER BY"))?;
            let (desc, nulls_first) = sort_dir(sb);
            let expr = match &node.node {
                Some(N::AConst(c)) if matches!(c.val, Some(pb::a_const::Val::Ival(_))) => {
                    let Some(pb::a_const::Val::Ival(i)) = &c.val else {
                        unreachable!()
                    };
                    let idx = usize::try_from(i.ival - 1)
                        .ok()
                        .filter(|i| *i < targets.len())
                        .ok_or_else(|| {
                            SqlError::new(
                                code::INVALID_COLUMN_REFERENCE,
                                format!("ORDER BY position {} is not in select list", i.ival),
                            )
                        })?;
                    targets[idx].1.clone()
                }
                Some(N::ColumnRef(c))
                    if c.fields.len() == 1 && {
                        let n = names(&c.fields).pop().unwrap_or_default();
                        targets.iter().filter(|t| t.0 == n).count() == 1
                    } =>
                {
                    let n = names(&c.fields).pop().unwrap_or_default();
                    targets
                        .iter()
                        .find(|t| t.0 == n)
                        .map(|t| t.1.clone())
                        .ok_or_else(|| SqlError::internal("ORDER BY"))?
                }
                _ => self.bind_expr(node)?,
            };
            order.push(SortKey {
                expr,
                desc,
                nulls_first,
            });
        }
        let saved = self.scopes.pop();
        let bind_lim = |b: &mut Binder<'_>, n: Option<&pb::Node>| -> Result<Option<Expr>> {
            match n {
                None => Ok(None),
                Some(n) => {
                    let e = b.bind_expr(n)?;
                    if matches!(e.kind, ExprKind::Const(Value::Null)) {
                        return Ok(None);
                    }
                    Ok(Some(b.coerce(e, ColType::plain(Type::Int8), true)?))
                }
            }
        };
        let limit = bind_lim(self, s.limit_count.as_deref());
        let offset = bind_lim(self, s.limit_offset.as_deref());
        if let Some(sc) = saved {
            self.scopes.push(sc);
        }
        let (limit, offset) = (limit?, offset?);
        let columns = targets
            .iter()
            .map(|t| OutColumn {
                name: t.0.clone(),
                ty: t.1.ty,
                table_oid: t.2,
                attnum: t.3,
            })
            .collect();
        let locked = Plan::LockRows {
            table,
            key,
            filter,
            order,
            exclusive,
            wait,
            limit: limit.clone(),
            offset: offset.clone(),
        };
        let mut plan = Plan::Project(Box::new(locked), targets.into_iter().map(|t| t.1).collect());
        if offset.is_some() {
            plan = Plan::Limit {
                input: Box::new(plan),
                limit: None,
                offset,
            };
        }
        Ok(Query { plan, columns })
    }

    fn bind_values(&mut self, s: &pb::SelectStmt) -> Result<Query> {
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        for r in &s.values_lists {
            let Some(N::List(l)) = &r.node else { continue };
            rows.push(self.bind_list(&l.items)?);
        }
        let width = rows.first().map(Vec::len).unwrap_or(0);
        if rows.iter().any(|r| r.len() != width) {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "VALUES lists must all be the same length",
            ));
        }
        let mut types = Vec::with_capacity(width);
        for c in 0..width {
            let col: Vec<Expr> = rows.iter().map(|r| r[c].clone()).collect();
            let (col, ty) = self.unify_all(col, "VALUES")?;
            for (r, e) in rows.iter_mut().zip(col) {
                r[c] = e;
            }
            types.push(ty);
        }
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, t)| OutColumn {
                name: format!("column{}", i + 1),
                ty: *t,
                table_oid: 0,
                attnum: 0,
            })
            .collect();
        let q = Query {
            plan: Plan::Values(rows),
            columns,
        };
        self.finish_query(q, s)
    }

    /// ORDER BY / LIMIT / OFFSET over a finished query (set operations, VALUES).
    fn finish_query(&mut self, q: Query, s: &pb::SelectStmt) -> Result<Query> {
        let mut plan = q.plan;
        if !s.sort_clause.is_empty() {
            let mut keys = Vec::new();
            for sb in &s.sort_clause {
                let Some(N::SortBy(sb)) = &sb.node else {
                    continue;
                };
                let node = sb
                    .node
                    .as_deref()
                    .ok_or_else(|| SqlError::internal("ORDER BY"))?;
                let idx = match &node.node {
                    Some(N::AConst(c)) => match &c.val {
                        Some(pb::a_const::Val::Ival(i)) => usize::try_from(i.ival - 1)
                            .ok()
                            .filter(|i| *i < q.columns.len())
                            .ok_or_else(|| {
                                SqlError::new(
                                    code::INVALID_COLUMN_REFERENCE,
                                    format!("ORDER BY position {} is not in select list", i.ival),
                                )
                            })?,
                        _ => return Err(SqlError::unsupported("this ORDER BY item")),
                    },
                    Some(N::ColumnRef(c)) if c.fields.len() == 1 => {
                        let name = names(&c.fields).pop().unwrap_or_default();
                        q.columns
                            .iter()
                            .position(|oc| oc.name == name)
                            .ok_or_else(|| {
                                SqlError::new(
                                    code::UNDEFINED_COLUMN,
                                    format!("column \"{name}\" does not exist"),
                                )
                            })?
                    }
                    _ => {
                        return Err(SqlError::unsupported(
                            "ORDER BY expressions on UNION/INTERSECT/EXCEPT or VALUES",
                        ))
                    }
                };
                let (desc, nulls_first) = sort_dir(sb);
                keys.push(SortKey {
                    expr: Expr::column(idx, q.columns[idx].ty),
                    desc,
                    nulls_first,
                });
            }
            plan = Plan::Sort(Box::new(plan), keys);
        }
        plan = self.bind_limit(plan, s)?;
        Ok(Query {
            plan,
            columns: q.columns,
        })
    }

    fn bind_limit(&mut self, plan: Plan, s: &pb::SelectStmt) -> Result<Plan> {
        if s.limit_option == pb::LimitOption::WithTies as i32 {
            return Err(SqlError::unsupported("FETCH ... WITH TIES"));
        }
        if s.limit_count.is_none() && s.limit_offset.is_none() {
            return Ok(plan);
        }
        // LIMIT/OFFSET cannot see the query's columns.
        let saved = self.scopes.pop();
        let bind = |b: &mut Binder<'_>, n: Option<&pb::Node>, what: &str| -> Result<Option<Expr>> {
            match n {
                None => Ok(None),
                Some(n) => {
                    let e = b.bind_expr(n)?;
                    if matches!(e.kind, ExprKind::Const(Value::Null)) {
                        return Ok(None);
                    }
                    if !e.ty.ty.is_integer()
                        && e.ty.ty != Type::Unknown
                        && !e.ty.ty.is_numeric_family()
                    {
                        return Err(SqlError::new(
                            code::DATATYPE_MISMATCH,
                            format!(
                                "argument of {what} must be type bigint, not type {}",
                                e.ty.ty.name()
                            ),
                        ));
                    }
                    Ok(Some(b.coerce(e, ColType::plain(Type::Int8), true)?))
                }
            }
        };
        let limit = bind(self, s.limit_count.as_deref(), "LIMIT");
        let offset = bind(self, s.limit_offset.as_deref(), "OFFSET");
        if let Some(sc) = saved {
            self.scopes.push(sc);
        }
        Ok(Plan::Limit {
            input: Box::new(plan),
            limit: limit?,
            offset: offset?,
        })
    }

    fn bind_set_op(&mut self, s: &pb::SelectStmt, op: pb::SetOperation) -> Result<Query> {
        let l = self.bind_select(
            s.larg
                .as_deref()
                .ok_or_else(|| SqlError::internal("set operation"))?,
        )?;
        let r = self.bind_select(
            s.rarg
                .as_deref()
                .ok_or_else(|| SqlError::internal("set operation"))?,
        )?;
        let name = match op {
            pb::SetOperation::SetopUnion => "UNION",
            pb::SetOperation::SetopIntersect => "INTERSECT",
            _ => "EXCEPT",
        };
        if l.columns.len() != r.columns.len() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("each {name} query must have the same number of columns"),
            ));
        }
        let mut lcasts = Vec::new();
        let mut rcasts = Vec::new();
        let mut columns = Vec::new();
        let mut need_l = false;
        let mut need_r = false;
        for (i, (lc, rc)) in l.columns.iter().zip(&r.columns).enumerate() {
            let t = common_type(lc.ty.ty, rc.ty.ty).ok_or_else(|| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "{name} types {} and {} cannot be matched",
                        lc.ty.ty.name(),
                        rc.ty.ty.name()
                    ),
                )
            })?;
            let t = if t == Type::Unknown { Type::Text } else { t };
            let ct = if lc.ty == rc.ty && lc.ty.ty == t {
                lc.ty
            } else {
                ColType::plain(t)
            };
            let mk = |c: &OutColumn, need: &mut bool| {
                if c.ty.ty == t {
                    Expr::column(i, c.ty)
                } else {
                    *need = true;
                    Expr::new(
                        ExprKind::Cast(Box::new(Expr::column(i, c.ty)), false),
                        ColType::plain(t),
                    )
                }
            };
            lcasts.push(mk(lc, &mut need_l));
            rcasts.push(mk(rc, &mut need_r));
            columns.push(OutColumn {
                name: lc.name.clone(),
                ty: ct,
                table_oid: 0,
                attnum: 0,
            });
        }
        let lp = if need_l {
            Plan::Project(Box::new(l.plan), lcasts)
        } else {
            l.plan
        };
        let rp = if need_r {
            Plan::Project(Box::new(r.plan), rcasts)
        } else {
            r.plan
        };
        let kind = match op {
            pb::SetOperation::SetopUnion => SetOpKind::Union,
            pb::SetOperation::SetopIntersect => SetOpKind::Intersect,
            _ => SetOpKind::Except,
        };
        let q = Query {
            plan: Plan::SetOp {
                kind,
                all: s.all,
                left: Box::new(lp),
                right: Box::new(rp),
            },
            columns,
        };
        self.finish_query(q, s)
    }

    fn bind_select_body(&mut self, s: &pb::SelectStmt, input: Plan) -> Result<Query> {
        let mut plan = input;
        if let Some(w) = s.where_clause.as_deref() {
            self.no_agg_context = "WHERE";
            let e = self.bind_expr(w)?;
            let e = self.to_bool(e, "WHERE")?;
            if let Plan::Scan { table, key } = &mut plan {
                if key.is_none() {
                    *key = super::dml::key_lookup(table, Some(&e));
                }
            }
            plan = Plan::Filter(Box::new(plan), e);
        }
        // Target list (aggregates collected).
        self.aggs = Some(Vec::new());
        let mut targets: Vec<(String, Expr, u32, i16)> = Vec::new();
        for t in &s.target_list {
            let Some(N::ResTarget(rt)) = &t.node else {
                continue;
            };
            let val = rt
                .val
                .as_deref()
                .ok_or_else(|| SqlError::internal("target"))?;
            if let Some(N::ColumnRef(c)) = &val.node {
                if matches!(
                    c.fields.last().and_then(|f| f.node.as_ref()),
                    Some(N::AStar(_))
                ) {
                    let qual = if c.fields.len() > 1 {
                        c.fields.first().and_then(node_str).map(str::to_string)
                    } else {
                        None
                    };
                    let scope = self.scopes.last().cloned().unwrap_or_default();
                    if let Some(q) = &qual {
                        if !scope.has_qualifier(q) {
                            return Err(SqlError::new(
                                code::UNDEFINED_TABLE,
                                format!("missing FROM-clause entry for table \"{q}\""),
                            ));
                        }
                    }
                    if scope.cols.is_empty() && qual.is_none() {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "SELECT * with no tables specified is not valid",
                        ));
                    }
                    for (i, c) in scope.cols.iter().enumerate() {
                        if (qual.is_none() && !c.hidden) || (qual.is_some() && c.qualifier == qual)
                        {
                            targets.push((
                                c.name.clone(),
                                Expr::column(i, c.ty),
                                c.table_oid,
                                c.attnum,
                            ));
                        }
                    }
                    continue;
                }
            }
            let e = self.bind_expr(val)?;
            let (oid, att) = match (&e.kind, self.scopes.last()) {
                (ExprKind::Column(i), Some(sc)) => (sc.cols[*i].table_oid, sc.cols[*i].attnum),
                _ => (0, 0),
            };
            let name = if rt.name.is_empty() {
                figure_colname(val)
            } else {
                rt.name.clone()
            };
            targets.push((name, e, oid, att));
        }
        let having = match s.having_clause.as_deref() {
            Some(h) => {
                let e = self.bind_expr(h)?;
                Some(self.to_bool(e, "HAVING")?)
            }
            None => None,
        };
        // ORDER BY: output names and positions, else input expressions.
        let mut sort_exprs: Vec<(SortExprRef, bool, bool)> = Vec::new();
        for sb in &s.sort_clause {
            let Some(N::SortBy(sb)) = &sb.node else {
                continue;
            };
            if !sb.use_op.is_empty() {
                return Err(SqlError::unsupported("ORDER BY ... USING"));
            }
            let node = sb
                .node
                .as_deref()
                .ok_or_else(|| SqlError::internal("ORDER BY"))?;
            let (desc, nulls_first) = sort_dir(sb);
            let r = match &node.node {
                Some(N::AConst(c)) if matches!(c.val, Some(pb::a_const::Val::Ival(_))) => {
                    let Some(pb::a_const::Val::Ival(i)) = &c.val else {
                        unreachable!()
                    };
                    let idx = usize::try_from(i.ival - 1)
                        .ok()
                        .filter(|i| *i < targets.len())
                        .ok_or_else(|| {
                            SqlError::new(
                                code::INVALID_COLUMN_REFERENCE,
                                format!("ORDER BY position {} is not in select list", i.ival),
                            )
                        })?;
                    SortExprRef::Output(idx)
                }
                Some(N::ColumnRef(c))
                    if c.fields.len() == 1 && {
                        let n = names(&c.fields).pop().unwrap_or_default();
                        targets.iter().filter(|t| t.0 == n).count() == 1
                    } =>
                {
                    let n = names(&c.fields).pop().unwrap_or_default();
                    SortExprRef::Output(targets.iter().position(|t| t.0 == n).unwrap_or(0))
                }
                _ => {
                    let e = self.bind_expr(node)?;
                    match targets.iter().position(|t| t.1 == e) {
                        Some(i) => SortExprRef::Output(i),
                        None => SortExprRef::Expr(e),
                    }
                }
            };
            sort_exprs.push((r, desc, nulls_first));
        }
        let aggs = self.aggs.take().unwrap_or_default();
        // GROUP BY.
        self.no_agg_context = "GROUP BY";
        let mut groups = Vec::new();
        for g in &s.group_clause {
            let e = match &g.node {
                Some(N::AConst(c)) if matches!(c.val, Some(pb::a_const::Val::Ival(_))) => {
                    let Some(pb::a_const::Val::Ival(i)) = &c.val else {
                        unreachable!()
                    };
                    let idx = usize::try_from(i.ival - 1)
                        .ok()
                        .filter(|i| *i < targets.len())
                        .ok_or_else(|| {
                            SqlError::new(
                                code::INVALID_COLUMN_REFERENCE,
                                format!("GROUP BY position {} is not in select list", i.ival),
                            )
                        })?;
                    targets[idx].1.clone()
                }
                Some(N::ColumnRef(c)) if c.fields.len() == 1 => {
                    // An input column first; an output alias otherwise.
                    match self.bind_expr(g) {
                        Ok(e) => e,
                        Err(err) => {
                            let n = names(&c.fields).pop().unwrap_or_default();
                            match targets.iter().find(|t| t.0 == n) {
                                Some(t) => t.1.clone(),
                                None => return Err(err),
                            }
                        }
                    }
                }
                _ => self.bind_expr(g)?,
            };
            if contains_agg(&e) {
                return Err(SqlError::new(
                    code::GROUPING_ERROR,
                    "aggregate functions are not allowed in GROUP BY",
                ));
            }
            groups.push(e);
        }
        self.no_agg_context = "WHERE";
        let grouped = !groups.is_empty() || !aggs.is_empty() || having.is_some();
        let scope_cols = self
            .scopes
            .last()
            .map(|s| s.cols.clone())
            .unwrap_or_default();
        let mut proj_exprs: Vec<Expr> = Vec::new();
        let mut hidden: Vec<Expr> = Vec::new();
        let rewrite = |e: Expr| -> Result<Expr> {
            if grouped {
                ungroup(e, &groups, &scope_cols)
            } else {
                Ok(e)
            }
        };
        for t in &targets {
            proj_exprs.push(rewrite(t.1.clone())?);
        }
        let mut keys = Vec::new();
        for (r, desc, nulls_first) in sort_exprs {
            let idx = match r {
                SortExprRef::Output(i) => i,
                SortExprRef::Expr(e) => {
                    hidden.push(rewrite(e)?);
                    targets.len() + hidden.len() - 1
                }
            };
            let ty = if idx < proj_exprs.len() {
                proj_exprs[idx].ty
            } else {
                hidden[idx - proj_exprs.len()].ty
            };
            keys.push(SortKey {
                expr: Expr::column(idx, ty),
                desc,
                nulls_first,
            });
        }
        if grouped {
            let ngroups = groups.len();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                groups: groups.clone(),
                aggs,
            };
            let _ = ngroups;
            if let Some(h) = having {
                let h = ungroup(h, &groups, &scope_cols)?;
                plan = Plan::Filter(Box::new(plan), h);
            }
        }
        // Unknown-typed outputs become text.
        let mut out_exprs = Vec::new();
        for e in proj_exprs {
            out_exprs.push(if e.ty.ty == Type::Unknown {
                self.coerce(e, ColType::plain(Type::Text), false)?
            } else {
                e
            });
        }
        let width = out_exprs.len();
        let columns: Vec<OutColumn> = targets
            .iter()
            .zip(&out_exprs)
            .map(|(t, e)| OutColumn {
                name: t.0.clone(),
                ty: e.ty,
                table_oid: t.2,
                attnum: t.3,
            })
            .collect();
        let distinct = !s.distinct_clause.is_empty();
        if distinct && s.distinct_clause.iter().any(|n| n.node.is_some()) {
            return Err(SqlError::unsupported("DISTINCT ON"));
        }
        if distinct && !hidden.is_empty() {
            return Err(SqlError::new(
                code::INVALID_COLUMN_REFERENCE,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            ));
        }
        let mut all = out_exprs;
        all.extend(hidden);
        let has_hidden = all.len() > width;
        plan = Plan::Project(Box::new(plan), all);
        if distinct {
            plan = Plan::Distinct(Box::new(plan));
        }
        if !keys.is_empty() {
            plan = Plan::Sort(Box::new(plan), keys);
        }
        plan = self.bind_limit(plan, s)?;
        if has_hidden {
            plan = Plan::Truncate(Box::new(plan), width);
        }
        Ok(Query { plan, columns })
    }
}

enum SortExprRef {
    Output(usize),
    Expr(Expr),
}

fn sort_dir(sb: &pb::SortBy) -> (bool, bool) {
    let desc = sb.sortby_dir == pb::SortByDir::SortbyDesc as i32;
    let nulls_first = match pb::SortByNulls::try_from(sb.sortby_nulls) {
        Ok(pb::SortByNulls::SortbyNullsFirst) => true,
        Ok(pb::SortByNulls::SortbyNullsLast) => false,
        _ => desc,
    };
    (desc, nulls_first)
}

fn contains_agg(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if matches!(x.kind, ExprKind::Agg(_)) {
            found = true;
        }
    });
    found
}

pub(super) fn visit(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    for c in children(e) {
        visit(c, f);
    }
}

fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Binary(_, a, b) | ExprKind::IsDistinct(a, b, _) | ExprKind::NullIf(a, b) => {
            vec![a, b]
        }
        ExprKind::Neg(a)
        | ExprKind::Not(a)
        | ExprKind::IsNull(a, _)
        | ExprKind::BoolTest(a, _)
        | ExprKind::Cast(a, _) => vec![a],
        ExprKind::And(v)
        | ExprKind::Or(v)
        | ExprKind::Func(_, v)
        | ExprKind::Coalesce(v)
        | ExprKind::Greatest(v, _) => v.iter().collect(),
        ExprKind::InList(a, v, _) => std::iter::once(a.as_ref()).chain(v.iter()).collect(),
        ExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
        ExprKind::Case {
            operand,
            whens,
            default,
        } => {
            let mut v: Vec<&Expr> = operand.iter().map(|b| b.as_ref()).collect();
            for (w, r) in whens {
                v.push(w);
                v.push(r);
            }
            v.extend(default.iter().map(|b| b.as_ref()));
            v
        }
        ExprKind::Subquery { left, .. } => left.iter().map(|b| b.as_ref()).collect(),
        _ => Vec::new(),
    }
}

/// Rewrites an expression over the input rows into one over the
/// Aggregate node's output (group values, then aggregate results).
fn ungroup(e: Expr, groups: &[Expr], scope: &[ScopeCol]) -> Result<Expr> {
    if let Some(i) = groups.iter().position(|g| *g == e) {
        return Ok(Expr::column(i, e.ty));
    }
    let ty = e.ty;
    let map = |x: Box<Expr>| -> Result<Box<Expr>> { Ok(Box::new(ungroup(*x, groups, scope)?)) };
    let map_v = |v: Vec<Expr>| -> Result<Vec<Expr>> {
        v.into_iter().map(|x| ungroup(x, groups, scope)).collect()
    };
    let kind = match e.kind {
        ExprKind::Column(i) => {
            let c = &scope[i];
            let q = c.qualifier.clone().unwrap_or_default();
            return Err(SqlError::new(
                code::GROUPING_ERROR,
                format!("column \"{q}.{}\" must appear in the GROUP BY clause or be used in an aggregate function", c.name),
            ));
        }
        ExprKind::Agg(i) => ExprKind::Column(groups.len() + i),
        ExprKind::Binary(op, a, b) => ExprKind::Binary(op, map(a)?, map(b)?),
        ExprKind::IsDistinct(a, b, n) => ExprKind::IsDistinct(map(a)?, map(b)?, n),
        ExprKind::NullIf(a, b) => ExprKind::NullIf(map(a)?, map(b)?),
        ExprKind::Neg(a) => ExprKind::Neg(map(a)?),
        ExprKind::Not(a) => ExprKind::Not(map(a)?),
        ExprKind::IsNull(a, n) => ExprKind::IsNull(map(a)?, n),
        ExprKind::BoolTest(a, t) => ExprKind::BoolTest(map(a)?, t),
        ExprKind::Cast(a, x) => ExprKind::Cast(map(a)?, x),
        ExprKind::And(v) => ExprKind::And(map_v(v)?),
        ExprKind::Or(v) => ExprKind::Or(map_v(v)?),
        ExprKind::Func(f, v) => ExprKind::Func(f, map_v(v)?),
        ExprKind::Coalesce(v) => ExprKind::Coalesce(map_v(v)?),
        ExprKind::Greatest(v, g) => ExprKind::Greatest(map_v(v)?, g),
        ExprKind::InList(a, v, n) => ExprKind::InList(map(a)?, map_v(v)?, n),
        ExprKind::Like {
            expr,
            pattern,
            case_insensitive,
            negated,
        } => ExprKind::Like {
            expr: map(expr)?,
            pattern: map(pattern)?,
            case_insensitive,
            negated,
        },
        ExprKind::Case {
            operand,
            whens,
            default,
        } => ExprKind::Case {
            operand: operand.map(map).transpose()?,
            whens: whens
                .into_iter()
                .map(|(w, r)| Ok((ungroup(w, groups, scope)?, ungroup(r, groups, scope)?)))
                .collect::<Result<Vec<_>>>()?,
            default: default.map(map).transpose()?,
        },
        ExprKind::Subquery { plan, kind, left } => {
            // Correlated references into a grouped query are not resolved yet.
            ExprKind::Subquery {
                plan,
                kind,
                left: left.map(map).transpose()?,
            }
        }
        k => k,
    };
    Ok(Expr::new(kind, ty))
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
        ("CreateEnumStmt", "CREATE TYPE ... AS ENUM"),
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
