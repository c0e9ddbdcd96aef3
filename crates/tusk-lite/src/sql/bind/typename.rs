//! Type names (with modifiers) and the names PostgreSQL gives output
//! columns.

use super::*;

/// Whether `n`'s column name comes from a cast's type name.
fn named_by_cast(n: &pb::Node) -> bool {
    match &n.node {
        Some(N::TypeCast(tc)) => tc
            .arg
            .as_deref()
            .is_some_and(|a| figure_colname(a) == "?column?" || named_by_cast(a)),
        _ => false,
    }
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
            // A name an inner cast gave is weak: the outer cast's wins
            // (FigureColnameInternal's strength 1).
            if inner == "?column?" || tc.arg.as_deref().is_some_and(named_by_cast) {
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
        // A subscript keeps its base's name (FigureColnameInternal).
        Some(N::AIndirection(ind)) => match ind.indirection.last().and_then(node_str) {
            Some(field) => field.to_string(),
            None => ind
                .arg
                .as_deref()
                .map(figure_colname)
                .unwrap_or_else(|| "?column?".into()),
        },
        Some(N::AArrayExpr(_)) => "array".into(),
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
            Ok(pb::SubLinkType::ArraySublink) => "array".into(),
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

/// The user enum type a TypeName names (`name`, `public.name`), if any.
/// Built-in types come first, as pg_catalog is searched first.
pub fn user_enum(catalog: &Catalog, t: &pb::TypeName) -> Option<Type> {
    let parts = names(&t.names);
    match parts.as_slice() {
        [name] if Type::from_name(name).is_none() => catalog.enum_type("public", name),
        [schema, name] => catalog.enum_type(schema, name),
        [_, schema, name] => catalog.enum_type(schema, name),
        _ => None,
    }
    .map(|e| Type::Enum(e.oid))
}

/// Resolves a TypeName to a type with its modifier.
pub fn resolve_type(catalog: &Catalog, t: &pb::TypeName) -> Result<ColType> {
    let parts = names(&t.names);
    let name = parts.last().cloned().unwrap_or_default();
    if !t.array_bounds.is_empty() {
        // `elem[]` (any number of bounds and sizes: PostgreSQL ignores
        // them too): an array of a built-in type without a modifier.
        let mut e = t.clone();
        e.array_bounds.clear();
        let elem = resolve_type(catalog, &e)?;
        if elem.typmod >= 0 {
            return Err(SqlError::unsupported(format!(
                "arrays of a type with a modifier ({name}(...)[])"
            )));
        }
        if matches!(elem.ty, Type::Enum(_)) || crate::types::array_type_oid(elem.ty).is_none() {
            return Err(SqlError::unsupported(format!("type {name}[]")));
        }
        return Ok(ColType::array_of(elem.ty));
    }
    if t.setof || t.pct_type {
        return Err(SqlError::unsupported("%TYPE and SETOF"));
    }
    if let Some(ty) = user_enum(catalog, t) {
        if !t.typmods.is_empty() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("type modifier is not allowed for type \"{name}\""),
            ));
        }
        return Ok(ColType::plain(ty));
    }
    if parts.len() > 1 && !matches!(parts[parts.len() - 2].as_str(), "pg_catalog") {
        return Err(SqlError::new(
            code::UNDEFINED_OBJECT,
            format!("type \"{}\" does not exist", parts.join(".")),
        ));
    }
    let ty = Type::from_name(&name).ok_or_else(|| {
        if matches!(
            name.as_str(),
            "date"
                | "timestamp"
                | "timestamptz"
                | "uuid"
                | "json"
                | "jsonb"
                | "bytea"
                | "jsonpath"
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
        (Type::Time, [p]) => {
            if !(0..=6).contains(p) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("TIME({p}) precision must be between 0 and 6"),
                ));
            }
            i32::try_from(*p).unwrap_or(-1)
        }
        (Type::Interval, [range]) => crate::interval::typmod(*range, 0xFFFF)?,
        (Type::Interval, [range, p]) => crate::interval::typmod(*range, *p)?,
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
