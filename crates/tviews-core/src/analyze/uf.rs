//! A union-find over column slots: columns known equal in every row that
//! contributes to a TVIEW row end up in one class.

/// Disjoint sets over `0..n`, with path halving and union by size.
#[derive(Debug, Default, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    /// Adds a new singleton set and returns its element.
    pub fn push(&mut self) -> usize {
        let id = self.parent.len();
        self.parent.push(id);
        self.size.push(1);
        id
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Merges the sets of `a` and `b`.
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_transitively() {
        let mut uf = UnionFind::default();
        let v: Vec<usize> = (0..5).map(|_| uf.push()).collect();
        uf.union(v[0], v[1]);
        uf.union(v[3], v[1]);
        assert_eq!(uf.find(v[0]), uf.find(v[3]));
        assert_ne!(uf.find(v[0]), uf.find(v[2]));
        uf.union(v[0], v[0]);
        assert_ne!(uf.find(v[4]), uf.find(v[3]));
    }
}
