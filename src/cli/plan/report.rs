//! What `plan` prints, computed once from the planner's verdict and rendered
//! either as a table (for people) or as JSON (for pipelines).
//!
//! The JSON document is a stable contract (field names follow the CRD's status:
//! camelCase, `packageID`, `reservationID`, PascalCase enum values):
//!
//! ```json
//! {
//!   "version": 1,
//!   "changes": true,
//!   "cluster": {"read": true, "context": "prod", "server": "https://...",
//!               "liveSets": 12, "unproven": []},
//!   "summary": {"sets": 2, "buy": 3, "move": 1, "disconnect": 0,
//!               "held": 1, "adopt": 1, "conflicts": 0},
//!   "accounts": [{"account": "environment (INTELEPEER_USERNAME)",
//!                 "numbers": 12, "complete": true, "unowned": 3,
//!                 "sets": ["telecom/support-lines"]}],
//!   "sets": [{
//!     "namespace": "telecom", "name": "support-lines",
//!     "file": "sets/support.yaml", "account": "environment (INTELEPEER_USERNAME)",
//!     "origin": "Manifest", "live": true, "deleted": false,
//!     "reason": "Progressing", "message": "...",
//!     "hash": "",
//!     "actions": [
//!       {"action": "Reserve", "operation": "purchase", "packageID": 30744,
//!        "numbers": ["+18887293863"]},
//!       {"action": "Acquire", "operation": "purchase", "packageID": 24188,
//!        "numbers": [], "count": 3, "npa": [888], "sequential": true},
//!       {"action": "Move", "operation": "move", "packageID": 30744,
//!        "numbers": ["+18003255821"], "from": {"+18003255821": 24188}}
//!     ],
//!     "held": [
//!       {"action": "Disconnect", "operation": "disconnect",
//!        "numbers": ["+18005550100"], "hold": "Denied",
//!        "reason": "disconnect policy is Deny: the numbers stay in the account"}
//!     ],
//!     "adopted": [{"number": "+18007293863", "packageID": 30744}],
//!     "numbers": [{"number": "+18007293863", "packageID": 30744,
//!                  "state": "Active", "message": "..."}]
//!   }],
//!   "notes": []
//! }
//! ```
//!
//! - `cluster`: whether the live sets were read (`read`), from where, how
//!   many, and the live sets whose account is not recorded yet (`unproven`:
//!   their credentials were never proven, so no account can be told). Without
//!   a cluster, `warning` says that other sets are unknown and that `adopt`
//!   may be wrong.
//! - `origin`: `Manifest` (a set of the change) or `Cluster` (a live set the
//!   change does not touch, shown because its plan changes with it); `live`:
//!   the cluster has the set (its status and age are the live ones);
//!   `deleted`: planned as deleted (`--deleted`).
//! - `actions`: what the operator would send to the vendor on its next sync.
//!   `action` is `Reserve` (exact numbers: reserve, then purchase), `Acquire`
//!   (search for `count` numbers matching `npa` or `like`, reserve, purchase),
//!   `Purchase` (a reservation recorded in status; `retry: true` when it sends
//!   again a purchase recorded without an answer), `Move` (`from`: each
//!   number's current package) or `Disconnect`; `operation` is the policy that
//!   governs it (`purchase`, `move`, `disconnect`).
//! - `held`: actions decided but not sent, with `hold` (`Denied`,
//!   `AwaitingApproval`, `Suspended`, `OverBudget`, `GracePeriod`,
//!   `UnsafeInventory`), a `reason` for a person, and `until` for a grace period.
//! - `hash`: the approval hash of the set's plan (non-empty when something
//!   awaits approval); approve with `kubectl annotate tfns NAME
//!   tollfree.dev/approve=HASH`.
//! - `adopted`: numbers already in the account that the set takes ownership of
//!   (never bought); a number in another package is also in a `Move`.
//! - `numbers`: each number's state once the actions ran (`Active`,
//!   `Reserved`, `Purchasing`, `Moving`, `PendingDisconnect`, `Disconnecting`,
//!   `Unavailable`, `Conflict`, `Blocked`), with `orderID`, `reservationID` and
//!   `reservedUntil` when known.
//! - `summary` counts numbers (an `Acquire` counts `count`); `changes` is true
//!   when any set has an action or a held action (exit code 2).
//! - Absent optional fields are omitted; lists are always present.

use std::collections::BTreeMap;

use intelepeer::E164;
use jiff::Timestamp;
use serde::Serialize;
use tollfree_plan::{Action, Held, Hold, Inventory, Match, NumberState, Reason, SetInput, SetPlan};

use crate::crd::{ActionKind, HoldKind};

/// The version of the JSON document; bumped only on incompatible changes.
pub const VERSION: u32 = 1;

/// The whole preview.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`VERSION`].
    pub version: u32,
    /// Whether any set has an action or a held action.
    pub changes: bool,
    /// Whether the live sets were read.
    pub cluster: ClusterReport,
    /// Totals over all sets.
    pub summary: Summary,
    /// One entry per vendor account read.
    pub accounts: Vec<AccountReport>,
    /// One entry per set, sorted by `namespace/name`.
    pub sets: Vec<SetReport>,
    /// Remarks for a person (e.g. a `--deleted` set that does not exist).
    pub notes: Vec<String>,
}

/// What `plan` knew of the cluster.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    /// The live sets were read, and planned with the manifests.
    pub read: bool,
    /// The kubeconfig context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The API server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `--watch-namespace`: only this namespace's sets were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How many live sets were read.
    pub live_sets: usize,
    /// Live sets whose `status.account` is not recorded (credentials never
    /// proven): which account they belong to cannot be told, so they are not
    /// planned.
    pub unproven: Vec<String>,
    /// Without a cluster: what the preview cannot know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Where a reported set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Origin {
    /// A manifest of the change.
    Manifest,
    /// A live set the change does not touch, whose plan changes with it.
    Cluster,
}

/// Totals over all sets, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Sets planned.
    pub sets: usize,
    /// Numbers to buy (reserve + purchase, acquire, purchase of a reservation).
    pub buy: usize,
    /// Numbers to move to another package.
    #[serde(rename = "move")]
    pub r#move: usize,
    /// Numbers to disconnect.
    pub disconnect: usize,
    /// Numbers in held actions.
    pub held: usize,
    /// Numbers adopted from the account.
    pub adopt: usize,
    /// Numbers in `Conflict` (claimed by an older set).
    pub conflicts: usize,
}

/// One vendor account and its listing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountReport {
    /// Where its credentials came from (never their values).
    pub account: String,
    /// Numbers the listing returned.
    pub numbers: usize,
    /// Every page was read.
    pub complete: bool,
    /// Numbers no set declares or owns (left alone).
    pub unowned: usize,
    /// The sets planned against it.
    pub sets: Vec<String>,
    /// The live sets of this account (`status.account`) that took part in the
    /// plan besides the change's own: their owned numbers and intents are
    /// theirs.
    pub live_sets: Vec<String>,
}

/// One set's preview.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetReport {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The manifest it was read from.
    pub file: String,
    /// Where its credentials came from.
    pub account: String,
    /// `Manifest` or `Cluster`.
    pub origin: Origin,
    /// The cluster has this set now.
    pub live: bool,
    /// Planned as deleted (`--deleted`).
    pub deleted: bool,
    /// The set's condition reason after this plan.
    pub reason: Reason,
    /// One line explaining `reason`.
    pub message: String,
    /// The approval hash ("" when nothing needs approval).
    pub hash: String,
    /// Actions to send now.
    pub actions: Vec<ActionReport>,
    /// Actions held back, with why.
    pub held: Vec<HeldReport>,
    /// Numbers already in the account that the set takes ownership of.
    pub adopted: Vec<Adopted>,
    /// Each number's state.
    pub numbers: Vec<NumberReport>,
}

/// One vendor action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    /// `Reserve`, `Acquire`, `Purchase`, `Move` or `Disconnect`.
    pub action: ActionKind,
    /// The policy that governs it: `purchase`, `move` or `disconnect`.
    pub operation: Operation,
    /// The target package.
    #[serde(rename = "packageID", skip_serializing_if = "Option::is_none")]
    pub package_id: Option<u64>,
    /// The numbers (empty for `Acquire`: not found yet).
    pub numbers: Vec<String>,
    /// `Acquire`: how many numbers to find.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// `Acquire`: any of these area codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npa: Option<Vec<u16>>,
    /// `Acquire`: numbers starting with this prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    /// `Acquire`: one contiguous run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequential: Option<bool>,
    /// `Purchase`: the reservation bought.
    #[serde(rename = "reservationID", skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// `Purchase`: `true` when it sends again a purchase recorded in status
    /// without an answer (same reservation; bought at most once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<bool>,
    /// `Move`: each number's current package.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub from: BTreeMap<String, u64>,
}

impl ActionReport {
    /// How many numbers it concerns (`count` for `Acquire`).
    pub fn size(&self) -> usize {
        match self.count {
            Some(count) => usize::try_from(count).unwrap_or(usize::MAX),
            None => self.numbers.len(),
        }
    }
}

/// A held action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldReport {
    /// The action.
    #[serde(flatten)]
    pub action: ActionReport,
    /// `Denied`, `AwaitingApproval`, `Suspended`, `OverBudget`, `GracePeriod`
    /// or `UnsafeInventory`.
    pub hold: HoldKind,
    /// Why, for a person.
    pub reason: String,
    /// `GracePeriod`: when it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// A number adopted from the account.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adopted {
    /// The number.
    pub number: String,
    /// The package it sits in now.
    #[serde(rename = "packageID")]
    pub package_id: u64,
}

/// One number's line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberReport {
    /// The number.
    pub number: String,
    /// The package it should sit in (or sits in, when leaving).
    #[serde(rename = "packageID")]
    pub package_id: u64,
    /// Where it will stand.
    pub state: NumberState,
    /// One line for a person.
    pub message: String,
    /// The last order concerning it.
    #[serde(rename = "orderID", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// The reservation holding it.
    #[serde(rename = "reservationID", skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// When that reservation expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_until: Option<Timestamp>,
}

/// One set's inputs and verdict, as [`Report::build`] needs them.
#[derive(Debug, Clone, Copy)]
pub struct PlannedSet<'a> {
    /// The manifest it was read from (`""` for a set only in the cluster).
    pub file: &'a str,
    /// `Manifest` or `Cluster`.
    pub origin: Origin,
    /// The cluster has this set now.
    pub live: bool,
    /// Planned as deleted.
    pub deleted: bool,
    /// Where its credentials came from.
    pub account: &'a str,
    /// What the planner was given.
    pub input: &'a SetInput,
    /// What the planner decided.
    pub plan: &'a SetPlan,
    /// The account's listing.
    pub inventory: &'a Inventory,
}

impl Report {
    /// Builds the report; `sets` in any order.
    pub fn build(
        cluster: ClusterReport,
        accounts: Vec<AccountReport>,
        sets: &[PlannedSet<'_>],
        notes: Vec<String>,
    ) -> Self {
        let mut reports: Vec<SetReport> = sets.iter().map(set_report).collect();
        reports.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let mut summary = Summary {
            sets: reports.len(),
            ..Summary::default()
        };
        for set in &reports {
            for action in &set.actions {
                match action.operation {
                    Operation::Purchase => summary.buy += action.size(),
                    Operation::Move => summary.r#move += action.size(),
                    Operation::Disconnect => summary.disconnect += action.size(),
                }
            }
            summary.held += set.held.iter().map(|h| h.action.size()).sum::<usize>();
            summary.adopt += set.adopted.len();
            summary.conflicts += set
                .numbers
                .iter()
                .filter(|n| n.state == NumberState::Conflict)
                .count();
        }
        let changes = reports
            .iter()
            .any(|s| !s.actions.is_empty() || !s.held.is_empty());
        Report {
            version: VERSION,
            changes,
            cluster,
            summary,
            accounts,
            sets: reports,
            notes,
        }
    }
}

fn set_report(set: &PlannedSet<'_>) -> SetReport {
    let plan = set.plan;
    let actions = plan
        .actions
        .iter()
        .map(|a| action_report(a, set.inventory))
        .collect();
    let held = plan
        .held
        .iter()
        .map(|h| held_report(h, set.input, set.inventory))
        .collect();
    // Adopted: newly owned, and in the account now (a purchase landing is not
    // an adoption, and with a fresh manifest nothing else becomes owned).
    let adopted = plan
        .memory
        .owned
        .keys()
        .filter(|n| !set.input.memory.owned.contains_key(*n))
        .filter_map(|n| {
            set.inventory.numbers.get(n).map(|owned| Adopted {
                number: n.to_string(),
                package_id: owned.package.get(),
            })
        })
        .collect();
    let numbers = plan
        .numbers
        .iter()
        .map(|n| NumberReport {
            number: n.number.to_string(),
            package_id: n.package.get(),
            state: n.state,
            message: n.message.clone(),
            order_id: n.order_id.map(|o| o.0),
            reservation_id: n.reservation_id.as_ref().map(ToString::to_string),
            reserved_until: n.reserved_until,
        })
        .collect();
    SetReport {
        namespace: plan.id.namespace.clone(),
        name: plan.id.name.clone(),
        file: set.file.to_owned(),
        account: set.account.to_owned(),
        origin: set.origin,
        live: set.live,
        deleted: set.deleted,
        reason: plan.reason,
        message: plan.message.clone(),
        hash: plan.hash.clone(),
        actions,
        held,
        adopted,
        numbers,
    }
}

fn strings(numbers: &[E164]) -> Vec<String> {
    numbers.iter().map(ToString::to_string).collect()
}

/// The policy (`spec.policy`) that governs an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// `policy.purchase`: reserve, acquire, purchase.
    Purchase,
    /// `policy.move`.
    Move,
    /// `policy.disconnect`.
    Disconnect,
}

impl Operation {
    /// The policy field's name: `purchase`, `move` or `disconnect`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Purchase => "purchase",
            Operation::Move => "move",
            Operation::Disconnect => "disconnect",
        }
    }
}

/// The policy that governs an action.
pub fn operation(action: &Action) -> Operation {
    match action {
        Action::Reserve { .. } | Action::Acquire { .. } | Action::Purchase { .. } => {
            Operation::Purchase
        }
        Action::Move { .. } => Operation::Move,
        Action::Disconnect { .. } => Operation::Disconnect,
    }
}

fn action_report(action: &Action, inventory: &Inventory) -> ActionReport {
    let mut out = ActionReport {
        action: ActionKind::Reserve,
        operation: operation(action),
        package_id: None,
        numbers: Vec::new(),
        count: None,
        npa: None,
        like: None,
        sequential: None,
        reservation_id: None,
        retry: None,
        from: BTreeMap::new(),
    };
    match action {
        Action::Reserve {
            package, numbers, ..
        } => {
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
        }
        Action::Acquire {
            package,
            count,
            filter,
            sequential,
        } => {
            out.action = ActionKind::Acquire;
            out.package_id = Some(package.get());
            out.count = Some(*count);
            match filter {
                Match::Npa(npas) => out.npa = Some(npas.iter().map(|n| n.get()).collect()),
                Match::Like(prefix) => out.like = Some(prefix.clone()),
            }
            out.sequential = Some(*sequential);
        }
        Action::Purchase {
            package,
            reservation_id,
            numbers,
            retry,
        } => {
            out.action = ActionKind::Purchase;
            out.package_id = Some(package.get());
            out.reservation_id = Some(reservation_id.to_string());
            out.numbers = strings(numbers);
            out.retry = retry.then_some(true);
        }
        Action::Move { package, numbers } => {
            out.action = ActionKind::Move;
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
            out.from = numbers
                .iter()
                .filter_map(|n| {
                    inventory
                        .numbers
                        .get(n)
                        .map(|o| (n.to_string(), o.package.get()))
                })
                .collect();
        }
        Action::Disconnect { numbers } => {
            out.action = ActionKind::Disconnect;
            out.numbers = strings(numbers);
        }
    }
    out
}

fn held_report(held: &Held, set: &SetInput, inventory: &Inventory) -> HeldReport {
    let action = action_report(&held.action, inventory);
    let op = action.operation;
    let policy = op.as_str();
    let (hold, reason, until) = match &held.hold {
        Hold::Denied if op == Operation::Disconnect => (
            HoldKind::Denied,
            "disconnect policy is Deny: the numbers stay in the account".to_owned(),
            None,
        ),
        Hold::Denied => (HoldKind::Denied, format!("{policy} policy is Deny"), None),
        Hold::AwaitingApproval => (
            HoldKind::AwaitingApproval,
            format!("{policy} policy is Approve: waiting for approval of the set's plan hash"),
            None,
        ),
        Hold::Suspended => (
            HoldKind::Suspended,
            "spec.suspend is true: no vendor changes".to_owned(),
            None,
        ),
        Hold::OverBudget if op == Operation::Disconnect => (
            HoldKind::OverBudget,
            format!(
                "over maxDisconnectsPerSync ({}): continues in a later sync",
                set.limits.max_disconnects_per_sync
            ),
            None,
        ),
        Hold::OverBudget => (
            HoldKind::OverBudget,
            format!(
                "over maxPurchasesPerSync ({}): continues in a later sync",
                set.limits.max_purchases_per_sync
            ),
            None,
        ),
        Hold::Grace(until) => (
            HoldKind::GracePeriod,
            format!("inside disconnectGracePeriod until {until}"),
            Some(*until),
        ),
        Hold::UnsafeInventory(why) => (
            HoldKind::UnsafeInventory,
            format!("the inventory cannot be trusted for disconnects: {why}"),
            None,
        ),
        Hold::Unverified => (
            HoldKind::Unverified,
            "waiting for an inventory listing newer than the spec".to_owned(),
            None,
        ),
    };
    HeldReport {
        action,
        hold,
        reason,
        until,
    }
}
