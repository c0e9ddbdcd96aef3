//! Exceptions: one hierarchy, chosen from the driver's error kind (itself
//! the SQLSTATE policy of `tusk::error`) and the generated `SqlState`
//! constants, never from string literals.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;
use tusk::error::ErrorPosition;
use tusk::{ErrorKind, SqlState};

create_exception!(tusk, PgError, PyException, "Every error tusk raises.");
create_exception!(
    tusk,
    PgConnectionError,
    PgError,
    "The connection failed or was lost (class 08, 57P01-03)."
);
create_exception!(
    tusk,
    PgPoolExhausted,
    PgConnectionError,
    "The pool had no connection to give within acquire_timeout."
);
create_exception!(
    tusk,
    PgTimeout,
    PgError,
    "A timeout elapsed; the query was cancelled on the server."
);
create_exception!(
    tusk,
    PgCanceled,
    PgError,
    "The query was cancelled (57014)."
);
create_exception!(
    tusk,
    PgIntegrityError,
    PgError,
    "An integrity constraint was violated (class 23)."
);
create_exception!(
    tusk,
    UniqueViolation,
    PgIntegrityError,
    "23505 unique_violation."
);
create_exception!(
    tusk,
    ForeignKeyViolation,
    PgIntegrityError,
    "23503 foreign_key_violation."
);
create_exception!(
    tusk,
    NotNullViolation,
    PgIntegrityError,
    "23502 not_null_violation."
);
create_exception!(
    tusk,
    CheckViolation,
    PgIntegrityError,
    "23514 check_violation."
);
create_exception!(
    tusk,
    PgDataError,
    PgError,
    "Bad data: out of range, bad format, division by zero (class 22)."
);
create_exception!(
    tusk,
    PgTransactionRollback,
    PgError,
    "The transaction was rolled back by the server: retry it (class 40)."
);
create_exception!(
    tusk,
    PgSerializationError,
    PgTransactionRollback,
    "40001 serialization_failure."
);
create_exception!(
    tusk,
    PgDeadlockError,
    PgTransactionRollback,
    "40P01 deadlock_detected."
);
create_exception!(
    tusk,
    PgSyntaxError,
    PgError,
    "The SQL does not parse or names something that does not exist (class 42)."
);
create_exception!(
    tusk,
    PgPermissionError,
    PgError,
    "Permission denied or authentication failed (42501, class 28)."
);
create_exception!(tusk, PgInterfaceError, PgError, "Misuse found before anything was sent: wrong parameter count, a value that cannot be encoded, a bad setting.");
create_exception!(
    tusk,
    PgRowCountError,
    PgError,
    "A query returned another number of rows than asked for (.one(), .scalar())."
);

/// The attributes every `PgError` has (None when not reported).
pub const FIELDS: [&str; 14] = [
    "sqlstate",
    "sqlstate_name",
    "severity",
    "message",
    "detail",
    "hint",
    "position",
    "where",
    "schema_name",
    "table_name",
    "column_name",
    "datatype_name",
    "constraint_name",
    "copy_line",
];

/// Registers the exception classes on the module, with every field
/// defaulting to None at class level (so `e.hint` never raises).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes: [(&str, Bound<'_, PyType>); 18] = [
        ("PgError", py.get_type::<PgError>()),
        ("PgConnectionError", py.get_type::<PgConnectionError>()),
        ("PgPoolExhausted", py.get_type::<PgPoolExhausted>()),
        ("PgTimeout", py.get_type::<PgTimeout>()),
        ("PgCanceled", py.get_type::<PgCanceled>()),
        ("PgIntegrityError", py.get_type::<PgIntegrityError>()),
        ("UniqueViolation", py.get_type::<UniqueViolation>()),
        ("ForeignKeyViolation", py.get_type::<ForeignKeyViolation>()),
        ("NotNullViolation", py.get_type::<NotNullViolation>()),
        ("CheckViolation", py.get_type::<CheckViolation>()),
        ("PgDataError", py.get_type::<PgDataError>()),
        (
            "PgTransactionRollback",
            py.get_type::<PgTransactionRollback>(),
        ),
        (
            "PgSerializationError",
            py.get_type::<PgSerializationError>(),
        ),
        ("PgDeadlockError", py.get_type::<PgDeadlockError>()),
        ("PgSyntaxError", py.get_type::<PgSyntaxError>()),
        ("PgPermissionError", py.get_type::<PgPermissionError>()),
        ("PgInterfaceError", py.get_type::<PgInterfaceError>()),
        ("PgRowCountError", py.get_type::<PgRowCountError>()),
    ];
    let base = py.get_type::<PgError>();
    for f in FIELDS {
        base.setattr(f, py.None())?;
    }
    for (name, cls) in classes {
        m.add(name, cls)?;
    }
    Ok(())
}

/// The class for an error: specific SQLSTATEs first, then the kind.
fn class_of<'py>(py: Python<'py>, e: &tusk::Error) -> Bound<'py, PyType> {
    if let Some(code) = e.code() {
        let specific = match code {
            SqlState::UNIQUE_VIOLATION => Some(py.get_type::<UniqueViolation>()),
            SqlState::FOREIGN_KEY_VIOLATION => Some(py.get_type::<ForeignKeyViolation>()),
            SqlState::NOT_NULL_VIOLATION => Some(py.get_type::<NotNullViolation>()),
            SqlState::CHECK_VIOLATION => Some(py.get_type::<CheckViolation>()),
            SqlState::SERIALIZATION_FAILURE => Some(py.get_type::<PgSerializationError>()),
            SqlState::DEADLOCK_DETECTED => Some(py.get_type::<PgDeadlockError>()),
            _ => None,
        };
        // A timeout the driver caused carries the server's 57014 too: the
        // kind (Timeout) wins over the code there.
        if let Some(c) = specific {
            if e.kind() != ErrorKind::Timeout {
                return c;
            }
        }
        if code.is_in_class(SqlState::TRANSACTION_ROLLBACK) && e.kind() != ErrorKind::Timeout {
            return py.get_type::<PgTransactionRollback>();
        }
    }
    match e.kind() {
        ErrorKind::Connection | ErrorKind::Closed => py.get_type::<PgConnectionError>(),
        ErrorKind::PoolExhausted => py.get_type::<PgPoolExhausted>(),
        ErrorKind::Timeout => py.get_type::<PgTimeout>(),
        ErrorKind::Canceled => py.get_type::<PgCanceled>(),
        ErrorKind::Integrity => py.get_type::<PgIntegrityError>(),
        ErrorKind::Data => py.get_type::<PgDataError>(),
        ErrorKind::Serialization => py.get_type::<PgTransactionRollback>(),
        ErrorKind::Syntax => py.get_type::<PgSyntaxError>(),
        ErrorKind::Permission => py.get_type::<PgPermissionError>(),
        ErrorKind::Conversion | ErrorKind::Configuration => py.get_type::<PgInterfaceError>(),
        ErrorKind::RowCount => py.get_type::<PgRowCountError>(),
        _ => py.get_type::<PgError>(),
    }
}

/// Converts a driver error into the Python exception, with the server's fields.
pub fn to_py(e: tusk::Error) -> PyErr {
    Python::attach(|py| to_py_with(py, &e))
}

fn to_py_with(py: Python<'_>, e: &tusk::Error) -> PyErr {
    let cls = class_of(py, e);
    let line = e.copy_line();
    let text = match line {
        Some(n) => format!("{e} (COPY data line {n})"),
        None => e.to_string(),
    };
    let err = PyErr::from_type(cls, text);
    let value = err.value(py);
    let set = |k: &str, v: Option<&str>| -> PyResult<()> {
        match v {
            Some(s) => value.setattr(k, s),
            None => Ok(()),
        }
    };
    let r: PyResult<()> = (|| {
        if let Some(db) = e.as_db_error() {
            set("sqlstate", Some(db.code.code()))?;
            set("sqlstate_name", db.code.name())?;
            set("severity", Some(&db.severity.to_string()))?;
            set("message", Some(&db.message))?;
            set("detail", db.detail.as_deref())?;
            set("hint", db.hint.as_deref())?;
            if let Some(p) = &db.position {
                let n = match p {
                    ErrorPosition::Original(n) => *n,
                    ErrorPosition::Internal { position, .. } => *position,
                };
                value.setattr("position", n)?;
            }
            set("where", db.where_.as_deref())?;
            set("schema_name", db.schema.as_deref())?;
            set("table_name", db.table.as_deref())?;
            set("column_name", db.column.as_deref())?;
            set("datatype_name", db.datatype.as_deref())?;
            set("constraint_name", db.constraint.as_deref())?;
            if let Some(n) = line {
                value.setattr("copy_line", n)?;
            }
        } else {
            set("message", Some(&e.to_string()))?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => err,
        Err(other) => other,
    }
}

/// A client-side error raised before anything is sent.
pub fn interface(msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    let e = PgInterfaceError::new_err(msg.clone());
    Python::attach(|py| {
        let _ = e.value(py).setattr("message", msg);
    });
    e
}

/// The row-count error of `.one()` and `.scalar()`.
pub fn row_count(what: &str, n: usize) -> PyErr {
    to_py(tusk::Error::new(
        ErrorKind::RowCount,
        format!("{what} expected exactly one row, the query returned {n}"),
    ))
}
