//! GROUP BY and aggregate functions with PostgreSQL's result types.

use std::collections::{HashMap, HashSet};

use super::{Exec, Rows};
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
    /// string_agg(bytea, bytea).
    ByteAgg(Option<Vec<u8>>),
    ArrayAgg(Option<Vec<Value>>),
}

fn init(a: &AggCall) -> State {
    match a.func {
        AggFunc::CountStar | AggFunc::Count => State::Count(0),
        AggFunc::Sum => State::Sum(None),
        AggFunc::Avg => State::Avg(None, 0),
        AggFunc::Min | AggFunc::Max => State::MinMax(None),
        AggFunc::BoolAnd | AggFunc::BoolOr => State::Bool(None),
        AggFunc::StringAgg if a.ty.ty == Type::Bytea => State::ByteAgg(None),
        AggFunc::StringAgg => State::StringAgg(None),
        AggFunc::JsonAgg { .. } => State::JsonAgg(None),
        AggFunc::JsonObjectAgg { .. } => State::JsonObjectAgg(None),
        AggFunc::ArrayAgg => State::ArrayAgg(None),
    }
}

/// Adds for sum/avg in the accumulator's type: integers to numeric
/// (sum(int8), avg) or int8 (sum(int2/int4)), floats as floats.
fn acc_add(acc: Option<Value>, v: &Value, result: Type) -> Result<Value> {
    // sum/avg(interval): interval_pl.
    if let (Some(Value::Interval(a)), Value::Interval(b)) = (&acc, v) {
        return Ok(Value::Interval(a.checked_add(*b)?));
    }
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
    // array_agg keeps NULL inputs.
    if let State::ArrayAgg(items) = st {
        items.get_or_insert_with(Vec::new).push(v);
        return Ok(());
    }
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
                    let ty = a.args.first().map_or(Type::Unknown, |e| e.ty.ty);
                    let o = super::compare_as(ty, &v, b);
                    // interval_larger/smaller keep the later of two
                    // equal intervals ('1 mon' and '30 days').
                    if o == std::cmp::Ordering::Equal && matches!(v, Value::Interval(_)) {
                        true
                    } else if a.func == AggFunc::Min {
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
        State::ByteAgg(acc) => {
            let Value::Bytes(b) = &v else {
                return Ok(());
            };
            match acc {
                None => *acc = Some(b.clone()),
                Some(cur) => {
                    if let Some(Value::Bytes(d)) = args.get(1) {
                        cur.extend_from_slice(d);
                    }
                    cur.extend_from_slice(b);
                }
            }
        }
        State::ArrayAgg(_) => {}
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
            // interval_avg: the sum divided by the count as a float8.
            Value::Interval(s) => Value::Interval(s.div_f64(n as f64)?),
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
        State::ByteAgg(b) => b.map(Value::Bytes).unwrap_or(Value::Null),
        State::ArrayAgg(items) => items.map(Value::Array).unwrap_or(Value::Null),
        State::StringAgg(s) => {
            let _ = a;
            s.map(Value::Text).unwrap_or(Value::Null)
        }
    })
}

/// One group's aggregation: per aggregate its state, the argument
/// values a DISTINCT one has seen, and the rows an ORDER BY one holds
/// back until the group is complete (sort keys, arguments).
struct Group {
    values: Vec<Value>,
    states: Vec<State>,
    seen: Vec<HashSet<Vec<u8>>>,
    held: Vec<Vec<(Vec<Value>, Vec<Value>)>>,
}

/// Feeds one row's arguments to an aggregate, skipping a DISTINCT one's
/// repeats. NULLs are one value to DISTINCT: a strict aggregate's step
/// skips it, array_agg and json(b)_agg keep one, as PostgreSQL's.
fn feed(a: &AggCall, st: &mut State, seen: &mut HashSet<Vec<u8>>, args: &[Value]) -> Result<()> {
    if a.distinct && !seen.insert(typed_identity(args, a.args.iter().map(|e| e.ty.ty))) {
        return Ok(());
    }
    step(a, st, args)
}

/// Arguments in ascending order, NULLs last (a DISTINCT aggregate's
/// implicit ORDER BY).
fn ascending(x: &[Value], y: &[Value]) -> std::cmp::Ordering {
    for (a, b) in x.iter().zip(y) {
        let o = match (a.is_null(), b.is_null()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => compare(a, b),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// An aggregation under way: its groups, in first-seen order.
#[derive(Default)]
pub(super) struct Aggregation {
    order: Vec<Vec<u8>>,
    map: HashMap<Vec<u8>, Group>,
}

impl Exec<'_> {
    pub(super) fn aggregate(
        &mut self,
        rows: Rows,
        groups: &[Expr],
        aggs: &[AggCall],
    ) -> Result<Rows> {
        let mut run = Aggregation::default();
        self.aggregate_rows(&mut run, &rows, groups, aggs)?;
        self.aggregate_finish(run, groups, aggs)
    }

    /// Adds input rows to an aggregation (the input may come in pieces).
    pub(super) fn aggregate_rows(
        &mut self,
        run: &mut Aggregation,
        rows: &Rows,
        groups: &[Expr],
        aggs: &[AggCall],
    ) -> Result<()> {
        for r in rows {
            let mut gv = Vec::with_capacity(groups.len());
            for g in groups {
                gv.push(self.eval(g, r)?);
            }
            let id = typed_identity(&gv, groups.iter().map(|g| g.ty.ty));
            let group = match run.map.entry(id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    run.order.push(e.key().clone());
                    e.insert(Group {
                        values: gv,
                        states: aggs.iter().map(init).collect(),
                        seen: aggs.iter().map(|_| HashSet::new()).collect(),
                        held: aggs.iter().map(|_| Vec::new()).collect(),
                    })
                }
            };
            for (i, a) in aggs.iter().enumerate() {
                // FILTER first: the arguments of a row it drops are not
                // evaluated (as in PostgreSQL).
                if let Some(f) = &a.filter {
                    if !matches!(self.eval(f, r)?, Value::Bool(true)) {
                        continue;
                    }
                }
                let mut vals = Vec::with_capacity(a.args.len());
                for e in &a.args {
                    vals.push(self.eval(e, r)?);
                }
                if !a.order.is_empty() {
                    let mut keys = Vec::with_capacity(a.order.len());
                    for k in &a.order {
                        keys.push(self.eval(&k.expr, r)?);
                    }
                    group.held[i].push((keys, vals));
                } else if a.distinct {
                    // PostgreSQL sorts a DISTINCT aggregate's input by its
                    // arguments: string_agg(DISTINCT ...) comes out sorted,
                    // a float sum adds in that order.
                    group.held[i].push((vals.clone(), vals));
                } else {
                    feed(a, &mut group.states[i], &mut group.seen[i], &vals)?;
                }
            }
        }
        Ok(())
    }

    /// The aggregation's result rows: one per group (one in all without
    /// GROUP BY, even over no rows).
    pub(super) fn aggregate_finish(
        &mut self,
        run: Aggregation,
        groups: &[Expr],
        aggs: &[AggCall],
    ) -> Result<Rows> {
        let Aggregation { order, mut map } = run;
        if order.is_empty() && groups.is_empty() {
            let mut out = Vec::new();
            for a in aggs {
                out.push(finish(a, init(a))?);
            }
            return Ok(vec![out]);
        }
        let mut out = Vec::with_capacity(order.len());
        for id in order {
            if let Some(mut g) = map.remove(&id) {
                let mut row = g.values;
                for (i, (a, mut st)) in aggs.iter().zip(g.states).enumerate() {
                    let mut held = std::mem::take(&mut g.held[i]);
                    // A stable sort: rows equal under ORDER BY keep their
                    // input order.
                    if a.order.is_empty() {
                        held.sort_by(|(x, _), (y, _)| ascending(x, y));
                    } else {
                        held.sort_by(|(x, _), (y, _)| super::compare_sort_keys(&a.order, x, y));
                    }
                    for (_, vals) in held {
                        feed(a, &mut st, &mut g.seen[i], &vals)?;
                    }
                    row.push(finish(a, st)?);
                }
                out.push(row);
            }
        }
        Ok(out)
    }
}

/// A row's identity as `=` sees it, where the types are known: a bpchar
/// value's trailing blanks do not count ('a'::char(3) and 'a'::char(5)
/// group together, as in PostgreSQL).
fn typed_identity(values: &[Value], types: impl Iterator<Item = Type>) -> Vec<u8> {
    let mut types = types;
    let mut k = Vec::new();
    for v in values {
        match (v, types.next()) {
            (Value::Text(s), Some(Type::Bpchar)) => {
                crate::storage::keys::encode(&Value::Text(s.trim_end_matches(' ').into()), &mut k);
            }
            _ => crate::storage::keys::encode(v, &mut k),
        }
    }
    k
}
