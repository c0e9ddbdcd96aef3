//! The array functions and operators: array_length, cardinality,
//! array_append/prepend, array_position/remove, `@>`, `<@`, `&&` and
//! slices, as PostgreSQL computes them on one-dimensional arrays (lower
//! bound 1).

use std::cmp::Ordering;

use crate::error::{Result, SqlError};
use crate::sql::plan::Func;
use crate::types::{compare, Value};

/// Equal, or both NULL (IS NOT DISTINCT FROM).
fn same(a: &Value, b: &Value) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => compare(a, b) == Ordering::Equal,
        _ => false,
    }
}

fn len_value(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

/// Whether every element of `sub` is in `of` (a NULL element of `sub`
/// is in nothing, as in array_contain_compare).
fn contained(sub: &[Value], of: &[Value]) -> bool {
    sub.iter()
        .all(|x| !x.is_null() && of.iter().any(|y| !y.is_null() && same(x, y)))
}

/// Calls `f` when it is an array function; None for another function.
pub(super) fn call(f: Func, v: &[Value]) -> Option<Result<Value>> {
    let arr = |i: usize| match v.get(i) {
        Some(Value::Array(items)) => Some(items.as_slice()),
        _ => None,
    };
    let arg = |i: usize| v.get(i).cloned().unwrap_or(Value::Null);
    Some(Ok(match f {
        Func::ArrayLength | Func::ArrayLower => match (arr(0), int(&arg(1))) {
            (Some(items), Some(1)) if !items.is_empty() => {
                if f == Func::ArrayLength {
                    len_value(items.len())
                } else {
                    Value::Int(1)
                }
            }
            _ => Value::Null,
        },
        Func::Cardinality => match arr(0) {
            Some(items) => len_value(items.len()),
            None => Value::Null,
        },
        Func::ArrayNdims => match arr(0) {
            Some(items) if !items.is_empty() => Value::Int(1),
            _ => Value::Null,
        },
        Func::ArrayAppend => {
            let mut items = arr(0).map(<[Value]>::to_vec).unwrap_or_default();
            items.push(arg(1));
            Value::Array(items)
        }
        Func::ArrayPrepend => {
            let mut items = vec![arg(0)];
            items.extend(arr(1).unwrap_or_default().iter().cloned());
            Value::Array(items)
        }
        Func::ArrayPosition => {
            let Some(items) = arr(0) else {
                return Some(Ok(Value::Null));
            };
            let start = match v.get(2) {
                None => 1,
                Some(Value::Null) => {
                    return Some(Err(SqlError::new(
                        "22004",
                        "initial position must not be null",
                    )))
                }
                Some(s) => int(s).unwrap_or(1).max(1),
            };
            let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
            let x = arg(1);
            match items.iter().skip(skip).position(|e| same(e, &x)) {
                Some(p) => len_value(p + skip + 1),
                None => Value::Null,
            }
        }
        Func::ArrayRemove => match arr(0) {
            Some(items) => {
                let x = arg(1);
                Value::Array(items.iter().filter(|e| !same(e, &x)).cloned().collect())
            }
            None => Value::Null,
        },
        Func::ArrayContains | Func::ArrayContained | Func::ArrayOverlap => {
            let (Some(a), Some(b)) = (arr(0), arr(1)) else {
                return Some(Ok(Value::Null));
            };
            Value::Bool(match f {
                Func::ArrayContains => contained(b, a),
                Func::ArrayContained => contained(a, b),
                _ => a
                    .iter()
                    .any(|x| !x.is_null() && b.iter().any(|y| !y.is_null() && same(x, y))),
            })
        }
        Func::ArraySlice { lo_open, hi_open } => {
            let Some(items) = arr(0) else {
                return Some(Ok(Value::Null));
            };
            let lo = if lo_open { Some(1) } else { int(&arg(1)) };
            let hi = if hi_open {
                Some(i64::try_from(items.len()).unwrap_or(i64::MAX))
            } else {
                int(&arg(2))
            };
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Some(Ok(Value::Null));
            };
            let lo = usize::try_from(lo.max(1) - 1).unwrap_or(0);
            let hi = usize::try_from(hi.max(0)).unwrap_or(0).min(items.len());
            Value::Array(if lo < hi {
                items[lo..hi].to_vec()
            } else {
                Vec::new()
            })
        }
        Func::ArraySet => {
            let Some(i) = int(&arg(1)) else {
                return Some(Err(SqlError::new(
                    "22004",
                    "array subscript in assignment must not be null",
                )));
            };
            let mut items = arr(0).map(<[Value]>::to_vec).unwrap_or_default();
            // Lower bounds other than 1 are not kept: an element before
            // the first, or past the start of an empty or NULL array, is 0A000.
            let Some(at) = usize::try_from(i).ok().and_then(|i| i.checked_sub(1)) else {
                return Some(Err(SqlError::unsupported(
                    "an array subscript below 1 in assignment",
                )));
            };
            if items.is_empty() && at > 0 {
                return Some(Err(SqlError::unsupported(
                    "assigning past the start of an empty array (its lower bound would not be 1)",
                )));
            }
            if at >= 1 << 27 {
                return Some(Err(SqlError::new(
                    "54000",
                    "array size exceeds the maximum allowed (134217727)",
                )));
            }
            if at >= items.len() {
                items.resize(at + 1, Value::Null);
            }
            items[at] = arg(2);
            Value::Array(items)
        }
        _ => return None,
    }))
}
