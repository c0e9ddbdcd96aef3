//! tusk-bench: tusk against tokio-postgres, sqlx and pgbench, side by side,
//! on a throwaway PostgreSQL that it starts itself.
//!
//! ```text
//! cargo build -j2 --release -p tusk-bench
//! target/release/tusk-bench --quick --json bench.json --chart bench.png
//! ```
//!
//! What it measures and why is in `README.md` beside this crate and in
//! `shared/BENCHMARKS.md`. The parts:
//!
//! | module | what |
//! |---|---|
//! | [`setup`] | the cluster (test kit) and the data set |
//! | [`workloads`] | W1, W2, W4, W6: a trait per workload, one impl per driver, pgbench scripts |
//! | [`rounds`] | interleaved rounds (A B C, C B A, ...) |
//! | [`measure`] | getrusage, RSS, latency histograms |
//! | [`noise`] | CPU that other processes took during a round |
//! | [`pin`] | client and server on one CPU or on two |
//! | [`report`] | medians, ratios, targets; table, JSON, chart (PNG or SVG, `plotters`) |

#![warn(missing_docs)]

pub mod cli;
pub mod error;
pub mod machine;
pub mod measure;
pub mod noise;
pub mod pin;
pub mod report;
pub mod rounds;
pub mod rss;
pub mod setup;
pub mod workloads;

pub use error::{BenchError, Result};
