//! `tusk-codegen`: regenerates `crates/tusk/src/error/sqlstate.rs` from
//! PostgreSQL's `errcodes.txt`. See [`tusk_codegen::run`] for the arguments.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match tusk_codegen::run(&args) {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("tusk-codegen: {err}");
            ExitCode::FAILURE
        }
    }
}
