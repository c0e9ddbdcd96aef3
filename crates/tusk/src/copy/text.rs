//! COPY's text and CSV formats: [`TextRowWriter`] escapes each value as
//! the format requires.

use std::future::poll_fn;

use super::CopyInSink;
use crate::error::Error;

/// A COPY data format written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextFormat {
    /// `FORMAT text` with its defaults: tab between values, `\N` for NULL,
    /// backslash escapes.
    Text,
    /// `FORMAT csv` with its defaults: comma between values, `"` quotes
    /// (doubled inside), NULL as an unquoted empty value, an empty string
    /// quoted.
    Csv,
}

/// Rows of text values (`None` is NULL), escaped for the COPY's format,
/// into a [`CopyInSink`] of a `COPY ... FROM STDIN` in that format (with
/// the format's default delimiter, quote and NULL string).
///
/// ```no_run
/// # async fn run(conn: &tusk::Connection) -> Result<(), tusk::Error> {
/// use tusk::copy::{TextFormat, TextRowWriter};
/// let sink = conn.copy_in("COPY t (id, note) FROM STDIN (FORMAT csv)").await?;
/// let mut w = TextRowWriter::new(sink, TextFormat::Csv);
/// w.write(&[Some("1"), Some("a, \"quoted\"\nnote")]).await?;
/// w.write(&[Some("2"), None]).await?;
/// assert_eq!(w.finish().await?, 2);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TextRowWriter<'a> {
    sink: CopyInSink<'a>,
    format: TextFormat,
}

impl<'a> TextRowWriter<'a> {
    /// A writer of rows in `format`.
    pub fn new(sink: CopyInSink<'a>, format: TextFormat) -> TextRowWriter<'a> {
        TextRowWriter { sink, format }
    }

    /// Writes one row (waits while the connection is behind).
    pub async fn write(&mut self, row: &[Option<&str>]) -> Result<(), Error> {
        encode_row(self.format, row, self.sink.gathered());
        if self.sink.full() {
            poll_fn(|cx| self.sink.poll_send(cx)).await?;
        }
        Ok(())
    }

    /// Ends the COPY and returns the rows copied.
    pub async fn finish(self) -> Result<u64, Error> {
        self.sink.finish().await
    }
}

/// Appends `row` to `out` in `format`, with its line end.
pub(crate) fn encode_row(format: TextFormat, row: &[Option<&str>], out: &mut bytes::BytesMut) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(if format == TextFormat::Csv {
                b","
            } else {
                b"\t"
            });
        }
        match (format, v) {
            (TextFormat::Text, None) => out.extend_from_slice(b"\\N"),
            (TextFormat::Csv, None) => {}
            (TextFormat::Text, Some(s)) => {
                for b in s.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        _ => out.extend_from_slice(&[b]),
                    }
                }
            }
            (TextFormat::Csv, Some(s)) => {
                let quote = s.is_empty()
                    || *s == "\\."
                    || s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
                if quote {
                    out.extend_from_slice(b"\"");
                    for b in s.bytes() {
                        if b == b'"' {
                            out.extend_from_slice(b"\"\"");
                        } else {
                            out.extend_from_slice(&[b]);
                        }
                    }
                    out.extend_from_slice(b"\"");
                } else {
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
    out.extend_from_slice(b"\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: TextFormat, row: &[Option<&str>]) -> String {
        let mut b = bytes::BytesMut::new();
        encode_row(f, row, &mut b);
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn text_escapes_and_nulls() {
        assert_eq!(
            enc(TextFormat::Text, &[Some("a\tb\\c\nd\re"), None, Some("")]),
            "a\\tb\\\\c\\nd\\re\t\\N\t\n"
        );
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(
            enc(
                TextFormat::Csv,
                &[
                    Some("plain"),
                    Some("a,b"),
                    Some("say \"hi\""),
                    None,
                    Some(""),
                    Some("\\.")
                ]
            ),
            "plain,\"a,b\",\"say \"\"hi\"\"\",,\"\",\"\\.\"\n"
        );
    }
}
