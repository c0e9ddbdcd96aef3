//! Secrets never reach an error message: a value that looks like a
//! connection URL has its password replaced, and `password=..` words or
//! parameters are hidden. Pure: unit-tested below.

/// `text` with passwords hidden: `scheme://user:secret@host` becomes
/// `scheme://user:***@host`, and `password=secret` (a URL parameter or a
/// `key=value` word, any case) becomes `password=***`.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // user:password@ after "://".
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let auth_end = tail
            .find(|c: char| c == '/' || c == '?' || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        match tail[..auth_end].rfind('@') {
            Some(at) => {
                let userinfo = &tail[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&tail[at..auth_end]);
            }
            None => out.push_str(&tail[..auth_end]),
        }
        rest = &tail[auth_end..];
    }
    out.push_str(rest);
    hide_password_words(&out)
}

/// `password=..` up to the next `&`, space or quote.
fn hide_password_words(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(p) = lower[i..].find("password") {
        let start = i + p + "password".len();
        let after = text[start..].trim_start_matches(' ');
        if let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start_matches(' ');
            let vstart = text.len() - v.len();
            let quote = v.chars().next().filter(|c| *c == '\'' || *c == '"');
            let vend = if let Some(q) = quote {
                v[1..].find(q).map_or(text.len(), |e| vstart + e + 2)
            } else {
                v.find(|c: char| c == '&' || c.is_whitespace() || c == '"' || c == ';')
                    .map_or(text.len(), |e| vstart + e)
            };
            out.push_str(&text[i..vstart]);
            out.push_str("***");
            i = vend;
        } else {
            out.push_str(&text[i..start]);
            i = start;
        }
    }
    out.push_str(&text[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden() {
        for (given, want) in [
            (
                "postgresql://app:hunter2@db:5432/x?sslmode=disable",
                "postgresql://app:***@db:5432/x?sslmode=disable",
            ),
            ("postgres://app@db/x", "postgres://app@db/x"),
            (
                "url \"postgresql://a:p%40ss@h/d\" bad",
                "url \"postgresql://a:***@h/d\" bad",
            ),
            (
                "postgresql://a@h/d?password=hunter2&sslmode=x",
                "postgresql://a@h/d?password=***&sslmode=x",
            ),
            (
                "host=db password='a b' user=x",
                "host=db password=*** user=x",
            ),
            ("PASSWORD = s3cr3t;", "PASSWORD = ***;"),
            ("{ password = \"hunter2\" }", "{ password = *** }"),
            ("no secrets here", "no secrets here"),
        ] {
            assert_eq!(redact(given), want, "{given}");
        }
    }
}
