//! Walks an analyzed query tree, level by level, recording every base-table
//! occurrence and merging column slots that equality conjuncts make equal.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::format::{self, Entry};
use super::uf::UnionFind;
use crate::error::{Error, Result};
use crate::node::{Node, Value};

/// Index of a query level (the top query, a FROM subquery, a CTE reference
/// or a sublink) in [`Walker::levels`].
pub type LevelId = usize;

/// A slot: (level, range-table index, attribute number).
pub type SlotKey = (LevelId, i64, i64);

/// One query level.
pub struct Level {
    /// The enclosing level, for `varlevelsup`.
    pub parent: Option<LevelId>,
    /// Whether rows of this level can change without a related row changing
    /// (LIMIT, window functions, set operations ... outside a per-row scope).
    pub opaque: bool,
    /// Whether the level itself limits or reorders its rows (LIMIT, window
    /// functions, DISTINCT ON ...), even where it is evaluated per outer
    /// row: its outputs then cannot be equated with anything outside it.
    pub limited: bool,
}

/// A base-table occurrence in the query.
pub struct Occurrence {
    /// The level that holds it.
    pub level: LevelId,
    /// Its range-table index in that level.
    pub rtindex: i64,
    /// `pg_class.oid` of the table.
    pub relid: u32,
    /// `pg_class.relkind`.
    pub relkind: String,
    /// Column names by attribute number (index 0 is attno 1); dropped
    /// columns are empty.
    pub columns: Vec<String>,
}

/// How a level is reached from its parent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The defining query itself.
    Top,
    /// A subquery in FROM (or a view), lateral or not.
    From {
        /// `LATERAL`: evaluated once per outer row.
        lateral: bool,
    },
    /// A sublink (`(SELECT ...)`, `EXISTS`, `IN`): evaluated per outer row.
    Sublink,
    /// A reference to a WITH query.
    Cte,
}

/// The walker's state; see the module docs.
pub struct Walker<'t> {
    eq_ops: &'t BTreeSet<u32>,
    /// Equal columns, merged.
    pub uf: UnionFind,
    /// Slot ids by key.
    pub slots: HashMap<SlotKey, usize>,
    /// Every level walked, in walk order (0 is the top).
    pub levels: Vec<Level>,
    /// The query nodes of the levels, parallel to `levels`.
    queries: Vec<&'t Node>,
    /// Every base-table occurrence, with the level it sits in.
    pub occurrences: Vec<Occurrence>,
    /// Why levels were found opaque, by level.
    pub opaque_reasons: HashMap<LevelId, String>,
    /// Views the query reads (expanded by the rewriter).
    pub views: Vec<u32>,
    /// `IN` sublinks that stand as a conjunct of a WHERE or ON condition
    /// (by address): only there is `x IN (SELECT y ...)` the same as the
    /// equality `x = y` (elsewhere, a NULL among the `y` changes every row).
    linkable: HashSet<usize>,
}

impl<'t> Walker<'t> {
    /// A walker that treats the operators in `eq_ops` as equality.
    pub fn new(eq_ops: &'t BTreeSet<u32>) -> Self {
        Walker {
            eq_ops,
            uf: UnionFind::default(),
            slots: HashMap::new(),
            levels: Vec::new(),
            queries: Vec::new(),
            occurrences: Vec::new(),
            opaque_reasons: HashMap::new(),
            views: Vec::new(),
            linkable: HashSet::new(),
        }
    }

    /// Walks one query level and everything below it.
    pub fn walk(&mut self, q: &'t Node, parent: Option<LevelId>, kind: Kind) -> Result<LevelId> {
        if q.kind != "QUERY" {
            return Err(Error::Tree(format!("expected QUERY, found {}", q.kind)));
        }
        if !format::is_select(q) {
            return Err(Error::Unsupported(
                "a TVIEW is defined by a SELECT query".into(),
            ));
        }
        if q.flag("hasModifyingCTE") {
            return Err(Error::Unsupported(
                "a TVIEW query cannot modify data (WITH ... INSERT/UPDATE/DELETE)".into(),
            ));
        }
        if !q.list("rowMarks").is_empty() {
            return Err(Error::Unsupported(
                "a TVIEW query cannot use FOR UPDATE/FOR NO KEY UPDATE/FOR SHARE/FOR KEY SHARE: \
                 its refresh only reads; remove the locking clause"
                    .into(),
            ));
        }
        let per_row = matches!(kind, Kind::Sublink | Kind::From { lateral: true });
        let feature = opaque_feature(q);
        let own = if per_row { None } else { feature.clone() };
        let inherited = parent.is_some_and(|p| self.levels[p].opaque);
        let id = self.levels.len();
        self.levels.push(Level {
            parent,
            opaque: inherited || own.is_some(),
            limited: feature.is_some(),
        });
        self.queries.push(q);
        if let Some(reason) = own {
            self.opaque_reasons.insert(id, reason);
        } else if let Some(p) = parent.filter(|_| inherited) {
            let reason = self.opaque_reasons.get(&p).cloned().unwrap_or_default();
            self.opaque_reasons.insert(id, reason);
        }
        // Rule placeholders (format::placeholder) are not read by the query.
        let mut in_tree = Vec::new();
        if let Some(jt) = q.node("jointree") {
            tree_indexes(jt, &mut in_tree);
        }
        for (i, rte) in q.list("rtable").iter().enumerate() {
            let rt =
                i64::try_from(i + 1).map_err(|_| Error::Tree("range table too long".into()))?;
            let rte = rte
                .as_node()
                .ok_or_else(|| Error::Tree("range table entry is not a node".into()))?;
            if let Some(view) = format::placeholder(rte, in_tree.contains(&rt)) {
                if let Some(v) = view.filter(|v| !self.views.contains(v)) {
                    self.views.push(v);
                }
                continue;
            }
            self.range_entry(id, rt, rte)?;
        }
        if let Some(jt) = q.node("jointree") {
            self.jointree(id, jt);
        }
        for (name, value) in &q.fields {
            if name != "rtable" && name != "cteList" {
                self.sublinks(id, value)?;
            }
        }
        Ok(id)
    }

    fn range_entry(&mut self, level: LevelId, rt: i64, rte: &'t Node) -> Result<()> {
        match format::entry(rte) {
            Entry::Relation => {
                let relid = rte
                    .int("relid")
                    .and_then(|r| u32::try_from(r).ok())
                    .ok_or_else(|| Error::Tree("relation without relid".into()))?;
                let columns = rte
                    .node("eref")
                    .map(|e| {
                        e.list("colnames")
                            .iter()
                            .map(|c| match c {
                                Value::Str(s) | Value::Atom(s) => s.clone(),
                                _ => String::new(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.occurrences.push(Occurrence {
                    level,
                    rtindex: rt,
                    relid,
                    relkind: rte.text("relkind").unwrap_or("").to_owned(),
                    columns,
                });
            }
            Entry::Subquery => {
                let sub = rte
                    .node("subquery")
                    .ok_or_else(|| Error::Tree("subquery entry without a query".into()))?;
                let lateral = rte.flag("lateral");
                let child = self.walk(sub, Some(level), Kind::From { lateral })?;
                // A LATERAL subquery with LIMIT (window, DISTINCT ON ...)
                // picks its rows per outer row: which rows is not a matter
                // of equality with its outputs.
                if !(lateral && self.levels[child].limited) {
                    self.link_outputs(level, rt, child, sub);
                }
            }
            Entry::Join => {
                for (k, var) in rte.list("joinaliasvars").iter().enumerate() {
                    let attno =
                        i64::try_from(k + 1).map_err(|_| Error::Tree("join too wide".into()))?;
                    if let Some(s) = self.var_slot(level, var) {
                        let me = self.slot((level, rt, attno));
                        self.uf.union(me, s);
                    }
                }
            }
            Entry::Cte => {
                let name = rte.text("ctename").unwrap_or("");
                let up = rte.int("ctelevelsup").unwrap_or(0);
                let owner = self
                    .ancestor(level, up)
                    .ok_or_else(|| Error::Tree("CTE reference above the top level".into()))?;
                let owner_q: &'t Node = self.queries[owner];
                let cte = owner_q
                    .list("cteList")
                    .iter()
                    .filter_map(Value::as_node)
                    .find(|c| c.text("ctename") == Some(name))
                    .ok_or_else(|| Error::Tree(format!("CTE {name} not found")))?;
                let cq = cte
                    .node("ctequery")
                    .ok_or_else(|| Error::Tree(format!("CTE {name} has no query")))?;
                let child = self.walk(cq, Some(owner), Kind::Cte)?;
                if cte.flag("cterecursive") {
                    self.levels[child].opaque = true;
                    self.opaque_reasons.insert(child, "WITH RECURSIVE".into());
                }
                self.link_outputs(level, rt, child, cq);
            }
            Entry::Other => {
                for field in ["functions", "values_lists", "tablefunc"] {
                    if let Some(v) = rte.get(field) {
                        self.sublinks(level, v)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Output column `resno` of a subquery or CTE equals its target expression.
    fn link_outputs(&mut self, level: LevelId, rt: i64, child: LevelId, sub: &'t Node) {
        for te in sub.list("targetList").iter().filter_map(Value::as_node) {
            if te.flag("resjunk") {
                continue;
            }
            let (Some(resno), Some(expr)) = (te.int("resno"), te.get("expr")) else {
                continue;
            };
            if let Some(s) = self.var_slot(child, expr) {
                let me = self.slot((level, rt, resno));
                self.uf.union(me, s);
            }
        }
    }

    fn jointree(&mut self, level: LevelId, node: &'t Node) {
        match node.kind.as_str() {
            "FROMEXPR" => {
                for item in node.list("fromlist").iter().filter_map(Value::as_node) {
                    self.jointree(level, item);
                }
            }
            "JOINEXPR" => {
                for side in ["larg", "rarg"] {
                    if let Some(n) = node.node(side) {
                        self.jointree(level, n);
                    }
                }
            }
            _ => {}
        }
        if let Some(q) = node.get("quals") {
            self.conjuncts(level, q, None);
        }
    }

    /// Merges the two sides of each `a = b` in a conjunction. `params` maps
    /// `PARAM_SUBLINK` ids to the sublink level (for `x IN (SELECT y ...)`).
    fn conjuncts(&mut self, level: LevelId, v: &'t Value, params: Option<(LevelId, &'t Node)>) {
        let Some(n) = v.as_node() else { return };
        match n.kind.as_str() {
            "BOOLEXPR" if n.text("boolop") == Some("and") => {
                for arg in n.list("args") {
                    self.conjuncts(level, arg, params);
                }
            }
            "SUBLINK" if params.is_none() => {
                self.linkable.insert(std::ptr::from_ref(n) as usize);
            }
            "OPEXPR" => {
                let is_eq = n
                    .int("opno")
                    .and_then(|o| u32::try_from(o).ok())
                    .is_some_and(|o| self.eq_ops.contains(&o));
                let args = n.list("args");
                if is_eq && args.len() == 2 {
                    let a = self.operand_slot(level, &args[0], params);
                    let b = self.operand_slot(level, &args[1], params);
                    if let (Some(a), Some(b)) = (a, b) {
                        self.uf.union(a, b);
                    }
                }
            }
            _ => {}
        }
    }

    fn operand_slot(
        &mut self,
        level: LevelId,
        v: &'t Value,
        params: Option<(LevelId, &'t Node)>,
    ) -> Option<usize> {
        let n = strip(v)?;
        if n.kind == "PARAM" && format::is_sublink_param(n) {
            let (child, sub) = params?;
            let id = n.int("paramid")?;
            let te = sub
                .list("targetList")
                .iter()
                .filter_map(Value::as_node)
                .find(|te| te.int("resno") == Some(id))?;
            return self.var_slot(child, te.get("expr")?);
        }
        self.var_slot(level, v)
    }

    /// Finds sublinks in an expression and walks them.
    fn sublinks(&mut self, level: LevelId, v: &'t Value) -> Result<()> {
        match v {
            Value::List(items) => {
                for item in items {
                    self.sublinks(level, item)?;
                }
            }
            Value::Node(n) if n.kind == "SUBLINK" => {
                let sub = n
                    .node("subselect")
                    .ok_or_else(|| Error::Tree("sublink without a query".into()))?;
                let child = self.walk(sub, Some(level), Kind::Sublink)?;
                if let Some(t) = n.get("testexpr") {
                    // `x IN (SELECT y ...)` means `x = y` only as a
                    // conjunct of a WHERE/ON (not under NOT, OR or in the
                    // select list, where a NULL y changes every row), and
                    // only when the subquery's rows are not limited.
                    if format::is_any_sublink(n)
                        && self.linkable.contains(&(std::ptr::from_ref(n) as usize))
                        && !self.levels[child].limited
                    {
                        self.conjuncts(level, t, Some((child, sub)));
                    }
                    self.sublinks(level, t)?;
                }
            }
            Value::Node(n) if n.kind == "QUERY" => {}
            Value::Node(n) => {
                for (_, f) in &n.fields {
                    self.sublinks(level, f)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn ancestor(&self, mut level: LevelId, up: i64) -> Option<LevelId> {
        for _ in 0..up {
            level = self.levels[level].parent?;
        }
        Some(level)
    }

    fn slot(&mut self, key: SlotKey) -> usize {
        if let Some(&s) = self.slots.get(&key) {
            return s;
        }
        let s = self.uf.push();
        self.slots.insert(key, s);
        s
    }

    /// The slot of a (possibly relabeled) Var, resolved to its level.
    pub fn var_slot(&mut self, level: LevelId, v: &Value) -> Option<usize> {
        let n = strip(v)?;
        if n.kind != "VAR" {
            return None;
        }
        let attno = n.int("varattno")?;
        if attno <= 0 {
            return None;
        }
        let target = self.ancestor(level, n.int("varlevelsup").unwrap_or(0))?;
        Some(self.slot((target, n.int("varno")?, attno)))
    }
}

/// Range-table indexes referenced from a join tree.
fn tree_indexes(node: &Node, out: &mut Vec<i64>) {
    if let Some(rt) = node.int("rtindex") {
        out.push(rt);
    }
    for field in ["fromlist"] {
        for item in node.list(field).iter().filter_map(Value::as_node) {
            tree_indexes(item, out);
        }
    }
    for side in ["larg", "rarg"] {
        if let Some(n) = node.node(side) {
            tree_indexes(n, out);
        }
    }
}

/// Looks through binary-compatible casts (`RelabelType`).
fn strip(v: &Value) -> Option<&Node> {
    let mut n = v.as_node()?;
    while n.kind == "RELABELTYPE" {
        n = n.node("arg")?;
    }
    Some(n)
}

/// A feature that lets a level's rows change without a related row
/// changing, when the level is not evaluated per outer row.
fn opaque_feature(q: &Node) -> Option<String> {
    let reason = if q.flag("hasWindowFuncs") {
        "window functions"
    } else if !q.is_null("limitCount") || !q.is_null("limitOffset") {
        "LIMIT/OFFSET"
    } else if !q.is_null("setOperations") {
        "UNION/INTERSECT/EXCEPT"
    } else if q.flag("hasDistinctOn") {
        "DISTINCT ON"
    } else if !q.is_null("groupingSets") {
        "GROUPING SETS"
    } else if q.flag("hasRecursive") {
        "WITH RECURSIVE"
    } else {
        return None;
    };
    Some(reason.to_owned())
}
