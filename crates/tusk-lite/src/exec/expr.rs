//! Expression evaluation with PostgreSQL's NULL, overflow and
//! division rules.

use std::cmp::Ordering;

use super::Exec;
use crate::error::{code, Result, SqlError};
use crate::numeric::Numeric;
use crate::sql::plan::{BinOp, BoolTest, Expr, ExprKind, Func, SubqueryKind};
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
            s.to_lowercase().chars().collect(),
            p.to_lowercase().chars().collect(),
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
                types::cast(v, a.ty.ty, e.ty, *explicit)?
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
                    let better = best.is_null()
                        || (compare(&v, &best) == Ordering::Greater) == *greatest
                            && compare(&v, &best) != Ordering::Equal;
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
                Value::Bool(like(text(&s), text(&p), *case_insensitive) != *negated)
            }
            ExprKind::Subquery { plan, kind, left } => {
                let left_v = match left {
                    Some(l) => Some(self.eval(l, row)?),
                    None => None,
                };
                self.outer.push(row.to_vec());
                let rows = self.run(plan);
                self.outer.pop();
                let rows = rows?;
                match kind {
                    SubqueryKind::Exists => Value::Bool(!rows.is_empty()),
                    SubqueryKind::Scalar => {
                        if rows.len() > 1 {
                            return Err(SqlError::new(
                                code::CARDINALITY_VIOLATION,
                                "more than one row returned by a subquery used as an expression",
                            ));
                        }
                        rows.into_iter()
                            .next()
                            .and_then(|r| r.into_iter().next())
                            .unwrap_or(Value::Null)
                    }
                    SubqueryKind::Any(op) | SubqueryKind::All(op) => {
                        let all = matches!(kind, SubqueryKind::All(_));
                        let x = left_v.unwrap_or(Value::Null);
                        let mut null = false;
                        for r in rows {
                            let y = r.into_iter().next().unwrap_or(Value::Null);
                            if x.is_null() || y.is_null() {
                                null = true;
                                continue;
                            }
                            let hit = binary(*op, &x, &y, Type::Bool)?.as_bool() == Some(true);
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
        })
    }

    /// Resolves a sequence named as nextval('name') names it.
    fn sequence(&self, name: &str) -> Result<std::sync::Arc<crate::catalog::Sequence>> {
        let parts: Vec<String> = name
            .split('.')
            .map(|p| {
                let p = p.trim();
                match p.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                    Some(q) => q.to_string(),
                    None => p.to_lowercase(),
                }
            })
            .collect();
        let (schema, rel) = match parts.as_slice() {
            [n] => ("public".to_string(), n.clone()),
            [s, n] => (s.clone(), n.clone()),
            _ => (String::new(), name.to_string()),
        };
        let cat = self.engine.catalog_for(self.txn);
        cat.sequence(&schema, &rel).cloned().ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )
        })
    }

    fn call(&mut self, f: Func, v: &[Value], args: &[Expr], ty: ColType) -> Result<Value> {
        // Functions that see NULL arguments themselves.
        match f {
            Func::Concat => {
                let mut s = String::new();
                for (x, a) in v.iter().zip(args) {
                    if !x.is_null() {
                        s.push_str(&types::format_text(x, a.ty.ty));
                    }
                }
                return Ok(Value::Text(s));
            }
            Func::Version => {
                return Ok(Value::Text(crate::VERSION_STRING.to_string()));
            }
            Func::CurrentDatabase => return Ok(Value::Text(self.session.database.clone())),
            Func::CurrentUser => return Ok(Value::Text(self.session.user.clone())),
            Func::CurrentSchema => return Ok(Value::Text("public".into())),
            Func::PgTypeof => {
                return Ok(Value::Text(
                    args.first()
                        .map(|a| a.ty.ty.name())
                        .unwrap_or("unknown")
                        .into(),
                ))
            }
            Func::Random => return Ok(Value::Float(fastrand::f64())),
            Func::Nextval | Func::Currval | Func::Setval => {
                if v.first().is_none_or(Value::is_null) {
                    return Ok(Value::Null);
                }
                let name = match &v[0] {
                    Value::Text(s) => s.clone(),
                    _ => String::new(),
                };
                let seq = self.sequence(&name)?;
                return match f {
                    Func::Nextval => {
                        let n = self.engine.nextval(&seq)?;
                        self.session.currval.lock().insert(seq.oid, n);
                        Ok(Value::Int(n))
                    }
                    Func::Currval => match self.session.currval.lock().get(&seq.oid) {
                        Some(n) => Ok(Value::Int(*n)),
                        None => Err(SqlError::new(
                            "55000",
                            format!(
                                "currval of sequence \"{}\" is not yet defined in this session",
                                seq.name
                            ),
                        )),
                    },
                    _ => {
                        let value = int(&v[1]);
                        let called = v.get(2).and_then(Value::as_bool).unwrap_or(true);
                        Ok(Value::Int(self.engine.setval(&seq, value, called)?))
                    }
                };
            }
            Func::Now | Func::LocalTimestamp => {
                return Ok(Value::Int(crate::datetime::now_usecs(self.txn.started)))
            }
            Func::ClockTimestamp => {
                return Ok(Value::Int(crate::datetime::now_usecs(
                    std::time::SystemTime::now(),
                )))
            }
            Func::CurrentDate => {
                let us = crate::datetime::now_usecs(self.txn.started);
                return Ok(Value::Int(us.div_euclid(crate::datetime::USECS_PER_DAY)));
            }
            _ => {}
        }
        if v.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        let a0 = v.first().cloned().unwrap_or(Value::Null);
        Ok(match f {
            Func::Lower => Value::Text(text(&a0).to_lowercase()),
            Func::Upper => Value::Text(text(&a0).to_uppercase()),
            Func::Length => {
                let s = text(&a0);
                let s = if args[0].ty.ty == Type::Bpchar {
                    s.trim_end_matches(' ')
                } else {
                    s
                };
                Value::Int(i64::try_from(s.chars().count()).unwrap_or(i64::MAX))
            }
            Func::Abs => match a0 {
                Value::Int(i) => Value::Int(check_int(
                    i.checked_abs().ok_or_else(|| int_overflow(ty.ty))?,
                    ty.ty,
                )?),
                Value::Float(x) => Value::Float(x.abs()),
                Value::Numeric(n) => Value::Numeric(n.abs()),
                x => x,
            },
            Func::Sign => match a0 {
                Value::Float(x) => Value::Float(if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }),
                Value::Numeric(n) => Value::Numeric(Numeric::from_i64(i64::from(n.signum()))),
                x => x,
            },
            Func::Round | Func::Trunc => {
                let digits = v.get(1).map(int).unwrap_or(0);
                let digits = i32::try_from(digits).unwrap_or(0);
                match a0 {
                    Value::Float(x) => Value::Float(if f == Func::Round {
                        x.round_ties_even()
                    } else {
                        x.trunc()
                    }),
                    Value::Numeric(n) => Value::Numeric(if f == Func::Round {
                        n.round(digits)
                    } else {
                        n.trunc(digits)
                    }),
                    x => x,
                }
            }
            Func::Floor | Func::Ceil => match a0 {
                Value::Float(x) => Value::Float(if f == Func::Floor {
                    x.floor()
                } else {
                    x.ceil()
                }),
                Value::Numeric(n) => Value::Numeric(if f == Func::Floor {
                    n.floor()
                } else {
                    n.ceil()
                }),
                x => x,
            },
            Func::Sqrt => match a0 {
                Value::Float(x) => {
                    if x < 0.0 {
                        return Err(SqlError::new(
                            "2201F",
                            "cannot take square root of a negative number",
                        ));
                    }
                    Value::Float(x.sqrt())
                }
                x => x,
            },
            Func::Power => match (&a0, &v[1]) {
                (Value::Float(x), Value::Float(y)) => Value::Float(x.powf(*y)),
                _ => a0,
            },
            Func::Mod => binary(BinOp::Mod, &a0, &v[1], ty.ty)?,
            Func::Substr => {
                let s: Vec<char> = text(&a0).chars().collect();
                let start = int(&v[1]);
                let (from, to) = match v.get(2) {
                    Some(l) => {
                        let len = int(l);
                        if len < 0 {
                            return Err(SqlError::new(
                                "22011",
                                "negative substring length not allowed",
                            ));
                        }
                        (start, start.saturating_add(len))
                    }
                    None => (start, i64::MAX),
                };
                let from = usize::try_from(from.max(1) - 1).unwrap_or(0);
                let to = usize::try_from((to - 1).max(0))
                    .unwrap_or(usize::MAX)
                    .min(s.len());
                Value::Text(if from >= to {
                    String::new()
                } else {
                    s[from..to].iter().collect()
                })
            }
            Func::Replace => Value::Text(if text(&v[1]).is_empty() {
                text(&a0).to_string()
            } else {
                text(&a0).replace(text(&v[1]), text(&v[2]))
            }),
            Func::Position => {
                let hay = text(&v[1]);
                let needle = text(&a0);
                Value::Int(match hay.find(needle) {
                    Some(i) => i64::try_from(hay[..i].chars().count()).unwrap_or(0) + 1,
                    None => 0,
                })
            }
            Func::Btrim | Func::Ltrim | Func::Rtrim => {
                let set: Vec<char> = v
                    .get(1)
                    .map(|x| text(x).chars().collect())
                    .unwrap_or_else(|| vec![' ']);
                let s = text(&a0);
                Value::Text(
                    match f {
                        Func::Btrim => s.trim_matches(|c| set.contains(&c)),
                        Func::Ltrim => s.trim_start_matches(|c| set.contains(&c)),
                        _ => s.trim_end_matches(|c| set.contains(&c)),
                    }
                    .to_string(),
                )
            }
            Func::Left | Func::Right => {
                let s: Vec<char> = text(&a0).chars().collect();
                let n = int(&v[1]);
                let len = i64::try_from(s.len()).unwrap_or(0);
                let k = usize::try_from(if n >= 0 { n.min(len) } else { (len + n).max(0) })
                    .unwrap_or(0);
                Value::Text(if f == Func::Left {
                    s[..k].iter().collect()
                } else {
                    s[s.len() - k..].iter().collect()
                })
            }
            Func::Repeat => {
                let n = usize::try_from(int(&v[1]).max(0)).unwrap_or(0);
                let s = text(&a0);
                if s.len().saturating_mul(n) > (1 << 30) {
                    return Err(SqlError::new("54000", "requested length too large"));
                }
                Value::Text(s.repeat(n))
            }
            _ => return Err(SqlError::internal(format!("function {f:?}"))),
        })
    }
}
