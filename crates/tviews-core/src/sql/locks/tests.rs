use super::*;
use crate::analyze::Source;
use crate::fixtures::{self, Names};
use crate::sql::capture::{capture_sql, parse_layout, plan_sources, trigger_ddl};

/// Index of the source whose second column is `second` (`user_id`: post,
/// `post_id`: comment, `org_id`...: users).
fn source(a: &Analysis, pred: impl Fn(&Source) -> bool) -> usize {
    a.sources.iter().position(pred).unwrap()
}

#[test]
fn one_step_paths_probe_with_the_captured_row() {
    let a = fixtures::analysis("json", &["pk_post"]).unwrap();
    let plan = lock_plan(&a, &Names).unwrap();
    let post = source(&a, |s| s.columns[1] == "user_id");
    let users = source(&a, |s| matches!(s.mapping, Mapping::Join(_)));
    let post_relid = a.sources[post].relid;
    // Writers of post lock post.user_id, which users rows are probed with.
    assert_eq!(
        plan.groups,
        [LockGroup {
            id: 0,
            rank: 0,
            occurrence: post,
            columns: vec![ColumnId {
                relid: post_relid,
                attno: 2
            }],
        }]
    );
    assert_eq!(
        plan.probes[&users],
        [Probe {
            group: 0,
            rank: 0,
            columns: vec![ColumnId {
                relid: a.sources[users].relid,
                attno: 1
            }],
            from: ProbeFrom::Root(vec![0]),
        }]
    );
    // The post source captures user_id for the group, after its key.
    let plans = plan_sources(&a, &Names).unwrap();
    let p = plans
        .iter()
        .find(|p| p.idx == i32::try_from(post).unwrap())
        .unwrap();
    assert_eq!(p.captured, ["id"]);
    assert_eq!(p.values, [(0, vec!["user_id".to_owned()])]);
    assert_eq!(p.layout(), "1|0:1");
    assert_eq!(parse_layout("1|0:1").unwrap(), (1, vec![(0, 1)]));
    assert_eq!(
        capture_sql(p, "INSERT"),
        "SELECT id::pg_catalog.text, user_id::pg_catalog.text FROM tviews_new WHERE (id IS NOT NULL) OR (user_id IS NOT NULL) GROUP BY 1, 2"
    );
    assert!(trigger_ddl(5, p, "public.post")[0].ends_with(", '1|0:1')"));
    let u = plans
        .iter()
        .find(|p| p.idx == i32::try_from(users).unwrap())
        .unwrap();
    assert_eq!(
        Probe::list_from_json(u.probes.as_deref().unwrap()).unwrap(),
        plan.probes[&users]
    );
}

#[test]
fn deeper_steps_are_probed_through_sql_at_a_higher_rank() {
    let a = fixtures::analysis("twohop", &["pk_org"]).unwrap();
    let plan = lock_plan(&a, &Names).unwrap();
    let comment = source(&a, |s| s.columns[1] == "post_id");
    let post = source(&a, |s| s.columns[1] == "user_id");
    let users = source(&a, |s| {
        s.columns.get(3).is_some_and(|c| c == "org_id")
            || s.columns.get(2).is_some_and(|c| c == "org_id")
    });
    let probes = &plan.probes[&comment];
    assert_eq!(probes.len(), 2);
    assert_eq!(
        (probes[0].rank, &probes[0].from),
        (0, &ProbeFrom::Root(vec![0]))
    );
    assert_eq!(probes[1].rank, 1);
    let post_relid = a.sources[post].relid;
    assert_eq!(
        probes[1].from,
        ProbeFrom::Sql(format!(
            "SELECT DISTINCT s0.user_id::pg_catalog.text FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]::integer[])) AS tviews_r(c1) \
             JOIN ONLY public.r{post_relid} s0 ON s0.id OPERATOR(pg_catalog.=) tviews_r.c1 WHERE s0.user_id IS NOT NULL"
        ))
    );
    assert_eq!(
        probes[1].columns,
        [ColumnId {
            relid: post_relid,
            attno: 2
        }]
    );
    // users is probed at rank 0 by post's path and at rank 1 by comment's:
    // two groups, both carried by users rows.
    let g = &plan.groups;
    assert_eq!(plan.groups_of(users).len(), 2);
    assert_eq!(plan.groups_of(post).len(), 1);
    assert_eq!(g[usize::try_from(probes[1].group).unwrap()].rank, 1);
    assert_eq!(
        LockGroup::list_from_json(&LockGroup::list_to_json(g)).unwrap(),
        *g
    );
}

#[test]
fn unreadable_plans_say_to_recreate() {
    let e = LockGroup::list_from_json("{").unwrap_err();
    assert!(e.to_string().contains("recreate the TVIEW"));
    assert!(Probe::list_from_json(r#"[{"group": 0}]"#).is_err());
    assert!(parse_layout("x").is_err());
}
