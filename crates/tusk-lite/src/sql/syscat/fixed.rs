//! The relations whose rows do not depend on the user's tables: the fixed
//! schemas, access methods, the one database, and the catalogs of features
//! tusk-lite lacks (roles, descriptions, inheritance, policies, extended
//! statistics, publications, triggers), which exist and are empty.

use super::*;

/// One of the fixed relations, or None for another relation.
pub(super) fn relation(rel: &str, database: &str) -> Option<SysRel> {
    Some(match rel {
        "pg_namespace" => SysRel {
            cols: vec![("oid", oid()), ("nspname", name()), ("nspowner", oid())],
            rows: vec![
                vec![
                    i(oids::PG_CATALOG),
                    t("pg_catalog"),
                    i(oids::BOOTSTRAP_USER),
                ],
                vec![i(oids::PUBLIC), t("public"), i(oids::DATABASE_OWNER)],
                vec![
                    i(oids::INFORMATION_SCHEMA),
                    t("information_schema"),
                    i(oids::BOOTSTRAP_USER),
                ],
            ],
        },
        "pg_am" => SysRel {
            cols: vec![("oid", oid()), ("amname", name()), ("amtype", text())],
            rows: vec![
                vec![i(oids::HEAP), t("heap"), t("t")],
                vec![i(oids::BTREE), t("btree"), t("i")],
            ],
        },
        "pg_database" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("datname", name()),
                ("datdba", oid()),
                ("encoding", int4()),
                ("datlocprovider", text()),
                ("datistemplate", boolean()),
                ("datallowconn", boolean()),
                ("datconnlimit", int4()),
                ("datcollate", text()),
                ("datctype", text()),
                ("daticulocale", text()),
                ("datacl", text_array()),
            ],
            rows: vec![vec![
                i(oids::DATABASE),
                t(database),
                i(oids::BOOTSTRAP_USER),
                i(6),
                t("c"),
                b(false),
                b(true),
                i(-1),
                // Text sorts by its bytes, as in the C locale (what SHOW
                // lc_collate answers too).
                t("C"),
                t("C"),
                Value::Null,
                Value::Null,
            ]],
        },
        "pg_roles" | "pg_authid" | "pg_user" => SysRel {
            cols: vec![("oid", oid()), ("rolname", name())],
            rows: Vec::new(),
        },
        "pg_description" => SysRel {
            cols: vec![
                ("objoid", oid()),
                ("classoid", oid()),
                ("objsubid", int4()),
                ("description", text()),
            ],
            rows: Vec::new(),
        },
        "pg_inherits" => SysRel {
            cols: vec![
                ("inhrelid", oid()),
                ("inhparent", oid()),
                ("inhseqno", int4()),
                ("inhdetachpending", boolean()),
            ],
            rows: Vec::new(),
        },
        "pg_policy" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("polname", name()),
                ("polrelid", oid()),
                ("polcmd", text()),
                ("polpermissive", boolean()),
                ("polroles", ColType::array_of(Type::Oid)),
                ("polqual", text()),
                ("polwithcheck", text()),
            ],
            rows: Vec::new(),
        },
        "pg_statistic_ext" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("stxrelid", oid()),
                ("stxname", name()),
                ("stxnamespace", oid()),
                ("stxowner", oid()),
                ("stxstattarget", int4()),
                ("stxkeys", ColType::array_of(Type::Int2)),
                ("stxkind", text_array()),
            ],
            rows: Vec::new(),
        },
        "pg_publication" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("pubname", name()),
                ("pubowner", oid()),
                ("puballtables", boolean()),
                ("pubinsert", boolean()),
                ("pubupdate", boolean()),
                ("pubdelete", boolean()),
                ("pubtruncate", boolean()),
                ("pubviaroot", boolean()),
            ],
            rows: Vec::new(),
        },
        "pg_publication_namespace" => SysRel {
            cols: vec![("oid", oid()), ("pnpubid", oid()), ("pnnspid", oid())],
            rows: Vec::new(),
        },
        "pg_publication_rel" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("prpubid", oid()),
                ("prrelid", oid()),
                ("prqual", text()),
                ("prattrs", ColType::array_of(Type::Int2)),
            ],
            rows: Vec::new(),
        },
        "pg_trigger" => SysRel {
            cols: vec![
                ("oid", oid()),
                ("tgrelid", oid()),
                ("tgparentid", oid()),
                ("tgname", name()),
                ("tgenabled", text()),
                ("tgisinternal", boolean()),
            ],
            rows: Vec::new(),
        },
        _ => return None,
    })
}
