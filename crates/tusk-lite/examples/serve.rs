//! Serves a tusk-lite database over TCP for psql, pgbench and drivers:
//!
//! ```sh
//! cargo run --release -p tusk-lite --example serve -- 127.0.0.1:5433 [DATA_DIR]
//! psql -h 127.0.0.1 -p 5433 -U app app
//! ```
//!
//! Without DATA_DIR the database lives in memory.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:5433".to_string());
    let db = match args.next() {
        Some(dir) => tusk_lite::Database::open(dir)?,
        None => tusk_lite::Database::open_in_memory(),
    };
    let listener = std::net::TcpListener::bind(&listen)?;
    eprintln!("tusk-lite listening on {}", listener.local_addr()?);
    db.serve(listener)?;
    Ok(())
}
