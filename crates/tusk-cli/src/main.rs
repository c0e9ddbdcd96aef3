//! The `tusk` binary: parses the command line and hands it to
//! [`tusk_cli::run`]; all logic lives in the library.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tusk_cli::Cli::parse();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut err = std::io::stderr().lock();
    let result = tusk_cli::run(cli, &mut out, &mut err);
    let flushed = out.flush();
    match result {
        // `tusk query ... | head`: the reader left; that is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "tusk: {e}");
            ExitCode::FAILURE
        }
        Ok(code) => match flushed {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                let _ = writeln!(err, "tusk: writing the output: {e}");
                ExitCode::FAILURE
            }
            _ => ExitCode::from(code),
        },
    }
}
