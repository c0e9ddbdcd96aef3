//! The CLI's one error type.

use std::path::PathBuf;

/// Why a `tusk` command failed. Display says what happened and, where it
/// can, what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database said no (connecting, or running the statement).
    #[error("{0}")]
    Db(#[from] tusk::Error),
    /// A migration or seed command failed (the message says what to do next).
    #[error("{0}")]
    Migrate(#[from] tusk_migrate::MigrateError),
    /// A value's binary form did not have its type's layout.
    #[error("{0}")]
    Decode(#[from] crate::json::binary::DecodeError),
    /// Reading or writing a file, or writing the output.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The development cluster's data directory could not be made.
    #[error("creating the development cluster in {dir}: {source}")]
    Create {
        /// The development directory.
        dir: PathBuf,
        /// The test kit's error (it says what is missing).
        #[source]
        source: tusk_testkit::Error,
    },
    /// The development cluster could not be started, stopped or found.
    #[error("{0}")]
    Dev(String),
    /// The server's conversion of text values back to their type went wrong.
    #[error("{0}")]
    Convert(String),
    /// The command line does not fit the statement (e.g. a parameter count).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// True when writing the output failed because the reader went away
    /// (`tusk query ... | head`): not worth an error message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Output writes: a failure here is the reader's, reported as such.
pub(crate) fn write_err(e: std::io::Error) -> Error {
    Error::io("writing the output", e)
}
