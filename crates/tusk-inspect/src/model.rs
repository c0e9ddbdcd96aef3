//! The model: what a database holds, by schema. Every definition text is
//! the server's own rendering (`pg_get_indexdef`, `pg_get_constraintdef`,
//! `pg_get_viewdef`, `pg_get_triggerdef`, `format_type`), so it reads back
//! exactly as PostgreSQL would print it.

use serde::{Deserialize, Serialize};

/// A database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    /// The server's `server_version`.
    pub server_version: String,
    /// The database's name.
    pub database: String,
    /// Its schemas (system schemas and those of extensions left out), by name.
    pub schemas: Vec<Schema>,
    /// Installed extensions, by name.
    pub extensions: Vec<Extension>,
}

/// A schema and what it holds (objects that belong to extensions left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// `COMMENT ON SCHEMA`.
    pub comment: Option<String>,
    /// Tables (ordinary, partitioned, partitions, foreign), by name.
    pub tables: Vec<Table>,
    /// Views and materialized views, by name.
    pub views: Vec<View>,
    /// Sequences, by name.
    pub sequences: Vec<Sequence>,
    /// Enum types, by name.
    pub enums: Vec<Enum>,
    /// Composite types, by name.
    pub composites: Vec<Composite>,
    /// Domains, by name.
    pub domains: Vec<Domain>,
    /// Functions and procedures (not aggregates), by name and arguments.
    pub functions: Vec<Function>,
}

/// A function or a procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Its arguments, as they identify it (`a integer, b text`).
    pub arguments: String,
    /// A procedure (`CREATE PROCEDURE`), not a function.
    pub procedure: bool,
    /// `CREATE OR REPLACE FUNCTION ..` as the server prints it (`pg_get_functiondef`).
    pub definition: String,
    /// `COMMENT ON FUNCTION`.
    pub comment: Option<String>,
}

/// What kind of table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// An ordinary table.
    Ordinary,
    /// A partitioned table (its rows live in its partitions).
    Partitioned,
    /// A foreign table.
    Foreign,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Ordinary, partitioned or foreign.
    pub kind: TableKind,
    /// Its owner.
    pub owner: String,
    /// `COMMENT ON TABLE`.
    pub comment: Option<String>,
    /// `UNLOGGED`.
    pub unlogged: bool,
    /// `PARTITION BY ..` of a partitioned table (`RANGE (at)`).
    pub partition_key: Option<String>,
    /// The parent of a partition (`public.events`).
    pub partition_of: Option<String>,
    /// A partition's bound (`FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')`).
    pub partition_bound: Option<String>,
    /// `ENABLE ROW LEVEL SECURITY`.
    pub row_security: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    pub force_row_security: bool,
    /// Columns, by position.
    pub columns: Vec<Column>,
    /// Indexes, by name.
    pub indexes: Vec<Index>,
    /// Constraints, by name.
    pub constraints: Vec<Constraint>,
    /// Triggers (not the internal ones of foreign keys), by name.
    pub triggers: Vec<Trigger>,
    /// Row-level security policies, by name.
    pub policies: Vec<Policy>,
}

/// A column (of a table, a view or a composite type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its position (1-based; dropped columns leave gaps).
    pub position: i32,
    /// Its type with modifiers (`character varying(200)`, `numeric(10,2)`, `integer[]`).
    pub data_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `DEFAULT` expression.
    pub default: Option<String>,
    /// `GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY`: `always` or `by default`.
    pub identity: Option<String>,
    /// `GENERATED ALWAYS AS (expr) STORED`: the expression.
    pub generated: Option<String>,
    /// A collation other than its type's default (`pg_catalog."C"`).
    pub collation: Option<String>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// `CREATE [UNIQUE] INDEX ..` as the server prints it.
    pub definition: String,
    /// Unique.
    pub unique: bool,
    /// The primary key's index.
    pub primary: bool,
    /// Usable (false after a failed `CREATE INDEX CONCURRENTLY`).
    pub valid: bool,
    /// The access method (`btree`, `gin`, `gist`, ..).
    pub method: String,
    /// A partial index's `WHERE`.
    pub predicate: Option<String>,
    /// Key columns or expressions, in order.
    pub keys: Vec<String>,
    /// `INCLUDE` columns.
    pub include: Vec<String>,
}

/// What kind of constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// `PRIMARY KEY`.
    PrimaryKey,
    /// `FOREIGN KEY`.
    ForeignKey,
    /// `UNIQUE`.
    Unique,
    /// `CHECK`.
    Check,
    /// `EXCLUDE`.
    Exclusion,
    /// A constraint trigger or another kind.
    Other,
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: ConstraintKind,
    /// Its definition as the server prints it (`FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE`).
    pub definition: String,
    /// The constrained columns.
    pub columns: Vec<String>,
    /// `DEFERRABLE`.
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    pub initially_deferred: bool,
    /// False while `NOT VALID`.
    pub validated: bool,
    /// A foreign key's referenced table, columns and actions.
    pub references: Option<ForeignKey>,
}

/// What a foreign key references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The referenced table (`public.users`).
    pub table: String,
    /// The referenced columns.
    pub columns: Vec<String>,
    /// `ON UPDATE` action.
    pub on_update: String,
    /// `ON DELETE` action.
    pub on_delete: String,
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Its name.
    pub name: String,
    /// `CREATE TRIGGER ..` as the server prints it.
    pub definition: String,
    /// Not `DISABLE`d.
    pub enabled: bool,
}

/// A row-level security policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// Permissive (false: restrictive).
    pub permissive: bool,
    /// The roles (`public` for all).
    pub roles: Vec<String>,
    /// `USING (..)`.
    pub using_expr: Option<String>,
    /// `WITH CHECK (..)`.
    pub check_expr: Option<String>,
}

/// A view or a materialized view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// Its name.
    pub name: String,
    /// A materialized view.
    pub materialized: bool,
    /// Its query, as the server prints it.
    pub definition: String,
    /// Its owner.
    pub owner: String,
    /// `COMMENT ON VIEW`.
    pub comment: Option<String>,
    /// Its columns.
    pub columns: Vec<Column>,
    /// A materialized view's indexes.
    pub indexes: Vec<Index>,
}

/// A sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Its name.
    pub name: String,
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    /// `START`.
    pub start: i64,
    /// `INCREMENT`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    pub cycle: bool,
    /// The column it belongs to (serial or identity: `public.t.id`).
    pub owned_by: Option<String>,
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enum {
    /// Its name.
    pub name: String,
    /// Its labels, in order.
    pub labels: Vec<String>,
    /// `COMMENT ON TYPE`.
    pub comment: Option<String>,
}

/// A composite type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composite {
    /// Its name.
    pub name: String,
    /// Its attributes.
    pub attributes: Vec<Column>,
    /// `COMMENT ON TYPE`.
    pub comment: Option<String>,
}

/// A domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// Its name.
    pub name: String,
    /// Its base type with modifiers.
    pub base_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `DEFAULT`.
    pub default: Option<String>,
    /// Its `CHECK` constraints.
    pub checks: Vec<DomainCheck>,
    /// `COMMENT ON DOMAIN`.
    pub comment: Option<String>,
}

/// A domain's check constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainCheck {
    /// Its name.
    pub name: String,
    /// `CHECK (..)` as the server prints it.
    pub definition: String,
}

/// An installed extension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    /// Its name.
    pub name: String,
    /// Its installed version.
    pub version: String,
    /// The schema of its objects.
    pub schema: String,
}

impl Database {
    /// The schema called `name`.
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.name == name)
    }
}

impl Schema {
    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The view or materialized view called `name`.
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|t| t.name == name)
    }
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index called `name`.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|c| c.name == name)
    }

    /// The constraint called `name`.
    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }
}
