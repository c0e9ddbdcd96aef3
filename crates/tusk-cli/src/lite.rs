//! `tusk lite serve`: runs tusk-lite, the embedded PostgreSQL-compatible
//! engine, as a server for psql, pgbench and any PostgreSQL client.
//!
//! tusk-lite builds PostgreSQL's parser from C, so it is an optional part
//! of the CLI: `cargo install tusk-cli --features lite` (or
//! `cargo build -p tusk-cli --features lite`). Without it the command
//! says how to get it. With it, `--url lite:memory` and
//! `--url lite:///path/to/dir` work for every command.

use std::io::Write;

#[cfg(feature = "lite")]
use crate::error::write_err;
use crate::error::Error;
use crate::LiteAction;

/// Runs a `tusk lite` action. `serve` prints the bound address on `out`
/// and then serves until the process is stopped.
pub fn command(action: &LiteAction, out: &mut dyn Write) -> Result<u8, Error> {
    match action {
        LiteAction::Serve { data, listen } => serve(data, listen, out),
    }
}

#[cfg(feature = "lite")]
fn serve(data: &std::path::Path, listen: &str, out: &mut dyn Write) -> Result<u8, Error> {
    let db = if data.as_os_str() == "memory" {
        tusk_lite::Database::open_in_memory()
    } else {
        tusk_lite::Database::open(data)
            .map_err(|e| Error::Usage(format!("opening {}: {e}", data.display())))?
    };
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| Error::io(format!("listening on {listen}"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the bound address", e))?;
    writeln!(
        out,
        "tusk-lite {} serving {} on {addr}",
        tusk_lite::SERVER_VERSION,
        data.display()
    )
    .map_err(write_err)?;
    out.flush().map_err(write_err)?;
    db.serve(listener)
        .map_err(|e| Error::io(format!("accepting on {addr}"), e))?;
    Ok(0)
}

#[cfg(not(feature = "lite"))]
fn serve(_data: &std::path::Path, _listen: &str, out: &mut dyn Write) -> Result<u8, Error> {
    let _ = out;
    Err(Error::Usage(
        "this tusk was built without tusk-lite: rebuild it with `--features lite`".into(),
    ))
}

/// Lets `--url lite:...` reach the embedded engine (when built in).
pub(crate) fn register() {
    #[cfg(feature = "lite")]
    tusk_lite::register();
}
