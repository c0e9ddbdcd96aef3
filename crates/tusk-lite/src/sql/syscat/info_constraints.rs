//! The information_schema views about constraints: table_constraints,
//! key_column_usage, referential_constraints, constraint_column_usage,
//! constraint_table_usage and check_constraints.
//!
//! As in PostgreSQL 15, a NOT NULL column counts as a CHECK constraint
//! named `<schema oid>_<table oid>_<column number>_not_null` (its clause
//! `col IS NOT NULL`) in table_constraints and check_constraints. The
//! table's OID in that name is tusk-lite's, which is not the one
//! PostgreSQL would have given the same table.

use pg_query::NodeEnum as N;

use super::info_schema::{cardinal, chars, database, ident, null, user_tables, yes, yes_no};
use super::*;
use crate::catalog::{FkAction, Table};

/// One constraint of a user table.
struct Con<'a> {
    name: String,
    /// 'p', 'u', 'f', 'c'.
    kind: char,
    table: &'a Table,
    /// Constrained columns (p, u, f); a check's are those its expression
    /// names.
    columns: Vec<usize>,
    /// A foreign key's referenced table and columns.
    reference: Option<(&'a Table, Vec<usize>)>,
    on_update: FkAction,
    on_delete: FkAction,
    /// A check's expression (as stored).
    check: Option<String>,
}

/// Every constraint of the user's tables, table by table in OID order:
/// primary key, unique constraints, checks, foreign keys.
fn constraints(cat: &Catalog) -> Vec<Con<'_>> {
    let mut out = Vec::new();
    for tb in user_tables(cat) {
        let tb: &Table = tb;
        let base = |name: &str, kind: char, columns: Vec<usize>| Con {
            name: name.to_string(),
            kind,
            table: tb,
            columns,
            reference: None,
            on_update: FkAction::NoAction,
            on_delete: FkAction::NoAction,
            check: None,
        };
        if let (Some(pk), Some(name)) = (&tb.primary_key, &tb.pkey_name) {
            out.push(base(name, 'p', pk.clone()));
        }
        for ix in tb.indexes.iter().filter(|ix| ix.constraint) {
            out.push(base(&ix.name, 'u', ix.columns.clone()));
        }
        for ch in &tb.checks {
            let mut c = base(&ch.name, 'c', check_columns(tb, &ch.expr));
            c.check = Some(ch.expr.clone());
            out.push(c);
        }
        for fk in &tb.foreign_keys {
            let Some(rt) = cat.table_by_oid(fk.ref_table) else {
                continue;
            };
            let mut c = base(&fk.name, 'f', fk.columns.clone());
            c.reference = Some((rt, fk.ref_columns.clone()));
            c.on_update = fk.on_update;
            c.on_delete = fk.on_delete;
            out.push(c);
        }
    }
    out
}

/// The table's columns a check expression names, in column order.
fn check_columns(tb: &Table, stored: &str) -> Vec<usize> {
    let Ok(parsed) = pg_query::parse(stored, 0) else {
        return Vec::new();
    };
    let mut cols: Vec<usize> = parsed
        .protobuf
        .nodes()
        .into_iter()
        .filter_map(|(n, ..)| match n {
            pg_query::NodeRef::ColumnRef(c) => match c.fields.last()?.node.as_ref()? {
                N::String(s) => tb.column_index(&s.sval),
                _ => None,
            },
            _ => None,
        })
        .collect();
    cols.sort_unstable();
    cols.dedup();
    cols
}

/// The NOT NULL "check constraints" PostgreSQL lists: (name, table,
/// column).
fn not_nulls(cat: &Catalog) -> Vec<(String, &Table, String)> {
    let mut out = Vec::new();
    for tb in user_tables(cat) {
        for (n, c) in tb.columns.iter().enumerate() {
            if c.not_null {
                out.push((
                    format!("{}_{}_{}_not_null", oids::PUBLIC, tb.oid, n + 1),
                    &**tb,
                    c.name.clone(),
                ));
            }
        }
    }
    out
}

fn rule(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "NO ACTION",
        FkAction::Restrict => "RESTRICT",
        FkAction::Cascade => "CASCADE",
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
    }
}

/// The primary key or unique constraint of `tb` over exactly `cols`.
fn unique_constraint(tb: &Table, cols: &[usize]) -> Option<String> {
    if tb.primary_key.as_deref() == Some(cols) {
        return tb.pkey_name.clone();
    }
    tb.indexes
        .iter()
        .find(|ix| ix.unique && ix.columns == cols)
        .map(|ix| ix.name.clone())
}

/// One of the constraint views, or None for another relation.
pub(super) fn relation(cat: &Catalog, rel: &str) -> Option<SysRel> {
    Some(match rel {
        "table_constraints" => table_constraints(cat),
        "key_column_usage" => key_column_usage(cat),
        "referential_constraints" => referential_constraints(cat),
        "constraint_column_usage" => constraint_column_usage(cat),
        "constraint_table_usage" => constraint_table_usage(cat),
        "check_constraints" => check_constraints(cat),
        _ => return None,
    })
}

fn table_constraints(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for c in constraints(cat) {
        let ty = match c.kind {
            'p' => "PRIMARY KEY",
            'u' => "UNIQUE",
            'f' => "FOREIGN KEY",
            _ => "CHECK",
        };
        rows.push(vec![
            database(),
            t(&c.table.schema),
            t(&c.name),
            database(),
            t(&c.table.schema),
            t(&c.table.name),
            t(ty),
            yes(false),
            yes(false),
            yes(true),
            if c.kind == 'u' { yes(true) } else { null() },
        ]);
    }
    for (name, tb, _) in not_nulls(cat) {
        rows.push(vec![
            database(),
            t(&tb.schema),
            t(&name),
            database(),
            t(&tb.schema),
            t(&tb.name),
            t("CHECK"),
            yes(false),
            yes(false),
            yes(true),
            null(),
        ]);
    }
    SysRel {
        cols: vec![
            ("constraint_catalog", ident()),
            ("constraint_schema", ident()),
            ("constraint_name", ident()),
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("constraint_type", chars()),
            ("is_deferrable", yes_no()),
            ("initially_deferred", yes_no()),
            ("enforced", yes_no()),
            ("nulls_distinct", yes_no()),
        ],
        rows,
    }
}

fn key_column_usage(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for c in constraints(cat).iter().filter(|c| c.kind != 'c') {
        for (k, col) in c.columns.iter().enumerate() {
            // A foreign key column's place in the referenced key's index.
            let in_unique = c.reference.as_ref().map(|(rt, rcols)| {
                let target = rcols.get(k).copied();
                let key = rt
                    .primary_key
                    .as_deref()
                    .filter(|pk| *pk == rcols.as_slice());
                let index_cols = key.map(<[usize]>::to_vec).or_else(|| {
                    rt.indexes
                        .iter()
                        .find(|ix| ix.unique && ix.columns == *rcols)
                        .map(|ix| ix.columns.clone())
                });
                index_cols
                    .and_then(|cols| cols.iter().position(|x| Some(*x) == target))
                    .map_or(Value::Null, |p| i(i64::try_from(p + 1).unwrap_or(0)))
            });
            rows.push(vec![
                database(),
                t(&c.table.schema),
                t(&c.name),
                database(),
                t(&c.table.schema),
                t(&c.table.name),
                t(&c.table.columns[*col].name),
                i(i64::try_from(k + 1).unwrap_or(0)),
                in_unique.unwrap_or(Value::Null),
            ]);
        }
    }
    SysRel {
        cols: vec![
            ("constraint_catalog", ident()),
            ("constraint_schema", ident()),
            ("constraint_name", ident()),
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("column_name", ident()),
            ("ordinal_position", cardinal()),
            ("position_in_unique_constraint", cardinal()),
        ],
        rows,
    }
}

fn referential_constraints(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for c in constraints(cat).iter().filter(|c| c.kind == 'f') {
        let Some((rt, rcols)) = &c.reference else {
            continue;
        };
        let unique = unique_constraint(rt, rcols);
        rows.push(vec![
            database(),
            t(&c.table.schema),
            t(&c.name),
            if unique.is_some() { database() } else { null() },
            if unique.is_some() {
                t(&rt.schema)
            } else {
                null()
            },
            unique.map_or(Value::Null, |u| t(&u)),
            t("NONE"),
            t(rule(c.on_update)),
            t(rule(c.on_delete)),
        ]);
    }
    SysRel {
        cols: vec![
            ("constraint_catalog", ident()),
            ("constraint_schema", ident()),
            ("constraint_name", ident()),
            ("unique_constraint_catalog", ident()),
            ("unique_constraint_schema", ident()),
            ("unique_constraint_name", ident()),
            ("match_option", chars()),
            ("update_rule", chars()),
            ("delete_rule", chars()),
        ],
        rows,
    }
}

/// The table a constraint's columns are in (a foreign key's: the
/// referenced table) and those columns.
fn used<'a>(c: &'a Con<'a>) -> (&'a Table, &'a [usize]) {
    match &c.reference {
        Some((rt, rcols)) => (*rt, rcols.as_slice()),
        None => (c.table, c.columns.as_slice()),
    }
}

fn constraint_column_usage(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for c in &constraints(cat) {
        let (tb, cols) = used(c);
        for col in cols {
            rows.push(vec![
                database(),
                t(&tb.schema),
                t(&tb.name),
                t(&tb.columns[*col].name),
                database(),
                t(&c.table.schema),
                t(&c.name),
            ]);
        }
    }
    SysRel {
        cols: vec![
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("column_name", ident()),
            ("constraint_catalog", ident()),
            ("constraint_schema", ident()),
            ("constraint_name", ident()),
        ],
        rows,
    }
}

fn constraint_table_usage(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for c in constraints(cat).iter().filter(|c| c.kind != 'c') {
        let (tb, _) = used(c);
        rows.push(vec![
            database(),
            t(&tb.schema),
            t(&tb.name),
            database(),
            t(&c.table.schema),
            t(&c.name),
        ]);
    }
    SysRel {
        cols: vec![
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("constraint_catalog", ident()),
            ("constraint_schema", ident()),
            ("constraint_name", ident()),
        ],
        rows,
    }
}

fn check_constraints(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for c in constraints(cat) {
        if let Some(expr) = &c.check {
            rows.push(vec![
                database(),
                t(&c.table.schema),
                t(&c.name),
                t(&format!("({})", check_clause(c.table, expr))),
            ]);
        }
    }
    for (name, tb, col) in not_nulls(cat) {
        rows.push(vec![
            database(),
            t(&tb.schema),
            t(&name),
            t(&format!("{col} IS NOT NULL")),
        ]);
    }
    SysRel {
        cols: vec![
            ("constraint_catalog", ident()),
            ("constraint_schema", ident()),
            ("constraint_name", ident()),
            ("check_clause", chars()),
        ],
        rows,
    }
}

/// A check's expression as pg_get_constraintdef prints it without
/// pretty-printing: every operator and boolean connective in
/// parentheses, constants labelled with their types and the implicit
/// casts of operator arguments shown (`(s > 0)`, `(body <> ''::text)`,
/// `((vc)::text <> ''::text)`, `(n > (0)::numeric)`,
/// `((a > 0) AND (b < 5))`); expressions with other parts (function
/// calls, ...) are printed as written, in one pair of parentheses.
pub(super) fn check_clause(tb: &Table, stored: &str) -> String {
    check_text(tb, stored, false).unwrap_or_else(|| format!("({})", expr_text(stored)))
}

/// A check's expression as pg_get_constraintdef(oid, true) prints it:
/// parentheses only where ruleutils' PRETTY_PAREN keeps them (`a > 0`,
/// `(a + 1) > 2`, `NOT a = 5`, `b <> ''::text AND a < 100`); the
/// expression as written where it is not reproduced.
pub(super) fn check_pretty(tb: &Table, stored: &str) -> String {
    check_text(tb, stored, true).unwrap_or_else(|| expr_text(stored))
}

fn check_text(tb: &Table, stored: &str, pretty: bool) -> Option<String> {
    let node = pg_query::parse(stored, 0).ok().and_then(|p| {
        let stmt = p.protobuf.stmts.first()?.stmt.clone()?;
        let Some(N::SelectStmt(s)) = stmt.node else {
            return None;
        };
        let Some(N::ResTarget(rt)) = s.target_list.first()?.node.clone() else {
            return None;
        };
        rt.val?.node
    });
    node.as_ref()
        .and_then(|n| {
            Printer {
                table: Some(tb),
                pretty,
            }
            .expr(n)
        })
        .map(|o| o.text)
}

/// ruleutils' non-pretty form of an expression built of column
/// references, constants, operators, LIKE, IN lists, BETWEEN,
/// AND/OR/NOT and IS [NOT] NULL; None for anything else.
pub(super) fn raw_expr(n: &N) -> Option<String> {
    Printer {
        table: None,
        pretty: false,
    }
    .expr(n)
    .map(|o| o.text)
}

/// An operand as ruleutils prints it, with what is known of its type.
struct Operand {
    text: String,
    ty: Option<Type>,
    what: What,
    shape: Shape,
}

/// What ruleutils' isSimpleNode looks at to decide, in pretty mode,
/// whether an argument needs parentheses.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// A column, a constant, a cast: never parenthesised.
    Simple,
    /// A binary operator; true for `+ -`, `* /  %` (their priority).
    Op(Option<bool>),
    /// `x = ANY (ARRAY[...])`: always parenthesised as an argument.
    AnyAll,
    /// IS [NOT] NULL.
    NullTest,
    And,
    Or,
    Not,
}

/// An operator's arithmetic priority: Some(false) for `+ -`, Some(true)
/// for `* / %`, None for the others.
fn priority(op: &str) -> Option<bool> {
    match op {
        "+" | "-" => Some(false),
        "*" | "/" | "%" => Some(true),
        _ => None,
    }
}

/// isSimpleNode(child, parent) with PRETTY_PAREN; `first`: the child is
/// the parent operator's left argument.
fn simple(child: Shape, parent: Shape, first: bool) -> bool {
    match child {
        Shape::Simple => true,
        Shape::Op(c) if matches!(parent, Shape::Op(_)) => {
            let (Some(c), Shape::Op(Some(p))) = (c, parent) else {
                return false;
            };
            if c && !p {
                true
            } else if !c && p {
                false
            } else {
                first
            }
        }
        Shape::Op(_) | Shape::NullTest => {
            matches!(parent, Shape::And | Shape::Or | Shape::Not)
        }
        Shape::AnyAll => false,
        Shape::Not | Shape::And => matches!(parent, Shape::And | Shape::Or),
        Shape::Or => parent == Shape::Or,
    }
}

#[derive(PartialEq)]
enum What {
    Column,
    /// A number constant.
    Number,
    /// A string literal (its value), typed by the other operand.
    Literal(String),
    Other,
}

/// Prints expressions over one table's columns.
struct Printer<'a> {
    table: Option<&'a Table>,
    /// Parentheses as pretty-printing keeps them.
    pretty: bool,
}

impl Printer<'_> {
    fn paren_cast(&self, text: &str, ty: Type) -> String {
        if self.pretty {
            format!("{text}::{}", ty.name())
        } else {
            format!("({text})::{}", ty.name())
        }
    }

    /// An expression of the given shape: in parentheses unless pretty.
    fn shaped(&self, text: String, shape: Shape) -> Operand {
        Operand {
            text: if self.pretty {
                text
            } else {
                format!("({text})")
            },
            ty: None,
            what: What::Other,
            shape,
        }
    }

    /// A child's text inside `parent`, parenthesised where pretty
    /// printing needs it (unpretty texts carry their own).
    fn arg(&self, mut o: Operand, parent: Shape, first: bool) -> Operand {
        if self.pretty && !simple(o.shape, parent, first) {
            o.text = format!("({})", o.text);
            o.shape = Shape::Simple;
        }
        o
    }

    fn node(&self, n: &Option<Box<pg_query::protobuf::Node>>) -> Option<Operand> {
        self.expr(n.as_deref()?.node.as_ref()?)
    }

    fn expr(&self, n: &N) -> Option<Operand> {
        use pg_query::protobuf::a_const::Val;
        use pg_query::protobuf::AExprKind as K;
        match n {
            N::ColumnRef(c) => match c.fields.as_slice() {
                [f] => match f.node.as_ref()? {
                    N::String(s) => Some(Operand {
                        text: quote_ident(&s.sval),
                        ty: self
                            .table
                            .and_then(|t| t.column_index(&s.sval).map(|i| t.columns[i].ty.ty)),
                        what: What::Column,
                        shape: Shape::Simple,
                    }),
                    _ => None,
                },
                _ => None,
            },
            N::AConst(k) => {
                let number = |text: String, ty: Type| Operand {
                    text,
                    ty: Some(ty),
                    what: What::Number,
                    shape: Shape::Simple,
                };
                match k.val.as_ref()? {
                    Val::Ival(v) if v.ival >= 0 => Some(number(v.ival.to_string(), Type::Int4)),
                    Val::Ival(v) => Some(number(format!("'{}'::integer", v.ival), Type::Int4)),
                    Val::Fval(v) if !v.fval.contains(['.', 'e', 'E']) => {
                        Some(number(format!("'{}'::bigint", v.fval), Type::Int8))
                    }
                    Val::Fval(v) if v.fval.starts_with('-') => {
                        Some(number(format!("'{}'::numeric", v.fval), Type::Numeric))
                    }
                    Val::Fval(v) => Some(number(v.fval.clone(), Type::Numeric)),
                    Val::Boolval(b) => Some(Operand {
                        text: b.boolval.to_string(),
                        ty: Some(Type::Bool),
                        what: What::Other,
                        shape: Shape::Simple,
                    }),
                    Val::Sval(s) => Some(Operand {
                        text: format!("'{}'", s.sval.replace('\'', "''")),
                        ty: None,
                        what: What::Literal(s.sval.clone()),
                        shape: Shape::Simple,
                    }),
                    _ => None,
                }
            }
            N::AExpr(e) => {
                let [op] = e.name.as_slice() else {
                    return None;
                };
                let Some(N::String(op)) = op.node.as_ref() else {
                    return None;
                };
                let op = op.sval.as_str();
                let kind = K::try_from(e.kind).ok()?;
                match kind {
                    K::AexprOp | K::AexprLike => {
                        let me = Shape::Op(priority(op));
                        let l = self.arg(self.node(&e.lexpr)?, me, true);
                        let r = self.arg(self.node(&e.rexpr)?, me, false);
                        let (l, r) = self.pair(l, r)?;
                        Some(self.shaped(format!("{l} {op} {r}"), me))
                    }
                    K::AexprBetween | K::AexprNotBetween => {
                        let Some(N::List(bounds)) = e.rexpr.as_deref()?.node.as_ref() else {
                            return None;
                        };
                        let [lo, hi] = bounds.items.as_slice() else {
                            return None;
                        };
                        let side = |b: &pg_query::protobuf::Node| {
                            let me = Shape::Op(None);
                            self.pair(
                                self.arg(self.node(&e.lexpr)?, me, true),
                                self.arg(self.expr(b.node.as_ref()?)?, me, false),
                            )
                        };
                        let ((a, lo), (b, hi)) = (side(lo)?, side(hi)?);
                        let cmp = |t: String| self.shaped(t, Shape::Op(None)).text;
                        Some(if kind == K::AexprBetween {
                            let t = format!(
                                "{} AND {}",
                                cmp(format!("{a} >= {lo}")),
                                cmp(format!("{b} <= {hi}"))
                            );
                            self.shaped(t, Shape::And)
                        } else {
                            let t = format!(
                                "{} OR {}",
                                cmp(format!("{a} < {lo}")),
                                cmp(format!("{b} > {hi}"))
                            );
                            self.shaped(t, Shape::Or)
                        })
                    }
                    K::AexprIn => {
                        let Some(N::List(items)) = e.rexpr.as_deref()?.node.as_ref() else {
                            return None;
                        };
                        let mut left = None;
                        let mut elems = Vec::new();
                        for item in &items.items {
                            let lo = self.arg(self.node(&e.lexpr)?, Shape::AnyAll, true);
                            let plain = lo.text.clone();
                            let (l, r) = self.pair(lo, self.expr(item.node.as_ref()?)?)?;
                            // A cast column (varchar): PostgreSQL casts
                            // the whole array; not reproduced.
                            if l != plain {
                                return None;
                            }
                            // An IN list is one array of one type: a cast on
                            // the left would differ between items.
                            if left.as_ref().is_some_and(|x| *x != l) {
                                return None;
                            }
                            left = Some(l);
                            elems.push(r);
                        }
                        let (cmp, quant) = if op == "=" {
                            ("=", "ANY")
                        } else {
                            ("<>", "ALL")
                        };
                        let left = left?;
                        Some(self.shaped(
                            format!("{left} {cmp} {quant} (ARRAY[{}])", elems.join(", ")),
                            Shape::AnyAll,
                        ))
                    }
                    _ => None,
                }
            }
            N::BoolExpr(b) => {
                use pg_query::protobuf::BoolExprType as B;
                let me = match B::try_from(b.boolop).ok()? {
                    B::AndExpr => Shape::And,
                    B::OrExpr => Shape::Or,
                    B::NotExpr => Shape::Not,
                    _ => return None,
                };
                let args: Option<Vec<String>> = b
                    .args
                    .iter()
                    .map(|a| Some(self.arg(self.expr(a.node.as_ref()?)?, me, false).text))
                    .collect();
                let args = args?;
                Some(self.shaped(
                    match me {
                        Shape::And => args.join(" AND "),
                        Shape::Or => args.join(" OR "),
                        _ => format!("NOT {}", args.first()?),
                    },
                    me,
                ))
            }
            N::NullTest(nt) => {
                use pg_query::protobuf::NullTestType as T;
                let what = match T::try_from(nt.nulltesttype).ok()? {
                    T::IsNull => "IS NULL",
                    _ => "IS NOT NULL",
                };
                let arg = self.arg(
                    self.expr(nt.arg.as_deref()?.node.as_ref()?)?,
                    Shape::NullTest,
                    true,
                );
                Some(self.shaped(format!("{} {what}", arg.text), Shape::NullTest))
            }
            _ => None,
        }
    }

    /// The two operands of a binary operator as ruleutils prints them:
    /// a string literal takes the other side's type as its label, and
    /// the implicit casts PostgreSQL's operator resolution adds are
    /// shown. None where the resolution is not reproduced.
    fn pair(&self, l: Operand, r: Operand) -> Option<(String, String)> {
        if let What::Literal(v) = &r.what {
            let (l, r) = self.with_literal(l, v)?;
            return Some((l, r));
        }
        if let What::Literal(v) = &l.what {
            let (r, l) = self.with_literal(r, v)?;
            return Some((l, r));
        }
        let numeric_side = |col: &Operand, num: &Operand| -> Option<(String, String)> {
            let (ct, nt) = (col.ty?, num.ty?);
            Some(match (ct, nt) {
                (c, n) if c.is_integer() && n.is_integer() => (col.text.clone(), num.text.clone()),
                (c, Type::Numeric) if c.is_integer() => {
                    (self.paren_cast(&col.text, Type::Numeric), num.text.clone())
                }
                (Type::Numeric, Type::Numeric) => (col.text.clone(), num.text.clone()),
                (Type::Numeric, n) if n.is_integer() => {
                    (col.text.clone(), self.paren_cast(&num.text, Type::Numeric))
                }
                (Type::Float8 | Type::Float4, _) => {
                    (col.text.clone(), self.paren_cast(&num.text, Type::Float8))
                }
                _ => return None,
            })
        };
        match (&l.what, &r.what) {
            (What::Column, What::Number) => numeric_side(&l, &r),
            (What::Number, What::Column) => numeric_side(&r, &l).map(|(c, n)| (n, c)),
            (What::Column, What::Column) if l.ty == r.ty && l.ty.is_some() => {
                Some((l.text, r.text))
            }
            (What::Number, What::Number) if l.ty == r.ty => Some((l.text, r.text)),
            (What::Other, What::Number | What::Other | What::Column)
            | (What::Number | What::Column, What::Other) => Some((l.text, r.text)),
            _ => None,
        }
    }

    /// An operand compared with a string literal: the literal becomes a
    /// constant of the operand's type (a varchar column is compared as
    /// text).
    fn with_literal(&self, side: Operand, lit: &str) -> Option<(String, String)> {
        let quoted = |s: &str, label: &str| format!("'{}'::{label}", s.replace('\'', "''"));
        if side.what != What::Column {
            return None;
        }
        let ty = side.ty?;
        Some(match ty {
            Type::Text => (side.text, quoted(lit, "text")),
            Type::Varchar => (self.paren_cast(&side.text, Type::Text), quoted(lit, "text")),
            Type::Bpchar => (side.text, quoted(lit, "bpchar")),
            Type::Date
            | Type::Timestamp
            | Type::Timestamptz
            | Type::Time
            | Type::Interval
            | Type::Uuid
            | Type::Bytea => {
                let v = crate::types::parse_text(lit, ColType::plain(ty)).ok()?;
                let out = crate::types::format_text(&v, ty);
                (side.text, quoted(&out, ty.name()))
            }
            _ => return None,
        })
    }
}
