//! JSON text parsing with PostgreSQL's lexer (`src/common/jsonapi.c`):
//! the same tokens, the same order of checks and the same DETAIL lines,
//! so `json` and `jsonb` input fail as PostgreSQL's do.

use crate::error::{code, Result, SqlError};

/// A parsed JSON value; `span` is its extent in the source text (json's
/// operators return values verbatim).
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub span: (usize, usize),
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Null,
    Bool(bool),
    /// The number's text is its span.
    Number,
    String(String),
    Array(Vec<Node>),
    /// Fields in input order, duplicates kept.
    Object(Vec<(String, Node)>),
}

/// Nesting beyond this fails as PostgreSQL's stack-depth check does.
const MAX_DEPTH: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    ObjStart,
    ObjEnd,
    ArrStart,
    ArrEnd,
    Comma,
    Colon,
    Str,
    Num,
    True,
    False,
    Null,
    End,
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    tok: Tok,
    start: usize,
    end: usize,
    /// The de-escaped value of the current string token.
    strval: String,
    /// jsonb: `\u0000` cannot become text.
    need_text: bool,
}

fn bad(detail: impl Into<String>) -> SqlError {
    SqlError::new(
        code::INVALID_TEXT_REPRESENTATION,
        "invalid input syntax for type json",
    )
    .with_detail(detail)
}

fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

impl<'a> Lexer<'a> {
    fn text(&self, a: usize, b: usize) -> &'a str {
        let a = a.min(self.src.len());
        let b = b.min(self.src.len()).max(a);
        self.src.get(a..b).unwrap_or("")
    }

    fn invalid(&self, a: usize, b: usize) -> SqlError {
        // A token ends on a character boundary except inside a multibyte
        // character: widen to the character.
        let mut b = b.min(self.src.len());
        while !self.src.is_char_boundary(b) {
            b += 1;
        }
        bad(format!("Token \"{}\" is invalid.", self.text(a, b)))
    }

    fn next(&mut self) -> Result<()> {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let s = self.pos;
        self.start = s;
        let Some(&c) = self.b.get(s) else {
            self.tok = Tok::End;
            self.end = s;
            return Ok(());
        };
        let single = |t| (t, s + 1);
        let (tok, end) = match c {
            b'{' => single(Tok::ObjStart),
            b'}' => single(Tok::ObjEnd),
            b'[' => single(Tok::ArrStart),
            b']' => single(Tok::ArrEnd),
            b',' => single(Tok::Comma),
            b':' => single(Tok::Colon),
            b'"' => (Tok::Str, self.string(s)?),
            b'-' => (Tok::Num, self.number(s, s + 1)?),
            b'0'..=b'9' => (Tok::Num, self.number(s, s)?),
            _ => {
                let mut p = s;
                while p < self.b.len() && alnum(self.b[p]) {
                    p += 1;
                }
                if p == s {
                    return Err(self.invalid(s, s + 1));
                }
                match &self.b[s..p] {
                    b"true" => (Tok::True, p),
                    b"false" => (Tok::False, p),
                    b"null" => (Tok::Null, p),
                    _ => return Err(self.invalid(s, p)),
                }
            }
        };
        self.tok = tok;
        self.end = end;
        self.pos = end;
        Ok(())
    }

    fn number(&self, start: usize, mut s: usize) -> Result<usize> {
        let b = self.b;
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let mut error = false;
        if b.get(s) == Some(&b'0') {
            s += 1;
        } else if b.get(s).is_some_and(|c| (b'1'..=b'9').contains(c)) {
            while digit(s) {
                s += 1;
            }
        } else {
            error = true;
        }
        if b.get(s) == Some(&b'.') {
            s += 1;
            if !digit(s) {
                error = true;
            } else {
                while digit(s) {
                    s += 1;
                }
            }
        }
        if matches!(b.get(s), Some(b'e' | b'E')) {
            s += 1;
            if matches!(b.get(s), Some(b'+' | b'-')) {
                s += 1;
            }
            if !digit(s) {
                error = true;
            } else {
                while digit(s) {
                    s += 1;
                }
            }
        }
        while s < b.len() && alnum(b[s]) {
            s += 1;
            error = true;
        }
        if error {
            return Err(self.invalid(start, s));
        }
        Ok(s)
    }

    fn string(&mut self, start: usize) -> Result<usize> {
        let b = self.b;
        let mut s = start + 1;
        let mut out = String::new();
        let mut hi: Option<u32> = None;
        let low_err = || bad("Unicode low surrogate must follow a high surrogate.");
        loop {
            let Some(&c) = b.get(s) else {
                return Err(self.invalid(start, s));
            };
            if c == b'"' {
                break;
            }
            if c < 0x20 {
                return Err(bad(format!(
                    "Character with value 0x{c:02x} must be escaped."
                )));
            }
            if c == b'\\' {
                s += 1;
                let Some(&e) = b.get(s) else {
                    return Err(self.invalid(start, s));
                };
                if e == b'u' {
                    let mut ch: u32 = 0;
                    for i in 1..=4 {
                        let d = b.get(s + i).and_then(|h| char::from(*h).to_digit(16));
                        match d {
                            Some(d) => ch = ch * 16 + d,
                            None => {
                                return Err(bad(
                                    "\"\\u\" must be followed by four hexadecimal digits.",
                                ))
                            }
                        }
                    }
                    s += 5;
                    // json (no de-escaping) does not check surrogates.
                    if !self.need_text {
                        continue;
                    }
                    if (0xd800..=0xdbff).contains(&ch) {
                        if hi.is_some() {
                            return Err(bad(
                                "Unicode high surrogate must not follow a high surrogate.",
                            ));
                        }
                        hi = Some(ch);
                        continue;
                    }
                    if (0xdc00..=0xdfff).contains(&ch) {
                        let Some(h) = hi.take() else {
                            return Err(low_err());
                        };
                        ch = 0x10000 + ((h - 0xd800) << 10) + (ch - 0xdc00);
                    } else if hi.is_some() {
                        return Err(low_err());
                    }
                    if ch == 0 && self.need_text {
                        return Err(
                            SqlError::new("22P05", "unsupported Unicode escape sequence")
                                .with_detail("\\u0000 cannot be converted to text."),
                        );
                    }
                    if let Some(c) = char::from_u32(ch) {
                        out.push(c);
                    }
                    continue;
                }
                if hi.is_some() {
                    return Err(low_err());
                }
                let r = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => {
                        let mut end = s + 1;
                        while !self.src.is_char_boundary(end.min(self.src.len())) {
                            end += 1;
                        }
                        return Err(bad(format!(
                            "Escape sequence \"\\{}\" is invalid.",
                            self.text(s, end)
                        )));
                    }
                };
                out.push(r);
                s += 1;
                continue;
            }
            if hi.is_some() {
                return Err(low_err());
            }
            let mut end = s + 1;
            while end < b.len() && !self.src.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(self.text(s, end));
            s = end;
        }
        if hi.is_some() {
            return Err(low_err());
        }
        self.strval = out;
        Ok(s + 1)
    }

    fn found(&self, what: &str) -> SqlError {
        if self.tok == Tok::End {
            return bad("The input string ended unexpectedly.");
        }
        bad(format!(
            "{what}, but found \"{}\".",
            self.text(self.start, self.end)
        ))
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(SqlError::new("54001", "stack depth limit exceeded"));
        }
        let start = self.start;
        let kind = match self.tok {
            Tok::Str => NodeKind::String(std::mem::take(&mut self.strval)),
            Tok::Num => NodeKind::Number,
            Tok::True => NodeKind::Bool(true),
            Tok::False => NodeKind::Bool(false),
            Tok::Null => NodeKind::Null,
            Tok::ArrStart => {
                self.next()?;
                let mut items = Vec::new();
                if self.tok != Tok::ArrEnd {
                    loop {
                        items.push(self.value(depth + 1)?);
                        match self.tok {
                            Tok::Comma => self.next()?,
                            Tok::ArrEnd => break,
                            _ => return Err(self.found("Expected \",\" or \"]\"")),
                        }
                    }
                }
                NodeKind::Array(items)
            }
            Tok::ObjStart => {
                self.next()?;
                let mut fields = Vec::new();
                if self.tok != Tok::ObjEnd {
                    if self.tok != Tok::Str {
                        return Err(self.found("Expected string or \"}\""));
                    }
                    loop {
                        if self.tok != Tok::Str {
                            return Err(self.found("Expected string"));
                        }
                        let key = std::mem::take(&mut self.strval);
                        self.next()?;
                        if self.tok != Tok::Colon {
                            return Err(self.found("Expected \":\""));
                        }
                        self.next()?;
                        let v = self.value(depth + 1)?;
                        fields.push((key, v));
                        match self.tok {
                            Tok::Comma => self.next()?,
                            Tok::ObjEnd => break,
                            _ => return Err(self.found("Expected \",\" or \"}\"")),
                        }
                    }
                }
                NodeKind::Object(fields)
            }
            _ => return Err(self.found("Expected JSON value")),
        };
        let end = self.end;
        self.next()?;
        Ok(Node {
            kind,
            span: (start, end),
        })
    }
}

/// Parses JSON text. `jsonb` input also rejects `\u0000`.
pub fn parse(src: &str, jsonb: bool) -> Result<Node> {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        tok: Tok::End,
        start: 0,
        end: 0,
        strval: String::new(),
        need_text: jsonb,
    };
    lx.next()?;
    let v = lx.value(0)?;
    if lx.tok != Tok::End {
        return Err(lx.found("Expected end of input"));
    }
    Ok(v)
}
