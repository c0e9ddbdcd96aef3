//! The transport under the engine: a non-blocking socket registered with
//! tokio's reactor (`AsyncFd`), optionally wrapped in rustls. While a
//! foreign event loop waits for a plain socket's reads (`external`), the
//! socket is taken off tokio's reactor and registered again when a tokio
//! path needs it.
//!
//! Everything here works through `&self` on the socket, so the engine can
//! keep the transport inside its state mutex and let whichever caller is
//! driving the connection do the I/O: no background task, no channel hop.

pub(crate) mod external;
mod sock;
pub(crate) mod tls;

pub(crate) use sock::{Io, Sock};
