//! `tusk copy in|out`: COPY between a table (or, out, a query) and a file
//! or stdin/stdout, in text, CSV or binary format, through the driver's
//! `copy_in`/`copy_out` (bounded memory both ways), with a progress line
//! on a terminal only.

mod progress;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use tusk::Executor;

use crate::error::{write_err, Error};
use crate::ConnArgs;
use progress::Progress;

/// `tusk copy`.
#[derive(Debug, Clone, Subcommand)]
pub enum CopyAction {
    /// Load rows into a table from a file or stdin (COPY .. FROM STDIN)
    In(CopyInArgs),
    /// Write a table's rows, or a query's, to a file or stdout (COPY .. TO STDOUT)
    Out(CopyOutArgs),
}

/// `tusk copy in`.
#[derive(Debug, Clone, Args)]
pub struct CopyInArgs {
    /// The table (`name` or `schema.name`; each part is quoted as given)
    pub table: String,
    /// Read from this file [default: stdin]
    #[arg(long, short, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Options shared with `copy out`.
    #[command(flatten)]
    pub common: CopyCommon,
}

/// `tusk copy out`.
#[derive(Debug, Clone, Args)]
pub struct CopyOutArgs {
    /// The table (`name` or `schema.name`); or use --query
    #[arg(required_unless_present = "query", conflicts_with = "query")]
    pub table: Option<String>,
    /// Copy the rows of this query instead of a table
    #[arg(long, value_name = "SQL")]
    pub query: Option<String>,
    /// Write to this file (created or truncated) [default: stdout]
    #[arg(long, short, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Options shared with `copy in`.
    #[command(flatten)]
    pub common: CopyCommon,
}

/// Options of both directions.
#[derive(Debug, Clone, Args)]
pub struct CopyCommon {
    /// The data format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The first line is a header (csv; text needs PostgreSQL 15)
    #[arg(long)]
    pub header: bool,
    /// Only these columns, in this order (comma-separated)
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// The column delimiter (default: tab for text, comma for csv)
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The string that stands for NULL (default: \N for text, empty for csv)
    #[arg(long, value_name = "STRING")]
    pub null: Option<String>,
    /// No progress line, even on a terminal
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary (rows, bytes, seconds) as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Where to connect.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// COPY's data formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// PostgreSQL's text format (tab-separated, \N for NULL)
    Text,
    /// CSV
    Csv,
    /// PostgreSQL's binary format
    Binary,
}

impl Format {
    fn sql(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Binary => "binary",
        }
    }
}

/// What a copy did.
#[derive(Debug, Serialize)]
struct Summary {
    direction: &'static str,
    rows: u64,
    bytes: u64,
    seconds: f64,
}

/// Read and send in chunks of this size.
const CHUNK: usize = 256 * 1024;

/// A possibly qualified name, each part quoted.
fn quote_name(name: &str) -> Result<String, Error> {
    if name.trim().is_empty() {
        return Err(Error::Usage("the table name is empty".into()));
    }
    Ok(name
        .split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join("."))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `(a, b)` or nothing.
fn column_list(columns: &[String]) -> String {
    if columns.is_empty() {
        String::new()
    } else {
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c.trim())).collect();
        format!(" ({})", cols.join(", "))
    }
}

/// `WITH (FORMAT .., HEADER .., ..)`.
fn with_options(c: &CopyCommon) -> Result<String, Error> {
    if c.format == Format::Binary && (c.header || c.delimiter.is_some() || c.null.is_some()) {
        return Err(Error::Usage(
            "--header, --delimiter and --null do not apply to --format binary".into(),
        ));
    }
    let mut opts = vec![format!("FORMAT {}", c.format.sql())];
    if c.header {
        opts.push("HEADER true".into());
    }
    if let Some(d) = &c.delimiter {
        opts.push(format!("DELIMITER {}", quote_literal(d)));
    }
    if let Some(n) = &c.null {
        opts.push(format!("NULL {}", quote_literal(n)));
    }
    Ok(format!(" WITH ({})", opts.join(", ")))
}

/// The COPY statement of `tusk copy in`.
pub fn copy_in_sql(args: &CopyInArgs) -> Result<String, Error> {
    Ok(format!(
        "COPY {}{} FROM STDIN{}",
        quote_name(&args.table)?,
        column_list(&args.common.columns),
        with_options(&args.common)?
    ))
}

/// The COPY statement of `tusk copy out`.
pub fn copy_out_sql(args: &CopyOutArgs) -> Result<String, Error> {
    let source = match (&args.table, &args.query) {
        (_, Some(q)) => {
            if !args.common.columns.is_empty() {
                return Err(Error::Usage(
                    "--columns applies to a table; choose the columns in the --query".into(),
                ));
            }
            format!("({})", q.trim().trim_end_matches(';'))
        }
        (Some(t), None) => format!("{}{}", quote_name(t)?, column_list(&args.common.columns)),
        (None, None) => return Err(Error::Usage("name a table or give --query".into())),
    };
    Ok(format!(
        "COPY {source} TO STDOUT{}",
        with_options(&args.common)?
    ))
}

/// Whether to draw the progress line: stderr is a terminal and not --quiet.
fn show_progress(c: &CopyCommon) -> bool {
    !c.quiet && std::io::stderr().is_terminal()
}

/// `tusk copy in`.
pub(crate) async fn copy_in(
    url: &str,
    args: &CopyInArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let sql = copy_in_sql(args)?;
    let (mut source, total): (Box<dyn Read>, Option<u64>) = match &args.file {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len)
        }
        None => (Box::new(std::io::stdin().lock()), None),
    };
    let conn = tusk::connect(url).await?;
    let start = Instant::now();
    let mut progress = Progress::new(show_progress(&args.common), total);
    let mut sink = conn.copy_in(&sql).await?;
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                progress.finish(err);
                // Dropping the sink sends CopyFail: nothing is kept.
                drop(sink);
                return Err(Error::io("reading the COPY data", e));
            }
        };
        if let Err(e) = sink.write(&buf[..n]).await {
            progress.finish(err);
            return Err(e.into());
        }
        sent += n as u64;
        progress.update(sent, err);
    }
    let rows = sink.finish().await;
    progress.finish(err);
    let rows = rows?;
    let _ = conn.close().await;
    summary(
        &Summary {
            direction: "in",
            rows,
            bytes: sent,
            seconds: start.elapsed().as_secs_f64(),
        },
        args.common.json,
        out,
    )
}

/// `tusk copy out`.
pub(crate) async fn copy_out(
    url: &str,
    args: &CopyOutArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let sql = copy_out_sql(args)?;
    if args.file.is_none()
        && args.common.format == Format::Binary
        && std::io::stdout().is_terminal()
    {
        return Err(Error::Usage(
            "refusing to write binary COPY data to a terminal: redirect stdout or use --file"
                .into(),
        ));
    }
    let mut file = match &args.file {
        Some(path) => Some(OutFile::create(path)?),
        None => None,
    };
    let conn = tusk::connect(url).await?;
    let start = Instant::now();
    let mut progress = Progress::new(show_progress(&args.common), None);
    // READ ONLY: `copy out` exports; a --query such as `DELETE .. RETURNING`
    // (which COPY accepts) is refused instead of run. (A table's COPY
    // cannot write, and needs no transaction block, which PgBouncer's
    // statement pooling refuses.)
    let read_only = args.query.is_some();
    if read_only {
        conn.simple_query("BEGIN READ ONLY").await?;
    }
    let mut stream = conn.copy_out(&sql).await?;
    let mut received = 0u64;
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                progress.finish(err);
                return Err(e.into());
            }
        };
        let written = match &mut file {
            Some(f) => f
                .file
                .write_all(&chunk)
                .map_err(|e| Error::io("writing the COPY data", e)),
            None => out.write_all(&chunk).map_err(write_err),
        };
        if let Err(e) = written {
            progress.finish(err);
            return Err(e);
        }
        received += chunk.len() as u64;
        progress.update(received, err);
    }
    progress.finish(err);
    let rows = stream.rows_affected().unwrap_or(0);
    drop(stream);
    if read_only {
        conn.simple_query("COMMIT").await?;
    }
    let to_file = file.is_some();
    if let Some(f) = file.take() {
        f.persist()?;
    }
    let _ = conn.close().await;
    let s = Summary {
        direction: "out",
        rows,
        bytes: received,
        seconds: start.elapsed().as_secs_f64(),
    };
    // The data went to stdout: the summary goes to stderr.
    if to_file {
        summary(&s, args.common.json, out)
    } else {
        out.flush().map_err(write_err)?;
        summary(&s, args.common.json, err)
    }
}

/// Where `copy out --file` writes: a temporary file next to the target,
/// renamed over it once the whole COPY arrived, so a failed copy leaves an
/// existing file as it was (and no partial one). A target that is not a
/// regular file (a FIFO, `/dev/stdout`) is written directly.
struct OutFile {
    file: std::fs::File,
    /// (temporary, target) while the temporary is not yet renamed.
    rename: Option<(PathBuf, PathBuf)>,
}

impl OutFile {
    fn create(path: &std::path::Path) -> Result<OutFile, Error> {
        let creating = |e| Error::io(format!("creating {}", path.display()), e);
        let existing = std::fs::metadata(path).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            return Ok(OutFile {
                file: std::fs::File::create(path).map_err(creating)?,
                rename: None,
            });
        }
        let name = path
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{} is not a file name", path.display())))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tusk-copy-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(creating)?;
        let out = OutFile {
            file,
            rename: Some((tmp, path.to_owned())),
        };
        if let (Some(meta), Some((tmp, _))) = (existing, &out.rename) {
            // Keep the replaced file's mode.
            std::fs::set_permissions(tmp, meta.permissions()).map_err(creating)?;
        }
        Ok(out)
    }

    /// Flushes to disk and puts the file in place.
    fn persist(mut self) -> Result<(), Error> {
        let writing = |e| Error::io("writing the COPY data", e);
        self.file.flush().map_err(writing)?;
        self.file.sync_all().map_err(writing)?;
        if let Some((tmp, target)) = self.rename.take() {
            if let Err(e) = std::fs::rename(&tmp, &target) {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::io(format!("replacing {}", target.display()), e));
            }
        }
        Ok(())
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        // Not persisted: the copy failed; remove the partial data.
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn summary(s: &Summary, json: bool, to: &mut dyn Write) -> Result<(), Error> {
    if json {
        let text =
            serde_json::to_string(s).map_err(|e| Error::Convert(format!("writing JSON: {e}")))?;
        writeln!(to, "{text}").map_err(write_err)
    } else {
        writeln!(
            to,
            "COPY {} rows ({}) in {:.3} s",
            s.rows,
            progress::bytes(s.bytes),
            s.seconds
        )
        .map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> crate::Cli {
        let mut argv = vec!["tusk", "copy"];
        argv.extend_from_slice(args);
        crate::Cli::try_parse_from(argv).unwrap()
    }

    fn sql(args: &[&str]) -> Result<String, Error> {
        match parse(args).command {
            crate::Command::Copy {
                action: CopyAction::In(a),
            } => copy_in_sql(&a),
            crate::Command::Copy {
                action: CopyAction::Out(a),
            } => copy_out_sql(&a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn builds_the_copy_statements() {
        assert_eq!(
            sql(&["in", "app.Users", "--format", "csv", "--header", "--columns", "id,na\"me"]).unwrap(),
            "COPY \"app\".\"Users\" (\"id\", \"na\"\"me\") FROM STDIN WITH (FORMAT csv, HEADER true)"
        );
        assert_eq!(
            sql(&["out", "--query", "SELECT 1;", "--null", "it's"]).unwrap(),
            "COPY (SELECT 1) TO STDOUT WITH (FORMAT text, NULL 'it''s')"
        );
        assert!(matches!(
            sql(&["out", "t", "--format", "binary", "--header"]),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            sql(&["out", "--query", "SELECT 1", "--columns", "a"]),
            Err(Error::Usage(_))
        ));
        assert!(
            crate::Cli::try_parse_from(["tusk", "copy", "out", "t", "--query", "SELECT 1"])
                .is_err()
        );
        assert!(crate::Cli::try_parse_from(["tusk", "copy", "out"]).is_err());
    }
}
