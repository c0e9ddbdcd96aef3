//! SQL text generation: capture triggers, refresh statements, verification.
//!
//! Every statement is set-wise: its size does not grow with the number of
//! changed rows, only its parameters do.

pub mod capture;
pub mod keys;
pub mod locks;
mod path;
pub mod refresh;

use crate::error::Result;

/// Parses PostgreSQL's text form of a one-dimensional array of strings
/// (`{a,"b c","d\\"e"}`); `NULL` elements come back as the text `NULL`.
#[must_use]
pub fn parse_text_array(s: &str) -> Vec<String> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    if inner.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The placeholder for relation `relid` in stored SQL (see
/// [`Catalog::relation_ref`]).
#[must_use]
pub fn rel_token(relid: u32) -> String {
    format!("\u{1}rel:{relid}\u{1}")
}

/// Replaces every [`rel_token`] in `sql` by `name(oid)`.
///
/// # Errors
/// What `name` returns, or [`crate::Error::Catalog`] for a malformed token.
pub fn resolve_rel_tokens(
    sql: &str,
    mut name: impl FnMut(u32) -> Result<String>,
) -> Result<String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("\u{1}rel:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let end = after
            .find('\u{1}')
            .ok_or_else(|| crate::Error::Catalog("malformed relation placeholder".into()))?;
        let oid: u32 = after[..end]
            .parse()
            .map_err(|_| crate::Error::Catalog("malformed relation placeholder".into()))?;
        out.push_str(&name(oid)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Catalog lookups the generators need, answered by the extension from
/// `pg_class`/`pg_attribute` (and by a map in tests).
pub trait Catalog {
    /// The schema-qualified, quoted name of a relation.
    ///
    /// # Errors
    /// When the relation does not exist.
    fn relation(&self, relid: u32) -> Result<String>;

    /// How stored SQL names a relation: by default its qualified name;
    /// the extension writes a placeholder naming the oid instead
    /// ([`rel_token`]), replaced by the relation's name of the day when
    /// the SQL runs, so a renamed (and replaced) table is never read
    /// in its place.
    ///
    /// # Errors
    /// When the relation does not exist.
    fn relation_ref(&self, relid: u32) -> Result<String> {
        self.relation(relid)
    }

    /// The type of a column, as `format_type` prints it without typmod.
    ///
    /// # Errors
    /// When the column does not exist.
    fn column_type(&self, relid: u32, attno: i16) -> Result<String>;

    /// The equality operator of a column's type, qualified by the schema
    /// that holds it (`OPERATOR(pg_catalog.=)` for built-in types).
    ///
    /// # Errors
    /// When the column does not exist.
    fn eq_operator(&self, _relid: u32, _attno: i16) -> Result<String> {
        Ok(refresh::EQ.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_text_array;

    #[test]
    fn relation_tokens() {
        let sql = format!(
            "SELECT 1 FROM {} JOIN ONLY {} x",
            super::rel_token(7),
            super::rel_token(42)
        );
        let out = super::resolve_rel_tokens(&sql, |o| Ok(format!("s.t{o}"))).unwrap();
        assert_eq!(out, "SELECT 1 FROM s.t7 JOIN ONLY s.t42 x");
        assert!(super::resolve_rel_tokens("\u{1}rel:x", |_| Ok(String::new())).is_err());
    }

    #[test]
    fn text_arrays() {
        assert!(parse_text_array("{}").is_empty());
        assert_eq!(parse_text_array("{a,b}"), ["a", "b"]);
        assert_eq!(
            parse_text_array(r#"{"a b","c,d","e\"f",g}"#),
            ["a b", "c,d", "e\"f", "g"]
        );
        assert_eq!(parse_text_array("{16384,16390}"), ["16384", "16390"]);
    }
}
