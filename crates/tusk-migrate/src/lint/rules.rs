//! The lint rules: ids, explanations, and the token patterns that find them.

use tusk::sql::{Token, TokenKind};

use super::{base, name_at, normalize_name, Context};
use crate::split::Statement;

/// A lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Its id, for output and `-- tusk:lint-ignore`.
    pub id: &'static str,
    /// One line: what it finds.
    pub summary: &'static str,
    /// Why it matters and what to do instead.
    pub help: &'static str,
}

/// Every rule.
pub const RULES: &[Rule] = &[
    Rule {
        id: "index-not-concurrent",
        summary: "CREATE INDEX without CONCURRENTLY on an existing table",
        help: "CREATE INDEX takes a SHARE lock: writes to the table wait until the index is built. \
               Use CREATE INDEX CONCURRENTLY in a migration whose first line is `-- tusk:no-transaction`.",
    },
    Rule {
        id: "drop-index-not-concurrent",
        summary: "DROP INDEX without CONCURRENTLY",
        help: "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table. Use DROP INDEX CONCURRENTLY \
               in a `-- tusk:no-transaction` migration.",
    },
    Rule {
        id: "constraint-not-valid",
        summary: "a FOREIGN KEY or CHECK constraint added without NOT VALID",
        help: "Adding it validates every row while holding a lock that blocks writes (and, for a \
               foreign key, writes to the referenced table). Add it NOT VALID, then \
               `ALTER TABLE .. VALIDATE CONSTRAINT ..` in a later migration: validation takes a \
               lock that lets reads and writes go on.",
    },
    Rule {
        id: "unique-without-index",
        summary: "a UNIQUE or PRIMARY KEY constraint that builds its index under lock",
        help: "ADD CONSTRAINT .. UNIQUE/PRIMARY KEY builds the index with an ACCESS EXCLUSIVE lock. \
               Build it first with CREATE UNIQUE INDEX CONCURRENTLY, then \
               `ADD CONSTRAINT .. UNIQUE USING INDEX ..`.",
    },
    Rule {
        id: "column-type-change",
        summary: "ALTER COLUMN .. TYPE",
        help: "Changing a column's type rewrites the table and rebuilds its indexes under an \
               ACCESS EXCLUSIVE lock, unless the change is binary-coercible (varchar(n) to text or \
               to a longer varchar, a numeric with more precision). For the others: add a new \
               column, backfill it in batches, switch the code, drop the old one. Ignore this \
               finding where the change is coercible.",
    },
    Rule {
        id: "set-not-null",
        summary: "SET NOT NULL without a validated CHECK (col IS NOT NULL)",
        help: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock. First add \
               `CHECK (col IS NOT NULL) NOT VALID`, then VALIDATE CONSTRAINT it (reads and writes \
               go on); SET NOT NULL then uses the check and skips the scan (PostgreSQL 12+); drop \
               the check after.",
    },
    Rule {
        id: "required-column",
        summary: "ADD COLUMN .. NOT NULL without a DEFAULT",
        help: "It fails on a table that has rows. Give it a (non-volatile) DEFAULT, or add it \
               nullable, backfill, and set NOT NULL safely (see set-not-null).",
    },
    Rule {
        id: "volatile-default",
        summary: "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp(), serial ..)",
        help: "A volatile default is computed per row: the table is rewritten under an ACCESS \
               EXCLUSIVE lock. (A constant or a stable default such as now() is stored once and \
               costs nothing since PostgreSQL 11.) Add the column without the default, set the \
               default after, and backfill existing rows in batches.",
    },
    Rule {
        id: "generated-column",
        summary: "ADD COLUMN .. GENERATED (identity or stored)",
        help: "Adding an identity or a stored generated column fills every row: the table is \
               rewritten under an ACCESS EXCLUSIVE lock. Add a plain column, backfill it, then \
               attach the sequence or trigger.",
    },
    Rule {
        id: "rename-column",
        summary: "RENAME COLUMN",
        help: "Code deployed before the migration still uses the old name and fails as soon as it \
               runs. Add the new column (or a view), move the code, then drop the old one.",
    },
    Rule {
        id: "rename-table",
        summary: "ALTER TABLE .. RENAME TO",
        help: "Code deployed before the migration still uses the old name and fails as soon as it \
               runs. Rename in steps (a view with the old name, then remove it), or coordinate the \
               deploy.",
    },
    Rule {
        id: "drop-column",
        summary: "DROP COLUMN",
        help: "The data is gone, and code that still reads the column fails. Deploy code that no \
               longer uses it first.",
    },
    Rule {
        id: "drop-table",
        summary: "DROP TABLE",
        help: "The data is gone, and code that still uses the table fails. Deploy code that no \
               longer uses it first.",
    },
    Rule {
        id: "drop-without-if-exists",
        summary: "DROP without IF EXISTS",
        help: "A migration that fails halfway (a no-transaction one, or one re-run by hand) stops \
               at an object that is already gone. Write DROP .. IF EXISTS.",
    },
    Rule {
        id: "table-rewrite",
        summary: "VACUUM FULL or CLUSTER",
        help: "Both rewrite the table under an ACCESS EXCLUSIVE lock: reads and writes wait. Use \
               pg_repack, or run it in a maintenance window.",
    },
];

type Out = Vec<(&'static str, usize, String)>;

/// Functions whose result differs per row.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "random_normal",
    "txid_current",
];

const SERIAL: &[&str] = &[
    "serial",
    "serial2",
    "serial4",
    "serial8",
    "smallserial",
    "bigserial",
];

fn is_kw(t: Option<&Token<'_>>, kw: &str) -> bool {
    t.is_some_and(|t| t.is_keyword(kw))
}

fn has(toks: &[Token<'_>], kw: &str) -> bool {
    toks.iter().any(|t| t.is_keyword(kw))
}

fn seq(toks: &[Token<'_>], kws: &[&str]) -> Option<usize> {
    if kws.len() > toks.len() {
        return None;
    }
    (0..=toks.len() - kws.len()).find(|&i| kws.iter().zip(&toks[i..]).all(|(k, t)| t.is_keyword(k)))
}

/// Splits ALTER TABLE's subcommands at top-level commas.
fn subcommands<'t, 'a>(toks: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.text {
            "(" if t.kind == TokenKind::Punct => depth += 1,
            ")" if t.kind == TokenKind::Punct => depth = depth.saturating_sub(1),
            "," if t.kind == TokenKind::Punct && depth == 0 => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

/// `(column, ..)` pairs named in `col IS NOT NULL` within `toks`.
fn not_null_columns(toks: &[Token<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if matches!(toks[i].kind, TokenKind::Word | TokenKind::QuotedIdent)
            && is_kw(toks.get(i + 1), "IS")
            && is_kw(toks.get(i + 2), "NOT")
            && is_kw(toks.get(i + 3), "NULL")
        {
            out.push(normalize_name(&toks[i..=i]));
        }
    }
    out
}

fn ident_at(toks: &[Token<'_>], i: usize) -> Option<String> {
    toks.get(i)
        .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
        .map(|t| normalize_name(std::slice::from_ref(t)))
}

fn is_new(ctx: &Context, table: &str) -> bool {
    ctx.created_here.contains(table) || ctx.created_here.contains(base(table))
}

/// Runs every rule on one statement.
pub(crate) fn check(ctx: &mut Context, s: &Statement<'_>, out: &mut Out) {
    let t = &s.tokens;
    let at = |i: usize| t.get(i).map_or(s.start, |t| t.start);
    if s.starts_with(&["CREATE"]) {
        create(ctx, s, out);
    } else if s.starts_with(&["DROP"]) {
        let kind = s.word(1).unwrap_or_default();
        if !s.contains_seq(&["IF", "EXISTS"]) && !matches!(kind.as_str(), "OWNED") {
            out.push((
                "drop-without-if-exists",
                at(0),
                format!("DROP {kind} without IF EXISTS"),
            ));
        }
        if kind == "INDEX" && !s.has_keyword("CONCURRENTLY") {
            out.push((
                "drop-index-not-concurrent",
                at(0),
                "DROP INDEX without CONCURRENTLY".into(),
            ));
        }
        if kind == "TABLE" {
            out.push((
                "drop-table",
                at(0),
                "DROP TABLE removes the table and its data".into(),
            ));
        }
    } else if s.starts_with(&["ALTER", "TABLE"]) {
        alter_table(ctx, s, out);
    } else if s.starts_with(&["VACUUM"]) && s.has_keyword("FULL") {
        out.push((
            "table-rewrite",
            at(0),
            "VACUUM FULL rewrites the table".into(),
        ));
    } else if s.starts_with(&["CLUSTER"]) {
        out.push(("table-rewrite", at(0), "CLUSTER rewrites the table".into()));
    }
}

fn create(ctx: &mut Context, s: &Statement<'_>, out: &mut Out) {
    let t = &s.tokens;
    let Some(kw) =
        (1..t.len().min(5)).find(|&i| t[i].is_keyword("TABLE") || t[i].is_keyword("INDEX"))
    else {
        return;
    };
    if t[kw].is_keyword("TABLE") {
        let mut i = kw + 1;
        if s.tokens.get(i).is_some_and(|t| t.is_keyword("IF")) {
            i += 3;
        }
        let (name, _) = name_at(s, i);
        ctx.created_here.insert(name.clone());
        ctx.created_here.insert(base(&name).to_string());
        return;
    }
    // CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table
    let Some(on) = t.iter().position(|x| x.is_keyword("ON")) else {
        return;
    };
    let mut i = on + 1;
    if is_kw(t.get(i), "ONLY") {
        i += 1;
    }
    let (table, _) = name_at(s, i);
    if !t[..on].iter().any(|x| x.is_keyword("CONCURRENTLY")) && !is_new(ctx, &table) {
        out.push((
            "index-not-concurrent",
            s.start,
            format!("CREATE INDEX on existing table `{table}` without CONCURRENTLY"),
        ));
    }
}

fn alter_table(ctx: &mut Context, s: &Statement<'_>, out: &mut Out) {
    let t = &s.tokens;
    let mut i = 2;
    if is_kw(t.get(i), "IF") && is_kw(t.get(i + 1), "EXISTS") {
        i += 2;
    }
    if is_kw(t.get(i), "ONLY") {
        i += 1;
    }
    let (table, mut i) = name_at(s, i);
    if t.get(i).is_some_and(|t| t.text == "*") {
        i += 1;
    }
    let new = is_new(ctx, &table);
    for sub in subcommands(&t[i..]) {
        let Some(first) = sub.first() else { continue };
        let at = first.start;
        let w = |j: usize| {
            sub.get(j)
                .filter(|t| t.kind == TokenKind::Word)
                .map(|t| t.text.to_ascii_uppercase())
                .unwrap_or_default()
        };
        match w(0).as_str() {
            "ADD" => add(ctx, &table, new, sub, at, out),
            "ALTER" => {
                let j = if w(1) == "COLUMN" { 2 } else { 1 };
                let col = ident_at(sub, j).unwrap_or_default();
                if new {
                    continue;
                }
                if seq(sub, &["TYPE"]).is_some()
                    && (w(j + 1) == "TYPE" || (w(j + 1) == "SET" && w(j + 2) == "DATA"))
                {
                    out.push((
                        "column-type-change",
                        at,
                        format!("changing the type of `{table}.{col}` may rewrite the table"),
                    ));
                }
                if w(j + 1) == "SET"
                    && w(j + 2) == "NOT"
                    && w(j + 3) == "NULL"
                    && !ctx
                        .not_null_checked
                        .contains(&(base(&table).to_string(), col.clone()))
                {
                    out.push((
                        "set-not-null",
                        at,
                        format!("SET NOT NULL on `{table}.{col}` scans the table under an ACCESS EXCLUSIVE lock"),
                    ));
                }
            }
            "VALIDATE" => {
                if let Some(name) = ident_at(sub, 2) {
                    if let Some(expr) = ctx.checks.get(&(base(&table).to_string(), name)) {
                        let cols: Vec<String> = expr.split(',').map(str::to_owned).collect();
                        for c in cols.into_iter().filter(|c| !c.is_empty()) {
                            ctx.not_null_checked.insert((base(&table).to_string(), c));
                        }
                    }
                }
            }
            "RENAME" if !new => {
                if w(1) == "TO" {
                    out.push(("rename-table", at, format!("renaming table `{table}`")));
                } else if w(1) != "CONSTRAINT" {
                    let j = if w(1) == "COLUMN" { 2 } else { 1 };
                    let col = ident_at(sub, j).unwrap_or_default();
                    out.push((
                        "rename-column",
                        at,
                        format!("renaming column `{table}.{col}`"),
                    ));
                }
            }
            "DROP" => {
                if !has(sub, "EXISTS") {
                    out.push((
                        "drop-without-if-exists",
                        at,
                        format!("ALTER TABLE `{table}` DROP without IF EXISTS"),
                    ));
                }
                if w(1) != "CONSTRAINT"
                    && !new
                    && !matches!(w(1).as_str(), "DEFAULT" | "NOT" | "EXPRESSION" | "IDENTITY")
                {
                    out.push(("drop-column", at, format!("dropping a column of `{table}`")));
                }
            }
            _ => {}
        }
    }
}

fn add(ctx: &mut Context, table: &str, new: bool, sub: &[Token<'_>], at: usize, out: &mut Out) {
    let upper = |j: usize| {
        sub.get(j)
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text.to_ascii_uppercase())
            .unwrap_or_default()
    };
    // ADD CONSTRAINT name .., or ADD FOREIGN KEY/CHECK/UNIQUE/PRIMARY KEY ..
    let (cname, k) = if upper(1) == "CONSTRAINT" {
        (ident_at(sub, 2).unwrap_or_default(), 3)
    } else {
        (String::new(), 1)
    };
    let kind = upper(k);
    if matches!(
        kind.as_str(),
        "FOREIGN" | "CHECK" | "UNIQUE" | "PRIMARY" | "EXCLUDE"
    ) {
        if kind == "CHECK" && !cname.is_empty() {
            let cols = not_null_columns(&sub[k..]).join(",");
            ctx.checks
                .insert((base(table).to_string(), cname.clone()), cols.clone());
            // Added valid: it is validated now.
            if !has(sub, "VALID") {
                for c in cols.split(',').filter(|c| !c.is_empty()) {
                    ctx.not_null_checked
                        .insert((base(table).to_string(), c.to_string()));
                }
            }
        }
        if new {
            return;
        }
        let not_valid = seq(sub, &["NOT", "VALID"]).is_some();
        match kind.as_str() {
            "FOREIGN" | "CHECK" if !not_valid => out.push((
                "constraint-not-valid",
                at,
                format!("{kind} constraint on `{table}` added without NOT VALID"),
            )),
            "UNIQUE" | "PRIMARY" if seq(sub, &["USING", "INDEX"]).is_none() => out.push((
                "unique-without-index",
                at,
                format!("{kind} constraint on `{table}` builds its index under an ACCESS EXCLUSIVE lock"),
            )),
            _ => {}
        }
        return;
    }
    // ADD [COLUMN] [IF NOT EXISTS] name type ...
    if new {
        return;
    }
    let mut j = if upper(1) == "COLUMN" { 2 } else { 1 };
    if upper(j) == "IF" {
        j += 3;
    }
    let col = ident_at(sub, j).unwrap_or_default();
    let rest = &sub[(j + 1).min(sub.len())..];
    let type_word = rest
        .first()
        .map(|t| t.text.to_ascii_lowercase())
        .unwrap_or_default();
    let default = rest.iter().position(|t| t.is_keyword("DEFAULT"));
    if SERIAL.contains(&type_word.as_str()) {
        out.push((
            "volatile-default",
            at,
            format!(
                "`{table}.{col}` is {type_word}: every row gets nextval(), rewriting the table"
            ),
        ));
    } else if let Some(d) = default {
        if let Some(f) = rest[d + 1..].iter().find(|t| {
            t.kind == TokenKind::Word && VOLATILE.contains(&t.text.to_ascii_lowercase().as_str())
        }) {
            out.push((
                "volatile-default",
                at,
                format!(
                    "`{table}.{col}` has a volatile default ({}()): the table is rewritten",
                    f.text
                ),
            ));
        }
    }
    if has(rest, "GENERATED") && (has(rest, "IDENTITY") || has(rest, "STORED")) {
        out.push((
            "generated-column",
            at,
            format!("adding generated column `{table}.{col}` rewrites the table"),
        ));
    }
    if seq(rest, &["NOT", "NULL"]).is_some()
        && default.is_none()
        && !has(rest, "GENERATED")
        && !SERIAL.contains(&type_word.as_str())
    {
        out.push((
            "required-column",
            at,
            format!("`{table}.{col}` is NOT NULL without a DEFAULT: fails if the table has rows"),
        ));
    }
    if has(rest, "UNIQUE") || seq(rest, &["PRIMARY", "KEY"]).is_some() {
        out.push((
            "unique-without-index",
            at,
            format!("`{table}.{col}` is UNIQUE/PRIMARY KEY: its index is built under an ACCESS EXCLUSIVE lock"),
        ));
    }
}
