//! Editing jsonb along a path (jsonb_set, jsonb_insert, #-) and
//! json(b)_strip_nulls.

use super::ops::{err, index_of, step_int};
use super::{escape, key_cmp, Jsonb};
use crate::error::{code, Result, SqlError};

/// JSON text without blanks between tokens (json_strip_nulls' output).
pub(super) fn compact(j: &Jsonb) -> String {
    match j {
        Jsonb::Array(items) => format!(
            "[{}]",
            items.iter().map(compact).collect::<Vec<_>>().join(",")
        ),
        Jsonb::Object(f) => format!(
            "{{{}}}",
            f.iter()
                .map(|(k, v)| {
                    let mut o = String::new();
                    escape(k, &mut o);
                    o.push(':');
                    o.push_str(&compact(v));
                    o
                })
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

pub(super) fn strip_nulls(j: Jsonb) -> Jsonb {
    match j {
        Jsonb::Object(f) => Jsonb::Object(
            f.into_iter()
                .filter(|(_, v)| !matches!(v, Jsonb::Null))
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Jsonb::Array(items) => Jsonb::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

pub(super) fn not_int(pos: usize, s: &str) -> SqlError {
    err(
        code::INVALID_TEXT_REPRESENTATION,
        format!(
            "path element at position {} is not an integer: \"{s}\"",
            pos + 1
        ),
    )
}

pub(super) fn delete_path(j: &mut Jsonb, path: &[Option<String>], level: usize) -> Result<()> {
    let Some(Some(p)) = path.get(level) else {
        return Ok(());
    };
    let last = level + 1 == path.len();
    match j {
        Jsonb::Object(f) => {
            if let Ok(i) = f.binary_search_by(|(k, _)| key_cmp(k, p)) {
                if last {
                    f.remove(i);
                } else {
                    delete_path(&mut f[i].1, path, level + 1)?;
                }
            }
        }
        Jsonb::Array(items) => {
            let n = step_int(p).ok_or_else(|| not_int(level, p))?;
            if let Some(i) = index_of(items.len(), n) {
                if last {
                    items.remove(i);
                } else {
                    delete_path(&mut items[i], path, level + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// How deep `j` nests (a scalar is 0), counted without recursion: a value
/// built by jsonb_set can be deeper than any input (each call can double
/// the depth), and measuring it must not be what overflows the stack.
pub(super) fn depth(j: &Jsonb) -> usize {
    let mut max = 0;
    let mut stack = vec![(j, 0usize)];
    while let Some((j, d)) = stack.pop() {
        max = max.max(d);
        match j {
            Jsonb::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Jsonb::Object(f) => stack.extend(f.iter().map(|(_, v)| (v, d + 1))),
            _ => {}
        }
    }
    max
}

/// setPath: jsonb_set (replace or, with `flag`, create) and
/// jsonb_insert (insert before, or after with `flag`).
pub(super) fn set_path(
    j: &mut Jsonb,
    path: &[String],
    level: usize,
    new: Jsonb,
    insert: bool,
    flag: bool,
) -> Result<()> {
    let p = &path[level];
    let last = level + 1 == path.len();
    match j {
        Jsonb::Object(f) => match f.binary_search_by(|(k, _)| key_cmp(k, p)) {
            Ok(i) => {
                if last {
                    if insert {
                        return Err(err(
                            code::INVALID_PARAMETER_VALUE,
                            "cannot replace existing key",
                        )
                        .with_hint("Try using the function jsonb_set to replace key value."));
                    }
                    f[i].1 = new;
                } else {
                    set_path(&mut f[i].1, path, level + 1, new, insert, flag)?;
                }
            }
            Err(i) => {
                if last && (insert || flag) {
                    f.insert(i, (p.clone(), new));
                }
            }
        },
        Jsonb::Array(items) => {
            let n = step_int(p).ok_or_else(|| not_int(level, p))?;
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let idx = if n < 0 { n + len } else { n };
            if last {
                let create = insert || flag;
                if idx < 0 {
                    if create {
                        items.insert(0, new);
                    }
                } else if idx >= len {
                    if create {
                        items.push(new);
                    }
                } else {
                    let i = usize::try_from(idx).unwrap_or(0);
                    if insert {
                        items.insert(if flag { i + 1 } else { i }, new);
                    } else {
                        items[i] = new;
                    }
                }
            } else if (0..len).contains(&idx) {
                let i = usize::try_from(idx).unwrap_or(0);
                set_path(&mut items[i], path, level + 1, new, insert, flag)?;
            }
        }
        _ => {}
    }
    Ok(())
}
