//! The committed `sqlstate.rs` is exactly what the installed `errcodes.txt`
//! generates.

#[test]
fn committed_sqlstate_matches_installed_errcodes() {
    let errcodes = tusk_codegen::default_errcodes();
    if !errcodes.is_file() {
        println!(
            "note: skipped: {} not found (install PostgreSQL to run this check)",
            errcodes.display()
        );
        return;
    }
    let generated = tusk_codegen::generate_from_file(&errcodes).unwrap();
    let committed = std::fs::read_to_string(tusk_codegen::default_output()).unwrap();
    assert!(
        generated == committed,
        "crates/tusk/src/error/sqlstate.rs differs from what {} generates; \
         run `cargo run -p tusk-codegen` and commit the result",
        errcodes.display()
    );
}
