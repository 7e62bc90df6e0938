//! The router: which account a set belongs to, proven — the controller's
//! reconcile of one set.
//!
//! For every event of a set (and when a worker asks again):
//!
//! 1. a set being deleted that may not disconnect (`policy.disconnect: Deny`,
//!    or suspended) is released at once — its finalizer removed, its numbers
//!    retained, no vendor call (deletion rule);
//! 2. a set without the finalizer `tollfree.dev/cleanup` gets it first (and
//!    routing goes on with the patched set, in the same pass);
//! 3. its Secret (the set's own namespace, one `get`) is read and its
//!    credentials proven with the vendor ([`crate::logins`]);
//! 4. proven: the set joins the worker of that login's account, which plans
//!    it with every other set of the account ([`crate::account`]);
//!    not proven: the set leaves any account and is Stalled
//!    `CredentialsInvalid` — it sees nothing of any inventory, names no other
//!    set and claims nothing; what its status records as owned stays
//!    protected in its account. The router backs off (per set).

use std::collections::BTreeSet;
use std::sync::Mutex;

use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use crate::account::{Accounts, Member, record};
use crate::backoff::{SetBackoffs, Trigger};
use crate::crd::{FINALIZER, PolicyMode, TollFreeNumberSet};
use crate::error::Error;
use crate::events::{self, EventSpec};
use crate::logins::{LoginError, SecretRef};
use crate::spec;
use crate::status::conditions::{Failure, FailureReason};
use crate::status::{self, text};

/// What routing shares: the account workers (and, through them, the
/// Kubernetes client, the logins, the metrics), and each set's backoff.
#[derive(Debug)]
pub struct Router {
    /// Every account worker.
    pub accounts: Accounts,
    /// Per-set backoff after a failed routing.
    pub backoffs: SetBackoffs,
    /// UIDs of the sets the store held when it was first ready that were not
    /// routed yet: the workers start planning once it is empty.
    pending: Mutex<Option<BTreeSet<String>>>,
    routed: tokio::sync::watch::Sender<bool>,
}

impl Router {
    /// A router over `accounts`; `routed` is set once every set of the
    /// store's first listing was routed (see [`Router::expect`]).
    pub fn new(accounts: Accounts, routed: tokio::sync::watch::Sender<bool>) -> Self {
        Self {
            accounts,
            backoffs: SetBackoffs::default(),
            pending: Mutex::new(None),
            routed,
        }
    }

    /// The sets of the store's first listing: once each was routed (joined
    /// an account, or failed to), the workers may plan.
    pub fn expect(&self, uids: BTreeSet<String>) {
        let empty = uids.is_empty();
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(uids);
        if empty {
            let _ = self.routed.send(true);
        }
    }

    fn routed_one(&self, obj: &TollFreeNumberSet) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(set), Some(uid)) = (pending.as_mut(), obj.metadata.uid.as_ref())
            && set.remove(uid)
            && set.is_empty()
        {
            let _ = self.routed.send(true);
        }
    }
}

/// Routes one set (see the module documentation).
pub async fn route(router: &Router, obj: &TollFreeNumberSet) -> Result<Action, Error> {
    let result = route_one(router, obj).await;
    router.routed_one(obj);
    result
}

async fn route_one(router: &Router, obj: &TollFreeNumberSet) -> Result<Action, Error> {
    let patched;
    let mut obj = obj;
    let id = spec::set_id(obj).map_err(|source| Error::Unidentified { source })?;
    let deleting = obj.metadata.deletion_timestamp.is_some();
    let finalized = obj.finalizers().iter().any(|f| f == FINALIZER);
    let accounts = &router.accounts;
    let env = accounts.env();
    if deleting && !finalized {
        accounts.leave(&id);
        return Ok(Action::await_change());
    }
    if deleting && (obj.spec.suspend || obj.spec.policy.disconnect == PolicyMode::Deny) {
        accounts.leave(&id);
        let why = if obj.spec.suspend {
            text::RELEASED_SUSPENDED
        } else {
            text::RELEASED_RETAINED
        };
        events::publish(
            &env.kube,
            &env.settings.instance,
            &env.events,
            obj,
            &[events::released_event(why)],
        )
        .await;
        record::remove_finalizer(&env.kube, obj)
            .await
            .map_err(|e| Error::kube(format!("releasing set {id}"), e))?;
        tracing::info!(set = %id, "released without vendor calls: {why}");
        env.metrics.forget_set(&id);
        return Ok(Action::await_change());
    }
    if !deleting && !finalized {
        // Routing goes on with the patched set rather than waiting for the
        // patch's own watch event: after an apiserver outage the watch may
        // still be re-listing, and the set would wait for it.
        patched = add_finalizer(&env.kube, obj)
            .await
            .map_err(|e| Error::kube(format!("adding the finalizer to set {id}"), e))?;
        obj = &patched;
    }

    let secret = SecretRef {
        namespace: id.namespace.clone(),
        name: obj.spec.account_ref.name.clone(),
    };
    let proven = match crate::logins::read_secret(&env.kube, &secret).await {
        Ok(login) => env.logins.prove(&login).await,
        Err(e) => Err(e),
    };
    match proven {
        Ok(p) => {
            accounts.join(
                id,
                p.identity,
                Member {
                    secret,
                    fingerprint: p.fingerprint,
                    client: p.client,
                    trigger: Trigger::of(obj),
                },
            );
            Ok(Action::await_change())
        }
        Err(e) => {
            // The vendor could not be asked, but the set's login is still
            // proven: it stays where it is.
            let stays = match accounts.account_of(&id) {
                Some((_, fp)) if !e.needs_a_person() => env.logins.is_proven(&fp).await,
                _ => false,
            };
            if !stays {
                accounts.leave(&id);
                report_failure(env, obj, &e).await;
            }
            Err(Error::Login(e))
        }
    }
}

/// The failure a set whose credentials cannot be used shows.
fn login_failure(e: &LoginError) -> Failure {
    let reason = if e.needs_a_person() {
        FailureReason::CredentialsInvalid
    } else {
        FailureReason::VendorUnavailable
    };
    let message = match e {
        LoginError::SecretNotFound { secret } => {
            text::secret_not_found(&secret.namespace, &secret.name)
        }
        other => crate::error::report(other),
    };
    Failure { reason, message }
}

/// Shows a login failure in the set's conditions (a merge patch of the
/// conditions only: the rest of the status — what the set owns — is not
/// the router's to write), then its Event.
async fn report_failure(env: &crate::account::Env, obj: &TollFreeNumberSet, e: &LoginError) {
    let failure = login_failure(e);
    let now = Timestamp::now();
    let prev = obj.status.as_ref();
    let status = record::failure_status(obj, &failure, now);
    if prev.is_some_and(|p| status::eq_time_insensitive(p, &status)) {
        return;
    }
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<TollFreeNumberSet> = Api::namespaced(env.kube.clone(), &namespace);
    let patch = serde_json::json!({
        "status": {
            "conditions": status.conditions,
            "observedGeneration": status.observed_generation,
            "lastSyncTime": status.last_sync_time,
        }
    });
    match api
        .patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => {
            let events: Vec<EventSpec> =
                events::condition_events(prev, &status, failure.reason.into());
            events::publish(&env.kube, &env.settings.instance, &env.events, obj, &events).await;
        }
        Err(err) => {
            tracing::warn!(set = %record::set_name(obj), error = %crate::error::report(&err), "cannot record a credentials failure in status");
        }
    }
}

/// Adds the finalizer (a JSON patch that first tests the finalizers are as
/// read, so a concurrent change is never overwritten); the set as patched.
async fn add_finalizer(
    kube: &kube::Client,
    obj: &TollFreeNumberSet,
) -> Result<TollFreeNumberSet, kube::Error> {
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<TollFreeNumberSet> = Api::namespaced(kube.clone(), &namespace);
    let ops = match obj.metadata.finalizers.as_ref() {
        None => serde_json::json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ]),
        Some(list) => serde_json::json!([
            {"op": "test", "path": "/metadata/finalizers", "value": list},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
        ]),
    };
    let patch: json_patch::Patch = serde_json::from_value(ops).map_err(kube::Error::SerdeError)?;
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await
}
