//! The controller: kube-runtime wiring around the [`router`](crate::router)
//! and the [account workers](crate::account).
//!
//! - Watches TollFreeNumberSets in every namespace, or only in `--namespace`;
//!   every event of a set routes it ([`router::route`]), which joins it to the
//!   worker of its proven account (or stalls it). The controller's store is
//!   what the workers read their sets from.
//! - Secrets are never listed or watched: a set's Secret is read (`get`) when
//!   the set is routed, and every account worker reads its members' Secrets
//!   again at each resync interval — a changed or broken one routes its sets
//!   again (through `reconcile_on`). The ClusterRole needs `get` on Secrets
//!   only, and no Secret of the cluster sits in the operator's memory.
//! - Per-set backoff after a failed routing (5 s doubling to 5 min, reset by
//!   a success, the vendor's `Retry-After` honoured; a trigger inside the
//!   window with nothing a person changed waits it out).
//! - The watch restarts quickly after an apiserver outage (backoff capped at
//!   a few seconds, for the watch and for the controller's trigger stream
//!   alike), so new sets are seen within seconds of its return; a routing
//!   that failed because the apiserver was away is retried every few seconds,
//!   outside the set's backoff.
//! - `/readyz` reports ready once the store holds the initial listing; the
//!   workers start planning once every set of it was routed once.
//! - Graceful shutdown: when `shutdown` resolves, no new routing starts, the
//!   workers finish their pass and stop.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::Api;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tracing::Instrument;

use crate::account::{Accounts, Env};
use crate::backoff::Trigger;
use crate::context::Context;
use crate::crd::TollFreeNumberSet;
use crate::error::{Error, StartError};
use crate::events::EventLog;
use crate::logins::LoginError;
use crate::router::{self, Router};

/// Coalesces bursts of watch events for one set.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often the readiness task looks at the store until it is ready.
const READY_POLL: Duration = Duration::from_millis(250);

/// How many sets are routed at once (routing reads a Secret and may prove a
/// login; planning happens in the account workers).
const CONCURRENCY: u16 = 8;

/// The longest pause between two attempts to restart the watch after the
/// apiserver failed (the watcher's default waits up to minutes). A return
/// often costs two attempts (the first resumes from a resourceVersion the
/// restarted apiserver answers 410 Expired, the second lists afresh), so this
/// bounds how soon after its return sets are seen: about twice this.
const WATCH_RETRY_MAX: Duration = Duration::from_secs(2);

/// Runs the controller until `shutdown` resolves, then drains and returns.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let client = ctx.client.clone();
    let sets: Api<TollFreeNumberSet> = match &ctx.settings.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (reader, writer) = reflector::store::<TollFreeNumberSet>();
    let stream = watcher(sets, watcher::Config::default())
        .backoff(WatchBackoff::default())
        .reflect(writer)
        .touched_objects();
    // The controller pauses its trigger stream after a watch error too (by
    // default for up to minutes, which kept a set applied just before an
    // apiserver outage waiting long after the apiserver was back): the
    // same short backoff as the watch.
    let controller =
        Controller::for_stream(stream, reader.clone()).trigger_backoff(WatchBackoff::default());

    let (reroute_tx, mut reroute_rx) = tokio::sync::mpsc::unbounded_channel();
    let (routed_tx, routed_rx) = tokio::sync::watch::channel(false);
    let accounts = Accounts::new(Env {
        kube: client.clone(),
        store: reader.clone(),
        logins: ctx.logins.clone(),
        metrics: ctx.metrics.clone(),
        events: EventLog::default(),
        settings: ctx.settings.clone(),
        reroute: reroute_tx,
        routed: routed_rx,
    });
    let router = Arc::new(Router::new(accounts.clone(), routed_tx));

    let readiness = ctx.readiness.clone();
    let ready_store = reader.clone();
    let ready_router = router.clone();
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
        let uids: BTreeSet<String> = ready_store
            .state()
            .iter()
            .filter_map(|s| s.metadata.uid.clone())
            .collect();
        tracing::info!(sets = uids.len(), "TollFreeNumberSet cache synced");
        ready_router.expect(uids);
        readiness.set_caches_synced(true);
    });

    // `graceful_shutdown_on` wants a `Sync` future: relay through a oneshot.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(());
    });

    let reroutes = futures::stream::poll_fn(move |cx| reroute_rx.poll_recv(cx));
    tracing::info!(
        namespace = ctx.settings.namespace.as_deref().unwrap_or("<all>"),
        resync = ?ctx.settings.resync_interval,
        "controller starting"
    );
    controller
        .reconcile_on(reroutes)
        .with_config(
            Config::default()
                .debounce(DEBOUNCE)
                .concurrency(CONCURRENCY),
        )
        .graceful_shutdown_on(async move {
            let _ = stop_rx.await;
        })
        .run(route_set, error_policy, router.clone())
        .for_each(|result| async move {
            match result {
                Ok((obj, action)) => tracing::debug!(set = %obj, ?action, "routed"),
                Err(e) => {
                    tracing::debug!(error = %crate::error::report(&e), "routing trigger failed")
                }
            }
        })
        .await;

    tracing::info!("controller stopped; stopping the account workers");
    accounts.shutdown().await;
    relay.abort();
    synced.abort();
    ctx.readiness.set_caches_synced(false);
    Ok(())
}

/// The controller's reconcile: route the set, unless it waits out a backoff
/// window that nothing a person changed since.
async fn route_set(obj: Arc<TollFreeNumberSet>, router: Arc<Router>) -> Result<Action, Error> {
    let id = crate::spec::set_id(&obj).map_err(|source| Error::Unidentified { source })?;
    if let Some(left) = router.backoffs.remaining(&id, &Trigger::of(&obj)) {
        tracing::debug!(set = %id, ?left, "inside the backoff window; waiting");
        return Ok(Action::requeue(left));
    }
    let span = tracing::info_span!("route", set = %id);
    let result = router::route(&router, &obj).instrument(span).await;
    if result.is_ok() {
        router.backoffs.succeeded(&id);
    }
    result
}

/// Backs off per set: 5 s doubling to 5 min; a vendor's `Retry-After` is
/// honoured. A failure of the apiserver itself (unreachable, 5xx, 429) says
/// nothing about the set: it is retried every [`APISERVER_RETRY`], outside the
/// set's backoff, so that the set is routed within seconds of the apiserver's
/// return however long it was away.
fn error_policy(obj: Arc<TollFreeNumberSet>, error: &Error, router: Arc<Router>) -> Action {
    let Ok(id) = crate::spec::set_id(&obj) else {
        return Action::await_change();
    };
    router
        .accounts
        .env()
        .metrics
        .reconcile_error(&error.metric_label());
    if apiserver_away(error) {
        tracing::warn!(
            set = %id,
            error = %error.report(),
            retry_in = ?APISERVER_RETRY,
            "routing failed: the Kubernetes API is not available"
        );
        return Action::requeue(APISERVER_RETRY);
    }
    let retry_after = match error.vendor_source() {
        Some(intelepeer::Error::RateLimited {
            retry_after: Some(after),
        }) => Some(*after),
        _ => None,
    };
    let delay = router.backoffs.failed(&id, Trigger::of(&obj), retry_after);
    tracing::warn!(
        set = %id,
        error = %error.report(),
        kind = %error.metric_label(),
        retry_in = ?delay,
        "routing failed"
    );
    Action::requeue(delay)
}

/// Whether a routing failure is the apiserver's, not the set's: it could not
/// be reached, or answered 5xx or 429.
fn apiserver_away(error: &Error) -> bool {
    let source = match error {
        Error::Kube { source, .. } | Error::Login(LoginError::SecretUnreadable { source, .. }) => {
            source
        }
        _ => return false,
    };
    match source {
        kube::Error::Api(status) => status.code >= 500 || status.code == 429,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// How soon a routing that failed because the apiserver was away is tried
/// again (outside the set's backoff: one cheap request per set and interval
/// while the apiserver is down).
const APISERVER_RETRY: Duration = Duration::from_secs(2);

/// The watch's retry delays after an apiserver failure: 500 ms doubling to
/// [`WATCH_RETRY_MAX`], reset once the watch works again.
#[derive(Debug, Clone)]
struct WatchBackoff {
    next: Duration,
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self {
            next: Duration::from_millis(500),
        }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (self.next * 2).min(WATCH_RETRY_MAX);
        Some(now)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        *self = WatchBackoff::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_of_the_apiserver_itself_skip_the_set_backoff() {
        let api = |code: u16| {
            Error::kube(
                "adding the finalizer",
                kube::Error::Api(Box::new(kube::core::Status {
                    code,
                    ..kube::core::Status::default()
                })),
            )
        };
        assert!(apiserver_away(&api(503)));
        assert!(apiserver_away(&api(429)));
        assert!(!apiserver_away(&api(409)));
        assert!(!apiserver_away(&api(403)));
        let refused = Error::kube(
            "adding the finalizer",
            kube::Error::Service("tcp connect error: Connection refused".into()),
        );
        assert!(apiserver_away(&refused));
        let unreadable = Error::Login(LoginError::SecretUnreadable {
            secret: crate::logins::SecretRef {
                namespace: "ns".into(),
                name: "acct".into(),
            },
            source: kube::Error::Service("connection reset".into()),
        });
        assert!(apiserver_away(&unreadable));
        let missing = Error::Login(LoginError::SecretNotFound {
            secret: crate::logins::SecretRef {
                namespace: "ns".into(),
                name: "acct".into(),
            },
        });
        assert!(!apiserver_away(&missing));
    }

    #[test]
    fn the_watch_retries_within_seconds_of_an_apiserver_outage() {
        let mut b = WatchBackoff::default();
        let delays: Vec<u64> = (0..6)
            .map(|_| b.next().map_or(0, |d| d.as_millis() as u64))
            .collect();
        assert_eq!(delays, [500, 1000, 2000, 2000, 2000, 2000]);
        kube::runtime::utils::Backoff::reset(&mut b);
        assert_eq!(b.next(), Some(Duration::from_millis(500)));
    }
}
