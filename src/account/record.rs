//! Record: each set's status, Events and metrics after a pass, and the
//! write-ahead of intents before each vendor call.
//!
//! Compute, then send: the status is computed by
//! [`crate::status::compute_status`], written by server-side apply to the
//! status subresource (field manager `tollfree-operator`, forced), and
//! skipped when nothing but timestamps changed. Every write goes through the
//! worker's [`Journal`]: a write that fails keeps its status as *unsaved*
//! (retried at every pass, laid over the store meanwhile), so an order ID the
//! vendor gave is never dropped because the apiserver was down. The Events of
//! a status change are published only after that status was stored; the
//! Events of vendor mutations always (they happened).
//!
//! Failures outside the plan are classified here for people ([`vendor_failure`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use tollfree_plan::{IntentKind, Memory, NumberState, SetId, SetInput, SetPlan};

use super::execute::{Done, IntentLog, SetRun, WriteAheadError};
use super::journal::Journal;
use crate::context::CONTROLLER_NAME;
use crate::crd::{FINALIZER, TollFreeNumberSet, TollFreeNumberSetStatus};
use crate::events::{self, EventLog, EventSpec};
use crate::metrics::{Metrics, SetNumbers};
use crate::status::conditions::{ConditionReason, Failure, FailureReason};
use crate::status::{self, Findings};

/// How many status writes run at once (write-ahead of a batch serving many sets).
const WRITES_AT_ONCE: usize = 16;

/// What a vendor failure tells the sets it concerns, if anything: refused
/// credentials and the trial limit stall them, an unreachable vendor keeps
/// them Reconciling. Refusals the executor handles on its own return `None`.
pub fn vendor_failure(e: &intelepeer::Error) -> Option<Failure> {
    use intelepeer::Error as V;
    let failure = |reason, message: String| Some(Failure { reason, message });
    let report = || format!("IntelePeer: {}", crate::error::report(e));
    match e {
        V::Unauthorized | V::SessionExpired => failure(FailureReason::CredentialsInvalid, report()),
        V::TrialLimitRealized { .. } | V::TrialLimitExceeded { .. } | V::PaymentRequired { .. } => {
            failure(FailureReason::TrialLimit, e.to_string())
        }
        V::NotAvailable | V::ConflictingOrder | V::AlreadyPendingDisconnect | V::NotAssigned => {
            None
        }
        V::RateLimited { .. } | V::Server { .. } | V::Timeout { .. } | V::Transport { .. } => {
            failure(FailureReason::VendorUnavailable, report())
        }
        V::Decode { .. } | V::Paging { .. } | V::BodyTooLarge { .. } => {
            failure(FailureReason::InventoryUnreadable, report())
        }
        _ => failure(FailureReason::VendorRejected, report()),
    }
}

/// Writes `status` to the set's status subresource by server-side apply and
/// returns the object as stored.
pub async fn apply_status(
    kube: &kube::Client,
    obj: &TollFreeNumberSet,
    status: &TollFreeNumberSetStatus,
) -> Result<TollFreeNumberSet, kube::Error> {
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    let api: Api<TollFreeNumberSet> = Api::namespaced(kube.clone(), namespace);
    let patch = serde_json::json!({
        "apiVersion": TollFreeNumberSet::api_version(&()),
        "kind": TollFreeNumberSet::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(CONTROLLER_NAME).force(),
        &Patch::Apply(&patch),
    )
    .await
}

/// Removes the finalizer of a released set (a JSON patch that first tests
/// the finalizers are as read, so a concurrent change is never overwritten).
pub async fn remove_finalizer(
    kube: &kube::Client,
    obj: &TollFreeNumberSet,
) -> Result<(), kube::Error> {
    let Some(finalizers) = obj.metadata.finalizers.as_ref() else {
        return Ok(());
    };
    let Some(index) = finalizers.iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    let api: Api<TollFreeNumberSet> = Api::namespaced(kube.clone(), namespace);
    let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": format!("/metadata/finalizers/{index}"), "value": FINALIZER},
        {"op": "remove", "path": format!("/metadata/finalizers/{index}")},
    ]))
    .map_err(kube::Error::SerdeError)?;
    match api
        .patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: released.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// What recording one set needs besides its plan.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The Kubernetes client.
    pub kube: &'a kube::Client,
    /// When the pass planned.
    pub now: Timestamp,
    /// The login the memory belongs to (`status.account`).
    pub account: &'a str,
    /// The trusted listing size to record (`status.inventoryCount`).
    pub inventory_count: Option<u64>,
}

/// The status `obj` should have after the pass: its plan, with the memory
/// the executor left (`memory`), and the failure that stopped it, if any.
pub fn status_of(
    ctx: &Context<'_>,
    obj: &TollFreeNumberSet,
    input: &SetInput,
    plan: &SetPlan,
    memory: &Memory,
    failure: Option<&Failure>,
) -> TollFreeNumberSetStatus {
    status::compute_status(
        obj.status.as_ref(),
        &Findings {
            input,
            plan,
            memory,
            failure,
            inventory_count: ctx.inventory_count,
            account: Some(ctx.account),
        },
        obj.metadata.generation,
        ctx.now,
    )
}

/// Writes `status` unless it equals what was last written but for
/// timestamps. Returns whether the status now stored is `status` (written
/// or unchanged); a failed write is kept in the journal as unsaved.
pub async fn write(
    kube: &kube::Client,
    journal: &mut Journal,
    obj: &TollFreeNumberSet,
    status: TollFreeNumberSetStatus,
) -> Result<bool, kube::Error> {
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let unchanged = !journal.has_unsaved(&uid)
        && journal
            .latest(&uid)
            .or(obj.status.as_ref())
            .is_some_and(|c| status::eq_time_insensitive(c, &status));
    if unchanged {
        return Ok(false);
    }
    match apply_status(kube, obj, &status).await {
        Ok(stored) => {
            journal.stored(stored);
            Ok(true)
        }
        Err(e) => {
            journal.unsaved(&uid, status);
            Err(e)
        }
    }
}

/// Writes the intents of a batch ahead of its vendor call: for each set the
/// call serves, the status its plan would record with the executor's
/// memory so far. Never skipped: the intent must be durable before the call.
pub struct WriteAhead<'a> {
    /// Where the statuses go.
    pub ctx: Context<'a>,
    /// What the worker wrote so far.
    pub journal: &'a mut Journal,
    /// The sets' objects as read.
    pub objects: &'a BTreeMap<SetId, Arc<TollFreeNumberSet>>,
    /// The sets' inputs.
    pub inputs: &'a BTreeMap<SetId, &'a SetInput>,
    /// The sets' plans.
    pub plans: &'a BTreeMap<SetId, &'a SetPlan>,
}

impl IntentLog for WriteAhead<'_> {
    async fn write_ahead(
        &mut self,
        sets: &[SetId],
        runs: &BTreeMap<SetId, SetRun>,
    ) -> Result<(), WriteAheadError> {
        let mut pending = Vec::new();
        for id in sets {
            let (Some(obj), Some(input), Some(plan), Some(run)) = (
                self.objects.get(id),
                self.inputs.get(id),
                self.plans.get(id),
                runs.get(id),
            ) else {
                return Err(WriteAheadError {
                    set: id.clone(),
                    source: "the set is not planned in this pass".into(),
                });
            };
            let obj = self.journal.overlay(obj);
            let status = status_of(&self.ctx, &obj, input, plan, &run.memory, None);
            pending.push((id.clone(), obj, status));
        }
        let kube = self.ctx.kube;
        let results: Vec<(
            SetId,
            Arc<TollFreeNumberSet>,
            Result<TollFreeNumberSet, kube::Error>,
        )> = futures::stream::iter(pending)
            .map(|(id, obj, status)| async move {
                let stored = apply_status(kube, &obj, &status).await;
                (id, obj, stored)
            })
            .buffer_unordered(WRITES_AT_ONCE)
            .collect()
            .await;
        let mut failed = None;
        for (id, _, stored) in results {
            match stored {
                Ok(stored) => self.journal.stored(stored),
                // The intent is not durable: no call. What was stored before
                // stays in the journal (a store that lags it must not hide it).
                Err(e) => failed = Some((id, e)),
            }
        }
        match failed {
            Some((set, e)) => Err(WriteAheadError {
                set,
                source: Box::new(e),
            }),
            None => Ok(()),
        }
    }
}

/// Everything to tell about one set once its status is decided.
#[derive(Debug)]
pub struct Report<'a> {
    /// The set as read (journal laid over).
    pub obj: &'a TollFreeNumberSet,
    /// Its status before this pass.
    pub prev: Option<&'a TollFreeNumberSetStatus>,
    /// Its new status.
    pub status: TollFreeNumberSetStatus,
    /// What the executor did and met for it.
    pub run: Option<&'a SetRun>,
    /// The reason its conditions carry.
    pub reason: ConditionReason,
}

/// Writes one set's status, then publishes its Events: those of the
/// mutations always, those of the status change only if it was stored.
/// Returns whether the status is stored (written now or unchanged).
pub async fn record(
    kube: &kube::Client,
    instance: &str,
    journal: &mut Journal,
    log: &EventLog,
    report: Report<'_>,
) -> bool {
    let mut now_events: Vec<EventSpec> = Vec::new();
    if let Some(run) = report.run {
        now_events.extend(run.done.iter().map(events::done_event));
        now_events.extend(run.refusals.iter().map(events::refusal_event));
        for d in &run.done {
            tracing::info!(set = %set_name(report.obj), event = %events::done_event(d).note, "vendor mutation accepted");
        }
    }
    let mut change_events = events::hold_events(report.prev, &report.status);
    change_events.extend(events::condition_events(
        report.prev,
        &report.status,
        report.reason,
    ));
    let stored = match write(kube, journal, report.obj, report.status).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(set = %set_name(report.obj), error = %crate::error::report(&e), "cannot write the status; kept and retried at the next pass");
            false
        }
    };
    if stored {
        now_events.extend(change_events);
    }
    events::publish(kube, instance, log, report.obj, &now_events).await;
    stored
}

/// `namespace/name` of an object, for logs.
pub fn set_name(obj: &TollFreeNumberSet) -> String {
    format!(
        "{}/{}",
        obj.metadata.namespace.as_deref().unwrap_or_default(),
        obj.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Reports the set's numbers and conditions to the metrics.
pub fn set_metrics(
    metrics: &Metrics,
    id: &SetId,
    account: &str,
    plan: &SetPlan,
    memory: &Memory,
    status: &TollFreeNumberSetStatus,
) {
    let mut states: BTreeMap<NumberState, usize> = BTreeMap::new();
    for line in &plan.numbers {
        *states.entry(line.state).or_default() += 1;
    }
    let pending: BTreeSet<_> = memory
        .intents
        .iter()
        .filter(|i| i.kind != IntentKind::Reserve)
        .filter_map(|i| i.order_id)
        .collect();
    metrics.record_set(
        id,
        &SetNumbers {
            account: account.to_owned(),
            states,
            pending_orders: pending.len(),
            missing: memory.missing.len(),
        },
    );
    metrics.record_conditions(id, &status.conditions);
}

/// Counts the numbers of the orders the vendor accepted for a set of
/// `namespace` (`tollfree_purchases_total`, `_moves_total`,
/// `_disconnects_total`).
pub fn count_orders(metrics: &Metrics, namespace: &str, done: &[Done]) {
    for d in done {
        match d {
            Done::Purchased { numbers, .. } => metrics.purchased(namespace, numbers.len()),
            Done::Moved { numbers, .. } => metrics.moved(namespace, numbers.len()),
            Done::Disconnected { numbers, .. } => metrics.disconnected(namespace, numbers.len()),
            Done::Reserved { .. } => {}
        }
    }
}

/// The failure status of a set that cannot be planned (invalid spec), keeping
/// everything its status records.
pub fn failure_status(
    obj: &TollFreeNumberSet,
    failure: &Failure,
    now: Timestamp,
) -> TollFreeNumberSetStatus {
    status::status_for_failure(obj.status.as_ref(), failure, obj.metadata.generation, now)
}

/// The failure of a set whose spec cannot be planned.
pub fn invalid_spec(e: &crate::spec::SpecError) -> Failure {
    Failure {
        reason: FailureReason::InvalidSpec,
        message: e.to_string(),
    }
}
