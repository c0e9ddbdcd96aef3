//! tusk-cron (work in progress).
#![warn(missing_docs)]

mod error;
pub mod plan;
pub mod policy;
pub mod schedule;

pub use error::CronError;
pub use policy::{Misfire, Overlap, Retry};
pub use schedule::{parse_zone, Schedule};

pub(crate) mod serde_ms {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}
