//! The information_schema views of privileges on the user's tables:
//! table_privileges and role_table_grants, column_privileges and
//! role_column_grants. tusk-lite has one role, which owns every table
//! and holds every privilege on it with the grant option, as
//! PostgreSQL's owner does: each table lists its owner's seven table
//! privileges and four column privileges per column, granted by and to
//! the session's user.

use super::info_schema::{chars, database, ident, user_tables, yes, yes_no, CURRENT_USER};
use super::*;

/// The owner's table privileges, in PostgreSQL's order.
const TABLE_PRIVILEGES: &[&str] = &[
    "INSERT",
    "SELECT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
];

/// The owner's column privileges.
const COLUMN_PRIVILEGES: &[&str] = &["INSERT", "SELECT", "UPDATE", "REFERENCES"];

/// One of the privilege views, or None for another relation.
pub(super) fn relation(cat: &Catalog, rel: &str) -> Option<SysRel> {
    Some(match rel {
        "table_privileges" | "role_table_grants" => table_privileges(cat),
        "column_privileges" | "role_column_grants" => column_privileges(cat),
        _ => return None,
    })
}

fn table_privileges(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for tb in user_tables(cat) {
        for p in TABLE_PRIVILEGES {
            rows.push(vec![
                t(CURRENT_USER),
                t(CURRENT_USER),
                database(),
                t(&tb.schema),
                t(&tb.name),
                t(p),
                yes(true),
                yes(*p == "SELECT"),
            ]);
        }
    }
    SysRel {
        cols: vec![
            ("grantor", ident()),
            ("grantee", ident()),
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("privilege_type", chars()),
            ("is_grantable", yes_no()),
            ("with_hierarchy", yes_no()),
        ],
        rows,
    }
}

fn column_privileges(cat: &Catalog) -> SysRel {
    let mut rows = Vec::new();
    for tb in user_tables(cat) {
        for c in &tb.columns {
            for p in COLUMN_PRIVILEGES {
                rows.push(vec![
                    t(CURRENT_USER),
                    t(CURRENT_USER),
                    database(),
                    t(&tb.schema),
                    t(&tb.name),
                    t(&c.name),
                    t(p),
                    yes(true),
                ]);
            }
        }
    }
    SysRel {
        cols: vec![
            ("grantor", ident()),
            ("grantee", ident()),
            ("table_catalog", ident()),
            ("table_schema", ident()),
            ("table_name", ident()),
            ("column_name", ident()),
            ("privilege_type", chars()),
            ("is_grantable", yes_no()),
        ],
        rows,
    }
}
