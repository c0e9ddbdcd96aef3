//! The extension's error type: every variant becomes a PostgreSQL ERROR
//! carrying its message and a SQLSTATE that says what kind of failure it is.

use pgrx::prelude::*;
use pgrx::spi::SpiError;
use pgrx::PgTriggerError;
use tviews_core::Error as Core;

/// Anything that can fail in the extension.
#[derive(Debug, thiserror::Error)]
pub enum TvError {
    /// Planning failed (unsupported query, bad options, cycle, bad keys).
    #[error(transparent)]
    Core(#[from] tviews_core::Error),
    /// An SPI call failed.
    #[error("SPI: {0}")]
    Spi(#[from] SpiError),
    /// A trigger was called in a way it does not support.
    #[error("trigger: {0}")]
    Trigger(#[from] PgTriggerError),
    /// A TVIEW or its metadata is not in a state that allows the operation
    /// (SQLSTATE 55000).
    #[error("{0}")]
    User(String),
    /// A condition with its own SQLSTATE.
    #[error("{1}")]
    Coded(PgSqlErrorCode, String),
}

impl TvError {
    /// The SQLSTATE the error is raised with.
    pub fn code(&self) -> PgSqlErrorCode {
        match self {
            TvError::Core(Core::Unsupported(_)) => PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            TvError::Core(Core::Options(_) | Core::Keys(_) | Core::MissingKey { .. }) => {
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
            }
            TvError::Core(Core::Cycle(_)) => PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
            TvError::Core(Core::Catalog(_)) | TvError::User(_) => {
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
            }
            TvError::Trigger(_) => PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            TvError::Coded(code, _) => *code,
            TvError::Core(_) | TvError::Spi(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        }
    }

    /// Raises the error as a PostgreSQL ERROR.
    pub fn raise(self) -> ! {
        ereport!(ERROR, self.code(), self.to_string());
    }
}

/// Shorthand for the extension's results.
pub type TvResult<T> = Result<T, TvError>;

/// Builds a [`TvError::User`] (SQLSTATE 55000).
pub fn user(msg: impl Into<String>) -> TvError {
    TvError::User(msg.into())
}

/// An error with its SQLSTATE.
pub fn coded(code: PgSqlErrorCode, msg: impl Into<String>) -> TvError {
    TvError::Coded(code, msg.into())
}

/// What a TVIEW cannot do or read (SQLSTATE 0A000).
pub fn unsupported(msg: impl Into<String>) -> TvError {
    coded(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, msg)
}
