//! Expression evaluation with PostgreSQL's NULL, overflow and
//! division rules.

mod array_funcs;
mod funcs;
mod lib_funcs;

use std::cmp::Ordering;

use super::{Exec, Rows};
use crate::error::{code, Result, SqlError};
use crate::numeric::Numeric;
use crate::sql::plan::{BinOp, BoolTest, Expr, ExprKind, Func, Plan, SubqueryKind};
use crate::types::{self, check_int, compare, ColType, Type, Value};

fn int_overflow(ty: Type) -> SqlError {
    SqlError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("{} out of range", ty.name()),
    )
}

fn div_zero() -> SqlError {
    SqlError::new(code::DIVISION_BY_ZERO, "division by zero")
}

/// Applies a binary operator to two non-null values of the operator's
/// input type; `ty` is the result type.
pub fn binary(op: BinOp, a: &Value, b: &Value, ty: Type) -> Result<Value> {
    if op.is_comparison() {
        let o = compare(a, b);
        return Ok(Value::Bool(match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::Ne => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::Le => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let r = match op {
                BinOp::Add => x.checked_add(*y),
                BinOp::Sub => x.checked_sub(*y),
                BinOp::Mul => x.checked_mul(*y),
                BinOp::Div => {
                    if *y == 0 {
                        return Err(div_zero());
                    }
                    x.checked_div(*y)
                }
                BinOp::Mod => {
                    if *y == 0 {
                        return Err(div_zero());
                    }
                    Some(x.checked_rem(*y).unwrap_or(0))
                }
                _ => return Err(SqlError::internal("bad integer operator")),
            };
            let r = r.ok_or_else(|| int_overflow(ty))?;
            Value::Int(check_int(r, ty).map_err(|_| int_overflow(ty))?)
        }
        (Value::Float(x), Value::Float(y)) => {
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => {
                    if *y == 0.0 {
                        return Err(div_zero());
                    }
                    x / y
                }
                _ => return Err(SqlError::internal("bad float operator")),
            };
            if r.is_infinite() && x.is_finite() && y.is_finite() {
                return Err(SqlError::new(
                    code::NUMERIC_VALUE_OUT_OF_RANGE,
                    "value out of range: overflow",
                ));
            }
            if ty == Type::Float4 {
                Value::Float(f64::from(types::to_f32(r)))
            } else {
                Value::Float(r)
            }
        }
        (Value::Numeric(x), Value::Numeric(y)) => Value::Numeric(match op {
            BinOp::Add => x.add(y),
            BinOp::Sub => x.sub(y),
            BinOp::Mul => x.mul(y),
            BinOp::Div => x.div(y)?,
            BinOp::Mod => x.rem(y)?,
            _ => return Err(SqlError::internal("bad numeric operator")),
        }),
        (Value::Text(x), Value::Text(y)) if op == BinOp::Concat => Value::Text(format!("{x}{y}")),
        (Value::Bytes(x), Value::Bytes(y)) if op == BinOp::Concat => {
            Value::Bytes([x.as_slice(), y].concat())
        }
        _ => {
            return Err(SqlError::internal(format!(
                "operator {op:?} on {a:?}, {b:?}"
            )))
        }
    })
}

/// SQL LIKE with `%`, `_` and backslash escapes.
pub fn like(s: &str, p: &str, ci: bool) -> bool {
    let (s, p): (Vec<char>, Vec<char>) = if ci {
        (
            s.to_ascii_lowercase().chars().collect(),
            p.to_ascii_lowercase().chars().collect(),
        )
    } else {
        (s.chars().collect(), p.chars().collect())
    };
    fn m(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| m(&s[i..], &p[1..])),
            Some('_') => !s.is_empty() && m(&s[1..], &p[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && m(&s[1..], &p[2..]),
            Some(c) => s.first() == Some(c) && m(&s[1..], &p[1..]),
        }
    }
    m(&s, &p)
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        _ => "",
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

impl Exec<'_> {
    /// The rows a subquery gives for the row `row` (its outer row):
    /// EXISTS stops at its first row and never computes its select list
    /// (PostgreSQL drops it); a scalar subquery stops at its second row
    /// (which is an error then): an error in a row they do not reach is
    /// never raised.
    fn subquery_rows(&mut self, plan: &Plan, kind: &SubqueryKind, row: &[Value]) -> Result<Rows> {
        self.outer.push(row.to_vec());
        let rows = match (kind, plan) {
            // (Not over an aggregate: PostgreSQL keeps that select list.)
            (SubqueryKind::Exists, Plan::Project(input, _))
                if !matches!(**input, Plan::Aggregate { .. }) =>
            {
                self.run_upto(input, Some(1))
            }
            (SubqueryKind::Exists, _) => self.run_upto(plan, Some(1)),
            (SubqueryKind::Scalar, _) => self.run_upto(plan, Some(2)),
            _ => match self.run(plan) {
                Ok(rows) => (rows, None),
                Err(e) => (Vec::new(), Some(e)),
            },
        };
        self.outer.pop();
        match rows {
            (rows, None) => Ok(rows),
            (rows, Some(_)) if kind == &SubqueryKind::Exists && !rows.is_empty() => Ok(rows),
            (rows, Some(_)) if kind == &SubqueryKind::Scalar && rows.len() > 1 => Ok(rows),
            (_, Some(e)) => Err(e),
        }
    }

    /// Evaluates `e` over `row`.
    pub fn eval(&mut self, e: &Expr, row: &[Value]) -> Result<Value> {
        Ok(match &e.kind {
            ExprKind::Const(v) => v.clone(),
            ExprKind::Param(i) => self.params.get(*i).cloned().unwrap_or(Value::Null),
            ExprKind::Column(i) => row.get(*i).cloned().unwrap_or(Value::Null),
            ExprKind::Outer(level, i) => {
                let n = self.outer.len();
                self.outer
                    .get(n.wrapping_sub(*level))
                    .and_then(|r| r.get(*i))
                    .cloned()
                    .unwrap_or(Value::Null)
            }
            ExprKind::Binary(op, a, b) => {
                let x = self.eval(a, row)?;
                if x.is_null() {
                    return Ok(Value::Null);
                }
                let y = self.eval(b, row)?;
                if y.is_null() {
                    return Ok(Value::Null);
                }
                binary(*op, &x, &y, e.ty.ty)?
            }
            ExprKind::Neg(a) => match self.eval(a, row)? {
                Value::Int(i) => Value::Int(
                    check_int(
                        i.checked_neg().ok_or_else(|| int_overflow(e.ty.ty))?,
                        e.ty.ty,
                    )
                    .map_err(|_| int_overflow(e.ty.ty))?,
                ),
                Value::Float(f) => Value::Float(-f),
                Value::Numeric(n) => Value::Numeric(n.neg()),
                v => v,
            },
            ExprKind::Not(a) => match self.eval(a, row)? {
                Value::Bool(b) => Value::Bool(!b),
                v => v,
            },
            ExprKind::And(items) => {
                let mut null = false;
                for it in items {
                    match self.eval(it, row)? {
                        Value::Bool(false) => return Ok(Value::Bool(false)),
                        Value::Null => null = true,
                        _ => {}
                    }
                }
                if null {
                    Value::Null
                } else {
                    Value::Bool(true)
                }
            }
            ExprKind::Or(items) => {
                let mut null = false;
                for it in items {
                    match self.eval(it, row)? {
                        Value::Bool(true) => return Ok(Value::Bool(true)),
                        Value::Null => null = true,
                        _ => {}
                    }
                }
                if null {
                    Value::Null
                } else {
                    Value::Bool(false)
                }
            }
            ExprKind::IsNull(a, negated) => Value::Bool(self.eval(a, row)?.is_null() != *negated),
            ExprKind::IsDistinct(a, b, negated) => {
                let x = self.eval(a, row)?;
                let y = self.eval(b, row)?;
                let distinct = match (x.is_null(), y.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    _ => compare(&x, &y) != Ordering::Equal,
                };
                Value::Bool(distinct != *negated)
            }
            ExprKind::BoolTest(a, t) => {
                let v = self.eval(a, row)?.as_bool();
                Value::Bool(match t {
                    BoolTest::IsTrue => v == Some(true),
                    BoolTest::IsNotTrue => v != Some(true),
                    BoolTest::IsFalse => v == Some(false),
                    BoolTest::IsNotFalse => v != Some(false),
                    BoolTest::IsUnknown => v.is_none(),
                    BoolTest::IsNotUnknown => v.is_some(),
                })
            }
            ExprKind::Cast(a, explicit) => {
                let v = self.eval(a, row)?;
                match (e.ty.ty, &v) {
                    // A string to an enum: enum_in over the labels of the
                    // catalog this statement sees.
                    (Type::Enum(_), Value::Text(_)) if a.ty.ty.is_string() => {
                        let s = types::cast(v, a.ty.ty, ColType::plain(Type::Text), true)?;
                        let s = types::format_text(&s, Type::Text);
                        self.engine.catalog_for(self.txn).parse_text(&s, e.ty)?
                    }
                    // An array to text: its elements as their type writes them.
                    (t, Value::Array(_)) if t.is_string() && a.ty.ty == Type::Array => {
                        let s = Value::Text(types::format_value(&v, a.ty));
                        types::coerce_typmod(s, e.ty, *explicit)?
                    }
                    _ => types::cast(v, a.ty.ty, e.ty, *explicit)?,
                }
            }
            ExprKind::Func(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, row)?);
                }
                self.call(*f, &vals, args, e.ty)?
            }
            ExprKind::Case {
                operand,
                whens,
                default,
            } => {
                let op = match operand {
                    Some(o) => Some(self.eval(o, row)?),
                    None => None,
                };
                for (w, r) in whens {
                    let hit = match &op {
                        Some(o) => {
                            let wv = self.eval(w, row)?;
                            !o.is_null() && !wv.is_null() && compare(o, &wv) == Ordering::Equal
                        }
                        None => self.eval(w, row)?.as_bool() == Some(true),
                    };
                    if hit {
                        return self.eval(r, row);
                    }
                }
                match default {
                    Some(d) => self.eval(d, row)?,
                    None => Value::Null,
                }
            }
            ExprKind::Coalesce(items) => {
                for it in items {
                    let v = self.eval(it, row)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Value::Null
            }
            ExprKind::NullIf(a, b) => {
                let x = self.eval(a, row)?;
                let y = self.eval(b, row)?;
                if !x.is_null() && !y.is_null() && compare(&x, &y) == Ordering::Equal {
                    Value::Null
                } else {
                    x
                }
            }
            ExprKind::Greatest(items, greatest) => {
                let mut best = Value::Null;
                for it in items {
                    let v = self.eval(it, row)?;
                    if v.is_null() {
                        continue;
                    }
                    let o = super::compare_as(e.ty.ty, &v, &best);
                    let better = best.is_null()
                        || (o == Ordering::Greater) == *greatest && o != Ordering::Equal;
                    if better {
                        best = v;
                    }
                }
                best
            }
            ExprKind::InList(a, items, negated) => {
                let x = self.eval(a, row)?;
                if x.is_null() {
                    return Ok(Value::Null);
                }
                let mut null = false;
                for it in items {
                    let v = self.eval(it, row)?;
                    if v.is_null() {
                        null = true;
                    } else if compare(&x, &v) == Ordering::Equal {
                        return Ok(Value::Bool(!negated));
                    }
                }
                if null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            ExprKind::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                let s = self.eval(expr, row)?;
                let p = self.eval(pattern, row)?;
                if s.is_null() || p.is_null() {
                    return Ok(Value::Null);
                }
                let hit = match (&s, &p) {
                    // bytea LIKE matches byte for byte: each byte as one
                    // character.
                    (Value::Bytes(a), Value::Bytes(b)) => {
                        let chars = |x: &[u8]| x.iter().map(|c| char::from(*c)).collect::<String>();
                        like(&chars(a), &chars(b), false)
                    }
                    _ => like(text(&s), text(&p), *case_insensitive),
                };
                Value::Bool(hit != *negated)
            }
            ExprKind::Subquery {
                plan,
                kind,
                left,
                initplan,
            } => {
                let left_v = match left {
                    Some(l) => Some(self.eval(l, row)?),
                    None => None,
                };
                // An uncorrelated subquery runs once per statement, as
                // PostgreSQL's InitPlan does.
                let cached = initplan.and_then(|k| self.initplans.get(&k).cloned());
                let rows = match cached {
                    Some(rows) => rows,
                    None => {
                        let rows = std::sync::Arc::new(self.subquery_rows(plan, kind, row)?);
                        if let Some(k) = initplan {
                            self.initplans.insert(*k, rows.clone());
                        }
                        rows
                    }
                };
                match kind {
                    SubqueryKind::Exists => Value::Bool(!rows.is_empty()),
                    SubqueryKind::Scalar => {
                        if rows.len() > 1 {
                            return Err(SqlError::new(
                                code::CARDINALITY_VIOLATION,
                                "more than one row returned by a subquery used as an expression",
                            ));
                        }
                        rows.first()
                            .and_then(|r| r.first())
                            .cloned()
                            .unwrap_or(Value::Null)
                    }
                    SubqueryKind::Array => Value::Array(
                        rows.iter()
                            .map(|r| r.first().cloned().unwrap_or(Value::Null))
                            .collect(),
                    ),
                    SubqueryKind::Any(op) | SubqueryKind::All(op) => {
                        let all = matches!(kind, SubqueryKind::All(_));
                        let x = left_v.unwrap_or(Value::Null);
                        let mut null = false;
                        for r in rows.iter() {
                            let y = r.first().unwrap_or(&Value::Null);
                            if x.is_null() || y.is_null() {
                                null = true;
                                continue;
                            }
                            let hit = binary(*op, &x, y, Type::Bool)?.as_bool() == Some(true);
                            if hit && !all {
                                return Ok(Value::Bool(true));
                            }
                            if !hit && all {
                                return Ok(Value::Bool(false));
                            }
                        }
                        if null {
                            Value::Null
                        } else {
                            Value::Bool(all)
                        }
                    }
                }
            }
            ExprKind::Agg(_) => return Err(SqlError::internal("unplanned aggregate")),
            ExprKind::Lookup { map, arg, missing } => {
                let v = self.eval(arg, row)?;
                let Value::Int(k) = v else {
                    return Ok(Value::Null);
                };
                match map.get(&k) {
                    Some(v) => v.clone(),
                    None => missing
                        .clone()
                        .unwrap_or_else(|| Value::Text(k.to_string())),
                }
            }
            ExprKind::Regex {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                let s = self.eval(expr, row)?;
                let p = self.eval(pattern, row)?;
                if s.is_null() || p.is_null() {
                    return Ok(Value::Null);
                }
                let re = regex::RegexBuilder::new(text(&p))
                    .case_insensitive(*case_insensitive)
                    .build()
                    .map_err(|e| {
                        SqlError::new(
                            code::INVALID_REGULAR_EXPRESSION,
                            format!("invalid regular expression: {e}"),
                        )
                    })?;
                Value::Bool(re.is_match(text(&s)) != *negated)
            }
            ExprKind::AnyArray {
                op,
                left,
                array,
                all,
            } => {
                let x = self.eval(left, row)?;
                let arr = self.eval(array, row)?;
                let Value::Array(mut items) = arr else {
                    return Ok(Value::Null);
                };
                // A bpchar[]'s elements meet the (text) left side as
                // bpchar::text does: without their trailing blanks.
                if array.ty.ty == Type::Array
                    && ColType::array_elem(array.ty) == Type::Bpchar
                    && left.ty.ty != Type::Bpchar
                {
                    for y in &mut items {
                        if let Value::Text(s) = y {
                            let t = s.trim_end_matches(' ').len();
                            s.truncate(t);
                        }
                    }
                }
                let mut null = false;
                for y in &items {
                    if x.is_null() || y.is_null() {
                        null = true;
                        continue;
                    }
                    let hit = binary(*op, &x, y, Type::Bool)?.as_bool() == Some(true);
                    if hit && !all {
                        return Ok(Value::Bool(true));
                    }
                    if !hit && *all {
                        return Ok(Value::Bool(false));
                    }
                }
                if null {
                    Value::Null
                } else {
                    Value::Bool(*all)
                }
            }
        })
    }
}
