//! Prints the sizes of the driver's query futures on a `Connection` (each
//! `await` moves a future into its caller's state, so a large one is
//! copied at every call). No server is needed.
//!
//! ```text
//! cargo run --release -p tusk-driver --example future_sizes
//! ```

use tusk::{Connection, Executor};

fn size<'a, R>(_f: impl Fn(&'a Connection) -> R) -> usize {
    std::mem::size_of::<R>()
}

fn main() {
    println!("query: {} bytes", size(|c| c.query("SELECT 1", &[])));
    println!(
        "query_one: {} bytes",
        size(|c| c.query_one("SELECT 1", &[]))
    );
    println!(
        "query_scalar: {} bytes",
        size(|c| c.query_scalar::<i32>("SELECT 1", &[]))
    );
    println!("execute: {} bytes", size(|c| c.execute("SELECT 1", &[])));
    println!(
        "query_stream: {} bytes",
        size(|c| c.query_stream("SELECT 1", &[]))
    );
}
