//! json/jsonb operators and functions over values (`jsonfuncs.c`,
//! `jsonb_op.c`, `json.c`'s builders), with PostgreSQL's errors.

use std::sync::Arc;

pub use super::convert::{explicit_cast_ok, jsonb_to_scalar};
use super::convert::{to_json, to_jsonb};
use super::edit::{compact, delete_path, depth, set_path, strip_nulls};
use super::{escape, parse, Jsonb, Node, NodeKind};
use crate::error::{code, Result, SqlError};
use crate::types::{format_text, ColType, Type, Value};

/// A json/jsonb function or operator; `jsonb` picks the flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonFunc {
    /// `->` (text: `->>`), by key (text) or index (int).
    Get {
        jsonb: bool,
        text: bool,
    },
    /// `#>` (text: `#>>`) by a text[] path.
    GetPath {
        jsonb: bool,
        text: bool,
    },
    /// `@>` (reversed: `<@`).
    Contains {
        reversed: bool,
    },
    /// `?`, `?|` (any), `?&` (all).
    Exists,
    ExistsAny,
    ExistsAll,
    /// jsonb `||`.
    Concat,
    /// jsonb `-` text, int or text[].
    Delete,
    /// jsonb `#-` text[].
    DeletePath,
    /// to_json/to_jsonb of a value of this type.
    To {
        from: ColType,
        jsonb: bool,
    },
    /// row_to_json / to_json of a row: (name, converted value) pairs as
    /// arguments, written without blanks (`{"a":1,"b":null}`).
    Row,
    /// json[b]_build_object(k, v, ...): arguments already converted
    /// (keys to text, values by `To`).
    BuildObject {
        jsonb: bool,
    },
    BuildArray {
        jsonb: bool,
    },
    Typeof {
        jsonb: bool,
    },
    ArrayLength {
        jsonb: bool,
    },
    /// jsonb_object_keys: the keys as a text array (unnested in FROM).
    ObjectKeys {
        jsonb: bool,
    },
    /// json[b]_array_elements[_text]: the elements as an array.
    ArrayElements {
        jsonb: bool,
        text: bool,
    },
    /// json[b]_each[_text]: (key, value) rows as an array of arrays.
    Each {
        jsonb: bool,
        text: bool,
    },
    /// jsonb_set(target, path, value, create_missing).
    Set,
    /// jsonb_insert(target, path, value, insert_after).
    Insert,
    StripNulls {
        jsonb: bool,
    },
    Pretty,
}

pub(super) fn err(code: &'static str, msg: impl Into<String>) -> SqlError {
    SqlError::new(code, msg)
}

fn jb(v: Jsonb) -> Value {
    Value::Jsonb(Arc::new(v))
}

/// A json value's text: json is Text, jsonb its output.
fn json_text(v: &Value) -> String {
    match v {
        Value::Jsonb(j) => j.to_string(),
        other => format_text(other, Type::Text),
    }
}

fn as_jsonb(v: &Value) -> Result<Jsonb> {
    match v {
        Value::Jsonb(j) => Ok((**j).clone()),
        Value::Text(s) => Jsonb::parse(s),
        _ => Err(SqlError::internal("jsonb operand")),
    }
}

/// A converted value (by `To`) as jsonb, or as json text.
fn converted(v: &Value, jsonb: bool) -> Result<Value> {
    Ok(if jsonb {
        match v {
            Value::Null => jb(Jsonb::Null),
            v => jb(as_jsonb(v)?),
        }
    } else {
        match v {
            Value::Null => Value::Text("null".into()),
            v => Value::Text(json_text(v)),
        }
    })
}

fn path_strings(v: &Value) -> Vec<Option<String>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => None,
                other => Some(format_text(other, Type::Text)),
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn index_of(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len + i } else { i };
    if (0..len).contains(&i) {
        usize::try_from(i).ok()
    } else {
        None
    }
}

/// A path step's integer (PostgreSQL reads it with strtol: surrounding
/// blanks allowed).
pub(super) fn step_int(s: &str) -> Option<i64> {
    // PostgreSQL reads a path's array index with strtoint: an int4, so
    // jsonb_set/jsonb_insert/#- say 'is not an integer' for one past it.
    s.trim().parse::<i32>().ok().map(i64::from)
}

fn jsonb_get<'a>(j: &'a Jsonb, key: &Value) -> Option<&'a Jsonb> {
    match (j, key) {
        (Jsonb::Object(_), Value::Text(k)) => j.get(k),
        (Jsonb::Array(items), Value::Int(i)) => index_of(items.len(), *i).map(|i| &items[i]),
        // A scalar is a one-element array to jsonb_array_element.
        (Jsonb::Object(_), _) => None,
        (s, Value::Int(i)) => index_of(1, *i).map(|_| s),
        _ => None,
    }
}

fn node_get<'a>(n: &'a Node, key: &Value) -> Option<&'a Node> {
    match (&n.kind, key) {
        // json keeps duplicate keys: the last one wins.
        (NodeKind::Object(f), Value::Text(k)) => {
            f.iter().rev().find(|(fk, _)| fk == k).map(|x| &x.1)
        }
        (NodeKind::Array(items), Value::Int(i)) => index_of(items.len(), *i).map(|i| &items[i]),
        _ => None,
    }
}

fn jsonb_path<'a>(mut j: &'a Jsonb, path: &[Option<String>]) -> Option<&'a Jsonb> {
    for p in path {
        let p = p.as_ref()?;
        j = match j {
            Jsonb::Object(_) => j.get(p)?,
            Jsonb::Array(items) => index_of(items.len(), step_int(p)?).map(|i| &items[i])?,
            _ => return None,
        };
    }
    Some(j)
}

fn node_path<'a>(mut n: &'a Node, path: &[Option<String>]) -> Option<&'a Node> {
    for p in path {
        let p = p.as_ref()?;
        n = match &n.kind {
            NodeKind::Object(f) => f.iter().rev().find(|(k, _)| k == p).map(|x| &x.1)?,
            NodeKind::Array(items) => index_of(items.len(), step_int(p)?).map(|i| &items[i])?,
            _ => return None,
        };
    }
    Some(n)
}

fn jsonb_result(j: Option<&Jsonb>, text: bool) -> Value {
    match (j, text) {
        (None, _) => Value::Null,
        (Some(j), false) => jb(j.clone()),
        (Some(Jsonb::Null), true) => Value::Null,
        (Some(Jsonb::String(s)), true) => Value::Text(s.clone()),
        (Some(j), true) => Value::Text(j.to_string()),
    }
}

fn node_result(n: Option<&Node>, src: &str, text: bool) -> Value {
    match (n, text) {
        (None, _) => Value::Null,
        (Some(n), true) if matches!(n.kind, NodeKind::Null) => Value::Null,
        (
            Some(Node {
                kind: NodeKind::String(s),
                ..
            }),
            true,
        ) => Value::Text(s.clone()),
        (Some(n), _) => Value::Text(src.get(n.span.0..n.span.1).unwrap_or("").to_string()),
    }
}

/// Evaluates `f` over non-null arguments (the caller returns NULL for a
/// NULL argument where the function is strict).
pub fn eval(f: JsonFunc, v: &[Value]) -> Result<Value> {
    match f {
        JsonFunc::To { from, jsonb } => {
            if v[0].is_null() {
                return Ok(Value::Null);
            }
            Ok(if jsonb {
                jb(to_jsonb(&v[0], from)?)
            } else {
                Value::Text(to_json(&v[0], from)?)
            })
        }
        JsonFunc::BuildObject { jsonb } => {
            if !v.len().is_multiple_of(2) {
                return Err(err(
                    code::INVALID_PARAMETER_VALUE,
                    "argument list must have even number of elements",
                )
                .with_hint(format!(
                    "The arguments of {}_build_object() must consist of alternating keys and values.",
                    if jsonb { "jsonb" } else { "json" }
                )));
            }
            let mut fields = Vec::new();
            for (i, pair) in v.chunks(2).enumerate() {
                let Value::Text(k) = &pair[0] else {
                    // PostgreSQL words the two functions' errors apart.
                    return Err(if jsonb {
                        err(
                            code::INVALID_PARAMETER_VALUE,
                            format!("argument {}: key must not be null", 2 * i + 1),
                        )
                    } else {
                        err(
                            code::INVALID_PARAMETER_VALUE,
                            format!("argument {} cannot be null", 2 * i + 1),
                        )
                        .with_hint("Object keys should be text.")
                    });
                };
                fields.push((k.clone(), converted(&pair[1], jsonb)?));
            }
            if jsonb {
                Ok(jb(Jsonb::object(
                    fields
                        .into_iter()
                        .map(|(k, v)| Ok((k, as_jsonb(&v)?)))
                        .collect::<Result<_>>()?,
                )))
            } else {
                let mut o = String::from("{");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        o.push_str(", ");
                    }
                    escape(k, &mut o);
                    o.push_str(" : ");
                    o.push_str(&json_text(v));
                }
                o.push('}');
                Ok(Value::Text(o))
            }
        }
        JsonFunc::Row => {
            let mut o = String::from("{");
            for (i, pair) in v.chunks(2).enumerate() {
                if i > 0 {
                    o.push(',');
                }
                escape(&format_text(&pair[0], Type::Text), &mut o);
                o.push(':');
                o.push_str(&json_text(&converted(
                    pair.get(1).unwrap_or(&Value::Null),
                    false,
                )?));
            }
            o.push('}');
            Ok(Value::Text(o))
        }
        JsonFunc::BuildArray { jsonb } => {
            let items = v
                .iter()
                .map(|x| converted(x, jsonb))
                .collect::<Result<Vec<_>>>()?;
            if jsonb {
                Ok(jb(Jsonb::Array(
                    items.iter().map(as_jsonb).collect::<Result<_>>()?,
                )))
            } else {
                Ok(Value::Text(format!(
                    "[{}]",
                    items.iter().map(json_text).collect::<Vec<_>>().join(", ")
                )))
            }
        }
        _ if v.iter().any(Value::is_null) && !matches!(f, JsonFunc::Set | JsonFunc::Insert) => {
            Ok(Value::Null)
        }
        JsonFunc::Get { jsonb: true, text } => {
            let j = as_jsonb(&v[0])?;
            Ok(jsonb_result(jsonb_get(&j, &v[1]), text))
        }
        JsonFunc::Get { jsonb: false, text } => {
            let src = json_text(&v[0]);
            let n = parse::parse(&src, true)?;
            Ok(node_result(node_get(&n, &v[1]), &src, text))
        }
        JsonFunc::GetPath { jsonb: true, text } => {
            let j = as_jsonb(&v[0])?;
            Ok(jsonb_result(jsonb_path(&j, &path_strings(&v[1])), text))
        }
        JsonFunc::GetPath { jsonb: false, text } => {
            let src = json_text(&v[0]);
            let n = parse::parse(&src, true)?;
            Ok(node_result(node_path(&n, &path_strings(&v[1])), &src, text))
        }
        JsonFunc::Contains { reversed } => {
            let (a, b) = (as_jsonb(&v[0])?, as_jsonb(&v[1])?);
            Ok(Value::Bool(if reversed {
                b.contains_top(&a)
            } else {
                a.contains_top(&b)
            }))
        }
        JsonFunc::Exists | JsonFunc::ExistsAny | JsonFunc::ExistsAll => {
            let j = as_jsonb(&v[0])?;
            let has = |k: &str| match &j {
                Jsonb::Object(_) => j.get(k).is_some(),
                Jsonb::Array(items) => items
                    .iter()
                    .any(|i| matches!(i, Jsonb::String(s) if s == k)),
                Jsonb::String(s) => s == k,
                _ => false,
            };
            Ok(Value::Bool(match f {
                JsonFunc::Exists => has(&format_text(&v[1], Type::Text)),
                JsonFunc::ExistsAny => path_strings(&v[1]).iter().flatten().any(|k| has(k)),
                _ => path_strings(&v[1]).iter().flatten().all(|k| has(k)),
            }))
        }
        JsonFunc::Concat => {
            let (a, b) = (as_jsonb(&v[0])?, as_jsonb(&v[1])?);
            Ok(jb(match (a, b) {
                (Jsonb::Object(mut x), Jsonb::Object(y)) => {
                    x.extend(y);
                    Jsonb::object(x)
                }
                (a, b) => {
                    let items = |j: Jsonb| match j {
                        Jsonb::Array(i) => i,
                        other => vec![other],
                    };
                    let mut x = items(a);
                    x.extend(items(b));
                    Jsonb::Array(x)
                }
            }))
        }
        JsonFunc::Delete => {
            let j = as_jsonb(&v[0])?;
            let scalar = || err(code::INVALID_PARAMETER_VALUE, "cannot delete from scalar");
            Ok(jb(match (j, &v[1]) {
                (Jsonb::Object(f), Value::Text(k)) => {
                    Jsonb::Object(f.into_iter().filter(|(fk, _)| fk != k).collect())
                }
                (Jsonb::Array(items), Value::Text(k)) => Jsonb::Array(
                    items
                        .into_iter()
                        .filter(|i| !matches!(i, Jsonb::String(s) if s == k))
                        .collect(),
                ),
                (Jsonb::Object(f), Value::Array(_)) => {
                    let keys = path_strings(&v[1]);
                    Jsonb::Object(
                        f.into_iter()
                            .filter(|(fk, _)| !keys.iter().flatten().any(|k| k == fk))
                            .collect(),
                    )
                }
                (Jsonb::Array(items), Value::Array(_)) => {
                    let keys = path_strings(&v[1]);
                    Jsonb::Array(
                        items
                            .into_iter()
                            .filter(|i| {
                                !matches!(i, Jsonb::String(s) if keys.iter().flatten().any(|k| k == s))
                            })
                            .collect(),
                    )
                }
                (Jsonb::Array(mut items), Value::Int(i)) => {
                    if let Some(i) = index_of(items.len(), *i) {
                        items.remove(i);
                    }
                    Jsonb::Array(items)
                }
                (Jsonb::Object(_), Value::Int(_)) => {
                    return Err(err(
                        code::INVALID_PARAMETER_VALUE,
                        "cannot delete from object using integer index",
                    ))
                }
                (_, _) => return Err(scalar()),
            }))
        }
        JsonFunc::DeletePath => {
            let mut j = as_jsonb(&v[0])?;
            if !matches!(j, Jsonb::Array(_) | Jsonb::Object(_)) {
                return Err(err(
                    code::INVALID_PARAMETER_VALUE,
                    "cannot delete path in scalar",
                ));
            }
            let path = path_strings(&v[1]);
            if !path.is_empty() {
                delete_path(&mut j, &path, 0)?;
            }
            Ok(jb(j))
        }
        JsonFunc::Set | JsonFunc::Insert => {
            if v[..3].iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            let mut j = as_jsonb(&v[0])?;
            let new = as_jsonb(&v[2])?;
            let flag = match v.get(3) {
                Some(Value::Bool(b)) => *b,
                Some(Value::Null) => return Ok(Value::Null),
                _ => f == JsonFunc::Set,
            };
            if !matches!(j, Jsonb::Array(_) | Jsonb::Object(_)) {
                return Err(err(
                    code::INVALID_PARAMETER_VALUE,
                    "cannot set path in scalar",
                ));
            }
            let path = path_strings(&v[1]);
            if path.is_empty() {
                return Ok(jb(j));
            }
            if let Some(pos) = path.iter().position(Option::is_none) {
                return Err(err(
                    "22004",
                    format!("path element at position {} is null", pos + 1),
                ));
            }
            let path: Vec<String> = path.into_iter().flatten().collect();
            // Reading, comparing and writing a jsonb recurse: a result
            // nested deeper than this (jsonb_set(d, deep_path, d) doubles
            // d's depth) would overflow the session's stack and abort the
            // process. PostgreSQL's recursive setPath stops such values
            // with the same 54001 (between 4,000 and 8,000 levels).
            const MAX_BUILT_DEPTH: usize = 10_000;
            let d = depth(&j);
            if d.max(d.min(path.len()) + depth(&new)) > MAX_BUILT_DEPTH {
                return Err(err("54001", "stack depth limit exceeded"));
            }
            set_path(&mut j, &path, 0, new, f == JsonFunc::Insert, flag)?;
            Ok(jb(j))
        }
        JsonFunc::Typeof { jsonb } => Ok(Value::Text(
            if jsonb {
                as_jsonb(&v[0])?.type_name()
            } else {
                match parse::parse(&json_text(&v[0]), false)?.kind {
                    NodeKind::Null => "null",
                    NodeKind::Bool(_) => "boolean",
                    NodeKind::Number => "number",
                    NodeKind::String(_) => "string",
                    NodeKind::Array(_) => "array",
                    NodeKind::Object(_) => "object",
                }
            }
            .to_string(),
        )),
        JsonFunc::ArrayLength { jsonb } => {
            // json is only lexed (a \u0000 in it is fine), jsonb is read.
            let j = if jsonb {
                as_jsonb(&v[0])?
            } else {
                match parse::parse(&json_text(&v[0]), false)?.kind {
                    NodeKind::Array(items) => Jsonb::Array(vec![Jsonb::Null; items.len()]),
                    NodeKind::Object(_) => Jsonb::Object(Vec::new()),
                    _ => Jsonb::Null,
                }
            };
            let n = match j {
                Jsonb::Array(i) => i.len(),
                j => {
                    return Err(err(
                        code::INVALID_PARAMETER_VALUE,
                        if matches!(j, Jsonb::Object(_)) {
                            "cannot get array length of a non-array"
                        } else {
                            "cannot get array length of a scalar"
                        },
                    ))
                }
            };
            Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        JsonFunc::ObjectKeys { jsonb } => {
            let name = if jsonb { "jsonb" } else { "json" };
            let src = json_text(&v[0]);
            // The keys are text, their escapes decoded (\u0000 is 22P05),
            // for json as well as jsonb.
            let n = parse::parse(&src, true)?;
            match n.kind {
                NodeKind::Object(f) => {
                    let keys: Vec<String> = if jsonb {
                        match Jsonb::from_node(
                            Node {
                                kind: NodeKind::Object(f),
                                span: n.span,
                            },
                            &src,
                        )? {
                            Jsonb::Object(f) => f.into_iter().map(|(k, _)| k).collect(),
                            _ => Vec::new(),
                        }
                    } else {
                        f.into_iter().map(|(k, _)| k).collect()
                    };
                    Ok(Value::Array(keys.into_iter().map(Value::Text).collect()))
                }
                NodeKind::Array(_) => Err(err(
                    code::INVALID_PARAMETER_VALUE,
                    format!("cannot call {name}_object_keys on an array"),
                )),
                _ => Err(err(
                    code::INVALID_PARAMETER_VALUE,
                    format!("cannot call {name}_object_keys on a scalar"),
                )),
            }
        }
        JsonFunc::ArrayElements { jsonb, text } => {
            if jsonb {
                match as_jsonb(&v[0])? {
                    Jsonb::Array(items) => Ok(Value::Array(
                        items.iter().map(|i| jsonb_result(Some(i), text)).collect(),
                    )),
                    j => Err(err(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "cannot extract elements from {}",
                            if matches!(j, Jsonb::Object(_)) {
                                "an object"
                            } else {
                                "a scalar"
                            }
                        ),
                    )),
                }
            } else {
                let src = json_text(&v[0]);
                let n = parse::parse(&src, true)?;
                match &n.kind {
                    NodeKind::Array(items) => Ok(Value::Array(
                        items
                            .iter()
                            .map(|i| node_result(Some(i), &src, text))
                            .collect(),
                    )),
                    NodeKind::Object(_) => Err(err(
                        code::INVALID_PARAMETER_VALUE,
                        "cannot extract elements from an object",
                    )),
                    _ => Err(err(
                        code::INVALID_PARAMETER_VALUE,
                        "cannot extract elements from a scalar",
                    )),
                }
            }
        }
        JsonFunc::Each { jsonb, text } => {
            let name = if jsonb { "jsonb" } else { "json" };
            let not_obj = || {
                err(
                    code::INVALID_PARAMETER_VALUE,
                    format!(
                        "cannot call {name}_each{} on a non-object",
                        if text { "_text" } else { "" }
                    ),
                )
            };
            if jsonb {
                match as_jsonb(&v[0])? {
                    Jsonb::Object(f) => Ok(Value::Array(
                        f.iter()
                            .map(|(k, x)| {
                                Value::Array(vec![
                                    Value::Text(k.clone()),
                                    jsonb_result(Some(x), text),
                                ])
                            })
                            .collect(),
                    )),
                    _ => Err(not_obj()),
                }
            } else {
                let src = json_text(&v[0]);
                let n = parse::parse(&src, true)?;
                match &n.kind {
                    NodeKind::Object(f) => Ok(Value::Array(
                        f.iter()
                            .map(|(k, x)| {
                                Value::Array(vec![
                                    Value::Text(k.clone()),
                                    node_result(Some(x), &src, text),
                                ])
                            })
                            .collect(),
                    )),
                    _ => Err(not_obj()),
                }
            }
        }
        JsonFunc::StripNulls { jsonb } => {
            let j = strip_nulls(as_jsonb(&v[0])?);
            Ok(if jsonb {
                jb(j)
            } else {
                // json_strip_nulls keeps the rest of the text's layout in
                // PostgreSQL; tusk-lite writes it compactly.
                Value::Text(compact(&j))
            })
        }
        JsonFunc::Pretty => {
            let mut s = String::new();
            as_jsonb(&v[0])?.write_pretty(&mut s, 0);
            Ok(Value::Text(s))
        }
    }
}

/// json_agg/jsonb_agg and json_object_agg/jsonb_object_agg results.
pub fn agg_array(items: &[Value], jsonb: bool, structured: bool) -> Result<Value> {
    let items = items
        .iter()
        .map(|x| converted(x, jsonb))
        .collect::<Result<Vec<_>>>()?;
    if jsonb {
        Ok(jb(Jsonb::Array(
            items.iter().map(as_jsonb).collect::<Result<_>>()?,
        )))
    } else {
        // json_agg puts a newline before each array or row after the first.
        let sep = if structured { ", \n " } else { ", " };
        Ok(Value::Text(format!(
            "[{}]",
            items.iter().map(json_text).collect::<Vec<_>>().join(sep)
        )))
    }
}

pub fn agg_object(pairs: &[(String, Value)], jsonb: bool) -> Result<Value> {
    if jsonb {
        Ok(jb(Jsonb::object(
            pairs
                .iter()
                .map(|(k, v)| Ok((k.clone(), as_jsonb(&converted(v, true)?)?)))
                .collect::<Result<_>>()?,
        )))
    } else {
        let mut o = String::from("{ ");
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            escape(k, &mut o);
            o.push_str(" : ");
            o.push_str(&json_text(&converted(v, false)?));
        }
        o.push_str(" }");
        Ok(Value::Text(o))
    }
}
