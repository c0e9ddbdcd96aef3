//! The fields of a server `ErrorResponse` or `NoticeResponse`.

use super::SqlState;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::ErrorFields;
use std::fmt;

/// How severe a server message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// ERROR: the statement failed.
    Error,
    /// FATAL: the session ends.
    Fatal,
    /// PANIC: the server restarts.
    Panic,
    /// WARNING (notices).
    Warning,
    /// NOTICE (notices).
    Notice,
    /// DEBUG (notices).
    Debug,
    /// INFO (notices).
    Info,
    /// LOG (notices).
    Log,
}

impl Severity {
    fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "ERROR" => Severity::Error,
            "FATAL" => Severity::Fatal,
            "PANIC" => Severity::Panic,
            "WARNING" => Severity::Warning,
            "NOTICE" => Severity::Notice,
            "DEBUG" => Severity::Debug,
            "INFO" => Severity::Info,
            "LOG" => Severity::Log,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Log => "LOG",
        })
    }
}

/// Where in the query (or in an internal query) an error happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorPosition {
    /// A 1-based character position in the original query.
    Original(u32),
    /// A position in an internally generated query.
    Internal {
        /// 1-based character position.
        position: u32,
        /// The internal query's text.
        query: String,
    },
}

/// Every field of a server error or notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// Severity (non-localized).
    pub severity: Severity,
    /// The SQLSTATE code.
    pub code: SqlState,
    /// The primary message.
    pub message: String,
    /// Optional detail.
    pub detail: Option<String>,
    /// Optional hint: what to do about it.
    pub hint: Option<String>,
    /// Where in the query the error is.
    pub position: Option<ErrorPosition>,
    /// Context: a call stack of PL functions or the like.
    pub where_: Option<String>,
    /// Schema name, when the error concerns one object.
    pub schema: Option<String>,
    /// Table name.
    pub table: Option<String>,
    /// Column name.
    pub column: Option<String>,
    /// Data type name.
    pub datatype: Option<String>,
    /// Constraint name.
    pub constraint: Option<String>,
    /// Source file in the server.
    pub file: Option<String>,
    /// Source line in the server.
    pub line: Option<u32>,
    /// Source routine in the server.
    pub routine: Option<String>,
}

impl DbError {
    pub(crate) fn parse(fields: &mut ErrorFields<'_>) -> std::io::Result<DbError> {
        let mut severity = None;
        let mut code = None;
        let mut message = None;
        let mut e = DbError {
            severity: Severity::Error,
            code: SqlState::INTERNAL_ERROR,
            message: String::new(),
            detail: None,
            hint: None,
            position: None,
            where_: None,
            schema: None,
            table: None,
            column: None,
            datatype: None,
            constraint: None,
            file: None,
            line: None,
            routine: None,
        };
        let mut normal_position = None;
        let mut internal_position = None;
        let mut internal_query = None;
        while let Some(field) = fields.next()? {
            let v = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                b'V' => severity = Severity::parse(&v),
                b'S' if severity.is_none() => severity = Severity::parse(&v),
                b'C' => code = Some(SqlState::from_code(&v)),
                b'M' => message = Some(v),
                b'D' => e.detail = Some(v),
                b'H' => e.hint = Some(v),
                b'P' => normal_position = v.parse::<u32>().ok(),
                b'p' => internal_position = v.parse::<u32>().ok(),
                b'q' => internal_query = Some(v),
                b'W' => e.where_ = Some(v),
                b's' => e.schema = Some(v),
                b't' => e.table = Some(v),
                b'c' => e.column = Some(v),
                b'd' => e.datatype = Some(v),
                b'n' => e.constraint = Some(v),
                b'F' => e.file = Some(v),
                b'L' => e.line = v.parse().ok(),
                b'R' => e.routine = Some(v),
                _ => {}
            }
        }
        e.severity = severity.unwrap_or(Severity::Error);
        if let Some(c) = code {
            e.code = c;
        }
        e.message = message.unwrap_or_default();
        e.position = match (normal_position, internal_position, internal_query) {
            (Some(p), _, _) => Some(ErrorPosition::Original(p)),
            (None, Some(position), Some(query)) => {
                Some(ErrorPosition::Internal { position, query })
            }
            _ => None,
        };
        Ok(e)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.severity,
            self.code.code(),
            self.message
        )?;
        if let Some(d) = &self.detail {
            write!(f, "\nDETAIL: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\nHINT: {h}")?;
        }
        match &self.position {
            Some(ErrorPosition::Original(p)) => write!(f, "\nPOSITION: {p}")?,
            Some(ErrorPosition::Internal { position, query }) => {
                write!(f, "\nPOSITION: {position} in internal query: {query}")?
            }
            None => {}
        }
        if let Some(w) = &self.where_ {
            write!(f, "\nWHERE: {w}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}
