//! Code generation for tusk: tables that come from PostgreSQL's own sources
//! rather than being typed by hand.
//!
//! Today that is the SQLSTATE table, `crates/tusk/src/error/sqlstate.rs`,
//! generated from PostgreSQL's `errcodes.txt`. The `errcodes.txt` it is
//! generated from is vendored next to this crate's manifest
//! (`crates/tusk-codegen/errcodes.txt`, PostgreSQL 15.20's), so that the
//! table and its drift test never depend on the PostgreSQL installed on the
//! machine (whose minor version may lack or add codes: 15.20 added `22P07`).
//!
//! ```text
//! cargo run -p tusk-codegen                      # the vendored errcodes.txt, write the file
//! cargo run -p tusk-codegen -- path/errcodes.txt # an explicit errcodes.txt
//! cargo run -p tusk-codegen -- --check           # exit 1 if the committed file is stale
//! cargo run -p tusk-codegen -- --out FILE        # write elsewhere ("-" for stdout)
//! ```
//!
//! To take a newer server's codes, vendor its file and regenerate, then
//! commit both files (the drift test compares them):
//!
//! ```text
//! cp "$(pg_config --sharedir)/errcodes.txt" crates/tusk-codegen/errcodes.txt
//! cargo run -p tusk-codegen
//! cargo test -p tusk-codegen
//! ```
//!
//! A newer minor release only ever adds codes, and a code the table lacks
//! still works at run time (`tusk::error::SqlState::from_code` keeps any five
//! characters), so regenerating is never urgent.
//!
//! The pieces are pure functions, so a test can render from any text:
//!
//! ```
//! let text = "Section: Class XX - Internal Error\n\
//!             XX000    E    ERRCODE_INTERNAL_ERROR    internal_error\n";
//! let source = tusk_codegen::generate(text).unwrap();
//! assert!(source.contains("pub const INTERNAL_ERROR: SqlState = SqlState(*b\"XX000\");"));
//! ```
#![warn(missing_docs)]

pub mod errcodes;
pub mod render;

use std::fmt;
use std::path::{Path, PathBuf};

/// What can go wrong while generating.
#[derive(Debug)]
pub enum Error {
    /// `errcodes.txt` has a line this generator does not understand.
    Parse {
        /// The 1-based line number (0 for the file as a whole).
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The codes parse but cannot be turned into a table (e.g. two codes would
    /// get one constant name).
    Invalid(String),
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The command line is wrong.
    Usage(String),
    /// `--check` found the committed file differs from what would be generated.
    Stale(PathBuf),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { line, message } => write!(f, "errcodes.txt line {line}: {message}"),
            Error::Invalid(message) => write!(f, "{message}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Usage(message) => write!(
                f,
                "{message}\nusage: tusk-codegen [ERRCODES_TXT] [--out FILE|-] [--check]"
            ),
            Error::Stale(path) => write!(
                f,
                "{} is not what errcodes.txt generates; run `cargo run -p tusk-codegen` and commit it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Renders `sqlstate.rs` from the text of `errcodes.txt`.
pub fn generate(errcodes_text: &str) -> Result<String, Error> {
    render::render(&errcodes::parse(errcodes_text)?)
}

/// The committed output file: `crates/tusk/src/error/sqlstate.rs` in this workspace.
pub fn default_output() -> PathBuf {
    let codegen_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crates_dir = codegen_dir.parent().unwrap_or(codegen_dir);
    crates_dir.join("tusk/src/error/sqlstate.rs")
}

/// The vendored `errcodes.txt` (`crates/tusk-codegen/errcodes.txt`): the
/// input the committed table is generated from, and the default input.
pub fn default_errcodes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("errcodes.txt")
}

/// Reads `path` and renders `sqlstate.rs` from it.
pub fn generate_from_file(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    generate(&text)
}

/// The command line: `[ERRCODES_TXT] [--out FILE|-] [--check]`. Returns a
/// line to report on success.
pub fn run(args: &[String]) -> Result<String, Error> {
    let mut input = None;
    let mut output = None;
    let mut check = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--out" => match args.next() {
                Some(path) => output = Some(PathBuf::from(path)),
                None => return Err(Error::Usage("--out needs a file name".to_owned())),
            },
            "-h" | "--help" => return Err(Error::Usage("help requested".to_owned())),
            flag if flag.starts_with("--") => {
                return Err(Error::Usage(format!("unknown option {flag}")))
            }
            path if input.is_none() => input = Some(PathBuf::from(path)),
            extra => return Err(Error::Usage(format!("unexpected argument {extra}"))),
        }
    }
    let input = input.unwrap_or_else(default_errcodes);
    let source = generate_from_file(&input)?;
    let output = output.unwrap_or_else(default_output);
    if output.as_os_str() == "-" {
        print!("{source}");
        return Ok(format!("generated from {}", input.display()));
    }
    if check {
        let current = std::fs::read_to_string(&output).map_err(|source| Error::Io {
            path: output.clone(),
            source,
        })?;
        if current != source {
            return Err(Error::Stale(output));
        }
        return Ok(format!(
            "{} is up to date with {}",
            output.display(),
            input.display()
        ));
    }
    std::fs::write(&output, &source).map_err(|source| Error::Io {
        path: output.clone(),
        source,
    })?;
    Ok(format!(
        "wrote {} from {}",
        output.display(),
        input.display()
    ))
}
