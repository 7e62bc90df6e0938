//! The TollFreeNumberSet controller.
//!
//! **Placeholder**: the real controller (kube-runtime `Controller` with the
//! finalizer, per-object backoff and the reconcile pipeline of DESIGN.md §4)
//! replaces this body. The signature is the contract with `run`
//! (`src/cli/run.rs`): it runs until `shutdown` resolves, then drains and
//! returns; it marks `ctx.readiness` synced once its caches are.

use std::future::Future;
use std::sync::Arc;

use crate::context::Context;
use crate::error::Error;

/// Runs the controller until `shutdown` resolves.
///
/// Placeholder: reports ready at once and waits for `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    tracing::warn!("the controller is a placeholder: no TollFreeNumberSet is reconciled yet");
    ctx.readiness.set_caches_synced(true);
    shutdown.await;
    ctx.readiness.set_caches_synced(false);
    Ok(())
}
