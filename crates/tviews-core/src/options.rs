//! The `options` argument of `tviews.create`.

use serde_json::Value;

use crate::error::{Error, Result};

/// Parsed TVIEW options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TviewOptions {
    /// Key columns, in order.
    pub key: Vec<String>,
}

/// Option names accepted by [`TviewOptions::parse`].
pub const KNOWN: &[&str] = &["key"];

impl TviewOptions {
    /// Parses `options` (a JSON object) for a TVIEW named `name` (unqualified).
    ///
    /// The key is `options->'key'` (an array of column names, or one name),
    /// else `pk_<name>` with a leading `tv_` removed.
    ///
    /// # Errors
    /// [`Error::Options`] when the JSON is not an object, names an unknown
    /// option, or the key is not a non-empty list of distinct names.
    pub fn parse(options: &str, name: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(options).map_err(|e| Error::Options(e.to_string()))?;
        let Value::Object(map) = v else {
            return Err(Error::Options(format!(
                "expected a JSON object such as {{\"key\": [\"pk_post\"]}}, got {v}"
            )));
        };
        if let Some(unknown) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(Error::Options(format!(
                "unknown option \"{unknown}\" (known: {})",
                KNOWN.join(", ")
            )));
        }
        let key = match map.get("key") {
            None | Some(Value::Null) => vec![default_key(name)],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(Error::Options(format!(
                        "\"key\" must list column names, found {other}"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(other) => {
                return Err(Error::Options(format!(
                    "\"key\" must be an array of column names, found {other}"
                )))
            }
        };
        if key.is_empty() {
            return Err(Error::Options(
                "\"key\" must name at least one column".into(),
            ));
        }
        for (i, k) in key.iter().enumerate() {
            if key[..i].contains(k) {
                return Err(Error::Options(format!(
                    "key column \"{k}\" is listed twice"
                )));
            }
        }
        Ok(TviewOptions { key })
    }
}

/// `pk_<name>` with a leading `tv_` removed: `tv_post` -> `pk_post`.
#[must_use]
pub fn default_key(name: &str) -> String {
    format!("pk_{}", name.strip_prefix("tv_").unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_strips_tv_prefix() {
        assert_eq!(
            TviewOptions::parse("{}", "tv_post").unwrap().key,
            ["pk_post"]
        );
        assert_eq!(TviewOptions::parse("{}", "post").unwrap().key, ["pk_post"]);
        assert_eq!(
            TviewOptions::parse(r#"{"key": null}"#, "x").unwrap().key,
            ["pk_x"]
        );
    }

    #[test]
    fn explicit_keys() {
        let o = TviewOptions::parse(r#"{"key": ["a", "b"]}"#, "tv_x").unwrap();
        assert_eq!(o.key, ["a", "b"]);
        assert_eq!(
            TviewOptions::parse(r#"{"key": "id"}"#, "tv_x").unwrap().key,
            ["id"]
        );
    }

    #[test]
    fn rejects_bad_options() {
        for bad in [
            "[]",
            "nope",
            r#"{"keys": ["a"]}"#,
            r#"{"key": []}"#,
            r#"{"key": [1]}"#,
            r#"{"key": ["a", "a"]}"#,
            r#"{"key": 3}"#,
        ] {
            assert!(
                matches!(TviewOptions::parse(bad, "t"), Err(Error::Options(_))),
                "{bad}"
            );
        }
    }
}
