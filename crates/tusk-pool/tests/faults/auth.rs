//! Credentials that rotate without a restart.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tusk::{ErrorKind, Executor};
use tusk_pool::Pool;
use tusk_testkit::{auth::PasswordEncryption, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_password_needs_no_restart() {
    let cluster = Cluster::builder()
        .hba(&[
            "local all postgres trust",
            "host all postgres 127.0.0.1/32 trust",
            "host all all 127.0.0.1/32 scram-sha-256",
        ])
        .start()
        .unwrap();
    cluster
        .create_user("rotating", Some("first"), PasswordEncryption::Scram)
        .unwrap();
    let secret = Arc::new(RwLock::new(String::from("first")));
    let s = secret.clone();
    let url = format!(
        "postgresql://rotating@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port()
    );
    let pool = Pool::new(
        crate::config(&url)
            .max_size(2)
            .credentials(move || Ok(s.read().clone()))
            .build(),
    )
    .unwrap();
    let me: String = pool
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(me, "rotating");

    // The server's password changes; open connections keep working.
    cluster
        .psql("postgres", "ALTER ROLE rotating PASSWORD 'second'")
        .unwrap();
    let _: i32 = pool.query_scalar("SELECT 1", &[]).await.unwrap();
    // New connections with the old password fail at once (not after the
    // acquire timeout): a permission error is not retried.
    pool.retire_all();
    let e = crate::bounded("acquire", pool.acquire()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");

    // Rotate the provider: the next connection uses the new password.
    *secret.write() = "second".into();
    let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
    let me: String = c
        .query_scalar("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(me, "rotating");
    drop(c);
    pool.close(Duration::from_secs(1)).await;
}
