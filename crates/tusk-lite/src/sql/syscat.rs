//! `pg_catalog` as virtual relations generated from the catalog, and the
//! catalog functions psql's describe queries call (`pg_get_indexdef`,
//! `pg_get_constraintdef`, `format_type`, `::regclass`, ...).
//!
//! Each relation is built when a statement binds it, from the catalog that
//! statement sees, so it follows the transaction's DDL. Only the columns
//! psql 15's `\dt \d \d+ \di \dn`, pgbench and the drivers read are
//! present; the rest of a PostgreSQL catalog's columns are absent (an
//! error naming the column, not a made-up value). Objects PostgreSQL
//! gives an OID that tusk-lite does not store (a primary key's index, a
//! constraint) get one numbered after the catalog's next OID: stable for
//! one statement, not across DDL.
//!
//! `expr::regclass` (and regtype, regnamespace) on a non-constant gives
//! the object's name; on a constant it gives the OID, typed oid, so that
//! `conrelid = 't'::regclass` compares: printing such a constant shows
//! the number where PostgreSQL shows the name.
//!
//! Relations that hold nothing in tusk-lite (policies, publications,
//! extended statistics, inheritance, triggers, descriptions) exist and are
//! empty, which is what PostgreSQL answers for a database without those
//! features.

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::{Catalog, FkAction, Table};
use crate::types::{ColType, Type, Value};

/// The OIDs PostgreSQL gives its fixed objects.
pub mod oids {
    /// The bootstrap superuser (whoever connected, in tusk-lite).
    pub const BOOTSTRAP_USER: i64 = 10;
    /// `pg_database_owner`, owner of schema public since PostgreSQL 15.
    pub const DATABASE_OWNER: i64 = 6171;
    /// Schema pg_catalog.
    pub const PG_CATALOG: i64 = 11;
    /// Schema public.
    pub const PUBLIC: i64 = 2200;
    /// Schema information_schema (its OID varies by installation).
    pub const INFORMATION_SCHEMA: i64 = 13_000;
    /// Access method heap (tables).
    pub const HEAP: i64 = 2;
    /// Access method btree (indexes).
    pub const BTREE: i64 = 403;
    /// Collation "default".
    pub const DEFAULT_COLLATION: i64 = 100;
    /// The one database (postgres's OID in a fresh cluster).
    pub const DATABASE: i64 = 5;
}

/// A virtual relation: its columns and rows.
pub struct SysRel {
    /// Column names and types.
    pub cols: Vec<(&'static str, ColType)>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

fn oid() -> ColType {
    ColType::plain(Type::Oid)
}
fn name() -> ColType {
    ColType::plain(Type::Name)
}
fn text() -> ColType {
    ColType::plain(Type::Text)
}
fn boolean() -> ColType {
    ColType::plain(Type::Bool)
}
fn int2() -> ColType {
    ColType::plain(Type::Int2)
}
fn int4() -> ColType {
    ColType::plain(Type::Int4)
}
fn float4() -> ColType {
    ColType::plain(Type::Float4)
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}
fn i(v: impl Into<i64>) -> Value {
    Value::Int(v.into())
}
fn b(v: bool) -> Value {
    Value::Bool(v)
}

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
    /// pg_get_constraintdef's text.
    pub def: String,
}

/// Everything the virtual catalog derives from one catalog snapshot.
pub struct Snapshot {
    /// Every relation, by OID.
    pub rels: Vec<RelEntry>,
    /// Every constraint.
    pub cons: Vec<ConEntry>,
}

fn quote_ident(s: &str) -> String {
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

/// A stored expression (`SELECT <expr>`) as pg_get_expr prints it.
pub fn expr_text(stored: &str) -> String {
    let e = stored.strip_prefix("SELECT ").unwrap_or(stored);
    // A serial column's default: PostgreSQL stores the sequence as a
    // regclass constant.
    if let Some(rest) = e.strip_prefix("nextval('") {
        if let Some(seq) = rest.strip_suffix("')") {
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
                    def: format!("CHECK ({})", expr_text(&c.expr)),
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

    /// pg_get_indexdef(oid, 0, true) for every index.
    pub fn indexdefs(&self) -> HashMap<i64, Value> {
        self.rels
            .iter()
            .filter_map(|r| {
                let ix = r.index.as_ref()?;
                Some((
                    r.oid,
                    t(&format!(
                        "CREATE {}INDEX {} ON {}.{} USING btree ({})",
                        if ix.unique { "UNIQUE " } else { "" },
                        quote_ident(&r.name),
                        quote_ident(&ix.table.schema),
                        quote_ident(&ix.table.name),
                        col_list(&ix.table, &ix.columns)
                    )),
                ))
            })
            .collect()
    }

    /// pg_get_constraintdef(oid) for every constraint.
    pub fn constraintdefs(&self) -> HashMap<i64, Value> {
        self.cons.iter().map(|c| (c.oid, t(&c.def))).collect()
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

/// The types pg_type lists: every type tusk-lite implements.
const TYPES: [Type; 15] = [
    Type::Bool,
    Type::Int2,
    Type::Int4,
    Type::Int8,
    Type::Float4,
    Type::Float8,
    Type::Numeric,
    Type::Text,
    Type::Varchar,
    Type::Bpchar,
    Type::Name,
    Type::Oid,
    Type::Date,
    Type::Timestamp,
    Type::Timestamptz,
];

fn typname(ty: Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::Int2 => "int2",
        Type::Int4 => "int4",
        Type::Int8 => "int8",
        Type::Float4 => "float4",
        Type::Float8 => "float8",
        Type::Numeric => "numeric",
        Type::Text => "text",
        Type::Varchar => "varchar",
        Type::Bpchar => "bpchar",
        Type::Name => "name",
        Type::Oid => "oid",
        Type::Date => "date",
        Type::Timestamp => "timestamp",
        Type::Timestamptz => "timestamptz",
        Type::Array => "_text",
        Type::Unknown => "unknown",
    }
}

fn collatable(ty: Type) -> bool {
    matches!(ty, Type::Text | Type::Varchar | Type::Bpchar | Type::Name)
}

/// pg_attribute.attstorage for a type.
fn storage(ty: Type) -> &'static str {
    match ty {
        Type::Text | Type::Varchar | Type::Bpchar | Type::Array => "x",
        Type::Numeric => "m",
        _ => "p",
    }
}

fn align(ty: Type) -> &'static str {
    match ty {
        Type::Bool | Type::Name => "c",
        Type::Int2 => "s",
        Type::Int8 | Type::Float8 | Type::Timestamp | Type::Timestamptz => "d",
        _ => "i",
    }
}

/// format_type(type oid, typmod), as PostgreSQL prints a column's type.
pub fn format_type(type_oid: i64, typmod: i64) -> Option<String> {
    let ty = u32::try_from(type_oid).ok().and_then(Type::from_oid)?;
    let m = typmod;
    Some(match ty {
        Type::Varchar if m >= 4 => format!("character varying({})", m - 4),
        Type::Bpchar if m >= 4 => format!("character({})", m - 4),
        Type::Bpchar => "bpchar".to_string(),
        Type::Numeric if m >= 4 => {
            let m = m - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        Type::Timestamp if m >= 0 => format!("timestamp({m}) without time zone"),
        Type::Timestamptz if m >= 0 => format!("timestamp({m}) with time zone"),
        Type::Name => "name".to_string(),
        other => other.name().to_string(),
    })
}

fn text_array() -> ColType {
    ColType::array_of(Type::Text)
}

/// The virtual relation `pg_catalog.<rel>`, or None when tusk-lite has no
/// such catalog.
pub fn relation(cat: &Catalog, rel: &str, database: &str) -> Option<SysRel> {
    let snap = || Snapshot::new(cat);
    Some(match rel {
        "pg_namespace" => SysRel {
            cols: vec![("oid", oid()), ("nspname", name()), ("nspowner", oid())],
            rows: vec![
                vec![
                    i(oids::PG_CATALOG),
                    t("pg_catalog"),
                    i(oids::BOOTSTRAP_USER),
                ],
                vec![i(oids::PUBLIC), t("public"), i(oids::DATABASE_OWNER)],
                vec![
                    i(oids::INFORMATION_SCHEMA),
                    t("information_schema"),
                    i(oids::BOOTSTRAP_USER),
                ],
            ],
        },
        "pg_am" => SysRel {
            cols: vec![("oid", oid()), ("amname", name()), ("amtype", text())],
            rows: vec![
                vec![i(oids::HEAP), t("heap"), t("t")],
                vec![i(oids::BTREE), t("btree"), t("i")],
            ],
        },
        "pg_class" => {
            let s = snap();
            let rows = s
                .rels
                .iter()
                .map(|r| {
                    let (natts, checks, hasindex) = match (&r.table, &r.index) {
                        (Some(tb), _) => (
                            tb.columns.len(),
                            tb.checks.len(),
                            tb.primary_key.is_some() || !tb.indexes.is_empty(),
                        ),
                        (None, Some(ix)) => (ix.columns.len(), 0, false),
                        _ => (3, 0, false),
                    };
                    let am = match r.kind {
                        'r' => oids::HEAP,
                        'i' => oids::BTREE,
                        _ => 0,
                    };
                    vec![
                        i(r.oid),
                        t(&r.name),
                        i(if r.schema == "public" {
                            oids::PUBLIC
                        } else {
                            oids::PG_CATALOG
                        }),
                        i(0),
                        i(0),
                        i(oids::BOOTSTRAP_USER),
                        i(am),
                        i(r.oid),
                        i(0),
                        i(0),
                        Value::Float(-1.0),
                        i(0),
                        i(0),
                        b(hasindex),
                        b(false),
                        t("p"),
                        t(&r.kind.to_string()),
                        i(i64::try_from(natts).unwrap_or(0)),
                        i(i64::try_from(checks).unwrap_or(0)),
                        b(false),
                        // PostgreSQL's foreign keys are triggers on both
                        // tables; psql shows foreign keys only when this
                        // is set. (tusk-lite's pg_trigger stays empty:
                        // those triggers are internal, and psql hides them.)
                        b(r.table.as_ref().is_some_and(|tb| {
                            !tb.foreign_keys.is_empty() || !cat.referencing(tb.oid).is_empty()
                        })),
                        b(false),
                        b(false),
                        b(false),
                        b(true),
                        t(if r.kind == 'S' || r.kind == 'i' {
                            "n"
                        } else {
                            "d"
                        }),
                        b(false),
                        i(0),
                        Value::Null,
                        Value::Null,
                    ]
                })
                .collect();
            SysRel {
                cols: vec![
                    ("oid", oid()),
                    ("relname", name()),
                    ("relnamespace", oid()),
                    ("reltype", oid()),
                    ("reloftype", oid()),
                    ("relowner", oid()),
                    ("relam", oid()),
                    ("relfilenode", oid()),
                    ("reltablespace", oid()),
                    ("relpages", int4()),
                    ("reltuples", float4()),
                    ("relallvisible", int4()),
                    ("reltoastrelid", oid()),
                    ("relhasindex", boolean()),
                    ("relisshared", boolean()),
                    ("relpersistence", text()),
                    ("relkind", text()),
                    ("relnatts", int2()),
                    ("relchecks", int2()),
                    ("relhasrules", boolean()),
                    ("relhastriggers", boolean()),
                    ("relhassubclass", boolean()),
                    ("relrowsecurity", boolean()),
                    ("relforcerowsecurity", boolean()),
                    ("relispopulated", boolean()),
                    ("relreplident", text()),
                    ("relispartition", boolean()),
                    ("relrewrite", oid()),
                    ("reloptions", text_array()),
                    ("relpartbound", text()),
                ],
                rows,
            }
        }
        "pg_index" => {
            let s = snap();
            let rows = s
                .rels
                .iter()
                .filter_map(|r| {
                    let ix = r.index.as_ref()?;
                    let n = i64::try_from(ix.columns.len()).unwrap_or(0);
                    let key = ix
                        .columns
                        .iter()
                        .map(|c| i(i64::try_from(*c + 1).unwrap_or(0)))
                        .collect();
                    Some(vec![
                        i(r.oid),
                        i(i64::from(ix.table.oid)),
                        i(n),
                        i(n),
                        b(ix.unique),
                        b(ix.primary),
                        b(false),
                        b(true),
                        b(false),
                        b(true),
                        b(false),
                        b(true),
                        b(true),
                        b(false),
                        Value::Array(key),
                        Value::Null,
                        Value::Null,
                    ])
                })
                .collect();
            SysRel {
                cols: vec![
                    ("indexrelid", oid()),
                    ("indrelid", oid()),
                    ("indnatts", int2()),
                    ("indnkeyatts", int2()),
                    ("indisunique", boolean()),
                    ("indisprimary", boolean()),
                    ("indisexclusion", boolean()),
                    ("indimmediate", boolean()),
                    ("indisclustered", boolean()),
                    ("indisvalid", boolean()),
                    ("indcheckxmin", boolean()),
                    ("indisready", boolean()),
                    ("indislive", boolean()),
                    ("indisreplident", boolean()),
                    ("indkey", ColType::array_of(Type::Int2)),
                    ("indexprs", text()),
                    ("indpred", text()),
                ],
                rows,
            }
        }
        "pg_attribute" => {
            let s = snap();
            let mut rows = Vec::new();
            for r in &s.rels {
                let cols: Vec<(String, ColType, bool, bool)> = match (&r.table, &r.index) {
                    (Some(tb), _) => tb
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), c.ty, c.not_null, c.default.is_some()))
                        .collect(),
                    (None, Some(ix)) => ix
                        .columns
                        .iter()
                        .map(|c| {
                            let col = &ix.table.columns[*c];
                            (col.name.clone(), col.ty, false, false)
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                for (n, (cname, ty, not_null, has_def)) in cols.into_iter().enumerate() {
                    rows.push(vec![
                        i(r.oid),
                        t(&cname),
                        i(ty.ty.oid()),
                        i(-1),
                        i(ty.ty.typlen()),
                        i(i64::try_from(n + 1).unwrap_or(0)),
                        i(0),
                        i(if ty.ty == Type::Array { -1 } else { ty.typmod }),
                        b(ty.ty.typlen() > 0 && ty.ty.typlen() <= 8),
                        t(align(ty.ty)),
                        t(storage(ty.ty)),
                        t(""),
                        b(not_null),
                        b(has_def),
                        b(false),
                        t(""),
                        t(""),
                        b(false),
                        b(true),
                        i(0),
                        i(if collatable(ty.ty) {
                            oids::DEFAULT_COLLATION
                        } else {
                            0
                        }),
                    ]);
                }
            }
            SysRel {
                cols: vec![
                    ("attrelid", oid()),
                    ("attname", name()),
                    ("atttypid", oid()),
                    ("attstattarget", int4()),
                    ("attlen", int2()),
                    ("attnum", int2()),
                    ("attndims", int4()),
                    ("atttypmod", int4()),
                    ("attbyval", boolean()),
                    ("attalign", text()),
                    ("attstorage", text()),
                    ("attcompression", text()),
                    ("attnotnull", boolean()),
                    ("atthasdef", boolean()),
                    ("atthasmissing", boolean()),
                    ("attidentity", text()),
                    ("attgenerated", text()),
                    ("attisdropped", boolean()),
                    ("attislocal", boolean()),
                    ("attinhcount", int4()),
                    ("attcollation", oid()),
                ],
                rows,
            }
        }
        "pg_attrdef" => {
            let s = snap();
            let mut rows = Vec::new();
            for tb in s.rels.iter().filter_map(|r| r.table.as_ref()) {
                for (n, c) in tb.columns.iter().enumerate() {
                    if let Some(d) = &c.default {
                        rows.push(vec![
                            i(i64::from(tb.oid) * 1000 + i64::try_from(n).unwrap_or(0)),
                            i(i64::from(tb.oid)),
                            i(i64::try_from(n + 1).unwrap_or(0)),
                            t(&expr_text(d)),
                        ]);
                    }
                }
            }
            SysRel {
                cols: vec![
                    ("oid", oid()),
                    ("adrelid", oid()),
                    ("adnum", int2()),
                    // pg_node_tree: tusk-lite keeps the expression's SQL
                    // text, which pg_get_expr returns as it is.
                    ("adbin", text()),
                ],
                rows,
            }
        }
        "pg_constraint" => {
            let s = snap();
            let rows = s
                .cons
                .iter()
                .map(|c| {
                    vec![
                        i(c.oid),
                        t(&c.name),
                        i(oids::PUBLIC),
                        t(&c.kind.to_string()),
                        b(false),
                        b(false),
                        b(true),
                        i(i64::from(c.table.oid)),
                        i(0),
                        i(c.index_oid),
                        i(0),
                        i(c.ref_table),
                        t(&c.on_update.to_string()),
                        t(&c.on_delete.to_string()),
                        t(if c.kind == 'f' { "s" } else { " " }),
                        b(true),
                        i(0),
                        b(false),
                    ]
                })
                .collect();
            SysRel {
                cols: vec![
                    ("oid", oid()),
                    ("conname", name()),
                    ("connamespace", oid()),
                    ("contype", text()),
                    ("condeferrable", boolean()),
                    ("condeferred", boolean()),
                    ("convalidated", boolean()),
                    ("conrelid", oid()),
                    ("contypid", oid()),
                    ("conindid", oid()),
                    ("conparentid", oid()),
                    ("confrelid", oid()),
                    ("confupdtype", text()),
                    ("confdeltype", text()),
                    ("confmatchtype", text()),
                    ("conislocal", boolean()),
                    ("coninhcount", int4()),
                    ("connoinherit", boolean()),
                ],
                rows,
            }
        }
        "pg_type" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("typname", name()),
                ("typnamespace", oid()),
                ("typowner", oid()),
                ("typlen", int2()),
                ("typtype", text()),
                ("typcategory", text()),
                ("typelem", oid()),
                ("typarray", oid()),
                ("typbasetype", oid()),
                ("typtypmod", int4()),
                ("typcollation", oid()),
            ],
            rows: TYPES
                .iter()
                .map(|ty| {
                    vec![
                        i(ty.oid()),
                        t(typname(*ty)),
                        i(oids::PG_CATALOG),
                        i(oids::BOOTSTRAP_USER),
                        i(ty.typlen()),
                        t("b"),
                        t(type_category(*ty)),
                        i(0),
                        i(0),
                        i(0),
                        i(-1),
                        i(if collatable(*ty) {
                            oids::DEFAULT_COLLATION
                        } else {
                            0
                        }),
                    ]
                })
                .collect(),
        },
        "pg_collation" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("collname", name()),
                ("collnamespace", oid()),
            ],
            rows: vec![
                vec![
                    i(oids::DEFAULT_COLLATION),
                    t("default"),
                    i(oids::PG_CATALOG),
                ],
                vec![i(950), t("C"), i(oids::PG_CATALOG)],
                vec![i(951), t("POSIX"), i(oids::PG_CATALOG)],
            ],
        },
        "pg_database" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("datname", name()),
                ("datdba", oid()),
                ("encoding", int4()),
                ("datlocprovider", text()),
                ("datistemplate", boolean()),
                ("datallowconn", boolean()),
                ("datconnlimit", int4()),
                ("datcollate", text()),
                ("datctype", text()),
                ("daticulocale", text()),
                ("datacl", text_array()),
            ],
            rows: vec![vec![
                i(oids::DATABASE),
                t(database),
                i(oids::BOOTSTRAP_USER),
                i(6),
                t("c"),
                b(false),
                b(true),
                i(-1),
                t("C.UTF-8"),
                t("C.UTF-8"),
                Value::Null,
                Value::Null,
            ]],
        },
        "pg_roles" | "pg_authid" | "pg_user" => SysRel {
            cols: vec![("oid", oid()), ("rolname", name())],
            rows: Vec::new(),
        },
        "pg_description" => SysRel {
            cols: vec![
                ("objoid", oid()),
                ("classoid", oid()),
                ("objsubid", int4()),
                ("description", text()),
            ],
            rows: Vec::new(),
        },
        "pg_inherits" => SysRel {
            cols: vec![
                ("inhrelid", oid()),
                ("inhparent", oid()),
                ("inhseqno", int4()),
                ("inhdetachpending", boolean()),
            ],
            rows: Vec::new(),
        },
        "pg_policy" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("polname", name()),
                ("polrelid", oid()),
                ("polcmd", text()),
                ("polpermissive", boolean()),
                ("polroles", ColType::array_of(Type::Oid)),
                ("polqual", text()),
                ("polwithcheck", text()),
            ],
            rows: Vec::new(),
        },
        "pg_statistic_ext" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("stxrelid", oid()),
                ("stxname", name()),
                ("stxnamespace", oid()),
                ("stxowner", oid()),
                ("stxstattarget", int4()),
                ("stxkeys", ColType::array_of(Type::Int2)),
                ("stxkind", text_array()),
            ],
            rows: Vec::new(),
        },
        "pg_publication" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("pubname", name()),
                ("pubowner", oid()),
                ("puballtables", boolean()),
                ("pubinsert", boolean()),
                ("pubupdate", boolean()),
                ("pubdelete", boolean()),
                ("pubtruncate", boolean()),
                ("pubviaroot", boolean()),
            ],
            rows: Vec::new(),
        },
        "pg_publication_namespace" => SysRel {
            cols: vec![("oid", oid()), ("pnpubid", oid()), ("pnnspid", oid())],
            rows: Vec::new(),
        },
        "pg_publication_rel" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("prpubid", oid()),
                ("prrelid", oid()),
                ("prqual", text()),
                ("prattrs", ColType::array_of(Type::Int2)),
            ],
            rows: Vec::new(),
        },
        "pg_trigger" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("tgrelid", oid()),
                ("tgparentid", oid()),
                ("tgname", name()),
                ("tgenabled", text()),
                ("tgisinternal", boolean()),
            ],
            rows: Vec::new(),
        },
        _ => return None,
    })
}

fn type_category(ty: Type) -> &'static str {
    match ty {
        Type::Bool => "B",
        Type::Int2
        | Type::Int4
        | Type::Int8
        | Type::Float4
        | Type::Float8
        | Type::Numeric
        | Type::Oid => "N",
        Type::Date | Type::Timestamp | Type::Timestamptz => "D",
        Type::Array => "A",
        Type::Unknown => "X",
        _ => "S",
    }
}

/// The user a `pg_get_userbyid` OID names; `session_user` stands for
/// the bootstrap superuser (tusk-lite has one role: whoever connects).
pub fn user_name(oid: i64, session_user: &str) -> String {
    match oid {
        oids::BOOTSTRAP_USER => session_user.to_string(),
        oids::DATABASE_OWNER => "pg_database_owner".to_string(),
        other => format!("unknown (OID={other})"),
    }
}
