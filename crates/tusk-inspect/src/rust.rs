//! Rust structs for tables and views, with `#[derive(tusk::FromRow)]`.
//! Pure: text from a model.
//!
//! Types map to what tusk decodes: `bigint` → `i64`, `text` → `String`,
//! `numeric` → `tusk::types::Numeric`, `timestamptz` →
//! `chrono::DateTime<chrono::Utc>` (feature `with-chrono-0_4`), `uuid` →
//! `uuid::Uuid` (`with-uuid-1`), `jsonb` → `serde_json::Value`
//! (`with-serde_json-1`), arrays → `Vec<T>`, a domain → its base type, a
//! nullable column → `Option<T>`. A type without a mapping (an enum, a
//! composite, a range) becomes `String`, with a comment: select it as text
//! (`mood::text AS mood`).

use std::collections::{BTreeSet, HashMap};

use crate::model::{Column, Database};

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "try", "typeof", "unsized", "virtual", "yield", "gen",
];

/// A Rust type for a scalar SQL type, and the tusk feature it needs.
fn scalar(sql: &str) -> Option<(&'static str, Option<&'static str>)> {
    let base = sql.split('(').next().unwrap_or(sql).trim();
    Some(match base {
        "smallint" => ("i16", None),
        "integer" => ("i32", None),
        "bigint" => ("i64", None),
        "real" => ("f32", None),
        "double precision" => ("f64", None),
        "boolean" => ("bool", None),
        "text" | "character varying" | "character" | "name" | "citext" => ("String", None),
        "\"char\"" => ("i8", None),
        "oid" => ("u32", None),
        "bytea" => ("Vec<u8>", None),
        "numeric" => ("tusk::types::Numeric", None),
        "inet" => ("std::net::IpAddr", None),
        "timestamp with time zone" => ("chrono::DateTime<chrono::Utc>", Some("with-chrono-0_4")),
        "timestamp without time zone" => ("chrono::NaiveDateTime", Some("with-chrono-0_4")),
        "date" => ("chrono::NaiveDate", Some("with-chrono-0_4")),
        "time without time zone" => ("chrono::NaiveTime", Some("with-chrono-0_4")),
        "uuid" => ("uuid::Uuid", Some("with-uuid-1")),
        "json" | "jsonb" => ("serde_json::Value", Some("with-serde_json-1")),
        _ => return None,
    })
}

fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    out
}

/// A field name for a column, and whether it needs `rename`.
fn field(name: &str) -> (String, bool) {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    let renamed = s != name;
    (s, renamed)
}

/// Rust source: one `#[derive(Debug, Clone, tusk::FromRow)]` struct per
/// table (partitions left out: their parent's struct reads them) and view.
pub fn structs(db: &Database) -> String {
    let domains: HashMap<String, String> = db
        .schemas
        .iter()
        .flat_map(|s| {
            s.domains.iter().flat_map(move |d| {
                [
                    (format!("{}.{}", s.name, d.name), d.base_type.clone()),
                    (d.name.clone(), d.base_type.clone()),
                ]
            })
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in &db.schemas {
        for n in s
            .tables
            .iter()
            .map(|t| &t.name)
            .chain(s.views.iter().map(|v| &v.name))
        {
            *seen.entry(camel(n)).or_default() += 1;
        }
    }
    let mut features = BTreeSet::new();
    let mut body = String::new();
    for s in &db.schemas {
        let items = s
            .tables
            .iter()
            .filter(|t| t.partition_of.is_none())
            .map(|t| (&t.name, &t.columns, t.comment.as_ref(), "table"))
            .chain(s.views.iter().map(|v| {
                let kind = if v.materialized {
                    "materialized view"
                } else {
                    "view"
                };
                (&v.name, &v.columns, v.comment.as_ref(), kind)
            }));
        for (name, columns, comment, kind) in items {
            let mut ty = camel(name);
            if seen.get(&ty).copied().unwrap_or(0) > 1 {
                ty = format!("{}{ty}", camel(&s.name));
            }
            body.push_str(&format!("/// The {kind} `{}.{name}`", s.name));
            if let Some(c) = comment {
                body.push_str(&format!(": {}", c.replace('\n', " ")));
            }
            body.push_str(&format!(
                ".\n#[derive(Debug, Clone, tusk::FromRow)]\npub struct {ty} {{\n"
            ));
            for c in columns {
                body.push_str(&field_source(c, &domains, &mut features));
            }
            body.push_str("}\n\n");
        }
    }
    let mut head = String::from("// Generated by `tusk inspect --rust`.\n");
    if !features.is_empty() {
        let list: Vec<&str> = features.into_iter().collect();
        head.push_str(&format!(
            "// Needs the tusk features: {}.\n",
            list.join(", ")
        ));
    }
    head.push('\n');
    head + body.trim_end() + "\n"
}

fn field_source(
    c: &Column,
    domains: &HashMap<String, String>,
    features: &mut BTreeSet<&'static str>,
) -> String {
    let mut sql = c.data_type.as_str();
    let mut depth = 0;
    while let Some(inner) = sql.strip_suffix("[]") {
        sql = inner;
        depth += 1;
    }
    let resolved = domains.get(sql).map_or(sql, String::as_str);
    let (mut rust, note) = match scalar(resolved) {
        Some((r, feature)) => {
            if let Some(f) = feature {
                features.insert(f);
            }
            (r.to_string(), None)
        }
        None => (
            "String".to_string(),
            Some(format!(
                "no mapping for `{}`: select it as text (`{}::text AS {}`)",
                c.data_type, c.name, c.name
            )),
        ),
    };
    for _ in 0..depth {
        rust = format!("Vec<{rust}>");
    }
    if !c.not_null {
        rust = format!("Option<{rust}>");
    }
    let (name, renamed) = field(&c.name);
    let mut s = format!("    /// `{}` {}", c.name, c.data_type);
    if let Some(comment) = &c.comment {
        s.push_str(&format!(": {}", comment.replace('\n', " ")));
    }
    s.push('\n');
    if let Some(n) = note {
        s.push_str(&format!("    // {n}\n"));
    }
    if renamed {
        s.push_str(&format!(
            "    #[tusk(rename = \"{}\")]\n",
            c.name.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    s.push_str(&format!("    pub {name}: {rust},\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn col(name: &str, ty: &str, not_null: bool) -> Column {
        Column {
            name: name.into(),
            position: 1,
            data_type: ty.into(),
            not_null,
            default: None,
            identity: None,
            generated: None,
            collation: None,
            comment: None,
        }
    }

    #[test]
    fn structs_for_tables() {
        let table = |name: &str, columns: Vec<Column>| Table {
            name: name.into(),
            kind: TableKind::Ordinary,
            owner: "o".into(),
            comment: Some("people".into()),
            unlogged: false,
            partition_key: None,
            partition_of: None,
            partition_bound: None,
            row_security: false,
            force_row_security: false,
            columns,
            indexes: vec![],
            constraints: vec![],
            triggers: vec![],
            policies: vec![],
        };
        let db = Database {
            server_version: "15".into(),
            database: "d".into(),
            extensions: vec![],
            schemas: vec![Schema {
                name: "app".into(),
                owner: "o".into(),
                comment: None,
                tables: vec![table(
                    "user_accounts",
                    vec![
                        col("id", "bigint", true),
                        col("Email", "app.email", true),
                        col("type", "character varying(20)", false),
                        col("tags", "text[]", true),
                        col("seen_at", "timestamp with time zone", false),
                        col("mood", "app.mood", false),
                    ],
                )],
                views: vec![],
                sequences: vec![],
                enums: vec![],
                composites: vec![],
                functions: vec![],
                domains: vec![Domain {
                    name: "email".into(),
                    base_type: "text".into(),
                    not_null: false,
                    default: None,
                    checks: vec![],
                    comment: None,
                }],
            }],
        };
        let src = structs(&db);
        assert_eq!(
            src,
            "// Generated by `tusk inspect --rust`.\n\
             // Needs the tusk features: with-chrono-0_4.\n\n\
             /// The table `app.user_accounts`: people.\n\
             #[derive(Debug, Clone, tusk::FromRow)]\n\
             pub struct UserAccounts {\n    \
             /// `id` bigint\n    pub id: i64,\n    \
             /// `Email` app.email\n    #[tusk(rename = \"Email\")]\n    pub email: String,\n    \
             /// `type` character varying(20)\n    #[tusk(rename = \"type\")]\n    pub type_: Option<String>,\n    \
             /// `tags` text[]\n    pub tags: Vec<String>,\n    \
             /// `seen_at` timestamp with time zone\n    pub seen_at: Option<chrono::DateTime<chrono::Utc>>,\n    \
             /// `mood` app.mood\n    // no mapping for `app.mood`: select it as text (`mood::text AS mood`)\n    pub mood: Option<String>,\n\
             }\n"
        );
    }
}
