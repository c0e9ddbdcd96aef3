//! `tusk migrate lint`: DDL that locks or rewrites a busy table, breaks
//! running code, or fails on a table with rows. Each finding has a rule
//! id, the place, and what to do instead (the squawk model), found with
//! the driver's lexer and the statement splitter: no regular expressions,
//! so a keyword in a string, a comment or a function body never counts.
//!
//! Suppress a finding with a comment before the statement:
//! `-- tusk:lint-ignore RULE[, RULE..]` (or `all`); for a whole file,
//! `-- tusk:lint-ignore-file RULE[, RULE..]`.
//!
//! A table created earlier in the same file is new, so nothing else can
//! be using it: rules about locking an existing table skip it.

mod rules;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::source::Migrations;
use crate::split::{line_col, statements, Statement};
use tusk::sql::{tokens, Token, TokenKind};

pub use rules::{Rule, RULES};

/// One hazard found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id (`index-not-concurrent`).
    pub rule: &'static str,
    /// The file.
    pub file: String,
    /// 1-based line of the statement (or the clause) at fault.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong here.
    pub message: String,
    /// What to do instead.
    pub help: &'static str,
}

/// What the linter knows while it reads files in order.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Tables created in the current file (normalized names).
    pub created_here: HashSet<String>,
    /// Check constraints added per table: name to expression text.
    pub checks: HashMap<(String, String), String>,
    /// `(table, column)` pairs covered by a validated `IS NOT NULL` check.
    pub not_null_checked: HashSet<(String, String)>,
}

/// Lints every up script of `migrations`, in version order.
pub fn lint(migrations: &Migrations) -> Vec<Finding> {
    let mut ctx = Context::default();
    let mut out = Vec::new();
    for m in migrations {
        out.extend(lint_with(&mut ctx, &m.up.path, &m.up.text));
    }
    out
}

/// Lints one script on its own.
pub fn lint_script(file: &str, text: &str) -> Vec<Finding> {
    lint_with(&mut Context::default(), file, text)
}

fn lint_with(ctx: &mut Context, file: &str, text: &str) -> Vec<Finding> {
    ctx.created_here.clear();
    let ignores = Ignores::read(text);
    let mut out = Vec::new();
    let mut prev_end = 0;
    for s in statements(text) {
        let mut found = Vec::new();
        rules::check(ctx, &s, &mut found);
        let this_prev = prev_end;
        prev_end = s.start + s.text.len();
        for (rule, offset, message) in found {
            if ignores.ignored(rule, this_prev, s.start) {
                continue;
            }
            let (line, column) = line_col(text, offset);
            let help = RULES.iter().find(|r| r.id == rule).map_or("", |r| r.help);
            out.push(Finding {
                rule,
                file: file.to_string(),
                line,
                column,
                message,
                help,
            });
        }
    }
    out
}

/// The `-- tusk:lint-ignore` comments of a file.
struct Ignores {
    file: HashSet<String>,
    /// (offset after the comment, rules): applies to the next statement.
    next: Vec<(usize, HashSet<String>)>,
}

fn rule_list(rest: &str) -> HashSet<String> {
    rest.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

impl Ignores {
    fn read(text: &str) -> Ignores {
        let mut file = HashSet::new();
        let mut next = Vec::new();
        for t in tokens(text).filter(|t| t.kind == TokenKind::Comment) {
            let body = t
                .text
                .trim_start_matches("--")
                .trim_start_matches("/*")
                .trim_end_matches("*/")
                .trim();
            if let Some(rest) = body.strip_prefix("tusk:lint-ignore-file") {
                file.extend(rule_list(rest));
            } else if let Some(rest) = body.strip_prefix("tusk:lint-ignore") {
                next.push((t.start + t.text.len(), rule_list(rest)));
            }
        }
        Ignores { file, next }
    }

    /// True when `rule` is ignored for the statement starting at `start`:
    /// file-wide, or by an ignore comment between the previous statement's
    /// end (`prev_end`) and this statement.
    fn ignored(&self, rule: &str, prev_end: usize, start: usize) -> bool {
        let hit = |set: &HashSet<String>| set.contains(rule) || set.contains("all");
        hit(&self.file)
            || self
                .next
                .iter()
                .any(|(end, set)| *end > prev_end && *end <= start && hit(set))
    }
}

/// A name as the server folds it: unquoted words lower-cased, quotes
/// removed, parts joined with `.`.
pub(crate) fn normalize_name(toks: &[Token<'_>]) -> String {
    let mut parts = Vec::new();
    for t in toks {
        match t.kind {
            TokenKind::Word => parts.push(t.text.to_ascii_lowercase()),
            TokenKind::QuotedIdent => {
                let inner = t.text.trim_start_matches("U&");
                parts.push(inner[1..inner.len().saturating_sub(1).max(1)].replace("\"\"", "\""));
            }
            _ => {}
        }
    }
    parts.join(".")
}

/// The qualified name starting at token `i` (`a`, `a.b`, `"A".b`) and the
/// index after it.
pub(crate) fn name_at(s: &Statement<'_>, mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.tokens.len() {
        let t = &s.tokens[i];
        if !matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent) {
            break;
        }
        i += 1;
        if s.tokens.get(i).is_some_and(|t| t.text == ".") {
            i += 1;
        } else {
            break;
        }
    }
    (normalize_name(&s.tokens[start..i]), i)
}

/// The last part of a qualified name (`public.t` → `t`).
pub(crate) fn base(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests;
