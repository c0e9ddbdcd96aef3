//! The extension's error type: every variant becomes a PostgreSQL ERROR
//! carrying its message.

use pgrx::spi::SpiError;
use pgrx::PgTriggerError;

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
    /// A user-facing condition, with its message.
    #[error("{0}")]
    User(String),
}

/// Shorthand for the extension's results.
pub type TvResult<T> = Result<T, TvError>;

/// Builds a [`TvError::User`].
pub fn user(msg: impl Into<String>) -> TvError {
    TvError::User(msg.into())
}
