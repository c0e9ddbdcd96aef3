//! PostgreSQL's type resolution, reduced to the types tusk-lite has:
//! unknown literals and parameters take their type from context, numeric
//! operands widen (int2 < int4 < int8 < numeric < float8), strings meet
//! at text.

use super::bind::Binder;
use super::plan::{Expr, ExprKind};
use crate::error::{code, Result, SqlError};
use crate::types::{ColType, Type, Value};

fn rank(t: Type) -> u8 {
    match t {
        Type::Int2 => 1,
        Type::Int4 => 2,
        Type::Int8 => 3,
        Type::Numeric => 4,
        Type::Float4 => 5,
        Type::Float8 => 6,
        Type::Oid => 3,
        _ => 0,
    }
}

/// The type two operands are compared or combined in; None when
/// PostgreSQL has no such operator.
pub fn common_type(a: Type, b: Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Unknown, Type::Unknown) => Type::Text,
        (Type::Unknown, t) | (t, Type::Unknown) => t,
        (x, y) if x == y => x,
        (x, y) if x.is_numeric_family() && y.is_numeric_family() => {
            if (x == Type::Float4) != (y == Type::Float4)
                && (x == Type::Float4 || y == Type::Float4)
            {
                Type::Float8
            } else if rank(x) >= rank(y) {
                x
            } else {
                y
            }
        }
        (x, y) if x.is_string() && y.is_string() => Type::Text,
        (Type::Date, Type::Timestamp) | (Type::Timestamp, Type::Date) => Type::Timestamp,
        (Type::Date | Type::Timestamp, Type::Timestamptz)
        | (Type::Timestamptz, Type::Date | Type::Timestamp) => Type::Timestamptz,
        _ => return None,
    })
}

pub fn operator_error(cat: &crate::catalog::Catalog, op: &str, a: Type, b: Type) -> SqlError {
    SqlError::new(
        code::UNDEFINED_FUNCTION,
        format!(
            "operator does not exist: {} {op} {}",
            cat.type_name(a),
            cat.type_name(b)
        ),
    )
    .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

/// Whether a value of `from` converts implicitly to `to` (in an expression).
fn implicit_ok(from: Type, to: Type) -> bool {
    from == to
        || from == Type::Unknown
        || (from.is_numeric_family() && to.is_numeric_family() && rank(from) <= rank(to))
        || (from.is_string() && to.is_string())
        || (from == Type::Date && matches!(to, Type::Timestamp | Type::Timestamptz))
        || (from == Type::Timestamp && to == Type::Timestamptz)
        || (from == Type::Time && to == Type::Interval)
}

/// Whether an assignment (INSERT/UPDATE) converts `from` to `to`.
fn assignment_ok(from: Type, to: Type) -> bool {
    implicit_ok(from, to)
        || (matches!(from, Type::Json | Type::Jsonb) && matches!(to, Type::Json | Type::Jsonb))
        || (from.is_numeric_family() && to.is_numeric_family())
        || to.is_string()
        || (matches!(from, Type::Date | Type::Timestamp | Type::Timestamptz)
            && matches!(to, Type::Date | Type::Timestamp | Type::Timestamptz))
        || (matches!(from, Type::Timestamp | Type::Timestamptz | Type::Interval)
            && to == Type::Time)
}

impl Binder<'_> {
    /// Converts `e` to `to`: folds unknown literals, types unknown
    /// parameters, inserts an implicit cast. `assignment` allows
    /// PostgreSQL's assignment casts (numeric narrowing, anything to text).
    pub fn coerce(&mut self, e: Expr, to: ColType, assignment: bool) -> Result<Expr> {
        let from = e.ty.ty;
        if from == to.ty && (to.typmod < 0 || e.ty.typmod == to.typmod) && !assignment {
            return Ok(e);
        }
        if e.ty.is_vector() && to != e.ty {
            // As an array it would start at 1; PostgreSQL's at 0.
            return Err(SqlError::unsupported("converting int2vector or oidvector"));
        }
        match &e.kind {
            ExprKind::Const(Value::Null) => return Ok(Expr::new(ExprKind::Const(Value::Null), to)),
            ExprKind::Const(Value::Text(s)) if from == Type::Unknown => {
                let v = self.catalog.parse_text(s, to)?;
                return Ok(Expr::new(ExprKind::Const(v), to));
            }
            ExprKind::Param(i) if from == Type::Unknown => {
                let i = *i;
                self.set_param_type(i, to.ty);
                if to.ty == Type::Array {
                    // The array type (element included) Describe reports.
                    self.set_param_oid(i, to.type_oid());
                    return Ok(Expr::new(ExprKind::Param(i), to));
                }
                return Ok(
                    Expr::new(ExprKind::Param(i), ColType::plain(to.ty)).with_typmod_cast(to)
                );
            }
            _ => {}
        }
        let ok = if assignment {
            assignment_ok(from, to.ty) && elems_ok(e.ty, to, assignment_ok)
        } else {
            implicit_ok(from, to.ty) && elems_ok(e.ty, to, implicit_ok)
        };
        if !ok {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "cannot convert {} to {}",
                    self.col_type_name(e.ty),
                    self.col_type_name(to)
                ),
            ));
        }
        if from == to.ty && to.typmod < 0 {
            return Ok(e);
        }
        Ok(Expr::new(ExprKind::Cast(Box::new(e), false), to))
    }

    /// Assignment to a column, with PostgreSQL's error for impossible ones.
    pub fn assign(&mut self, e: Expr, to: ColType, column: &str) -> Result<Expr> {
        let from = e.ty.ty;
        let converts = assignment_ok(from, to.ty) && elems_ok(e.ty, to, assignment_ok);
        if !converts && !matches!(e.kind, ExprKind::Const(Value::Null)) {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "column \"{column}\" is of type {} but expression is of type {}",
                    self.col_type_name(to),
                    self.col_type_name(e.ty)
                ),
            )
            .with_hint("You will need to rewrite or cast the expression."));
        }
        self.coerce(e, to, true)
    }
}

/// Whether an array converts to another array type: its elements must
/// (an array parameter whose element type is not known yet converts at
/// run time, element by element). Other types: true.
fn elems_ok(from: ColType, to: ColType, ok: fn(Type, Type) -> bool) -> bool {
    match (from.ty, to.ty) {
        (Type::Array, Type::Array) if from.typmod >= 0 => {
            ok(ColType::array_elem(from), ColType::array_elem(to))
        }
        _ => true,
    }
}

impl Binder<'_> {
    /// A type's name in messages: an array's is its element's with `[]`.
    pub fn col_type_name(&self, ty: ColType) -> String {
        match ty.ty {
            Type::Array => crate::types::type_name_of(ty),
            t => self.catalog.type_name(t),
        }
    }
}

trait TypmodCast {
    fn with_typmod_cast(self, to: ColType) -> Expr;
}

impl TypmodCast for Expr {
    fn with_typmod_cast(self, to: ColType) -> Expr {
        if to.typmod >= 0 {
            Expr::new(ExprKind::Cast(Box::new(self), false), to)
        } else {
            self
        }
    }
}
