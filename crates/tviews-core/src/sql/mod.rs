//! SQL text generation: capture triggers, refresh statements, verification.
//!
//! Every statement is set-wise: its size does not grow with the number of
//! changed rows, only its parameters do.

pub mod capture;
pub mod keys;
pub mod refresh;

use crate::error::Result;

/// Catalog lookups the generators need, answered by the extension from
/// `pg_class`/`pg_attribute` (and by a map in tests).
pub trait Catalog {
    /// The schema-qualified, quoted name of a relation.
    ///
    /// # Errors
    /// When the relation does not exist.
    fn relation(&self, relid: u32) -> Result<String>;

    /// The type of a column, as `format_type` prints it without typmod.
    ///
    /// # Errors
    /// When the column does not exist.
    fn column_type(&self, relid: u32, attno: i16) -> Result<String>;
}
