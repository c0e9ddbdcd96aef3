//! Driver tests against a real PostgreSQL started by tusk-testkit.

#[cfg(feature = "arrow")]
mod arrow;
mod atomic;
mod atomic_control;
mod basic;
mod cache;
mod cache_confirmed;
mod cancel;
mod copy;
mod copy_api;
mod copy_kind;
mod cursors;
mod cursors_review;
mod external_reads;
mod faults;
mod formats;
mod from_row;
mod groups;
mod low_water;
mod notifications;
mod notify_role;
mod pipeline;
mod pooler;
mod review;
mod review_pooler;
mod server_messages;
mod session;
mod stale_plan;
mod stream;
mod stream_release;
mod timed_stream;
mod timeouts;
mod user_types;
mod value;

#[path = "../common/connect.rs"]
mod connect;
pub use connect::{conn, db};
