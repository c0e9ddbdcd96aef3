//! GROUP BY and aggregate functions with PostgreSQL's result types.

use std::collections::{HashMap, HashSet};

use super::{row_identity, Exec, Rows};
use crate::error::Result;
use crate::numeric::Numeric;
use crate::sql::plan::{AggCall, AggFunc, Expr};
use crate::types::{self, compare, Type, Value};

enum State {
    Count(i64),
    Sum(Option<Value>),
    Avg(Option<Value>, i64),
    MinMax(Option<Value>),
    Bool(Option<bool>),
    StringAgg(Option<String>),
    /// json(b)_agg's values; json(b)_object_agg's (key, value) pairs.
    JsonAgg(Option<Vec<Value>>),
    JsonObjectAgg(Option<Vec<(String, Value)>>),
}

fn init(a: &AggCall) -> State {
    match a.func {
        AggFunc::CountStar | AggFunc::Count => State::Count(0),
        AggFunc::Sum => State::Sum(None),
        AggFunc::Avg => State::Avg(None, 0),
        AggFunc::Min | AggFunc::Max => State::MinMax(None),
        AggFunc::BoolAnd | AggFunc::BoolOr => State::Bool(None),
        AggFunc::StringAgg => State::StringAgg(None),
        AggFunc::JsonAgg { .. } => State::JsonAgg(None),
        AggFunc::JsonObjectAgg { .. } => State::JsonObjectAgg(None),
    }
}

/// Adds for sum/avg in the accumulator's type: integers to numeric
/// (sum(int8), avg) or int8 (sum(int2/int4)), floats as floats.
fn acc_add(acc: Option<Value>, v: &Value, result: Type) -> Result<Value> {
    let v = match (v, result) {
        (Value::Int(i), Type::Numeric) => Value::Numeric(Numeric::from_i64(*i)),
        (x, _) => x.clone(),
    };
    Ok(match acc {
        None => v,
        Some(a) => super::expr::binary(crate::sql::plan::BinOp::Add, &a, &v, result)?,
    })
}

fn step(a: &AggCall, st: &mut State, args: &[Value]) -> Result<()> {
    if a.func == AggFunc::CountStar {
        if let State::Count(c) = st {
            *c += 1;
        }
        return Ok(());
    }
    // json(b)_agg keeps NULLs (as JSON null); json(b)_object_agg needs a key.
    if let State::JsonAgg(acc) = st {
        acc.get_or_insert_with(Vec::new)
            .push(args.first().cloned().unwrap_or(Value::Null));
        return Ok(());
    }
    if let State::JsonObjectAgg(acc) = st {
        let key = match args.first() {
            Some(Value::Null) | None => {
                return Err(crate::error::SqlError::new(
                    crate::error::code::INVALID_PARAMETER_VALUE,
                    "field name must not be null",
                ))
            }
            Some(k) => types::format_text(k, Type::Text),
        };
        acc.get_or_insert_with(Vec::new)
            .push((key, args.get(1).cloned().unwrap_or(Value::Null)));
        return Ok(());
    }
    let v = args.first().cloned().unwrap_or(Value::Null);
    if v.is_null() {
        return Ok(());
    }
    match st {
        State::Count(c) => *c += 1,
        State::JsonAgg(_) | State::JsonObjectAgg(_) => {}
        State::Sum(acc) => *acc = Some(acc_add(acc.take(), &v, a.ty.ty)?),
        State::Avg(acc, n) => {
            let t = if a.ty.ty == Type::Float8 {
                Type::Float8
            } else {
                Type::Numeric
            };
            *acc = Some(acc_add(acc.take(), &v, t)?);
            *n += 1;
        }
        State::MinMax(best) => {
            let replace = match best {
                None => true,
                Some(b) => {
                    let o = compare(&v, b);
                    if a.func == AggFunc::Min {
                        o == std::cmp::Ordering::Less
                    } else {
                        o == std::cmp::Ordering::Greater
                    }
                }
            };
            if replace {
                *best = Some(v);
            }
        }
        State::Bool(acc) => {
            let b = v.as_bool().unwrap_or(false);
            *acc = Some(match (acc.take(), a.func) {
                (None, _) => b,
                (Some(x), AggFunc::BoolAnd) => x && b,
                (Some(x), _) => x || b,
            });
        }
        State::StringAgg(acc) => {
            let s = types::format_text(&v, Type::Text);
            let sep = args.get(1).cloned().unwrap_or(Value::Null);
            match acc {
                None => *acc = Some(s),
                Some(cur) => {
                    if let Value::Text(d) = sep {
                        cur.push_str(&d);
                    }
                    cur.push_str(&s);
                }
            }
        }
    }
    Ok(())
}

fn finish(a: &AggCall, st: State) -> Result<Value> {
    Ok(match st {
        State::Count(c) => Value::Int(c),
        State::Sum(acc) => acc.unwrap_or(Value::Null),
        State::Avg(None, _) => Value::Null,
        State::Avg(Some(sum), n) => match sum {
            Value::Float(f) => Value::Float(f / n as f64),
            Value::Numeric(s) => Value::Numeric(s.div(&Numeric::from_i64(n))?),
            other => other,
        },
        State::MinMax(v) => v.unwrap_or(Value::Null),
        State::Bool(b) => b.map(Value::Bool).unwrap_or(Value::Null),
        State::JsonAgg(None) | State::JsonObjectAgg(None) => Value::Null,
        State::JsonAgg(Some(items)) => match a.func {
            AggFunc::JsonAgg { jsonb, structured } => {
                crate::json::ops::agg_array(&items, jsonb, structured)?
            }
            _ => Value::Null,
        },
        State::JsonObjectAgg(Some(pairs)) => crate::json::ops::agg_object(
            &pairs,
            matches!(a.func, AggFunc::JsonObjectAgg { jsonb: true }),
        )?,
        State::StringAgg(s) => {
            let _ = a;
            s.map(Value::Text).unwrap_or(Value::Null)
        }
    })
}

impl Exec<'_> {
    pub(super) fn aggregate(
        &mut self,
        rows: Rows,
        groups: &[Expr],
        aggs: &[AggCall],
    ) -> Result<Rows> {
        // Group key -> (group values, states, distinct sets), in first-seen order.
        let mut order: Vec<Vec<u8>> = Vec::new();
        type Group = (Vec<Value>, Vec<State>, Vec<HashSet<Vec<u8>>>);
        let mut map: HashMap<Vec<u8>, Group> = HashMap::new();
        for r in &rows {
            let mut gv = Vec::with_capacity(groups.len());
            for g in groups {
                gv.push(self.eval(g, r)?);
            }
            let id = row_identity(&gv);
            if !map.contains_key(&id) {
                order.push(id.clone());
                map.insert(
                    id.clone(),
                    (
                        gv,
                        aggs.iter().map(init).collect(),
                        aggs.iter().map(|_| HashSet::new()).collect(),
                    ),
                );
            }
            let mut argvals = Vec::with_capacity(aggs.len());
            for a in aggs {
                let mut vals = Vec::with_capacity(a.args.len());
                for e in &a.args {
                    vals.push(self.eval(e, r)?);
                }
                argvals.push(vals);
            }
            if let Some((_, states, seen)) = map.get_mut(&id) {
                for (i, a) in aggs.iter().enumerate() {
                    if a.distinct {
                        // NULLs are one value to DISTINCT; a strict aggregate's
                        // step skips it, json(b)_agg keeps one, as PostgreSQL's.
                        if !seen[i].insert(row_identity(&argvals[i])) {
                            continue;
                        }
                    }
                    step(a, &mut states[i], &argvals[i])?;
                }
            }
        }
        if rows.is_empty() && groups.is_empty() {
            let mut out = Vec::new();
            for a in aggs {
                out.push(finish(a, init(a))?);
            }
            return Ok(vec![out]);
        }
        let mut out = Vec::with_capacity(order.len());
        for id in order {
            if let Some((gv, states, _)) = map.remove(&id) {
                let mut row = gv;
                for (a, st) in aggs.iter().zip(states) {
                    row.push(finish(a, st)?);
                }
                out.push(row);
            }
        }
        Ok(out)
    }
}
