//! Refresh, verification and lock statements for one TVIEW.
//!
//! A keyed refresh is one statement: it recomputes the given keys from the
//! backing view, deletes the TVIEW rows that changed or vanished, and
//! inserts the new or changed ones; rows equal to their recomputation (by
//! their text form, which works for types without `=`, like `json`) are
//! left alone. Keys arrive as one `text[]` parameter per key column.

use crate::ident::quote_ident;

/// Names and types needed to write one TVIEW's statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSql {
    /// The TVIEW table, qualified and quoted.
    pub table: String,
    /// The backing view holding the defining query, qualified and quoted.
    pub view: String,
    /// All columns of the TVIEW, in order (unquoted).
    pub columns: Vec<String>,
    /// Key columns (unquoted) with their types (as `format_type` prints them).
    pub key: Vec<(String, String)>,
}

impl RefreshSql {
    /// `$i::text[]::type[]` for key column `i` (0-based).
    fn param(&self, i: usize) -> String {
        format!("${}::text[]::{}[]", i + 1, self.key[i].1)
    }

    /// A WHERE condition restricting alias `a` to the keys: `= ANY(...)` per
    /// column (an index-friendly, pushdown-friendly filter), and for
    /// composite keys an exact row match as well.
    fn filter(&self, a: &str) -> String {
        let mut parts: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, (k, _))| format!("{a}.{} = ANY({})", quote_ident(k), self.param(i)))
            .collect();
        if self.key.len() > 1 {
            let cols: Vec<String> = self
                .key
                .iter()
                .map(|(k, _)| format!("{a}.{}", quote_ident(k)))
                .collect();
            parts.push(format!(
                "({}) IN (SELECT * FROM {})",
                cols.join(", "),
                self.unnest()
            ));
        }
        parts.join(" AND ")
    }

    fn unnest(&self) -> String {
        let args: Vec<String> = (0..self.key.len()).map(|i| self.param(i)).collect();
        format!("unnest({})", args.join(", "))
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
            "WITH tviews_f AS MATERIALIZED (SELECT q.*, q::text AS tviews_row FROM {view} q{fresh_where}), \
             tviews_o AS MATERIALIZED (SELECT t.ctid AS tviews_tid, t::text AS tviews_row FROM ONLY {table} t{old_where}), \
             tviews_d AS (DELETE FROM ONLY {table} t USING tviews_o o WHERE t.ctid = o.tviews_tid \
             AND NOT EXISTS (SELECT 1 FROM tviews_f f WHERE f.tviews_row = o.tviews_row) RETURNING 1), \
             tviews_i AS (INSERT INTO {table} ({cols}) SELECT {fcols} FROM tviews_f f \
             WHERE NOT EXISTS (SELECT 1 FROM tviews_o o WHERE o.tviews_row = f.tviews_row) \
             AND (SELECT count(*) FROM tviews_d) >= 0 RETURNING 1) \
             SELECT (SELECT count(*) FROM tviews_d), (SELECT count(*) FROM tviews_i), (SELECT count(*) FROM tviews_o)",
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

    /// A digest of the recomputed rows for the keys (for the REPEATABLE READ
    /// check: the same statement under the transaction snapshot and the
    /// latest one).
    #[must_use]
    pub fn digest_keys(&self) -> String {
        format!(
            "SELECT md5(coalesce(string_agg(r, ',' ORDER BY r), '')) FROM (SELECT md5(q::text) AS r FROM {} q WHERE {}) d",
            self.view,
            self.filter("q")
        )
    }

    /// A digest of the whole recomputation.
    #[must_use]
    pub fn digest_full(&self) -> String {
        format!(
            "SELECT md5(coalesce(string_agg(r, ',' ORDER BY r), '')) FROM (SELECT md5(q::text) AS r FROM {} q) d",
            self.view
        )
    }

    /// Sorted, distinct lock hashes of the keys (canonicalised through the
    /// key types, so every session hashes a value the same way).
    #[must_use]
    pub fn lock_hashes(&self) -> String {
        let cols: Vec<String> = (1..=self.key.len()).map(|i| format!("k{i}")).collect();
        let row = if cols.len() == 1 {
            "k1::text".to_owned()
        } else {
            format!("ROW({})::text", cols.join(", "))
        };
        format!(
            "SELECT DISTINCT hashtext({row}) AS h FROM {} AS u({}) ORDER BY 1",
            self.unnest(),
            cols.join(", ")
        )
    }

    /// `(missing, extra)`: rows of the query absent from the TVIEW, and rows
    /// of the TVIEW absent from the query (multiset difference, EXCEPT ALL).
    #[must_use]
    pub fn verify(&self) -> String {
        format!(
            "SELECT (SELECT count(*) FROM (SELECT q::text FROM {v} q EXCEPT ALL SELECT t::text FROM ONLY {t} t) m), \
             (SELECT count(*) FROM (SELECT t::text FROM ONLY {t} t EXCEPT ALL SELECT q::text FROM {v} q) e)",
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
        }
    }

    #[test]
    fn keyed_refresh_filters_both_sides() {
        let s = post().keys();
        assert!(s.contains("FROM tviews.q_1 q WHERE q.pk_post = ANY($1::text[]::bigint[])"));
        assert!(
            s.contains("FROM ONLY public.tv_post t WHERE t.pk_post = ANY($1::text[]::bigint[])")
        );
        assert!(s.contains("INSERT INTO public.tv_post (pk_post, data) SELECT f.pk_post, f.data"));
        assert!(s.contains("(SELECT count(*) FROM tviews_d) >= 0"));
        assert!(!post().full().contains("ANY"));
    }

    #[test]
    fn composite_keys_match_rows_exactly() {
        let mut r = post();
        r.key = vec![("a".into(), "integer".into()), ("B".into(), "text".into())];
        let s = r.keys();
        assert!(s.contains(r#"q."B" = ANY($2::text[]::text[])"#));
        assert!(s.contains(
            r#"(q.a, q."B") IN (SELECT * FROM unnest($1::text[]::integer[], $2::text[]::text[]))"#
        ));
        assert!(r.lock_hashes().contains("hashtext(ROW(k1, k2)::text)"));
        assert!(post()
            .lock_hashes()
            .starts_with("SELECT DISTINCT hashtext(k1::text) AS h FROM unnest($1"));
    }

    #[test]
    fn verify_and_digests_use_row_text() {
        let r = post();
        assert!(r
            .verify()
            .contains("EXCEPT ALL SELECT t::text FROM ONLY public.tv_post t"));
        assert!(r.digest_keys().contains("md5(q::text)"));
        assert!(r.digest_full().ends_with("FROM tviews.q_1 q) d"));
    }
}
