//! The snapshot the virtual catalog derives from one catalog: every
//! relation (tables, their indexes, sequences) with the OIDs made up for
//! objects tusk-lite does not number, every constraint, and the texts
//! pg_get_indexdef, pg_get_constraintdef and pg_get_expr print.

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::{Catalog, FkAction, Table};
use crate::types::Value;

use super::{b, t};

/// The kinds of relation pg_class lists.
#[derive(Clone, Debug)]
pub struct RelEntry {
    /// The relation's OID (made up for a primary key's index).
    pub oid: i64,
    /// Its name.
    pub name: String,
    /// Its schema.
    pub schema: String,
    /// 'r' table, 'i' index, 'S' sequence.
    pub kind: char,
    /// For an index: its table, the indexed column positions, unique,
    /// primary key.
    pub index: Option<IndexEntry>,
    /// For a table: its definition.
    pub table: Option<Arc<Table>>,
}

#[derive(Clone, Debug)]
pub struct IndexEntry {
    /// The indexed table.
    pub table: Arc<Table>,
    /// Indexed column positions, in index order.
    pub columns: Vec<usize>,
    /// A unique index.
    pub unique: bool,
    /// The primary key's index.
    pub primary: bool,
    /// The constraint that owns it (primary key or UNIQUE), by OID.
    pub constraint: Option<i64>,
    /// Per key column, indoption bits (1: DESC, 2: NULLS FIRST); empty
    /// means all 0.
    pub options: Vec<i16>,
}

impl IndexEntry {
    /// Key column `n`'s indoption bits.
    pub fn option(&self, n: usize) -> i16 {
        self.options.get(n).copied().unwrap_or(0)
    }
}

/// A constraint, as pg_constraint lists it.
#[derive(Clone, Debug)]
pub struct ConEntry {
    /// The constraint's OID (made up, stable within a statement).
    pub oid: i64,
    /// Its name.
    pub name: String,
    /// 'p', 'u', 'c', 'f'.
    pub kind: char,
    /// The constrained table.
    pub table: Arc<Table>,
    /// The index that enforces it (or, for a foreign key, the referenced
    /// key's index); 0 for a check.
    pub index_oid: i64,
    /// A foreign key's referenced table; 0 otherwise.
    pub ref_table: i64,
    /// A foreign key's ON UPDATE action, as pg_constraint codes it.
    pub on_update: char,
    /// A foreign key's ON DELETE action, as pg_constraint codes it.
    pub on_delete: char,
    /// pg_get_constraintdef's pretty text (`pg_get_constraintdef(oid, true)`).
    pub def: String,
    /// pg_get_constraintdef's text without pretty-printing: a CHECK's
    /// expression has every operator in parentheses; the same as `def`
    /// for the other kinds.
    pub raw_def: String,
    /// pg_constraint.conkey: the constrained columns (0-based; a
    /// CHECK's in order of first use); empty for NULL.
    pub key: Vec<usize>,
    /// pg_constraint.confkey: a foreign key's referenced columns.
    pub ref_key: Vec<usize>,
}

/// Everything the virtual catalog derives from one catalog snapshot.
pub struct Snapshot {
    /// Every relation, by OID.
    pub rels: Vec<RelEntry>,
    /// Every constraint.
    pub cons: Vec<ConEntry>,
}

pub fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_reserved(s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

fn is_reserved(s: &str) -> bool {
    matches!(
        s,
        "all"
            | "analyse"
            | "analyze"
            | "and"
            | "any"
            | "array"
            | "as"
            | "asc"
            | "asymmetric"
            | "both"
            | "case"
            | "cast"
            | "check"
            | "collate"
            | "column"
            | "constraint"
            | "create"
            | "current_catalog"
            | "current_date"
            | "current_role"
            | "current_time"
            | "current_timestamp"
            | "current_user"
            | "default"
            | "deferrable"
            | "desc"
            | "distinct"
            | "do"
            | "else"
            | "end"
            | "except"
            | "false"
            | "fetch"
            | "for"
            | "foreign"
            | "from"
            | "grant"
            | "group"
            | "having"
            | "in"
            | "initially"
            | "intersect"
            | "into"
            | "lateral"
            | "leading"
            | "limit"
            | "localtime"
            | "localtimestamp"
            | "not"
            | "null"
            | "offset"
            | "on"
            | "only"
            | "or"
            | "order"
            | "placing"
            | "primary"
            | "references"
            | "returning"
            | "select"
            | "session_user"
            | "some"
            | "symmetric"
            | "table"
            | "then"
            | "to"
            | "trailing"
            | "true"
            | "union"
            | "unique"
            | "user"
            | "using"
            | "variadic"
            | "when"
            | "where"
            | "window"
            | "with"
    )
}

fn col_list(t: &Table, cols: &[usize]) -> String {
    cols.iter()
        .map(|c| quote_ident(&t.columns[*c].name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn action(a: FkAction) -> (char, &'static str) {
    match a {
        FkAction::NoAction => ('a', ""),
        FkAction::Restrict => ('r', "RESTRICT"),
        FkAction::Cascade => ('c', "CASCADE"),
        FkAction::SetNull => ('n', "SET NULL"),
        FkAction::SetDefault => ('d', "SET DEFAULT"),
    }
}

/// The columns a CHECK uses, in the order they first appear (as
/// PostgreSQL's StoreRelCheck collects them for conkey).
fn check_key(t: &Table, stored: &str) -> Vec<usize> {
    let Ok(parsed) = pg_query::parse(stored, 0) else {
        return Vec::new();
    };
    let mut refs: Vec<(i32, usize)> = parsed
        .protobuf
        .nodes()
        .into_iter()
        .filter_map(|(n, ..)| match n {
            pg_query::NodeRef::ColumnRef(c) => match c.fields.last()?.node.as_ref()? {
                pg_query::NodeEnum::String(s) => Some((c.location, t.column_index(&s.sval)?)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    refs.sort_unstable();
    let mut out = Vec::new();
    for (_, c) in refs {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// A stored expression (`SELECT <expr>`) as pg_get_expr prints it.
pub fn expr_text(stored: &str) -> String {
    let e = stored.strip_prefix("SELECT ").unwrap_or(stored);
    // A serial column's default: PostgreSQL stores the sequence as a
    // regclass constant.
    if let Some(rest) = e.strip_prefix("nextval('") {
        if let Some(seq) = rest.strip_suffix("')") {
            // An unquoted name reads in lower case, as regclass input
            // reads it (`nextval('MYSEQ')` is myseq's).
            if !seq.contains(['"', '.']) {
                return format!("nextval('{}'::regclass)", seq.to_lowercase());
            }
            return format!("nextval('{seq}'::regclass)");
        }
    }
    e.to_string()
}

impl Snapshot {
    /// Derives the relations and constraints of `cat`.
    pub fn new(cat: &Catalog) -> Snapshot {
        let mut next = i64::from(cat.next_oid) + 1_000_000;
        let mut alloc = || {
            next += 1;
            next
        };
        let mut rels = Vec::new();
        let mut cons = Vec::new();
        for table in cat.tables.values() {
            rels.push(RelEntry {
                oid: i64::from(table.oid),
                name: table.name.clone(),
                schema: table.schema.clone(),
                kind: 'r',
                index: None,
                table: Some(table.clone()),
            });
            if let (Some(pk), Some(pname)) = (&table.primary_key, &table.pkey_name) {
                let idx = alloc();
                let con = alloc();
                rels.push(RelEntry {
                    oid: idx,
                    name: pname.clone(),
                    schema: table.schema.clone(),
                    kind: 'i',
                    index: Some(IndexEntry {
                        table: table.clone(),
                        columns: pk.clone(),
                        unique: true,
                        primary: true,
                        constraint: Some(con),
                        options: Vec::new(),
                    }),
                    table: None,
                });
                cons.push(ConEntry {
                    oid: con,
                    name: pname.clone(),
                    kind: 'p',
                    table: table.clone(),
                    index_oid: idx,
                    ref_table: 0,
                    on_update: ' ',
                    on_delete: ' ',
                    def: format!("PRIMARY KEY ({})", col_list(table, pk)),
                    raw_def: format!("PRIMARY KEY ({})", col_list(table, pk)),
                    key: pk.clone(),
                    ref_key: Vec::new(),
                });
            }
            for ix in &table.indexes {
                let con = ix.constraint.then(&mut alloc);
                rels.push(RelEntry {
                    oid: i64::from(ix.oid),
                    name: ix.name.clone(),
                    schema: table.schema.clone(),
                    kind: 'i',
                    index: Some(IndexEntry {
                        table: table.clone(),
                        columns: ix.columns.clone(),
                        unique: ix.unique,
                        primary: false,
                        constraint: con,
                        options: ix.options.clone(),
                    }),
                    table: None,
                });
                if let Some(con) = con {
                    cons.push(ConEntry {
                        oid: con,
                        name: ix.name.clone(),
                        kind: 'u',
                        table: table.clone(),
                        index_oid: i64::from(ix.oid),
                        ref_table: 0,
                        on_update: ' ',
                        on_delete: ' ',
                        def: format!("UNIQUE ({})", col_list(table, &ix.columns)),
                        raw_def: format!("UNIQUE ({})", col_list(table, &ix.columns)),
                        key: ix.columns.clone(),
                        ref_key: Vec::new(),
                    });
                }
            }
            for c in &table.checks {
                cons.push(ConEntry {
                    oid: alloc(),
                    name: c.name.clone(),
                    kind: 'c',
                    table: table.clone(),
                    index_oid: 0,
                    ref_table: 0,
                    on_update: ' ',
                    on_delete: ' ',
                    def: format!(
                        "CHECK ({})",
                        super::info_constraints::check_pretty(table, &c.expr)
                    ),
                    raw_def: format!(
                        "CHECK ({})",
                        super::info_constraints::check_clause(table, &c.expr)
                    ),
                    key: check_key(table, &c.expr),
                    ref_key: Vec::new(),
                });
            }
            for fk in &table.foreign_keys {
                let Some(rt) = cat.table_by_oid(fk.ref_table) else {
                    continue;
                };
                let (upd, upd_sql) = action(fk.on_update);
                let (del, del_sql) = action(fk.on_delete);
                let mut def = format!(
                    "FOREIGN KEY ({}) REFERENCES {}({})",
                    col_list(table, &fk.columns),
                    quote_ident(&rt.name),
                    col_list(rt, &fk.ref_columns)
                );
                if !upd_sql.is_empty() {
                    def.push_str(&format!(" ON UPDATE {upd_sql}"));
                }
                if !del_sql.is_empty() {
                    def.push_str(&format!(" ON DELETE {del_sql}"));
                }
                // The referenced key's index.
                let index_oid = rels
                    .iter()
                    .find(|r| {
                        r.index.as_ref().is_some_and(|ix| {
                            ix.table.oid == rt.oid && ix.unique && ix.columns == fk.ref_columns
                        })
                    })
                    .map(|r| r.oid)
                    .unwrap_or(0);
                cons.push(ConEntry {
                    oid: alloc(),
                    name: fk.name.clone(),
                    kind: 'f',
                    table: table.clone(),
                    index_oid,
                    ref_table: i64::from(rt.oid),
                    on_update: upd,
                    on_delete: del,
                    raw_def: def.clone(),
                    key: fk.columns.clone(),
                    ref_key: fk.ref_columns.clone(),
                    def,
                });
            }
        }
        for s in &cat.sequences {
            rels.push(RelEntry {
                oid: i64::from(s.oid),
                name: s.name.clone(),
                schema: s.schema.clone(),
                kind: 'S',
                index: None,
                table: None,
            });
        }
        rels.sort_by_key(|r| r.oid);
        Snapshot { rels, cons }
    }

    /// pg_get_indexdef(oid) for every index.
    pub fn indexdefs(&self) -> HashMap<i64, Value> {
        self.rels
            .iter()
            .filter_map(|r| Some((r.oid, t(&self.indexdef(r, r.index.as_ref()?, true)))))
            .collect()
    }

    /// For every index, an array of its definition (the table
    /// schema-qualified), its pretty definition (qualified only when not
    /// visible), then each key column's name.
    pub fn indexdef_columns(&self) -> HashMap<i64, Value> {
        self.rels
            .iter()
            .filter_map(|r| {
                let ix = r.index.as_ref()?;
                let mut parts = vec![
                    t(&self.indexdef(r, ix, true)),
                    t(&self.indexdef(r, ix, false)),
                ];
                parts.extend(
                    ix.columns
                        .iter()
                        .map(|c| t(&quote_ident(&ix.table.columns[*c].name))),
                );
                Some((r.oid, Value::Array(parts)))
            })
            .collect()
    }

    fn indexdef(&self, r: &RelEntry, ix: &IndexEntry, qualified: bool) -> String {
        let table = if qualified || ix.table.schema != "public" {
            format!(
                "{}.{}",
                quote_ident(&ix.table.schema),
                quote_ident(&ix.table.name)
            )
        } else {
            quote_ident(&ix.table.name)
        };
        // Each column as pg_get_indexdef prints it: DESC, then NULLS
        // LAST or FIRST where it differs from the direction's default.
        let cols: Vec<String> = ix
            .columns
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let mut s = quote_ident(&ix.table.columns[*c].name);
                let o = ix.option(n);
                if o & 1 != 0 {
                    s.push_str(" DESC");
                    if o & 2 == 0 {
                        s.push_str(" NULLS LAST");
                    }
                } else if o & 2 != 0 {
                    s.push_str(" NULLS FIRST");
                }
                s
            })
            .collect();
        format!(
            "CREATE {}INDEX {} ON {table} USING btree ({})",
            if ix.unique { "UNIQUE " } else { "" },
            quote_ident(&r.name),
            cols.join(", ")
        )
    }

    /// For every constraint, an array of pg_get_constraintdef(oid) (not
    /// pretty) and pg_get_constraintdef(oid, true), as
    /// `Func::IndexDefColumn` picks from with column 0.
    pub fn constraintdefs(&self) -> HashMap<i64, Value> {
        self.cons
            .iter()
            .map(|c| (c.oid, Value::Array(vec![t(&c.raw_def), t(&c.def)])))
            .collect()
    }

    /// `oid::regclass` as text: the relation's name, schema-qualified
    /// when not in public, or the number when no relation has it.
    pub fn regclass_names(&self) -> HashMap<i64, Value> {
        self.rels
            .iter()
            .map(|r| {
                let n = if r.schema == "public" {
                    quote_ident(&r.name)
                } else {
                    format!("{}.{}", quote_ident(&r.schema), quote_ident(&r.name))
                };
                (r.oid, t(&n))
            })
            .collect()
    }

    /// pg_table_is_visible: relations in public (the search path).
    pub fn visible(&self) -> HashMap<i64, Value> {
        self.rels
            .iter()
            .map(|r| (r.oid, b(r.schema == "public")))
            .collect()
    }
}
