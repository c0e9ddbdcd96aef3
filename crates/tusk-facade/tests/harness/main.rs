//! `#[tusk::test]` and the harness behind it, against real clusters: the
//! tests in `attribute` use the macro as a user would; the others drive
//! `tusk::testing::Harness` by hand to watch what happens around a test
//! (databases dropped or kept, leaks, builders racing).

mod attribute;
mod lifecycle;
mod processes;
mod snapshot;

use tusk::Executor;

/// Whether a database exists on the harness's server.
pub fn database_exists(name: &str) -> bool {
    let url = tusk::testing::server_url().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = tusk::connect(&url).await.unwrap();
        let n: i64 = conn
            .query_scalar(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .unwrap();
        n == 1
    })
}
