//! The types tusk-lite implements as the catalog shows them: pg_type,
//! pg_collation, the per-type attributes pg_attribute reads, and
//! format_type.

use super::*;

/// The types pg_type lists: every type tusk-lite implements.
const TYPES: &[Type] = &crate::types::BUILT_IN;

pub(super) fn typname(ty: Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::Int2 => "int2",
        Type::Int4 => "int4",
        Type::Int8 => "int8",
        Type::Float4 => "float4",
        Type::Float8 => "float8",
        Type::Numeric => "numeric",
        Type::Text => "text",
        Type::Varchar => "varchar",
        Type::Bpchar => "bpchar",
        Type::Name => "name",
        Type::Oid => "oid",
        Type::Date => "date",
        Type::Timestamp => "timestamp",
        Type::Timestamptz => "timestamptz",
        Type::Array => "_text",
        Type::Unknown => "unknown",
        Type::Char => "char",
        Type::Enum(_) => "anyenum",
        Type::Json => "json",
        Type::Jsonb => "jsonb",
        Type::Bytea => "bytea",
        Type::Uuid => "uuid",
        Type::Time => "time",
        Type::Interval => "interval",
    }
}

/// The input functions pg_type.typinput names, by name and OID
/// (PostgreSQL's fixed OIDs): `'array_in'::regproc` finds them.
pub const INPUT_FUNCTIONS: &[(&str, i64)] = &[
    ("array_in", 750),
    ("enum_in", 3504),
    ("boolin", 1242),
    ("int2in", 38),
    ("int4in", 42),
    ("int8in", 460),
    ("float4in", 200),
    ("float8in", 214),
    ("numeric_in", 1701),
    ("textin", 46),
    ("varcharin", 1046),
    ("bpcharin", 1044),
    ("namein", 34),
    ("oidin", 1798),
    ("date_in", 1084),
    ("timestamp_in", 1312),
    ("timestamptz_in", 1150),
    ("time_in", 1143),
    ("interval_in", 1160),
    ("json_in", 321),
    ("jsonb_in", 3806),
    ("byteain", 1244),
    ("uuid_in", 2952),
    ("charin", 1245),
    ("unknownin", 109),
];

/// pg_type.typinput of a built-in type: its input function's OID.
fn typinput(ty: Type) -> i64 {
    let f = match ty {
        Type::Bool => "boolin",
        Type::Int2 => "int2in",
        Type::Int4 => "int4in",
        Type::Int8 => "int8in",
        Type::Float4 => "float4in",
        Type::Float8 => "float8in",
        Type::Numeric => "numeric_in",
        Type::Text => "textin",
        Type::Varchar => "varcharin",
        Type::Bpchar => "bpcharin",
        Type::Name => "namein",
        Type::Oid => "oidin",
        Type::Date => "date_in",
        Type::Timestamp => "timestamp_in",
        Type::Timestamptz => "timestamptz_in",
        Type::Time => "time_in",
        Type::Interval => "interval_in",
        Type::Json => "json_in",
        Type::Jsonb => "jsonb_in",
        Type::Bytea => "byteain",
        Type::Uuid => "uuid_in",
        Type::Char => "charin",
        Type::Array => "array_in",
        Type::Enum(_) => "enum_in",
        Type::Unknown => "unknownin",
    };
    INPUT_FUNCTIONS
        .iter()
        .find(|(n, _)| *n == f)
        .map_or(0, |(_, oid)| *oid)
}

pub(super) fn collatable(ty: Type) -> bool {
    matches!(ty, Type::Text | Type::Varchar | Type::Bpchar | Type::Name)
}

/// pg_attribute.attstorage for a type.
pub(super) fn storage(ty: Type) -> &'static str {
    match ty {
        Type::Text
        | Type::Varchar
        | Type::Bpchar
        | Type::Array
        | Type::Json
        | Type::Jsonb
        | Type::Bytea => "x",
        Type::Numeric => "m",
        _ => "p",
    }
}

pub(super) fn align(ty: Type) -> &'static str {
    match ty {
        Type::Bool | Type::Name | Type::Uuid => "c",
        Type::Int2 => "s",
        Type::Int8
        | Type::Float8
        | Type::Timestamp
        | Type::Timestamptz
        | Type::Time
        | Type::Interval => "d",
        _ => "i",
    }
}

/// format_type(type oid, typmod), as PostgreSQL prints a column's type.
pub fn format_type(type_oid: i64, typmod: i64) -> Option<String> {
    // An array type: its element's name (with the modifier) and [].
    if let Some(elem) = u32::try_from(type_oid)
        .ok()
        .and_then(crate::types::array_elem_of_oid)
    {
        return format_type(i64::from(elem.oid()), typmod).map(|s| s + "[]");
    }
    let ty = u32::try_from(type_oid).ok().and_then(Type::from_oid)?;
    let m = typmod;
    Some(match ty {
        Type::Varchar if m >= 4 => format!("character varying({})", m - 4),
        Type::Bpchar if m >= 4 => format!("character({})", m - 4),
        Type::Bpchar => "bpchar".to_string(),
        Type::Numeric if m >= 4 => {
            let m = m - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        Type::Timestamp if m >= 0 => format!("timestamp({m}) without time zone"),
        Type::Timestamptz if m >= 0 => format!("timestamp({m}) with time zone"),
        Type::Time if m >= 0 => format!("time({m}) without time zone"),
        Type::Interval => crate::interval::type_name(i32::try_from(m).unwrap_or(-1)),
        Type::Name => "name".to_string(),
        other => other.name().to_string(),
    })
}

fn type_category(ty: Type) -> &'static str {
    match ty {
        Type::Bool => "B",
        Type::Int2
        | Type::Int4
        | Type::Int8
        | Type::Float4
        | Type::Float8
        | Type::Numeric
        | Type::Oid => "N",
        Type::Date | Type::Timestamp | Type::Timestamptz | Type::Time => "D",
        Type::Interval => "T",
        Type::Array => "A",
        Type::Unknown => "X",
        Type::Char => "Z",
        Type::Json | Type::Jsonb | Type::Bytea | Type::Uuid => "U",
        _ => "S",
    }
}

/// The pg_type rows of the built-in types' array types (`_int4`, ...).
fn array_type_rows() -> impl Iterator<Item = Vec<Value>> {
    TYPES.iter().filter_map(|ty| {
        let array = crate::types::array_type_oid(*ty)?;
        Some(vec![
            i(array),
            t(&format!("_{}", typname(*ty))),
            i(oids::PG_CATALOG),
            i(oids::BOOTSTRAP_USER),
            i(-1),
            t("b"),
            t("A"),
            i(ty.oid()),
            i(0),
            i(0),
            i(-1),
            i(if collatable(*ty) {
                oids::DEFAULT_COLLATION
            } else {
                0
            }),
            i(0),
            i(typinput(Type::Array)),
            b(false),
        ])
    })
}

/// The pg_type rows of the catalog's enum types and of their array types.
fn enum_type_rows(cat: &Catalog) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for e in &cat.enums {
        let ns = i(if e.schema == "pg_catalog" {
            oids::PG_CATALOG
        } else {
            oids::PUBLIC
        });
        rows.push(vec![
            i(e.oid),
            t(&e.name),
            ns.clone(),
            i(oids::BOOTSTRAP_USER),
            i(4),
            t("e"),
            t("E"),
            i(0),
            i(e.array_oid),
            i(0),
            i(-1),
            i(0),
            i(0),
            i(typinput(Type::Enum(e.oid))),
            b(false),
        ]);
        rows.push(vec![
            i(e.array_oid),
            t(&format!("_{}", e.name)),
            ns,
            i(oids::BOOTSTRAP_USER),
            i(-1),
            t("b"),
            t("A"),
            i(e.oid),
            i(0),
            i(0),
            i(-1),
            i(0),
            i(0),
            i(typinput(Type::Array)),
            b(false),
        ]);
    }
    rows
}

/// pg_enum: one row per label of each enum type.
fn enum_rows(cat: &Catalog) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for e in &cat.enums {
        for (l, oid) in e.labels.iter().zip(&e.label_oids) {
            rows.push(vec![
                i(*oid),
                i(e.oid),
                Value::Float(f64::from(l.order)),
                t(&l.label),
            ]);
        }
    }
    rows
}

/// pg_type, pg_enum and pg_collation, or None for another relation.
pub(super) fn relation(cat: &Catalog, rel: &str) -> Option<SysRel> {
    Some(match rel {
        "pg_type" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("typname", name()),
                ("typnamespace", oid()),
                ("typowner", oid()),
                ("typlen", int2()),
                ("typtype", char()),
                ("typcategory", char()),
                ("typelem", oid()),
                ("typarray", oid()),
                ("typbasetype", oid()),
                ("typtypmod", int4()),
                ("typcollation", oid()),
                ("typrelid", oid()),
                // regproc: the OID, as for the other reg* columns.
                ("typinput", oid()),
                // tusk-lite has no domains, whose NOT NULL this is.
                ("typnotnull", boolean()),
            ],
            rows: TYPES
                .iter()
                .map(|ty| {
                    vec![
                        i(ty.oid()),
                        t(typname(*ty)),
                        i(oids::PG_CATALOG),
                        i(oids::BOOTSTRAP_USER),
                        i(ty.typlen()),
                        t("b"),
                        t(type_category(*ty)),
                        i(0),
                        i(crate::types::array_type_oid(*ty).map_or(0, i64::from)),
                        i(0),
                        i(-1),
                        i(if collatable(*ty) {
                            oids::DEFAULT_COLLATION
                        } else {
                            0
                        }),
                        i(0),
                        i(typinput(*ty)),
                        b(false),
                    ]
                })
                .chain(array_type_rows())
                .chain(enum_type_rows(cat))
                .collect(),
        },
        // No range types: empty, as PostgreSQL's would be without them.
        "pg_range" => SysRel {
            cols: vec![
                ("rngtypid", oid()),
                ("rngsubtype", oid()),
                ("rngmultitypid", oid()),
            ],
            rows: Vec::new(),
        },
        "pg_enum" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("enumtypid", oid()),
                ("enumsortorder", float4()),
                ("enumlabel", name()),
            ],
            rows: enum_rows(cat),
        },
        "pg_collation" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("collname", name()),
                ("collnamespace", oid()),
            ],
            rows: vec![
                vec![
                    i(oids::DEFAULT_COLLATION),
                    t("default"),
                    i(oids::PG_CATALOG),
                ],
                vec![i(950), t("C"), i(oids::PG_CATALOG)],
                vec![i(951), t("POSIX"), i(oids::PG_CATALOG)],
            ],
        },
        _ => return None,
    })
}
