//! Server-initiated messages: notices and notifications.

pub use crate::error::DbError as Notice;

/// A `NOTIFY` delivered to this connection (after `LISTEN channel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The channel name.
    pub channel: String,
    /// The payload (may be empty).
    pub payload: String,
}
