//! The `tusk` binary: parses the command line and hands it to
//! [`tusk_cli::run`]; all logic lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tusk_cli::Cli::parse();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    match tusk_cli::run(cli, &mut out, &mut err) {
        Ok(code) => ExitCode::from(code),
        // `tusk query ... | head`: the reader left; that is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(err, "tusk: {e}");
            ExitCode::FAILURE
        }
    }
}
