//! A reader for PostgreSQL's node text format (`nodeToString`, the same text
//! `debug_print_rewritten` logs), so the query tree can be analysed in plain
//! Rust.
//!
//! The grammar (PostgreSQL `nodes/read.c`): `{KIND :field value ...}` is a
//! node, `( ... )` a list, `<>` a null pointer, `"..."` a string, and any
//! other run of characters an atom. Special characters inside atoms are
//! escaped with a backslash. A datum (`Const.constvalue`) prints as a length
//! followed by `[ b0 b1 ... ]`.

use crate::error::{Error, Result};

/// One value in a node tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `<>`: a null pointer.
    Null,
    /// A bare atom: a number, an enum value, a name.
    Atom(String),
    /// A double-quoted string (a `String` node).
    Str(String),
    /// A parenthesised list. Integer, OID and bitmap lists keep their leading
    /// `i`, `o` or `b` atom.
    List(Vec<Value>),
    /// A `{KIND ...}` node.
    Node(Node),
    /// A datum: its length atom and its bytes.
    Datum(Vec<String>),
}

/// A `{KIND :field value ...}` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node kind, e.g. `QUERY`, `VAR`, `OPEXPR`.
    pub kind: String,
    /// The fields in output order.
    pub fields: Vec<(String, Value)>,
}

impl Node {
    /// The value of a field, if present.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A field holding a child node (`None` for `<>` or a missing field).
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&Node> {
        match self.get(name) {
            Some(Value::Node(n)) => Some(n),
            _ => None,
        }
    }

    /// A field holding a list (empty for `<>` or a missing field).
    #[must_use]
    pub fn list(&self, name: &str) -> &[Value] {
        match self.get(name) {
            Some(Value::List(items)) => items,
            _ => &[],
        }
    }

    /// A field holding an integer atom.
    #[must_use]
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Value::Atom(a)) => a.parse().ok(),
            _ => None,
        }
    }

    /// A field holding a boolean atom (`true`/`false`).
    #[must_use]
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Value::Atom(a)) if a == "true")
    }

    /// A field holding an atom or a string, as text.
    #[must_use]
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Atom(a) | Value::Str(a)) => Some(a),
            _ => None,
        }
    }

    /// Whether a field is absent or `<>`.
    #[must_use]
    pub fn is_null(&self, name: &str) -> bool {
        matches!(self.get(name), None | Some(Value::Null))
    }
}

impl Value {
    /// The node inside, if this value is one.
    #[must_use]
    pub fn as_node(&self) -> Option<&Node> {
        match self {
            Value::Node(n) => Some(n),
            _ => None,
        }
    }
}

/// Parses one value (usually a `{QUERY ...}` node) from node text.
///
/// # Errors
/// [`Error::NodeText`] when the text is not well formed.
pub fn parse(text: &str) -> Result<Value> {
    let mut reader = Reader {
        src: text,
        pos: 0,
        depth: 0,
    };
    let tok = reader
        .next_token()
        .ok_or_else(|| reader.error("empty text"))?;
    let value = reader.value(tok)?;
    if let Some(extra) = reader.next_token() {
        return Err(reader.error(&format!("trailing text `{}`", extra.text)));
    }
    Ok(value)
}

/// Deepest nesting accepted, far beyond any real query tree; it keeps a
/// hostile text from overflowing the stack.
const MAX_DEPTH: usize = 1_000;

struct Reader<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

struct Token<'a> {
    text: &'a str,
    start: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, message: &str) -> Error {
        Error::NodeText {
            offset: self.pos,
            message: message.to_owned(),
        }
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() && matches!(bytes[self.pos], b' ' | b'\n' | b'\t' | b'\r') {
            self.pos += 1;
        }
        if self.pos >= bytes.len() {
            return None;
        }
        let start = self.pos;
        if matches!(bytes[start], b'(' | b')' | b'{' | b'}') {
            self.pos += 1;
        } else {
            while self.pos < bytes.len()
                && !matches!(
                    bytes[self.pos],
                    b' ' | b'\n' | b'\t' | b'\r' | b'(' | b')' | b'{' | b'}'
                )
            {
                if bytes[self.pos] == b'\\' && self.pos + 1 < bytes.len() {
                    self.pos += 1;
                }
                self.pos += 1;
            }
        }
        // Token boundaries are ASCII bytes, so the slice is on char boundaries
        // except after a backslash escape of a multi-byte char; advance to one.
        while !self.src.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        Some(Token {
            text: &self.src[start..self.pos],
            start,
        })
    }

    fn value(&mut self, tok: Token<'a>) -> Result<Value> {
        match tok.text {
            "{" => self.node().map(Value::Node),
            "(" => self.list(),
            ")" | "}" => Err(Error::NodeText {
                offset: tok.start,
                message: format!("unexpected `{}`", tok.text),
            }),
            "<>" => Ok(Value::Null),
            t if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') => {
                Ok(Value::Str(unescape(&t[1..t.len() - 1])))
            }
            t => Ok(Value::Atom(unescape(t))),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("tree nested too deeply"));
        }
        Ok(())
    }

    fn node(&mut self) -> Result<Node> {
        self.enter()?;
        let kind = self
            .next_token()
            .ok_or_else(|| self.error("node kind expected"))?
            .text
            .to_owned();
        let mut fields = Vec::new();
        loop {
            let tok = self
                .next_token()
                .ok_or_else(|| self.error("`}` expected"))?;
            if tok.text == "}" {
                break;
            }
            let Some(name) = tok.text.strip_prefix(':') else {
                return Err(Error::NodeText {
                    offset: tok.start,
                    message: format!("field name expected, found `{}`", tok.text),
                });
            };
            let vt = self
                .next_token()
                .ok_or_else(|| self.error("field value expected"))?;
            let mut value = if vt.text == "}" {
                // A field printed with no value: keep the brace for the loop.
                self.pos = vt.start;
                Value::Null
            } else {
                self.value(vt)?
            };
            if let Value::Atom(len) = &value {
                value = self.maybe_datum(len.clone())?.unwrap_or(value);
            }
            fields.push((name.to_owned(), value));
        }
        self.depth -= 1;
        Ok(Node { kind, fields })
    }

    /// After a datum's length atom comes `[ bytes ]`.
    fn maybe_datum(&mut self, len: String) -> Result<Option<Value>> {
        let save = self.pos;
        match self.next_token() {
            Some(t) if t.text == "[" => {
                let mut parts = vec![len];
                loop {
                    let b = self
                        .next_token()
                        .ok_or_else(|| self.error("`]` expected"))?;
                    if b.text == "]" {
                        break;
                    }
                    parts.push(b.text.to_owned());
                }
                Ok(Some(Value::Datum(parts)))
            }
            _ => {
                self.pos = save;
                Ok(None)
            }
        }
    }

    fn list(&mut self) -> Result<Value> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            let tok = self
                .next_token()
                .ok_or_else(|| self.error("`)` expected"))?;
            if tok.text == ")" {
                break;
            }
            items.push(self.value(tok)?);
        }
        self.depth -= 1;
        Ok(Value::List(items))
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nodes_lists_strings_and_datums() {
        let v = parse(
            r#"{QUERY :commandType 1 :cteList <> :eref {ALIAS :aliasname p :colnames ("id" "a\ b" "")}
               :ints (i 1 2) :args ({VAR :varno 1} {CONST :constvalue 5 [ 20 0 0 0 120 ] :constisnull false})
               :resname my\(col\) :location -1}"#,
        )
        .unwrap();
        let q = v.as_node().unwrap();
        assert_eq!(q.kind, "QUERY");
        assert_eq!(q.int("commandType"), Some(1));
        assert!(q.is_null("cteList"));
        let eref = q.node("eref").unwrap();
        assert_eq!(eref.text("aliasname"), Some("p"));
        assert_eq!(
            eref.list("colnames"),
            &[
                Value::Str("id".into()),
                Value::Str("a b".into()),
                Value::Str(String::new())
            ]
        );
        assert_eq!(q.list("ints").len(), 3);
        let args = q.list("args");
        let c = args[1].as_node().unwrap();
        assert!(matches!(c.get("constvalue"), Some(Value::Datum(d)) if d.len() == 6));
        assert!(!c.flag("constisnull"));
        assert_eq!(q.text("resname"), Some("my(col)"));
        assert_eq!(q.int("location"), Some(-1));
    }

    #[test]
    fn rejects_malformed_text() {
        assert!(parse("{QUERY :a 1").is_err());
        assert!(parse("{QUERY a 1}").is_err());
        assert!(parse(")").is_err());
        assert!(parse("").is_err());
        assert!(parse("{A} {B}").is_err());
    }

    #[test]
    fn limits_depth() {
        let deep = "(".repeat(2_000) + &")".repeat(2_000);
        assert!(matches!(parse(&deep), Err(Error::NodeText { .. })));
    }
}
