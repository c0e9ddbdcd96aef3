//! Topics, patterns and channels: parsing, validation, quoting, matching.
//! Pure: no I/O.
//!
//! A *topic* is a dot-separated name, `orders.created.eu`. Its first
//! segment (`orders`) is the PostgreSQL *channel* it travels on; a topic
//! without a dot is a plain channel. A *pattern* is a topic whose segments
//! after the first may be `*` (exactly one segment) or, as the last
//! segment, `**` (one or more segments). The channel segment is always
//! literal: that is what the [`Listener`](crate::Listener) `LISTEN`s to.

use std::fmt;

/// PostgreSQL's longest identifier in bytes (`NAMEDATALEN - 1`). The server
/// silently truncates a longer channel name, which would make two channels
/// one: tusk refuses it instead.
pub const MAX_CHANNEL_BYTES: usize = 63;

/// Why a topic, pattern or channel name was refused. The source of the
/// [`tusk::Error`] (kind [`Syntax`](tusk::ErrorKind::Syntax)) that
/// [`Listener::listen`](crate::Listener::listen) and
/// [`publish`](crate::publish) return for it; get it back with
/// `err.source().and_then(|s| s.downcast_ref::<InvalidTopic>())`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTopic {
    /// The name as given.
    pub topic: String,
    /// What is wrong with it.
    pub reason: InvalidReason,
}

/// What is wrong with a topic or pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The name is empty.
    Empty,
    /// A segment is empty (`orders..created`, a leading or trailing dot).
    EmptySegment,
    /// The channel (first segment) is longer than [`MAX_CHANNEL_BYTES`].
    ChannelTooLong,
    /// The name contains a NUL character, which no identifier can hold.
    Nul,
    /// The channel segment is a wildcard: PostgreSQL has no pattern
    /// `LISTEN`, so a pattern must name its channel.
    WildcardChannel,
    /// `*` or `**` inside a segment (`ord*`), or `**` before the last segment.
    BadWildcard,
    /// A wildcard where a concrete topic is needed (publishing).
    WildcardInTopic,
}

impl fmt::Display for InvalidTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            InvalidReason::Empty => "it is empty",
            InvalidReason::EmptySegment => "it has an empty segment (two dots in a row, or a dot at an end)",
            InvalidReason::ChannelTooLong => "its channel (the part before the first dot) is longer than 63 bytes, which PostgreSQL would silently truncate",
            InvalidReason::Nul => "it contains a NUL character",
            InvalidReason::WildcardChannel => "its first segment is a wildcard: PostgreSQL cannot LISTEN to a pattern, so a pattern must start with a literal channel (`orders.*`)",
            InvalidReason::BadWildcard => "a wildcard must be a whole segment (`*`), and `**` only the last one",
            InvalidReason::WildcardInTopic => "a topic to publish cannot hold wildcards",
        };
        write!(f, "invalid topic {:?}: {why}", self.topic)
    }
}

impl std::error::Error for InvalidTopic {}

impl InvalidTopic {
    pub(crate) fn new(topic: &str, reason: InvalidReason) -> InvalidTopic {
        InvalidTopic {
            topic: topic.to_owned(),
            reason,
        }
    }

    /// As the one error type of tusk.
    pub(crate) fn into_error(self) -> tusk::Error {
        tusk::Error::with_source(tusk::ErrorKind::Syntax, self.to_string(), self)
    }
}

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: one or more segments (last only).
    Rest,
}

/// A parsed subscription pattern (or plain topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    channel: String,
    /// Segments after the channel.
    tail: Vec<Seg>,
    wild: bool,
}

impl Pattern {
    /// Parses a topic or pattern (`orders`, `orders.created`, `orders.*`,
    /// `orders.**`).
    pub fn parse(text: &str) -> Result<Pattern, InvalidTopic> {
        let bad = |reason| Err(InvalidTopic::new(text, reason));
        if text.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if text.contains('\0') {
            return bad(InvalidReason::Nul);
        }
        let mut parts = text.split('.');
        let channel = parts.next().unwrap_or_default();
        if channel.is_empty() {
            return bad(InvalidReason::EmptySegment);
        }
        if channel == "*" || channel == "**" {
            return bad(InvalidReason::WildcardChannel);
        }
        if channel.contains('*') {
            return bad(InvalidReason::BadWildcard);
        }
        if channel.len() > MAX_CHANNEL_BYTES {
            return bad(InvalidReason::ChannelTooLong);
        }
        let rest: Vec<&str> = parts.collect();
        let mut tail = Vec::with_capacity(rest.len());
        for (i, s) in rest.iter().enumerate() {
            let seg = match *s {
                "" => return bad(InvalidReason::EmptySegment),
                "*" => Seg::One,
                "**" if i + 1 == rest.len() => Seg::Rest,
                s if s.contains('*') => return bad(InvalidReason::BadWildcard),
                s => Seg::Lit(s.to_owned()),
            };
            tail.push(seg);
        }
        let wild = tail.iter().any(|s| !matches!(s, Seg::Lit(_)));
        Ok(Pattern {
            text: text.to_owned(),
            channel: channel.to_owned(),
            tail,
            wild,
        })
    }

    /// The PostgreSQL channel this pattern's topics travel on (the first
    /// segment), as `LISTEN` and `pg_notify` spell it (case kept).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the pattern holds a wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.wild
    }

    /// Whether `topic` (a concrete topic) matches.
    pub fn matches(&self, topic: &str) -> bool {
        if !self.wild {
            return topic == self.text;
        }
        let mut parts = topic.split('.');
        if parts.next() != Some(self.channel.as_str()) {
            return false;
        }
        for seg in &self.tail {
            match seg {
                Seg::Lit(l) => {
                    if parts.next() != Some(l.as_str()) {
                        return false;
                    }
                }
                Seg::One => {
                    if parts.next().is_none_or(str::is_empty) {
                        return false;
                    }
                }
                Seg::Rest => return parts.next().is_some_and(|p| !p.is_empty()),
            }
        }
        parts.next().is_none()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks a concrete topic (no wildcards) and returns its channel.
pub fn channel_of(topic: &str) -> Result<&str, InvalidTopic> {
    let p = Pattern::parse(topic)?;
    if p.is_wildcard() {
        return Err(InvalidTopic::new(topic, InvalidReason::WildcardInTopic));
    }
    Ok(topic.split('.').next().unwrap_or(topic))
}

/// `name` as a quoted SQL identifier: wrapped in double quotes, a double
/// quote inside doubled. Channel names are case-sensitive this way
/// (`LISTEN "Orders"` is not `LISTEN orders`), as `pg_notify('Orders', ..)`
/// spells them.
pub fn quote_ident(name: &str) -> String {
    let mut q = String::with_capacity(name.len() + 2);
    q.push('"');
    for c in name.chars() {
        if c == '"' {
            q.push('"');
        }
        q.push(c);
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> InvalidReason {
        Pattern::parse(s).unwrap_err().reason
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Pattern::parse("orders").unwrap().channel(), "orders");
        assert_eq!(Pattern::parse("orders.*.eu").unwrap().channel(), "orders");
        assert_eq!(
            Pattern::parse("Mixed Case.x").unwrap().channel(),
            "Mixed Case"
        );
        assert_eq!(reason(""), InvalidReason::Empty);
        assert_eq!(reason(".a"), InvalidReason::EmptySegment);
        assert_eq!(reason("a..b"), InvalidReason::EmptySegment);
        assert_eq!(reason("a."), InvalidReason::EmptySegment);
        assert_eq!(reason("*.created"), InvalidReason::WildcardChannel);
        assert_eq!(reason("**"), InvalidReason::WildcardChannel);
        assert_eq!(reason("or*"), InvalidReason::BadWildcard);
        assert_eq!(reason("a.b*"), InvalidReason::BadWildcard);
        assert_eq!(reason("a.**.b"), InvalidReason::BadWildcard);
        assert_eq!(reason("a\0b"), InvalidReason::Nul);
        assert_eq!(reason(&"x".repeat(64)), InvalidReason::ChannelTooLong);
        assert!(Pattern::parse(&format!("{}.{}", "x".repeat(63), "y".repeat(200))).is_ok());
        // 63 bytes of multi-byte characters: bytes count, not characters.
        assert_eq!(reason(&"é".repeat(32)), InvalidReason::ChannelTooLong);
        assert_eq!(
            channel_of("a.*").unwrap_err().reason,
            InvalidReason::WildcardInTopic
        );
        assert_eq!(channel_of("a.b.c").unwrap(), "a");
    }

    #[test]
    fn matches_one_segment_and_the_rest() {
        let star = Pattern::parse("orders.*").unwrap();
        assert!(star.matches("orders.created"));
        assert!(!star.matches("orders"));
        assert!(!star.matches("orders.created.eu"));
        assert!(!star.matches("ordersx.created"));
        assert!(!star.matches("users.created"));
        let mid = Pattern::parse("orders.*.eu").unwrap();
        assert!(mid.matches("orders.created.eu"));
        assert!(!mid.matches("orders.created.us"));
        let rest = Pattern::parse("orders.**").unwrap();
        assert!(rest.matches("orders.created"));
        assert!(rest.matches("orders.created.eu.fr"));
        assert!(!rest.matches("orders"));
        let exact = Pattern::parse("orders.created").unwrap();
        assert!(exact.matches("orders.created"));
        assert!(!exact.matches("orders.created.eu"));
        assert!(Pattern::parse("orders").unwrap().matches("orders"));
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("orders"), "\"orders\"");
        assert_eq!(quote_ident("Mixed Case"), "\"Mixed Case\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("x'; DROP"), "\"x'; DROP\"");
    }
}
