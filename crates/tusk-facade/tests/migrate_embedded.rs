//! `tusk::migrate!`: the embedded files are the files on disk, read by the
//! same parser, and they migrate a real database.

#[test]
fn embedded_and_on_disk_migrations_are_the_same() {
    let embedded = tusk::migrate!("tests/migrations").unwrap();
    let disk = tusk::migrate::Migrations::from_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/migrations"),
    )
    .unwrap();
    assert_eq!(embedded.origin(), "embedded");
    assert_eq!(embedded.len(), 2);
    let key = |m: &tusk::migrate::Migrations| {
        m.iter()
            .map(|m| {
                (
                    m.version,
                    m.name.clone(),
                    m.up.checksum.clone(),
                    m.up.no_transaction,
                    m.down.is_some(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&embedded), key(&disk));
    assert_eq!(embedded.fingerprint(), disk.fingerprint());
}

#[tokio::test]
async fn embedded_migrations_run() {
    let db = tusk_testkit::db();
    let migrator = tusk::migrate::Migrator::new(tusk::migrate!("tests/migrations").unwrap());
    let config = tusk::Config::parse(&db.url()).unwrap();
    let done = migrator.up(&config).await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_index WHERE indexrelid = 'embedded_users_email'::regclass AND indisvalid")
            .unwrap()
            .trim(),
        "1"
    );
}
