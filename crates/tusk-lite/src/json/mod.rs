//! `json` and `jsonb`. A json value is its input text, validated; a
//! jsonb value is PostgreSQL's normalised tree ([`Jsonb`]): object keys
//! de-duplicated (the last wins) and sorted (shorter keys first, then
//! bytewise), numbers as numeric, output with PostgreSQL's spacing.

mod convert;
mod edit;
pub mod ops;
pub mod parse;

use std::cmp::Ordering;

use crate::error::Result;
use crate::numeric::Numeric;
pub use parse::{Node, NodeKind};

#[derive(Clone, Debug)]
pub enum Jsonb {
    Null,
    Bool(bool),
    Number(Numeric),
    String(String),
    Array(Vec<Jsonb>),
    /// Sorted by [`key_cmp`], keys unique.
    Object(Vec<(String, Jsonb)>),
}

/// jsonb's key order: shorter first, then bytewise.
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

impl Jsonb {
    /// Builds an object from fields in any order: sorted, the last of
    /// equal keys kept.
    pub fn object(mut fields: Vec<(String, Jsonb)>) -> Jsonb {
        // A stable sort keeps equal keys in input order: keep the last.
        fields.sort_by(|a, b| key_cmp(&a.0, &b.0));
        let mut out: Vec<(String, Jsonb)> = Vec::with_capacity(fields.len());
        for f in fields {
            match out.last_mut() {
                Some(last) if last.0 == f.0 => *last = f,
                _ => out.push(f),
            }
        }
        Jsonb::Object(out)
    }

    pub fn from_node(n: Node, src: &str) -> Result<Jsonb> {
        Ok(match n.kind {
            NodeKind::Null => Jsonb::Null,
            NodeKind::Bool(b) => Jsonb::Bool(b),
            NodeKind::Number => {
                Jsonb::Number(Numeric::parse(src.get(n.span.0..n.span.1).unwrap_or("0"))?)
            }
            NodeKind::String(s) => Jsonb::String(s),
            NodeKind::Array(items) => Jsonb::Array(
                items
                    .into_iter()
                    .map(|i| Jsonb::from_node(i, src))
                    .collect::<Result<_>>()?,
            ),
            NodeKind::Object(fields) => Jsonb::object(
                fields
                    .into_iter()
                    .map(|(k, v)| Ok((k, Jsonb::from_node(v, src)?)))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    /// jsonb_in.
    pub fn parse(s: &str) -> Result<Jsonb> {
        let n = parse::parse(s, true)?;
        Jsonb::from_node(n, s)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Jsonb::Null => "null",
            Jsonb::Bool(_) => "boolean",
            Jsonb::Number(_) => "number",
            Jsonb::String(_) => "string",
            Jsonb::Array(_) => "array",
            Jsonb::Object(_) => "object",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Jsonb> {
        match self {
            Jsonb::Object(f) => f
                .binary_search_by(|(k, _)| key_cmp(k, key))
                .ok()
                .map(|i| &f[i].1),
            _ => None,
        }
    }

    /// jsonb_out.
    pub fn write(&self, out: &mut String) {
        match self {
            Jsonb::Null => out.push_str("null"),
            Jsonb::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Jsonb::Number(n) => out.push_str(&n.to_string()),
            Jsonb::String(s) => escape(s, out),
            Jsonb::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Jsonb::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    escape(k, out);
                    out.push_str(": ");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// jsonb_pretty's layout: four-space indents, one element per line.
    pub fn write_pretty(&self, out: &mut String, level: usize) {
        let indent = |out: &mut String, n: usize| {
            for _ in 0..n {
                out.push_str("    ");
            }
        };
        match self {
            Jsonb::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    indent(out, level + 1);
                    v.write_pretty(out, level + 1);
                }
                out.push('\n');
                indent(out, level);
                out.push(']');
            }
            Jsonb::Object(fields) if !fields.is_empty() => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    indent(out, level + 1);
                    escape(k, out);
                    out.push_str(": ");
                    v.write_pretty(out, level + 1);
                }
                out.push('\n');
                indent(out, level);
                out.push('}');
            }
            Jsonb::Array(_) | Jsonb::Object(_) => {
                let (open, close) = if matches!(self, Jsonb::Array(_)) {
                    ('[', ']')
                } else {
                    ('{', '}')
                };
                out.push(open);
                out.push('\n');
                indent(out, level);
                out.push(close);
            }
            other => other.write(out),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Jsonb::Null => 0,
            Jsonb::String(_) => 1,
            Jsonb::Number(_) => 2,
            Jsonb::Bool(_) => 3,
            Jsonb::Array(_) => 4,
            Jsonb::Object(_) => 5,
        }
    }

    /// jsonb's btree order (compareJsonbContainers): object > array >
    /// boolean > number > string > null; containers by size first, then
    /// element by element (an object's key, then its value).
    /// At the top level an empty array sorts below every other value
    /// (for historical reasons, PostgreSQL's documentation says).
    pub fn compare(&self, other: &Jsonb) -> Ordering {
        let empty = |j: &Jsonb| matches!(j, Jsonb::Array(a) if a.is_empty());
        match (empty(self), empty(other)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => self.compare_inner(other),
        }
    }

    fn compare_inner(&self, other: &Jsonb) -> Ordering {
        match (self, other) {
            (Jsonb::Null, Jsonb::Null) => Ordering::Equal,
            (Jsonb::Bool(a), Jsonb::Bool(b)) => a.cmp(b),
            (Jsonb::Number(a), Jsonb::Number(b)) => a.cmp_total(b),
            (Jsonb::String(a), Jsonb::String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Jsonb::Array(a), Jsonb::Array(b)) => a.len().cmp(&b.len()).then_with(|| {
                for (x, y) in a.iter().zip(b) {
                    let o = x.compare_inner(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            }),
            (Jsonb::Object(a), Jsonb::Object(b)) => a.len().cmp(&b.len()).then_with(|| {
                for ((k1, v1), (k2, v2)) in a.iter().zip(b) {
                    let o = k1.as_bytes().cmp(k2.as_bytes());
                    if o != Ordering::Equal {
                        return o;
                    }
                    let o = v1.compare_inner(v2);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            }),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    /// A canonical byte form: equal values (1.0 and 1) encode equally.
    pub fn key_bytes(&self, out: &mut Vec<u8>) {
        out.push(self.rank());
        match self {
            Jsonb::Null => {}
            Jsonb::Bool(b) => out.push(u8::from(*b)),
            Jsonb::Number(n) => {
                let s = n.to_string();
                let s = if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                };
                let s = if s == "-0" { "0".to_string() } else { s };
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
            Jsonb::String(s) => {
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Jsonb::Array(items) => {
                out.extend_from_slice(&(items.len() as u64).to_be_bytes());
                for i in items {
                    i.key_bytes(out);
                }
            }
            Jsonb::Object(fields) => {
                out.extend_from_slice(&(fields.len() as u64).to_be_bytes());
                for (k, v) in fields {
                    out.extend_from_slice(&(k.len() as u64).to_be_bytes());
                    out.extend_from_slice(k.as_bytes());
                    v.key_bytes(out);
                }
            }
        }
    }

    /// `self @> other` (JsonbDeepContains), at the top level where a
    /// scalar is a one-element array that cannot contain an array.
    pub fn contains_top(&self, other: &Jsonb) -> bool {
        match (self, other) {
            (Jsonb::Object(_), Jsonb::Object(_)) | (Jsonb::Array(_), Jsonb::Array(_)) => {
                self.contains(other)
            }
            (Jsonb::Array(a), s) if !matches!(s, Jsonb::Object(_)) => {
                a.iter().any(|x| x.scalar_eq(s))
            }
            (Jsonb::Object(_) | Jsonb::Array(_), _) | (_, Jsonb::Object(_) | Jsonb::Array(_)) => {
                false
            }
            (a, b) => a.scalar_eq(b),
        }
    }

    fn scalar_eq(&self, other: &Jsonb) -> bool {
        !matches!(self, Jsonb::Array(_) | Jsonb::Object(_))
            && self.compare_inner(other) == Ordering::Equal
    }

    /// Containment of two containers of the same kind.
    fn contains(&self, other: &Jsonb) -> bool {
        match (self, other) {
            (Jsonb::Object(_), Jsonb::Object(b)) => b.iter().all(|(k, bv)| match self.get(k) {
                None => false,
                Some(av) => match (av, bv) {
                    (Jsonb::Object(_), Jsonb::Object(_)) | (Jsonb::Array(_), Jsonb::Array(_)) => {
                        av.contains(bv)
                    }
                    _ => av.scalar_eq(bv) && bv.scalar_eq(av),
                },
            }),
            (Jsonb::Array(a), Jsonb::Array(b)) => b.iter().all(|bv| match bv {
                Jsonb::Object(_) => a
                    .iter()
                    .any(|av| matches!(av, Jsonb::Object(_)) && av.contains(bv)),
                Jsonb::Array(_) => a
                    .iter()
                    .any(|av| matches!(av, Jsonb::Array(_)) && av.contains(bv)),
                s => a.iter().any(|av| av.scalar_eq(s)),
            }),
            _ => false,
        }
    }
}

impl std::fmt::Display for Jsonb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

/// escape_json: a JSON string literal with PostgreSQL's escapes.
pub fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// json_in: validates, keeps the text.
pub fn validate_json(s: &str) -> Result<()> {
    parse::parse(s, false).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jb(s: &str) -> Jsonb {
        Jsonb::parse(s).unwrap()
    }

    #[test]
    fn jsonb_is_normalised_as_postgres_prints_it() {
        assert_eq!(
            jb(r#"{"b":1, "aa":[1.0, 2e2], "b":"x\n", "a":null}"#).to_string(),
            r#"{"a": null, "b": "x\n", "aa": [1.0, 200]}"#
        );
        assert_eq!(jb(" [ ] ").to_string(), "[]");
    }

    #[test]
    fn order_and_equality_follow_jsonb_btree() {
        let sorted = [
            "[]",
            "null",
            "\"\"",
            "\"a\"",
            "-1",
            "1",
            "false",
            "true",
            "[1]",
            "[[]]",
            "[1, 2]",
            "{}",
            "{\"a\": 1}",
        ];
        for w in sorted.windows(2) {
            assert_eq!(
                jb(w[0]).compare(&jb(w[1])),
                Ordering::Less,
                "{} < {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(jb("[1.0]").compare(&jb("[1]")), Ordering::Equal);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        jb("{\"a\": 1.50}").key_bytes(&mut a);
        jb("{\"a\": 1.5}").key_bytes(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn containment_treats_a_top_level_scalar_as_an_array() {
        assert!(jb("[1, 2]").contains_top(&jb("1")));
        assert!(!jb("1").contains_top(&jb("[1]")));
        assert!(!jb("[[1]]").contains_top(&jb("[1]")));
        assert!(jb("{\"a\": [1, 2], \"b\": 3}").contains_top(&jb("{\"a\": [2]}")));
    }

    #[test]
    fn bad_input_has_postgres_detail() {
        let e = validate_json("[1 2]").unwrap_err();
        assert_eq!(e.code, "22P02");
        assert_eq!(
            e.detail.as_deref(),
            Some("Expected \",\" or \"]\", but found \"2\".")
        );
        assert!(validate_json("\"\\u0000\"").is_ok());
        assert_eq!(Jsonb::parse("\"\\u0000\"").unwrap_err().code, "22P05");
    }
}
