//! `#[derive(tusk::FromRow)]` misuse is a compile error with a message
//! that names the mistake (trybuild checks each case's error text in
//! `tests/ui/*.stderr`; regenerate with `TRYBUILD=overwrite` after a
//! deliberate change of wording or of the compiler).

#[test]
fn misuse_is_a_compile_error_that_names_the_mistake() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
