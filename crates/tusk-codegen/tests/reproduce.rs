//! The committed `sqlstate.rs` is exactly what the vendored `errcodes.txt`
//! (`crates/tusk-codegen/errcodes.txt`) generates. The installed
//! PostgreSQL's file is never read: its minor version varies between
//! machines (15.18 lacks `22P07`, which 15.20 added).

#[test]
fn committed_sqlstate_matches_vendored_errcodes() {
    let errcodes = tusk_codegen::default_errcodes();
    assert!(
        errcodes.ends_with("tusk-codegen/errcodes.txt"),
        "{}",
        errcodes.display()
    );
    let generated = tusk_codegen::generate_from_file(&errcodes).unwrap();
    let committed = std::fs::read_to_string(tusk_codegen::default_output()).unwrap();
    assert!(
        generated == committed,
        "crates/tusk/src/error/sqlstate.rs differs from what {} generates; \
         run `cargo run -p tusk-codegen` and commit the result",
        errcodes.display()
    );
}

#[test]
fn vendored_errcodes_has_the_newest_codes_the_table_carries() {
    let text = std::fs::read_to_string(tusk_codegen::default_errcodes()).unwrap();
    // 22P07 came with PostgreSQL 15.20 (and 16.x, 17.x): the table knows it
    // whatever server is installed.
    assert!(
        text.contains("\n22P07 "),
        "22P07 missing from the vendored file"
    );
}
