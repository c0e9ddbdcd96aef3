//! The dependency graph of TVIEWs that read other TVIEWs: levels for refresh
//! order, cycle refusal, and dependents for `drop(..., cascade)`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use crate::error::{Error, Result};

/// TVIEWs and the TVIEWs each one reads.
#[derive(Debug, Clone, Default)]
pub struct Graph<N: Ord + Clone + Display> {
    reads: BTreeMap<N, BTreeSet<N>>,
}

impl<N: Ord + Clone + Display> Graph<N> {
    /// An empty graph.
    #[must_use]
    pub fn new() -> Self {
        Graph {
            reads: BTreeMap::new(),
        }
    }

    /// Adds a TVIEW and the relations it reads; relations that are not
    /// TVIEWs (not added themselves) are ignored when ordering.
    pub fn add(&mut self, tview: N, reads: impl IntoIterator<Item = N>) {
        self.reads.entry(tview).or_default().extend(reads);
    }

    /// Level of each TVIEW: 0 when it reads no TVIEW, else one more than the
    /// highest level it reads. Refreshing by ascending level is a
    /// topological order.
    ///
    /// # Errors
    /// [`Error::Cycle`] naming the cycle.
    pub fn levels(&self) -> Result<BTreeMap<N, u32>> {
        let mut level: BTreeMap<N, u32> = BTreeMap::new();
        let mut on_path: Vec<N> = Vec::new();
        for n in self.reads.keys() {
            self.visit(n, &mut level, &mut on_path)?;
        }
        Ok(level)
    }

    fn visit(&self, n: &N, level: &mut BTreeMap<N, u32>, path: &mut Vec<N>) -> Result<u32> {
        if let Some(l) = level.get(n) {
            return Ok(*l);
        }
        if let Some(start) = path.iter().position(|p| p == n) {
            let mut names: Vec<String> = path[start..].iter().map(ToString::to_string).collect();
            names.push(n.to_string());
            return Err(Error::Cycle(names.join(" -> ")));
        }
        path.push(n.clone());
        let mut l = 0;
        for d in self.reads.get(n).into_iter().flatten() {
            if self.reads.contains_key(d) {
                l = l.max(self.visit(d, level, path)? + 1);
            }
        }
        path.pop();
        level.insert(n.clone(), l);
        Ok(l)
    }

    /// All TVIEWs in refresh order (ascending level, then name).
    ///
    /// # Errors
    /// [`Error::Cycle`] when the graph has a cycle.
    pub fn order(&self) -> Result<Vec<N>> {
        let levels = self.levels()?;
        let mut v: Vec<(u32, N)> = levels.into_iter().map(|(n, l)| (l, n)).collect();
        v.sort();
        Ok(v.into_iter().map(|(_, n)| n).collect())
    }

    /// TVIEWs that read `n`, directly or transitively, in refresh order.
    #[must_use]
    pub fn dependents(&self, n: &N) -> Vec<N> {
        let mut found: BTreeSet<N> = BTreeSet::new();
        let mut stack = vec![n.clone()];
        while let Some(x) = stack.pop() {
            for (t, reads) in &self.reads {
                if reads.contains(&x) && found.insert(t.clone()) {
                    stack.push(t.clone());
                }
            }
        }
        found.remove(n);
        let order = self.order().unwrap_or_default();
        order.into_iter().filter(|t| found.contains(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_reads() {
        let mut g = Graph::new();
        g.add("tv_b", ["tv_a", "base"]);
        g.add("tv_a", ["base"]);
        g.add("tv_c", ["tv_b", "tv_a"]);
        g.add("tv_d", ["other"]);
        let l = g.levels().unwrap();
        assert_eq!((l["tv_a"], l["tv_b"], l["tv_c"], l["tv_d"]), (0, 1, 2, 0));
        assert_eq!(g.order().unwrap(), ["tv_a", "tv_d", "tv_b", "tv_c"]);
        assert_eq!(g.dependents(&"tv_a"), ["tv_b", "tv_c"]);
        assert!(g.dependents(&"tv_c").is_empty());
    }

    #[test]
    fn cycles_are_refused() {
        let mut g = Graph::new();
        g.add("tv_a", ["tv_c"]);
        g.add("tv_b", ["tv_a"]);
        g.add("tv_c", ["tv_b"]);
        let e = g.levels().unwrap_err();
        assert!(
            matches!(&e, Error::Cycle(p) if p == "tv_a -> tv_c -> tv_b -> tv_a"),
            "{e}"
        );
        let mut s = Graph::new();
        s.add("tv_self", ["tv_self"]);
        assert!(s.order().is_err());
    }
}
