//! information_schema.columns: every column of the user's tables, with
//! the type facts PostgreSQL's `_pg_*` helper functions compute from a
//! column's type and typmod, its default as pg_get_expr prints it, and
//! its identity sequence's options.

use pg_query::protobuf as pb;
use pg_query::NodeEnum as N;

use super::info_schema::{cardinal, chars, database, ident, null, user_tables, yes, yes_no};
use super::pg_type::typname;
use super::*;
use crate::catalog::{Column, Sequence, Table};

pub(super) fn columns(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for tb in user_tables(cat) {
        for (n, c) in tb.columns.iter().enumerate() {
            rows.push(column_row(cat, tb, n, c));
        }
    }
    SysRel {
        cols: vec![
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("column_name", ident()),
            ("ordinal_position", cardinal()),
            ("column_default", chars()),
            ("is_nullable", yes_no()),
            ("data_type", chars()),
            ("character_maximum_length", cardinal()),
            ("character_octet_length", cardinal()),
            ("numeric_precision", cardinal()),
            ("numeric_precision_radix", cardinal()),
            ("numeric_scale", cardinal()),
            ("datetime_precision", cardinal()),
            ("interval_type", chars()),
            ("interval_precision", cardinal()),
            ("character_set_catalog", ident()),
            ("character_set_schema", ident()),
            ("character_set_name", ident()),
            ("collation_catalog", ident()),
            ("collation_schema", ident()),
            ("collation_name", ident()),
            ("domain_catalog", ident()),
            ("domain_schema", ident()),
            ("domain_name", ident()),
            ("udt_catalog", ident()),
            ("udt_schema", ident()),
            ("udt_name", ident()),
            ("scope_catalog", ident()),
            ("scope_schema", ident()),
            ("scope_name", ident()),
            ("maximum_cardinality", cardinal()),
            ("dtd_identifier", ident()),
            ("is_self_referencing", yes_no()),
            ("is_identity", yes_no()),
            ("identity_generation", chars()),
            ("identity_start", chars()),
            ("identity_increment", chars()),
            ("identity_maximum", chars()),
            ("identity_minimum", chars()),
            ("identity_cycle", yes_no()),
            ("is_generated", chars()),
            ("generation_expression", chars()),
            ("is_updatable", yes_no()),
        ],
        rows,
    }
}

fn opt(v: Option<i64>) -> Value {
    v.map_or(Value::Null, i)
}

fn column_row(cat: &Catalog, tb: &Table, n: usize, c: &Column) -> Vec<Value> {
    let ty = c.ty;
    let f = TypeFacts::of(ty);
    let (data_type, udt_schema, udt_name) = match ty.ty {
        Type::Array => (
            "ARRAY".to_string(),
            "pg_catalog".to_string(),
            format!("_{}", typname(ColType::array_elem(ty))),
        ),
        Type::Enum(oid) => match cat.enum_by_oid(oid) {
            Some(e) => ("USER-DEFINED".into(), e.schema.clone(), e.name.clone()),
            None => ("USER-DEFINED".into(), "public".into(), String::new()),
        },
        other => (
            other.name().to_string(),
            "pg_catalog".to_string(),
            typname(other).to_string(),
        ),
    };
    let interval_type = if ty.ty == Type::Interval {
        let name = crate::interval::type_name(ty.typmod);
        name.strip_prefix("interval")
            .map(|r| r.trim_start_matches(|ch: char| ch == '(' || ch == ')' || ch.is_ascii_digit()))
            .and_then(|r| r.strip_prefix(' '))
            .map(|r| t(&r.to_uppercase()))
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let seq = c.identity.and_then(|_| identity_sequence(cat, tb, c));
    let attnum = i64::try_from(n + 1).unwrap_or(0);
    vec![
        database(),
        t(&tb.schema),
        t(&tb.name),
        t(&c.name),
        i(attnum),
        column_default(cat, c).map_or(Value::Null, |d| t(&d)),
        yes(!c.not_null),
        t(&data_type),
        opt(f.char_max),
        opt(f.char_octets),
        opt(f.precision),
        opt(f.radix),
        opt(f.scale),
        opt(f.datetime_precision),
        interval_type,
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        database(),
        t(&udt_schema),
        t(&udt_name),
        null(),
        null(),
        null(),
        null(),
        t(&attnum.to_string()),
        yes(false),
        yes(c.identity.is_some()),
        match c.identity {
            Some(crate::catalog::Identity::Always) => t("ALWAYS"),
            Some(crate::catalog::Identity::ByDefault) => t("BY DEFAULT"),
            None => null(),
        },
        seq.map_or(Value::Null, |s| t(&s.start.to_string())),
        seq.map_or(Value::Null, |s| t(&s.increment.to_string())),
        seq.map_or(Value::Null, |s| t(&s.max.to_string())),
        seq.map_or(Value::Null, |s| t(&s.min.to_string())),
        yes(seq.is_some_and(|s| s.cycle)),
        t("NEVER"),
        null(),
        yes(true),
    ]
}

/// The sequence behind an identity column.
fn identity_sequence<'a>(cat: &'a Catalog, tb: &Table, c: &Column) -> Option<&'a Sequence> {
    let d = c.default.as_deref()?;
    cat.sequences
        .iter()
        .find(|s| s.owned_by == Some(tb.oid) && d.contains(&crate::catalog::nextval_call(&s.name)))
        .map(|s| &**s)
}

/// What PostgreSQL's `_pg_char_max_length`, `_pg_char_octet_length`,
/// `_pg_numeric_precision`/`_radix`/`_scale` and `_pg_datetime_precision`
/// answer for a type and typmod.
#[derive(Default)]
pub(super) struct TypeFacts {
    pub char_max: Option<i64>,
    pub char_octets: Option<i64>,
    pub precision: Option<i64>,
    pub radix: Option<i64>,
    pub scale: Option<i64>,
    pub datetime_precision: Option<i64>,
}

impl TypeFacts {
    pub(super) fn of(ty: ColType) -> TypeFacts {
        let m = i64::from(ty.typmod);
        let mut f = TypeFacts::default();
        match ty.ty {
            Type::Varchar | Type::Bpchar | Type::Text => {
                if m >= 4 && ty.ty != Type::Text {
                    f.char_max = Some(m - 4);
                    // UTF8: at most 4 bytes a character.
                    f.char_octets = Some((m - 4) * 4);
                } else {
                    f.char_octets = Some(1 << 30);
                }
            }
            Type::Int2 | Type::Int4 | Type::Int8 => {
                f.precision = Some(match ty.ty {
                    Type::Int2 => 16,
                    Type::Int4 => 32,
                    _ => 64,
                });
                f.radix = Some(2);
                f.scale = Some(0);
            }
            Type::Float4 | Type::Float8 => {
                f.precision = Some(if ty.ty == Type::Float4 { 24 } else { 53 });
                f.radix = Some(2);
            }
            Type::Numeric => {
                f.radix = Some(10);
                if m >= 4 {
                    f.precision = Some(((m - 4) >> 16) & 0xffff);
                    f.scale = Some((m - 4) & 0xffff);
                }
            }
            Type::Date => f.datetime_precision = Some(0),
            Type::Time | Type::Timestamp | Type::Timestamptz => {
                f.datetime_precision = Some(if m < 0 { 6 } else { m });
            }
            Type::Interval => {
                f.datetime_precision = Some(if m < 0 || m & 0xffff == 0xffff {
                    6
                } else {
                    m & 0xffff
                });
            }
            _ => {}
        }
        f
    }
}

/// The column's default as pg_get_expr prints it, for the defaults it
/// can reproduce: a serial's `nextval('s'::regclass)`, constants as
/// ruleutils prints them (a string literal in its type's output form,
/// labelled with the type: `'x'::text`, `'2020-01-02'::date`; a negative
/// or bigint number quoted and labelled: `'-1'::integer`), operators in
/// parentheses (`(1 + 2)`); other expressions as they were written
/// (normalised by the parser), which is what PostgreSQL prints for
/// function calls such as `now()`. An identity column has none.
pub(super) fn column_default(cat: &Catalog, c: &Column) -> Option<String> {
    if c.identity.is_some() || null_default(c) {
        return None;
    }
    let stored = c.default.as_deref()?;
    let text = expr_text(stored);
    if text.starts_with("nextval(") {
        return Some(text);
    }
    // The SQL-standard date/time functions, which ruleutils prints in
    // capitals (`CURRENT_TIMESTAMP`, `LOCALTIME(3)`).
    let word = text.split('(').next().unwrap_or_default();
    if matches!(
        word,
        "current_date" | "current_time" | "current_timestamp" | "localtime" | "localtimestamp"
    ) {
        return Some(text.to_uppercase());
    }
    let node = default_node(stored).flatten();
    let Some(N::AConst(k)) = &node else {
        return Some(
            node.as_ref()
                .and_then(super::info_constraints::raw_expr)
                .unwrap_or(text),
        );
    };
    use pb::a_const::Val;
    Some(match &k.val {
        Some(Val::Sval(s)) => string_const(cat, &s.sval, c.ty),
        Some(Val::Ival(v)) if v.ival < 0 => format!("'{}'::integer", v.ival),
        Some(Val::Fval(v)) if !v.fval.contains(['.', 'e', 'E']) => {
            format!("'{}'::bigint", v.fval)
        }
        Some(Val::Fval(v)) if v.fval.starts_with('-') => format!("'{}'::numeric", v.fval),
        _ => text,
    })
}

/// A string literal assigned to a column of `ty`: a constant of that
/// type, as ruleutils prints it.
fn string_const(cat: &Catalog, lit: &str, ty: ColType) -> String {
    let quoted = |s: &str, label: &str| format!("'{}'::{label}", s.replace('\'', "''"));
    let plain = ColType::plain(ty.ty);
    let out = || {
        crate::types::parse_text(lit, plain)
            .ok()
            .map(|v| crate::types::format_text(&v, ty.ty))
    };
    match ty.ty {
        Type::Text | Type::Varchar | Type::Name => quoted(lit, ty.ty.name()),
        Type::Bpchar => quoted(lit, "bpchar"),
        Type::Enum(oid) => {
            let label = cat
                .enum_by_oid(oid)
                .map(|e| quote_ident(&e.name))
                .unwrap_or_default();
            quoted(lit, &label)
        }
        Type::Array => quoted(lit, &format!("{}[]", ColType::array_elem(ty).name())),
        Type::Bool => match crate::types::parse_text(lit, plain) {
            Ok(Value::Bool(b)) => b.to_string(),
            _ => quoted(lit, "boolean"),
        },
        Type::Int4 => match out() {
            Some(o) if !o.starts_with('-') => o,
            Some(o) => quoted(&o, "integer"),
            None => quoted(lit, "integer"),
        },
        Type::Numeric => match out() {
            Some(o) if o.starts_with(|ch: char| ch.is_ascii_digit()) && o.contains('.') => o,
            Some(o) => quoted(&o, "numeric"),
            None => quoted(lit, "numeric"),
        },
        other => quoted(&out().unwrap_or_else(|| lit.to_string()), other.name()),
    }
}

/// The expression node of a stored default (`SELECT <expr>`).
/// A default PostgreSQL keeps no pg_attrdef row for: a bare NULL
/// constant (`DEFAULT NULL`).
pub(super) fn null_default(c: &Column) -> bool {
    let Some(Some(N::AConst(k))) = c.default.as_deref().and_then(default_node) else {
        return false;
    };
    k.isnull
}

fn default_node(stored: &str) -> Option<Option<N>> {
    let parsed = pg_query::parse(stored, 0).ok()?;
    let stmt = parsed.protobuf.stmts.first()?.stmt.as_deref()?;
    let Some(N::SelectStmt(s)) = &stmt.node else {
        return None;
    };
    let Some(N::ResTarget(rt)) = s.target_list.first()?.node.as_ref() else {
        return None;
    };
    Some(rt.val.as_deref()?.node.clone())
}

/// information_schema.element_types: the element type of every array
/// column (collection_type_identifier is the column's dtd_identifier,
/// its number). PostgreSQL leaves the length, precision and interval
/// facts of an element type NULL.
pub(super) fn element_types(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for tb in user_tables(cat) {
        for (n, c) in tb.columns.iter().enumerate() {
            if c.ty.ty != Type::Array {
                continue;
            }
            let elem = ColType::array_elem(c.ty);
            let attnum = (n + 1).to_string();
            let mut row = vec![
                database(),
                t(&tb.schema),
                t(&tb.name),
                t("TABLE"),
                t(&attnum),
                t(elem.name()),
            ];
            // character_maximum_length .. domain_default: all NULL.
            row.extend(std::iter::repeat_n(null(), 15));
            row.extend([
                database(),
                t("pg_catalog"),
                t(typname(elem)),
                null(),
                null(),
                null(),
                null(),
                t(&format!("a{attnum}")),
            ]);
            rows.push(row);
        }
    }
    SysRel {
        cols: vec![
            ("object_catalog", ident()),
            ("object_schema", ident()),
            ("object_name", ident()),
            ("object_type", chars()),
            ("collection_type_identifier", ident()),
            ("data_type", chars()),
            ("character_maximum_length", cardinal()),
            ("character_octet_length", cardinal()),
            ("character_set_catalog", ident()),
            ("character_set_schema", ident()),
            ("character_set_name", ident()),
            ("collation_catalog", ident()),
            ("collation_schema", ident()),
            ("collation_name", ident()),
            ("numeric_precision", cardinal()),
            ("numeric_precision_radix", cardinal()),
            ("numeric_scale", cardinal()),
            ("datetime_precision", cardinal()),
            ("interval_type", chars()),
            ("interval_precision", cardinal()),
            ("domain_default", chars()),
            ("udt_catalog", ident()),
            ("udt_schema", ident()),
            ("udt_name", ident()),
            ("scope_catalog", ident()),
            ("scope_schema", ident()),
            ("scope_name", ident()),
            ("maximum_cardinality", cardinal()),
            ("dtd_identifier", ident()),
        ],
        rows,
    }
}
