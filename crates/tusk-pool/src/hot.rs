//! Hot statements: prepared into a new connection's own statement cache
//! before the connection is first handed out, all in one flight, so their
//! first run sends Bind/Execute only (docs/pool.md, "Hot statements").
//!
//! How, with the driver's public API: each hot statement is run once with a
//! placeholder value per parameter that can never be encoded. The driver
//! finds no natural type for the placeholder, so it sends Parse/Describe
//! (the statement goes into its cache, parameter types to be taken from the
//! server); when the description is back it tries to bind the placeholder,
//! which refuses, and the call ends with that error. Nothing is executed:
//! the placeholder never produces a value. Later runs with real values find
//! the described statement in the cache and bind with the server's types.
//!
//! Statements without parameters cannot be prepared this way (binding
//! nothing cannot fail); their first run prepares them, still in one flight.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use postgres_types::{IsNull, ToSql, Type, WrongType};
use tusk::{Error, Executor};

/// The error the placeholder gives when the driver binds it: the sign that
/// the statement was prepared and nothing ran.
#[derive(Debug)]
struct NotExecuted;

impl std::fmt::Display for NotExecuted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hot statement prepared ahead; not executed")
    }
}

impl std::error::Error for NotExecuted {}

/// A parameter value that never encodes. Probed for its natural type (an
/// empty buffer) it accepts none, so the driver asks the server; bound (a
/// Bind message under way) it fails.
#[derive(Debug)]
struct Unbound;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Unbound {
    fn to_sql(&self, _ty: &Type, _out: &mut BytesMut) -> Result<IsNull, BoxError> {
        Err(Box::new(NotExecuted))
    }

    fn accepts(_ty: &Type) -> bool {
        false
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if out.is_empty() {
            Err(Box::new(WrongType::new::<Unbound>(ty.clone())))
        } else {
            Err(Box::new(NotExecuted))
        }
    }
}

static UNBOUND: Unbound = Unbound;

/// How long warming a new connection may take before it is given up (the
/// connection is still used; its hot statements are then prepared by their
/// first runs).
const WARM_LIMIT: Duration = Duration::from_secs(5);

/// Prepares `hot` on `conn`, all in one flight. Returns how many are now
/// in its statement cache ahead of their first run.
pub(crate) async fn warm(conn: &tusk::Connection, hot: &[String]) -> usize {
    let params: Vec<Vec<tusk::Param<'static>>> = hot
        .iter()
        .map(|sql| vec![&UNBOUND as tusk::Param<'static>; count_placeholders(sql)])
        .collect();
    type Warm<'a> = Pin<Box<dyn Future<Output = Result<Vec<tusk::Row>, Error>> + Send + 'a>>;
    let mut futs: Vec<Option<(usize, Warm<'_>)>> = hot
        .iter()
        .zip(&params)
        .enumerate()
        .filter(|(_, (_, p))| !p.is_empty())
        .map(|(i, (sql, p))| Some((i, Box::pin(conn.query(sql.as_str(), p)) as Warm<'_>)))
        .collect();
    let mut prepared = 0;
    // Polled together: the driver writes every Parse/Describe in one flight.
    let all = poll_fn(|cx| {
        let mut pending = false;
        for slot in futs.iter_mut() {
            let Some((i, f)) = slot else { continue };
            match f.as_mut().poll(cx) {
                Poll::Pending => pending = true,
                Poll::Ready(r) => {
                    if is_not_executed(&r) {
                        prepared += 1;
                    } else {
                        tracing::warn!(statement = %hot[*i], outcome = ?r.map(|_| ()),
                            "a hot statement could not be prepared ahead on a new connection");
                    }
                    *slot = None;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    });
    if tokio::time::timeout(WARM_LIMIT, all).await.is_err() {
        tracing::warn!("preparing hot statements on a new connection took over {WARM_LIMIT:?}; continuing without");
    }
    prepared
}

fn is_not_executed(r: &Result<Vec<tusk::Row>, Error>) -> bool {
    let Err(e) = r else { return false };
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<NotExecuted>() {
            return true;
        }
        src = s.source();
    }
    false
}

/// The number of parameters a statement uses: the highest `$n` outside
/// string literals, quoted identifiers, comments and dollar-quoted strings.
fn count_placeholders(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut max = 0usize;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                // E'' strings also allow \' (as the driver reads them).
                let escapes = q == b'\'' && i > 0 && (b[i - 1] == b'E' || b[i - 1] == b'e');
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > start {
                    if let Ok(n) = sql[start..j].parse::<usize>() {
                        max = max.max(n);
                    }
                    i = j;
                    continue;
                }
                // $tag$ ... $tag$
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if b.get(j) == Some(&b'$') {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                } else {
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::count_placeholders;

    #[test]
    fn placeholders() {
        for (sql, n) in [
            ("SELECT 1", 0),
            ("SELECT $1::int8 + $2", 2),
            ("SELECT $2, $1", 2),
            ("SELECT '$3', \"$4\", $1 -- $5\n", 1),
            ("SELECT /* $9 */ $1", 1),
            ("SELECT $$ $7 $$, $fn$ $8 $fn$, $2", 2),
            ("SELECT 'it''s $3', $1", 1),
            ("SELECT 'a\\', $1, E'b\\' $3', $2", 2),
        ] {
            assert_eq!(count_placeholders(sql), n, "{sql}");
        }
    }
}
