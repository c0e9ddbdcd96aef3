//! Seeds against a real PostgreSQL, as a non-superuser role.

mod common;

use common::{config, database, dir, q, write};
use tusk_migrate::{MigrateError, Options, Seeder};

#[tokio::test]
async fn seeds_apply_in_order_once_each() {
    let db = database();
    db.psql("CREATE TABLE colors (name text PRIMARY KEY, pos int); GRANT INSERT, SELECT ON colors TO tusk_migrator")
        .unwrap();
    let d = dir(&[
        (
            "02_more.sql",
            "INSERT INTO colors SELECT 'green', count(*) FROM colors;",
        ),
        ("01_base.sql", "INSERT INTO colors VALUES ('red', 0);"),
        ("notes.txt", "not a seed"),
    ]);
    let seeder = Seeder::from_dir(d.path(), Options::default()).unwrap();
    let plan = seeder.plan(&config(&db)).await.unwrap();
    assert_eq!(plan.applied.len(), 2);
    assert_eq!(
        q(&db, "SELECT to_regclass('tusk_seeds') IS NULL"),
        "t",
        "a plan changes nothing"
    );

    let r = seeder.run(&config(&db)).await.unwrap();
    let names: Vec<&str> = r.applied.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["01_base.sql", "02_more.sql"]);
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(name || pos, ',' ORDER BY pos) FROM colors"
        ),
        "red0,green1"
    );
    assert_eq!(
        q(
            &db,
            "SELECT string_agg(name, ',' ORDER BY name), min(applied_by) FROM tusk_seeds"
        ),
        "01_base.sql,02_more.sql|tusk_migrator"
    );

    // Again: nothing runs. A changed seed is reported, not re-run; a new one runs.
    write(
        d.path(),
        &[
            (
                "01_base.sql",
                "INSERT INTO colors VALUES ('red', 0), ('blue', 9);",
            ),
            ("03_last.sql", "INSERT INTO colors VALUES ('black', 3);"),
        ],
    );
    let r = Seeder::from_dir(d.path(), Options::default())
        .unwrap()
        .run(&config(&db))
        .await
        .unwrap();
    assert_eq!(r.changed, ["01_base.sql"]);
    assert_eq!(r.already, ["02_more.sql"]);
    assert_eq!(r.applied.len(), 1);
    assert_eq!(q(&db, "SELECT count(*) FROM colors"), "3");
}

#[tokio::test]
async fn a_failing_seed_rolls_back_and_is_not_recorded() {
    let db = database();
    db.psql("CREATE TABLE t (id int PRIMARY KEY); GRANT INSERT ON t TO tusk_migrator")
        .unwrap();
    let d = dir(&[(
        "01_dup.sql",
        "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (1);\n",
    )]);
    let e = Seeder::from_dir(d.path(), Options::default())
        .unwrap()
        .run(&config(&db))
        .await
        .unwrap_err();
    assert!(matches!(e, MigrateError::Statement(_)), "{e}");
    assert!(e.to_string().contains("01_dup.sql:2:1: ERROR 23505"), "{e}");
    assert_eq!(q(&db, "SELECT count(*) FROM t"), "0");
    assert_eq!(q(&db, "SELECT count(*) FROM tusk_seeds"), "0");
}
