//! COPY's text and CSV formats: parsing what a client sends with
//! COPY ... FROM STDIN, formatting rows for COPY ... TO STDOUT. The
//! binary format is in [`binary`].

pub mod binary;

use crate::error::{Result, SqlError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFormat {
    pub csv: bool,
    /// FORMAT binary (the other fields are unused then).
    pub binary: bool,
    pub delimiter: char,
    pub null: String,
    pub header: bool,
    pub quote: char,
    pub escape: char,
}

impl CopyFormat {
    pub fn text() -> CopyFormat {
        CopyFormat {
            csv: false,
            binary: false,
            delimiter: '\t',
            null: "\\N".into(),
            header: false,
            quote: '"',
            escape: '"',
        }
    }

    pub fn binary() -> CopyFormat {
        CopyFormat {
            binary: true,
            ..CopyFormat::text()
        }
    }

    pub fn csv() -> CopyFormat {
        CopyFormat {
            csv: true,
            binary: false,
            delimiter: ',',
            null: String::new(),
            header: false,
            quote: '"',
            escape: '"',
        }
    }
}

fn bad(msg: impl Into<String>) -> SqlError {
    SqlError::new("22P04", msg)
}

/// Rows of fields (None = NULL).
pub type Rows = Vec<Vec<Option<String>>>;

/// Splits COPY data into rows of fields, and says whether the end marker
/// (`\.` on a line of its own) ended it. A HEADER line is the caller's to
/// skip. Text data can come in pieces of whole lines; CSV data (whose
/// quoted fields can hold newlines) comes whole.
pub fn parse(data: &str, f: &CopyFormat) -> Result<(Rows, bool)> {
    if f.csv {
        parse_csv(data, f)
    } else {
        parse_text(data, f)
    }
}

/// Whether COPY data in format `f` can be parsed in pieces split after a
/// newline.
pub fn splits_at_newlines(f: &CopyFormat) -> bool {
    !f.csv
}

fn parse_text(data: &str, f: &CopyFormat) -> Result<(Rows, bool)> {
    let mut rows = Vec::new();
    if data.is_empty() {
        return Ok((rows, false));
    }
    let body = data.strip_suffix('\n').unwrap_or(data);
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line == "\\." {
            return Ok((rows, true));
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut raw = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == f.delimiter {
                fields.push(finish_text_field(&cur, &raw, f));
                cur.clear();
                raw.clear();
                continue;
            }
            raw.push(c);
            if c != '\\' {
                cur.push(c);
                continue;
            }
            let Some(n) = chars.next() else {
                cur.push('\\');
                break;
            };
            raw.push(n);
            match n {
                'b' => cur.push('\u{8}'),
                'f' => cur.push('\u{c}'),
                'n' => cur.push('\n'),
                'r' => cur.push('\r'),
                't' => cur.push('\t'),
                'v' => cur.push('\u{b}'),
                'x' => {
                    let mut v = 0u32;
                    let mut k = 0;
                    while k < 2 && chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                        let d = chars.next().unwrap_or('0');
                        raw.push(d);
                        v = v * 16 + d.to_digit(16).unwrap_or(0);
                        k += 1;
                    }
                    if k == 0 {
                        cur.push('x');
                    } else {
                        cur.push(char::from_u32(v).unwrap_or('?'));
                    }
                }
                '0'..='7' => {
                    let mut v = n.to_digit(8).unwrap_or(0);
                    let mut k = 1;
                    while k < 3 && chars.peek().is_some_and(|c| ('0'..='7').contains(c)) {
                        let d = chars.next().unwrap_or('0');
                        raw.push(d);
                        v = v * 8 + d.to_digit(8).unwrap_or(0);
                        k += 1;
                    }
                    cur.push(char::from_u32(v).unwrap_or('?'));
                }
                other => cur.push(other),
            }
        }
        fields.push(finish_text_field(&cur, &raw, f));
        rows.push(fields);
    }
    Ok((rows, false))
}

fn finish_text_field(value: &str, raw: &str, f: &CopyFormat) -> Option<String> {
    if raw == f.null {
        None
    } else {
        Some(value.to_string())
    }
}

fn parse_csv(data: &str, f: &CopyFormat) -> Result<(Rows, bool)> {
    let mut rows = Vec::new();
    let mut fields: Vec<Option<String>> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut at_line_start = true;
    let chars: Vec<char> = data.chars().collect();
    let mut i = 0;
    let mut ended = false;
    while i < chars.len() {
        let c = chars[i];
        if at_line_start && !in_quotes && c == '\\' && chars.get(i + 1) == Some(&'.') {
            let rest = &chars[i + 2..];
            if rest.is_empty() || rest[0] == '\n' || rest[0] == '\r' {
                ended = true;
                break;
            }
        }
        at_line_start = false;
        if in_quotes {
            if c == f.escape && f.escape != f.quote && chars.get(i + 1) == Some(&f.quote) {
                cur.push(f.quote);
                i += 2;
                continue;
            }
            if c == f.quote {
                if f.escape == f.quote && chars.get(i + 1) == Some(&f.quote) {
                    cur.push(f.quote);
                    i += 2;
                    continue;
                }
                in_quotes = false;
                i += 1;
                continue;
            }
            cur.push(c);
            i += 1;
            continue;
        }
        if c == f.quote {
            in_quotes = true;
            quoted = true;
        } else if c == f.delimiter {
            fields.push(csv_field(&cur, quoted, f));
            cur.clear();
            quoted = false;
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.get(i + 1) == Some(&'\n') {
                i += 1;
            }
            fields.push(csv_field(&cur, quoted, f));
            rows.push(std::mem::take(&mut fields));
            cur.clear();
            quoted = false;
            at_line_start = true;
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if in_quotes {
        return Err(bad("unterminated CSV quoted field"));
    }
    if !cur.is_empty() || quoted || !fields.is_empty() {
        fields.push(csv_field(&cur, quoted, f));
        rows.push(fields);
    }
    Ok((rows, ended))
}

fn csv_field(value: &str, quoted: bool, f: &CopyFormat) -> Option<String> {
    if !quoted && value == f.null {
        None
    } else {
        Some(value.to_string())
    }
}

/// Formats one row (values already as text; None = NULL) with a newline.
pub fn format_row(fields: &[Option<String>], f: &CopyFormat, out: &mut String) {
    for (i, v) in fields.iter().enumerate() {
        if i > 0 {
            out.push(f.delimiter);
        }
        match v {
            None => out.push_str(&f.null),
            Some(s) if f.csv => {
                let needs = s.is_empty() && f.null.is_empty()
                    || s.contains(f.delimiter)
                    || s.contains(f.quote)
                    || s.contains('\n')
                    || s.contains('\r')
                    || *s == f.null
                    || s.starts_with("\\.");
                if needs {
                    out.push(f.quote);
                    for c in s.chars() {
                        if c == f.quote || c == f.escape {
                            out.push(f.escape);
                        }
                        out.push(c);
                    }
                    out.push(f.quote);
                } else {
                    out.push_str(s);
                }
            }
            Some(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        '\u{b}' => out.push_str("\\v"),
                        c if c == f.delimiter => {
                            out.push('\\');
                            out.push(c);
                        }
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let (rows, ended) = parse("1\tab\\tc\t\\N\n2\t\t\\\\\n\\.\n", &CopyFormat::text()).unwrap();
        assert!(ended);
        assert_eq!(
            rows,
            vec![
                vec![Some("1".into()), Some("ab\tc".into()), None],
                vec![Some("2".into()), Some("".into()), Some("\\".into())],
            ]
        );
        let mut out = String::new();
        format_row(&rows[0], &CopyFormat::text(), &mut out);
        assert_eq!(out, "1\tab\\tc\t\\N\n");
    }

    #[test]
    fn csv_format() {
        let (rows, ended) = parse("1,\"a,\"\"b\"\"\",\n2,\"\",x\n", &CopyFormat::csv()).unwrap();
        assert!(!ended);
        assert_eq!(
            rows,
            vec![
                vec![Some("1".into()), Some("a,\"b\"".into()), None],
                vec![Some("2".into()), Some("".into()), Some("x".into())],
            ]
        );
    }
}
