//! The JSON that `tusk query --json` prints: a small value type, its
//! writer, and the mapping from PostgreSQL values (see `docs/cli.md`).
//!
//! Values are decoded from the binary wire format ([`binary`]) with
//! formatting that matches what PostgreSQL itself prints ([`datetime`],
//! [`interval`], [`inet`]); [`text`] maps the text form of the few types
//! whose text is already the mapped value.

pub mod binary;
pub mod datetime;
pub mod inet;
pub mod interval;
pub mod text;

/// A JSON value, ready to print.
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

impl Json {
    /// Appends the value's JSON text to `out`.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(s, out),
            Json::Raw(text) => compact_into(text, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
        }
    }

    /// The value's JSON text.
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// One JSON object for a row: `{"name":value,...}` in column order. A
/// duplicated column name is written twice, as the query named it.
pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Json)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(name, &mut out);
        out.push(':');
        value.write(&mut out);
    }
    out.push('}');
    out
}

/// Writes `s` as a JSON string literal.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
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
        let mut out = String::new();
        write_string("a\"b\\c\nd\u{1}é", &mut out);
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
