//! tusk: an async, native-protocol PostgreSQL client.
#![warn(missing_docs)]

pub mod config;
pub mod error;
