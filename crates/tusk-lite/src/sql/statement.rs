//! The statements the session executes.

use crate::catalog::Column;
use crate::sql::plan::{Delete, Insert, Query, Update};
use crate::txn::Isolation;

#[derive(Clone, Debug)]
pub struct CreateTable {
    pub schema: String,
    pub name: String,
    pub if_not_exists: bool,
    pub columns: Vec<Column>,
    pub primary_key: Option<Vec<usize>>,
    pub pkey_name: Option<String>,
    pub checks: Vec<crate::catalog::Check>,
    /// Sequences of serial columns, owned by the new table.
    pub sequences: Vec<crate::catalog::Sequence>,
    pub uniques: Vec<RawUnique>,
    pub foreign_keys: Vec<RawFk>,
    /// Storage parameters (`fillfactor=100`), for pg_class.reloptions.
    pub reloptions: Vec<String>,
}

/// A UNIQUE constraint as written: its name (if given) and column names.
#[derive(Clone, Debug)]
pub struct RawUnique {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// A FOREIGN KEY constraint as written, resolved against the catalog when
/// it runs (it may reference the table being created).
#[derive(Clone, Debug)]
pub struct RawFk {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_schema: String,
    pub ref_table: String,
    /// Empty: the referenced table's primary key.
    pub ref_columns: Vec<String>,
    pub on_delete: crate::catalog::FkAction,
    pub on_update: crate::catalog::FkAction,
}

/// CREATE INDEX.
#[derive(Clone, Debug)]
pub struct CreateIndex {
    pub name: Option<String>,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    /// Per column, indoption bits (1: DESC, 2: NULLS FIRST).
    pub options: Vec<i16>,
    pub unique: bool,
    pub if_not_exists: bool,
}

#[derive(Clone, Debug)]
pub enum AlterCmd {
    AddColumn(Column),
    DropColumn {
        name: String,
        missing_ok: bool,
    },
    AddPrimaryKey {
        columns: Vec<String>,
        name: Option<String>,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    AddCheck {
        name: Option<String>,
        expr: String,
    },
    AddUnique(RawUnique),
    AddForeignKey(RawFk),
    DropConstraint {
        name: String,
        missing_ok: bool,
    },
    /// ALTER COLUMN name TYPE ty [USING expr] (the expression as `SELECT <expr>`).
    AlterColumnType {
        name: String,
        ty: crate::types::ColType,
        using: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct Copy {
    pub table: std::sync::Arc<crate::catalog::Table>,
    /// Table columns in the order the data has them.
    pub columns: Vec<usize>,
    pub from: bool,
    pub format: crate::copy::CopyFormat,
}

/// COPY (query) TO STDOUT.
#[derive(Clone, Debug)]
pub struct CopyQuery {
    pub query: Box<crate::sql::plan::Query>,
    pub format: crate::copy::CopyFormat,
}

/// ALTER TYPE schema.name ADD VALUE [IF NOT EXISTS] label
/// [BEFORE | AFTER neighbor].
#[derive(Clone, Debug)]
pub struct EnumAdd {
    pub schema: String,
    pub name: String,
    pub label: String,
    /// The neighbor label and whether the new one goes after it.
    pub neighbor: Option<(String, bool)>,
    pub if_not_exists: bool,
}

#[derive(Clone, Debug)]
pub enum Statement {
    Copy(Box<Copy>),
    CopyQuery(Box<CopyQuery>),
    /// DECLARE name CURSOR ... FOR query.
    DeclareCursor(Box<DeclareCursor>),
    /// FETCH or MOVE.
    Fetch(Fetch),
    /// CLOSE name, or CLOSE ALL (None).
    CloseCursor(Option<String>),
    CreateSequence {
        seq: crate::catalog::Sequence,
        if_not_exists: bool,
    },
    /// CREATE TYPE name AS ENUM (labels).
    CreateEnum {
        schema: String,
        name: String,
        labels: Vec<String>,
    },
    /// ALTER TYPE name ADD VALUE.
    AlterEnumAdd(EnumAdd),
    /// DROP TYPE (enum types).
    DropType {
        names: Vec<(String, String)>,
        if_exists: bool,
        cascade: bool,
    },
    DropSequence {
        names: Vec<(String, String)>,
        if_exists: bool,
    },
    AlterTable {
        schema: String,
        name: String,
        missing_ok: bool,
        cmds: Vec<AlterCmd>,
    },
    Query(Box<Query>),
    Insert(Box<Insert>),
    Update(Box<Update>),
    Delete(Box<Delete>),
    CreateTable(CreateTable),
    DropTable {
        names: Vec<(String, String)>,
        if_exists: bool,
        /// CASCADE: foreign keys of other tables referencing these go too.
        cascade: bool,
    },
    CreateIndex(CreateIndex),
    DropIndex {
        names: Vec<(String, String)>,
        if_exists: bool,
    },
    Truncate(Vec<(String, String)>),
    Begin {
        isolation: Option<Isolation>,
        read_only: Option<bool>,
    },
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    SetTransaction {
        isolation: Option<Isolation>,
        read_only: Option<bool>,
    },
    Set {
        name: String,
        value: Option<String>,
        local: bool,
    },
    Show(String),
    Reset(String),
    ResetAll,
    /// Maintenance commands: VACUUM and ANALYZE are accepted and harmless
    /// (tusk-lite has nothing to vacuum or analyze yet); CHECKPOINT writes
    /// the durable store's memory to its files and compacts them. The tag
    /// is what PostgreSQL answers.
    Maintenance(&'static str),
    /// LISTEN, UNLISTEN, UNLISTEN *.
    Listen(crate::notify::ListenOp),
    /// DISCARD ALL, PLANS, SEQUENCES or TEMP (the word).
    Discard(&'static str),
    /// NOTIFY channel [, payload].
    Notify {
        channel: String,
        payload: String,
    },
}

/// DECLARE name [BINARY] [NO] SCROLL CURSOR [WITH[OUT] HOLD] FOR query.
#[derive(Clone, Debug)]
pub struct DeclareCursor {
    pub name: String,
    pub query: Box<crate::sql::plan::Query>,
    pub hold: bool,
    pub binary: bool,
    /// SCROLL (Some(true)), NO SCROLL (Some(false)) or neither.
    pub scroll: Option<bool>,
}

/// FETCH or MOVE: which rows, from which cursor.
#[derive(Clone, Debug)]
pub struct Fetch {
    pub name: String,
    pub how: FetchHow,
    pub is_move: bool,
}

/// A FETCH's direction and count (ALL is i64::MAX), as PostgreSQL's
/// grammar reduces NEXT, PRIOR, FIRST, LAST and the rest to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchHow {
    Forward(i64),
    Backward(i64),
    Absolute(i64),
    Relative(i64),
}
