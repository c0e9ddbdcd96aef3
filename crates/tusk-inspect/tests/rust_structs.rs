//! `tusk inspect --rust`'s structs compile and read rows: the checked-in
//! file is what the generator writes for the fixture (regenerated and
//! compared here), and it is compiled into this test.

mod generated {
    include!("generated/structs.rs");
}

const FIXTURE: &str = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, \"Label\" varchar(20), \
    price numeric(10,2) NOT NULL, blob bytea, active boolean NOT NULL DEFAULT true, tags text[] NOT NULL DEFAULT '{}', \
    type smallint); \
    INSERT INTO items VALUES (1, 'pen', 'Blue', 1.50, '\\x0102', true, '{a,b}', 3); \
    CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 2;";

#[tokio::test]
async fn generated_structs_compile_and_read_rows() {
    let db = tusk_testkit::db();
    db.psql(FIXTURE).unwrap();
    let conn = tusk::connect(&db.url()).await.unwrap();
    let model = tusk_inspect::inspect(&conn).await.unwrap();
    let mut public = model.clone();
    public.schemas.retain(|s| s.name == "public");
    let src = tusk_inspect::rust::structs(&public);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/generated/structs.rs");
    if std::env::var_os("TUSK_BLESS").is_some() {
        std::fs::write(&path, &src).unwrap();
    }
    assert_eq!(
        src,
        std::fs::read_to_string(&path).unwrap(),
        "regenerate with TUSK_BLESS=1"
    );

    let items: Vec<generated::Items> = tusk::Executor::query_as(&conn, "SELECT * FROM items", &[])
        .await
        .unwrap();
    let i = &items[0];
    assert_eq!(
        (i.id, i.name.as_str(), i.label.as_deref(), i.active, i.type_),
        (1, "pen", Some("Blue"), true, Some(3))
    );
    assert_eq!(i.price.to_string(), "1.50");
    assert_eq!(i.blob.as_deref(), Some(&[1u8, 2][..]));
    assert_eq!(i.tags, ["a", "b"]);
    let cheap: Vec<generated::Cheap> = tusk::Executor::query_as(&conn, "SELECT * FROM cheap", &[])
        .await
        .unwrap();
    assert_eq!(
        (cheap[0].id, cheap[0].name.as_deref()),
        (Some(1), Some("pen"))
    );
}
