//! The catalog: tables and their columns and constraints. A catalog is
//! immutable once published; DDL copies it inside its transaction and the
//! copy is published at COMMIT (so DDL is transactional, as in PostgreSQL).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::types::ColType;

/// A table's OID; also the table's prefix in storage.
pub type TableId = u32;

/// First OID handed to user objects (PostgreSQL's FirstNormalObjectId).
pub const FIRST_USER_OID: u32 = 16384;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub not_null: bool,
    /// The DEFAULT expression's SQL text, bound when used.
    pub default: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub oid: TableId,
    pub name: String,
    pub schema: String,
    pub columns: Vec<Column>,
    /// Column positions of the primary key, in key order. Rows are stored
    /// under their primary key; a table without one gets a hidden row id.
    pub primary_key: Option<Vec<usize>>,
    /// The primary key constraint's (and index's) name.
    pub pkey_name: Option<String>,
    /// CHECK constraints.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Secondary indexes (UNIQUE constraints and CREATE INDEX).
    #[serde(default)]
    pub indexes: Vec<Index>,
    /// FOREIGN KEY constraints of this table (the referencing side).
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
}

/// A secondary index: its entries live in the store under the index's own
/// OID, keyed by the memcomparable encoding of the indexed values followed
/// by the row's storage key, so an equality lookup is one prefix scan and
/// entries are versioned (and committed) with the rows they point at.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Index {
    pub oid: u32,
    pub name: String,
    /// Indexed column positions, in index order.
    pub columns: Vec<usize>,
    pub unique: bool,
    /// Made by a UNIQUE constraint (dropped with it, not by DROP INDEX).
    pub constraint: bool,
}

/// What a FOREIGN KEY does to referencing rows when the referenced key
/// goes away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FkAction {
    /// Fail at the end of the statement (the default).
    NoAction,
    /// Fail at once.
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

/// A FOREIGN KEY constraint (MATCH SIMPLE, not deferrable).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForeignKey {
    pub name: String,
    /// Referencing column positions in this table.
    pub columns: Vec<usize>,
    pub ref_table: TableId,
    /// Referenced column positions, a primary key or unique index there.
    pub ref_columns: Vec<usize>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
}

/// A CHECK constraint: its name and its expression as `SELECT <expr>`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Check {
    pub name: String,
    pub expr: String,
}

impl Table {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether a constraint (primary key, unique, check or foreign key)
    /// of this table is called `name`.
    pub fn has_constraint(&self, name: &str) -> bool {
        self.pkey_name.as_deref() == Some(name)
            || self.checks.iter().any(|c| c.name == name)
            || self.indexes.iter().any(|i| i.constraint && i.name == name)
            || self.foreign_keys.iter().any(|f| f.name == name)
    }
}

/// A sequence's definition; its current value lives in the engine
/// (sequences are not transactional).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sequence {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cycle: bool,
    /// The table whose serial column owns it (dropped with the table).
    pub owned_by: Option<TableId>,
    /// Its data type's OID (int2, int4 or int8), as pg_sequence.seqtypid
    /// shows it; 0 in a catalog written before it was kept (then the
    /// type is read from the maximum).
    #[serde(default)]
    pub type_oid: u32,
}

impl Sequence {
    /// The sequence's data type: smallint, integer or bigint.
    pub fn type_oid(&self) -> u32 {
        match self.type_oid {
            0 if self.max == i64::from(i16::MAX) => 21,
            0 if self.max == i64::from(i32::MAX) => 23,
            0 => 20,
            t => t,
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    /// Tables by (schema, name).
    #[serde(with = "tables_serde")]
    pub tables: BTreeMap<(String, String), Arc<Table>>,
    #[serde(default)]
    pub sequences: Vec<Arc<Sequence>>,
    pub next_oid: u32,
}

impl Catalog {
    pub fn sequence(&self, schema: &str, name: &str) -> Option<&Arc<Sequence>> {
        self.sequences
            .iter()
            .find(|s| s.schema == schema && s.name == name)
    }

    pub fn new() -> Catalog {
        Catalog {
            tables: BTreeMap::new(),
            sequences: Vec::new(),
            next_oid: FIRST_USER_OID,
        }
    }

    pub fn table(&self, schema: &str, name: &str) -> Option<&Arc<Table>> {
        self.tables.get(&(schema.to_string(), name.to_string()))
    }

    pub fn table_by_oid(&self, oid: TableId) -> Option<&Arc<Table>> {
        self.tables.values().find(|t| t.oid == oid)
    }

    /// Whether a relation (table, sequence, primary key or index) called
    /// `name` exists in `schema`: they share one namespace, as in PostgreSQL.
    pub fn relation_exists(&self, schema: &str, name: &str) -> bool {
        self.table(schema, name).is_some()
            || self.sequence(schema, name).is_some()
            || self.index(schema, name).is_some()
            || self
                .tables
                .values()
                .any(|t| t.schema == schema && t.pkey_name.as_deref() == Some(name))
    }

    /// The table and position of the secondary index called `name`.
    pub fn index(&self, schema: &str, name: &str) -> Option<(&Arc<Table>, usize)> {
        self.tables
            .values()
            .filter(|t| t.schema == schema)
            .find_map(|t| {
                t.indexes
                    .iter()
                    .position(|i| i.name == name)
                    .map(|p| (t, p))
            })
    }

    /// The foreign keys that reference `table`: (referencing table, key).
    pub fn referencing(&self, table: TableId) -> Vec<(Arc<Table>, ForeignKey)> {
        let mut out = Vec::new();
        for t in self.tables.values() {
            for fk in &t.foreign_keys {
                if fk.ref_table == table {
                    out.push((t.clone(), fk.clone()));
                }
            }
        }
        out
    }

    pub fn alloc_oid(&mut self) -> u32 {
        let o = self.next_oid;
        self.next_oid += 1;
        o
    }
}

/// Tables serialize as a list (JSON maps need string keys).
mod tables_serde {
    use super::Table;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    type Tables = BTreeMap<(String, String), Arc<Table>>;

    pub fn serialize<S: Serializer>(t: &Tables, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<&Table> = t.values().map(|t| t.as_ref()).collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tables, D::Error> {
        let list = Vec::<Table>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|t| ((t.schema.clone(), t.name.clone()), Arc::new(t)))
            .collect())
    }
}
