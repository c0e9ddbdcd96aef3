//! The envelope convention: a topic below a channel travels as a JSON
//! object on the channel. Pure: no I/O.
//!
//! ```text
//! channel  orders
//! payload  {"topic":"orders.created","payload":"<text>"}        inline
//!          {"topic":"orders.created","payload":{"id":7}}         any JSON: delivered as its JSON text
//!          {"topic":"orders.created","outbox":42}                spilled: row 42 of the outbox holds the payload
//! ```
//!
//! A notification is read as an envelope when its payload is a JSON object
//! with a string `topic` whose first segment is the notification's channel;
//! anything else (plain text, JSON without such a `topic`) is a plain
//! notification whose topic is the channel itself. Keys may come in any
//! order and with any spacing, so `json_build_object(..)::text` and
//! `jsonb_build_object(..)::text` from a trigger work as well as
//! [`publish`](crate::publish).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// PostgreSQL's default limit on a payload (`NOTIFY` refuses 8000 bytes
/// and more): larger envelopes go through the outbox.
pub const MAX_PAYLOAD_BYTES: usize = 7999;

/// What a notification's payload says, once read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Not an envelope: the topic is the channel, the payload as sent.
    Plain,
    /// An envelope with its payload inline.
    Inline { topic: String, payload: String },
    /// An envelope whose payload is in the outbox.
    Outbox { topic: String, id: i64 },
}

#[derive(Deserialize)]
struct In<'a> {
    #[serde(borrow)]
    topic: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(default)]
    outbox: Option<i64>,
}

#[derive(Serialize)]
struct Out<'a> {
    topic: &'a str,
    payload: &'a str,
}

/// Reads the payload of a notification on `channel`.
pub(crate) fn parse(channel: &str, payload: &str) -> Parsed {
    if !payload.trim_start().starts_with('{') {
        return Parsed::Plain;
    }
    let Ok(env) = serde_json::from_str::<In<'_>>(payload) else {
        return Parsed::Plain;
    };
    let root = env.topic.split('.').next().unwrap_or_default();
    if root != channel || crate::topic::channel_of(&env.topic).is_err() {
        return Parsed::Plain;
    }
    let topic = env.topic.into_owned();
    if let Some(id) = env.outbox {
        return Parsed::Outbox { topic, id };
    }
    let payload = match env.payload {
        None => String::new(),
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(s) => s,
            Err(_) if raw.get() == "null" => String::new(),
            Err(_) => raw.get().to_owned(),
        },
    };
    Parsed::Inline { topic, payload }
}

/// The envelope of `payload` under `topic` (whose channel is its first
/// segment).
pub(crate) fn encode(topic: &str, payload: &str) -> String {
    // (Serializing two strings cannot fail.)
    serde_json::to_string(&Out { topic, payload }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_what_sql_builds() {
        let e = encode("orders.created", "a \"quoted\"\nline é");
        assert_eq!(
            parse("orders", &e),
            Parsed::Inline {
                topic: "orders.created".into(),
                payload: "a \"quoted\"\nline é".into()
            }
        );
        // json_build_object(..)::text spacing, other key order, an object payload.
        assert_eq!(
            parse(
                "orders",
                r#"{"payload" : {"id" : 7}, "topic" : "orders.created"}"#
            ),
            Parsed::Inline {
                topic: "orders.created".into(),
                payload: r#"{"id" : 7}"#.into()
            }
        );
        assert_eq!(
            parse("orders", r#"{"topic": "orders.big", "outbox": 42}"#),
            Parsed::Outbox {
                topic: "orders.big".into(),
                id: 42
            }
        );
        assert_eq!(
            parse("orders", r#"{"topic":"orders.x","payload":null}"#),
            Parsed::Inline {
                topic: "orders.x".into(),
                payload: String::new()
            }
        );
    }

    #[test]
    fn anything_else_is_plain() {
        assert_eq!(parse("orders", "hello"), Parsed::Plain);
        assert_eq!(parse("orders", ""), Parsed::Plain);
        assert_eq!(parse("orders", r#"{"id": 7}"#), Parsed::Plain);
        assert_eq!(parse("orders", "{not json"), Parsed::Plain);
        // A topic of another channel, or a pattern, is not an envelope here.
        assert_eq!(
            parse("orders", r#"{"topic":"users.created"}"#),
            Parsed::Plain
        );
        assert_eq!(parse("orders", r#"{"topic":"orders.*"}"#), Parsed::Plain);
        assert_eq!(parse("orders", r#"{"topic":7}"#), Parsed::Plain);
    }
}
