//! Connecting each in-process driver the way its documentation shows, with
//! nothing that would slow it down (no TLS, no statement logging).

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions;

use crate::error::Result;

/// A tusk connection (automatic statement cache, default settings).
pub async fn tusk(url: &str) -> Result<tusk::Connection> {
    Ok(tusk::connect(url).await?)
}

/// `url` with one more query parameter (`key=value`).
pub fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// A tokio-postgres client with its connection task spawned on the runtime,
/// as tokio-postgres requires.
pub async fn tokio_postgres(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("tusk-bench: tokio-postgres connection ended: {e}");
        }
    });
    Ok(client)
}

/// A sqlx connection (its own statement cache), statement logging off.
pub async fn sqlx(url: &str) -> Result<PgConnection> {
    let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
    Ok(options.connect().await?)
}
