//! Many tasks repeating one operation at once (W2's callers on one
//! connection, W3's and W7's tasks on a pool), each with its own random
//! keys, until the round's deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::{Bench, BoxFut, Plan};
use crate::error::{BenchError, Result};
use crate::measure::{histogram, Meter, Rng, Sample};

/// One operation that many tasks repeat on a shared pool: it draws its
/// own random keys from `rng`.
pub trait SharedOp: Send + Sync + 'static {
    /// Runs one operation (a query, a transaction).
    fn run(&self, rng: &mut Rng) -> impl Future<Output = Result<()>> + Send;
}

/// A [`Bench`] that runs `op` from `n` tasks at once.
pub fn tasks<T: SharedOp>(workload: &'static str, n: usize, op: T) -> Result<Box<dyn Bench>> {
    Ok(Box::new(Tasks {
        workload,
        n,
        op: Arc::new(op),
        seed: 0x5eed_0003,
    }))
}

/// Runs a [`SharedOp`] from `n` tasks until the round's deadline.
struct Tasks<T> {
    workload: &'static str,
    n: usize,
    op: Arc<T>,
    seed: u64,
}

impl<T: SharedOp> Bench for Tasks<T> {
    fn round<'a>(&'a mut self, plan: &'a Plan) -> BoxFut<'a, Sample> {
        Box::pin(async move {
            let mut m = Meter::start();
            let deadline = m.started() + plan.duration();
            let mut handles = Vec::with_capacity(self.n);
            for _ in 0..self.n {
                self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut rng = Rng::new(self.seed);
                let op = Arc::clone(&self.op);
                handles.push(tokio::spawn(async move {
                    let mut hist = histogram();
                    let mut ops = 0u64;
                    loop {
                        let t = Instant::now();
                        op.run(&mut rng).await?;
                        let now = Instant::now();
                        let _ = hist.record(crate::measure::nanos(now - t).max(1));
                        ops += 1;
                        if now >= deadline {
                            return Ok::<_, BenchError>((ops, hist));
                        }
                    }
                }));
            }
            for handle in handles {
                let (ops, hist) = handle.await.map_err(|e| {
                    BenchError::process(format!("a {} task", self.workload), e.to_string())
                })??;
                m.merge(ops, &hist);
            }
            Ok(m.finish())
        })
    }
}
