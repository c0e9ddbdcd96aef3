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
