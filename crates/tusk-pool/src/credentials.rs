//! Passwords and tokens that may change while the pool runs: asked for
//! once per new connection, so rotation needs no restart (docs/pool.md,
//! "Credentials", says which other drivers' users asked for it).

use std::future::Future;
use std::pin::Pin;

/// The future a [`CredentialsProvider`] returns.
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<String, tusk::Error>> + Send + 'a>>;

/// Gives the password (or an IAM-style token) for each new connection.
///
/// A closure `Fn() -> Result<String, tusk::Error>` is a provider; implement
/// the trait for one that fetches a token asynchronously.
///
/// ```
/// use std::sync::Arc;
/// use parking_lot::RwLock;
/// let secret = Arc::new(RwLock::new(String::from("first")));
/// let s = secret.clone();
/// let cfg = tusk_pool::PoolConfig::builder()
///     .credentials(move || Ok(s.read().clone()))
///     .build();
/// *secret.write() = "rotated".into(); // the next connection uses it
/// # let _ = cfg;
/// ```
pub trait CredentialsProvider: Send + Sync {
    /// The password to use for the next connection.
    fn password(&self) -> CredentialsFuture<'_>;
}

impl<F> CredentialsProvider for F
where
    F: Fn() -> Result<String, tusk::Error> + Send + Sync,
{
    fn password(&self) -> CredentialsFuture<'_> {
        let r = self();
        Box::pin(async move { r })
    }
}
