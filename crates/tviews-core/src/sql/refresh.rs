//! Refresh, verification and lock statements for one TVIEW.
//!
//! A keyed refresh is one statement: it recomputes the given keys from the
//! backing view, deletes the TVIEW rows that changed or vanished, and
//! inserts the new or changed ones; rows equal to their recomputation (by
//! their text form, which works for types without `=`, like `json`) are
//! left alone. Keys arrive as one `text[]` parameter per key column.

use crate::ident::quote_ident;

/// The equality operator of the built-in types, qualified.
pub const EQ: &str = "OPERATOR(pg_catalog.=)";

/// Names and types needed to write one TVIEW's statements.
///
/// Every statement is written to mean the same whatever the `search_path`:
/// functions and operators are `pg_catalog.`-qualified (or, for a key
/// type's equality, qualified by the schema of the type's own operator),
/// relations are schema-qualified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSql {
    /// The TVIEW table, qualified and quoted.
    pub table: String,
    /// The backing view holding the defining query, qualified and quoted.
    pub view: String,
    /// All columns of the TVIEW, in order (unquoted).
    pub columns: Vec<String>,
    /// Key columns (unquoted) with their types (qualified, as
    /// `format_type` prints them under an empty `search_path`).
    pub key: Vec<(String, String)>,
    /// Per key column, its type's equality operator
    /// (`OPERATOR(schema.=)`); missing entries mean [`EQ`].
    pub key_eq: Vec<String>,
}

impl RefreshSql {
    /// `$i::pg_catalog.text[]::type[]` for key column `i` (0-based).
    fn param(&self, i: usize) -> String {
        format!("${}::pg_catalog.text[]::{}[]", i + 1, self.key[i].1)
    }

    fn eq(&self, i: usize) -> &str {
        self.key_eq.get(i).map_or(EQ, String::as_str)
    }

    /// A WHERE condition restricting alias `a` to the keys: `= ANY(...)` per
    /// column (an index-friendly, pushdown-friendly filter), and for
    /// composite keys an exact row match as well.
    fn filter(&self, a: &str) -> String {
        let mut parts: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, (k, _))| {
                format!(
                    "{a}.{} {} ANY({})",
                    quote_ident(k),
                    self.eq(i),
                    self.param(i)
                )
            })
            .collect();
        if self.key.len() > 1 {
            let cols: Vec<String> = (1..=self.key.len()).map(|i| format!("k{i}")).collect();
            let on: Vec<String> = self
                .key
                .iter()
                .enumerate()
                .map(|(i, (k, _))| {
                    format!("{a}.{} {} tviews_u.k{}", quote_ident(k), self.eq(i), i + 1)
                })
                .collect();
            parts.push(format!(
                "EXISTS (SELECT 1 FROM {} AS tviews_u({}) WHERE {})",
                self.unnest(),
                cols.join(", "),
                on.join(" AND ")
            ));
        }
        parts.join(" AND ")
    }

    /// The keys as rows: `ROWS FROM (pg_catalog.unnest($1), ...)` (the
    /// several-array `unnest(a, b)` is a parser shorthand that only the
    /// unqualified name gets).
    fn unnest(&self) -> String {
        let args: Vec<String> = (0..self.key.len())
            .map(|i| format!("pg_catalog.unnest({})", self.param(i)))
            .collect();
        format!("ROWS FROM ({})", args.join(", "))
    }

    fn column_list(&self, a: &str) -> String {
        self.columns
            .iter()
            .map(|c| format!("{a}.{}", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The delete-changed/insert-new statement over `fresh` and `old` row
    /// sources; returns `(deleted, inserted, existing)`.
    fn apply(&self, fresh_where: &str, old_where: &str) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        format!(
            "WITH tviews_f AS MATERIALIZED (SELECT q.*, q::pg_catalog.text AS tviews_row FROM {view} q{fresh_where}), \
             tviews_o AS MATERIALIZED (SELECT t.ctid AS tviews_tid, t::pg_catalog.text AS tviews_row FROM ONLY {table} t{old_where}), \
             tviews_d AS (DELETE FROM ONLY {table} t USING tviews_o o WHERE t.ctid {EQ} o.tviews_tid \
             AND NOT EXISTS (SELECT 1 FROM tviews_f f WHERE f.tviews_row {EQ} o.tviews_row) RETURNING 1), \
             tviews_i AS (INSERT INTO {table} ({cols}) SELECT {fcols} FROM tviews_f f \
             WHERE NOT EXISTS (SELECT 1 FROM tviews_o o WHERE o.tviews_row {EQ} f.tviews_row) \
             AND (SELECT pg_catalog.count(*) FROM tviews_d) OPERATOR(pg_catalog.>=) 0 RETURNING 1) \
             SELECT (SELECT pg_catalog.count(*) FROM tviews_d), (SELECT pg_catalog.count(*) FROM tviews_i), \
             (SELECT pg_catalog.count(*) FROM tviews_o)",
            view = self.view,
            table = self.table,
            cols = cols.join(", "),
            fcols = self.column_list("f"),
        )
    }

    /// Recomputes the given keys. The DELETE runs before the INSERT (the
    /// INSERT waits on an init-plan over the DELETE), so a changed row never
    /// meets its old version in the unique index.
    #[must_use]
    pub fn keys(&self) -> String {
        self.apply(
            &format!(" WHERE {}", self.filter("q")),
            &format!(" WHERE {}", self.filter("t")),
        )
    }

    /// Recomputes everything (same shape, no key filter).
    #[must_use]
    pub fn full(&self) -> String {
        self.apply("", "")
    }

    fn digest(from: &str) -> String {
        format!(
            "SELECT pg_catalog.md5(COALESCE(pg_catalog.string_agg(r, ',' ORDER BY r), '')) \
             FROM (SELECT pg_catalog.md5(q::pg_catalog.text) AS r FROM {from}) d"
        )
    }

    /// A digest of the recomputed rows for the keys (for the REPEATABLE READ
    /// check: the same statement under the transaction snapshot and the
    /// latest one).
    #[must_use]
    pub fn digest_keys(&self) -> String {
        Self::digest(&format!("{} q WHERE {}", self.view, self.filter("q")))
    }

    /// A digest of the whole recomputation.
    #[must_use]
    pub fn digest_full(&self) -> String {
        Self::digest(&format!("{} q", self.view))
    }

    /// `(missing, extra)`: rows of the query absent from the TVIEW, and rows
    /// of the TVIEW absent from the query (multiset difference, EXCEPT ALL).
    #[must_use]
    pub fn verify(&self) -> String {
        format!(
            "SELECT (SELECT pg_catalog.count(*) FROM (SELECT q::pg_catalog.text FROM {v} q \
             EXCEPT ALL SELECT t::pg_catalog.text FROM ONLY {t} t) m), \
             (SELECT pg_catalog.count(*) FROM (SELECT t::pg_catalog.text FROM ONLY {t} t \
             EXCEPT ALL SELECT q::pg_catalog.text FROM {v} q) e)",
            v = self.view,
            t = self.table
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> RefreshSql {
        RefreshSql {
            table: "public.tv_post".into(),
            view: "tviews.q_1".into(),
            columns: vec!["pk_post".into(), "data".into()],
            key: vec![("pk_post".into(), "bigint".into())],
            key_eq: Vec::new(),
        }
    }

    #[test]
    fn keyed_refresh_filters_both_sides() {
        let s = post().keys();
        assert!(s.contains(
            "FROM tviews.q_1 q WHERE q.pk_post OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]::bigint[])"
        ));
        assert!(s.contains(
            "FROM ONLY public.tv_post t WHERE t.pk_post OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]::bigint[])"
        ));
        assert!(s.contains("INSERT INTO public.tv_post (pk_post, data) SELECT f.pk_post, f.data"));
        assert!(s.contains("(SELECT pg_catalog.count(*) FROM tviews_d) OPERATOR(pg_catalog.>=) 0"));
        assert!(!post().full().contains("ANY"));
    }

    #[test]
    fn composite_keys_match_rows_exactly() {
        let mut r = post();
        r.key = vec![("a".into(), "integer".into()), ("B".into(), "my.t".into())];
        r.key_eq = vec![EQ.into(), "OPERATOR(my.=)".into()];
        let s = r.keys();
        assert!(s.contains(r#"q."B" OPERATOR(my.=) ANY($2::pg_catalog.text[]::my.t[])"#));
        assert!(s.contains(
            r#"EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]::integer[]), pg_catalog.unnest($2::pg_catalog.text[]::my.t[])) AS tviews_u(k1, k2) WHERE q.a OPERATOR(pg_catalog.=) tviews_u.k1 AND q."B" OPERATOR(my.=) tviews_u.k2)"#
        ));
    }

    /// Nothing a `search_path` could redirect: every function and operator
    /// of every statement is qualified.
    #[test]
    fn statements_are_qualified() {
        let mut r = post();
        r.key = vec![
            ("a".into(), "pg_catalog.int4".into()),
            ("b".into(), "pg_catalog.text".into()),
        ];
        for s in [
            r.keys(),
            r.full(),
            r.digest_keys(),
            r.digest_full(),
            r.verify(),
        ] {
            for bare in [
                " = ",
                " >= ",
                "(count(",
                " count(",
                " unnest(",
                "(md5(",
                " md5(",
                "(string_agg(",
                "::text",
            ] {
                assert!(!s.contains(bare), "{bare:?} in {s}");
            }
        }
    }

    #[test]
    fn verify_and_digests_use_row_text() {
        let r = post();
        assert!(r
            .verify()
            .contains("EXCEPT ALL SELECT t::pg_catalog.text FROM ONLY public.tv_post t"));
        assert!(r
            .digest_keys()
            .contains("pg_catalog.md5(q::pg_catalog.text)"));
        assert!(r.digest_full().ends_with("FROM tviews.q_1 q) d"));
    }
}
