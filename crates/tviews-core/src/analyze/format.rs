//! What the walker reads that depends on the server's version: enum values
//! printed as numbers, and how a rewritten view shows in the range table.
//! Everything here is PostgreSQL 15's node text, the only format the
//! fixtures (`tests/fixtures`, captured from a PostgreSQL 15 server) cover.
//!
//! PostgreSQL 16 changed the last part: a view's rule placeholders (its
//! `OLD` and `NEW` relation entries outside the join tree) are gone, and
//! the view stays in the range table as the subquery entry it was expanded
//! into, with its `relid` and `relkind 'v'`. Supporting 16 and later means
//! capturing their fixtures and choosing the format here by
//! `server_version_num`; nothing outside this module needs to change.

use crate::node::Node;

/// The server versions (`server_version_num`) whose query trees this
/// reader is tested against: PostgreSQL 15.
pub const TESTED: std::ops::Range<u32> = 150_000..160_000;

/// What a range-table entry is (`RangeTblEntry.rtekind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `RTE_RELATION`: a table, a view's placeholder, ...
    Relation,
    /// `RTE_SUBQUERY`: a subquery in FROM, or an expanded view.
    Subquery,
    /// `RTE_JOIN`: the output of a join.
    Join,
    /// `RTE_CTE`: a reference to a WITH query.
    Cte,
    /// Functions, VALUES, table functions and the rest: read only for the
    /// sublinks in their expressions.
    Other,
}

/// The kind of a range-table entry.
pub fn entry(rte: &Node) -> Entry {
    match rte.int("rtekind") {
        Some(0) => Entry::Relation,
        Some(1) => Entry::Subquery,
        Some(2) => Entry::Join,
        Some(6) => Entry::Cte,
        _ => Entry::Other,
    }
}

/// Whether a query is a plain `SELECT` (`commandType` `CMD_SELECT`, no
/// utility statement).
pub fn is_select(q: &Node) -> bool {
    q.int("commandType") == Some(1) && q.is_null("utilityStmt")
}

/// Whether a `PARAM` node stands for an output of the sublink it compares
/// with (`PARAM_SUBLINK`).
pub fn is_sublink_param(param: &Node) -> bool {
    param.int("paramkind") == Some(2)
}

/// Whether a `SUBLINK` is `x IN (SELECT ...)` / `x = ANY (SELECT ...)`
/// (`ANY_SUBLINK`).
pub fn is_any_sublink(sublink: &Node) -> bool {
    sublink.int("subLinkType") == Some(2)
}

/// A range-table entry that the query does not read: a view's rule
/// placeholder, which sits outside the join tree (`in_join_tree` is
/// false). `Some(view)` names the view it stands for (its `OLD` and `NEW`
/// entries both carry the view's oid). A view's own expansion is walked as
/// an ordinary subquery.
pub fn placeholder(rte: &Node, in_join_tree: bool) -> Option<Option<u32>> {
    if entry(rte) != Entry::Relation || in_join_tree {
        return None;
    }
    let view = (rte.text("relkind") == Some("v"))
        .then(|| rte.int("relid").and_then(|r| u32::try_from(r).ok()))
        .flatten();
    Some(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::node::Value;

    #[test]
    fn a_pg15_view_leaves_its_placeholders_in_the_range_table() {
        // tests/fixtures/view.tree reads a view over post: PostgreSQL 15
        // expands it into a subquery whose range table keeps the view's
        // OLD/NEW relation entries, outside its join tree.
        let (_, q) = fixtures::tree("view");
        assert!(is_select(&q));
        let rtes: Vec<&Node> = q.list("rtable").iter().filter_map(Value::as_node).collect();
        assert_eq!(
            rtes.iter().map(|r| entry(r)).collect::<Vec<_>>(),
            [Entry::Subquery]
        );
        let view = rtes[0].node("subquery").unwrap();
        let inner: Vec<&Node> = view
            .list("rtable")
            .iter()
            .filter_map(Value::as_node)
            .collect();
        let views: Vec<Option<Option<u32>>> = inner
            .iter()
            .take(2)
            .map(|r| placeholder(r, false))
            .collect();
        assert!(matches!(views[0], Some(Some(_))), "{views:?}");
        assert_eq!(
            views[1],
            Some(Some(views[0].unwrap().unwrap())),
            "NEW names it too"
        );
        // The table the view reads is in its join tree: not a placeholder.
        assert_eq!(placeholder(inner[2], true), None);
    }

    #[test]
    fn only_pg15_is_claimed() {
        assert!(TESTED.contains(&150_004) && !TESTED.contains(&160_000));
        assert!(!TESTED.contains(&140_011));
    }
}
