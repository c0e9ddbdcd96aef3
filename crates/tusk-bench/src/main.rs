//! `tusk-bench`: see the crate's README.

fn main() -> std::process::ExitCode {
    tusk_bench::cli::main()
}
