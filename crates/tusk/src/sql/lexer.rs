//! A tokenizer with PostgreSQL's lexical rules: standard strings (`''`
//! doubles a quote), `E''` strings (backslash escapes), `B''`/`X''`/`N''`/
//! `U&''` strings, dollar quotes with tags (`$fn$ .. $fn$`), quoted
//! identifiers (`""` doubles a quote), nested block comments, line
//! comments, parameters (`$1`), numbers and operators. Pure: no I/O, no
//! allocation while iterating.
//!
//! It does not parse: it tells words from literals and comments, so that a
//! keyword inside a string, a comment or a dollar-quoted body is never
//! taken for a statement's keyword, and a comment never hides one.
//! Unterminated strings, identifiers and comments run to the end of the
//! text (what the server would refuse anyway).
//!
//! ```
//! use tusk::sql::{tokens, TokenKind};
//! let words: Vec<&str> = tokens("/* BEGIN */ SELECT 'SET x' -- RESET\n, $$ROLLBACK$$")
//!     .filter(|t| t.kind == TokenKind::Word)
//!     .map(|t| t.text)
//!     .collect();
//! assert_eq!(words, ["SELECT"]);
//! ```

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A keyword or an unquoted identifier (`SELECT`, `my_table`, `a$b`).
    Word,
    /// A quoted identifier (`"My Table"`, `U&"d\0061t"`).
    QuotedIdent,
    /// A string constant: `'..'`, `E'..'`, `B'..'`, `X'..'`, `N'..'`, `U&'..'`.
    String,
    /// A dollar-quoted string constant (`$$..$$`, `$tag$..$tag$`).
    DollarString,
    /// A numeric constant (`42`, `1.5e3`, `.5`).
    Number,
    /// A positional parameter (`$1`).
    Param,
    /// A line comment (`-- ..`) or a block comment (`/* .. */`, nested).
    Comment,
    /// `;`, the end of a statement.
    Semicolon,
    /// Any other character: operators and punctuation, one character each.
    Punct,
}

/// One token: its kind, its text (a slice of the input) and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// What it is.
    pub kind: TokenKind,
    /// The text as written, quotes and prefixes included.
    pub text: &'a str,
    /// Byte offset in the input.
    pub start: usize,
}

impl Token<'_> {
    /// True for a [`TokenKind::Word`] equal to `kw`, ignoring ASCII case.
    pub fn is_keyword(&self, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// True for tokens that carry meaning (not comments).
    pub fn is_significant(&self) -> bool {
        self.kind != TokenKind::Comment
    }

    /// True for constants whose text may be sensitive (strings and numbers).
    pub fn is_literal(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::String | TokenKind::DollarString | TokenKind::Number
        )
    }
}

/// The tokens of `sql`, comments included, whitespace left out.
pub fn tokens(sql: &str) -> Tokens<'_> {
    Tokens { sql, pos: 0 }
}

/// Iterator over the tokens of a SQL text (see [`tokens`]).
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    sql: &'a str,
    pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// End of a quoted run starting at `i` (just after the opening `q`): a
/// doubled `q` stays inside; with `backslash`, `\` escapes the next byte.
fn quoted_end(b: &[u8], mut i: usize, q: u8, backslash: bool) -> usize {
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// If a dollar-quote tag (`$`, `$tag$`) starts at `i`, its length.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j).is_some_and(|c| is_ident_start(*c)) {
        while j < b.len() && (is_ident_start(b[j]) || b[j].is_ascii_digit()) {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let b = self.sql.as_bytes();
        let mut i = self.pos;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        let c = b[i];
        let next = b.get(i + 1).copied();
        let (kind, end) = match c {
            b'-' if next == Some(b'-') => {
                // The server ends it at a carriage return too (scan.l's
                // `non_newline` is `[^\n\r]`).
                let end = b[i..]
                    .iter()
                    .position(|c| *c == b'\n' || *c == b'\r')
                    .map_or(b.len(), |p| i + p + 1);
                (TokenKind::Comment, end)
            }
            b'/' if next == Some(b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                (TokenKind::Comment, i.min(b.len()))
            }
            b'\'' => (TokenKind::String, quoted_end(b, i + 1, b'\'', false)),
            b'"' => (TokenKind::QuotedIdent, quoted_end(b, i + 1, b'"', false)),
            b'$' if next.is_some_and(|d| d.is_ascii_digit()) => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                (TokenKind::Param, i)
            }
            b'$' => match dollar_tag(b, i) {
                Some(n) => {
                    let tag = &b[i..i + n];
                    let end = find(b, tag, i + n).map_or(b.len(), |p| p + n);
                    (TokenKind::DollarString, end)
                }
                None => (TokenKind::Punct, i + 1),
            },
            b';' => (TokenKind::Semicolon, i + 1),
            b'0'..=b'9' => (TokenKind::Number, number_end(b, i)),
            b'.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                (TokenKind::Number, number_end(b, i))
            }
            // String prefixes: E'..' (backslash escapes), B'..', X'..', N'..'.
            b'E' | b'e' if next == Some(b'\'') => {
                (TokenKind::String, quoted_end(b, i + 2, b'\'', true))
            }
            b'B' | b'b' | b'X' | b'x' | b'N' | b'n' if next == Some(b'\'') => {
                (TokenKind::String, quoted_end(b, i + 2, b'\'', false))
            }
            b'U' | b'u' if next == Some(b'&') && matches!(b.get(i + 2), Some(b'\'' | b'"')) => {
                let q = b[i + 2];
                let kind = if q == b'\'' {
                    TokenKind::String
                } else {
                    TokenKind::QuotedIdent
                };
                (kind, quoted_end(b, i + 3, q, false))
            }
            _ if is_ident_start(c) => {
                i += 1;
                while i < b.len() && is_ident_cont(b[i]) {
                    i += 1;
                }
                (TokenKind::Word, i)
            }
            _ => {
                // One character (a multi-byte one whole).
                let len = self.sql[i..].chars().next().map_or(1, char::len_utf8);
                (TokenKind::Punct, i + len)
            }
        };
        // Every end above falls on a character boundary: after an ASCII
        // byte, or at the end of the text.
        let end = end.min(b.len());
        self.pos = end;
        Some(Token {
            kind,
            text: &self.sql[start..end],
            start,
        })
    }
}

fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// The statements of `sql` (split at top-level `;`), each as its
/// The number of parameters a query uses: the highest `$n` outside string
/// constants, quoted identifiers and comments (0 when it has none).
pub fn placeholders(sql: &str) -> usize {
    tokens(sql)
        .filter(|t| t.kind == TokenKind::Param)
        .filter_map(|t| t.text[1..].parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

/// significant tokens (comments left out); empty statements are skipped.
pub fn statements(sql: &str) -> Vec<Vec<Token<'_>>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for t in tokens(sql) {
        match t.kind {
            TokenKind::Comment => {}
            TokenKind::Semicolon => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(t),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `sql` with every string and numeric constant replaced by `?` and
/// comments dropped (what OpenTelemetry calls a sanitized `db.query.text`):
/// `SELECT * FROM t WHERE name = 'x' AND id = 42` becomes
/// `SELECT * FROM t WHERE name = ? AND id = ?`. Parameters (`$1`) stay.
pub fn redact_literals(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last_end = 0;
    for t in tokens(sql) {
        let gap = &sql[last_end..t.start];
        if (!gap.is_empty() || t.kind == TokenKind::Comment)
            && !out.is_empty()
            && !out.ends_with(' ')
        {
            out.push(' ');
        }
        match t.kind {
            TokenKind::Comment => {}
            _ if t.is_literal() => out.push('?'),
            _ => out.push_str(t.text),
        }
        last_end = t.start + t.text.len();
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(TokenKind, &str)> {
        tokens(sql).map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn strings_and_escapes() {
        use TokenKind::*;
        assert_eq!(
            kinds("'it''s' E'a\\'b' x"),
            [(String, "'it''s'"), (String, "E'a\\'b'"), (Word, "x")]
        );
        // A backslash is plain in a standard string.
        assert_eq!(kinds("'a\\' x"), [(String, "'a\\'"), (Word, "x")]);
        assert_eq!(
            kinds("B'01' X'ff' N'n' U&'d\\0061'"),
            [
                (String, "B'01'"),
                (String, "X'ff'"),
                (String, "N'n'"),
                (String, "U&'d\\0061'")
            ]
        );
        // A word ending in e before a quote is still a prefix only when it is e alone.
        assert_eq!(kinds("some'x'"), [(Word, "some"), (String, "'x'")]);
    }

    #[test]
    fn dollar_quotes_and_params() {
        use TokenKind::*;
        assert_eq!(
            kinds("$1 $$ a $b$ c $$ $fn$ $$ x $fn$ a$b"),
            [
                (Param, "$1"),
                (DollarString, "$$ a $b$ c $$"),
                (DollarString, "$fn$ $$ x $fn$"),
                (Word, "a$b")
            ]
        );
        assert_eq!(kinds("$x"), [(Punct, "$"), (Word, "x")]);
    }

    #[test]
    fn identifiers_and_comments() {
        use TokenKind::*;
        assert_eq!(
            kinds("\"a\"\"b\" /* x /* y */ z */ c -- d\ne"),
            [
                (QuotedIdent, "\"a\"\"b\""),
                (Comment, "/* x /* y */ z */"),
                (Word, "c"),
                (Comment, "-- d\n"),
                (Word, "e")
            ]
        );
        assert_eq!(kinds("-- a\rb"), [(Comment, "-- a\r"), (Word, "b")]);
        assert_eq!(
            kinds("1.5e3 .5 x"),
            [(Number, "1.5e3"), (Number, ".5"), (Word, "x")]
        );
        assert_eq!(
            kinds("a<>b"),
            [(Word, "a"), (Punct, "<"), (Punct, ">"), (Word, "b")]
        );
    }

    #[test]
    fn unterminated_runs_to_the_end() {
        use TokenKind::*;
        assert_eq!(kinds("'abc"), [(String, "'abc")]);
        assert_eq!(kinds("/* a /* b */"), [(Comment, "/* a /* b */")]);
        assert_eq!(kinds("$q$ body"), [(DollarString, "$q$ body")]);
        assert_eq!(kinds("E'\\"), [(String, "E'\\")]);
    }

    #[test]
    fn statements_split_at_top_level_semicolons() {
        let s = statements("SELECT ';'; /* ; */ BEGIN; DO $$ a; b $$;;");
        let heads: Vec<&str> = s.iter().map(|t| t[0].text).collect();
        assert_eq!(heads, ["SELECT", "BEGIN", "DO"]);
        assert_eq!(s[2].len(), 2);
    }

    #[test]
    fn literals_are_redacted() {
        assert_eq!(
            redact_literals(
                "SELECT * FROM t WHERE name = 'x''y' AND id = 42 -- secret\n AND k = $1"
            ),
            "SELECT * FROM t WHERE name = ? AND id = ? AND k = $1"
        );
        assert_eq!(
            redact_literals("SET app.key = E'\\'s3cr3t'"),
            "SET app.key = ?"
        );
        assert_eq!(redact_literals("DO $b$ x $b$"), "DO ?");
        assert_eq!(redact_literals("é"), "é");
    }
}
