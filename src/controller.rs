//! The TollFreeNumberSet controller: kube-runtime wiring around the
//! [`reconcile`](crate::reconcile) pipeline.
//!
//! - Watches TollFreeNumberSets in every namespace, or only in `--namespace`.
//! - Watches Secrets too: a Secret change triggers the sets of its namespace
//!   whose `accountRef` names it (looked up in the controller's reflector
//!   store), so rotated or repaired credentials are used at once.
//! - The finalizer `tollfree.dev/cleanup` (kube-runtime's `finalizer`): a set
//!   being deleted runs the same pipeline and is released only when its plan
//!   says so. Until then the cleanup reports [`Error::CleanupPending`], which
//!   requeues without counting as a failure.
//! - Per-set exponential backoff on errors (5 s doubling to 5 min, reset by a
//!   success; a vendor's `Retry-After` is honoured) — no hot loop on bad
//!   credentials or a 402. Successful reconciles requeue as the pipeline
//!   decides (seconds while orders are in flight, else the resync interval).
//! - `/readyz` reports ready once the store holds the initial listing.
//! - Graceful shutdown: when `shutdown` resolves, no new reconcile starts and
//!   running ones finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tracing::Instrument;

use crate::context::Context;
use crate::crd::{FINALIZER, TollFreeNumberSet};
use crate::error::{Error, StartError};
use crate::reconcile::{self, Reconciler};

/// Coalesces bursts of watch events for one set (our own status writes, a
/// Secret and its set applied together).
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often the readiness task looks at the store until it is ready.
const READY_POLL: Duration = Duration::from_millis(250);

/// How many sets are reconciled at once (sets of one vendor account are
/// serialized by the pipeline anyway).
const CONCURRENCY: u16 = 8;

/// Runs the controller until `shutdown` resolves, then drains and returns.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let client = ctx.client.clone();
    let (sets, secrets): (Api<TollFreeNumberSet>, Api<Secret>) = match &ctx.settings.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };

    let controller = Controller::new(sets, watcher::Config::default());
    let store = controller.store();
    let reconciler = Arc::new(Reconciler::new(ctx.clone(), store.clone()));

    let readiness = ctx.readiness.clone();
    let ready_store = store.clone();
    let synced = tokio::spawn(async move {
        // The store's readiness future wakes only its latest poller (the
        // controller's runner polls it too), so poll again now and then.
        loop {
            match tokio::time::timeout(READY_POLL, ready_store.wait_until_ready()).await {
                Ok(Ok(())) => break,
                Ok(Err(_)) => return,
                Err(_) => {}
            }
        }
        tracing::info!(
            sets = ready_store.state().len(),
            "TollFreeNumberSet cache synced"
        );
        readiness.set_caches_synced(true);
    });

    // `graceful_shutdown_on` wants a `Sync` future: relay through a oneshot.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(());
    });

    let mapper_store = store.clone();
    let mapper_reconciler = reconciler.clone();
    tracing::info!(
        namespace = ctx.settings.namespace.as_deref().unwrap_or("<all>"),
        resync = ?ctx.settings.resync_interval,
        "controller starting"
    );
    controller
        .watches(
            secrets,
            watcher::Config::default(),
            move |secret: Secret| {
                let namespace = secret.namespace().unwrap_or_default();
                let state = mapper_store.state();
                reconcile::sets_using_secret(
                    state.iter().map(AsRef::as_ref),
                    &namespace,
                    &secret.name_any(),
                )
                .into_iter()
                .inspect(|id| mapper_reconciler.secret_changed(id))
                .map(|id| ObjectRef::<TollFreeNumberSet>::new(&id.name).within(&id.namespace))
                .collect::<Vec<_>>()
            },
        )
        .with_config(
            Config::default()
                .debounce(DEBOUNCE)
                .concurrency(CONCURRENCY),
        )
        .graceful_shutdown_on(async move {
            let _ = stop_rx.await;
        })
        .run(reconcile_set, error_policy, reconciler)
        .for_each(|result| async move {
            match result {
                Ok((obj, action)) => tracing::debug!(set = %obj, ?action, "reconciled"),
                Err(e) => {
                    tracing::debug!(error = %crate::error::report(&e), "reconcile trigger failed")
                }
            }
        })
        .await;

    tracing::info!("controller stopped");
    relay.abort();
    synced.abort();
    ctx.readiness.set_caches_synced(false);
    Ok(())
}

/// The controller's reconcile: the finalizer around the pipeline.
///
/// A reconcile triggered inside the set's backoff window, with nothing a
/// person changed since the failure (typically by the operator's own status
/// write of that failure), waits out the window: no vendor call, no status
/// write, and the failure count stays.
async fn reconcile_set(obj: Arc<TollFreeNumberSet>, r: Arc<Reconciler>) -> Result<Action, Error> {
    if let Some(left) = r.in_backoff(&obj) {
        tracing::debug!(set = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()), ?left, "inside the backoff window; waiting");
        return Ok(Action::requeue(left));
    }
    let ctx = r.context();
    let timer = ctx.metrics.reconcile_started();
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<TollFreeNumberSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let span = tracing::info_span!("reconcile", set = %format!("{namespace}/{}", obj.name_any()));
    let result = finalizer(&api, FINALIZER, obj.clone(), |event| async {
        match event {
            Finalizer::Apply(obj) => {
                let outcome = r.reconcile(&obj).await?;
                Ok(Action::requeue(outcome.requeue))
            }
            Finalizer::Cleanup(obj) => {
                let outcome = r.reconcile(&obj).await?;
                if outcome.release {
                    tracing::info!(set = %format!("{namespace}/{}", obj.name_any()), "released: removing the finalizer");
                    r.forget(&obj);
                    Ok(Action::await_change())
                } else {
                    Err(Error::CleanupPending {
                        set: format!("{namespace}/{}", obj.name_any()),
                        reason: outcome.waiting_for,
                        after: outcome.requeue,
                    })
                }
            }
        }
    })
    .instrument(span)
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    match &result {
        Ok(_) => {
            r.succeeded(&obj);
            timer.success();
        }
        Err(e) if e.pending_requeue().is_some() => {
            r.succeeded(&obj);
            timer.success();
        }
        Err(e) => timer.failure(e),
    }
    result
}

/// Backs off per set: 5 s doubling to 5 min; a pending cleanup comes back
/// when it asked to; a vendor's `Retry-After` is honoured.
fn error_policy(obj: Arc<TollFreeNumberSet>, error: &Error, r: Arc<Reconciler>) -> Action {
    if let Some(after) = error.pending_requeue() {
        tracing::debug!(set = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()), %error, ?after, "deletion pending");
        return Action::requeue(after);
    }
    let retry_after = match error.vendor_source() {
        Some(intelepeer::Error::RateLimited {
            retry_after: Some(after),
        }) => Some(*after),
        _ => None,
    };
    let delay = r.failed(&obj, retry_after);
    tracing::warn!(
        set = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
        error = %error.report(),
        kind = %error.metric_label(),
        retry_in = ?delay,
        "reconcile failed"
    );
    Action::requeue(delay)
}
