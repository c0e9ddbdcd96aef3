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
        LiteAction::Serve {
            data,
            listen,
            password_file,
        } => serve(data, listen, password_file.as_deref(), out),
    }
}

/// Reads `user:password` lines (blank lines and `#` comments skipped).
/// An error names the line, never its contents.
#[cfg(feature = "lite")]
fn read_passwords(path: &std::path::Path) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                users.push((user.to_owned(), password.to_owned()));
            }
            _ => {
                return Err(Error::Usage(format!(
                    "{} line {}: expected user:password",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    if users.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no user:password line (every client would be refused)",
            path.display()
        )));
    }
    Ok(users)
}

#[cfg(feature = "lite")]
fn serve(
    data: &std::path::Path,
    listen: &str,
    password_file: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let auth = match password_file {
        Some(path) => tusk_lite::Auth::scram(read_passwords(path)?),
        None => tusk_lite::Auth::Trust,
    };
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
    db.serve_with(listener, auth)
        .map_err(|e| Error::io(format!("accepting on {addr}"), e))?;
    Ok(0)
}

#[cfg(not(feature = "lite"))]
fn serve(
    _data: &std::path::Path,
    _listen: &str,
    _password_file: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<u8, Error> {
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
