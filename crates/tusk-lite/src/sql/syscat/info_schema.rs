//! `information_schema` as virtual relations generated from the catalog,
//! with PostgreSQL 15's column names, order and values (the SQL-standard
//! views PostgreSQL defines in `information_schema.sql`).
//!
//! PostgreSQL types these columns with the domains `sql_identifier` (over
//! name), `cardinal_number` (over integer), `character_data` (over
//! varchar), `yes_or_no` (varchar(3)) and `time_stamp` (timestamptz(2));
//! a domain's OID differs between installations, and clients resolve it
//! to its base type, so tusk-lite describes each column with the base
//! type (name, int4, varchar, timestamptz).
//!
//! Only the user's objects (schema `public`) are listed: PostgreSQL also
//! lists its own catalogs (pg_catalog's tables, information_schema's
//! views, the built-in functions in `routines`), which tusk-lite does not
//! reproduce. The schemas themselves are all in `schemata`. tusk-lite has
//! one role owning everything, so no row is hidden for lack of privilege.
//!
//! A view of PostgreSQL's information_schema that tusk-lite does not
//! build fails with 0A000 naming it ([`is_postgres_view`]); views that
//! list objects tusk-lite has none of (views, routines, triggers) exist
//! and are empty.

use super::info_columns::columns;
use super::info_constraints;
use super::*;

/// A cell the binder replaces by `current_database()`: the `*_catalog`
/// columns name the database the session is connected to.
pub const CURRENT_DATABASE: &str = "\u{0}current_database";

/// A cell the binder replaces by `current_user`: the owner of the
/// schemas the bootstrap superuser owns (whoever connects, in tusk-lite).
pub const CURRENT_USER: &str = "\u{0}current_user";

/// `sql_identifier` (a domain over name).
pub(super) fn ident() -> ColType {
    name()
}
/// `cardinal_number` (a domain over integer).
pub(super) fn cardinal() -> ColType {
    int4()
}
/// `character_data` (a domain over varchar).
pub(super) fn chars() -> ColType {
    ColType::plain(Type::Varchar)
}
/// `yes_or_no` (a domain over varchar(3)).
pub(super) fn yes_no() -> ColType {
    ColType::plain(Type::Varchar)
}
/// `time_stamp` (a domain over timestamptz(2)).
fn time_stamp() -> ColType {
    ColType::plain(Type::Timestamptz)
}

/// The database's name, filled in when the statement binds.
pub(super) fn database() -> Value {
    t(CURRENT_DATABASE)
}
pub(super) fn yes(v: bool) -> Value {
    t(if v { "YES" } else { "NO" })
}
pub(super) fn null() -> Value {
    Value::Null
}

/// The relations of PostgreSQL 15's information_schema (views and the
/// sql_* tables), sorted.
const POSTGRES_VIEWS: &[&str] = &[
    "_pg_foreign_data_wrappers",
    "_pg_foreign_servers",
    "_pg_foreign_table_columns",
    "_pg_foreign_tables",
    "_pg_user_mappings",
    "administrable_role_authorizations",
    "applicable_roles",
    "attributes",
    "character_sets",
    "check_constraint_routine_usage",
    "check_constraints",
    "collation_character_set_applicability",
    "collations",
    "column_column_usage",
    "column_domain_usage",
    "column_options",
    "column_privileges",
    "column_udt_usage",
    "columns",
    "constraint_column_usage",
    "constraint_table_usage",
    "data_type_privileges",
    "domain_constraints",
    "domain_udt_usage",
    "domains",
    "element_types",
    "enabled_roles",
    "foreign_data_wrapper_options",
    "foreign_data_wrappers",
    "foreign_server_options",
    "foreign_servers",
    "foreign_table_options",
    "foreign_tables",
    "information_schema_catalog_name",
    "key_column_usage",
    "parameters",
    "referential_constraints",
    "role_column_grants",
    "role_routine_grants",
    "role_table_grants",
    "role_udt_grants",
    "role_usage_grants",
    "routine_column_usage",
    "routine_privileges",
    "routine_routine_usage",
    "routine_sequence_usage",
    "routine_table_usage",
    "routines",
    "schemata",
    "sequences",
    "sql_features",
    "sql_implementation_info",
    "sql_parts",
    "sql_sizing",
    "table_constraints",
    "table_privileges",
    "tables",
    "transforms",
    "triggered_update_columns",
    "triggers",
    "udt_privileges",
    "usage_privileges",
    "user_defined_types",
    "user_mapping_options",
    "user_mappings",
    "view_column_usage",
    "view_routine_usage",
    "view_table_usage",
    "views",
];

/// Whether PostgreSQL 15's information_schema has a relation `rel` (so
/// that one tusk-lite lacks is 0A000, not "does not exist").
pub fn is_postgres_view(rel: &str) -> bool {
    POSTGRES_VIEWS.binary_search(&rel).is_ok()
}

/// The virtual relation `information_schema.<rel>`, or None when
/// tusk-lite does not build it.
pub fn relation(cat: &Catalog, rel: &str) -> Option<SysRel> {
    Some(match rel {
        "tables" => tables(cat),
        "columns" => columns(cat),
        "element_types" => super::info_columns::element_types(cat),
        "schemata" => schemata(),
        "sequences" => sequences(cat),
        // The database's one character set; its default collation is
        // "C" (text sorts by its bytes: pg_database.datcollate is C).
        "character_sets" => SysRel {
            cols: vec![
                ("character_set_catalog", ident()),
                ("character_set_schema", ident()),
                ("character_set_name", ident()),
                ("character_repertoire", ident()),
                ("form_of_use", ident()),
                ("default_collate_catalog", ident()),
                ("default_collate_schema", ident()),
                ("default_collate_name", ident()),
            ],
            rows: vec![vec![
                null(),
                null(),
                t("UTF8"),
                t("UCS"),
                t("UTF8"),
                database(),
                t("pg_catalog"),
                t("C"),
            ]],
        },
        "information_schema_catalog_name" => SysRel {
            cols: vec![("catalog_name", ident())],
            rows: vec![vec![database()]],
        },
        "views" => empty(&[
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("view_definition", chars()),
            ("check_option", chars()),
            ("is_updatable", yes_no()),
            ("is_insertable_into", yes_no()),
            ("is_trigger_updatable", yes_no()),
            ("is_trigger_deletable", yes_no()),
            ("is_trigger_insertable_into", yes_no()),
        ]),
        "triggers" => empty(&[
            ("trigger_catalog", ident()),
            ("trigger_schema", ident()),
            ("trigger_name", ident()),
            ("event_manipulation", chars()),
            ("event_object_catalog", ident()),
            ("event_object_schema", ident()),
            ("event_object_table", ident()),
            ("action_order", cardinal()),
            ("action_condition", chars()),
            ("action_statement", chars()),
            ("action_orientation", chars()),
            ("action_timing", chars()),
            ("action_reference_old_table", ident()),
            ("action_reference_new_table", ident()),
            ("action_reference_old_row", ident()),
            ("action_reference_new_row", ident()),
            ("created", time_stamp()),
        ]),
        "routines" => empty(&routine_columns()),
        other => {
            return info_constraints::relation(cat, other)
                .or_else(|| super::info_privileges::relation(cat, other))
                .or_else(|| super::info_empty::relation(other))
        }
    })
}

fn empty(cols: &[(&'static str, ColType)]) -> SysRel {
    SysRel {
        cols: cols.to_vec(),
        rows: Vec::new(),
    }
}

/// The user's tables (schema public), in OID order.
pub(super) fn user_tables(cat: &Catalog) -> Vec<&std::sync::Arc<crate::catalog::Table>> {
    let mut v: Vec<_> = cat.tables.values().collect();
    v.sort_by_key(|t| t.oid);
    v
}

fn tables(cat: &Catalog) -> SysRel {
    let rows = user_tables(cat)
        .into_iter()
        .map(|tb| {
            vec![
                database(),
                t(&tb.schema),
                t(&tb.name),
                t("BASE TABLE"),
                null(),
                null(),
                null(),
                null(),
                null(),
                yes(true),
                yes(false),
                null(),
            ]
        })
        .collect();
    SysRel {
        cols: vec![
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("table_type", chars()),
            ("self_referencing_column_name", ident()),
            ("reference_generation", chars()),
            ("user_defined_type_catalog", ident()),
            ("user_defined_type_schema", ident()),
            ("user_defined_type_name", ident()),
            ("is_insertable_into", yes_no()),
            ("is_typed", yes_no()),
            ("commit_action", chars()),
        ],
        rows,
    }
}

/// The schemas pg_namespace lists (pg_toast and the temporary schemas
/// PostgreSQL also has are absent: tusk-lite has neither).
fn schemata() -> SysRel {
    let row = |name: &str, owner: &str| {
        vec![
            database(),
            t(name),
            t(owner),
            null(),
            null(),
            null(),
            null(),
        ]
    };
    SysRel {
        cols: vec![
            ("catalog_name", ident()),
            ("schema_name", ident()),
            ("schema_owner", ident()),
            ("default_character_set_catalog", ident()),
            ("default_character_set_schema", ident()),
            ("default_character_set_name", ident()),
            ("sql_path", chars()),
        ],
        rows: vec![
            row("information_schema", CURRENT_USER),
            row("pg_catalog", CURRENT_USER),
            row("public", "pg_database_owner"),
        ],
    }
}

/// The sequences, but not those of identity columns (PostgreSQL leaves
/// an identity column's internal sequence out of this view).
fn sequences(cat: &Catalog) -> SysRel {
    let identity_seq = |s: &crate::catalog::Sequence| {
        let call = crate::catalog::nextval_call(&s.name);
        s.owned_by
            .and_then(|o| cat.table_by_oid(o))
            .is_some_and(|tb| {
                tb.columns.iter().any(|c| {
                    c.identity.is_some() && c.default.as_deref().is_some_and(|d| d.contains(&call))
                })
            })
    };
    let mut seqs: Vec<_> = cat.sequences.iter().filter(|s| !identity_seq(s)).collect();
    seqs.sort_by_key(|s| s.oid);
    let rows = seqs
        .into_iter()
        .map(|s| {
            let (ty, bits) = match s.type_oid() {
                21 => ("smallint", 16),
                23 => ("integer", 32),
                _ => ("bigint", 64),
            };
            vec![
                database(),
                t(&s.schema),
                t(&s.name),
                t(ty),
                i(bits),
                i(2),
                i(0),
                t(&s.start.to_string()),
                t(&s.min.to_string()),
                t(&s.max.to_string()),
                t(&s.increment.to_string()),
                yes(s.cycle),
            ]
        })
        .collect();
    SysRel {
        cols: vec![
            ("sequence_catalog", ident()),
            ("sequence_schema", ident()),
            ("sequence_name", ident()),
            ("data_type", chars()),
            ("numeric_precision", cardinal()),
            ("numeric_precision_radix", cardinal()),
            ("numeric_scale", cardinal()),
            ("start_value", chars()),
            ("minimum_value", chars()),
            ("maximum_value", chars()),
            ("increment", chars()),
            ("cycle_option", yes_no()),
        ],
        rows,
    }
}

/// information_schema.routines' columns (tusk-lite has no functions of
/// the user's; PostgreSQL's built-in ones are not listed).
fn routine_columns() -> Vec<(&'static str, ColType)> {
    let mut cols = Vec::new();
    for n in [
        "specific_catalog",
        "specific_schema",
        "specific_name",
        "routine_catalog",
        "routine_schema",
        "routine_name",
    ] {
        cols.push((n, ident()));
    }
    cols.push(("routine_type", chars()));
    for n in [
        "module_catalog",
        "module_schema",
        "module_name",
        "udt_catalog",
        "udt_schema",
        "udt_name",
    ] {
        cols.push((n, ident()));
    }
    cols.extend(routine_type_columns());
    cols.extend([
        ("type_udt_catalog", ident()),
        ("type_udt_schema", ident()),
        ("type_udt_name", ident()),
        ("scope_catalog", ident()),
        ("scope_schema", ident()),
        ("scope_name", ident()),
        ("maximum_cardinality", cardinal()),
        ("dtd_identifier", ident()),
        ("routine_body", chars()),
        ("routine_definition", chars()),
        ("external_name", chars()),
        ("external_language", chars()),
        ("parameter_style", chars()),
        ("is_deterministic", yes_no()),
        ("sql_data_access", chars()),
        ("is_null_call", yes_no()),
        ("sql_path", chars()),
        ("schema_level_routine", yes_no()),
        ("max_dynamic_result_sets", cardinal()),
        ("is_user_defined_cast", yes_no()),
        ("is_implicitly_invocable", yes_no()),
        ("security_type", chars()),
        ("to_sql_specific_catalog", ident()),
        ("to_sql_specific_schema", ident()),
        ("to_sql_specific_name", ident()),
        ("as_locator", yes_no()),
        ("created", time_stamp()),
        ("last_altered", time_stamp()),
        ("new_savepoint_level", yes_no()),
        ("is_udt_dependent", yes_no()),
        ("result_cast_from_data_type", chars()),
        ("result_cast_as_locator", yes_no()),
        ("result_cast_char_max_length", cardinal()),
        ("result_cast_char_octet_length", cardinal()),
        ("result_cast_char_set_catalog", ident()),
        ("result_cast_char_set_schema", ident()),
        ("result_cast_char_set_name", ident()),
        ("result_cast_collation_catalog", ident()),
        ("result_cast_collation_schema", ident()),
        ("result_cast_collation_name", ident()),
        ("result_cast_numeric_precision", cardinal()),
        ("result_cast_numeric_precision_radix", cardinal()),
        ("result_cast_numeric_scale", cardinal()),
        ("result_cast_datetime_precision", cardinal()),
        ("result_cast_interval_type", chars()),
        ("result_cast_interval_precision", cardinal()),
        ("result_cast_type_udt_catalog", ident()),
        ("result_cast_type_udt_schema", ident()),
        ("result_cast_type_udt_name", ident()),
        ("result_cast_scope_catalog", ident()),
        ("result_cast_scope_schema", ident()),
        ("result_cast_scope_name", ident()),
        ("result_cast_maximum_cardinality", cardinal()),
        ("result_cast_dtd_identifier", ident()),
    ]);
    cols
}

/// The columns describing routines' result type, from data_type to
/// interval_precision.
fn routine_type_columns() -> Vec<(&'static str, ColType)> {
    vec![
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
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list is searched by bisection, and every view tusk-lite builds
    /// is one of PostgreSQL's (a name PostgreSQL lacks is 42P01).
    #[test]
    fn built_views_are_postgres_views() {
        assert!(POSTGRES_VIEWS.windows(2).all(|w| w[0] < w[1]), "sorted");
        let cat = Catalog::new();
        let built = POSTGRES_VIEWS
            .iter()
            .filter(|v| relation(&cat, v).is_some())
            .count();
        assert_eq!(built, 41);
        for name in ["nope", "pg_class", "tables_nope"] {
            assert!(relation(&cat, name).is_none() && !is_postgres_view(name));
        }
        for name in POSTGRES_VIEWS {
            if let Some(rel) = relation(&cat, name) {
                assert!(
                    rel.rows.iter().all(|r| r.len() == rel.cols.len()),
                    "{name}: every row has every column"
                );
            }
        }
    }
}
