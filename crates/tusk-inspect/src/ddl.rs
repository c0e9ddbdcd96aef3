//! The model as DDL: statements that build the same schema in an empty
//! database (what the round-trip test checks). Pure. Object order follows
//! pg_dump's: schemas, extensions, types, functions (with
//! `check_function_bodies` off), sequences, tables, partitions,
//! constraints (foreign keys last), indexes, views, triggers, policies,
//! comments. Owners and grants are not rendered.

use crate::model::{Column, Database, Schema, TableKind};

fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn q(s: &Schema, name: &str) -> String {
    format!("{}.{}", ident(&s.name), ident(name))
}

fn column_def(c: &Column) -> String {
    let mut d = format!("{} {}", ident(&c.name), c.data_type);
    if let Some(coll) = &c.collation {
        d.push_str(&format!(" COLLATE {coll}"));
    }
    if let Some(i) = &c.identity {
        d.push_str(&format!(" GENERATED {} AS IDENTITY", i.to_uppercase()));
    }
    if let Some(g) = &c.generated {
        d.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
    }
    if let Some(x) = &c.default {
        d.push_str(&format!(" DEFAULT {x}"));
    }
    if c.not_null {
        d.push_str(" NOT NULL");
    }
    d
}

/// Statements that rebuild `db`'s schemas, in dependency order. Apply
/// them one by one (or joined with `;\n`) to an empty database.
pub fn statements(db: &Database) -> Vec<String> {
    let mut out = vec!["SET check_function_bodies = off".to_string()];
    for s in &db.schemas {
        out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", ident(&s.name)));
    }
    for e in &db.extensions {
        out.push(format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
            ident(&e.name),
            ident(&e.schema)
        ));
    }
    for s in &db.schemas {
        for e in &s.enums {
            let labels: Vec<String> = e.labels.iter().map(|l| literal(l)).collect();
            out.push(format!(
                "CREATE TYPE {} AS ENUM ({})",
                q(s, &e.name),
                labels.join(", ")
            ));
        }
        for d in &s.domains {
            let mut x = format!("CREATE DOMAIN {} AS {}", q(s, &d.name), d.base_type);
            if let Some(def) = &d.default {
                x.push_str(&format!(" DEFAULT {def}"));
            }
            if d.not_null {
                x.push_str(" NOT NULL");
            }
            for c in &d.checks {
                x.push_str(&format!(" CONSTRAINT {} {}", ident(&c.name), c.definition));
            }
            out.push(x);
        }
        for c in &s.composites {
            let attrs: Vec<String> = c
                .attributes
                .iter()
                .map(|a| format!("{} {}", ident(&a.name), a.data_type))
                .collect();
            out.push(format!(
                "CREATE TYPE {} AS ({})",
                q(s, &c.name),
                attrs.join(", ")
            ));
        }
    }
    for s in &db.schemas {
        for f in &s.functions {
            out.push(f.definition.trim_end().to_string());
        }
    }
    // Sequences, except those an identity column makes itself.
    for s in &db.schemas {
        for q_ in &s.sequences {
            let identity = q_.owned_by.as_deref().is_some_and(|o| {
                s.tables.iter().any(|t| {
                    t.columns.iter().any(|c| {
                        c.identity.is_some()
                            && o == format!(
                                "{}.{}.{}",
                                ident(&s.name),
                                ident(&t.name),
                                ident(&c.name)
                            )
                    })
                })
            });
            if identity {
                continue;
            }
            out.push(format!(
                "CREATE SEQUENCE {} AS {} INCREMENT {} MINVALUE {} MAXVALUE {} START {} CACHE {}{}",
                q(s, &q_.name),
                q_.data_type,
                q_.increment,
                q_.min_value,
                q_.max_value,
                q_.start,
                q_.cache,
                if q_.cycle { " CYCLE" } else { "" }
            ));
        }
    }
    // Tables, then partitions (their parents must exist).
    for partitions in [false, true] {
        for s in &db.schemas {
            for t in s
                .tables
                .iter()
                .filter(|t| t.partition_of.is_some() == partitions)
            {
                let name = q(s, &t.name);
                if let (Some(parent), Some(bound)) = (&t.partition_of, &t.partition_bound) {
                    out.push(format!("CREATE TABLE {name} PARTITION OF {parent} {bound}"));
                    continue;
                }
                let cols: Vec<String> = t.columns.iter().map(column_def).collect();
                let mut x = format!(
                    "CREATE {}{}TABLE {name} (\n    {}\n)",
                    if t.unlogged { "UNLOGGED " } else { "" },
                    if t.kind == TableKind::Foreign {
                        "FOREIGN "
                    } else {
                        ""
                    },
                    cols.join(",\n    ")
                );
                if let Some(k) = &t.partition_key {
                    x.push_str(&format!(" PARTITION BY {k}"));
                }
                out.push(x);
            }
        }
    }
    for s in &db.schemas {
        for q_ in &s.sequences {
            if let Some(o) = &q_.owned_by {
                let identity = s.tables.iter().any(|t| {
                    t.columns.iter().any(|c| {
                        c.identity.is_some()
                            && *o
                                == format!(
                                    "{}.{}.{}",
                                    ident(&s.name),
                                    ident(&t.name),
                                    ident(&c.name)
                                )
                    })
                });
                if !identity {
                    out.push(format!("ALTER SEQUENCE {} OWNED BY {o}", q(s, &q_.name)));
                }
            }
        }
    }
    // Constraints: keys and checks first, foreign keys after every table.
    // A partition's are its parent's (created with it).
    for fks in [false, true] {
        for s in &db.schemas {
            for t in s.tables.iter().filter(|t| t.partition_of.is_none()) {
                for c in t
                    .constraints
                    .iter()
                    .filter(|c| (c.kind == crate::model::ConstraintKind::ForeignKey) == fks)
                {
                    out.push(format!(
                        "ALTER TABLE {} ADD CONSTRAINT {} {}",
                        q(s, &t.name),
                        ident(&c.name),
                        c.definition
                    ));
                }
            }
        }
    }
    for s in &db.schemas {
        for t in s.tables.iter().filter(|t| t.partition_of.is_none()) {
            for i in &t.indexes {
                if t.constraints.iter().all(|c| c.name != i.name) {
                    out.push(i.definition.clone());
                }
            }
        }
    }
    // Views in an order where each comes after the views it names.
    let mut views: Vec<(&Schema, &crate::model::View)> = db
        .schemas
        .iter()
        .flat_map(|s| s.views.iter().map(move |v| (s, v)))
        .collect();
    let mut done: Vec<String> = Vec::new();
    while !views.is_empty() {
        let ready = views
            .iter()
            .position(|(_, v)| {
                views
                    .iter()
                    .all(|(_, o)| o.name == v.name || !v.definition.contains(o.name.as_str()))
            })
            .unwrap_or(0);
        let (s, v) = views.remove(ready);
        out.push(format!(
            "CREATE {}VIEW {} AS\n{}",
            if v.materialized { "MATERIALIZED " } else { "" },
            q(s, &v.name),
            v.definition.trim_end().trim_end_matches(';')
        ));
        for i in &v.indexes {
            out.push(i.definition.clone());
        }
        done.push(v.name.clone());
    }
    for s in &db.schemas {
        for t in s.tables.iter().filter(|t| t.partition_of.is_none()) {
            for tr in &t.triggers {
                out.push(tr.definition.clone());
            }
            if t.row_security {
                out.push(format!(
                    "ALTER TABLE {} ENABLE ROW LEVEL SECURITY",
                    q(s, &t.name)
                ));
            }
            if t.force_row_security {
                out.push(format!(
                    "ALTER TABLE {} FORCE ROW LEVEL SECURITY",
                    q(s, &t.name)
                ));
            }
            for p in &t.policies {
                let roles: Vec<String> = p
                    .roles
                    .iter()
                    .map(|r| {
                        if r == "public" {
                            "PUBLIC".to_string()
                        } else {
                            ident(r)
                        }
                    })
                    .collect();
                let mut x = format!(
                    "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
                    ident(&p.name),
                    q(s, &t.name),
                    if p.permissive {
                        "PERMISSIVE"
                    } else {
                        "RESTRICTIVE"
                    },
                    p.command,
                    roles.join(", ")
                );
                if let Some(u) = &p.using_expr {
                    x.push_str(&format!(" USING ({u})"));
                }
                if let Some(c) = &p.check_expr {
                    x.push_str(&format!(" WITH CHECK ({c})"));
                }
                out.push(x);
            }
        }
    }
    comments(db, &mut out);
    out
}

fn comments(db: &Database, out: &mut Vec<String>) {
    let on = |out: &mut Vec<String>, what: String, c: &Option<String>| {
        if let Some(c) = c {
            out.push(format!("COMMENT ON {what} IS {}", literal(c)));
        }
    };
    for s in &db.schemas {
        on(out, format!("SCHEMA {}", ident(&s.name)), &s.comment);
        for t in &s.tables {
            on(out, format!("TABLE {}", q(s, &t.name)), &t.comment);
            for c in &t.columns {
                on(
                    out,
                    format!("COLUMN {}.{}", q(s, &t.name), ident(&c.name)),
                    &c.comment,
                );
            }
        }
        for v in &s.views {
            let kind = if v.materialized {
                "MATERIALIZED VIEW"
            } else {
                "VIEW"
            };
            on(out, format!("{kind} {}", q(s, &v.name)), &v.comment);
            for c in &v.columns {
                on(
                    out,
                    format!("COLUMN {}.{}", q(s, &v.name), ident(&c.name)),
                    &c.comment,
                );
            }
        }
        for e in &s.enums {
            on(out, format!("TYPE {}", q(s, &e.name)), &e.comment);
        }
        for d in &s.domains {
            on(out, format!("DOMAIN {}", q(s, &d.name)), &d.comment);
        }
        for c in &s.composites {
            on(out, format!("TYPE {}", q(s, &c.name)), &c.comment);
        }
        for f in &s.functions {
            let kind = if f.procedure { "PROCEDURE" } else { "FUNCTION" };
            on(
                out,
                format!("{kind} {}({})", q(s, &f.name), f.arguments),
                &f.comment,
            );
        }
    }
}
