//! Prints the sizes of the pool's futures (each `await` on a pool method
//! moves its future into the caller's state: a large future is copied on
//! every call).
//!
//! ```text
//! cargo run --release -p tusk-pool --example future_sizes
//! ```

use tusk::Executor;
use tusk_pool::{Pool, PoolConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let pool = Pool::new(
            PoolConfig::builder()
                .url("postgresql://x@localhost/x")?
                .build(),
        )?;
        let aid = 1i32;
        println!("acquire: {} bytes", std::mem::size_of_val(&pool.acquire()));
        println!(
            "pool.query_scalar: {} bytes",
            std::mem::size_of_val(&pool.query_scalar::<i32>("SELECT $1", &[&aid]))
        );
        println!(
            "pool.execute: {} bytes",
            std::mem::size_of_val(&pool.execute("SELECT 1", &[]))
        );
        Ok(())
    })
}
