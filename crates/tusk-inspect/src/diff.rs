//! Drift between two models: objects added, removed, or changed field by
//! field. Pure. Owners and column positions are left out of the
//! comparison (they differ between environments without changing the
//! schema's meaning).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::Database;

/// How an object differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    /// Only in the second model.
    Added,
    /// Only in the first model.
    Removed,
    /// In both, with these fields different.
    Changed {
        /// `(field, first, second)` for each field that differs.
        fields: Vec<(String, Value, Value)>,
    },
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What kind of object (`table`, `column`, `index`, ...).
    pub kind: &'static str,
    /// Its qualified name (`app.users.email`).
    pub name: String,
    /// How it differs.
    #[serde(flatten)]
    pub change: Change,
}

/// Fields that are children (compared as objects of their own) or not part
/// of the schema's meaning.
const SKIP: &[&str] = &[
    "columns",
    "indexes",
    "constraints",
    "triggers",
    "policies",
    "tables",
    "views",
    "sequences",
    "enums",
    "composites",
    "domains",
    "functions",
    "attributes",
    "owner",
    "position",
];

fn own_fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(mut m) => {
            m.retain(|k, _| !SKIP.contains(&k.as_str()));
            m
        }
        _ => Map::new(),
    }
}

type Objects = BTreeMap<(&'static str, String), Map<String, Value>>;

fn add<T: Serialize>(out: &mut Objects, kind: &'static str, name: String, item: &T) {
    let v = serde_json::to_value(item).unwrap_or(Value::Null);
    out.insert((kind, name), own_fields(v));
}

fn flatten(db: &Database) -> Objects {
    let mut o = Objects::new();
    for e in &db.extensions {
        add(&mut o, "extension", e.name.clone(), e);
    }
    for s in &db.schemas {
        let q = |n: &str| format!("{}.{n}", s.name);
        add(&mut o, "schema", s.name.clone(), s);
        for t in &s.tables {
            let tn = q(&t.name);
            add(&mut o, "table", tn.clone(), t);
            for c in &t.columns {
                add(&mut o, "column", format!("{tn}.{}", c.name), c);
            }
            for i in &t.indexes {
                add(&mut o, "index", format!("{tn}.{}", i.name), i);
            }
            for c in &t.constraints {
                add(&mut o, "constraint", format!("{tn}.{}", c.name), c);
            }
            for c in &t.triggers {
                add(&mut o, "trigger", format!("{tn}.{}", c.name), c);
            }
            for c in &t.policies {
                add(&mut o, "policy", format!("{tn}.{}", c.name), c);
            }
        }
        for v in &s.views {
            let vn = q(&v.name);
            add(&mut o, "view", vn.clone(), v);
            for c in &v.columns {
                add(&mut o, "column", format!("{vn}.{}", c.name), c);
            }
            for i in &v.indexes {
                add(&mut o, "index", format!("{vn}.{}", i.name), i);
            }
        }
        for x in &s.sequences {
            add(&mut o, "sequence", q(&x.name), x);
        }
        for x in &s.enums {
            add(&mut o, "enum", q(&x.name), x);
        }
        for x in &s.domains {
            add(&mut o, "domain", q(&x.name), x);
        }
        for x in &s.functions {
            add(
                &mut o,
                "function",
                format!("{}({})", q(&x.name), x.arguments),
                x,
            );
        }
        for x in &s.composites {
            let cn = q(&x.name);
            add(&mut o, "composite", cn.clone(), x);
            for c in &x.attributes {
                add(&mut o, "attribute", format!("{cn}.{}", c.name), c);
            }
        }
    }
    o
}

/// What differs from `a` to `b`, in a stable order (by kind, then name).
pub fn diff(a: &Database, b: &Database) -> Vec<Difference> {
    let (a, mut b) = (flatten(a), flatten(b));
    let mut out = Vec::new();
    for ((kind, name), fa) in a {
        match b.remove(&(kind, name.clone())) {
            None => out.push(Difference {
                kind,
                name,
                change: Change::Removed,
            }),
            Some(fb) => {
                let mut fields = Vec::new();
                for (k, va) in &fa {
                    let vb = fb.get(k).cloned().unwrap_or(Value::Null);
                    if *va != vb {
                        fields.push((k.clone(), va.clone(), vb));
                    }
                }
                if !fields.is_empty() {
                    out.push(Difference {
                        kind,
                        name,
                        change: Change::Changed { fields },
                    });
                }
            }
        }
    }
    for ((kind, name), _) in b {
        out.push(Difference {
            kind,
            name,
            change: Change::Added,
        });
    }
    // A table added or removed brings its columns, indexes, ..: say it once.
    let whole: Vec<(String, bool)> = out
        .iter()
        .filter(|d| matches!(d.kind, "table" | "view" | "composite"))
        .filter_map(|d| match d.change {
            Change::Added => Some((format!("{}.", d.name), true)),
            Change::Removed => Some((format!("{}.", d.name), false)),
            Change::Changed { .. } => None,
        })
        .collect();
    out.retain(|d| {
        let added = match d.change {
            Change::Added => true,
            Change::Removed => false,
            Change::Changed { .. } => return true,
        };
        matches!(d.kind, "table" | "view" | "composite")
            || !whole
                .iter()
                .any(|(prefix, a)| *a == added && d.name.starts_with(prefix.as_str()))
    });
    out.sort_by(|x, y| (x.kind, &x.name).cmp(&(y.kind, &y.name)));
    out
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.change {
            Change::Added => write!(f, "+ {} {}", self.kind, self.name),
            Change::Removed => write!(f, "- {} {}", self.kind, self.name),
            Change::Changed { fields } => {
                write!(f, "~ {} {}:", self.kind, self.name)?;
                for (k, a, b) in fields {
                    write!(f, "\n    {k}: {a} -> {b}")?;
                }
                Ok(())
            }
        }
    }
}
