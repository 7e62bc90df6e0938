//! The status a set records after a reconcile, computed purely ("compute,
//! then send", as linkerd's `k8s/status`; the reconciler sends it):
//!
//! - [`compute_status`], the one place a status is assembled: number entries
//!   and intents from the memory to record ([`crate::memory`]), the plan as a
//!   person reads it, counters, `status.orders` upkeep, and the conditions of
//!   the plan's reason or of a failure ([`conditions`]);
//! - [`status_for_failure`]: the previous status with the conditions of a
//!   failure that stopped the reconcile before anything was planned;
//! - [`eq_time_insensitive`]: whether a write would change anything but
//!   timestamps (then it is skipped).
//!
//! Every sentence in a status comes from [`text`].

pub mod conditions;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};

use intelepeer::{E164, PackageId};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tollfree_plan as plan;
use tollfree_plan::{Memory, SetInput, SetPlan};

use crate::crd::{
    ActionKind, HoldKind, MAX_ORDERS, OrderRecord, OrderStatus, OrderType, PlanStatus,
    PlannedAction, TollFreeNumberSetStatus,
};
use crate::memory;
use conditions::{Failure, Wanted, compute_conditions};

/// What one reconcile found and did, as the status records it.
#[derive(Debug, Clone, Copy)]
pub struct Findings<'a> {
    /// The set as planned (for `desired`).
    pub input: &'a SetInput,
    /// The planner's verdict: number lines, actions, held actions, reason.
    /// Its `memory` is not read: see `memory`.
    pub plan: &'a SetPlan,
    /// The memory to record: the plan's memory plus the intents the executor
    /// wrote and the answers it got.
    pub memory: &'a Memory,
    /// The failure that stopped the reconcile, if any: its conditions replace
    /// the plan's.
    pub failure: Option<&'a Failure>,
    /// The size of the listing the plan trusted, if it trusted one (else the
    /// previous `inventoryCount` is kept).
    pub inventory_count: Option<u64>,
    /// The vendor login the set's memory belongs to (`status.account`); the
    /// previous one is kept when `None`.
    pub account: Option<&'a str>,
}

impl Findings<'_> {
    /// The conditions the set should show: the failure's if one stopped the
    /// reconcile, else the plan's.
    pub fn wanted(&self) -> Wanted {
        match self.failure {
            Some(f) => Wanted::of_failure(f),
            None => Wanted::of_plan(self.plan.reason, &self.plan.message),
        }
    }
}

/// The status to record at `now` for `generation`.
///
/// Keeps from `prev` what the reconcile does not decide: the orders (new ones
/// are added from intents that carry an order ID; pending ones whose result
/// the plan shows become Completed), `inventoryCount` unless a trusted listing
/// gives a new one, and each condition's `lastTransitionTime` when its status
/// did not change.
pub fn compute_status(
    prev: Option<&TollFreeNumberSetStatus>,
    found: &Findings<'_>,
    generation: Option<i64>,
    now: Timestamp,
) -> TollFreeNumberSetStatus {
    let plan = found.plan;
    let wanted = found.wanted();
    let prev_conditions = prev.map_or(&[][..], |p| &p.conditions[..]);
    let mut status = TollFreeNumberSetStatus {
        conditions: compute_conditions(prev_conditions, &wanted, generation, now),
        observed_generation: generation,
        account: found
            .account
            .map(str::to_owned)
            .or_else(|| prev.and_then(|p| p.account.clone())),
        desired: desired_count(found.input),
        active: active_count(plan),
        pending: pending_count(plan),
        last_sync_time: Some(now),
        inventory_count: found
            .inventory_count
            .or_else(|| prev.and_then(|p| p.inventory_count)),
        numbers: memory::number_entries(&plan.numbers, found.memory),
        orders: prev.map(|p| p.orders.clone()).unwrap_or_default(),
        plan: plan_status(plan),
        intents: memory::intent_records(found.memory),
    };
    update_orders(&mut status.orders, plan, found.memory);
    status
}

/// The status after a failure outside the plan (bad credentials, vendor
/// unreachable, a spec that cannot be planned): `prev` with the failure's
/// conditions, `observedGeneration` and `lastSyncTime`.
pub fn status_for_failure(
    prev: Option<&TollFreeNumberSetStatus>,
    failure: &Failure,
    generation: Option<i64>,
    now: Timestamp,
) -> TollFreeNumberSetStatus {
    let mut status = prev.cloned().unwrap_or_default();
    status.conditions = compute_conditions(
        &status.conditions,
        &Wanted::of_failure(failure),
        generation,
        now,
    );
    status.observed_generation = generation;
    status.last_sync_time = Some(now);
    status
}

/// Whether two statuses are equal apart from `lastSyncTime` and the conditions'
/// `lastTransitionTime` (then a status write would change nothing a person or
/// the planner reads, and can be skipped).
pub fn eq_time_insensitive(a: &TollFreeNumberSetStatus, b: &TollFreeNumberSetStatus) -> bool {
    fn strip(s: &TollFreeNumberSetStatus) -> TollFreeNumberSetStatus {
        let mut s = s.clone();
        s.last_sync_time = None;
        for c in &mut s.conditions {
            c.last_transition_time = Time(Timestamp::UNIX_EPOCH);
        }
        s
    }
    strip(a) == strip(b)
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// Numbers the spec asks for: every exact number plus every acquire count.
pub fn desired_count(input: &SetInput) -> u32 {
    input
        .packages
        .iter()
        .map(|p| {
            let listed = u32::try_from(p.numbers.len()).unwrap_or(u32::MAX);
            listed.saturating_add(p.acquire.as_ref().map_or(0, |a| a.count))
        })
        .fold(0, u32::saturating_add)
}

/// Numbers in the account, in the wanted package.
fn active_count(plan: &SetPlan) -> u32 {
    count_lines(plan, |state| state == plan::NumberState::Active)
}

/// Numbers with a change planned or in flight, plus the numbers still to be
/// found for acquire requests (run now or held).
fn pending_count(plan: &SetPlan) -> u32 {
    use plan::NumberState::*;
    let acquiring: u32 = plan
        .actions
        .iter()
        .chain(plan.held.iter().map(|h| &h.action))
        .map(|a| match a {
            plan::Action::Acquire { count, .. } => *count,
            _ => 0,
        })
        .fold(0, u32::saturating_add);
    count_lines(plan, |state| {
        matches!(
            state,
            Reserved | Purchasing | Moving | PendingDisconnect | Disconnecting | Blocked
        )
    })
    .saturating_add(acquiring)
}

fn count_lines(plan: &SetPlan, pred: impl Fn(plan::NumberState) -> bool) -> u32 {
    let n = plan.numbers.iter().filter(|l| pred(l.state)).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// status.plan
// ---------------------------------------------------------------------------

/// The actions as a person reads them: those that run now first, then the held ones.
fn plan_status(plan: &SetPlan) -> Option<PlanStatus> {
    let actions: Vec<PlannedAction> = plan
        .actions
        .iter()
        .map(|a| planned_action(a, None, &plan.hash))
        .chain(
            plan.held
                .iter()
                .map(|h| planned_action(&h.action, Some(&h.hold), &plan.hash)),
        )
        .collect();
    if actions.is_empty() && plan.hash.is_empty() {
        return None;
    }
    Some(PlanStatus {
        hash: plan.hash.clone(),
        actions,
    })
}

/// One action of `status.plan`, with its message for a person (and its hold).
pub fn planned_action(
    action: &plan::Action,
    hold: Option<&plan::Hold>,
    hash: &str,
) -> PlannedAction {
    let strings = |numbers: &[E164]| numbers.iter().map(E164::to_string).collect();
    let mut out = PlannedAction {
        action: ActionKind::Reserve,
        package_id: None,
        numbers: Vec::new(),
        reservation_id: None,
        count: None,
        hold: hold.map(hold_kind),
        message: match (action, hold) {
            // Held by `disconnect: Deny`: retained and released, not refused.
            (plan::Action::Disconnect { numbers }, Some(plan::Hold::Denied)) => {
                text::retained(numbers)
            }
            (_, Some(h)) => text::held(action, h, hash),
            (_, None) => text::action(action),
        },
    };
    match action {
        plan::Action::Reserve {
            package, numbers, ..
        } => {
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
        }
        plan::Action::Acquire { package, count, .. } => {
            out.action = ActionKind::Acquire;
            out.package_id = Some(package.get());
            out.count = Some(*count);
        }
        plan::Action::Purchase {
            package,
            reservation_id,
            numbers,
            ..
        } => {
            out.action = ActionKind::Purchase;
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
            out.reservation_id = Some(reservation_id.to_string());
        }
        plan::Action::Move { package, numbers } => {
            out.action = ActionKind::Move;
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
        }
        plan::Action::Disconnect { numbers } => {
            out.action = ActionKind::Disconnect;
            out.numbers = strings(numbers);
        }
    }
    out
}

fn hold_kind(hold: &plan::Hold) -> HoldKind {
    match hold {
        plan::Hold::Denied => HoldKind::Denied,
        plan::Hold::AwaitingApproval => HoldKind::AwaitingApproval,
        plan::Hold::Suspended => HoldKind::Suspended,
        plan::Hold::OverBudget => HoldKind::OverBudget,
        plan::Hold::Grace(_) => HoldKind::GracePeriod,
        plan::Hold::UnsafeInventory(_) => HoldKind::UnsafeInventory,
        plan::Hold::Unverified => HoldKind::Unverified,
    }
}

// ---------------------------------------------------------------------------
// status.orders
// ---------------------------------------------------------------------------

/// `status.orders` upkeep:
///
/// - every order an intent carries an order ID for is recorded (Pending);
/// - every order the plan saw settle ([`SetPlan::settled`]) is Completed —
///   recorded now if its answer was lost: with the listing's order ID for a
///   purchase, else by its referenceID alone (orderID absent);
/// - a Pending order whose result the number lines show is Completed;
/// - newest first; every order of a number the set still owns or has in
///   flight is kept, of the others at most [`MAX_ORDERS`].
fn update_orders(orders: &mut Vec<OrderRecord>, plan: &SetPlan, memory: &Memory) {
    let order_type = |kind: plan::IntentKind| match kind {
        plan::IntentKind::Reserve => None,
        plan::IntentKind::Purchase => Some(OrderType::Purchase),
        plan::IntentKind::Move => Some(OrderType::Move),
        plan::IntentKind::Disconnect => Some(OrderType::Disconnect),
    };
    let numbers = |ns: &[E164]| ns.iter().map(E164::to_string).collect::<Vec<_>>();
    let mut recorded: BTreeSet<u64> = orders.iter().filter_map(|o| o.order_id).collect();
    for i in &memory.intents {
        let (Some(order_id), Some(type_)) = (i.order_id, order_type(i.kind)) else {
            continue;
        };
        if !recorded.insert(order_id.0) {
            continue;
        }
        orders.push(OrderRecord {
            order_id: Some(order_id.0),
            reference_id: i.reference_id.clone(),
            type_,
            status: OrderStatus::Pending,
            created: i.started,
            numbers: numbers(&i.numbers),
            package_id: i.package.map(PackageId::get),
        });
    }

    // Orders whose intents still wait for some of their numbers.
    let in_flight_ids: BTreeSet<u64> = memory
        .intents
        .iter()
        .filter_map(|i| i.order_id.map(|o| o.0))
        .collect();
    let in_flight_refs: BTreeSet<&str> = memory
        .intents
        .iter()
        .filter_map(|i| i.reference_id.as_deref())
        .collect();
    let in_flight = |order_id: Option<u64>, reference_id: Option<&str>| {
        order_id.is_some_and(|id| in_flight_ids.contains(&id))
            || reference_id.is_some_and(|r| in_flight_refs.contains(r))
    };
    for settled in &plan.settled {
        let Some(type_) = order_type(settled.kind) else {
            continue;
        };
        let still = in_flight(
            settled.order_id.map(|o| o.0),
            settled.reference_id.as_deref(),
        );
        let status = if still {
            OrderStatus::Pending
        } else {
            OrderStatus::Completed
        };
        let known = orders
            .iter_mut()
            .find(|o| match (settled.order_id, o.order_id) {
                (Some(a), Some(b)) => a.0 == b,
                _ => {
                    settled.reference_id.is_some()
                        && o.reference_id == settled.reference_id
                        && o.type_ == type_
                }
            });
        match known {
            Some(o) => {
                o.status = status;
                if o.order_id.is_none() {
                    o.order_id = settled.order_id.map(|id| id.0);
                }
            }
            None => orders.push(OrderRecord {
                order_id: settled.order_id.map(|id| id.0),
                reference_id: settled.reference_id.clone(),
                type_,
                status,
                created: settled.started,
                numbers: numbers(&settled.numbers),
                package_id: settled.package.map(PackageId::get),
            }),
        }
    }

    let lines: BTreeMap<&str, &plan::NumberStatus> = plan
        .numbers
        .iter()
        .map(|l| (l.number.as_str(), l))
        .collect();
    let owned: BTreeSet<&str> = memory.owned.keys().map(E164::as_str).collect();
    for order in orders.iter_mut() {
        if order.status != OrderStatus::Pending
            || in_flight(order.order_id, order.reference_id.as_deref())
        {
            continue;
        }
        let done = match order.type_ {
            OrderType::Purchase | OrderType::Move => {
                !order.numbers.is_empty()
                    && order.numbers.iter().all(|n| {
                        lines.get(n.as_str()).is_some_and(|l| {
                            l.state == plan::NumberState::Active
                                && order.package_id.is_none_or(|p| p == l.package.get())
                        })
                    })
            }
            OrderType::Disconnect => order.numbers.iter().all(|n| {
                !owned.contains(n.as_str())
                    && lines
                        .get(n.as_str())
                        .is_none_or(|l| l.state != plan::NumberState::Disconnecting)
            }),
        };
        if done {
            order.status = OrderStatus::Completed;
        }
    }

    // Newest first; equal times keep their order (stable sort). Orders of
    // numbers still owned or in flight are kept whatever their age.
    orders.sort_by_key(|o| std::cmp::Reverse(o.created));
    let in_flight_numbers: BTreeSet<&str> = memory
        .intents
        .iter()
        .flat_map(|i| i.numbers.iter().map(E164::as_str))
        .collect();
    let mut others = 0usize;
    orders.retain(|o| {
        let keep = o
            .numbers
            .iter()
            .any(|n| owned.contains(n.as_str()) || in_flight_numbers.contains(n.as_str()));
        if keep {
            return true;
        }
        others += 1;
        others <= MAX_ORDERS
    });
}

#[cfg(test)]
mod tests {
    use intelepeer::OrderId;
    use jiff::SignedDuration;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    use tollfree_plan::Reason;

    use super::*;
    use crate::fixtures::{
        NOW, busy_plan, example_input, line, n, pkg, rid, status_at, status_of, ts,
    };
    use conditions::{ConditionType, FailureReason};

    const READY: &str = ConditionType::Ready.as_str();
    const RECONCILING: &str = ConditionType::Reconciling.as_str();
    const STALLED: &str = ConditionType::Stalled.as_str();

    #[test]
    fn counters_count_desired_active_and_pending() {
        let status = status_of(&busy_plan(), None);
        // 2 exact numbers + acquire count 3.
        assert_eq!(status.desired, 5);
        assert_eq!(status.active, 2);
        // Moving + 2 Purchasing + 1 still to acquire (held).
        assert_eq!(status.pending, 4);
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(status.last_sync_time, Some(ts(NOW)));
    }

    #[test]
    fn the_plan_reads_as_actions_with_holds() {
        let status = status_of(&busy_plan(), None);
        let plan = status.plan.expect("plan");
        assert_eq!(plan.hash, "h4sh");
        let lines: Vec<(ActionKind, Option<HoldKind>, &str)> = plan
            .actions
            .iter()
            .map(|a| (a.action, a.hold, a.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (ActionKind::Move, None, "move 1 number to package 30744"),
                (
                    ActionKind::Acquire,
                    Some(HoldKind::OverBudget),
                    "search and reserve 1 number in NPA 888, in one contiguous run for package 24188 — over the per-sync limit; runs in a later sync"
                ),
                (
                    ActionKind::Disconnect,
                    Some(HoldKind::AwaitingApproval),
                    "disconnect 1 number — waiting for approval: annotate with tollfree.dev/approve=h4sh"
                ),
            ]
        );
        assert_eq!(plan.actions[1].count, Some(1));
        assert_eq!(plan.actions[1].package_id, Some(24188));
        assert_eq!(plan.actions[2].numbers, vec!["+18335550199".to_string()]);
    }

    #[test]
    fn an_empty_plan_leaves_no_plan_in_status() {
        let mut plan = busy_plan();
        plan.actions.clear();
        plan.held.clear();
        plan.hash.clear();
        assert_eq!(status_of(&plan, None).plan, None);
    }

    #[test]
    fn every_hold_and_action_has_a_message() {
        let until = ts("2026-03-04T12:00:00Z");
        let cases = [
            (
                plan::Action::Reserve {
                    package: pkg(5),
                    numbers: vec![n("+18005550100"), n("+18005550101")],
                    proves: None,
                },
                plan::Hold::Denied,
                "reserve 2 numbers for package 5 — denied by policy",
            ),
            (
                plan::Action::Purchase {
                    package: pkg(5),
                    reservation_id: rid("ABC-1"),
                    numbers: vec![n("+18005550100")],
                    retry: false,
                },
                plan::Hold::Suspended,
                "purchase 1 number (reservation ABC-1) into package 5 — spec.suspend is true",
            ),
            (
                plan::Action::Purchase {
                    package: pkg(5),
                    reservation_id: rid("ABC-1"),
                    numbers: vec![n("+18005550100")],
                    retry: true,
                },
                plan::Hold::Suspended,
                "send again the unanswered purchase of 1 number (reservation ABC-1) into package 5; a reservation is bought at most once — spec.suspend is true",
            ),
            (
                plan::Action::Disconnect {
                    numbers: vec![n("+18005550100")],
                },
                plan::Hold::Grace(until),
                "disconnect 1 number — in disconnectGracePeriod until 2026-03-04T12:00:00Z",
            ),
            (
                plan::Action::Disconnect {
                    numbers: vec![n("+18005550100"), n("+18005550101")],
                },
                plan::Hold::Denied,
                "retained +18005550100, +18005550101 in the account: not disconnected (disconnect policy is Deny) and released — no longer managed by this set",
            ),
            (
                plan::Action::Acquire {
                    package: pkg(5),
                    count: 2,
                    filter: plan::Match::Like("+1888555".into()),
                    sequential: false,
                },
                plan::Hold::UnsafeInventory("listing incomplete".into()),
                "search and reserve 2 numbers starting with +1888555 for package 5 — inventory not trusted: listing incomplete",
            ),
        ];
        for (action, hold, want) in cases {
            assert_eq!(planned_action(&action, Some(&hold), "h").message, want);
        }
    }

    fn condition<'a>(s: &'a TollFreeNumberSetStatus, t: &str) -> (&'a str, &'a str, &'a str) {
        let c = s.condition(t).unwrap_or_else(|| panic!("{t} missing"));
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    }

    #[test]
    fn conditions_follow_kstatus() {
        let mut plan = busy_plan();
        let cases = [
            (Reason::Converged, ("True", "False", "False")),
            (Reason::Progressing, ("False", "True", "False")),
            (Reason::GracePeriod, ("False", "True", "False")),
            (Reason::BudgetExceeded, ("False", "True", "False")),
            (Reason::Suspended, ("False", "False", "False")),
            (Reason::Conflict, ("False", "False", "True")),
            (Reason::NumberUnavailable, ("False", "False", "True")),
            (Reason::ApprovalPending, ("False", "False", "True")),
            (Reason::PolicyDenied, ("False", "False", "True")),
            (Reason::InventoryUnsafe, ("False", "False", "True")),
        ];
        for (reason, (ready, reconciling, stalled)) in cases {
            plan.reason = reason;
            plan.message = format!("because {reason:?}");
            let s = status_of(&plan, None);
            let name = format!("{reason:?}");
            let want = |status| (status, name.as_str(), plan.message.as_str());
            assert_eq!(condition(&s, READY), want(ready), "{reason:?}");
            assert_eq!(condition(&s, RECONCILING), want(reconciling), "{reason:?}");
            assert_eq!(condition(&s, STALLED), want(stalled), "{reason:?}");
            assert!(
                s.conditions
                    .iter()
                    .all(|c| c.observed_generation == Some(3))
            );
        }
    }

    #[test]
    fn last_transition_time_moves_only_when_status_changes() {
        let mut plan = busy_plan();
        let first = status_of(&plan, None);
        let at = |s: &TollFreeNumberSetStatus, t: &str| {
            s.condition(t)
                .map(|c| c.last_transition_time.0)
                .expect("condition")
        };
        let now_seconds = ts("2026-03-01T12:00:00Z");
        assert_eq!(at(&first, READY), now_seconds);

        // Same statuses, new message and a later clock: times are kept.
        plan.message = "1 number purchasing".into();
        let later = ts("2026-03-01T13:00:00Z");
        let second = status_at(&plan, Some(&first), 4, later);
        assert_eq!(at(&second, READY), now_seconds);
        assert_eq!(at(&second, RECONCILING), now_seconds);
        assert_eq!(condition(&second, READY).2, "1 number purchasing");
        assert_eq!(second.observed_generation, Some(4));

        // Ready and Reconciling flip; Stalled stays False.
        plan.reason = Reason::Converged;
        let third = status_at(&plan, Some(&second), 4, later);
        assert_eq!(at(&third, READY), later);
        assert_eq!(at(&third, RECONCILING), later);
        assert_eq!(at(&third, STALLED), now_seconds);
    }

    #[test]
    fn foreign_conditions_are_kept() {
        let mut prev = TollFreeNumberSetStatus::default();
        prev.conditions.push(Condition {
            type_: "Custom".into(),
            status: "True".into(),
            reason: "X".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
        });
        let s = status_of(&busy_plan(), Some(&prev));
        assert_eq!(s.conditions.len(), 4);
        assert_eq!(s.conditions[3].type_, "Custom");
    }

    #[test]
    fn a_failure_outside_the_plan_stalls_or_reconciles_and_keeps_the_rest() {
        let prev = status_of(&busy_plan(), None);
        let now = ts("2026-03-01T12:05:00Z");
        let s = status_for_failure(
            Some(&prev),
            &Failure {
                reason: FailureReason::CredentialsInvalid,
                message: "secret telecom/intelepeer-account: authentication failed (401)".into(),
            },
            Some(3),
            now,
        );
        assert_eq!(
            condition(&s, STALLED),
            (
                "True",
                "CredentialsInvalid",
                "secret telecom/intelepeer-account: authentication failed (401)"
            )
        );
        assert_eq!(condition(&s, READY).0, "False");
        assert_eq!(condition(&s, RECONCILING).0, "False");
        assert_eq!(s.numbers, prev.numbers);
        assert_eq!(s.intents, prev.intents);
        assert_eq!(s.last_sync_time, Some(now));

        let s = status_for_failure(
            None,
            &Failure {
                reason: FailureReason::VendorUnavailable,
                message: "503 from vendor".into(),
            },
            Some(1),
            now,
        );
        assert_eq!(condition(&s, RECONCILING).0, "True");
        assert_eq!(condition(&s, STALLED).0, "False");
    }

    #[test]
    fn the_executed_memory_is_recorded_and_a_failure_replaces_the_plans_conditions() {
        let plan = busy_plan();
        let mut executed = plan.memory.clone();
        executed.intents.truncate(1);
        executed.owned.remove(&n("+18007293863"));
        let failure = Failure {
            reason: FailureReason::VendorUnavailable,
            message: "timeout".into(),
        };
        let input = example_input();
        let found = Findings {
            input: &input,
            plan: &plan,
            memory: &executed,
            failure: Some(&failure),
            inventory_count: Some(7),
            account: Some("user demo"),
        };
        let s = compute_status(None, &found, Some(3), ts(NOW));
        assert_eq!(
            memory::from_status(Some(&s)),
            Ok(executed),
            "the executor's memory, not the plan's"
        );
        assert_eq!(
            condition(&s, RECONCILING),
            ("True", "VendorUnavailable", "timeout")
        );
        assert_eq!(condition(&s, READY).0, "False");
        assert_eq!(s.inventory_count, Some(7));
        assert_eq!(
            s.plan,
            status_of(&plan, None).plan,
            "the plan is still shown"
        );
    }

    #[test]
    fn orders_come_from_intents_and_settle_when_the_inventory_shows_them() {
        let mut plan = busy_plan();
        let first = status_of(&plan, None);
        assert_eq!(
            first.orders,
            vec![OrderRecord {
                order_id: Some(9001),
                reference_id: Some("tfns-telecom-support-lines-1".into()),
                type_: OrderType::Purchase,
                status: OrderStatus::Pending,
                created: ts("2026-03-01T11:59:00.000000001Z"),
                numbers: vec!["+18885550101".into(), "+18885550102".into()],
                package_id: Some(24188),
            }]
        );

        // The purchase shows in the inventory: intent resolved, numbers Active.
        plan.memory
            .intents
            .retain(|i| i.order_id != Some(OrderId(9001)));
        for l in &mut plan.numbers {
            if l.number.as_str().starts_with("+188855501") {
                l.state = plan::NumberState::Active;
            }
        }
        let second = status_of(&plan, Some(&first));
        assert_eq!(second.orders.len(), 1);
        assert_eq!(second.orders[0].status, OrderStatus::Completed);
    }

    #[test]
    fn a_pending_order_stays_pending_until_its_numbers_are_active() {
        let mut plan = busy_plan();
        let first = status_of(&plan, None);
        plan.memory.intents.clear();
        let second = status_of(&plan, Some(&first));
        assert_eq!(second.orders[0].status, OrderStatus::Pending);
    }

    #[test]
    fn a_disconnect_order_completes_when_the_number_is_no_longer_owned() {
        let mut prev = TollFreeNumberSetStatus::default();
        prev.orders.push(OrderRecord {
            order_id: Some(77),
            reference_id: None,
            type_: OrderType::Disconnect,
            status: OrderStatus::Pending,
            created: ts("2026-03-01T10:00:00Z"),
            numbers: vec!["+18335550199".into()],
            package_id: None,
        });
        let mut plan = busy_plan();
        plan.memory.intents.clear();
        assert_eq!(
            status_of(&plan, Some(&prev)).orders[0].status,
            OrderStatus::Pending
        );
        plan.memory.owned.remove(&n("+18335550199"));
        assert_eq!(
            status_of(&plan, Some(&prev)).orders[0].status,
            OrderStatus::Completed
        );
    }

    #[test]
    fn orders_are_newest_first_and_bounded_but_those_of_owned_numbers_are_kept() {
        let old = |id: u64, numbers: Vec<String>| OrderRecord {
            order_id: Some(id),
            reference_id: None,
            type_: OrderType::Move,
            status: OrderStatus::Completed,
            created: Timestamp::UNIX_EPOCH
                .checked_add(SignedDuration::from_secs(id as i64))
                .expect("time"),
            numbers,
            package_id: None,
        };
        let mut prev = TollFreeNumberSetStatus::default();
        // The oldest order moved a number the set still owns.
        prev.orders.push(old(0, vec!["+18007293863".into()]));
        // Orders of numbers the set no longer owns: one more than are kept.
        for id in 1..=MAX_ORDERS as u64 + 1 {
            prev.orders.push(old(id, vec![]));
        }
        prev.orders.reverse();
        let status = status_of(&busy_plan(), Some(&prev));
        assert_eq!(
            status.orders[0].order_id,
            Some(9001),
            "the new order is newest"
        );
        assert!(
            status
                .orders
                .windows(2)
                .all(|w| w[0].created >= w[1].created)
        );
        let others: Vec<u64> = status
            .orders
            .iter()
            .filter(|o| o.numbers.is_empty())
            .filter_map(|o| o.order_id)
            .collect();
        assert_eq!(others.len(), MAX_ORDERS);
        assert!(!others.contains(&1), "the oldest of those fell off");
        assert!(
            status.orders.iter().any(|o| o.order_id == Some(0)),
            "an order of a number still owned is never dropped"
        );
    }

    #[test]
    fn a_settled_order_whose_answer_was_lost_is_recorded_by_its_listed_id_or_reference() {
        let mut plan = busy_plan();
        plan.settled = vec![
            plan::Settled {
                kind: plan::IntentKind::Purchase,
                numbers: vec![n("+18007293863")],
                package: Some(pkg(30744)),
                order_id: Some(OrderId(4242)),
                reference_id: Some("tfns-ab-1-1".into()),
                started: ts("2026-03-01T11:00:00Z"),
            },
            plan::Settled {
                kind: plan::IntentKind::Move,
                numbers: vec![n("+18885550100")],
                package: Some(pkg(24188)),
                order_id: None,
                reference_id: Some("tfns-ab-1-2".into()),
                started: ts("2026-03-01T11:00:01Z"),
            },
        ];
        let status = status_of(&plan, None);
        let purchase = status
            .orders
            .iter()
            .find(|o| o.order_id == Some(4242))
            .expect("the listed order ID is recorded");
        assert_eq!(purchase.status, OrderStatus::Completed);
        let moved = status
            .orders
            .iter()
            .find(|o| o.reference_id.as_deref() == Some("tfns-ab-1-2"))
            .expect("a move without an order ID is recorded by its referenceID");
        assert_eq!(moved.order_id, None);
        assert_eq!(moved.type_, OrderType::Move);
        assert_eq!(moved.status, OrderStatus::Completed);
    }

    #[test]
    fn inventory_count_is_carried_over() {
        let prev = TollFreeNumberSetStatus {
            inventory_count: Some(412),
            ..TollFreeNumberSetStatus::default()
        };
        let status = status_of(&busy_plan(), Some(&prev));
        assert_eq!(status.inventory_count, Some(412));
        assert_eq!(memory::last_good_count(Some(&status)), Some(412));
        assert_eq!(memory::last_good_count(None), None);
    }

    /// The largest set admission lets in (`MAX_SET_NUMBERS`), in the worst
    /// state a status can hold: every number with a line, a long message, an
    /// order and reservation, owned, leaving, refused before and missing, in
    /// flight in a batched intent, held in the plan, and bought by an order of
    /// its own. Its status must write well under etcd's 1.5 MiB request limit.
    #[test]
    fn the_largest_set_s_worst_status_fits_well_under_the_request_limit() {
        use crate::crd::MAX_SET_NUMBERS;
        const REQUEST_LIMIT: usize = 1_572_864;
        let numbers: Vec<E164> = (0..MAX_SET_NUMBERS)
            .map(|i| n(&format!("+1800{:07}", 5_550_000 + i)))
            .collect();
        let when = ts("2026-03-01T11:59:00.123456789Z");
        let long = "purchase into package 1234567 not in the inventory after 1h (order 987654321, reference tfns-0123abcd-1772366340123-12); check with the vendor — never re-bought automatically".to_owned();
        let mut plan = busy_plan();
        plan.numbers = numbers
            .iter()
            .map(|x| plan::NumberStatus {
                number: x.clone(),
                package: pkg(1_234_567),
                state: plan::NumberState::Purchasing,
                order_id: Some(OrderId(987_654_321)),
                reservation_id: Some(rid("F78793B1-7E84-11E6-B908-52540029234D")),
                reserved_until: Some(when),
                message: long.clone(),
            })
            .collect();
        let mut memory = Memory::default();
        for x in &numbers {
            memory.owned.insert(
                x.clone(),
                plan::Ownership {
                    package: pkg(7_654_321),
                    acquired: true,
                },
            );
            memory.leaving_since.insert(x.clone(), when);
            memory.unavailable.insert(x.clone(), when);
            memory.missing.insert(x.clone(), when);
        }
        memory.intents = numbers
            .chunks(tollfree_plan::BATCH_LIMIT)
            .map(|chunk| plan::Intent {
                kind: plan::IntentKind::Purchase,
                numbers: chunk.to_vec(),
                package: Some(pkg(1_234_567)),
                reservation_id: Some(rid("F78793B1-7E84-11E6-B908-52540029234D")),
                reserved_until: Some(when),
                reference_id: Some("tfns-0123abcd-1772366340123-12".into()),
                order_id: Some(OrderId(987_654_321)),
                acquired: true,
                started: when,
                refused: Some(when),
            })
            .collect();
        plan.held = numbers
            .chunks(tollfree_plan::BATCH_LIMIT)
            .map(|chunk| plan::Held {
                action: plan::Action::Move {
                    package: pkg(1_234_567),
                    numbers: chunk.to_vec(),
                },
                hold: plan::Hold::AwaitingApproval,
            })
            .collect();
        plan.memory = memory.clone();
        let orders = numbers
            .iter()
            .enumerate()
            .map(|(k, x)| OrderRecord {
                order_id: Some(900_000_000 + k as u64),
                reference_id: Some("tfns-0123abcd-1772366340123-12".into()),
                type_: OrderType::Purchase,
                status: OrderStatus::Completed,
                created: when,
                numbers: vec![x.to_string()],
                package_id: Some(1_234_567),
            })
            .collect();
        let prev = TollFreeNumberSetStatus {
            orders,
            ..TollFreeNumberSetStatus::default()
        };
        let status = status_of(&plan, Some(&prev));
        assert_eq!(status.numbers.len(), MAX_SET_NUMBERS);
        assert!(
            status.orders.len() >= MAX_SET_NUMBERS,
            "orders of owned numbers are kept"
        );
        let bytes = serde_json::to_vec(&serde_json::json!({"status": status}))
            .expect("json")
            .len();
        let per_number = bytes / MAX_SET_NUMBERS;
        eprintln!(
            "worst-case status of {MAX_SET_NUMBERS} numbers: {bytes} bytes ({per_number} per number)"
        );
        assert!(
            bytes < REQUEST_LIMIT * 2 / 3,
            "{bytes} bytes is not well under the {REQUEST_LIMIT}-byte request limit"
        );
    }

    #[test]
    fn statuses_differing_only_in_timestamps_are_equal() {
        let plan = busy_plan();
        let a = status_of(&plan, None);
        let mut b = status_at(&plan, None, 3, ts("2026-03-01T18:00:00Z"));
        assert_ne!(a, b);
        assert!(eq_time_insensitive(&a, &b));
        b.numbers[0].message = "changed".into();
        assert!(!eq_time_insensitive(&a, &b));
        let mut c = a.clone();
        c.conditions[0].reason = "Other".into();
        assert!(!eq_time_insensitive(&a, &c));
    }

    #[test]
    fn a_status_serializes_compactly() {
        let mut plan = busy_plan();
        plan.numbers = vec![line("+18007293863", 30744, plan::NumberState::Active)];
        plan.memory = Memory::default();
        plan.actions.clear();
        plan.held.clear();
        plan.hash.clear();
        plan.reason = Reason::Converged;
        let status = status_of(&plan, None);
        let json = serde_json::to_value(&status.numbers[0]).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "number": "+18007293863",
                "packageID": 30744,
                "state": "Active",
                "message": "Active",
            })
        );
    }
}
