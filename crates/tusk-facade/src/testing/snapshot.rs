//! Query results in a form snapshot tools serialize: a list of rows, each
//! a map from column name (in the query's order) to the server's text for
//! the value, or null.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use driver::{Error, Executor, SimpleQueryMessage};

/// Rows of a query as text, for snapshots: serializes as
/// `[{column: "text" | null, ..}, ..]`, columns in the query's order. Text
/// is what the server prints (psql's), so a snapshot reads like psql and
/// does not depend on Rust types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Each row's values (None: NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

/// Runs `sql` (simple query protocol: no parameters; several statements
/// allowed, the rows of the last one that returned rows are kept) and
/// collects its rows as text.
pub async fn snapshot_rows(db: &impl Executor, sql: &str) -> Result<SnapshotRows, Error> {
    let mut out = SnapshotRows {
        columns: Vec::new(),
        rows: Vec::new(),
    };
    let mut fresh = true;
    for msg in db.simple_query(sql).await? {
        match msg {
            SimpleQueryMessage::Row(row) => {
                if fresh {
                    out.columns = row.columns().iter().map(|c| c.name().to_owned()).collect();
                    out.rows.clear();
                    fresh = false;
                }
                let mut values = Vec::with_capacity(out.columns.len());
                for i in 0..out.columns.len() {
                    values.push(row.get_text(i)?.map(str::to_owned));
                }
                out.rows.push(values);
            }
            SimpleQueryMessage::CommandComplete { .. } => fresh = true,
            _ => {}
        }
    }
    Ok(out)
}

struct RowMap<'a>(&'a [String], &'a [Option<String>]);

impl Serialize for RowMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0.iter().zip(self.1) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for SnapshotRows {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        for row in &self.rows {
            seq.serialize_element(&RowMap(&self.columns, row))?;
        }
        seq.end()
    }
}

/// Snapshots the rows of a query with insta (feature `insta`), as YAML,
/// with insta's redactions:
///
/// ```no_run
/// # async fn f(pool: tusk::Pool) {
/// tusk::assert_query_snapshot!(&pool, "SELECT id, name FROM users ORDER BY id");
/// tusk::assert_query_snapshot!(&pool, "SELECT * FROM users ORDER BY id", {
///     "[].created_at" => "[timestamp]",
/// });
/// # }
/// ```
///
/// Must be called in an async test (it awaits the query); panics when the
/// query fails. `db` is a reference to a [`tusk::Executor`](crate::Executor)
/// (`&pool`, `&conn`, `&*tx` for a `&mut Transaction`).
#[cfg(feature = "insta")]
#[macro_export]
macro_rules! assert_query_snapshot {
    ($db:expr, $sql:expr $(,)?) => {
        $crate::assert_query_snapshot!($db, $sql, {})
    };
    ($db:expr, $sql:expr, { $($k:expr => $v:expr),* $(,)? } $(,)?) => {{
        let __tusk_sql: &str = $sql;
        let __tusk_rows = $crate::testing::snapshot_rows($db, __tusk_sql)
            .await
            .unwrap_or_else(|e| ::core::panic!("snapshot query {:?}: {}", __tusk_sql, e));
        let mut __tusk_settings = $crate::testing::insta::Settings::clone_current();
        // The snapshot file shows the query, not this macro's expansion.
        __tusk_settings.set_description(__tusk_sql);
        __tusk_settings.set_omit_expression(true);
        __tusk_settings.bind(|| {
            $crate::testing::insta::assert_yaml_snapshot!(__tusk_rows, { $($k => $v),* })
        });
    }};
}
