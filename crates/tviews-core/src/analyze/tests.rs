//! Analysis of real PostgreSQL 15 query trees (tests/fixtures, made by
//! tests/fixtures/capture.sh from tests/fixtures/queries.txt).

use super::*;
use crate::fixtures;

/// The table of a source, told apart by its first two column names.
fn table(s: &Source) -> &'static str {
    match (s.columns[0].as_str(), s.columns.get(1).map(String::as_str)) {
        ("id", Some("user_id")) => "post",
        ("id", Some("post_id")) => "comment",
        ("id", Some("name")) if s.columns.len() == 3 => "users",
        ("id", Some("name")) => "org_or_tag",
        ("post_id", _) => "post_tag",
        ("k", _) => "settings",
        _ => "?",
    }
}

fn mapping<'a>(a: &'a Analysis, t: &str) -> &'a Mapping {
    &a.sources.iter().find(|s| table(s) == t).unwrap().mapping
}

#[test]
fn direct_key() {
    let a = fixtures::analysis("direct", &["pk_post"]).unwrap();
    assert_eq!(a.columns, ["pk_post", "title"]);
    assert_eq!(a.sources.len(), 1);
    assert_eq!(
        mapping(&a, "post"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
}

#[test]
fn json_read_model_with_correlated_sublinks() {
    let a = fixtures::analysis("json", &["pk_post"]).unwrap();
    assert_eq!(
        mapping(&a, "post"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
    // comment.post_id = p.id inside the sublink: comments map straight to the key.
    assert_eq!(
        mapping(&a, "comment"),
        &Mapping::Direct {
            key_attnos: vec![2]
        }
    );
    // users are found through post.user_id.
    let Mapping::Join(j) = mapping(&a, "users") else {
        panic!()
    };
    assert_eq!(j.root_attnos, [1]);
    assert_eq!(j.steps.len(), 1);
    assert_eq!(table(&a.sources[j.steps[0].occurrence]), "post");
    assert_eq!(j.steps[0].on, [(2, ColumnRef::Root(0))]);
    assert_eq!(j.key, [ColumnRef::Step(0, 1)]);
}

#[test]
fn aggregate_over_left_joins() {
    let a = fixtures::analysis("agg", &["pk_user"]).unwrap();
    assert_eq!(
        mapping(&a, "users"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
    assert_eq!(
        mapping(&a, "post"),
        &Mapping::Direct {
            key_attnos: vec![2]
        }
    );
    let Mapping::Join(j) = mapping(&a, "comment") else {
        panic!()
    };
    assert_eq!(j.root_attnos, [2]);
    assert_eq!(j.steps[0].on, [(1, ColumnRef::Root(0))]);
    assert_eq!(j.key, [ColumnRef::Step(0, 2)]);
}

#[test]
fn views_are_expanded() {
    let a = fixtures::analysis("view", &["pk_post"]).unwrap();
    assert_eq!(a.sources.len(), 2, "{:?}", a.sources);
    assert_eq!(
        mapping(&a, "post"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
    assert!(matches!(mapping(&a, "users"), Mapping::Join(_)));
}

#[test]
fn limit_at_the_top_means_full_refresh() {
    let a = fixtures::analysis("limit", &["pk_post"]).unwrap();
    assert!(matches!(mapping(&a, "post"), Mapping::Full { reason } if reason.contains("LIMIT")));
}

#[test]
fn limit_in_a_lateral_subquery_is_per_row() {
    let a = fixtures::analysis("lateral", &["pk_post"]).unwrap();
    assert_eq!(
        mapping(&a, "comment"),
        &Mapping::Direct {
            key_attnos: vec![2]
        }
    );
}

#[test]
fn uncorrelated_tables_refresh_everything() {
    let a = fixtures::analysis("nopath", &["pk_post"]).unwrap();
    assert_eq!(
        mapping(&a, "post"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
    assert!(matches!(mapping(&a, "settings"), Mapping::Full { .. }));
}

#[test]
fn composite_keys() {
    let a = fixtures::analysis("composite", &["post_id", "tag_id"]).unwrap();
    assert_eq!(
        mapping(&a, "post_tag"),
        &Mapping::Direct {
            key_attnos: vec![1, 2]
        }
    );
    let Mapping::Join(j) = mapping(&a, "org_or_tag") else {
        panic!()
    };
    assert_eq!(j.root_attnos, [1]);
    assert_eq!(j.steps[0].on, [(2, ColumnRef::Root(0))]);
    assert_eq!(j.key, [ColumnRef::Step(0, 1), ColumnRef::Root(0)]);
}

#[test]
fn in_sublinks_link_columns() {
    let a = fixtures::analysis("insub", &["pk_post"]).unwrap();
    let Mapping::Join(j) = mapping(&a, "users") else {
        panic!()
    };
    assert_eq!(j.key, [ColumnRef::Step(0, 1)]);
}

#[test]
fn grouped_join() {
    let a = fixtures::analysis("using", &["pk_post"]).unwrap();
    assert_eq!(
        mapping(&a, "post_tag"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
    assert_eq!(
        mapping(&a, "post"),
        &Mapping::Direct {
            key_attnos: vec![1]
        }
    );
}

#[test]
fn ctes_are_walked_per_reference() {
    let a = fixtures::analysis("cte", &["pk_post"]).unwrap();
    assert_eq!(
        mapping(&a, "comment"),
        &Mapping::Direct {
            key_attnos: vec![2]
        }
    );
}

#[test]
fn computed_keys_fall_back_to_full_refresh() {
    let a = fixtures::analysis("computed", &["pk_post"]).unwrap();
    assert!(matches!(mapping(&a, "post"), Mapping::Full { reason } if reason.contains("computed")));
}

#[test]
fn two_hop_paths_take_the_shortest_route() {
    let a = fixtures::analysis("twohop", &["pk_org"]).unwrap();
    assert_eq!(
        mapping(&a, "users"),
        &Mapping::Direct {
            key_attnos: vec![3]
        }
    );
    let Mapping::Join(j) = mapping(&a, "comment") else {
        panic!()
    };
    // comment -> post -> users.org_id
    assert_eq!(j.steps.len(), 2);
    assert_eq!(j.key, [ColumnRef::Step(1, 3)]);
    let Mapping::Join(j) = mapping(&a, "post") else {
        panic!()
    };
    assert_eq!(j.steps.len(), 1);
}

#[test]
fn missing_key_is_an_error() {
    let e = fixtures::analysis("direct", &["pk_nope"]).unwrap_err();
    assert!(matches!(e, Error::MissingKey { .. }));
    assert!(e.to_string().contains("pk_post, title"));
}

#[test]
fn operators_are_collected() {
    let (_, query) = fixtures::tree("agg");
    let ops = operators(&query);
    assert!(ops.contains(&96) && ops.contains(&410));
}

#[test]
fn not_in_does_not_link_columns() {
    // `NOT IN` over a nullable column: a NULL changes every row, so the
    // subquery's table has no equality path (full refresh).
    let a = fixtures::analysis("notin", &["pk_post"]).unwrap();
    assert!(matches!(mapping(&a, "comment"), Mapping::Full { .. }));
    assert!(matches!(mapping(&a, "post"), Mapping::Direct { .. }));
}

#[test]
fn in_over_a_limit_does_not_link_columns() {
    let a = fixtures::analysis("inlimit", &["pk_post"]).unwrap();
    assert!(matches!(mapping(&a, "comment"), Mapping::Full { .. }));
}

#[test]
fn plain_in_still_links_columns() {
    let a = fixtures::analysis("insub", &["pk_post"]).unwrap();
    assert!(matches!(
        mapping(&a, "users"),
        Mapping::Direct { .. } | Mapping::Join(_)
    ));
}

#[test]
fn locking_clauses_are_refused() {
    let e = fixtures::analysis("forupdate", &["pk_post"]).unwrap_err();
    assert!(e.to_string().contains("FOR UPDATE"), "{e}");
}

#[test]
fn views_are_reported() {
    let a = fixtures::analysis("view", &["pk_post"]).unwrap();
    assert_eq!(a.views.len(), 1);
}
