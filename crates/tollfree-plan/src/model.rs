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
/// lead to buying twice or disconnecting what is not the set's (docs/safety.md, rules 3, 5 and 8).
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
    /// Owned numbers that a complete, trusted listing no longer shows, with
    /// when that was first seen. Such a number stays owned and is reported
    /// `Missing` (Stalled, `NumbersMissing`): it is never reserved, purchased
    /// or replaced by an `acquire` on its own — a listing that silently lacks
    /// a record must not cost a second purchase. It is resolved when the
    /// number shows again, or when a person confirms it is gone (annotation
    /// `tollfree.dev/forget-missing` set to [`missing_hash`](crate::missing_hash)),
    /// after which it is planned like any number the set does not own.
    #[serde(default)]
    pub missing: BTreeMap<E164, Timestamp>,
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
    /// For a Purchase intent without an order ID: when the vendor last refused
    /// a purchase of its reservation ("Number(s) not available") although an
    /// earlier attempt may have bought it, or when a reservation made to
    /// prove its numbers unbought was refused. Such a purchase is never sent
    /// again; instead the planner asks for a fresh reservation of the same
    /// numbers ([`Action::Reserve`] with `proves`): the vendor reserves only
    /// numbers nobody owns or has ordered, so its success proves nothing was
    /// bought, and its refusal keeps the intent until the inventory (or
    /// [`SETTLE_WINDOW`](crate::SETTLE_WINDOW)) decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Timestamp>,
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
    /// The value of annotation `tollfree.dev/forget-missing`, if any: when it
    /// equals [`missing_hash`](crate::missing_hash) of this set's memory, a
    /// person confirmed that the numbers in `memory.missing` are gone, and the
    /// set forgets them (a stale value, from an earlier incident, never matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_missing: Option<String>,
    /// When the operator first observed the set's current spec (its
    /// `metadata.generation`). A reservation (Reserve, Acquire) is decided
    /// only on a listing that started at or after this instant and covers what
    /// the decision depends on ([`Coverage`]): adopt-before-buy never relies on
    /// a listing older than the spec that asks for the number.
    #[serde(default = "epoch")]
    pub observed_since: Timestamp,
    /// What the set's status remembers.
    pub memory: Memory,
}

fn epoch() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

impl SetInput {
    /// This set as a *claims-only* participant: a set the caller cannot plan
    /// **for** (its credentials did not prove the account, or its spec or
    /// status does not convert) but must plan **around**.
    ///
    /// It claims exactly what the operator recorded it as owning or having in
    /// flight (`memory.owned` and the intents' numbers), each as *wanted*, so
    /// that no other set adopts, moves or disconnects them while the set cannot
    /// act (its Secret may be broken only for a while). Nothing it merely
    /// declares is claimed: a set that cannot act must not keep another set
    /// from a number it never had (a tenant cannot reserve numbers for itself
    /// by writing them into a set whose credentials fail). It is never
    /// deleting, it is suspended with no approval, and it has no `acquire`
    /// request, so its own plan, if computed, holds every vendor action and
    /// adopts nothing. Its age (`created`) decides ties as for any set.
    pub fn claims_only(mut self) -> SetInput {
        let first = self.packages.first().map(|p| p.package);
        let mut claimed: BTreeMap<E164, PackageId> = self
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
                    .or_else(|| {
                        self.packages
                            .iter()
                            .find(|p| p.numbers.contains(n))
                            .map(|p| p.package)
                    })
                    .or(first);
                // A number with no known package cannot be declared; it still
                // counts for `claimed_numbers` through the intent.
                if let Some(p) = package {
                    claimed.entry(n.clone()).or_insert(p);
                }
            }
        }
        let mut packages: Vec<PackageSpec> = Vec::new();
        for (n, package) in claimed {
            match packages.iter_mut().find(|p| p.package == package) {
                Some(p) => p.numbers.push(n),
                None => packages.push(PackageSpec {
                    package,
                    numbers: vec![n],
                    acquire: None,
                }),
            }
        }
        self.packages = packages;
        self.deleting = false;
        self.suspend = true;
        self.approved_hash = None;
        self.forget_missing = None;
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
    /// Absence is meaningful: the view rests on a full walk in which every
    /// page was read in one pass and every record understood (required before
    /// any decision that relies on a number being *absent*: a new purchase, a
    /// disconnect, declaring an owned number missing).
    pub complete: bool,
    /// When the listing finished.
    pub taken_at: Timestamp,
    /// What the account owns.
    pub numbers: BTreeMap<E164, Owned>,
    /// When which part of the account was last listed (for "fresh before buying").
    #[serde(default)]
    pub coverage: Coverage,
}

/// When each part of the account's inventory was last listed: the *start* of
/// the listing (a change made before that instant shows in it).
///
/// A reservation is decided only on a listing that covers it and started
/// after the set's spec was observed ([`SetInput::observed_since`]): an exact
/// number is covered by a full walk or a listing filtered to that number
/// (`like`); an `acquire` into a package by a full walk or a listing filtered
/// to that package (`packageID[]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// The last complete full walk.
    pub full: Option<Timestamp>,
    /// The last complete listing filtered to a package.
    #[serde(default)]
    pub packages: BTreeMap<PackageId, Timestamp>,
    /// The last complete listing filtered to an exact number.
    #[serde(default)]
    pub numbers: BTreeMap<E164, Timestamp>,
}

impl Coverage {
    /// When a listing that would show `number`, wherever it sits, last started.
    pub fn of_number(&self, number: &E164) -> Option<Timestamp> {
        self.full.max(self.numbers.get(number).copied())
    }

    /// When a listing of every number of `package` last started.
    pub fn of_package(&self, package: PackageId) -> Option<Timestamp> {
        self.full.max(self.packages.get(&package).copied())
    }
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
    /// The size of the last listing the operator trusted (complete, and
    /// plausible or confirmed by a person), if any: a sharp drop below it
    /// makes the listing untrusted. The caller must never replace it with the
    /// size of an untrusted listing — use [`Plan::trusted_count`] — so that a
    /// drop stays held however many listings repeat it.
    pub last_good_count: Option<usize>,
    /// A listing size a person confirmed (annotation
    /// `tollfree.dev/confirm-inventory` on a set of the account): a sharp
    /// drop to exactly this many numbers is trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_count: Option<usize>,
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
        /// A reservation that proves the numbers of this refused, unanswered
        /// purchase were never bought (see [`Intent::refused`]): on success the
        /// executor drops that Purchase intent and keeps the new reservation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proves: Option<ReservationId>,
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

impl Action {
    /// The numbers the action names (none for an `Acquire`, whose numbers
    /// the pool search finds).
    pub fn numbers(&self) -> &[E164] {
        match self {
            Action::Reserve { numbers, .. }
            | Action::Purchase { numbers, .. }
            | Action::Move { numbers, .. }
            | Action::Disconnect { numbers } => numbers,
            Action::Acquire { .. } => &[],
        }
    }

    /// The target package (none for a `Disconnect`).
    pub fn package(&self) -> Option<PackageId> {
        match self {
            Action::Reserve { package, .. }
            | Action::Acquire { package, .. }
            | Action::Purchase { package, .. }
            | Action::Move { package, .. } => Some(*package),
            Action::Disconnect { .. } => None,
        }
    }
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
    /// No listing that covers the decision started after the spec was
    /// observed ([`Coverage`]); the caller lists what the held action names
    /// (the reserved numbers, or the acquire's package) and plans again.
    Unverified,
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
    /// Owned, but a complete, trusted listing no longer shows it: never
    /// bought again automatically (see [`Memory::missing`]).
    Missing,
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
    /// Numbers the set owns are missing from a complete, trusted listing
    /// (see [`Memory::missing`]).
    NumbersMissing,
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
                | Reason::NumbersMissing
        )
    }

    /// The reason as a condition's `reason` (CamelCase, stable: alerts and
    /// health checks match on it).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Converged => "Converged",
            Reason::Progressing => "Progressing",
            Reason::Conflict => "Conflict",
            Reason::NumberUnavailable => "NumberUnavailable",
            Reason::BudgetExceeded => "BudgetExceeded",
            Reason::ApprovalPending => "ApprovalPending",
            Reason::PolicyDenied => "PolicyDenied",
            Reason::Suspended => "Suspended",
            Reason::InventoryUnsafe => "InventoryUnsafe",
            Reason::GracePeriod => "GracePeriod",
            Reason::OrderUnconfirmed => "OrderUnconfirmed",
            Reason::NumbersMissing => "NumbersMissing",
        }
    }

    /// Whether the Events of held actions already announce this reason (one
    /// Event per new hold), so that the condition change needs no Event of
    /// its own.
    pub fn is_announced_by_holds(self) -> bool {
        matches!(
            self,
            Reason::PolicyDenied
                | Reason::ApprovalPending
                | Reason::InventoryUnsafe
                | Reason::NumberUnavailable
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// Orders this plan saw settle in the inventory (their intents are gone
    /// from `memory`): the caller records them, so that no order is lost even
    /// when its answer was (a purchase's order ID then comes from the listing;
    /// a move's or disconnect's is known only by its referenceID).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settled: Vec<Settled>,
    /// Deleting, and nothing more to do: the finalizer may be removed.
    pub release: bool,
}

/// An order whose result the inventory shows (for all of its numbers, or for
/// the part `numbers` names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    /// What the order did.
    pub kind: IntentKind,
    /// The numbers the inventory shows settled.
    pub numbers: Vec<E164>,
    /// The target package (purchase, move).
    pub package: Option<PackageId>,
    /// The vendor's order ID: from its answer or, for a purchase whose answer
    /// was lost, from the listing's `orderID` when every settled number
    /// carries the same one. `None` when neither says.
    pub order_id: Option<OrderId>,
    /// The referenceID sent with the order (how a person finds an order whose
    /// ID is unknown in the vendor's portal).
    pub reference_id: Option<String>,
    /// When it was (last) sent.
    pub started: Timestamp,
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
    /// Account numbers no set owns or declares (left alone; docs/safety.md, rule 2).
    pub unowned: usize,
    /// The listing size to keep as the account's trusted count: this
    /// listing's when it is trusted ([`inventory_check`](crate::inventory_check)),
    /// else the previous one, unchanged.
    pub trusted_count: Option<usize>,
    /// Whether this listing passed [`inventory_check`](crate::inventory_check):
    /// when it did not, the operator looks again sooner.
    pub trusted: bool,
}
