//! A pool's connections share one type registry: a user-defined type is
//! looked up once per pool, not once per connection.

use postgres_types::{FromSql, ToSql};
use tusk::Executor;

#[derive(Debug, PartialEq, ToSql, FromSql)]
#[postgres(name = "mood")]
enum Mood {
    #[postgres(name = "sad")]
    Sad,
    #[postgres(name = "ok")]
    Ok,
}

#[tokio::test]
async fn connections_share_the_pools_type_registry() {
    let db = crate::db();
    db.psql("CREATE TYPE mood AS ENUM ('sad', 'ok')").unwrap();
    let pool = crate::pool(&db, 3);
    let a = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let b = crate::bounded("acquire", pool.acquire()).await.unwrap();
    assert_ne!(a.process_id(), b.process_id());
    let m: Mood = a
        .query_scalar("SELECT $1::mood", &[&Mood::Ok])
        .await
        .unwrap();
    assert_eq!(m, Mood::Ok);
    assert_eq!(a.type_lookups(), 1);
    // The other connection finds the type in the shared registry.
    let m: Mood = b.query_scalar("SELECT 'sad'::mood", &[]).await.unwrap();
    assert_eq!(m, Mood::Sad);
    let v: Vec<Mood> = b
        .query_scalar("SELECT $1::mood[]", &[&vec![Mood::Sad, Mood::Ok]])
        .await
        .unwrap();
    assert_eq!(v, vec![Mood::Sad, Mood::Ok]);
    assert_eq!(
        b.type_lookups(),
        1,
        "the second connection looked the type up again"
    );
    // Through the pool's own query methods too.
    let m: Mood = pool.query_scalar("SELECT 'ok'::mood", &[]).await.unwrap();
    assert_eq!(m, Mood::Ok);
    // Clearing it through one connection clears it for all.
    a.clear_type_cache();
    let m: Mood = b.query_scalar("SELECT 'sad'::mood", &[]).await.unwrap();
    assert_eq!(m, Mood::Sad);
    assert_eq!(b.type_lookups(), 2);
}
