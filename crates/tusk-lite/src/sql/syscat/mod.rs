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
//!
//! This file holds the fixed OIDs, the column and value helpers the
//! relations share, and the dispatch by relation name; `snapshot` derives
//! the relations and constraints from a catalog, `tables` builds the
//! relations about user tables, `pg_type` the type catalogs and
//! format_type, `fixed` the rest; `info_schema` (with `info_columns`,
//! `info_constraints`, `info_privileges` and `info_empty`) builds the information_schema
//! views.

mod fixed;
mod info_columns;
mod info_constraints;
mod info_empty;
mod info_privileges;
pub mod info_schema;
mod pg_type;
mod snapshot;
mod tables;

pub use pg_type::{format_type, INPUT_FUNCTIONS};
pub use snapshot::{expr_text, quote_ident, ConEntry, IndexEntry, RelEntry, Snapshot};

use crate::catalog::Catalog;
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
    /// pg_class itself (a pg_depend row's classid).
    pub const PG_CLASS: i64 = 1259;
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
/// The one-byte `"char"` type of catalog codes (typtype, ...).
fn char() -> ColType {
    ColType::plain(Type::Char)
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
fn int8() -> ColType {
    ColType::plain(Type::Int8)
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

fn text_array() -> ColType {
    ColType::array_of(Type::Text)
}

/// The virtual relation `pg_catalog.<rel>`, or None when tusk-lite has no
/// such catalog.
pub fn relation(cat: &Catalog, rel: &str, database: &str) -> Option<SysRel> {
    tables::relation(cat, rel)
        .or_else(|| pg_type::relation(cat, rel))
        .or_else(|| fixed::relation(rel, database))
}

/// The system catalogs `'pg_catalog.<name>'::regclass` names (psql's
/// queries compare `pg_depend.classid` with them), by their fixed OIDs.
pub const CATALOG_OIDS: &[(&str, i64)] = &[
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", oids::PG_CLASS),
    ("pg_database", 1262),
    ("pg_constraint", 2606),
    ("pg_index", 2610),
    ("pg_namespace", 2615),
];

/// The user a `pg_get_userbyid` OID names; `session_user` stands for
/// the bootstrap superuser (tusk-lite has one role: whoever connects).
pub fn user_name(oid: i64, session_user: &str) -> String {
    match oid {
        oids::BOOTSTRAP_USER => session_user.to_string(),
        oids::DATABASE_OWNER => "pg_database_owner".to_string(),
        other => format!("unknown (OID={other})"),
    }
}
