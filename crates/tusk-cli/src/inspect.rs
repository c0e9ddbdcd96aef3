//! `tusk inspect [--json] [--schema NAME]`: what a database holds, read
//! from pg_catalog in one round trip (tusk-inspect).

use std::io::Write;

use clap::Args;
use tusk_inspect::{Column, Database, Schema, TableKind};

use crate::error::{write_err, Error};

/// `tusk inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Print the model as one JSON document instead of text
    #[arg(long)]
    pub json: bool,
    /// Compare two databases instead: print what differs from URL_A to
    /// URL_B (`+` only in B, `-` only in A, `~` changed); exit code 3 when
    /// anything does
    #[arg(long, num_args = 2, value_names = ["URL_A", "URL_B"], conflicts_with = "url")]
    pub diff: Option<Vec<String>>,
    /// Print DDL that rebuilds the schemas in an empty database
    #[arg(long, conflicts_with_all = ["json", "rust"])]
    pub ddl: bool,
    /// Print Rust structs (`#[derive(tusk::FromRow)]`) for the tables and views
    #[arg(long, conflicts_with = "json")]
    pub rust: bool,
    /// Only this schema (repeatable)
    #[arg(long, value_name = "NAME")]
    pub schema: Vec<String>,
    /// Where to connect.
    #[command(flatten)]
    pub conn: crate::ConnArgs,
}

async fn model(url: &str, schemas: &[String]) -> Result<Database, Error> {
    let conn = tusk::connect(url).await?;
    let db = tusk_inspect::inspect(&conn).await;
    let _ = conn.close().await;
    let mut db = db?;
    if !schemas.is_empty() {
        db.schemas.retain(|s| schemas.contains(&s.name));
    }
    Ok(db)
}

/// `tusk inspect --diff URL_A URL_B`: prints the drift; returns the exit
/// code (0 the same, 3 different).
pub async fn diff(a: &str, b: &str, args: &InspectArgs, out: &mut dyn Write) -> Result<u8, Error> {
    let (ma, mb) = (model(a, &args.schema).await?, model(b, &args.schema).await?);
    let d = tusk_inspect::diff(&ma, &mb);
    for x in &d {
        if args.json {
            let s = serde_json::to_string(x).map_err(|e| Error::Usage(e.to_string()))?;
            writeln!(out, "{s}").map_err(write_err)?;
        } else {
            writeln!(out, "{x}").map_err(write_err)?;
        }
    }
    if !args.json {
        writeln!(
            out,
            "{} difference{}",
            d.len(),
            if d.len() == 1 { "" } else { "s" }
        )
        .map_err(write_err)?;
    }
    Ok(if d.is_empty() { 0 } else { 3 })
}

/// Reads the model and prints it.
pub async fn run(url: &str, args: &InspectArgs, out: &mut dyn Write) -> Result<(), Error> {
    let db = model(url, &args.schema).await?;
    if args.ddl {
        for stmt in tusk_inspect::ddl::statements(&db) {
            writeln!(out, "{stmt};\n").map_err(write_err)?;
        }
        return Ok(());
    }
    if args.rust {
        return write!(out, "{}", tusk_inspect::rust::structs(&db)).map_err(write_err);
    }
    if args.json {
        let s = serde_json::to_string(&db).map_err(|e| Error::Usage(e.to_string()))?;
        return writeln!(out, "{s}").map_err(write_err);
    }
    write!(out, "{}", render(&db)).map_err(write_err)
}

fn comment(c: Option<&String>) -> String {
    c.map(|c| format!("  -- {}", c.replace('\n', " ")))
        .unwrap_or_default()
}

fn column_line(c: &Column, width: usize) -> String {
    let mut s = format!("    {:<width$}  {}", c.name, c.data_type);
    if let Some(coll) = &c.collation {
        s.push_str(&format!(" COLLATE {coll}"));
    }
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(i) = &c.identity {
        s.push_str(&format!(" GENERATED {} AS IDENTITY", i.to_uppercase()));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
    }
    s.push_str(&comment(c.comment.as_ref()));
    s
}

fn columns(out: &mut String, cols: &[Column]) {
    let width = cols
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in cols {
        out.push_str(&column_line(c, width));
        out.push('\n');
    }
}

fn schema(out: &mut String, s: &Schema) {
    out.push_str(&format!(
        "schema {} (owner {}){}\n",
        s.name,
        s.owner,
        comment(s.comment.as_ref())
    ));
    for t in &s.tables {
        let mut kind = match t.kind {
            TableKind::Ordinary => "table".to_string(),
            TableKind::Partitioned => format!(
                "partitioned table, PARTITION BY {}",
                t.partition_key.as_deref().unwrap_or("?")
            ),
            TableKind::Foreign => "foreign table".to_string(),
        };
        if let (Some(p), Some(b)) = (&t.partition_of, &t.partition_bound) {
            kind = format!("partition of {p} {b}");
        }
        if t.unlogged {
            kind.push_str(", unlogged");
        }
        if t.row_security {
            kind.push_str(if t.force_row_security {
                ", RLS forced"
            } else {
                ", RLS"
            });
        }
        out.push_str(&format!(
            "  {}.{} ({kind}){}\n",
            s.name,
            t.name,
            comment(t.comment.as_ref())
        ));
        columns(out, &t.columns);
        for i in &t.indexes {
            out.push_str(&format!(
                "    index {}{}\n",
                i.definition,
                if i.valid { "" } else { "  -- INVALID" }
            ));
        }
        for c in &t.constraints {
            out.push_str(&format!("    constraint {} {}\n", c.name, c.definition));
        }
        for tr in &t.triggers {
            out.push_str(&format!(
                "    trigger {}{}\n",
                tr.definition,
                if tr.enabled { "" } else { "  -- disabled" }
            ));
        }
        for p in &t.policies {
            out.push_str(&format!(
                "    policy {} {}{} TO {}{}{}\n",
                p.name,
                if p.permissive { "" } else { "RESTRICTIVE " },
                p.command,
                p.roles.join(", "),
                p.using_expr
                    .as_deref()
                    .map(|u| format!(" USING {u}"))
                    .unwrap_or_default(),
                p.check_expr
                    .as_deref()
                    .map(|u| format!(" WITH CHECK {u}"))
                    .unwrap_or_default(),
            ));
        }
    }
    for v in &s.views {
        out.push_str(&format!(
            "  {}.{} ({}){}\n",
            s.name,
            v.name,
            if v.materialized {
                "materialized view"
            } else {
                "view"
            },
            comment(v.comment.as_ref())
        ));
        for line in v.definition.trim_end().lines() {
            out.push_str(&format!("    |{line}\n"));
        }
        for i in &v.indexes {
            out.push_str(&format!("    index {}\n", i.definition));
        }
    }
    for q in &s.sequences {
        out.push_str(&format!(
            "  {}.{} (sequence {} START {} INCREMENT {}{}){}\n",
            s.name,
            q.name,
            q.data_type,
            q.start,
            q.increment,
            if q.cycle { " CYCLE" } else { "" },
            q.owned_by
                .as_deref()
                .map(|o| format!(" owned by {o}"))
                .unwrap_or_default()
        ));
    }
    for e in &s.enums {
        out.push_str(&format!(
            "  {}.{} (enum: {}){}\n",
            s.name,
            e.name,
            e.labels.join(", "),
            comment(e.comment.as_ref())
        ));
    }
    for c in &s.composites {
        out.push_str(&format!(
            "  {}.{} (composite type){}\n",
            s.name,
            c.name,
            comment(c.comment.as_ref())
        ));
        columns(out, &c.attributes);
    }
    for d in &s.domains {
        let checks: Vec<&str> = d.checks.iter().map(|c| c.definition.as_str()).collect();
        out.push_str(&format!(
            "  {}.{} (domain over {}{}{}{}){}\n",
            s.name,
            d.name,
            d.base_type,
            if d.not_null { " NOT NULL" } else { "" },
            d.default
                .as_deref()
                .map(|x| format!(" DEFAULT {x}"))
                .unwrap_or_default(),
            if checks.is_empty() {
                String::new()
            } else {
                format!(" {}", checks.join(" "))
            },
            comment(d.comment.as_ref())
        ));
    }
}

/// The model as text, one object per line (definitions as the server
/// prints them).
pub fn render(db: &Database) -> String {
    let mut out = format!(
        "database {} (PostgreSQL {})\n",
        db.database, db.server_version
    );
    for s in &db.schemas {
        schema(&mut out, s);
    }
    if !db.extensions.is_empty() {
        let ext: Vec<String> = db
            .extensions
            .iter()
            .map(|e| format!("{} {} (in {})", e.name, e.version, e.schema))
            .collect();
        out.push_str(&format!("extensions: {}\n", ext.join(", ")));
    }
    out
}
