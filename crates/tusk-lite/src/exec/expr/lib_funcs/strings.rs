//! The string functions' cores, free of the executor: split_part,
//! lpad/rpad, initcap, translate, chr, quote_literal, regexp_replace and
//! format(), with PostgreSQL's errors.

use super::*;

pub(super) fn split_part(s: &str, delim: &str, n: i64) -> Result<String> {
    if n == 0 {
        return Err(bad_param("field position must not be zero"));
    }
    if s.is_empty() {
        return Ok(String::new());
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 {
            s.to_string()
        } else {
            String::new()
        });
    }
    let parts: Vec<&str> = s.split(delim).collect();
    let k = len_i64(parts.len());
    let idx = if n > 0 { n - 1 } else { k + n };
    Ok(usize::try_from(idx)
        .ok()
        .and_then(|i| parts.get(i))
        .map(|p| (*p).to_string())
        .unwrap_or_default())
}

pub(super) fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String> {
    let len = usize::try_from(len.max(0)).unwrap_or(0);
    if len > (1 << 28) {
        return Err(program_limit("requested length too large"));
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len || fill.is_empty() {
        return Ok(chars[..len.min(chars.len())].iter().collect());
    }
    let padding: String = fill.chars().cycle().take(len - chars.len()).collect();
    Ok(if left {
        format!("{padding}{s}")
    } else {
        format!("{s}{padding}")
    })
}

/// initcap under the C locale (tusk-lite's, as the test kit's
/// PostgreSQL): ASCII letters change case, other characters are not
/// letters.
pub(super) fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_alnum = false;
    for c in s.chars() {
        out.push(if prev_alnum {
            c.to_ascii_lowercase()
        } else {
            c.to_ascii_uppercase()
        });
        prev_alnum = c.is_ascii_alphanumeric();
    }
    out
}

pub(super) fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

pub(super) fn chr(n: i64) -> Result<String> {
    if n < 0 {
        return Err(bad_param("character number must be positive"));
    }
    if n == 0 {
        return Err(program_limit("null character not permitted"));
    }
    let u = u32::try_from(n).unwrap_or(u32::MAX);
    if u > 0x10_FFFF {
        return Err(program_limit(format!(
            "requested character too large for encoding: {u}"
        )));
    }
    char::from_u32(u)
        .map(String::from)
        .ok_or_else(|| program_limit(format!("requested character not valid for encoding: {u}")))
}

pub(super) fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// regexp_replace(source, pattern, replacement, flags): `\1`..`\9` and
/// `\&` in the replacement, flags g (every match), i, c.
pub(super) fn regexp_replace(s: &str, pattern: &str, repl: &str, flags: &str) -> Result<String> {
    let mut global = false;
    let mut ci = false;
    for c in flags.chars() {
        match c {
            'g' => global = true,
            'i' => ci = true,
            'c' => ci = false,
            _ => {
                return Err(bad_param(format!(
                    "invalid regular expression option: \"{c}\""
                )))
            }
        }
    }
    let re = regex::RegexBuilder::new(pattern)
        .case_insensitive(ci)
        .build()
        .map_err(|e| {
            SqlError::new(
                code::INVALID_REGULAR_EXPRESSION,
                format!("invalid regular expression: {e}"),
            )
        })?;
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        let mut chars = repl.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some(d @ '1'..='9') => {
                    chars.next();
                    let k = usize::try_from(d.to_digit(10).unwrap_or(0)).unwrap_or(0);
                    if let Some(g) = caps.get(k) {
                        out.push_str(g.as_str());
                    }
                }
                Some('&') => {
                    chars.next();
                    out.push_str(m.as_str());
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        }
        last = m.end();
        if !global {
            break;
        }
    }
    out.push_str(&s[last..]);
    Ok(out)
}

pub(super) fn format_error(msg: &str) -> SqlError {
    bad_param(msg).with_hint("For a single \"%\" use \"%%\".")
}

/// format(fmt, args): `%[n$][-][width]type` with types s, I and L, and
/// `%%`; a `*` width takes the next argument.
pub(super) fn format(fmt: &str, args: &[(Value, Type)]) -> Result<String> {
    let mut out = String::with_capacity(fmt.len());
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut next_arg = 0usize;
    let digits = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        (*i > start).then(|| {
            chars[start..*i]
                .iter()
                .collect::<String>()
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        })
    };
    let unterminated = || format_error("unterminated format() type specifier");
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        if i >= chars.len() {
            return Err(unterminated());
        }
        if chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // An argument position n$, else the flags and width start here.
        let save = i;
        let mut pos = None;
        if let Some(n) = digits(&mut i) {
            if chars.get(i) == Some(&'$') {
                if n == 0 {
                    return Err(bad_param(
                        "format specifies argument 0, but arguments are numbered from 1",
                    ));
                }
                pos = Some(n);
                i += 1;
            } else {
                i = save;
            }
        }
        let mut left = false;
        while chars.get(i) == Some(&'-') {
            left = true;
            i += 1;
        }
        let mut width: Option<i64> = None;
        if chars.get(i) == Some(&'*') {
            i += 1;
            let w = args
                .get(next_arg)
                .ok_or_else(|| bad_param("too few arguments for format()"))?;
            next_arg += 1;
            width = match &w.0 {
                Value::Null => None,
                Value::Int(n) => Some(*n),
                _ => return Err(bad_param("width argument of format() must be an integer")),
            };
        } else if let Some(w) = digits(&mut i) {
            width = Some(i64::try_from(w).unwrap_or(i64::MAX));
        }
        let Some(&kind) = chars.get(i) else {
            return Err(unterminated());
        };
        i += 1;
        if !matches!(kind, 's' | 'I' | 'L') {
            return Err(format_error(&format!(
                "unrecognized format() type specifier \"{kind}\""
            )));
        }
        let idx = match pos {
            Some(n) => n - 1,
            None => next_arg,
        };
        let (v, ty) = args
            .get(idx)
            .ok_or_else(|| bad_param("too few arguments for format()"))?;
        next_arg = idx + 1;
        let s = match (kind, v) {
            ('s', Value::Null) => String::new(),
            ('I', Value::Null) => {
                return Err(SqlError::new(
                    "22004",
                    "null values cannot be formatted as an SQL identifier",
                ))
            }
            ('L', Value::Null) => "NULL".to_string(),
            ('s', v) => types::format_text(v, *ty),
            ('I', v) => crate::sql::syscat::quote_ident(&types::format_text(v, *ty)),
            (_, v) => quote_literal(&types::format_text(v, *ty)),
        };
        let (left, w) = match width {
            Some(w) if w < 0 => (true, usize::try_from(w.unsigned_abs()).unwrap_or(0)),
            Some(w) => (left, usize::try_from(w).unwrap_or(0)),
            None => (left, 0),
        };
        let n = s.chars().count();
        if w > n {
            if w > (1 << 28) {
                return Err(program_limit("requested length too large"));
            }
            let fill = " ".repeat(w - n);
            if left {
                out.push_str(&s);
                out.push_str(&fill);
            } else {
                out.push_str(&fill);
                out.push_str(&s);
            }
        } else {
            out.push_str(&s);
        }
    }
    Ok(out)
}

/// A pattern compiled with regexp flags (i, c); `fname` refuses 'g' as
/// PostgreSQL's non-global regexp functions do.
pub(super) fn regex_with_flags(pattern: &str, flags: &str, fname: &str) -> Result<regex::Regex> {
    let mut ci = false;
    for c in flags.chars() {
        match c {
            'i' => ci = true,
            'c' => ci = false,
            'g' => {
                return Err(bad_param(format!(
                    "{fname} does not support the \"global\" option"
                )))
            }
            _ => {
                return Err(bad_param(format!(
                    "invalid regular expression option: \"{c}\""
                )))
            }
        }
    }
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ci)
        .build()
        .map_err(|e| {
            SqlError::new(
                code::INVALID_REGULAR_EXPRESSION,
                format!("invalid regular expression: {e}"),
            )
        })
}

/// substring(s FROM pattern): the first parenthesized part of the first
/// match when the pattern has one, else the whole match; None without a
/// match.
pub(super) fn regex_substring(s: &str, pattern: &str) -> Result<Option<String>> {
    let re = regex_with_flags(pattern, "", "substring()")?;
    let Some(caps) = re.captures(s) else {
        return Ok(None);
    };
    let k = usize::from(re.captures_len() > 1);
    Ok(caps.get(k).map(|m| m.as_str().to_string()))
}

fn check_param(name: &str, v: i64, min: i64) -> Result<()> {
    if v < min {
        return Err(bad_param(format!(
            "invalid value for parameter \"{name}\": {v}"
        )));
    }
    Ok(())
}

/// The byte range of the `subexpr` group of the `n`th match at or after
/// character `start` (1-based) of `s`.
fn nth_match(
    s: &str,
    re: &regex::Regex,
    start: i64,
    n: i64,
    subexpr: i64,
) -> Option<(usize, usize)> {
    let skip = usize::try_from(start - 1).ok()?;
    let from = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
    let caps = re
        .captures_iter(&s[from..])
        .nth(usize::try_from(n - 1).ok()?)?;
    let m = caps.get(usize::try_from(subexpr).ok()?)?;
    Some((from + m.start(), from + m.end()))
}

/// regexp_substr(s, pattern, start, n, flags, subexpr).
pub(super) fn regexp_substr(
    s: &str,
    pattern: &str,
    start: i64,
    n: i64,
    flags: &str,
    subexpr: i64,
) -> Result<Option<String>> {
    check_param("start", start, 1)?;
    check_param("n", n, 1)?;
    check_param("subexpr", subexpr, 0)?;
    let re = regex_with_flags(pattern, flags, "regexp_substr()")?;
    Ok(nth_match(s, &re, start, n, subexpr).map(|(a, b)| s[a..b].to_string()))
}

/// regexp_instr(s, pattern, start, n, endoption, flags, subexpr): the
/// match's first character (or the one after it), 1-based; 0 without one.
pub(super) fn regexp_instr(
    s: &str,
    pattern: &str,
    start: i64,
    n: i64,
    endoption: i64,
    flags: &str,
    subexpr: i64,
) -> Result<i64> {
    check_param("start", start, 1)?;
    check_param("n", n, 1)?;
    if endoption != 0 && endoption != 1 {
        return Err(bad_param(format!(
            "invalid value for parameter \"endoption\": {endoption}"
        )));
    }
    check_param("subexpr", subexpr, 0)?;
    let re = regex_with_flags(pattern, flags, "regexp_instr()")?;
    Ok(match nth_match(s, &re, start, n, subexpr) {
        Some((a, b)) => {
            let at = if endoption == 1 { b } else { a };
            len_i64(s[..at].chars().count()) + 1
        }
        None => 0,
    })
}
