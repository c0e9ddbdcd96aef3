//! Errors as PostgreSQL reports them: a SQLSTATE, a message, and the
//! optional detail, hint and cursor position of an ErrorResponse.

use std::fmt;

/// SQLSTATE codes tusk-lite raises (a subset of PostgreSQL's errcodes.txt).
pub mod code {
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const SYNTAX_ERROR: &str = "42601";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const DUPLICATE_COLUMN: &str = "42701";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const INVALID_TABLE_DEFINITION: &str = "42P16";
    pub const INDETERMINATE_DATATYPE: &str = "42P18";
    pub const GROUPING_ERROR: &str = "42803";
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    pub const WRONG_OBJECT_TYPE: &str = "42809";
    pub const CANNOT_COERCE: &str = "42846";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    pub const NOT_NULL_VIOLATION: &str = "23502";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const STRING_DATA_RIGHT_TRUNCATION: &str = "22001";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const INVALID_REGULAR_EXPRESSION: &str = "2201B";
    pub const CARDINALITY_VIOLATION: &str = "21000";
    pub const INVALID_BINARY_REPRESENTATION: &str = "22P03";
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const DEADLOCK_DETECTED: &str = "40P01";
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    /// password authentication failed (always FATAL).
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
    pub const INVALID_CURSOR_NAME: &str = "34000";
    pub const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
    pub const UNDEFINED_PARAMETER: &str = "42704";
    pub const CANT_CHANGE_RUNTIME_PARAM: &str = "55P02";
    pub const QUERY_CANCELED: &str = "57014";
    /// terminating connection due to administrator command (always FATAL).
    pub const ADMIN_SHUTDOWN: &str = "57P01";
    pub const LOCK_NOT_AVAILABLE: &str = "55P03";
    pub const INTERNAL_ERROR: &str = "XX000";
    pub const IO_ERROR: &str = "58030";
    /// The disk is full (a storage write failed for want of space).
    pub const DISK_FULL: &str = "53100";
    /// The client's connection broke (a socket read or write failed): the
    /// session ends without an answer. Storage errors are [`IO_ERROR`]
    /// and answered like any other error.
    pub const CONNECTION_FAILURE: &str = "08006";
    pub const INVALID_SAVEPOINT: &str = "3B001";
    pub const INVALID_TRANSACTION_STATE: &str = "25000";
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
}

/// An error as sent in an ErrorResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<Box<str>>,
    /// 1-based character position in the statement, as PostgreSQL reports it.
    pub position: Option<u32>,
    /// Where the error happened (the CONTEXT field), e.g. a COPY's
    /// `COPY t, line 3, column id: "x"`.
    /// (This and the hint are boxed strs: the error stays under clippy's
    /// result_large_err size.)
    pub context: Option<Box<str>>,
    /// FATAL errors end the session.
    pub fatal: bool,
    /// The object a constraint violation is about, sent as the schema,
    /// table, column and constraint fields (drivers expose them).
    pub object: Option<Box<ErrorObject>>,
}

/// The schema, table, column and constraint fields of an ErrorResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorObject {
    pub schema: String,
    pub table: String,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl SqlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> SqlError {
        SqlError {
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            context: None,
            fatal: false,
            object: None,
        }
    }

    /// Says where the error happened (the CONTEXT field).
    pub fn with_context(mut self, context: impl Into<String>) -> SqlError {
        self.context = Some(context.into().into_boxed_str());
        self
    }

    /// Names the table (and constraint or column) the error is about.
    pub fn on_table(
        mut self,
        schema: &str,
        table: &str,
        column: Option<&str>,
        constraint: Option<&str>,
    ) -> SqlError {
        self.object = Some(Box::new(ErrorObject {
            schema: schema.to_string(),
            table: table.to_string(),
            column: column.map(str::to_string),
            constraint: constraint.map(str::to_string),
        }));
        self
    }

    /// The construct is not implemented: SQLSTATE 0A000 naming it.
    pub fn unsupported(what: impl fmt::Display) -> SqlError {
        SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("{what} is not supported by tusk-lite"),
        )
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> SqlError {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> SqlError {
        self.hint = Some(hint.into().into_boxed_str());
        self
    }

    pub fn internal(message: impl Into<String>) -> SqlError {
        SqlError::new(code::INTERNAL_ERROR, message)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)
    }
}

impl std::error::Error for SqlError {}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;
