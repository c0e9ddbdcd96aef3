//! Errors.
mod sqlstate;
pub use sqlstate::SqlState;
