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
    // As a non-superuser (the auth matrix's trust role), allowed to create
    // in this database only.
    let db = tusk_testkit::db();
    let user = tusk_testkit::auth::TRUST_USER;
    db.psql(&format!(
        "GRANT CREATE ON DATABASE \"{0}\" TO {user}; GRANT CREATE ON SCHEMA public TO {user}",
        db.name()
    ))
    .unwrap();
    assert_eq!(
        db.psql(&format!(
            "SELECT rolsuper FROM pg_roles WHERE rolname = '{user}'"
        ))
        .unwrap()
        .trim(),
        "f"
    );
    let migrator = tusk::migrate::Migrator::new(tusk::migrate!("tests/migrations").unwrap());
    let url = format!("postgresql://{user}@127.0.0.1:{}/{}", db.port(), db.name());
    let config = tusk::Config::parse(&url).unwrap();
    let done = migrator.up(&config).await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(
        db.psql("SELECT applied_by FROM tusk_migrations WHERE version = 2")
            .unwrap()
            .trim(),
        user
    );
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_index WHERE indexrelid = 'embedded_users_email'::regclass AND indisvalid")
            .unwrap()
            .trim(),
        "1"
    );
}
