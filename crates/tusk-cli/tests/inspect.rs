//! `tusk inspect` through the built binary.

mod common;

#[test]
fn inspect_prints_text_and_json() {
    let db = tusk_testkit::db();
    db.psql(
        "CREATE SCHEMA shop; CREATE TABLE shop.items (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x'); \
         COMMENT ON TABLE shop.items IS 'for sale'; CREATE INDEX items_name ON shop.items (lower(name)) WHERE id > 0; \
         CREATE TYPE shop.size AS ENUM ('s', 'm'); CREATE TABLE public.other (x int)",
    )
    .unwrap();
    let url = db.url();
    let (code, out, err) = common::binary(&["inspect", "--schema", "shop", "--url", &url], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("database tusk_test_"), "{out}");
    assert!(out.contains("schema shop (owner postgres)\n  shop.items (table)  -- for sale\n    id    integer NOT NULL\n    name  text NOT NULL DEFAULT 'x'::text\n"), "{out}");
    assert!(out.contains("    index CREATE INDEX items_name ON shop.items USING btree (lower(name)) WHERE (id > 0)\n"), "{out}");
    assert!(out.contains("  shop.size (enum: s, m)\n"), "{out}");
    assert!(!out.contains("public.other"), "{out}");

    let (code, out, _) = common::binary(&["inspect", "--json", "--url", &url], &[]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schemas: Vec<&str> = v["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(schemas, ["public", "shop"]);
    assert_eq!(
        v["schemas"][1]["tables"][0]["indexes"][0]["predicate"],
        "(id > 0)"
    );
}

#[test]
fn inspect_diff_shows_drift_and_exits_3() {
    let a = tusk_testkit::db();
    let b = tusk_testkit::db();
    a.psql("CREATE TABLE t (id int, name text)").unwrap();
    b.psql("CREATE TABLE t (id bigint, name text, extra int)")
        .unwrap();
    let (code, out, err) = common::binary(&["inspect", "--diff", &a.url(), &b.url()], &[]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        out,
        "+ column public.t.extra\n~ column public.t.id:\n    data_type: \"integer\" -> \"bigint\"\n2 differences\n"
    );
    let (code, out, _) = common::binary(&["inspect", "--diff", &a.url(), &a.url(), "--json"], &[]);
    assert_eq!((code, out.as_str()), (0, ""));
}
