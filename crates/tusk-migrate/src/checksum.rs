//! The checksum of a script: SHA-256 of its text with line endings
//! normalized, so a checkout on Windows (CRLF) or an editor that trims
//! trailing spaces does not look like an edit (sqlx #2659, prisma #7101).
//!
//! Normalized: a leading byte-order mark is dropped; CRLF and lone CR
//! become LF; trailing spaces and tabs are removed from every line; blank
//! lines at the end are removed. Everything else counts, comments
//! included: a comment is part of what was reviewed.

use sha2::{Digest, Sha256};

/// The text a checksum is computed over (see the module docs).
pub fn normalize(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len());
    for line in unified.split('\n') {
        out.push_str(line.trim_end_matches([' ', '\t']));
        out.push('\n');
    }
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    out
}

/// Lower-case hex SHA-256 of [`normalize`]`(text)`.
pub fn checksum(text: &str) -> String {
    let digest = Sha256::digest(normalize(text).as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_trailing_space_do_not_count() {
        let unix = "CREATE TABLE t (id int);\n-- note\nSELECT 1;\n";
        let windows = "\u{feff}CREATE TABLE t (id int);  \r\n-- note\t\r\nSELECT 1;\r\n\r\n";
        let old_mac = "CREATE TABLE t (id int);\r-- note\rSELECT 1;";
        assert_eq!(checksum(unix), checksum(windows));
        assert_eq!(checksum(unix), checksum(old_mac));
        assert_ne!(
            checksum(unix),
            checksum("CREATE TABLE t (id bigint);\n-- note\nSELECT 1;\n")
        );
        assert_ne!(
            checksum(unix),
            checksum("CREATE TABLE t (id int);\n-- note!\nSELECT 1;\n")
        );
        assert_eq!(checksum(unix).len(), 64);
    }
}
