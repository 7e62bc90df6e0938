//! The `TollFreeNumberSet` custom resource (group `tollfree.dev`, version `v1alpha1`).
//!
//! What users write (`spec`, the README) and what the operator reports (`status`,
//! the README's "What you see"). Every field's doc comment becomes its `description`, so
//! `kubectl explain tfns.spec.packages.acquire` reads like this file.
//!
//! The spec is validated at admission by the schema (sizes, enums) and by CEL rules
//! with messages a person can act on. The rules live next to the fields they check;
//! `#[kube(cel)]` lets the unit tests run them without a cluster
//! ([`TollFreeNumberSet::validate_cel`]). The spec keeps plain strings and integers:
//! an object that slipped past admission (say, stored before the CRD was updated)
//! must still decode, so that the operator can report it instead of failing its
//! watch. Domain types are parsed once, in [`crate::convert`].
//!
//! The status is the set's memory between reconciles (owned numbers, write-ahead
//! intents, grace-period clocks). It round-trips through JSON exactly: the
//! reconciler rebuilds the planner's memory from it after a crash.
//!
//! The cross-package uniqueness rule uses `flatten()` and `distinct()` of the CEL
//! lists extension, which Kubernetes 1.36 serves.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The API group.
pub const GROUP: &str = "tollfree.dev";
/// The API version.
pub const VERSION: &str = "v1alpha1";
/// The annotation whose value approves a plan by its hash (docs/safety.md, rule 10).
pub const APPROVE_ANNOTATION: &str = "tollfree.dev/approve";
/// The annotation whose value, the hash the set's condition names, confirms
/// that the set's missing numbers are gone (they are then planned afresh).
pub const FORGET_MISSING_ANNOTATION: &str = "tollfree.dev/forget-missing";
/// The annotation, on any set of an account, whose value confirms a new
/// listing size after a sharp drop (the count the condition names).
pub const CONFIRM_INVENTORY_ANNOTATION: &str = "tollfree.dev/confirm-inventory";
/// The finalizer guarding deletion (docs/safety.md, rule 11).
pub const FINALIZER: &str = "tollfree.dev/cleanup";
/// How many orders of numbers the set no longer owns `status.orders` keeps
/// (newest first); orders of numbers it still owns are always kept.
pub const MAX_ORDERS: usize = 50;

/// Most numbers one set may hold: its exact numbers plus its acquire counts.
/// Chosen so that the largest admitted set, in its worst state (every number
/// with an intent, a reservation and a message, every order kept), writes a
/// status well under etcd's 1.5 MiB request limit (`status::tests::the_largest_set_s_worst_status_fits_well_under_the_request_limit`
/// measures it); larger sets are refused at admission with a message that
/// says to split them, and by the operator for sets stored before.
pub const MAX_SET_NUMBERS: usize = 1000;

/// Most packages one set may list (bounds the CEL cost estimate).
pub const MAX_PACKAGES: usize = 100;
/// Most exact numbers one package entry may list (bounds the CEL cost estimate).
pub const MAX_NUMBERS_PER_PACKAGE: usize = 1000;
/// Up to this many exact numbers per set, admission refuses a number listed in two
/// packages. The check is quadratic in the apiserver's CEL cost model, so larger
/// sets skip it; [`crate::spec`] refuses them for every set.
pub const MAX_ADMISSION_CHECKED_NUMBERS: usize = 500;

/// The default `orderDefaults.serviceArea`: 4, the value of every example in the
/// vendor's reference.
pub const DEFAULT_SERVICE_AREA: i32 = 4;
/// The default `limits.maxPurchasesPerSync`.
pub const DEFAULT_MAX_PURCHASES_PER_SYNC: i32 = 25;
/// The default `limits.maxDisconnectsPerSync`.
pub const DEFAULT_MAX_DISCONNECTS_PER_SYNC: i32 = 5;

/// A toll-free number in E.164 form, as a regular expression (also used by CEL).
pub const NUMBER_PATTERN: &str = r"^\+1(800|833|844|855|866|877|888)[0-9]{7}$";
/// A prefix of a toll-free number, for `acquire.like`.
pub const LIKE_PATTERN: &str = r"^\+1(800|833|844|855|866|877|888)[0-9]{0,7}$";
/// A Go duration without sign, e.g. `72h`, `30m`, `1h30m`, `1.5h`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$";
/// A DNS-1123 subdomain (the name of a Secret).
pub const DNS1123_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// The message of the number rule; also used by [`crate::convert`].
pub const NUMBER_MESSAGE: &str =
    "numbers must be E.164 toll-free, like +18005550100 (NPA 800, 833, 844, 855, 866, 877 or 888)";

/// A set of IntelePeer toll-free numbers, kept in the declared packages by the
/// operator: exact numbers are adopted (or reserved and purchased), `acquire`
/// requests are searched, reserved and purchased, and numbers leaving the set are
/// retained or disconnected according to `policy`.
// Each `printcolumn(...)` repeats `type_ = ...`; clippy takes them for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "tollfree.dev",
    version = "v1alpha1",
    kind = "TollFreeNumberSet",
    plural = "tollfreenumbersets",
    shortname = "tfns",
    namespaced,
    status = "TollFreeNumberSetStatus",
    derive = "PartialEq",
    cel,
    doc = "A set of IntelePeer toll-free numbers kept by tollfree-operator in the declared packages (route profiles).",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the account matches the spec"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desired",
        description = "Numbers the spec asks for"
    ),
    printcolumn(
        name = "Active",
        type_ = "integer",
        json_path = ".status.active",
        description = "Numbers in the account, in the wanted package"
    ),
    printcolumn(
        name = "Pending",
        type_ = "integer",
        json_path = ".status.pending",
        description = "Numbers with a change planned or in flight"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the set is (not) ready",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct TollFreeNumberSetSpec {
    /// The Secret (in this set's namespace) holding the IntelePeer credentials:
    /// keys `username` and `password`, or a static `token`.
    pub account_ref: AccountRef,

    /// The packages (route profiles) and the numbers each must hold. A number may
    /// appear only once in a set, and each packageID only once. (Admission checks
    /// numbers across packages for sets of up to 500 numbers, where the check fits
    /// the apiserver's CEL budget; the operator checks every set.)
    #[schemars(length(min = 1, max = 100))]
    #[x_kube(
        validation = Rule::new("self.map(p, has(p.numbers) ? size(p.numbers) : 0).sum() > 500 || self.map(p, has(p.numbers) ? p.numbers : []).flatten().distinct().size() == self.map(p, has(p.numbers) ? p.numbers : []).flatten().size()")
            .message("a number may appear only once in a set (across all packages)"),
        validation = Rule::new("self.all(a, self.exists_one(b, b.packageID == a.packageID))")
            .message("each packageID may appear only once; put all numbers of a package in one entry"),
        validation = Rule::new("self.map(p, (has(p.numbers) ? size(p.numbers) : 0) + (has(p.acquire) ? p.acquire.count : 0)).sum() <= 1000")
            .message("a set may hold at most 1000 numbers (exact numbers plus acquire counts): split it into several sets")
    )]
    pub packages: Vec<PackageEntry>,

    /// Fields sent with every purchase order.
    #[serde(default)]
    pub order_defaults: OrderDefaultsSpec,

    /// What the operator may do on its own, per operation: Auto (do it), Approve
    /// (wait for annotation tollfree.dev/approve set to the plan's hash) or Deny
    /// (never; report it).
    #[serde(default)]
    pub policy: PolicySpec,

    /// How long a number that left the spec waits before it is disconnected, as a Go
    /// duration (e.g. 72h, 30m, 1h30m). Re-adding the number cancels the disconnect.
    /// Only matters when policy.disconnect is not Deny.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        validation = Rule::new(r"self.matches('^([0-9]+(\\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$')")
            .message("disconnectGracePeriod must be a duration like 72h, 30m or 1h30m (units ns, us, ms, s, m, h)")
    )]
    pub disconnect_grace_period: Option<String>,

    /// Per-reconcile budgets: a larger change is spread over several syncs.
    #[serde(default)]
    pub limits: LimitsSpec,

    /// While true the operator makes no vendor changes (it still observes and reports
    /// the plan). A suspended set can always be deleted.
    #[serde(default)]
    pub suspend: bool,
}

/// A reference to a Secret in the set's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccountRef {
    /// The Secret's name.
    #[schemars(length(max = 253))]
    #[x_kube(
        validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')")
            .message("accountRef.name must be a Secret name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit")
    )]
    pub name: String,
}

/// One package (route profile) and the numbers it must hold.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("(has(self.numbers) && size(self.numbers) > 0) || has(self.acquire)")
        .message("a package needs numbers, acquire, or both")
)]
pub struct PackageEntry {
    /// The IntelePeer package (route profile) ID the numbers must sit in.
    #[serde(rename = "packageID")]
    #[x_kube(
        validation = Rule::new("self > 0")
            .message("packageID must be a positive IntelePeer package (route profile) ID")
    )]
    pub package_id: i64,

    /// Exact numbers in E.164 form (+1 and ten digits, toll-free NPA). A number the
    /// account already owns is adopted (moved here if needed), never bought again;
    /// any other is reserved and purchased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "numbers_schema")]
    pub numbers: Vec<String>,

    /// "N numbers like this": numbers already in this package that match count
    /// first; only the rest is searched, reserved and purchased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire: Option<AcquireSpec>,
}

/// A request for numbers found by search.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.npa) != has(self.like)")
        .message("acquire needs exactly one of npa (area codes) or like (a number prefix)")
)]
pub struct AcquireSpec {
    /// How many numbers this package must hold through this request (1..100).
    #[x_kube(validation = Rule::new("self >= 1 && self <= 100").message("count must be between 1 and 100"))]
    pub count: i32,

    /// Any of these toll-free area codes (800, 833, 844, 855, 866, 877, 888).
    /// Mutually exclusive with like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 7))]
    #[x_kube(
        validation = Rule::new("self.all(n, n in [800, 833, 844, 855, 866, 877, 888])")
            .message("npa values must be toll-free area codes: 800, 833, 844, 855, 866, 877 or 888")
    )]
    pub npa: Option<Vec<i32>>,

    /// Numbers starting with this prefix, e.g. +1888555. Mutually exclusive with npa.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 12))]
    #[x_kube(
        validation = Rule::new(r"self.matches('^\\+1(800|833|844|855|866|877|888)[0-9]{0,7}$')")
            .message("like must be a toll-free prefix such as +1888 or +1888555 (+1, a toll-free NPA, up to 7 more digits)")
    )]
    pub like: Option<String>,

    /// The numbers must be one contiguous run (e.g. +18885550100..+18885550102).
    #[serde(default)]
    pub sequential: bool,
}

/// Fields sent with every purchase order.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderDefaultsSpec {
    /// The vendor's service area for purchased numbers, 1..5 (default 4, as in the
    /// vendor's examples).
    #[serde(default = "default_service_area")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 5").message("serviceArea must be 1, 2, 3, 4 or 5"))]
    pub service_area: i32,

    /// Provision the numbers to your own RespOrg.
    #[serde(default)]
    pub my_resp_org: bool,

    /// Who the vendor notifies about each order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254))]
    #[x_kube(
        validation = Rule::new(r"self.matches('^[^@\\s]+@[^@\\s]+$')")
            .message("email must be an address like noc@example.com")
    )]
    pub email: Option<String>,

    /// Free-form notes sent with each order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub notes: Option<String>,
}

impl Default for OrderDefaultsSpec {
    fn default() -> Self {
        Self {
            service_area: DEFAULT_SERVICE_AREA,
            my_resp_org: false,
            email: None,
            notes: None,
        }
    }
}

fn default_service_area() -> i32 {
    DEFAULT_SERVICE_AREA
}

/// What the operator may do on its own, per kind of vendor change.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// Buying numbers (search, reserve, purchase). Default Auto.
    #[serde(default = "auto")]
    pub purchase: PolicyMode,
    /// Moving owned numbers to another package. Default Auto.
    #[serde(default = "auto", rename = "move")]
    pub r#move: PolicyMode,
    /// Disconnecting numbers this set owned that left the spec, or all of them when
    /// the set is deleted. Default Deny: such numbers are retained.
    #[serde(default = "deny")]
    pub disconnect: PolicyMode,
}

impl Default for PolicySpec {
    fn default() -> Self {
        Self {
            purchase: PolicyMode::Auto,
            r#move: PolicyMode::Auto,
            disconnect: PolicyMode::Deny,
        }
    }
}

fn auto() -> PolicyMode {
    PolicyMode::Auto
}

fn deny() -> PolicyMode {
    PolicyMode::Deny
}

/// What a policy allows: `Auto` (do it), `Approve` (wait for approval by plan hash)
/// or `Deny` (never; report it).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyMode {
    /// Do it.
    #[default]
    Auto,
    /// Wait until annotation tollfree.dev/approve holds the plan's hash.
    Approve,
    /// Never do it; report it.
    Deny,
}

/// Per-reconcile budgets.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LimitsSpec {
    /// Numbers purchased by one reconcile at most (default 25; 0 = never buy).
    #[serde(default = "default_max_purchases")]
    #[x_kube(validation = Rule::new("self >= 0").message("maxPurchasesPerSync must be 0 or more"))]
    pub max_purchases_per_sync: i32,
    /// Numbers disconnected by one reconcile at most (default 5; 0 = never disconnect).
    #[serde(default = "default_max_disconnects")]
    #[x_kube(validation = Rule::new("self >= 0").message("maxDisconnectsPerSync must be 0 or more"))]
    pub max_disconnects_per_sync: i32,
}

impl Default for LimitsSpec {
    fn default() -> Self {
        Self {
            max_purchases_per_sync: DEFAULT_MAX_PURCHASES_PER_SYNC,
            max_disconnects_per_sync: DEFAULT_MAX_DISCONNECTS_PER_SYNC,
        }
    }
}

fn default_max_purchases() -> i32 {
    DEFAULT_MAX_PURCHASES_PER_SYNC
}

fn default_max_disconnects() -> i32 {
    DEFAULT_MAX_DISCONNECTS_PER_SYNC
}

/// `packages[].numbers`: bounded, a set (the apiserver itself refuses a repeated
/// number, at no CEL cost), and every item checked by a CEL rule whose message
/// names the rule (a schema `pattern` would only echo the regex).
fn numbers_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "maxItems": MAX_NUMBERS_PER_PACKAGE,
        "x-kubernetes-list-type": "set",
        "items": {
            "type": "string",
            "maxLength": 16,
            "x-kubernetes-validations": [{
                "rule": r"self.matches('^\\+1(800|833|844|855|866|877|888)[0-9]{7}$')",
                "message": NUMBER_MESSAGE,
            }],
        },
    })
}

/// A timestamp with full precision (RFC 3339). `metav1.Time` would truncate to
/// seconds, and the memory in status must round-trip exactly.
fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

/// An optional [`date_time`].
fn optional_date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time", "nullable": true})
}

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

/// What the operator observed and decided, and what it must remember.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TollFreeNumberSetStatus {
    /// kstatus conditions: Ready (True when the account matches the spec),
    /// Reconciling (changes in flight), Stalled (a person must act: conflict,
    /// unavailable number, approval, policy, budget, credentials...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// The IntelePeer login whose account this status's numbers and intents
    /// belong to (`user NAME`, or `token` and a fingerprint), written once the
    /// set's own credentials were proven with the vendor. While the Secret is
    /// broken, what this status owns stays protected in that account; a set
    /// whose Secret now proves another login starts afresh there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 300))]
    pub account: Option<String>,

    /// Numbers the spec asks for (exact numbers plus acquire counts).
    #[serde(default)]
    #[schemars(with = "i32")]
    pub desired: u32,

    /// Numbers in the account, in the wanted package.
    #[serde(default)]
    #[schemars(with = "i32")]
    pub active: u32,

    /// Numbers with a change planned or in flight (reserve, purchase, move,
    /// disconnect), including numbers still to be found for acquire requests.
    #[serde(default)]
    #[schemars(with = "i32")]
    pub pending: u32,

    /// When the operator last planned this set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub last_sync_time: Option<Timestamp>,

    /// How many numbers the account held at the last complete inventory listing the
    /// operator trusted; a sharp drop below it blocks disconnects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub inventory_count: Option<u64>,

    /// Every number of the set, sorted: where it stands, and what the set remembers
    /// about it (owned, acquired, leavingSince, unavailableSince).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<NumberEntry>,

    /// Vendor orders this set caused, newest first (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<OrderRecord>,

    /// The actions the operator wants now, and those it holds back and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanStatus>,

    /// Write-ahead intents: vendor changes recorded before they were sent and not
    /// yet confirmed by the inventory. After a crash they are resolved against the
    /// inventory before anything is retried, so nothing is bought twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<IntentRecord>,
}

/// One number of the set.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct NumberEntry {
    /// The number, E.164.
    pub number: String,

    /// The package it should sit in (or sits in, when leaving the set).
    #[serde(default, rename = "packageID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub package_id: Option<u64>,

    /// Where it stands. Absent for a number the set only remembers (owned, but not
    /// part of the current plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<NumberState>,

    /// The last vendor order concerning it.
    #[serde(default, rename = "orderID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub order_id: Option<u64>,

    /// The reservation holding it.
    #[serde(
        default,
        rename = "reservationID",
        skip_serializing_if = "Option::is_none"
    )]
    pub reservation_id: Option<String>,

    /// When that reservation expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub reserved_until: Option<Timestamp>,

    /// One line for a person.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,

    /// The set owns it (declared or acquired it and saw it in the account): only
    /// owned numbers may ever be disconnected by this set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owned: bool,

    /// It was bought or adopted for an acquire request rather than listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acquired: bool,

    /// The package the set last wanted it in, when that differs from packageID.
    #[serde(
        default,
        rename = "ownedPackageID",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<i64>")]
    pub owned_package_id: Option<u64>,

    /// When it was first seen leaving the spec (the grace period counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub leaving_since: Option<Timestamp>,

    /// When the vendor refused to reserve it ("not available"); the operator tries
    /// again an hour later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub unavailable_since: Option<Timestamp>,

    /// When a complete inventory listing first no longer showed this owned number.
    /// It is never bought again on its own: it returns to Active when listed again,
    /// or is forgotten when a person sets annotation tollfree.dev/forget-missing to
    /// the hash the Ready condition names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub missing_since: Option<Timestamp>,
}

/// Where a number stands.
#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum NumberState {
    /// In the account, in the wanted package.
    Active,
    /// Reserved; purchase pending.
    Reserved,
    /// Purchase ordered; not in the account yet.
    Purchasing,
    /// Package change ordered or planned.
    Moving,
    /// Left the spec; waiting for the grace period, policy or approval.
    PendingDisconnect,
    /// Disconnect ordered.
    Disconnecting,
    /// Not in the account, and the vendor says it cannot be had.
    Unavailable,
    /// An older set declares it too; this set leaves it alone.
    Conflict,
    /// Wanted, but a policy, budget or suspend stops the next step.
    Blocked,
    /// Owned, but a complete listing of the account no longer shows it: a person
    /// confirms it gone (annotation tollfree.dev/forget-missing) or it returns.
    Missing,
}

/// A vendor order this set caused.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    /// The vendor's order ID. Absent when the vendor's answer was lost and the
    /// inventory does not tell (a move or a disconnect): referenceID then
    /// identifies the order in the vendor's portal.
    #[serde(default, rename = "orderID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub order_id: Option<u64>,
    /// The referenceID the operator sent with the order.
    #[serde(
        default,
        rename = "referenceID",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_id: Option<String>,
    /// Purchase, Move or Disconnect.
    #[serde(rename = "type")]
    pub type_: OrderType,
    /// Pending until the inventory shows the result, then Completed.
    pub status: OrderStatus,
    /// When the order was placed.
    #[schemars(schema_with = "date_time")]
    pub created: Timestamp,
    /// The numbers it concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    /// The target package (purchase, move).
    #[serde(default, rename = "packageID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub package_id: Option<u64>,
}

/// The kind of a vendor order.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// Numbers bought by reservation.
    Purchase,
    /// Numbers moved to another package.
    Move,
    /// Numbers disconnected.
    Disconnect,
}

/// How far an order got, as far as the operator can tell (the vendor has no
/// order-status endpoint: completion is seen in the inventory).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Accepted by the vendor; the inventory does not show the result yet.
    Pending,
    /// The inventory shows the result.
    Completed,
    /// The vendor or the inventory says it did not happen.
    Failed,
}

/// The actions the planner decided on, as a person reads them.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PlanStatus {
    /// The content hash of the actions that need approval. Approve them with
    /// `kubectl annotate tfns NAME tollfree.dev/approve=HASH`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
    /// The actions: those without hold run now, the others wait.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<PlannedAction>,
}

/// One planned vendor change.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAction {
    /// What kind of change.
    pub action: ActionKind,
    /// The target package (reserve, acquire, purchase, move).
    #[serde(default, rename = "packageID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub package_id: Option<u64>,
    /// The numbers it concerns (empty for acquire: they are not found yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    /// The reservation a purchase buys.
    #[serde(
        default,
        rename = "reservationID",
        skip_serializing_if = "Option::is_none"
    )]
    pub reservation_id: Option<String>,
    /// How many numbers an acquire searches for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>")]
    pub count: Option<u32>,
    /// Why it waits; absent when it runs now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldKind>,
    /// One line for a person.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The kind of a planned vendor change.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Reserve exact numbers.
    Reserve,
    /// Search and reserve numbers for an acquire request.
    Acquire,
    /// Purchase a reservation.
    Purchase,
    /// Move numbers to another package.
    Move,
    /// Disconnect numbers.
    Disconnect,
}

/// Why a planned change waits.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldKind {
    /// The policy for this operation is Deny.
    Denied,
    /// The policy is Approve and the plan's hash is not approved.
    AwaitingApproval,
    /// spec.suspend is true.
    Suspended,
    /// Over the per-sync limit; runs in a later sync.
    OverBudget,
    /// Inside disconnectGracePeriod.
    GracePeriod,
    /// The inventory listing was incomplete or shrank sharply: no disconnects.
    UnsafeInventory,
    /// Waits for an inventory listing newer than the spec (adopt before buying).
    Unverified,
}

/// A vendor change recorded before it was sent.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IntentRecord {
    /// What was (about to be) sent.
    pub kind: IntentKind,
    /// The numbers it concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<String>,
    /// The target package (reserve, purchase, move).
    #[serde(default, rename = "packageID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub package_id: Option<u64>,
    /// The reservation ID the operator chose (reserve, purchase).
    #[serde(
        default,
        rename = "reservationID",
        skip_serializing_if = "Option::is_none"
    )]
    pub reservation_id: Option<String>,
    /// When the reservation expires, once the vendor answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub reserved_until: Option<Timestamp>,
    /// The referenceID sent with the order (purchase, move, disconnect).
    #[serde(
        default,
        rename = "referenceID",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference_id: Option<String>,
    /// The vendor's order ID, once it answered.
    #[serde(default, rename = "orderID", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub order_id: Option<u64>,
    /// Made for an acquire request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acquired: bool,
    /// When the intent was recorded.
    #[schemars(schema_with = "date_time")]
    pub started: Timestamp,
    /// For an unanswered purchase: when the vendor refused it, or refused a
    /// reservation proving it unbought. It is never sent again; a fresh
    /// reservation of its numbers proves them unbought, or the inventory shows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_date_time")]
    pub refused_at: Option<Timestamp>,
}

/// The kind of a write-ahead intent.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentKind {
    /// Reserve numbers.
    Reserve,
    /// Purchase by reservation.
    Purchase,
    /// Move to another package.
    Move,
    /// Disconnect.
    Disconnect,
}

impl TollFreeNumberSetStatus {
    /// The condition of this type, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

#[cfg(test)]
mod tests {
    //! The admission rules, run client-side by kube's CEL engine
    //! (`#[kube(cel)]` → `TollFreeNumberSet::validate_cel`), against good and bad
    //! specs. Schema-only constraints (sizes, enums) are checked by the shape test
    //! in `tests/crd_schema.rs`.

    use super::*;
    use kube::CustomResourceExt;

    /// The README's example.
    use crate::fixtures::EXAMPLE;

    fn example() -> serde_json::Value {
        yaml_serde::from_str(EXAMPLE).expect("example parses")
    }

    /// The example with the value at a JSON pointer set (added if absent).
    fn with(pointer: &str, value: serde_json::Value) -> serde_json::Value {
        let mut obj = example();
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let parent = obj
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("{pointer}"));
        match parent {
            serde_json::Value::Object(o) => {
                o.insert(key.to_string(), value);
            }
            serde_json::Value::Array(a) => {
                a[key.parse::<usize>().expect("index")] = value;
            }
            _ => panic!("{pointer}: not a container"),
        }
        obj
    }

    /// The example with one JSON pointer removed.
    fn without(pointer: &str) -> serde_json::Value {
        let mut obj = example();
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        obj.pointer_mut(parent)
            .and_then(serde_json::Value::as_object_mut)
            .and_then(|o| o.remove(key))
            .unwrap_or_else(|| panic!("{pointer}"));
        obj
    }

    /// `(field path, message)` of every failed rule; empty when admitted.
    fn violations(obj: &serde_json::Value) -> Vec<(String, String)> {
        let set: TollFreeNumberSet =
            serde_json::from_value(obj.clone()).expect("decodes as a TollFreeNumberSet");
        match set.validate_cel() {
            Ok(()) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| (e.field_path.clone(), e.message.clone()))
                .collect(),
        }
    }

    #[track_caller]
    fn assert_admitted(obj: &serde_json::Value) {
        assert_eq!(violations(obj), Vec::<(String, String)>::new());
    }

    #[track_caller]
    fn assert_rejected(obj: &serde_json::Value, path: &str, message: &str) {
        let v = violations(obj);
        assert!(
            v.iter().any(|(p, m)| p == path && m.contains(message)),
            "expected {path}: '{message}', got {v:?}"
        );
    }

    #[test]
    fn every_rule_compiles() {
        let crd = TollFreeNumberSet::crd();
        let schema = serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .expect("schema"),
        )
        .expect("json");
        let compiled = kube::core::cel::compile_schema(&schema);
        assert!(
            !compiled.has_errors(),
            "{:?}",
            compiled.compilation_errors()
        );
    }

    #[test]
    fn the_design_example_is_admitted() {
        assert_admitted(&example());
    }

    #[test]
    fn the_readme_shows_the_example_file_verbatim() {
        const README: &str = include_str!("../README.md");
        let block = README
            .split_once("```yaml\n")
            .and_then(|(_, rest)| rest.split_once("```\n"))
            .map(|(block, _)| block)
            .expect("the README opens with a yaml block");
        assert_eq!(
            block, EXAMPLE,
            "README.md's example must equal deploy/examples/support-lines.yaml"
        );
    }

    #[test]
    fn a_minimal_set_is_admitted_with_defaults() {
        let obj = serde_json::json!({
            "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
            "metadata": {"name": "m", "namespace": "n"},
            "spec": {"accountRef": {"name": "acct"}, "packages": [{"packageID": 1, "numbers": ["+18885550100"]}]}
        });
        assert_admitted(&obj);
        let set: TollFreeNumberSet = serde_json::from_value(obj).expect("decodes");
        assert_eq!(set.spec.policy, PolicySpec::default());
        assert_eq!(set.spec.policy.disconnect, PolicyMode::Deny);
        assert_eq!(set.spec.limits.max_purchases_per_sync, 25);
        assert_eq!(set.spec.limits.max_disconnects_per_sync, 5);
        assert_eq!(set.spec.order_defaults.service_area, 4);
        assert!(!set.spec.suspend);
    }

    #[test]
    fn every_toll_free_npa_is_admitted() {
        for npa in [800, 833, 844, 855, 866, 877, 888] {
            assert_admitted(&with(
                "/spec/packages/0/numbers",
                serde_json::json!([format!("+1{npa}5550100")]),
            ));
        }
    }

    #[test]
    fn a_geographic_number_is_rejected_with_the_rule_named() {
        for bad in [
            "+13035550100",
            "18005550100",
            "+1800555010",
            "+180055501000",
            "+1 800 555 0100",
        ] {
            assert_rejected(
                &with("/spec/packages/0/numbers/1", serde_json::json!(bad)),
                "spec.packages[0].numbers[1]",
                "numbers must be E.164 toll-free, like +18005550100 (NPA 800, 833, 844, 855, 866, 877 or 888)",
            );
        }
    }

    #[test]
    fn a_number_twice_in_one_package_is_rejected() {
        assert_rejected(
            &with(
                "/spec/packages/0/numbers",
                serde_json::json!(["+18007293863", "+18007293863"]),
            ),
            "spec.packages",
            "a number may appear only once in a set",
        );
    }

    #[test]
    fn a_number_in_two_packages_is_rejected() {
        assert_rejected(
            &with(
                "/spec/packages/1/numbers",
                serde_json::json!(["+18003255821"]),
            ),
            "spec.packages",
            "a number may appear only once in a set (across all packages)",
        );
    }

    #[test]
    fn sets_over_500_numbers_skip_the_cross_package_check() {
        // The check is quadratic in the apiserver's CEL cost model; the operator
        // refuses such a set instead (convert.rs).
        let numbers = |from: usize| -> Vec<String> {
            // Two packages of this many numbers are just over the limit.
            let half = MAX_ADMISSION_CHECKED_NUMBERS / 2 + 1;
            (from..from + half)
                .map(|k| format!("+1888{k:07}"))
                .collect()
        };
        let mut second = numbers(1000);
        second[0] = "+18880000000".into();
        let mut obj = with("/spec/packages/0/numbers", serde_json::json!(numbers(0)));
        *obj.pointer_mut("/spec/packages/1").expect("package") =
            serde_json::json!({"packageID": 24188, "numbers": second});
        assert_admitted(&obj);
        // The rule and the constant agree.
        let rule = format!("sum() > {MAX_ADMISSION_CHECKED_NUMBERS} ||");
        assert!(
            serde_json::to_string(&TollFreeNumberSet::crd())
                .expect("json")
                .contains(&rule)
        );
    }

    #[test]
    fn a_set_over_the_number_limit_is_refused_with_a_message_to_split_it() {
        // 900 exact numbers and an acquire of 100: exactly the limit.
        let numbers: Vec<String> = (0..900).map(|k| format!("+1888{k:07}")).collect();
        let mut obj = with("/spec/packages/0/numbers", serde_json::json!(numbers));
        *obj.pointer_mut("/spec/packages/1").expect("package") =
            serde_json::json!({"packageID": 24188, "acquire": {"count": 100, "npa": [800]}});
        assert_eq!(MAX_SET_NUMBERS, 1000);
        assert_admitted(&obj);
        let numbers: Vec<String> = (0..901).map(|k| format!("+1888{k:07}")).collect();
        *obj.pointer_mut("/spec/packages/0/numbers")
            .expect("numbers") = serde_json::json!(numbers);
        assert_rejected(
            &obj,
            "spec.packages",
            "a set may hold at most 1000 numbers (exact numbers plus acquire counts): split it into several sets",
        );
    }

    #[test]
    fn a_package_id_must_be_positive() {
        for bad in [0, -7] {
            assert_rejected(
                &with("/spec/packages/0/packageID", serde_json::json!(bad)),
                "spec.packages[0].packageID",
                "packageID must be a positive IntelePeer package (route profile) ID",
            );
        }
    }

    #[test]
    fn a_package_id_twice_is_rejected() {
        assert_rejected(
            &with("/spec/packages/1/packageID", serde_json::json!(30744)),
            "spec.packages",
            "each packageID may appear only once",
        );
    }

    #[test]
    fn a_package_needs_numbers_or_acquire() {
        assert_rejected(
            &without("/spec/packages/1/acquire"),
            "spec.packages[1]",
            "a package needs numbers, acquire, or both",
        );
        assert_rejected(
            &with("/spec/packages/0/numbers", serde_json::json!([])),
            "spec.packages[0]",
            "a package needs numbers, acquire, or both",
        );
    }

    #[test]
    fn a_package_may_have_numbers_and_acquire() {
        assert_admitted(&with(
            "/spec/packages/1/numbers",
            serde_json::json!(["+18885550100"]),
        ));
    }

    #[test]
    fn acquire_needs_exactly_one_of_npa_and_like() {
        assert_rejected(
            &with("/spec/packages/1/acquire/like", serde_json::json!("+1888")),
            "spec.packages[1].acquire",
            "acquire needs exactly one of npa (area codes) or like (a number prefix)",
        );
        assert_rejected(
            &without("/spec/packages/1/acquire/npa"),
            "spec.packages[1].acquire",
            "acquire needs exactly one of npa (area codes) or like (a number prefix)",
        );
    }

    #[test]
    fn like_must_be_a_toll_free_prefix() {
        let mut obj = without("/spec/packages/1/acquire/npa");
        for good in ["+1888", "+1888555", "+18885550100", "+1800"] {
            *obj.pointer_mut("/spec/packages/1/acquire")
                .expect("acquire") = serde_json::json!({"count": 1, "like": good});
            assert_admitted(&obj);
        }
        for bad in ["+1303", "+188", "1888555", "+188855501000", "+1888x"] {
            *obj.pointer_mut("/spec/packages/1/acquire")
                .expect("acquire") = serde_json::json!({"count": 1, "like": bad});
            assert_rejected(
                &obj,
                "spec.packages[1].acquire.like",
                "like must be a toll-free prefix such as +1888 or +1888555",
            );
        }
    }

    #[test]
    fn npa_values_must_be_toll_free() {
        assert_admitted(&with(
            "/spec/packages/1/acquire/npa",
            serde_json::json!([800, 833, 844, 855, 866, 877, 888]),
        ));
        assert_rejected(
            &with(
                "/spec/packages/1/acquire/npa",
                serde_json::json!([888, 303]),
            ),
            "spec.packages[1].acquire.npa",
            "npa values must be toll-free area codes: 800, 833, 844, 855, 866, 877 or 888",
        );
    }

    #[test]
    fn count_is_between_1_and_100() {
        for good in [1, 100] {
            assert_admitted(&with(
                "/spec/packages/1/acquire/count",
                serde_json::json!(good),
            ));
        }
        for bad in [0, 101, -1] {
            assert_rejected(
                &with("/spec/packages/1/acquire/count", serde_json::json!(bad)),
                "spec.packages[1].acquire.count",
                "count must be between 1 and 100",
            );
        }
    }

    #[test]
    fn service_area_is_between_1_and_5() {
        for good in [1, 5] {
            assert_admitted(&with(
                "/spec/orderDefaults/serviceArea",
                serde_json::json!(good),
            ));
        }
        for bad in [0, 6] {
            assert_rejected(
                &with("/spec/orderDefaults/serviceArea", serde_json::json!(bad)),
                "spec.orderDefaults.serviceArea",
                "serviceArea must be 1, 2, 3, 4 or 5",
            );
        }
    }

    #[test]
    fn limits_may_be_zero_but_not_negative() {
        assert_admitted(&with(
            "/spec/limits",
            serde_json::json!({"maxPurchasesPerSync": 0, "maxDisconnectsPerSync": 0}),
        ));
        assert_rejected(
            &with("/spec/limits/maxPurchasesPerSync", serde_json::json!(-1)),
            "spec.limits.maxPurchasesPerSync",
            "maxPurchasesPerSync must be 0 or more",
        );
        assert_rejected(
            &with("/spec/limits/maxDisconnectsPerSync", serde_json::json!(-1)),
            "spec.limits.maxDisconnectsPerSync",
            "maxDisconnectsPerSync must be 0 or more",
        );
    }

    #[test]
    fn grace_period_is_a_go_duration() {
        for good in [
            "72h", "30m", "1h30m", "1.5h", "250ms", "10s", "5us", "5µs", "0s",
        ] {
            assert_admitted(&with(
                "/spec/disconnectGracePeriod",
                serde_json::json!(good),
            ));
        }
        for bad in ["3 days", "72", "-1h", "h", "1d", "", "1.h"] {
            assert_rejected(
                &with("/spec/disconnectGracePeriod", serde_json::json!(bad)),
                "spec.disconnectGracePeriod",
                "disconnectGracePeriod must be a duration like 72h, 30m or 1h30m",
            );
        }
    }

    #[test]
    fn account_ref_name_is_a_secret_name() {
        for good in ["intelepeer-account", "a", "a.b-c", "0x"] {
            assert_admitted(&with("/spec/accountRef/name", serde_json::json!(good)));
        }
        for bad in ["Bad_Name", "", "-a", "a-", "a..b", "UPPER"] {
            assert_rejected(
                &with("/spec/accountRef/name", serde_json::json!(bad)),
                "spec.accountRef.name",
                "accountRef.name must be a Secret name",
            );
        }
    }

    #[test]
    fn email_must_look_like_an_address() {
        assert_rejected(
            &with("/spec/orderDefaults/email", serde_json::json!("noc")),
            "spec.orderDefaults.email",
            "email must be an address like noc@example.com",
        );
    }
}
