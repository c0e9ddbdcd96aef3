//! What every handle (connection, pool, transaction; async or sync) runs:
//! plain async Rust on the module's tokio runtime, with no GIL held.

use std::sync::Arc;
use std::time::Duration;

use tusk::{Batch, Executor, Query, Row};
use tusk_pool::{Pool, PooledConnection};

use crate::params::Param;

/// Something that runs queries.
#[derive(Clone)]
pub enum Target {
    /// A connection of one's own (`tusk.connect`).
    Conn(Arc<tusk::Connection>),
    /// A pool: each statement on a connection it picks.
    Pool(Pool),
    /// A connection held from a pool (a transaction's).
    Pooled(Arc<PooledConnection>),
}

/// Runs `$body` with `$e` bound to the target's executor.
macro_rules! with_exec {
    ($t:expr, |$e:ident| $body:expr) => {
        match $t {
            Target::Conn(c) => {
                let $e = &**c;
                $body
            }
            Target::Pool(p) => {
                let $e = p;
                $body
            }
            Target::Pooled(c) => {
                let $e = &**c;
                $body
            }
        }
    };
}

/// A query with its converted parameters.
#[derive(Clone)]
pub struct Stmt {
    pub sql: Arc<str>,
    pub params: Arc<[Param]>,
    pub timeout: Option<Duration>,
}

impl Stmt {
    fn query(&self) -> Query<'_> {
        let q = Query::new(&self.sql);
        match self.timeout {
            Some(d) => q.timeout(d),
            None => q,
        }
    }

    fn refs(&self) -> Vec<tusk::Param<'_>> {
        self.params.iter().map(|p| p as tusk::Param<'_>).collect()
    }

    /// Fails before anything is sent when the parameter count is wrong.
    pub fn check_count(&self) -> Result<(), tusk::Error> {
        let want = placeholders(&self.sql);
        if want != self.params.len() {
            return Err(tusk::Error::new(
                tusk::ErrorKind::Conversion,
                format!(
                    "the query uses {want} parameter(s) but {} were given",
                    self.params.len()
                ),
            ));
        }
        Ok(())
    }
}

/// The number of `$n` placeholders: the highest n, by the driver's one
/// SQL lexer. Remembered per SQL text on this thread (lexing a point
/// select costs more than the rest of its parameter check; an
/// application runs the same few hundred statements over and over).
fn placeholders(sql: &str) -> usize {
    /// Statements remembered (the cache starts over when it is full).
    const KEEP: usize = 512;
    /// Longer statements are lexed each time (not worth keeping).
    const LONGEST: usize = 4096;
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<Box<str>, usize, Fnv>> =
            std::cell::RefCell::new(std::collections::HashMap::default());
    }
    if sql.len() > LONGEST {
        return tusk::sql::placeholders(sql);
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(&n) = seen.get(sql) {
            return n;
        }
        let n = tusk::sql::placeholders(sql);
        if seen.len() >= KEEP {
            seen.clear();
        }
        seen.insert(sql.into(), n);
        n
    })
}

/// FNV-1a: a cheap hash for the placeholder cache's short keys (SipHash,
/// the default, costs as much as lexing a short statement).
#[derive(Default, Clone, Copy)]
struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub async fn query(t: &Target, s: &Stmt) -> Result<Vec<Row>, tusk::Error> {
    s.check_count()?;
    let refs = s.refs();
    with_exec!(t, |e| e.query(s.query(), &refs).await)
}

pub async fn execute(t: &Target, s: &Stmt) -> Result<u64, tusk::Error> {
    s.check_count()?;
    let refs = s.refs();
    with_exec!(t, |e| e.execute(s.query(), &refs).await)
}

pub async fn simple(t: &Target, sql: &str) -> Result<(), tusk::Error> {
    with_exec!(t, |e| e.execute_script(sql).await)
}

/// Runs one statement with many parameter sets in one flight. `atomic`:
/// all or nothing (one transaction); else the first error is returned.
pub async fn execute_many(
    t: &Target,
    sql: &str,
    sets: &[Vec<Param>],
    atomic: bool,
) -> Result<u64, tusk::Error> {
    let want = placeholders(sql);
    if let Some(bad) = sets.iter().find(|s| s.len() != want) {
        return Err(tusk::Error::new(
            tusk::ErrorKind::Conversion,
            format!(
                "the query uses {want} parameter(s) but a set has {}",
                bad.len()
            ),
        ));
    }
    if sets.is_empty() {
        return Ok(0);
    }
    let refs: Vec<Vec<tusk::Param<'_>>> = sets
        .iter()
        .map(|s| s.iter().map(|p| p as tusk::Param<'_>).collect())
        .collect();
    let mut b = if atomic {
        Batch::atomic()
    } else {
        Batch::new()
    };
    for r in &refs {
        b.push(sql, r);
    }
    let results = with_exec!(t, |e| e.batch(&b).await)?;
    let mut n = 0;
    let mut first_err: Option<tusk::Error> = None;
    for r in results {
        match r {
            Ok(q) => n += q.rows_affected,
            // In an atomic batch every statement reports the failure; the
            // one that failed carries the server's fields: raise that one.
            Err(e) => match &first_err {
                Some(f) if f.as_db_error().is_some() || e.as_db_error().is_none() => {}
                _ => first_err = Some(e),
            },
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

/// Holds a pool connection of its own, for a transaction.
pub async fn dedicated(t: &Target) -> Result<Target, tusk::Error> {
    Ok(match t {
        Target::Pool(p) => Target::Pooled(Arc::new(p.acquire().await?)),
        other => other.clone(),
    })
}

/// A connection held from a pool as `role` with session `settings`
/// (`SET ROLE` and `set_config`, reset by the pool when it comes back).
pub async fn dedicated_as(
    t: &Target,
    role: &str,
    settings: &[(String, String)],
) -> Result<Target, tusk::Error> {
    match t {
        Target::Pool(p) => {
            let pairs: Vec<(&str, &str)> = settings
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Ok(Target::Pooled(Arc::new(p.acquire_as(role, &pairs).await?)))
        }
        _ => Err(tusk::Error::new(
            tusk::ErrorKind::Configuration,
            "acquire_as needs a pool",
        )),
    }
}

/// A stream's source: the rows arrive in batches; its connection (for a
/// pool, one held for the stream's life) stays with it.
pub struct Streaming {
    pub _hold: Target,
    pub rows: tusk::RowStream,
}

pub async fn stream(t: &Target, s: &Stmt) -> Result<Streaming, tusk::Error> {
    s.check_count()?;
    let hold = dedicated(t).await?;
    let refs = s.refs();
    let rows = with_exec!(&hold, |e| e.query_stream(s.query(), &refs).await)?;
    Ok(Streaming { _hold: hold, rows })
}

/// Up to `n` more rows; empty at the end.
pub async fn next_rows(st: &mut Streaming, n: usize) -> Result<Vec<Row>, tusk::Error> {
    let mut out = Vec::with_capacity(n.min(4096));
    while out.len() < n {
        let next = std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut st.rows), cx)
        })
        .await;
        match next {
            Some(r) => out.push(r?),
            None => break,
        }
    }
    Ok(out)
}

/// `BEGIN` with options, as SQL.
pub fn begin_sql(
    isolation: Option<&str>,
    read_only: bool,
    deferrable: bool,
) -> Result<String, tusk::Error> {
    let mut sql = String::from("BEGIN");
    if let Some(level) = isolation {
        let level = match level.to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
            "serializable" => "SERIALIZABLE",
            "repeatable read" => "REPEATABLE READ",
            "read committed" => "READ COMMITTED",
            "read uncommitted" => "READ UNCOMMITTED",
            other => {
                return Err(tusk::Error::new(
                    tusk::ErrorKind::Configuration,
                    format!("unknown isolation level {other:?}: use serializable, repeatable_read or read_committed"),
                ))
            }
        };
        sql.push_str(" ISOLATION LEVEL ");
        sql.push_str(level);
    }
    if read_only {
        sql.push_str(" READ ONLY");
    }
    if deferrable {
        sql.push_str(" DEFERRABLE");
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_placeholders() {
        assert_eq!(placeholders("SELECT $1, '$2', $$ $3 $$, \"$4\" -- $5"), 1);
        assert_eq!(placeholders("SELECT 1"), 0);
        assert_eq!(placeholders("SELECT $12"), 12);
        // Remembered: the same text again, and a different one after it.
        assert_eq!(placeholders("SELECT $12"), 12);
        assert_eq!(placeholders("SELECT $1, $2"), 2);
        for i in 0..600 {
            assert_eq!(placeholders(&format!("SELECT ${}", i + 1)), i + 1);
        }
        assert_eq!(placeholders("SELECT $12"), 12);
    }

    #[test]
    fn begins() {
        assert_eq!(begin_sql(None, false, false).unwrap(), "BEGIN");
        assert_eq!(
            begin_sql(Some("serializable"), true, true).unwrap(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"
        );
        assert_eq!(
            begin_sql(Some("repeatable_read"), false, false).unwrap(),
            "BEGIN ISOLATION LEVEL REPEATABLE READ"
        );
        assert!(begin_sql(Some("x"), false, false).is_err());
    }
}
