//! The statement cache's policy: an LRU bounded by count and by bytes.
//! Pure data structure, no I/O; the engine decides what to send. Recency
//! is kept by `hashlink::LruCache` (a linked hash map, as sqlx's cache
//! uses), so a lookup and an eviction are O(1).

use hashlink::LruCache;

#[cfg(test)]
use crate::statement::ParamMode;
use crate::statement::Statement;

struct Entry {
    variants: Vec<Statement>,
    bytes: usize,
}

/// An LRU of prepared statements keyed by SQL text; each SQL text may have
/// a few variants with different parameter modes (an `i32` then an `i64`
/// passed for the same placeholder).
pub(crate) struct StatementCache {
    /// Unbounded by entry count itself: the bounds (statements, bytes)
    /// are checked by `insert`, which evicts from the LRU end.
    map: LruCache<Box<str>, Entry>,
    count: usize,
    bytes: usize,
    max_count: usize,
    max_bytes: usize,
}

impl StatementCache {
    pub(crate) fn new(max_count: usize, max_bytes: usize) -> StatementCache {
        StatementCache {
            map: LruCache::new_unbounded(),
            count: 0,
            bytes: 0,
            max_count,
            max_bytes,
        }
    }

    /// True when caching is switched off (capacity 0).
    pub(crate) fn disabled(&self) -> bool {
        self.max_count == 0
    }

    /// The most recent variant for `sql`, marking it used.
    pub(crate) fn get(&mut self, sql: &str) -> Option<&[Statement]> {
        Some(&self.map.get(sql)?.variants)
    }

    /// The variant with exactly these modes.
    #[cfg(test)]
    pub(crate) fn get_variant(&mut self, sql: &str, modes: &[ParamMode]) -> Option<Statement> {
        self.get(sql)?.iter().find(|s| s.0.modes == modes).cloned()
    }

    fn size_of(sql: &str, stmt: &Statement) -> usize {
        sql.len() + 64 + stmt.0.modes.len() * 16 + stmt.0.name.len()
    }

    /// Adds a statement; evicts least recently used entries past the bounds.
    pub(crate) fn insert(&mut self, sql: &str, stmt: Statement) {
        if self.disabled() {
            return;
        }
        let size = Self::size_of(sql, &stmt);
        // `get_mut` and `insert` both make `sql` the most recently used.
        if self.map.get_mut(sql).is_none() {
            self.map.insert(
                sql.into(),
                Entry {
                    variants: Vec::new(),
                    bytes: 0,
                },
            );
        }
        let Some(e) = self.map.peek_mut(sql) else {
            return;
        };
        e.variants.push(stmt);
        e.bytes += size;
        self.count += 1;
        self.bytes += size;
        // The least recently used entry is never `sql` while another is left.
        while (self.count > self.max_count || self.bytes > self.max_bytes) && self.map.len() > 1 {
            let Some((_, e)) = self.map.remove_lru() else {
                break;
            };
            self.count -= e.variants.len();
            self.bytes -= e.bytes;
        }
    }

    /// Forgets `stmt`, if cached (found by its SQL text and name).
    pub(crate) fn remove(&mut self, stmt: &Statement) {
        let key = stmt.sql();
        let Some(e) = self.map.peek_mut(key) else {
            return;
        };
        let mut freed = 0;
        let mut removed = 0;
        e.variants.retain(|s| {
            let keep = s.name() != stmt.name();
            if !keep {
                freed += Self::size_of(key, s);
                removed += 1;
            }
            keep
        });
        e.bytes -= freed;
        self.bytes -= freed;
        self.count -= removed;
        if e.variants.is_empty() {
            self.map.remove(key);
        }
    }

    /// Puts `new` (the same server-side statement, described with
    /// looked-up types) in the place of `old`, if `old` itself is still
    /// cached; false when it is not.
    pub(crate) fn replace(&mut self, old: &Statement, new: Statement) -> bool {
        let Some(e) = self.map.peek_mut(old.sql()) else {
            return false;
        };
        match e
            .variants
            .iter_mut()
            .find(|s| std::sync::Arc::ptr_eq(&s.0, &old.0))
        {
            Some(s) => {
                *s = new;
                true
            }
            None => false,
        }
    }

    /// The server confirmed `stmt` (ParseComplete): it is usable by every
    /// caller from now on. When concurrent callers each prepared the same
    /// SQL with the same parameter modes, only the first one confirmed
    /// stays (the others are closed once their last handle goes).
    pub(crate) fn confirm(&mut self, stmt: &Statement) {
        stmt.set_pending(0);
        let duplicate = self.map.peek(stmt.sql()).is_some_and(|e| {
            e.variants
                .iter()
                .any(|s| s.name() != stmt.name() && s.pending() == 0 && s.0.modes == stmt.0.modes)
        });
        if duplicate {
            self.remove(stmt);
            if !stmt.groupable() {
                self.forbid_grouping(stmt);
            }
        }
    }

    /// `stmt` turned out to write inside a read group (25006): neither it
    /// nor any other cached statement for its SQL is grouped again.
    pub(crate) fn forbid_grouping(&mut self, stmt: &Statement) {
        stmt.set_groupable(false);
        if let Some(e) = self.map.peek(stmt.sql()) {
            for s in &e.variants {
                s.set_groupable(false);
            }
        }
    }

    /// Forgets everything (DDL, DISCARD, DEALLOCATE).
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.count = 0;
        self.bytes = 0;
    }

    /// Number of cached statements.
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres_types::Type;

    fn stmt(name: &str) -> Statement {
        stmt_for("a", name)
    }

    fn stmt_for(sql: &str, name: &str) -> Statement {
        Statement::new(
            name.into(),
            sql.into(),
            vec![ParamMode::Binary(Type::INT4)],
            None,
        )
    }

    #[test]
    fn evicts_least_recently_used_by_count() {
        let mut c = StatementCache::new(2, usize::MAX);
        c.insert("a", stmt_for("a", "s1"));
        c.insert("b", stmt_for("b", "s2"));
        assert!(c.get("a").is_some());
        c.insert("c", stmt_for("c", "s3"));
        assert!(c.get("b").is_none(), "b was least recently used");
        assert!(c.get("a").is_some());
        assert!(c.get("c").is_some());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn evicts_by_bytes() {
        let mut c = StatementCache::new(100, 300);
        let (x, y) = ("x".repeat(100), "y".repeat(100));
        c.insert(&x, stmt_for(&x, "s1"));
        c.insert(&y, stmt_for(&y, "s2"));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn variants_and_removal() {
        let mut c = StatementCache::new(10, usize::MAX);
        let s1 = stmt("s1");
        let s2 = Statement::new(
            "s2".into(),
            "a".into(),
            vec![ParamMode::Binary(Type::INT8)],
            None,
        );
        c.insert("a", s1.clone());
        c.insert("a", s2.clone());
        assert_eq!(c.len(), 2);
        assert!(c
            .get_variant("a", &[ParamMode::Binary(Type::INT8)])
            .is_some());
        c.remove(&s1);
        assert_eq!(c.len(), 1);
        c.remove(&s2);
        assert_eq!(c.len(), 0);
        assert!(c.get("a").is_none());
        c.insert("b", stmt_for("b", "s3"));
        c.clear();
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn confirming_drops_a_duplicate() {
        let mut c = StatementCache::new(10, usize::MAX);
        let (s1, s2) = (stmt("s1"), stmt("s2"));
        s1.set_pending(1);
        s2.set_pending(2);
        c.insert("a", s1.clone());
        c.insert("a", s2.clone());
        c.confirm(&s2);
        c.confirm(&s1);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("a").unwrap()[0].name(), "s2");
        assert_eq!(s1.pending(), 0);
    }

    #[test]
    fn a_new_variant_makes_its_sql_most_recently_used() {
        let mut c = StatementCache::new(3, usize::MAX);
        c.insert("a", stmt_for("a", "s1"));
        c.insert("b", stmt_for("b", "s2"));
        c.insert("a", stmt_for("a", "s3"));
        // Three statements, at the bound; the next evicts `b`, not `a`.
        c.insert("c", stmt_for("c", "s4"));
        assert!(c.get("b").is_none());
        assert_eq!(c.get("a").map(<[_]>::len), Some(2));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn peeking_does_not_refresh() {
        let mut c = StatementCache::new(2, usize::MAX);
        let s1 = stmt_for("a", "s1");
        c.insert("a", s1.clone());
        c.insert("b", stmt_for("b", "s2"));
        // Confirming and forbidding grouping are bookkeeping, not use.
        c.confirm(&s1);
        c.forbid_grouping(&s1);
        c.insert("c", stmt_for("c", "s3"));
        assert!(c.get("a").is_none(), "a was least recently used");
        assert!(c.get("b").is_some());
    }

    #[test]
    fn an_entry_larger_than_the_byte_bound_stays_alone() {
        let mut c = StatementCache::new(10, 50);
        c.insert("a", stmt_for("a", "s1"));
        let big = "x".repeat(200);
        c.insert(&big, stmt_for(&big, "s2"));
        assert_eq!(c.len(), 1);
        assert!(c.get(&big).is_some());
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let mut c = StatementCache::new(0, 0);
        c.insert("a", stmt("s1"));
        assert!(c.get("a").is_none());
    }
}
