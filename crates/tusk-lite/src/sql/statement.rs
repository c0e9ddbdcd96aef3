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
}

#[derive(Clone, Debug)]
pub struct Copy {
    pub table: std::sync::Arc<crate::catalog::Table>,
    /// Table columns in the order the data has them.
    pub columns: Vec<usize>,
    pub from: bool,
    pub format: crate::copy::CopyFormat,
}

#[derive(Clone, Debug)]
pub enum Statement {
    Copy(Box<Copy>),
    CreateSequence {
        seq: crate::catalog::Sequence,
        if_not_exists: bool,
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
    /// Accepted and harmless maintenance commands (VACUUM, ANALYZE,
    /// CHECKPOINT): tusk-lite has nothing to vacuum or analyze yet; the
    /// tag is what PostgreSQL answers.
    Maintenance(&'static str),
}
