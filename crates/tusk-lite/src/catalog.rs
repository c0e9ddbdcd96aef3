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
    /// The changes of this table's row layout (ALTER TABLE ADD or DROP
    /// COLUMN, TRUNCATE) that snapshots older than them must undo, oldest
    /// first (see [`Relayout`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relayouts: Vec<Relayout>,
}

/// A change of the rows a table stores that a snapshot taken before it
/// must see through: tusk-lite rewrites every row for ADD and DROP COLUMN
/// (new versions in the new layout), where PostgreSQL only changes its
/// catalog, so a snapshot older than the change would otherwise decode
/// the versions it sees (written before it, in the old layout) with the
/// new columns. PostgreSQL reads the catalog as it is now under any
/// snapshot: the old rows show under the new columns (an added column's
/// default as evaluated by the ALTER, a dropped column gone). Where
/// PostgreSQL rewrites the table (an added column with a volatile
/// default) or empties it (TRUNCATE), the new rows carry the new
/// transaction's id and an older snapshot sees the table empty; so does
/// tusk-lite.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Relayout {
    /// Commit timestamp of the transaction that made the change; 0 until
    /// it commits (its own statements read their own rewritten rows).
    pub at: u64,
    /// Per column after the change, where its value comes from in a row
    /// stored before it; None when rows stored before it are not seen at
    /// all (the table was rewritten as PostgreSQL does it, or truncated).
    pub columns: Option<Vec<FromOld>>,
    /// The rows moved to new storage keys (ADD PRIMARY KEY): a snapshot
    /// older than the change finds them under their old keys only, so its
    /// primary-key lookups scan the table instead.
    #[serde(default)]
    pub rekey: bool,
}

/// Where a column's value comes from in a row of an older layout.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FromOld {
    /// The value at this position of the old row.
    Column(usize),
    /// A constant (an added column's default, evaluated once by the
    /// ALTER), as the storage codec encodes a one-value row.
    Value(Vec<u8>),
}

/// How the rows a snapshot reads from storage become rows of a table's
/// current layout (see [`Table::old_layout`]).
pub struct OldLayout {
    /// One column mapping per layout change after the snapshot, in order;
    /// None when the rows stored before the snapshot are not seen.
    steps: Option<Vec<Vec<OldSource>>>,
}

enum OldSource {
    Column(usize),
    Value(crate::types::Value),
}

impl OldLayout {
    /// Converts rows read from storage at the snapshot.
    pub fn convert(
        &self,
        rows: Vec<(Vec<u8>, crate::storage::Row)>,
    ) -> Vec<(Vec<u8>, crate::storage::Row)> {
        match &self.steps {
            None => Vec::new(),
            Some(_) => rows
                .into_iter()
                .filter_map(|(k, r)| self.convert_row(r).map(|r| (k, r)))
                .collect(),
        }
    }

    /// Converts one row read from storage at the snapshot: None when it
    /// is not seen.
    pub fn convert_row(&self, row: crate::storage::Row) -> Option<crate::storage::Row> {
        let steps = self.steps.as_ref()?;
        let mut row = row;
        for step in steps {
            let new: Vec<crate::types::Value> = step
                .iter()
                .map(|s| match s {
                    OldSource::Column(i) => {
                        row.get(*i).cloned().unwrap_or(crate::types::Value::Null)
                    }
                    OldSource::Value(v) => v.clone(),
                })
                .collect();
            row = Arc::from(new);
        }
        Some(row)
    }
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
    /// Commit timestamp of the transaction that built it ([`PENDING`]
    /// until that commits; 0 in a catalog written before it was kept): a
    /// snapshot older than that finds none of its entries, so lookups
    /// under it scan the table instead (PostgreSQL's planner skips such
    /// an index for old snapshots, indcheckxmin).
    #[serde(default)]
    pub built_at: u64,
}

/// The timestamp of a change not committed yet (an index's `built_at`).
pub const PENDING: u64 = u64::MAX;

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

    /// How rows read from storage at `snapshot` become rows of this
    /// table's layout; None when they already are (no layout change
    /// committed after the snapshot).
    pub fn old_layout(&self, snapshot: u64) -> crate::error::Result<Option<OldLayout>> {
        let mut steps = Vec::new();
        for r in self.relayouts.iter().filter(|r| r.at > snapshot) {
            let Some(cols) = &r.columns else {
                return Ok(Some(OldLayout { steps: None }));
            };
            let mut step = Vec::with_capacity(cols.len());
            for c in cols {
                step.push(match c {
                    FromOld::Column(i) => OldSource::Column(*i),
                    FromOld::Value(b) => OldSource::Value(
                        crate::storage::codec::decode_row(b)?
                            .and_then(|v| v.into_iter().next())
                            .unwrap_or(crate::types::Value::Null),
                    ),
                });
            }
            steps.push(step);
        }
        Ok((!steps.is_empty()).then_some(OldLayout { steps: Some(steps) }))
    }

    /// Whether a lookup by the primary key (`index` None) or by the
    /// index at position `index` cannot serve a statement reading at
    /// `snapshot`: the keys moved, or the index was built, after it.
    pub fn lookup_is_newer(&self, index: Option<usize>, snapshot: u64) -> bool {
        match index {
            None => self.relayouts.iter().any(|r| r.rekey && r.at > snapshot),
            Some(i) => self.indexes.get(i).is_some_and(|x| x.built_at > snapshot),
        }
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

/// A user enum type (CREATE TYPE ... AS ENUM) and its array type.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnumType {
    pub oid: u32,
    /// Its array type's OID (`_name`), as pg_type.typarray shows it.
    pub array_oid: u32,
    pub schema: String,
    pub name: String,
    /// Labels with their sort order (pg_enum.enumsortorder), in
    /// declaration order; the order of a label never changes.
    pub labels: Vec<EnumLabel>,
    /// The OID of each label's pg_enum row, in `labels` order.
    pub label_oids: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnumLabel {
    pub label: String,
    pub order: f32,
    /// Added by ALTER TYPE ... ADD VALUE in a transaction that has not
    /// committed: not usable until then (PostgreSQL's 55P04). Cleared
    /// when the catalog is published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

impl EnumType {
    /// enum_in: the value of `label`, or PostgreSQL's 22P02.
    pub fn input(&self, label: &str) -> crate::error::Result<crate::types::Value> {
        self.labels
            .iter()
            .find(|l| l.label == label)
            .map(|l| {
                if l.pending {
                    return Err(crate::error::SqlError::new(
                        "55P04",
                        format!(
                            "unsafe use of new value \"{label}\" of enum type {}",
                            self.name
                        ),
                    )
                    .with_hint("New enum values must be committed before they can be used."));
                }
                Ok(crate::types::Value::Enum(l.order, l.label.as_str().into()))
            })
            .unwrap_or_else(|| {
                Err(crate::error::SqlError::new(
                    crate::error::code::INVALID_TEXT_REPRESENTATION,
                    format!("invalid input value for enum {}: \"{label}\"", self.name),
                ))
            })
    }
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    /// Tables by (schema, name).
    #[serde(with = "tables_serde")]
    pub tables: BTreeMap<(String, String), Arc<Table>>,
    #[serde(default)]
    pub sequences: Vec<Arc<Sequence>>,
    /// User enum types.
    #[serde(default)]
    pub enums: Vec<Arc<EnumType>>,
    pub next_oid: u32,
}

impl Catalog {
    pub fn sequence(&self, schema: &str, name: &str) -> Option<&Arc<Sequence>> {
        self.sequences
            .iter()
            .find(|s| s.schema == schema && s.name == name)
    }

    /// The enum type called `name` in `schema`.
    pub fn enum_type(&self, schema: &str, name: &str) -> Option<&Arc<EnumType>> {
        self.enums
            .iter()
            .find(|e| e.schema == schema && e.name == name)
    }

    /// The enum type whose OID is `oid`.
    pub fn enum_by_oid(&self, oid: u32) -> Option<&Arc<EnumType>> {
        self.enums.iter().find(|e| e.oid == oid)
    }

    /// Whether a type (built-in or user) whose OID is `oid` exists.
    pub fn type_from_oid(&self, oid: u32) -> Option<crate::types::Type> {
        crate::types::Type::from_oid(oid)
            .or_else(|| {
                self.enum_by_oid(oid)
                    .map(|e| crate::types::Type::Enum(e.oid))
            })
            .or_else(|| crate::types::array_elem_of_oid(oid).map(|_| crate::types::Type::Array))
    }

    /// A type's name as PostgreSQL's messages give it (format_type_be):
    /// an enum's own name, else the built-in type's.
    pub fn type_name(&self, ty: crate::types::Type) -> String {
        match ty {
            crate::types::Type::Enum(oid) => match self.enum_by_oid(oid) {
                Some(e) if e.schema == "public" => e.name.clone(),
                Some(e) => format!("{}.{}", e.schema, e.name),
                None => format!("type {oid}"),
            },
            t => t.name().to_string(),
        }
    }

    /// The text input function of `ty`: enum labels come from this
    /// catalog, every other type parses on its own.
    pub fn parse_text(&self, s: &str, ty: ColType) -> crate::error::Result<crate::types::Value> {
        match ty.ty {
            crate::types::Type::Enum(oid) => self.enum_def(oid)?.input(s),
            _ => crate::types::parse_text(s, ty),
        }
    }

    /// The binary input function of `ty` (an enum's is its label's bytes).
    pub fn decode_binary(
        &self,
        b: &[u8],
        ty: ColType,
    ) -> crate::error::Result<crate::types::Value> {
        match ty.ty {
            crate::types::Type::Enum(oid) => {
                let s = std::str::from_utf8(b).map_err(|_| {
                    crate::error::SqlError::new(
                        "22021",
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })?;
                self.enum_def(oid)?.input(s)
            }
            _ => crate::types::decode_binary(b, ty),
        }
    }

    fn enum_def(&self, oid: u32) -> crate::error::Result<&Arc<EnumType>> {
        self.enum_by_oid(oid).ok_or_else(|| {
            crate::error::SqlError::new(
                crate::error::code::UNDEFINED_OBJECT,
                format!("cache lookup failed for type {oid}"),
            )
        })
    }

    pub fn new() -> Catalog {
        Catalog {
            tables: BTreeMap::new(),
            sequences: Vec::new(),
            enums: Vec::new(),
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

    /// This catalog as published by the commit at `ts`: the layout
    /// changes its transaction made (timestamp 0) get `ts`; those no
    /// snapshot can still be older than (below `horizon`) are dropped.
    pub fn stamped(self: &Arc<Catalog>, ts: u64, horizon: u64) -> Arc<Catalog> {
        let pending = |t: &Table| {
            t.relayouts.iter().any(|r| r.at == 0 || r.at <= horizon)
                || t.indexes.iter().any(|i| i.built_at == PENDING)
        };
        let enum_pending = |e: &EnumType| e.labels.iter().any(|l| l.pending);
        if !self.tables.values().any(|t| pending(t)) && !self.enums.iter().any(|e| enum_pending(e))
        {
            return self.clone();
        }
        let mut cat = (**self).clone();
        for e in cat.enums.iter_mut() {
            if enum_pending(e) {
                for l in &mut Arc::make_mut(e).labels {
                    l.pending = false;
                }
            }
        }
        for t in cat.tables.values_mut() {
            if pending(t) {
                let t = Arc::make_mut(t);
                t.relayouts.retain(|r| r.at == 0 || r.at > horizon);
                for r in &mut t.relayouts {
                    if r.at == 0 {
                        r.at = ts;
                    }
                }
                for i in &mut t.indexes {
                    if i.built_at == PENDING {
                        i.built_at = ts;
                    }
                }
            }
        }
        Arc::new(cat)
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
