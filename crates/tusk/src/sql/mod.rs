//! SQL text as PostgreSQL reads it: one tokenizer ([`lexer`]) for every
//! place that looks inside SQL (spotting transaction control or session
//! state, splitting statements, hiding literals in logs).

pub mod lexer;

pub use lexer::{placeholders, redact_literals, statements, tokens, Token, TokenKind};
