//! Record: the set's status, Events and metrics after a reconcile.
//!
//! Compute, then send (linkerd's `k8s/status`): [`compute_status`],
//! [`classify`] and the `*_events` functions are pure; [`apply_status`] and
//! [`publish`] are the thin senders. The status is written by server-side
//! apply to the status subresource with field manager `tollfree-operator`,
//! and skipped when nothing but timestamps changed
//! ([`convert::eq_time_insensitive`]).
//!
//! Events:
//! - **Normal** for every vendor mutation: `Reserved`, `Purchased`, `Moved`,
//!   `Disconnected` (numbers, order IDs, reservation IDs);
//! - **Warning** for every refusal the executor handled (`NumberUnavailable`,
//!   `PoolExhausted`, `OrderConflict`, `AlreadyDisconnecting`, `NotAssigned`,
//!   `ReservationLost`, `PurchaseUnconfirmed`);
//! - for every new hold, once (when the held action or its reason changed
//!   since the previous status): `Denied`, `AwaitingApproval`,
//!   `UnsafeInventory` (Warning); `Suspended`, `OverBudget`, `GracePeriod`
//!   (Normal); a disconnect held by `disconnect: Deny` is not a refusal but
//!   the documented outcome — numbers leaving the spec are retained and
//!   released (DESIGN.md §1) — so it is a Normal `Retained` naming them;
//! - when the set becomes Stalled for a new reason that no hold explains
//!   (`Conflict`, `OrderUnconfirmed`, `CredentialsInvalid`, `TrialLimit`,
//!   `InvalidSpec`, `VendorRejected`, ...) a Warning; when a failure keeps it
//!   Reconciling (`VendorUnavailable`) a Warning; when it becomes Ready, a
//!   Normal `Ready`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use tollfree_plan::{IntentKind, Inventory, Memory, NumberState, SetInput, SetPlan};

use crate::context::{CONTROLLER_NAME, Context};
use crate::convert::{self, READY, RECONCILING, STALLED};
use crate::crd::{ActionKind, HoldKind, PlannedAction, TollFreeNumberSet, TollFreeNumberSetStatus};
use crate::error::Error;
use crate::metrics::SetNumbers;
use crate::reconcile::execute::{Done, Refusal, numbers_text};

/// Condition reason: the account Secret is missing or unusable, or the vendor refused it.
pub const CREDENTIALS_INVALID: &str = "CredentialsInvalid";
/// Condition reason: the vendor's trial limit blocks purchases (402).
pub const TRIAL_LIMIT: &str = "TrialLimit";
/// Condition reason: the spec (or the memory in status) cannot be planned.
pub const INVALID_SPEC: &str = "InvalidSpec";
/// Condition reason: the vendor refused a request for a reason a person must look at.
pub const VENDOR_REJECTED: &str = "VendorRejected";
/// Condition reason: the vendor could not be reached or answered 5xx/429; retried with backoff.
pub const VENDOR_UNAVAILABLE: &str = "VendorUnavailable";
/// Condition reason: the inventory listing could not be read consistently; retried with backoff.
pub const INVENTORY_UNREADABLE: &str = "InventoryUnreadable";

/// A failure outside the plan, as the set's conditions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The condition reason.
    pub reason: &'static str,
    /// One line for a person.
    pub message: String,
    /// A person must act (`Stalled`), rather than the operator retrying (`Reconciling`).
    pub stalled: bool,
}

/// What a failed reconcile tells the user, if anything: bad credentials and
/// the trial limit stall the set, an unreachable vendor keeps it Reconciling.
/// Kubernetes API failures and races the operator resolves on its own
/// return `None` (the status is left as it is).
pub fn classify(e: &Error) -> Option<Failure> {
    let stalled = |reason, message: String| {
        Some(Failure {
            reason,
            message,
            stalled: true,
        })
    };
    match e {
        Error::SecretNotFound { namespace, name } => stalled(
            CREDENTIALS_INVALID,
            format!(
                "secret {namespace}/{name} not found: create it in namespace {namespace} with keys 'username' and 'password' (or 'token')"
            ),
        ),
        Error::SecretMissingKey { .. } | Error::SecretInvalid { .. } => {
            stalled(CREDENTIALS_INVALID, e.to_string())
        }
        _ => {
            let source = e.vendor_source()?;
            use intelepeer::Error as V;
            match source {
                V::Unauthorized | V::SessionExpired => stalled(CREDENTIALS_INVALID, e.report()),
                V::TrialLimitRealized { .. }
                | V::TrialLimitExceeded { .. }
                | V::PaymentRequired { .. } => stalled(TRIAL_LIMIT, source.to_string()),
                V::NotAvailable
                | V::ConflictingOrder
                | V::AlreadyPendingDisconnect
                | V::NotAssigned => None,
                V::RateLimited { .. }
                | V::Server { .. }
                | V::Timeout { .. }
                | V::Transport { .. } => Some(Failure {
                    reason: VENDOR_UNAVAILABLE,
                    message: e.report(),
                    stalled: false,
                }),
                V::Decode { .. } | V::Paging { .. } => Some(Failure {
                    reason: INVENTORY_UNREADABLE,
                    message: e.report(),
                    stalled: false,
                }),
                _ => stalled(VENDOR_REJECTED, e.report()),
            }
        }
    }
}

/// The status to record: the planner's verdict with the executor's `memory`
/// (intents written and answered), the failure's conditions if one stopped
/// the reconcile, and the size of a trusted listing.
#[allow(clippy::too_many_arguments)]
pub fn compute_status(
    prev: Option<&TollFreeNumberSetStatus>,
    input: &SetInput,
    plan: &SetPlan,
    memory: &Memory,
    generation: Option<i64>,
    now: Timestamp,
    failure: Option<&Failure>,
    inventory_count: Option<u64>,
) -> TollFreeNumberSetStatus {
    let plan = SetPlan {
        memory: memory.clone(),
        ..plan.clone()
    };
    let mut status = convert::status_from_plan(prev, input, &plan, generation, now);
    if let Some(f) = failure {
        let prev_conditions = prev.map_or(&[][..], |p| &p.conditions[..]);
        status.conditions = convert::compute_conditions(
            prev_conditions,
            &convert::failure_conditions(f.reason, &f.message, f.stalled),
            generation,
            now,
        );
    }
    if inventory_count.is_some() {
        status.inventory_count = inventory_count;
    }
    status
}

/// Writes `status` to the set's status subresource by server-side apply
/// (field manager `tollfree-operator`, forced) and returns the object as stored.
pub async fn apply_status(
    client: &kube::Client,
    obj: &TollFreeNumberSet,
    status: &TollFreeNumberSetStatus,
) -> Result<TollFreeNumberSet, Error> {
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    let api: Api<TollFreeNumberSet> = Api::namespaced(client.clone(), namespace);
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
    .map_err(|e| Error::kube(format!("writing the status of set {namespace}/{name}"), e))
}

/// An Event to publish about the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    /// Normal or Warning.
    pub warning: bool,
    /// PascalCase reason.
    pub reason: String,
    /// What the operator did or would do, PascalCase.
    pub action: &'static str,
    /// One line for a person.
    pub note: String,
}

impl EventSpec {
    fn normal(reason: impl Into<String>, action: &'static str, note: String) -> Self {
        Self {
            warning: false,
            reason: reason.into(),
            action,
            note,
        }
    }

    fn warning(reason: impl Into<String>, action: &'static str, note: String) -> Self {
        Self {
            warning: true,
            reason: reason.into(),
            action,
            note,
        }
    }
}

/// The Normal Event of an accepted vendor mutation.
pub fn done_event(done: &Done) -> EventSpec {
    match done {
        Done::Reserved {
            package,
            numbers,
            reservation_id,
            until,
            acquired,
        } => {
            let found = if *acquired { " (found by search)" } else { "" };
            let until = until.map_or(String::new(), |t| format!(" until {t}"));
            EventSpec::normal(
                "Reserved",
                "Reserve",
                format!(
                    "reserved {}{found} for package {package}: reservation {reservation_id}{until}",
                    numbers_text(numbers)
                ),
            )
        }
        Done::Purchased {
            package,
            numbers,
            order_id,
            reservation_id,
        } => EventSpec::normal(
            "Purchased",
            "Purchase",
            format!(
                "ordered {} into package {package}: order {order_id} (reservation {reservation_id})",
                numbers_text(numbers)
            ),
        ),
        Done::Moved {
            package,
            numbers,
            order_id,
        } => EventSpec::normal(
            "Moved",
            "Move",
            format!(
                "ordered {} moved to package {package}: order {order_id}",
                numbers_text(numbers)
            ),
        ),
        Done::Disconnected { numbers, order_id } => EventSpec::normal(
            "Disconnected",
            "Disconnect",
            format!(
                "ordered {} disconnected: order {order_id}",
                numbers_text(numbers)
            ),
        ),
    }
}

/// The Warning Event of a refusal the executor handled.
pub fn refusal_event(refusal: &Refusal) -> EventSpec {
    EventSpec::warning(refusal.reason, "Execute", refusal.message.clone())
}

fn held(status: Option<&TollFreeNumberSetStatus>) -> Vec<&PlannedAction> {
    status
        .and_then(|s| s.plan.as_ref())
        .map(|p| p.actions.iter().filter(|a| a.hold.is_some()).collect())
        .unwrap_or_default()
}

/// One Event per held action that was not held (the same way, with the same
/// message) in the previous status: a hold is announced once, not at every
/// requeue.
pub fn hold_events(
    prev: Option<&TollFreeNumberSetStatus>,
    new: &TollFreeNumberSetStatus,
) -> Vec<EventSpec> {
    let before = held(prev);
    held(Some(new))
        .into_iter()
        .filter(|a| !before.contains(a))
        .filter_map(|a| {
            let hold = a.hold?;
            let (reason, warning) = match hold {
                HoldKind::Denied if a.action == ActionKind::Disconnect => ("Retained", false),
                HoldKind::Denied => ("Denied", true),
                HoldKind::AwaitingApproval => ("AwaitingApproval", true),
                HoldKind::UnsafeInventory => ("UnsafeInventory", true),
                HoldKind::Suspended => ("Suspended", false),
                HoldKind::OverBudget => ("OverBudget", false),
                HoldKind::GracePeriod => ("GracePeriod", false),
            };
            Some(EventSpec {
                warning,
                reason: reason.to_owned(),
                action: "Plan",
                note: a.message.clone(),
            })
        })
        .collect()
}

/// Stalled reasons a hold Event already explains.
const HOLD_REASONS: [&str; 4] = [
    "PolicyDenied",
    "ApprovalPending",
    "InventoryUnsafe",
    "NumberUnavailable",
];

fn condition<'a>(
    status: Option<&'a TollFreeNumberSetStatus>,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    status.and_then(|s| s.condition(type_))
}

/// Events for changed conditions: a Warning when the set becomes Stalled,
/// or Reconciling because of a failure, for a reason no other Event explains;
/// a Normal `Ready` when it becomes Ready.
pub fn condition_events(
    prev: Option<&TollFreeNumberSetStatus>,
    new: &TollFreeNumberSetStatus,
) -> Vec<EventSpec> {
    let mut out = Vec::new();
    let same = |type_: &str| {
        let (a, b) = (condition(prev, type_), condition(Some(new), type_));
        matches!((a, b), (Some(a), Some(b)) if a.status == b.status && a.reason == b.reason && a.message == b.message)
    };
    let failure_reasons = [VENDOR_UNAVAILABLE, INVENTORY_UNREADABLE];
    if let Some(c) = condition(Some(new), STALLED)
        && c.status == "True"
        && !HOLD_REASONS.contains(&c.reason.as_str())
        && !same(STALLED)
    {
        out.push(EventSpec::warning(
            c.reason.clone(),
            "Reconcile",
            c.message.clone(),
        ));
    }
    if let Some(c) = condition(Some(new), RECONCILING)
        && c.status == "True"
        && failure_reasons.contains(&c.reason.as_str())
        && !same(RECONCILING)
    {
        out.push(EventSpec::warning(
            c.reason.clone(),
            "Reconcile",
            c.message.clone(),
        ));
    }
    if let Some(c) = condition(Some(new), READY)
        && c.status == "True"
        && condition(prev, READY).is_none_or(|p| p.status != "True")
    {
        out.push(EventSpec::normal("Ready", "Reconcile", c.message.clone()));
    }
    out
}

/// How long an identical Event (same set, reason and note) is not repeated.
pub const REPEAT_QUIET: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// Publishes Events (events.k8s.io/v1) as `tollfree-operator`.
///
/// kube-runtime's `Recorder` folds every Event with the same reason into one
/// series showing the *first* note — two purchases in a row would show one
/// order ID. Each Event here is its own object instead, and an identical one
/// (same set, reason and note) is not repeated within [`REPEAT_QUIET`].
#[derive(Debug, Default)]
pub struct EventLog {
    recent: std::sync::Mutex<BTreeMap<(String, String, String), Timestamp>>,
}

impl EventLog {
    /// Whether an Event `(uid, reason, note)` should go out at `now` (and
    /// remembers it if so).
    pub fn should_publish(&self, uid: &str, reason: &str, note: &str, now: Timestamp) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|_, at| now.duration_since(*at) < REPEAT_QUIET);
        let key = (uid.to_owned(), reason.to_owned(), note.to_owned());
        if recent.contains_key(&key) {
            return false;
        }
        recent.insert(key, now);
        true
    }
}

/// The note of an Event: at most 1 kB.
fn short_note(note: &str) -> String {
    let mut note = note.to_owned();
    if note.len() > 1000 {
        let mut cut = 1000;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
    }
    note
}

/// Publishes `events` about `obj`. A failure to publish is logged, never
/// fatal: Events are for people, the status is the record.
pub async fn publish(ctx: &Context, log: &EventLog, obj: &TollFreeNumberSet, events: &[EventSpec]) {
    use k8s_openapi::api::events::v1::Event;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

    if events.is_empty() {
        return;
    }
    let reference = obj.object_ref(&());
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let namespace = obj.metadata.namespace.clone().unwrap_or_default();
    let name = obj.metadata.name.clone().unwrap_or_default();
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), &namespace);
    for e in events {
        let now = Timestamp::now();
        if !log.should_publish(&uid, &e.reason, &e.note, now) {
            continue;
        }
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{name}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(if e.warning { "Warning" } else { "Normal" }.to_owned()),
            reason: Some(e.reason.clone()),
            action: Some(e.action.to_owned()),
            note: Some(short_note(&e.note)),
            regarding: Some(reference.clone()),
            reporting_controller: Some(CONTROLLER_NAME.to_owned()),
            reporting_instance: Some(ctx.settings.instance.clone()),
            ..Event::default()
        };
        if let Err(err) = api.create(&kube::api::PostParams::default(), &event).await {
            tracing::warn!(reason = %e.reason, error = %err, "cannot publish an Event");
        }
    }
}

/// Reports the set's number states, orders in flight and owned numbers
/// missing from `inventory` to the metrics, as its share of `account`'s gauges.
pub fn record_metrics(
    ctx: &Context,
    account: &str,
    plan: &SetPlan,
    memory: &Memory,
    inventory: &Inventory,
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
    ctx.metrics.record_set(
        &plan.id,
        &SetNumbers {
            account: account.to_owned(),
            states,
            pending_orders: pending.len(),
            missing: missing_numbers(memory, inventory),
        },
    );
}

/// How many numbers the set owns that `inventory` does not show, leaving out
/// those a disconnect of the set explains.
pub fn missing_numbers(memory: &Memory, inventory: &Inventory) -> usize {
    let leaving: BTreeSet<_> = memory
        .intents
        .iter()
        .filter(|i| i.kind == IntentKind::Disconnect)
        .flat_map(|i| &i.numbers)
        .collect();
    memory
        .owned
        .keys()
        .filter(|n| !inventory.numbers.contains_key(*n) && !leaving.contains(n))
        .count()
}

/// Counts the numbers of accepted orders.
pub fn count_orders(ctx: &Context, namespace: &str, done: &[Done]) {
    for d in done {
        match d {
            Done::Purchased { numbers, .. } => ctx.metrics.purchased(namespace, numbers.len()),
            Done::Moved { numbers, .. } => ctx.metrics.moved(namespace, numbers.len()),
            Done::Disconnected { numbers, .. } => {
                ctx.metrics.disconnected(namespace, numbers.len());
            }
            Done::Reserved { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::PlanStatus;
    use intelepeer::{E164, OrderId, PackageId};

    fn n(s: &str) -> E164 {
        E164::parse(s).expect("number")
    }

    fn held_action(hold: HoldKind, message: &str) -> PlannedAction {
        PlannedAction {
            action: ActionKind::Disconnect,
            package_id: None,
            numbers: vec!["+18005550100".into()],
            reservation_id: None,
            count: None,
            hold: Some(hold),
            message: message.into(),
        }
    }

    fn with_plan(actions: Vec<PlannedAction>) -> TollFreeNumberSetStatus {
        TollFreeNumberSetStatus {
            plan: Some(PlanStatus {
                hash: String::new(),
                actions,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_hold_is_announced_once() {
        let denied = PlannedAction {
            action: ActionKind::Move,
            package_id: Some(7),
            ..held_action(
                HoldKind::Denied,
                "move 1 number to package 7 — denied by policy",
            )
        };
        let first = with_plan(vec![denied.clone()]);
        let events = hold_events(None, &first);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "Denied");
        assert!(events[0].warning);
        assert!(
            hold_events(Some(&first), &first).is_empty(),
            "no spam at requeue"
        );
        let approval = held_action(
            HoldKind::AwaitingApproval,
            "… annotate with tollfree.dev/approve=abc",
        );
        let second = with_plan(vec![denied, approval]);
        let events = hold_events(Some(&first), &second);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "AwaitingApproval");
        assert!(events[0].note.contains("tollfree.dev/approve=abc"));
    }

    #[test]
    fn a_new_approval_hash_is_announced_again() {
        let a = with_plan(vec![held_action(HoldKind::AwaitingApproval, "approve=aaa")]);
        let b = with_plan(vec![held_action(HoldKind::AwaitingApproval, "approve=bbb")]);
        assert_eq!(hold_events(Some(&a), &b).len(), 1);
    }

    #[test]
    fn a_disconnect_denied_by_policy_is_a_normal_retained_event_naming_the_numbers() {
        let plan = tollfree_plan::Action::Disconnect {
            numbers: vec![n("+18003255821")],
        };
        let retained = convert::planned_action(&plan, Some(&tollfree_plan::Hold::Denied), "");
        let status = with_plan(vec![retained]);
        let events = hold_events(None, &status);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.reason.as_str(), e.warning), ("Retained", false));
        assert!(e.note.contains("+18003255821"), "{}", e.note);
        assert!(e.note.contains("retained"), "{}", e.note);
        assert!(
            e.note.contains("no longer managed by this set"),
            "{}",
            e.note
        );
        assert!(hold_events(Some(&status), &status).is_empty(), "once");
    }

    #[test]
    fn suspend_and_budget_holds_are_normal_events() {
        let s = with_plan(vec![
            held_action(HoldKind::Suspended, "s"),
            held_action(HoldKind::OverBudget, "o"),
        ]);
        assert!(hold_events(None, &s).iter().all(|e| !e.warning));
    }

    #[test]
    fn an_identical_event_is_not_repeated_for_a_while() {
        let log = EventLog::default();
        let t0 = Timestamp::UNIX_EPOCH;
        let later = |mins| t0 + jiff::SignedDuration::from_mins(mins);
        assert!(log.should_publish("u", "PoolExhausted", "none in 888", t0));
        assert!(!log.should_publish("u", "PoolExhausted", "none in 888", later(5)));
        assert!(
            log.should_publish("u", "PoolExhausted", "none in 877", later(5)),
            "another note"
        );
        assert!(
            log.should_publish("v", "PoolExhausted", "none in 888", later(5)),
            "another set"
        );
        assert!(log.should_publish("u", "PoolExhausted", "none in 888", later(11)));
        assert_eq!(short_note(&"x".repeat(2000)).len(), 1000);
    }

    #[test]
    fn mutation_events_name_numbers_and_orders() {
        let e = done_event(&Done::Purchased {
            package: PackageId::new(24188).expect("pkg"),
            numbers: vec![n("+18885550100"), n("+18885550101")],
            order_id: OrderId(4711),
            reservation_id: intelepeer::ReservationId::parse("ABC-1").expect("rid"),
        });
        assert_eq!(e.reason, "Purchased");
        assert!(!e.warning);
        assert_eq!(
            e.note,
            "ordered +18885550100, +18885550101 into package 24188: order 4711 (reservation ABC-1)"
        );
        let e = done_event(&Done::Disconnected {
            numbers: vec![n("+18005550100")],
            order_id: OrderId(9),
        });
        assert_eq!(e.note, "ordered +18005550100 disconnected: order 9");
    }

    fn failed(reason: &str, message: &str, stalled: bool) -> TollFreeNumberSetStatus {
        convert::status_for_failure(
            None,
            reason,
            message,
            stalled,
            Some(1),
            Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_stall_is_announced_when_its_reason_changes() {
        let a = failed(CREDENTIALS_INVALID, "secret t/x not found", true);
        let events = condition_events(None, &a);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, CREDENTIALS_INVALID);
        assert!(events[0].warning);
        assert!(condition_events(Some(&a), &a).is_empty());
        let b = failed(TRIAL_LIMIT, "order blocked (402)", true);
        assert_eq!(condition_events(Some(&a), &b)[0].reason, TRIAL_LIMIT);
        let c = failed(VENDOR_UNAVAILABLE, "timeout", false);
        assert_eq!(condition_events(Some(&b), &c)[0].reason, VENDOR_UNAVAILABLE);
    }

    #[test]
    fn becoming_ready_is_announced_once() {
        let mut ready = TollFreeNumberSetStatus {
            conditions: convert::compute_conditions(
                &[],
                &convert::plan_conditions(tollfree_plan::Reason::Converged, ""),
                Some(1),
                Timestamp::UNIX_EPOCH,
            ),
            ..Default::default()
        };
        let events = condition_events(None, &ready);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "Ready");
        assert!(condition_events(Some(&ready.clone()), &ready).is_empty());
        ready.conditions.clear();
        assert!(condition_events(None, &ready).is_empty());
    }

    #[test]
    fn failures_are_classified_for_people() {
        let missing = Error::SecretNotFound {
            namespace: "telecom".into(),
            name: "acct".into(),
        };
        let f = classify(&missing).expect("reported");
        assert_eq!((f.reason, f.stalled), (CREDENTIALS_INVALID, true));
        assert!(
            f.message.contains("create it in namespace telecom"),
            "{}",
            f.message
        );

        let vendor = |source| Error::Vendor {
            account: "telecom/acct".into(),
            source,
        };
        let f = classify(&vendor(intelepeer::Error::Unauthorized)).expect("reported");
        assert_eq!((f.reason, f.stalled), (CREDENTIALS_INVALID, true));
        let f = classify(&vendor(intelepeer::Error::TrialLimitRealized { limit: 5 }))
            .expect("reported");
        assert_eq!((f.reason, f.stalled), (TRIAL_LIMIT, true));
        assert!(f.message.contains("limit of 5 seats"), "{}", f.message);
        let f = classify(&vendor(intelepeer::Error::Timeout {
            after: std::time::Duration::from_secs(30),
        }))
        .expect("reported");
        assert_eq!((f.reason, f.stalled), (VENDOR_UNAVAILABLE, false));
        let f = classify(&vendor(intelepeer::Error::Invalid {
            message: "The 'serviceArea' parameter must match".into(),
        }))
        .expect("reported");
        assert_eq!((f.reason, f.stalled), (VENDOR_REJECTED, true));
        assert!(classify(&vendor(intelepeer::Error::NotAvailable)).is_none());

        let listing = Error::Inventory {
            account: "telecom/acct".into(),
            source: std::sync::Arc::new(vendor(intelepeer::Error::Unauthorized)),
        };
        assert_eq!(
            classify(&listing).expect("reported").reason,
            CREDENTIALS_INVALID
        );
    }

    #[test]
    fn owned_numbers_missing_from_the_listing_are_counted_unless_being_disconnected() {
        use tollfree_plan::{Owned, Ownership};
        let pkg = PackageId::new(24188).expect("pkg");
        let owned = |ns: &[&str]| {
            ns.iter()
                .map(|x| {
                    (
                        n(x),
                        Ownership {
                            package: pkg,
                            acquired: false,
                        },
                    )
                })
                .collect()
        };
        let memory = Memory {
            owned: owned(&["+18005550100", "+18005550101", "+18005550102"]),
            intents: vec![crate::reconcile::execute::new_intent(
                IntentKind::Disconnect,
                vec![n("+18005550102")],
                None,
                Timestamp::UNIX_EPOCH,
            )],
            ..Memory::default()
        };
        let inventory = Inventory {
            numbers: [(
                n("+18005550100"),
                Owned {
                    package: pkg,
                    order_id: None,
                },
            )]
            .into(),
            ..Inventory::default()
        };
        assert_eq!(missing_numbers(&memory, &inventory), 1);
        assert_eq!(missing_numbers(&Memory::default(), &inventory), 0);
    }
}
