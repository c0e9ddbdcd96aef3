//! How a server authenticates its clients: trust (any user, no password)
//! or SCRAM-SHA-256, as PostgreSQL's `scram-sha-256` method in
//! `pg_hba.conf` does, with pgwire's SCRAM state machine.
//!
//! Passwords are salted and hashed (PBKDF2, 4096 iterations, a random
//! salt per user) when the configuration is made; the passwords
//! themselves are not kept, and the exchange checks the client's proof
//! against the stored key derived from them, as PostgreSQL does with the
//! verifier in `pg_authid`. A
//! user with no password gets a made-up verifier whose salt depends only
//! on the name, and fails at the end of the exchange with the same
//! message as a wrong password, so a client cannot learn which users
//! exist (PostgreSQL's "mock authentication").

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramSecret, ScramServerAuth};
use pgwire::error::PgWireError;
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage as B, PgWireFrontendMessage as F};

use super::Conn;
use crate::error::{code, SqlError};

/// SCRAM's iteration count, PostgreSQL's default (`scram_iterations`).
const ITERATIONS: usize = 4096;

/// The one SASL mechanism offered (no TLS, so no `-PLUS`).
const MECHANISM: &str = "SCRAM-SHA-256";

/// How a server started with [`serve_with`](crate::serve_with) or
/// [`Database::serve_with`](crate::Database::serve_with) authenticates
/// the clients that connect to it.
///
/// ```
/// let auth = tusk_lite::Auth::scram([("app", "s3cret")]);
/// assert!(format!("{auth:?}").contains("app"));
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default)]
pub enum Auth {
    /// Every client is let in under the user it names, with no password
    /// (PostgreSQL's `trust`). The default, and what the embedded
    /// connection ([`Database::connect`](crate::Database::connect)) uses.
    #[default]
    Trust,
    /// SCRAM-SHA-256 with a password per user; any other user is refused.
    Scram(Arc<ScramUsers>),
}

impl Auth {
    /// SCRAM-SHA-256 for these users and passwords. Computing each
    /// verifier runs PBKDF2 4,096 times (a few milliseconds a user). A
    /// user whose password is empty cannot log in, as in PostgreSQL
    /// (which stores no password for `PASSWORD ''`).
    pub fn scram<U, P>(users: impl IntoIterator<Item = (U, P)>) -> Auth
    where
        U: Into<String>,
        P: AsRef<str>,
    {
        let users = users
            .into_iter()
            .filter(|(_, password)| !password.as_ref().is_empty())
            .map(|(user, password)| {
                let salt: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
                let salted = gen_salted_password(password.as_ref(), &salt, ITERATIONS);
                let secret = Verifier {
                    salt: salt.to_vec(),
                    salted,
                };
                (user.into(), secret)
            })
            .collect();
        Auth::Scram(Arc::new(ScramUsers {
            users,
            mock_key: std::array::from_fn(|_| fastrand::u8(..)),
        }))
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Trust => f.write_str("Trust"),
            Auth::Scram(u) => {
                let mut names: Vec<&str> = u.users.keys().map(String::as_str).collect();
                names.sort_unstable();
                f.debug_tuple("Scram").field(&names).finish()
            }
        }
    }
}

/// A user's salt and salted password (`Hi(password, salt, ITERATIONS)`),
/// from which the SCRAM verifier is derived at each authentication.
struct Verifier {
    salt: Vec<u8>,
    salted: Vec<u8>,
}

/// The SCRAM verifiers of [`Auth::Scram`], by user name.
pub struct ScramUsers {
    users: HashMap<String, Verifier>,
    /// Makes an unknown user's made-up salt unpredictable to clients and
    /// the same on every attempt.
    mock_key: [u8; 32],
}

impl ScramUsers {
    /// The user's verifier, or a made-up one that no proof matches.
    fn secret(&self, user: &str) -> ScramSecret {
        if let Some(v) = self.users.get(user) {
            return ScramSecret::verifier_from_salted_password(
                v.salt.clone(),
                v.salted.clone(),
                ITERATIONS,
            );
        }
        // HMAC-SHA-256 keyed by the user's name over the secret key (one
        // round of SCRAM's Hi): the same salt on every attempt, and none
        // a client can tell from a real one.
        let digest = gen_salted_password(user, &self.mock_key, 1);
        ScramSecret::Verifier {
            salt: digest[..16].to_vec(),
            iterations: ITERATIONS,
            // No client key hashes to these: random, fresh each time.
            stored_key: (0..32).map(|_| fastrand::u8(..)).collect(),
            server_key: (0..32).map(|_| fastrand::u8(..)).collect(),
        }
    }
}

fn failed(user: &str) -> SqlError {
    SqlError::new(
        code::INVALID_PASSWORD,
        format!("password authentication failed for user \"{user}\""),
    )
}

fn malformed(detail: impl fmt::Display) -> SqlError {
    SqlError::new(
        code::PROTOCOL_VIOLATION,
        format!("malformed SCRAM message: {detail}"),
    )
}

/// The next message, which must be a password-family message; None when
/// the client hung up.
fn password_message<S: Read + Write>(
    c: &mut Conn<S>,
) -> Result<Option<PasswordMessageFamily>, SqlError> {
    // PostgreSQL looks at the type byte alone before reading a message
    // here: anything else is refused at once, whatever length it claims
    // (an unauthenticated client is not read up to a gigabyte).
    while c.rbuf.is_empty() {
        let mut byte = [0u8; 1];
        match c.stream.read(&mut byte) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => c.rbuf.extend_from_slice(&byte),
        }
    }
    if c.rbuf[0] != b'p' {
        return Err(SqlError::new(
            code::PROTOCOL_VIOLATION,
            format!("expected SASL response, got message type {}", c.rbuf[0]),
        ));
    }
    match c.read_msg() {
        Ok(Some(F::PasswordMessageFamily(p))) => Ok(Some(p)),
        Ok(None) | Err(_) => Ok(None),
        Ok(Some(_)) => Err(SqlError::new(
            code::PROTOCOL_VIOLATION,
            "expected SASL response, got another message",
        )),
    }
}

/// A SASLInitialResponse's mechanism and client-first message (None for
/// a length of -1), read here rather than by pgwire's decoder, which
/// panics on a body too short for its fields.
fn initial_response(p: PasswordMessageFamily) -> Result<(Vec<u8>, Option<Vec<u8>>), SqlError> {
    let body = match p {
        PasswordMessageFamily::Raw(body) => body,
        PasswordMessageFamily::SASLInitialResponse(m) => {
            return Ok((m.auth_method.into_bytes(), m.data.map(|d| d.to_vec())))
        }
        _ => return Err(malformed("expected a SASLInitialResponse")),
    };
    let nul = body
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| malformed("the mechanism name is not terminated"))?;
    let (mechanism, rest) = (&body[..nul], &body[nul + 1..]);
    let len: [u8; 4] = rest
        .get(..4)
        .and_then(|l| l.try_into().ok())
        .ok_or_else(|| malformed("the message is too short"))?;
    let data = &rest[4..];
    let data = match i32::from_be_bytes(len) {
        -1 if data.is_empty() => None,
        n if usize::try_from(n).is_ok_and(|n| n == data.len()) => Some(data.to_vec()),
        _ => {
            return Err(malformed(
                "the length of the client's first message is wrong",
            ))
        }
    };
    Ok((mechanism.to_vec(), data))
}

/// Runs the SCRAM-SHA-256 exchange for `user` on `c`, up to and
/// including AuthenticationSASLFinal. `Ok(false)`: the client hung up.
pub(super) fn scram<S: Read + Write>(
    c: &mut Conn<S>,
    users: &ScramUsers,
    user: &str,
) -> Result<bool, SqlError> {
    c.send(B::Authentication(Authentication::SASL(vec![
        MECHANISM.to_owned()
    ])));
    c.flush().map_err(|_| failed(user))?;
    let Some(first) = password_message(c)? else {
        return Ok(false);
    };
    let (mechanism, data) = initial_response(first)?;
    if mechanism != MECHANISM.as_bytes() {
        return Err(SqlError::new(
            code::PROTOCOL_VIOLATION,
            "client selected an invalid SASL authentication mechanism",
        ));
    }
    let data = data.ok_or_else(|| malformed("the client's first message is missing"))?;
    let server = ScramServerAuth::new();
    let (server_first, waiting) = server
        .on_client_first_message_with_secret(&data, users.secret(user))
        .map_err(malformed)?;
    c.send(B::Authentication(Authentication::SASLContinue(
        server_first.into_bytes().into(),
    )));
    c.flush().map_err(|_| failed(user))?;
    let Some(last) = password_message(c)? else {
        return Ok(false);
    };
    let last = match last {
        PasswordMessageFamily::Raw(body) => body.freeze(),
        PasswordMessageFamily::SASLResponse(r) => r.data,
        _ => return Err(malformed("expected a SASLResponse")),
    };
    match waiting.on_client_final_message(&last) {
        Ok(server_final) => {
            c.send(B::Authentication(Authentication::SASLFinal(
                server_final.into_bytes().into(),
            )));
            Ok(true)
        }
        Err(PgWireError::InvalidPassword(_)) => Err(failed(user)),
        Err(e) => Err(malformed(e)),
    }
}
