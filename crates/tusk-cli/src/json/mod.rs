//! The JSON that `tusk query --json` prints: a small value type, its
//! writer, and the mapping from PostgreSQL values (see `docs/cli.md`).
//!
//! Values are decoded from the binary wire format by the driver
//! (`tusk::types::Value`) and formatted as PostgreSQL itself prints them
//! ([`binary`]); [`text`] maps the text form of the few types whose text
//! is already the mapped value.

pub mod binary;
pub mod text;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;

/// A JSON value, ready to print (serialized by serde_json).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its JSON text (exact: no float round trip).
    Number(String),
    /// A string (escaped when written).
    String(String),
    /// JSON text from the server (json, jsonb), written compacted.
    Raw(String),
    /// An array.
    Array(Vec<Json>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => raw(n.clone())?.serialize(s),
            Json::String(text) => s.serialize_str(text),
            Json::Raw(text) => {
                let mut compact = String::with_capacity(text.len());
                compact_into(text, &mut compact);
                raw(compact)?.serialize(s)
            }
            Json::Array(items) => s.collect_seq(items),
        }
    }
}

/// JSON text passed through as it is (a number's exact digits, the
/// server's json); it is checked to be one JSON value.
fn raw<E: serde::ser::Error>(text: String) -> Result<Box<RawValue>, E> {
    RawValue::from_string(text).map_err(E::custom)
}

impl Json {
    /// The value's JSON text.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            // Only a Number or Raw that is not JSON text gets here, which
            // the decoders never build; say so in the output.
            serde_json::to_string(&format!("invalid JSON value: {e}")).unwrap_or_default()
        })
    }
}

/// A row's columns in order, serialized as one JSON object; a duplicated
/// column name is written twice, as the query named it.
struct Object<'a>(Vec<(&'a str, &'a Json)>);

impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// One JSON object for a row: `{"name":value,...}` in column order. A
/// duplicated column name is written twice, as the query named it.
pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Json)>) -> String {
    let object = Object(fields.into_iter().collect());
    serde_json::to_string(&object).unwrap_or_else(|e| {
        serde_json::to_string(&format!("invalid JSON value: {e}")).unwrap_or_default()
    })
}

/// Appends JSON text without the whitespace between tokens (strings are
/// copied as they are), so that a json value spanning lines still prints
/// on one line. Key order, duplicate keys and number text are kept.
pub fn compact_into(text: &str, out: &mut String) {
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let out = Json::String("a\"b\\c\nd\u{1}é".into()).to_json_string();
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn raw_json_is_compacted_but_strings_kept() {
        let mut out = String::new();
        compact_into("{ \"a b\" : [1, 2,\n 3], \"q\\\" x\": \"  \" }", &mut out);
        assert_eq!(out, r#"{"a b":[1,2,3],"q\" x":"  "}"#);
    }

    #[test]
    fn objects_keep_order_and_duplicates() {
        let one = Json::Number("1".into());
        let arr = Json::Array(vec![Json::Null, Json::Bool(true), Json::String("x".into())]);
        let text = object([("b", &one), ("a", &arr), ("b", &Json::Null)]);
        assert_eq!(text, r#"{"b":1,"a":[null,true,"x"],"b":null}"#);
    }
}
