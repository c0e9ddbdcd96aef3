//! Quoting for the few values and names the migrator writes into SQL
//! itself (it uses the simple query protocol only, so that it works the
//! same through any pooler).

/// A SQL identifier, always quoted (`"my ""table"""`).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string constant that reads the same whatever
/// `standard_conforming_strings` is: `E'..'` with `\` and `'` doubled.
pub fn literal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 3);
    s.push_str("E'");
    for c in value.chars() {
        match c {
            '\'' => s.push_str("''"),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        assert_eq!(super::ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(super::literal("it's a \\ test"), "E'it''s a \\\\ test'");
    }
}
