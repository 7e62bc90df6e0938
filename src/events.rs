//! Kubernetes Events about sets: what happened, for people.
//!
//! Computed purely, then published ("compute, then send"):
//!
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
//!   released — so it is a Normal `Retained` naming them (a reservation
//!   waiting a moment for a fresh listing is not announced);
//! - when the set becomes Stalled for a new reason that no hold explains
//!   (`Conflict`, `OrderUnconfirmed`, `NumbersMissing`, `CredentialsInvalid`,
//!   `TrialLimit`, `InvalidSpec`, `VendorRejected`, ...) a Warning; when a
//!   failure keeps it Reconciling (`VendorUnavailable`) a Warning; when it
//!   becomes Ready, a Normal `Ready`.
//!
//! Events about a status change are published only after that status was
//! stored (the caller's rule); an identical Event is not repeated within
//! [`REPEAT_QUIET`]. Every note comes from [`crate::status::text`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Resource};

use crate::account::execute::{Done, Refusal, RefusalKind};
use crate::context::CONTROLLER_NAME;
use crate::crd::{ActionKind, HoldKind, PlannedAction, TollFreeNumberSet, TollFreeNumberSetStatus};
use crate::status::conditions::{ConditionReason, ConditionType};
use crate::status::text;

/// The reason of an Event about a set (PascalCase, as `kubectl get events`
/// shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventReason {
    /// Numbers reserved.
    Reserved,
    /// A reservation purchased.
    Purchased,
    /// Numbers moved to another package.
    Moved,
    /// Numbers disconnected.
    Disconnected,
    /// A deleted set let go without a vendor call.
    Released,
    /// The set became Ready.
    Ready,
    /// Numbers leaving the spec under `disconnect: Deny` were kept and released.
    Retained,
    /// A held action: the policy is Deny.
    Denied,
    /// A held action: waiting for approval.
    AwaitingApproval,
    /// A held action: the inventory is not trusted for disconnects.
    UnsafeInventory,
    /// A held action: `spec.suspend`.
    Suspended,
    /// A held action: over the per-sync budget.
    OverBudget,
    /// A held action: inside the grace period.
    GracePeriod,
    /// A refusal the executor handled.
    Refused(RefusalKind),
    /// A condition reason a person should hear about (a stall, a failure).
    Condition(ConditionReason),
}

impl EventReason {
    /// The Event's `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventReason::Reserved => "Reserved",
            EventReason::Purchased => "Purchased",
            EventReason::Moved => "Moved",
            EventReason::Disconnected => "Disconnected",
            EventReason::Released => "Released",
            EventReason::Ready => "Ready",
            EventReason::Retained => "Retained",
            EventReason::Denied => "Denied",
            EventReason::AwaitingApproval => "AwaitingApproval",
            EventReason::UnsafeInventory => "UnsafeInventory",
            EventReason::Suspended => "Suspended",
            EventReason::OverBudget => "OverBudget",
            EventReason::GracePeriod => "GracePeriod",
            EventReason::Refused(kind) => kind.as_str(),
            EventReason::Condition(reason) => reason.as_str(),
        }
    }
}

/// What the operator did or would do, as an Event's `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    /// Reserve numbers.
    Reserve,
    /// Purchase a reservation.
    Purchase,
    /// Move numbers.
    Move,
    /// Disconnect numbers.
    Disconnect,
    /// Execute the plan (a handled refusal).
    Execute,
    /// Plan (a held action).
    Plan,
    /// Reconcile (a condition changed).
    Reconcile,
    /// Clean up a deleted set.
    Cleanup,
}

impl EventAction {
    /// The Event's `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Reserve => "Reserve",
            EventAction::Purchase => "Purchase",
            EventAction::Move => "Move",
            EventAction::Disconnect => "Disconnect",
            EventAction::Execute => "Execute",
            EventAction::Plan => "Plan",
            EventAction::Reconcile => "Reconcile",
            EventAction::Cleanup => "Cleanup",
        }
    }
}

/// An Event to publish about the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    /// Normal or Warning.
    pub warning: bool,
    /// Why.
    pub reason: EventReason,
    /// What the operator did or would do.
    pub action: EventAction,
    /// One line for a person.
    pub note: String,
}

impl EventSpec {
    /// A Normal Event.
    pub fn normal(reason: EventReason, action: EventAction, note: String) -> Self {
        Self {
            warning: false,
            reason,
            action,
            note,
        }
    }

    /// A Warning Event.
    pub fn warning(reason: EventReason, action: EventAction, note: String) -> Self {
        Self {
            warning: true,
            reason,
            action,
            note,
        }
    }
}

/// The Normal Event of an accepted vendor mutation.
pub fn done_event(done: &Done) -> EventSpec {
    let (reason, action, note) = match done {
        Done::Reserved {
            package,
            numbers,
            reservation_id,
            until,
            acquired,
        } => (
            EventReason::Reserved,
            EventAction::Reserve,
            text::reserved(*package, numbers, reservation_id, *until, *acquired),
        ),
        Done::Purchased {
            package,
            numbers,
            order_id,
            reservation_id,
        } => (
            EventReason::Purchased,
            EventAction::Purchase,
            text::purchased(*package, numbers, *order_id, reservation_id),
        ),
        Done::Moved {
            package,
            numbers,
            order_id,
        } => (
            EventReason::Moved,
            EventAction::Move,
            text::moved(*package, numbers, *order_id),
        ),
        Done::Disconnected { numbers, order_id } => (
            EventReason::Disconnected,
            EventAction::Disconnect,
            text::disconnected(numbers, *order_id),
        ),
    };
    EventSpec::normal(reason, action, note)
}

/// The Warning Event of a refusal the executor handled.
pub fn refusal_event(refusal: &Refusal) -> EventSpec {
    EventSpec::warning(
        EventReason::Refused(refusal.kind),
        EventAction::Execute,
        refusal.message.clone(),
    )
}

/// The Normal Event of a deleted set let go at once (`why`: its note).
pub fn released_event(why: &str) -> EventSpec {
    EventSpec::normal(EventReason::Released, EventAction::Cleanup, why.to_owned())
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
                HoldKind::Denied if a.action == ActionKind::Disconnect => {
                    (EventReason::Retained, false)
                }
                HoldKind::Denied => (EventReason::Denied, true),
                HoldKind::AwaitingApproval => (EventReason::AwaitingApproval, true),
                HoldKind::UnsafeInventory => (EventReason::UnsafeInventory, true),
                HoldKind::Suspended => (EventReason::Suspended, false),
                HoldKind::OverBudget => (EventReason::OverBudget, false),
                HoldKind::GracePeriod => (EventReason::GracePeriod, false),
                // Waits a moment for a listing: nothing a person should hear of.
                HoldKind::Unverified => return None,
            };
            Some(EventSpec {
                warning,
                reason,
                action: EventAction::Plan,
                note: a.message.clone(),
            })
        })
        .collect()
}

fn condition(status: Option<&TollFreeNumberSetStatus>, type_: ConditionType) -> Option<&Condition> {
    status.and_then(|s| s.condition(type_.as_str()))
}

/// Events for changed conditions of `new`, whose conditions carry `reason`:
/// a Warning when the set becomes Stalled for a reason no other Event
/// explains, or Reconciling because of a failure the operator retries; a
/// Normal `Ready` when it becomes Ready. A condition unchanged since `prev`
/// (status, reason and message) is not announced again.
pub fn condition_events(
    prev: Option<&TollFreeNumberSetStatus>,
    new: &TollFreeNumberSetStatus,
    reason: ConditionReason,
) -> Vec<EventSpec> {
    let mut out = Vec::new();
    let same = |type_| {
        let (a, b) = (condition(prev, type_), condition(Some(new), type_));
        matches!((a, b), (Some(a), Some(b)) if a.status == b.status && a.reason == b.reason && a.message == b.message)
    };
    let is_true = |type_| condition(Some(new), type_).filter(|c| c.status == "True");
    let warn = |c: &Condition| {
        EventSpec::warning(
            EventReason::Condition(reason),
            EventAction::Reconcile,
            c.message.clone(),
        )
    };
    if let Some(c) = is_true(ConditionType::Stalled)
        && !reason.is_explained_by_other_events()
        && !same(ConditionType::Stalled)
    {
        out.push(warn(c));
    }
    if let Some(c) = is_true(ConditionType::Reconciling)
        && reason.is_retried_failure()
        && !same(ConditionType::Reconciling)
    {
        out.push(warn(c));
    }
    if let Some(c) = is_true(ConditionType::Ready)
        && condition(prev, ConditionType::Ready).is_none_or(|p| p.status != "True")
    {
        out.push(EventSpec::normal(
            EventReason::Ready,
            EventAction::Reconcile,
            c.message.clone(),
        ));
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
pub async fn publish(
    kube: &kube::Client,
    instance: &str,
    log: &EventLog,
    obj: &TollFreeNumberSet,
    events: &[EventSpec],
) {
    use k8s_openapi::api::events::v1::Event;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

    if events.is_empty() {
        return;
    }
    let reference = obj.object_ref(&());
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let namespace = obj.metadata.namespace.clone().unwrap_or_default();
    let name = obj.metadata.name.clone().unwrap_or_default();
    let api: Api<Event> = Api::namespaced(kube.clone(), &namespace);
    for e in events {
        let now = Timestamp::now();
        if !log.should_publish(&uid, e.reason.as_str(), &e.note, now) {
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
            reason: Some(e.reason.as_str().to_owned()),
            action: Some(e.action.as_str().to_owned()),
            note: Some(short_note(&e.note)),
            regarding: Some(reference.clone()),
            reporting_controller: Some(CONTROLLER_NAME.to_owned()),
            reporting_instance: Some(instance.to_owned()),
            ..Event::default()
        };
        if let Err(err) = api.create(&kube::api::PostParams::default(), &event).await {
            tracing::warn!(reason = e.reason.as_str(), error = %err, "cannot publish an Event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::PlanStatus;
    use crate::fixtures::{n, pkg, rid};
    use crate::status::conditions::{
        ConditionReason, Failure, FailureReason, Wanted, compute_conditions,
    };
    use crate::status::{planned_action, status_for_failure};
    use intelepeer::OrderId;

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
        assert_eq!(events[0].reason, EventReason::Denied);
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
        assert_eq!(events[0].reason, EventReason::AwaitingApproval);
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
        let retained = planned_action(&plan, Some(&tollfree_plan::Hold::Denied), "");
        let status = with_plan(vec![retained]);
        let events = hold_events(None, &status);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.reason, e.warning), (EventReason::Retained, false));
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
            package: pkg(24188),
            numbers: vec![n("+18885550100"), n("+18885550101")],
            order_id: OrderId(4711),
            reservation_id: rid("ABC-1"),
        });
        assert_eq!(e.reason, EventReason::Purchased);
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

    /// The status of a failure, and the reason its conditions carry.
    fn failed(reason: FailureReason, message: &str) -> (TollFreeNumberSetStatus, ConditionReason) {
        let failure = Failure {
            reason,
            message: message.into(),
        };
        let status = status_for_failure(None, &failure, Some(1), Timestamp::UNIX_EPOCH);
        (status, reason.into())
    }

    #[test]
    fn a_stall_is_announced_when_its_reason_changes() {
        use crate::status::conditions::FailureReason::*;
        let condition = |reason| EventReason::Condition(ConditionReason::Failure(reason));
        let (a, ra) = failed(CredentialsInvalid, "secret t/x not found");
        let events = condition_events(None, &a, ra);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, condition(CredentialsInvalid));
        assert_eq!(events[0].reason.as_str(), "CredentialsInvalid");
        assert!(events[0].warning);
        assert!(condition_events(Some(&a), &a, ra).is_empty());
        let (b, rb) = failed(TrialLimit, "order blocked (402)");
        assert_eq!(
            condition_events(Some(&a), &b, rb)[0].reason,
            condition(TrialLimit)
        );
        let (c, rc) = failed(VendorUnavailable, "timeout");
        assert_eq!(
            condition_events(Some(&b), &c, rc)[0].reason,
            condition(VendorUnavailable)
        );
    }

    #[test]
    fn a_stall_another_event_explains_is_not_announced_again() {
        let reason = tollfree_plan::Reason::ApprovalPending;
        let stalled = TollFreeNumberSetStatus {
            conditions: compute_conditions(
                &[],
                &Wanted::of_plan(reason, "waiting for approval"),
                Some(1),
                Timestamp::UNIX_EPOCH,
            ),
            ..Default::default()
        };
        assert!(condition_events(None, &stalled, reason.into()).is_empty());
    }

    #[test]
    fn becoming_ready_is_announced_once() {
        let converged = tollfree_plan::Reason::Converged;
        let mut ready = TollFreeNumberSetStatus {
            conditions: compute_conditions(
                &[],
                &Wanted::of_plan(converged, ""),
                Some(1),
                Timestamp::UNIX_EPOCH,
            ),
            ..Default::default()
        };
        let events = condition_events(None, &ready, converged.into());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, EventReason::Ready);
        assert!(condition_events(Some(&ready.clone()), &ready, converged.into()).is_empty());
        ready.conditions.clear();
        assert!(condition_events(None, &ready, converged.into()).is_empty());
    }
}
