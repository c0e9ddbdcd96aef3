//! Parsing PostgreSQL's `errcodes.txt`.
//!
//! The format (documented at the top of the file itself): one code per line,
//! `sqlstate  E/W/S  ERRCODE_MACRO_NAME  [spec_name]`, `Section: ...` lines
//! that open a class, `#` comments and blank lines. A line without a
//! spec_name is an alias: a second macro name for a code listed elsewhere.

use crate::Error;

/// One code line of `errcodes.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrCode {
    /// The five-character SQLSTATE, e.g. `23505`.
    pub code: String,
    /// `E` (error), `W` (warning) or `S` (success).
    pub kind: char,
    /// The C macro name, e.g. `ERRCODE_UNIQUE_VIOLATION`.
    pub macro_name: String,
    /// The condition name, e.g. `unique_violation`; `None` for an alias line.
    pub spec_name: Option<String>,
    /// The `Section:` this line is in, e.g. `Class 23 - Integrity Constraint Violation`.
    pub section: String,
}

/// Parses the text of `errcodes.txt`. Every malformed line is an error that
/// names its line number.
pub fn parse(text: &str) -> Result<Vec<ErrCode>, Error> {
    let mut section = String::new();
    let mut codes = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Section:") {
            section = rest.trim().to_owned();
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let bad = |why: &str| Error::Parse {
            line: line_no,
            message: format!("{why}: {line:?}"),
        };
        let (code, kind, macro_name, spec_name) = match fields.as_slice() {
            [code, kind, macro_name] => (*code, *kind, *macro_name, None),
            [code, kind, macro_name, spec] => (*code, *kind, *macro_name, Some(*spec)),
            _ => return Err(bad("expected 3 or 4 whitespace-separated fields")),
        };
        if code.len() != 5
            || !code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(bad("the SQLSTATE must be 5 digits or upper-case letters"));
        }
        let kind = match kind {
            "E" => 'E',
            "W" => 'W',
            "S" => 'S',
            _ => return Err(bad("the second field must be E, W or S")),
        };
        if !macro_name.starts_with("ERRCODE_") || !is_identifier(macro_name) {
            return Err(bad(
                "the macro name must be an identifier starting with ERRCODE_",
            ));
        }
        if let Some(spec) = spec_name {
            if !is_identifier(spec) || !spec.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err(bad("the spec name must be a lower-case identifier"));
            }
        }
        if section.is_empty() {
            return Err(bad("a code line before the first \"Section:\" line"));
        }
        codes.push(ErrCode {
            code: code.to_owned(),
            kind,
            macro_name: macro_name.to_owned(),
            spec_name: spec_name.map(str::to_owned),
            section: section.clone(),
        });
    }
    if codes.is_empty() {
        return Err(Error::Parse {
            line: 0,
            message: "no error codes found; is this PostgreSQL's errcodes.txt?".to_owned(),
        });
    }
    Ok(codes)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_codes_and_aliases() {
        let text = "# comment\n\nSection: Class 23 - Integrity Constraint Violation\n\
                    23505    E    ERRCODE_UNIQUE_VIOLATION    unique_violation\n\
                    26000    E    ERRCODE_UNDEFINED_PSTATEMENT\n";
        let codes = parse(text).unwrap();
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[0].code, "23505");
        assert_eq!(codes[0].spec_name.as_deref(), Some("unique_violation"));
        assert_eq!(
            codes[0].section,
            "Class 23 - Integrity Constraint Violation"
        );
        assert_eq!(codes[1].spec_name, None);
    }

    #[test]
    fn rejects_malformed_lines() {
        for text in [
            "23505 E ERRCODE_X x\n",
            "Section: A\n2350 E ERRCODE_X x\n",
            "Section: A\n23505 Q ERRCODE_X x\n",
            "Section: A\n23505 E UNIQUE x\n",
            "Section: A\n23505 E ERRCODE_X X\n",
            "Section: A\n23505 E ERRCODE_X x extra\n",
            "# nothing\n",
        ] {
            assert!(parse(text).is_err(), "{text:?} should be rejected");
        }
    }
}
