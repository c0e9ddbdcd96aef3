//! Connecting to a server that runs in this process (tusk-lite), over a
//! socket pair: no TCP port and no file.

use std::os::unix::net::UnixStream;

use crate::cancel::CancelAddr;
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::io::{Io, Sock};

/// Creates a connected socket pair, hands one end to `serve` (which must
/// run a PostgreSQL-protocol session on it, e.g. on a thread of its own),
/// and opens a [`Connection`] on the other end with `config`'s user,
/// database and options. TLS and host settings are ignored. Cancel
/// requests are not supported on such a connection.
pub async fn connect_in_process(
    config: &Config,
    serve: impl FnOnce(UnixStream),
) -> Result<Connection, Error> {
    let (client, server) =
        UnixStream::pair().map_err(|e| Error::io("creating a socket pair failed", e))?;
    client
        .set_nonblocking(true)
        .map_err(|e| Error::io("socket setup failed", e))?;
    serve(server);
    let io =
        Io::new(Sock::Unix(client)).map_err(|e| Error::io("registering the socket failed", e))?;
    super::startup(
        config,
        io,
        CancelAddr::Unix(std::path::PathBuf::new()),
        None,
    )
    .await
}
