//! The planner's vocabulary: what it is given (desired sets, the observed
//! inventory, what each set remembers from its status) and what it returns (a
//! plan of vendor actions per set, number states and condition reasons).
//!
//! These types carry no Kubernetes or HTTP concepts: the operator translates its
//! CRD and status into them (`src/reconcile`), and the `plan` CLI does the same
//! from manifests. Everything is ordered (`BTreeMap`, sorted `Vec`s) so that a
//! plan is deterministic and its hash stable.

use std::collections::BTreeMap;

use intelepeer::{E164, Npa, OrderId, PackageId, ReservationId};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Identifies a TollFreeNumberSet: `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SetId {
    /// The set's namespace.
    pub namespace: String,
    /// The set's name.
    pub name: String,
}

impl std::fmt::Display for SetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What a policy says about one kind of operation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum Mode {
    /// Do it.
    #[default]
    Auto,
    /// Wait for approval by plan hash (annotation `tollfree.dev/approve`).
    Approve,
    /// Never do it; report it.
    Deny,
}

/// Per-operation policy of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Buying numbers (reserve + purchase).
    pub purchase: Mode,
    /// Changing a number's package.
    pub r#move: Mode,
    /// Disconnecting numbers that left the spec (default Deny).
    pub disconnect: Mode,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            purchase: Mode::Auto,
            r#move: Mode::Auto,
            disconnect: Mode::Deny,
        }
    }
}

/// Per-sync budgets of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Numbers purchased by one reconcile at most.
    pub max_purchases_per_sync: u32,
    /// Numbers disconnected by one reconcile at most.
    pub max_disconnects_per_sync: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_purchases_per_sync: 25,
            max_disconnects_per_sync: 5,
        }
    }
}

/// Fields sent with every order of a set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrderDefaults {
    /// The service area (1..5) sent with purchases.
    pub service_area: u8,
    /// Provision to the customer's RespOrg.
    pub my_resp_org: bool,
    /// Who the vendor notifies about the order.
    pub email: Option<String>,
    /// Free-form notes for the vendor.
    pub notes: Option<String>,
}

/// Which pool numbers an `acquire` request wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Match {
    /// Any of these area codes.
    Npa(Vec<Npa>),
    /// Numbers starting with this prefix, e.g. `+1888555`.
    Like(String),
}

impl Match {
    /// Whether an owned number satisfies the filter.
    pub fn matches(&self, number: &E164) -> bool {
        match self {
            Match::Npa(npas) => npas.contains(&number.npa()),
            Match::Like(prefix) => number.as_str().starts_with(prefix.as_str()),
        }
    }
}

/// "N more numbers like this": search, reserve, purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acquire {
    /// How many numbers the package must hold through this request (1..100).
    pub count: u32,
    /// Which numbers qualify.
    pub filter: Match,
    /// The numbers must be one contiguous run.
    pub sequential: bool,
}

/// One `spec.packages[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSpec {
    /// The package (route profile) the numbers must sit in.
    pub package: PackageId,
    /// Exact numbers: adopted if owned, else reserved and purchased.
    pub numbers: Vec<E164>,
    /// Numbers to acquire by search.
    pub acquire: Option<Acquire>,
}

/// What the set's own status remembers between reconciles. Losing it must never
/// lead to buying twice or disconnecting what is not the set's (DESIGN.md §3.3–3.5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Memory {
    /// Numbers this set owns (it declared or acquired them and saw them in the
    /// inventory), with how it came to own them. Only these may ever be
    /// disconnected by this set.
    pub owned: BTreeMap<E164, Ownership>,
    /// Write-ahead intents: vendor mutations recorded before they were sent,
    /// and not yet confirmed by the inventory.
    pub intents: Vec<Intent>,
    /// When each number was first seen leaving the spec (for the grace period).
    pub leaving_since: BTreeMap<E164, Timestamp>,
    /// Declared numbers the vendor refused to reserve ("Number(s) not
    /// available"), with when it refused. The executor fills it when it drops
    /// the failed Reserve intent; the planner reports such a number
    /// `Unavailable` (Stalled, `NumberUnavailable`) and plans a new reservation
    /// only after [`UNAVAILABLE_RETRY`](crate::UNAVAILABLE_RETRY) has passed.
    /// The planner forgets an entry once the number is owned or no longer declared.
    #[serde(default)]
    pub unavailable: BTreeMap<E164, Timestamp>,
}

/// How a set came to own a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// The package the set last wanted it in.
    pub package: PackageId,
    /// `true` when it was bought or adopted for an `acquire` request rather than listed.
    pub acquired: bool,
}

/// The kind of a vendor mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IntentKind {
    /// `POST /carrier/tf/reservations`.
    Reserve,
    /// `POST /my/tf/orders` by reservation.
    Purchase,
    /// `POST /my/tf/package`.
    Move,
    /// `POST /my/tf/disconnect`.
    Disconnect,
}

/// A vendor mutation recorded in status before it was sent (write-ahead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// What was (about to be) sent.
    pub kind: IntentKind,
    /// The numbers it concerns.
    pub numbers: Vec<E164>,
    /// The target package (reserve/purchase/move).
    pub package: Option<PackageId>,
    /// The client-chosen reservation ID (reserve, purchase).
    pub reservation_id: Option<ReservationId>,
    /// When the reservation expires, once the vendor answered. When the
    /// vendor refuses a re-sent purchase of it ("Number(s) not available":
    /// already ordered, or lapsed), the executor sets it to the time of that
    /// answer — the reservation holds nothing any more, so it is not re-sent again.
    pub reserved_until: Option<Timestamp>,
    /// The referenceID sent with the order (purchase, move, disconnect).
    pub reference_id: Option<String>,
    /// The order ID, once the vendor answered.
    pub order_id: Option<OrderId>,
    /// `true` when made for an `acquire` request.
    pub acquired: bool,
    /// When the intent was recorded; for a purchase, when it was last sent
    /// (written ahead of each attempt).
    pub started: Timestamp,
}

/// One set as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetInput {
    /// `namespace/name`.
    pub id: SetId,
    /// For the ownership tie-break (older wins, then `id`).
    pub created: Timestamp,
    /// The set is being deleted (finalizer pending).
    pub deleting: bool,
    /// `spec.suspend`: no vendor mutations.
    pub suspend: bool,
    /// `spec.packages`.
    pub packages: Vec<PackageSpec>,
    /// `spec.policy`.
    pub policy: Policy,
    /// `spec.disconnectGracePeriod`.
    pub grace: Option<SignedDuration>,
    /// `spec.limits`.
    pub limits: Limits,
    /// `spec.orderDefaults`.
    pub order_defaults: OrderDefaults,
    /// The value of annotation `tollfree.dev/approve`, if any.
    pub approved_hash: Option<String>,
    /// What the set's status remembers.
    pub memory: Memory,
}

impl SetInput {
    /// This set as a *claims-only* participant: a set the caller cannot plan
    /// **for** (its vendor account is unknown — its Secret cannot be read — or
    /// its spec or status does not convert) but must plan **around** (DESIGN.md
    /// §3.1–3.2: never touch what may belong to another set).
    ///
    /// Everything it declares, owns or has in flight is claimed as *wanted*: whether it still
    /// declares an owned number is unknown, so nothing of it is handed over to
    /// a younger set (a younger set declaring it reports `Conflict`). It is
    /// never deleting (its numbers are not leaving while nobody can tell) and
    /// it is suspended with no approval, so its own plan, if computed, holds
    /// every vendor action. Its age (`created`) decides ties as for any set.
    pub fn claims_only(mut self) -> SetInput {
        let first = self.packages.first().map(|p| p.package);
        let mut claimed: Vec<(E164, PackageId)> = self
            .memory
            .owned
            .iter()
            .map(|(n, o)| (n.clone(), o.package))
            .collect();
        for intent in &self.memory.intents {
            for n in &intent.numbers {
                let package = intent
                    .package
                    .or_else(|| self.memory.owned.get(n).map(|o| o.package))
                    .or(first);
                // A number with no known package cannot be declared; it still
                // counts for `claimed_numbers` through the intent.
                if let Some(p) = package {
                    claimed.push((n.clone(), p));
                }
            }
        }
        for (n, package) in claimed {
            if self.packages.iter().any(|p| p.numbers.contains(&n)) {
                continue;
            }
            match self.packages.iter_mut().find(|p| p.package == package) {
                Some(p) => p.numbers.push(n),
                None => self.packages.push(PackageSpec {
                    package,
                    numbers: vec![n],
                    acquire: None,
                }),
            }
        }
        self.deleting = false;
        self.suspend = true;
        self.approved_hash = None;
        self
    }
}

/// One number the account owns, as listed by `GET /my/tf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    /// Its current package.
    pub package: PackageId,
    /// The order that brought it into the account, if the vendor says.
    pub order_id: Option<OrderId>,
}

/// The account's inventory at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// Every page was read in one pass (required before any disconnect).
    pub complete: bool,
    /// When the listing finished.
    pub taken_at: Timestamp,
    /// What the account owns.
    pub numbers: BTreeMap<E164, Owned>,
}

/// Everything the planner needs for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    /// The clock.
    pub now: Timestamp,
    /// Every set of the account (the planner does not depend on their order).
    pub sets: Vec<SetInput>,
    /// The observed inventory.
    pub inventory: Inventory,
    /// The size of the last complete listing the operator trusted, if any:
    /// a sharp drop since then blocks disconnects (DESIGN.md §3.5).
    pub last_good_count: Option<usize>,
}

/// A vendor mutation the planner wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Reserve exact numbers (declared, not owned) for `package`. The executor
    /// records the intent with a fresh reservation ID first.
    Reserve {
        /// Target package of the later purchase.
        package: PackageId,
        /// The numbers.
        numbers: Vec<E164>,
    },
    /// Search the pool for `count` numbers matching `filter`, then reserve them
    /// (one intent per reservation, recorded before the reserve call).
    Acquire {
        /// Target package.
        package: PackageId,
        /// How many to find.
        count: u32,
        /// Which numbers qualify.
        filter: Match,
        /// One contiguous run.
        sequential: bool,
    },
    /// Purchase what a recorded reservation holds.
    Purchase {
        /// Target package.
        package: PackageId,
        /// The reservation (already recorded in an intent).
        reservation_id: ReservationId,
        /// The reserved numbers.
        numbers: Vec<E164>,
        /// `false`: the first purchase of a recorded Reserve intent. `true`:
        /// the same purchase (same reservation, referenceID and package) sent
        /// again for a Purchase intent that never got an order ID and whose
        /// numbers are not in the inventory, while the reservation is live
        /// (see [`PURCHASE_RETRY_DELAY`](crate::PURCHASE_RETRY_DELAY)). The
        /// vendor buys a reservation at most once, so this cannot buy twice.
        #[serde(default, skip_serializing_if = "is_false")]
        retry: bool,
    },
    /// Change the package of owned numbers.
    Move {
        /// Target package.
        package: PackageId,
        /// The numbers (all currently elsewhere).
        numbers: Vec<E164>,
    },
    /// Disconnect numbers this set owns.
    Disconnect {
        /// The numbers.
        numbers: Vec<E164>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why an action is not executed now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hold {
    /// The policy for this operation is `Deny`.
    Denied,
    /// The policy is `Approve` and the plan's hash is not approved.
    AwaitingApproval,
    /// `spec.suspend` is true.
    Suspended,
    /// Over `maxPurchasesPerSync` / `maxDisconnectsPerSync`; runs in a later sync.
    OverBudget,
    /// Inside `disconnectGracePeriod` until this time.
    Grace(Timestamp),
    /// The inventory listing is incomplete or implausible, so no disconnect.
    UnsafeInventory(String),
}

/// An action the planner decided on but will not execute now, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The action.
    pub action: Action,
    /// Why it waits.
    pub hold: Hold,
}

/// The state of one number in a set's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NumberState {
    /// In the account, in the wanted package.
    Active,
    /// Reserved; purchase pending.
    Reserved,
    /// Purchase ordered; not in the inventory yet.
    Purchasing,
    /// Package change ordered or held.
    Moving,
    /// Left the spec; waiting for the grace period, policy or approval.
    PendingDisconnect,
    /// Disconnect ordered.
    Disconnecting,
    /// Not in the account and the vendor says it cannot be had.
    Unavailable,
    /// Declared by an older set too; this set leaves it alone.
    Conflict,
    /// Wanted but a policy, budget or suspend stops the next step.
    Blocked,
}

/// A number's line in a set's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberStatus {
    /// The number.
    pub number: E164,
    /// The package it should sit in (or sits in, when leaving).
    pub package: PackageId,
    /// Where it stands.
    pub state: NumberState,
    /// The last order concerning it.
    pub order_id: Option<OrderId>,
    /// The reservation holding it.
    pub reservation_id: Option<ReservationId>,
    /// When that reservation expires.
    pub reserved_until: Option<Timestamp>,
    /// One line for a person.
    pub message: String,
}

/// Why a set is not Ready (kstatus `Stalled` / `Reconciling` reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// Converged.
    Converged,
    /// Orders or actions in flight.
    Progressing,
    /// A number is claimed by an older set.
    Conflict,
    /// A declared number cannot be bought.
    NumberUnavailable,
    /// Over a per-sync budget (progress continues next sync).
    BudgetExceeded,
    /// Actions wait for `tollfree.dev/approve`.
    ApprovalPending,
    /// A `Deny` policy stops an action.
    PolicyDenied,
    /// `spec.suspend`.
    Suspended,
    /// Disconnects held because the listing was incomplete or implausible.
    InventoryUnsafe,
    /// Waiting for a disconnect grace period.
    GracePeriod,
    /// A purchase was ordered (or may have been: the answer was lost) but its
    /// numbers are still not in the inventory after
    /// [`SETTLE_WINDOW`](crate::SETTLE_WINDOW) since it was last sent. The
    /// planner never buys again on its own (it re-sends the same purchase only
    /// while the reservation is live, which cannot buy twice): a person checks
    /// the order with the vendor.
    OrderUnconfirmed,
}

impl Reason {
    /// Whether the reason needs a person (kstatus `Stalled=True`), as opposed to
    /// progress that continues on its own (`Reconciling`) or `Converged`.
    pub fn is_stalled(self) -> bool {
        matches!(
            self,
            Reason::Conflict
                | Reason::NumberUnavailable
                | Reason::PolicyDenied
                | Reason::ApprovalPending
                | Reason::InventoryUnsafe
                | Reason::OrderUnconfirmed
        )
    }
}

/// The planner's verdict for one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPlan {
    /// The set.
    pub id: SetId,
    /// Actions to execute now (after policy, suspend, approval and budgets).
    pub actions: Vec<Action>,
    /// Actions decided but held, with why.
    pub held: Vec<Held>,
    /// Content hash of the actions that need approval (empty when none do).
    pub hash: String,
    /// Per-number status lines, sorted by number.
    pub numbers: Vec<NumberStatus>,
    /// The main reason for the set's conditions.
    pub reason: Reason,
    /// One line for a person explaining `reason`.
    pub message: String,
    /// The memory to record in status (ownership learned, intents resolved).
    pub memory: Memory,
    /// Deleting, and nothing more to do: the finalizer may be removed.
    pub release: bool,
}

impl SetPlan {
    /// Nothing to execute and nothing held.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.held.is_empty()
    }
}

/// The plan for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// One entry per input set, sorted by id.
    pub sets: Vec<SetPlan>,
    /// Account numbers no set owns or declares (left alone; DESIGN.md §3.2).
    pub unowned: usize,
}
