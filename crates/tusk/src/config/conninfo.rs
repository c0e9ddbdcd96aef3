//! The `key=value` connection string syntax (libpq's "keyword/value
//! connection strings"): pairs separated by whitespace, optional whitespace
//! around `=`, values either bare (up to the next whitespace) or single-quoted
//! (`'a value'`, `''`), with `\'` and `\\` escapes in both.

use super::ConfigError;

/// Splits `s` into `(keyword, value)` pairs, in order. Keywords are not
/// checked here.
pub(super) fn parse_pairs(s: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_ascii_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            let message = format!(
                "missing \"=\" after \"{key}\" in connection string (write key=value pairs, \
                 e.g. \"host=localhost dbname=app\", or a postgresql:// URL)"
            );
            return Err(ConfigError::syntax(Some(&key), message));
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                let message = format!(
                    "unterminated quoted string in connection string (the value of \"{key}\" \
                     needs a closing ')"
                );
                return Err(ConfigError::syntax(Some(&key), message));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_ascii_whitespace()) {
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// Writes `value` so that [`parse_pairs`] reads it back: bare when it can be,
/// else single-quoted with `'` and `\` escaped.
pub(super) fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_ascii_whitespace() || c == '\'' || c == '\\');
    if bare {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}
