//! A migration file cut into statements with the driver's one SQL lexer
//! (`tusk::sql::tokens`), keeping each statement's place in the file so
//! an error can point at a line and a column.
//!
//! A `;` inside a string, a dollar-quoted body, a quoted identifier or a
//! comment never ends a statement (the lexer knows them). A SQL-standard
//! function body (`CREATE FUNCTION .. BEGIN ATOMIC ..; ..; END`) is kept
//! whole with psql's own heuristic: in a statement that starts `CREATE [OR
//! REPLACE] FUNCTION|PROCEDURE`, `BEGIN` (and `CASE` inside it) opens a
//! block that `END` closes, outside parentheses.

use tusk::sql::{tokens, Token, TokenKind};

/// One statement of a script.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    /// Its text, from its first token to its last (no `;`), comments
    /// inside it included.
    pub text: &'a str,
    /// Byte offset of `text` in the script.
    pub start: usize,
    /// Its significant tokens (no comments), with offsets in the script.
    pub tokens: Vec<Token<'a>>,
}

impl Statement<'_> {
    /// The `i`-th significant token, if it is a word, upper-cased for
    /// matching (`None` past the end or for a non-word).
    pub fn word(&self, i: usize) -> Option<String> {
        self.tokens
            .get(i)
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text.to_ascii_uppercase())
    }

    /// True when the significant tokens start with these keywords.
    pub fn starts_with(&self, kws: &[&str]) -> bool {
        kws.len() <= self.tokens.len() && kws.iter().zip(&self.tokens).all(|(k, t)| t.is_keyword(k))
    }

    /// True when the keyword sequence `kws` occurs anywhere at the top level
    /// of the statement (consecutive significant tokens).
    pub fn contains_seq(&self, kws: &[&str]) -> bool {
        self.find_seq(kws).is_some()
    }

    /// Index of the first token where the keyword sequence `kws` starts.
    pub fn find_seq(&self, kws: &[&str]) -> Option<usize> {
        if kws.is_empty() || kws.len() > self.tokens.len() {
            return None;
        }
        (0..=self.tokens.len() - kws.len()).find(|&i| {
            kws.iter()
                .zip(&self.tokens[i..])
                .all(|(k, t)| t.is_keyword(k))
        })
    }

    /// True when the statement has the keyword `kw` anywhere.
    pub fn has_keyword(&self, kw: &str) -> bool {
        self.tokens.iter().any(|t| t.is_keyword(kw))
    }
}

/// The statements of `script`, in order; empty statements (`;;`) and
/// comment-only tails are skipped.
pub fn statements(script: &str) -> Vec<Statement<'_>> {
    let mut out = Vec::new();
    let mut cur: Vec<Token<'_>> = Vec::new();
    let mut routine = Routine::default();
    for t in tokens(script) {
        match t.kind {
            TokenKind::Comment => {}
            TokenKind::Semicolon if routine.depth == 0 => {
                flush(script, &mut cur, &mut out);
                routine = Routine::default();
            }
            _ => {
                routine.see(&t, cur.len());
                cur.push(t);
            }
        }
    }
    flush(script, &mut cur, &mut out);
    out
}

fn flush<'a>(script: &'a str, cur: &mut Vec<Token<'a>>, out: &mut Vec<Statement<'a>>) {
    if let (Some(first), Some(last)) = (cur.first(), cur.last()) {
        let start = first.start;
        let end = last.start + last.text.len();
        out.push(Statement {
            text: &script[start..end],
            start,
            tokens: std::mem::take(cur),
        });
    }
    cur.clear();
}

/// psql's `BEGIN .. END` tracking inside `CREATE FUNCTION|PROCEDURE`.
#[derive(Default)]
struct Routine {
    /// The statement starts CREATE [OR REPLACE] FUNCTION|PROCEDURE.
    is_routine: bool,
    head: [u8; 4],
    parens: usize,
    depth: usize,
}

impl Routine {
    fn see(&mut self, t: &Token<'_>, index: usize) {
        match t.kind {
            TokenKind::Punct if t.text == "(" => self.parens += 1,
            TokenKind::Punct if t.text == ")" => self.parens = self.parens.saturating_sub(1),
            TokenKind::Word => {
                if index < 4 {
                    self.head[index] = match t.text.to_ascii_lowercase().as_str() {
                        "create" => b'c',
                        "or" => b'o',
                        "replace" => b'r',
                        "function" => b'f',
                        "procedure" => b'p',
                        _ => 0,
                    };
                    let h = self.head;
                    self.is_routine = h[0] == b'c'
                        && (matches!(h[1], b'f' | b'p')
                            || (h[1] == b'o' && h[2] == b'r' && matches!(h[3], b'f' | b'p')));
                }
                if self.is_routine && self.parens == 0 {
                    // CASE also ends with END; it matters only inside a BEGIN.
                    if t.is_keyword("begin") || (t.is_keyword("case") && self.depth > 0) {
                        self.depth += 1;
                    } else if t.is_keyword("end") {
                        self.depth = self.depth.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Byte offset of the 1-based character position `pos` in `text` (what
/// the server reports in an error's `position`), clamped to the end.
pub fn char_to_byte(text: &str, pos: u32) -> usize {
    let n = usize::try_from(pos.saturating_sub(1)).unwrap_or(usize::MAX);
    text.char_indices().nth(n).map_or(text.len(), |(b, _)| b)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The full line of `text` that holds byte `offset`, without its newline.
pub fn line_at(text: &str, offset: usize) -> &str {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let start = text[..offset].rfind('\n').map_or(0, |p| p + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |p| offset + p);
    text[start..end].trim_end_matches('\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        assert_eq!(
            texts("SELECT ';' ; -- a;\nCREATE TABLE \"a;b\" (x int);\n DO $$ BEGIN x; END $$;;  /* ; */"),
            ["SELECT ';'", "CREATE TABLE \"a;b\" (x int)", "DO $$ BEGIN x; END $$"]
        );
    }

    #[test]
    fn begin_atomic_bodies_stay_whole() {
        let sql = "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\n\
                   BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n  SELECT 3;\nEND;\n\
                   SELECT f(1);\nCREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;\n\
                   BEGIN; COMMIT;";
        let t = texts(sql);
        assert_eq!(t.len(), 5, "{t:#?}");
        assert!(t[0].ends_with("SELECT 3;\nEND"));
        assert_eq!(t[1], "SELECT f(1)");
        assert!(t[2].starts_with("CREATE PROCEDURE") && t[2].ends_with("END"));
        assert_eq!(t[3..], ["BEGIN", "COMMIT"]);
    }

    #[test]
    fn positions_map_to_lines_and_columns() {
        let text = "-- head\nSELECT 1;\n  SELÉCT x;";
        let s = statements(text);
        assert_eq!(line_col(text, s[1].start), (3, 3));
        // The server counts characters: position 5 of "SELÉCT x" is 'C'.
        let b = s[1].start + char_to_byte(s[1].text, 5);
        assert_eq!(line_col(text, b), (3, 7));
        assert_eq!(line_at(text, b), "  SELÉCT x;");
        assert_eq!(char_to_byte("ab", 99), 2);
    }
}
