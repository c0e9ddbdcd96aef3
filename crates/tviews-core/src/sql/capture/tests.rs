use super::*;
use crate::fixtures::{self, Names};

#[test]
fn direct_sources_capture_key_columns() {
    let a = fixtures::analysis("json", &["pk_post"]).unwrap();
    let plans = plan_sources(&a, &Names).unwrap();
    let comment = plans.iter().find(|p| p.captured == ["post_id"]).unwrap();
    assert_eq!(comment.kind, CaptureKind::Direct);
    assert_eq!(
        capture_sql(comment, "UPDATE"),
        "SELECT post_id::pg_catalog.text FROM tviews_old WHERE post_id IS NOT NULL UNION SELECT post_id::pg_catalog.text FROM tviews_new WHERE post_id IS NOT NULL"
    );
    assert_eq!(
        capture_sql(comment, "INSERT"),
        "SELECT post_id::pg_catalog.text FROM tviews_new WHERE post_id IS NOT NULL GROUP BY 1"
    );
    let ddl = trigger_ddl(42, comment, "public.comment");
    assert_eq!(ddl.len(), 4);
    assert!(ddl[1].starts_with("CREATE TRIGGER tviews_42_"));
    assert!(ddl[1].contains(
        "REFERENCING OLD TABLE AS tviews_old NEW TABLE AS tviews_new FOR EACH STATEMENT"
    ));
    assert!(ddl[3].contains("AFTER TRUNCATE") && ddl[3].contains("'f', ''"));
}

#[test]
fn join_sources_capture_path_starts_and_map_at_flush() {
    let a = fixtures::analysis("json", &["pk_post"]).unwrap();
    let plans = plan_sources(&a, &Names).unwrap();
    let users = plans.iter().find(|p| p.kind == CaptureKind::Join).unwrap();
    assert_eq!(users.captured, ["id"]);
    let post = a
        .sources
        .iter()
        .find(|s| s.columns[1] == "user_id")
        .unwrap()
        .relid;
    assert_eq!(
        users.flush_sql.as_deref().unwrap(),
        format!(
            "SELECT DISTINCT s0.id::pg_catalog.text FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]::bigint[])) AS tviews_r(c1) \
             JOIN ONLY public.r{post} s0 ON s0.user_id OPERATOR(pg_catalog.=) tviews_r.c1 WHERE s0.id IS NOT NULL"
        )
    );
    assert!(users.detail.starts_with("via public.r"));
}

#[test]
fn full_sources_get_one_trigger() {
    let a = fixtures::analysis("nopath", &["pk_post"]).unwrap();
    let plans = plan_sources(&a, &Names).unwrap();
    let settings = plans.iter().find(|p| p.kind == CaptureKind::Full).unwrap();
    let ddl = trigger_ddl(7, settings, "public.settings");
    assert_eq!(ddl.len(), 1);
    assert!(ddl[0].contains("AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"));
    assert!(settings.detail.starts_with("full refresh: "));
}
