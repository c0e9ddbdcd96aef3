//! Keys given as JSON to `tviews.refresh_keys`, turned into text tuples.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::queue::Key;

/// Parses `keys` for a TVIEW whose key columns are `columns`.
///
/// Accepted shapes: an array whose items are scalars (one-column keys),
/// arrays (one value per key column) or objects (values by column name); a
/// single object or scalar stands for a one-item array.
///
/// # Errors
/// [`Error::Keys`] for nulls, wrong arity or missing columns.
pub fn parse(keys: &str, columns: &[String]) -> Result<Vec<Key>> {
    let v: Value = serde_json::from_str(keys).map_err(|e| Error::Keys(e.to_string()))?;
    let items = match v {
        Value::Array(items) => items,
        other => vec![other],
    };
    items.iter().map(|i| one(i, columns)).collect()
}

fn one(item: &Value, columns: &[String]) -> Result<Key> {
    match item {
        Value::Array(vals) => {
            if vals.len() != columns.len() {
                return Err(Error::Keys(format!(
                    "{item} has {} values, the key ({}) has {}",
                    vals.len(),
                    columns.join(", "),
                    columns.len()
                )));
            }
            vals.iter().map(scalar).collect()
        }
        Value::Object(map) => columns
            .iter()
            .map(|c| {
                map.get(c)
                    .ok_or_else(|| Error::Keys(format!("{item} lacks key column \"{c}\"")))
                    .and_then(scalar)
            })
            .collect(),
        _ if columns.len() == 1 => Ok(vec![scalar(item)?]),
        _ => Err(Error::Keys(format!(
            "{item} is one value, the key ({}) has {} columns: pass an array or an object",
            columns.join(", "),
            columns.len()
        ))),
    }
}

fn scalar(v: &Value) -> Result<String> {
    match v {
        Value::Null => Err(Error::Keys("a key value cannot be null".into())),
        Value::String(s) => Ok(s.clone()),
        other => Ok(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn shapes() {
        let one = cols(&["pk"]);
        assert_eq!(
            parse("[1, \"a\", true]", &one).unwrap(),
            [["1"], ["a"], ["true"]]
        );
        assert_eq!(parse("5", &one).unwrap(), [["5"]]);
        let two = cols(&["a", "b"]);
        assert_eq!(
            parse("[[1, 2], {\"b\": 3, \"a\": 4}]", &two).unwrap(),
            [["1", "2"], ["4", "3"]]
        );
    }

    #[test]
    fn errors() {
        let two = cols(&["a", "b"]);
        for bad in ["[1]", "[[1]]", "[{\"a\": 1}]", "[[1, null]]", "nope"] {
            assert!(matches!(parse(bad, &two), Err(Error::Keys(_))), "{bad}");
        }
    }
}
