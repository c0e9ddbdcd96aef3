//! Statements on this connection: the statement cache, the names given to
//! new named statements, and the names of statements to close.

use super::*;
use std::sync::Weak;

/// Statement names are never reused on one connection; a statement whose
/// last handle is dropped is queued here (through its closer) and its
/// Close goes out with the next request.
pub(crate) struct Statements {
    cache: StatementCache,
    next: u64,
    to_close: Arc<Mutex<Vec<String>>>,
}

impl Statements {
    pub(super) fn new(cache: StatementCache) -> Statements {
        Statements {
            cache,
            next: 1,
            to_close: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub(super) fn cache(&self) -> &StatementCache {
        &self.cache
    }

    pub(super) fn cache_mut(&mut self) -> &mut StatementCache {
        &mut self.cache
    }

    /// A statement name never used on this connection, `prefix` then a
    /// number.
    pub(super) fn new_name(&mut self, prefix: &str) -> String {
        let n = self.next;
        self.next += 1;
        format!("{prefix}{n}")
    }

    /// Where a named statement's handle queues its name when dropped.
    pub(super) fn closer(&self) -> Weak<Mutex<Vec<String>>> {
        Arc::downgrade(&self.to_close)
    }

    /// The names queued for closing.
    pub(super) fn take_closes(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.to_close.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_never_reused() {
        let mut s = Statements::new(StatementCache::new(0, 0));
        let a = s.new_name("tusk_s");
        let b = s.new_name("tusk_p");
        let c = s.new_name("tusk_s");
        assert_eq!(
            (a.as_str(), b.as_str(), c.as_str()),
            ("tusk_s1", "tusk_p2", "tusk_s3")
        );
        if let Some(q) = s.closer().upgrade() {
            q.lock().push("tusk_s1".into());
        }
        assert_eq!(s.take_closes(), vec!["tusk_s1".to_string()]);
        assert!(s.take_closes().is_empty());
    }
}
