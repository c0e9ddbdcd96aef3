use super::*;

fn rules_of(sql: &str) -> Vec<&'static str> {
    lint_script("m.sql", sql)
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn each_rule_fires_on_its_hazard() {
    let cases: &[(&str, &[&str])] = &[
        ("CREATE INDEX i ON users (email)", &["index-not-concurrent"]),
        (
            "CREATE UNIQUE INDEX IF NOT EXISTS i ON ONLY public.users (email)",
            &["index-not-concurrent"],
        ),
        (
            "DROP INDEX i",
            &["drop-without-if-exists", "drop-index-not-concurrent"],
        ),
        ("DROP TABLE t", &["drop-without-if-exists", "drop-table"]),
        (
            "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id)",
            &["constraint-not-valid"],
        ),
        ("ALTER TABLE o ADD CHECK (n > 0)", &["constraint-not-valid"]),
        (
            "ALTER TABLE o ADD CONSTRAINT u UNIQUE (a)",
            &["unique-without-index"],
        ),
        (
            "ALTER TABLE o ALTER COLUMN a TYPE bigint",
            &["column-type-change"],
        ),
        (
            "ALTER TABLE o ALTER a SET DATA TYPE text",
            &["column-type-change"],
        ),
        (
            "ALTER TABLE o ALTER COLUMN a SET NOT NULL",
            &["set-not-null"],
        ),
        (
            "ALTER TABLE o ADD COLUMN a int NOT NULL",
            &["required-column"],
        ),
        (
            "ALTER TABLE o ADD COLUMN id uuid DEFAULT gen_random_uuid()",
            &["volatile-default"],
        ),
        (
            "ALTER TABLE o ADD COLUMN n bigserial",
            &["volatile-default"],
        ),
        (
            "ALTER TABLE o ADD COLUMN n int GENERATED ALWAYS AS IDENTITY",
            &["generated-column"],
        ),
        ("ALTER TABLE o RENAME COLUMN a TO b", &["rename-column"]),
        ("ALTER TABLE o RENAME TO p", &["rename-table"]),
        (
            "ALTER TABLE o DROP COLUMN a",
            &["drop-without-if-exists", "drop-column"],
        ),
        ("VACUUM FULL o", &["table-rewrite"]),
    ];
    for (sql, want) in cases {
        assert_eq!(rules_of(sql), *want, "{sql}");
    }
}

#[test]
fn safe_forms_pass() {
    for sql in [
        "-- tusk:no-transaction\nCREATE INDEX CONCURRENTLY i ON users (email)",
        "DROP INDEX CONCURRENTLY IF EXISTS i",
        "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID",
        "ALTER TABLE o VALIDATE CONSTRAINT fk",
        "ALTER TABLE o ADD CONSTRAINT u UNIQUE USING INDEX i",
        "ALTER TABLE o ADD COLUMN a int NOT NULL DEFAULT 0",
        "ALTER TABLE o ADD COLUMN at timestamptz DEFAULT now()",
        "ALTER TABLE o RENAME CONSTRAINT a TO b",
        "ALTER TABLE o DROP CONSTRAINT IF EXISTS c, ALTER COLUMN a DROP DEFAULT",
        "SELECT 'CREATE INDEX i ON t (x)'; /* DROP TABLE t */ DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$",
    ] {
        assert_eq!(rules_of(sql), Vec::<&str>::new(), "{sql}");
    }
}

#[test]
fn a_table_created_in_the_same_file_is_new() {
    let sql = "CREATE TABLE app.users (id int, email text);\n\
               CREATE INDEX i ON users (email);\n\
               ALTER TABLE \"users\" ADD CONSTRAINT c CHECK (id > 0), ALTER COLUMN email SET NOT NULL;\n\
               CREATE INDEX j ON other (x);";
    let f = lint_script("m.sql", sql);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (f[0].rule, f[0].line, f[0].column),
        ("index-not-concurrent", 4, 1)
    );
}

#[test]
fn set_not_null_after_a_validated_check_passes() {
    let sql = "ALTER TABLE o ADD CONSTRAINT o_a_nn CHECK (a IS NOT NULL) NOT VALID;\n\
               ALTER TABLE o VALIDATE CONSTRAINT o_a_nn;\n\
               ALTER TABLE o ALTER COLUMN a SET NOT NULL;\n\
               ALTER TABLE o ALTER COLUMN b SET NOT NULL;";
    let f = lint_script("m.sql", sql);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0].rule, f[0].line), ("set-not-null", 4));
    // The check not validated yet: still a finding.
    let sql = "ALTER TABLE o ADD CONSTRAINT o_a_nn CHECK (a IS NOT NULL) NOT VALID;\n\
               ALTER TABLE o ALTER COLUMN a SET NOT NULL;";
    assert_eq!(rules_of(sql), ["set-not-null"]);
}

#[test]
fn ignore_comments_suppress_the_next_statement_or_the_file() {
    let sql = "-- tusk:lint-ignore index-not-concurrent\nCREATE INDEX a ON t (x);\nCREATE INDEX b ON t (y);";
    let f = lint_script("m.sql", sql);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].line, 3);
    let sql = "/* tusk:lint-ignore all */ DROP TABLE t; DROP TABLE u;";
    assert_eq!(rules_of(sql), ["drop-without-if-exists", "drop-table"]);
    let sql = "-- tusk:lint-ignore-file drop-table, drop-without-if-exists\nDROP TABLE t;\nSELECT 1;\nDROP TABLE u;";
    assert!(rules_of(sql).is_empty());
    // An ignore of another rule does not hide this one.
    let sql = "-- tusk:lint-ignore rename-table\nCREATE INDEX a ON t (x);";
    assert_eq!(rules_of(sql), ["index-not-concurrent"]);
}

#[test]
fn every_rule_has_an_id_and_help() {
    let mut ids = std::collections::HashSet::new();
    for r in RULES {
        assert!(ids.insert(r.id), "{} twice", r.id);
        assert!(!r.help.is_empty() && !r.summary.is_empty());
    }
}
