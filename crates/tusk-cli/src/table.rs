//! psql-style aligned tables:
//!
//! ```text
//!  id | name
//! ----+-------
//!   1 | alice
//!  22 | bob
//! (2 rows)
//! ```
//!
//! Headers are centred, numbers right-aligned, everything else
//! left-aligned; NULL is empty; a value with line breaks spans several
//! lines, each but the last marked `+` as psql does. Trailing spaces are
//! trimmed.

use tusk::{Column, Row, Type};
use unicode_width::UnicodeWidthStr;

/// A result ready to print: column names, alignment and text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Column names.
    pub names: Vec<String>,
    /// Right-align this column (numbers).
    pub right: Vec<bool>,
    /// Cells, row by row; `None` is NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

/// Whether psql right-aligns a column of this type.
pub fn is_numeric(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::NUMERIC
            | Type::MONEY
            | Type::XID
            | Type::CID
    )
}

impl Table {
    /// A table of `columns` from rows that arrived in text format.
    pub fn from_text_rows(columns: &[Column], rows: &[Row]) -> Result<Table, tusk::Error> {
        let mut table = Table {
            names: columns.iter().map(|c| c.name().to_owned()).collect(),
            right: columns.iter().map(|c| is_numeric(c.type_())).collect(),
            rows: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            let cells = (0..row.len())
                .map(|i| row.get_text(i).map(|t| t.map(str::to_owned)))
                .collect::<Result<Vec<_>, _>>()?;
            table.rows.push(cells);
        }
        Ok(table)
    }

    /// The table as text, ending with the `(N rows)` footer and a newline.
    pub fn render(&self) -> String {
        let ncols = self.names.len();
        let mut widths: Vec<usize> = self.names.iter().map(|n| n.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(ncols) {
                for line in cell.as_deref().unwrap_or("").split('\n') {
                    widths[i] = widths[i].max(line.width());
                }
            }
        }
        let mut out = String::new();
        if ncols > 0 {
            let header: Vec<String> = self
                .names
                .iter()
                .zip(&widths)
                .map(|(name, w)| {
                    let pad = w - name.width();
                    format!("{}{name}{}", " ".repeat(pad / 2), " ".repeat(pad - pad / 2))
                })
                .collect();
            push_line(&mut out, &format!(" {} ", header.join(" | ")));
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
            push_line(&mut out, &rule.join("+"));
        }
        for row in &self.rows {
            self.render_row(row, &widths, &mut out);
        }
        let n = self.rows.len();
        out.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
        out
    }

    fn render_row(&self, row: &[Option<String>], widths: &[usize], out: &mut String) {
        let lines: Vec<Vec<&str>> = row
            .iter()
            .map(|c| c.as_deref().unwrap_or("").split('\n').collect())
            .collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        for k in 0..height {
            let mut text = String::new();
            for (i, cell) in lines.iter().enumerate() {
                let part = cell.get(k).copied().unwrap_or("");
                let pad = " ".repeat(widths[i].saturating_sub(part.width()));
                let more = k + 1 < cell.len();
                text.push(if i == 0 { ' ' } else { '|' });
                if i > 0 {
                    text.push(' ');
                }
                if self.right.get(i).copied().unwrap_or(false) {
                    text.push_str(&pad);
                    text.push_str(part);
                } else {
                    text.push_str(part);
                    text.push_str(&pad);
                }
                text.push(if more { '+' } else { ' ' });
            }
            push_line(out, &text);
        }
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn aligns_like_psql() {
        let t = Table {
            names: vec!["id".into(), "name".into()],
            right: vec![true, false],
            rows: vec![vec![cell("1"), cell("alice")], vec![cell("22"), None]],
        };
        assert_eq!(
            t.render(),
            " id | name\n----+-------\n  1 | alice\n 22 |\n(2 rows)\n"
        );
    }

    #[test]
    fn multiline_cells_and_wide_characters() {
        let t = Table {
            names: vec!["a".into(), "b".into()],
            right: vec![false, false],
            rows: vec![vec![cell("x\nyy"), cell("日本")]],
        };
        assert_eq!(
            t.render(),
            " a  |  b\n----+------\n x +| 日本\n yy |\n(1 row)\n"
        );
    }

    #[test]
    fn no_rows() {
        assert_eq!(Table::default().render(), "(0 rows)\n");
    }
}
