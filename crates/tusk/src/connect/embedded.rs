//! `lite:` URLs: a database engine embedded in this process (tusk-lite)
//! serves the connection over a socket pair.
//!
//! The driver does not depend on the engine (the engine depends on the
//! driver, and most programs want neither its size nor its build); an
//! engine registers itself once with [`register_embedded`], and from then
//! on [`crate::connect`] accepts `lite:` URLs. Without a registered
//! engine such a URL fails with a configuration error that says so.

use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

use crate::config::Config;
use crate::connection::Connection;
use crate::error::{Error, ErrorKind};

/// An embedded engine's entry point: serve one PostgreSQL-protocol
/// session on `stream` for the database `target` names (the URL after
/// `lite:`, e.g. `memory` or `///var/lib/app`), typically on a thread of
/// its own; an error (the database cannot be opened) fails the connect.
pub type EmbeddedServe = fn(target: &str, stream: UnixStream) -> Result<(), String>;

static EMBEDDED: OnceLock<EmbeddedServe> = OnceLock::new();

/// Registers the engine that serves `lite:` URLs (tusk-lite's
/// `register()` calls this). The first registration wins; later ones are
/// ignored and return false.
pub fn register_embedded(serve: EmbeddedServe) -> bool {
    EMBEDDED.set(serve).is_ok()
}

/// The scheme of embedded URLs.
pub(crate) const SCHEME: &str = "lite:";

/// Connects to the embedded database `target` names.
pub(crate) async fn connect_embedded(target: &str) -> Result<Connection, Error> {
    let Some(serve) = EMBEDDED.get().copied() else {
        return Err(Error::new(
            ErrorKind::Configuration,
            "lite: URLs need the embedded engine: call tusk_lite::register() first \
             (the tusk CLI has it when built with --features lite)",
        ));
    };
    let config = Config::parse("user=tusk dbname=tusk")?;
    let mut failure = None;
    let conn = super::connect_in_process(&config, |stream| {
        if let Err(e) = serve(target, stream) {
            failure = Some(e);
        }
    })
    .await;
    match failure {
        Some(e) => Err(Error::new(
            ErrorKind::Connection,
            format!("opening the embedded database {SCHEME}{target}: {e}"),
        )),
        None => conn,
    }
}

#[cfg(test)]
mod tests {
    /// Without a registered engine a `lite:` URL is a configuration
    /// error that says what to do (the driver's own tests never register).
    #[tokio::test]
    async fn lite_url_without_an_engine_says_what_to_do() {
        let e = crate::connect("lite:memory").await.unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Configuration);
        assert!(e.to_string().contains("tusk_lite::register()"), "{e}");
    }
}
