//! Key ranges ([`KeyRange`]): the rows of a range of the primary key, or
//! of an index's entries, read from the store a page at a time within
//! the range's bounds, with the transaction's own writes laid over them
//! (MVCC exactly as for a whole-table scan or an index prefix).

use std::ops::Bound;

use super::*;
use crate::sql::plan::{BinOp, KeyRange};

/// A page of a range read.
const PAGE: usize = 4096;

/// The smallest key greater than every key that starts with `k` (None:
/// there is none).
fn successor(k: &[u8]) -> Option<Vec<u8>> {
    let mut s = k.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// Storage keys from `from` (inclusive) up to `to` (exclusive; None:
/// no end).
type KeyBounds = (Vec<u8>, Option<Vec<u8>>);

impl Exec<'_> {
    /// The storage keys (of the table, or of the index's entries) `r`
    /// covers, its values evaluated; None when it holds no row (a NULL
    /// value, or bounds that cross).
    fn range_keys(&mut self, r: &KeyRange) -> Result<Option<KeyBounds>> {
        let mut prefix = Vec::new();
        for e in &r.eq {
            let v = self.eval(e, &[])?;
            if v.is_null() {
                return Ok(None);
            }
            keys::encode(&v, &mut prefix);
        }
        // The highest lower bound and the lowest upper one, as keys: a
        // lower `> v` starts after every key under v (v's key is
        // prefix-free); an upper `<= v` ends there.
        let mut lower: Option<Vec<u8>> = None;
        let mut upper: Option<Vec<u8>> = None;
        for (op, e) in &r.bounds {
            let v = self.eval(e, &[])?;
            if v.is_null() {
                return Ok(None);
            }
            let mut k = prefix.clone();
            keys::encode(&v, &mut k);
            match op {
                BinOp::Ge => {
                    if lower.as_ref().is_none_or(|l| k > *l) {
                        lower = Some(k);
                    }
                }
                BinOp::Gt => {
                    let Some(k) = successor(&k) else {
                        return Ok(None);
                    };
                    if lower.as_ref().is_none_or(|l| k > *l) {
                        lower = Some(k);
                    }
                }
                BinOp::Lt | BinOp::Le => {
                    let k = if *op == BinOp::Le {
                        successor(&k)
                    } else {
                        Some(k)
                    };
                    if let Some(k) = k {
                        if upper.as_ref().is_none_or(|u| k < *u) {
                            upper = Some(k);
                        }
                    }
                }
                _ => return Err(SqlError::internal("a key range's bound")),
            }
        }
        let from = lower.unwrap_or_else(|| prefix.clone());
        let to = match upper {
            Some(u) => Some(u),
            // Bounded below only: up to the column's NULLs (a NULL keys
            // as 0xFF, every other value below it), which no bound admits.
            None if !r.bounds.is_empty() => {
                let mut k = prefix.clone();
                k.push(0xFF);
                Some(k)
            }
            None => successor(&prefix),
        };
        if to.as_ref().is_some_and(|t| *t <= from) {
            return Ok(None);
        }
        Ok(Some((from, to)))
    }

    /// The rows of `table` in the range `r`, as this statement sees them,
    /// in key order (the caller re-checks its filter on each).
    pub(super) fn range_rows(
        &mut self,
        table: &Table,
        r: &KeyRange,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let mut out = Vec::new();
        self.for_each_range_page(table, r, |_, page| {
            out.extend(page);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with the rows of `table` in the range `r` this statement
    /// sees, a page at a time, as [`Exec::for_each_visible_page`] does
    /// for the whole table. A snapshot older than the index (or than the
    /// keys) reads the whole table: the filter above picks the rows.
    pub(super) fn for_each_range_page(
        &mut self,
        table: &Table,
        r: &KeyRange,
        mut f: impl FnMut(&mut Self, Vec<(Vec<u8>, Row)>) -> Result<()>,
    ) -> Result<()> {
        if table.lookup_is_newer(r.index, self.snapshot) {
            // The whole table, in the key's order (a sort may rely on it).
            let cols = match r.index {
                None => table.primary_key.clone(),
                Some(pos) => table.indexes.get(pos).map(|x| x.columns.clone()),
            }
            .unwrap_or_default();
            let mut rows = self.visible_rows(table)?;
            rows.sort_by_cached_key(|(k, row)| (keys::row_key(row, &cols), k.clone()));
            if r.backward {
                rows.reverse();
            }
            return f(self, rows);
        }
        self.lock_table(table, Mode::Shared)?;
        let Some((lo, hi)) = self.range_keys(r)? else {
            return Ok(());
        };
        let (oid, index) = match r.index {
            None => (table.oid, None),
            Some(pos) => match table.indexes.get(pos) {
                Some(idx) => (idx.oid, Some(idx)),
                None => return Err(SqlError::internal("range lookup on a missing index")),
            },
        };
        let to = match &hi {
            Some(h) => Bound::Excluded(h.as_slice()),
            None => Bound::Unbounded,
        };
        if r.backward {
            return self.range_pages_backward(table, oid, index, &lo, to, f);
        }
        let mut own = self
            .txn
            .writes
            .range_between(oid, Bound::Included(&lo), to)?
            .into_iter()
            .peekable();
        // (An index's rows are read by key: visible_row converts them.)
        let old = match index {
            None => table.old_layout(self.snapshot)?,
            Some(_) => None,
        };
        let mut after: Option<Vec<u8>> = None;
        loop {
            let from = match &after {
                Some(a) => Bound::Excluded(a.as_slice()),
                None => Bound::Included(lo.as_slice()),
            };
            let mut base = self
                .engine
                .store
                .scan_range(oid, self.snapshot, from, to, PAGE);
            let done = base.len() < PAGE;
            after = base.last().map(|(k, _)| k.clone());
            if let Some(old) = &old {
                base = old.convert(base);
            }
            let mut mine = Vec::new();
            while let Some(w) = own.next_if(|(k, _)| done || after.as_ref().is_some_and(|a| k <= a))
            {
                mine.push(w);
            }
            let page = merge_own(base, mine);
            let page = self.entry_rows(table, index.is_some(), page)?;
            if !page.is_empty() {
                f(self, page)?;
            }
            if done {
                return Ok(());
            }
        }
    }

    /// A page of a range as rows: itself for the primary key; for an
    /// index, the rows its entries point at, as seen.
    fn entry_rows(
        &mut self,
        table: &Table,
        index: bool,
        page: Vec<(Vec<u8>, Row)>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        if !index {
            return Ok(page);
        }
        let mut rows = Vec::with_capacity(page.len());
        for (_, e) in page {
            let Some(k) = write::entry_target(&e) else {
                continue;
            };
            if let Some(row) = self.visible_row(table, &k)? {
                rows.push((k, row));
            }
        }
        Ok(rows)
    }

    /// [`Exec::for_each_range_page`] from the highest key of `lo..to`
    /// down, the transaction's own writes laid over each page.
    fn range_pages_backward(
        &mut self,
        table: &Table,
        oid: u32,
        index: Option<&crate::catalog::Index>,
        lo: &[u8],
        to: Bound<&[u8]>,
        mut f: impl FnMut(&mut Self, Vec<(Vec<u8>, Row)>) -> Result<()>,
    ) -> Result<()> {
        let mut own = self
            .txn
            .writes
            .range_between(oid, Bound::Included(lo), to)?;
        let old = match index {
            None => table.old_layout(self.snapshot)?,
            Some(_) => None,
        };
        // The lowest key read so far: the next page ends below it.
        let mut before: Option<Vec<u8>> = None;
        loop {
            let upper = match &before {
                Some(b) => Bound::Excluded(b.as_slice()),
                None => to,
            };
            let mut base = self.engine.store.scan_range_rev(
                oid,
                self.snapshot,
                Bound::Included(lo),
                upper,
                PAGE,
            );
            let done = base.len() < PAGE;
            before = base.last().map(|(k, _)| k.clone());
            if let Some(old) = &old {
                base = old.convert(base);
            }
            // This page's own writes: those at or above its lowest key
            // (all that are left, on the last page).
            let split = match (&before, done) {
                (Some(b), false) => own.partition_point(|(k, _)| k < b),
                _ => 0,
            };
            let mine = own.split_off(split);
            base.reverse();
            let mut page = merge_own(base, mine);
            page.reverse();
            let page = self.entry_rows(table, index.is_some(), page)?;
            if !page.is_empty() {
                f(self, page)?;
            }
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn successor_is_past_every_extension() {
        assert_eq!(successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(successor(&[1, 0xFF, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF]), None);
        assert_eq!(successor(&[]), None);
    }
}
