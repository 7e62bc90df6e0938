//! The edge between Kubernetes objects and the planner: pure functions, no I/O.
//!
//! - [`set_input`] parses a [`TollFreeNumberSet`] into the planner's [`SetInput`]
//!   once: domain types ([`E164`], [`PackageId`], ...), defaults applied, and the
//!   set's memory rebuilt from its status. A spec that slipped past admission is
//!   reported as a [`SpecError`] naming the field path and the value.
//! - [`status_from_plan`] computes the status to record from the planner's
//!   [`SetPlan`]: number lines, the plan as a person reads it, the write-ahead
//!   intents and the rest of the memory, counters, orders, and kstatus
//!   conditions (Ready / Reconciling / Stalled) that keep `lastTransitionTime`
//!   when their status did not change.
//! - [`eq_time_insensitive`] tells whether a status write would change anything
//!   but timestamps, so the reconciler can skip no-op writes.
//!
//! Round trip: `memory(status_from_plan(.., plan, ..)) == plan.memory` — the
//! status loses nothing the planner needs after a crash (tested below).
//!
//! Defaults (also in the CRD schema, so `kubectl get -o yaml` shows them):
//! policy purchase/move `Auto`, disconnect `Deny`; limits 25 purchases and 5
//! disconnects per sync; `orderDefaults.serviceArea` 4 (the value of every
//! example in the vendor's reference); `suspend` false; no grace period.

use std::collections::{BTreeMap, BTreeSet};

use intelepeer::{E164, Npa, OrderId, PackageId, ReservationId};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use tollfree_plan as plan;
use tollfree_plan::{Memory, Reason, SetInput, SetPlan};

use crate::crd::{
    APPROVE_ANNOTATION, AcquireSpec, ActionKind, HoldKind, IntentKind, IntentRecord, LimitsSpec,
    MAX_ORDERS, NumberEntry, NumberState, OrderDefaultsSpec, OrderRecord, OrderStatus, OrderType,
    PackageEntry, PlanStatus, PlannedAction, PolicyMode, PolicySpec, TollFreeNumberSet,
    TollFreeNumberSetStatus,
};

/// Condition type: the account matches the spec.
pub const READY: &str = "Ready";
/// Condition type: changes are in flight and progress continues on its own.
pub const RECONCILING: &str = "Reconciling";
/// Condition type: a person must act before progress continues.
pub const STALLED: &str = "Stalled";

/// Why a set's spec (or the memory in its status) cannot be planned.
///
/// Displays as `path: problem`, e.g. `spec.packages[1].numbers[0]: '+13035550100'
/// is not toll-free: its area code 303 is not one of 800, ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct SpecError {
    /// The field, e.g. `spec.packages[1].numbers[0]` or `status.intents[0].reservationID`.
    pub path: String,
    /// The offending value as written (empty when the field is missing).
    pub value: String,
    /// What is wrong, for a person; it quotes the value.
    pub problem: String,
}

impl SpecError {
    fn new(path: impl Into<String>, value: impl ToString, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            value: value.to_string(),
            problem: problem.into(),
        }
    }

    /// From a domain parse error, whose message already quotes the value.
    fn parse(path: impl Into<String>, value: impl ToString, err: intelepeer::ParseError) -> Self {
        let value = value.to_string();
        let problem = match err {
            intelepeer::ParseError::ZeroPackageId => {
                format!("'{value}' is not a package ID: {err}")
            }
            intelepeer::ParseError::NotTollFreeNpa(_) => format!("'{value}': {err}"),
            _ => err.to_string(),
        };
        Self {
            path: path.into(),
            value,
            problem,
        }
    }
}

// ---------------------------------------------------------------------------
// Kubernetes object -> planner input
// ---------------------------------------------------------------------------

/// The value of annotation `tollfree.dev/approve`, if any.
pub fn approved_hash(obj: &TollFreeNumberSet) -> Option<&str> {
    obj.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(APPROVE_ANNOTATION))
        .map(String::as_str)
}

/// The set's `namespace/name`.
pub fn set_id(obj: &TollFreeNumberSet) -> Result<plan::SetId, SpecError> {
    let missing = |path: &str| SpecError::new(path, "", "is missing");
    let namespace = obj
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| missing("metadata.namespace"))?;
    let name = obj
        .metadata
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| missing("metadata.name"))?;
    Ok(plan::SetId { namespace, name })
}

/// Parses a set into the planner's input: spec into domain types with defaults,
/// memory from status, `created` from `metadata.creationTimestamp` (a manifest
/// that was never applied counts as the youngest set), `deleting` from
/// `metadata.deletionTimestamp`.
///
/// `approved_hash` is the approval the caller trusts — normally
/// [`approved_hash`]`(obj)`.
pub fn set_input(
    obj: &TollFreeNumberSet,
    approved_hash: Option<&str>,
) -> Result<SetInput, SpecError> {
    let spec = &obj.spec;
    check_secret_name(&spec.account_ref.name)?;
    Ok(SetInput {
        id: set_id(obj)?,
        created: obj
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(Timestamp::MAX, |t| t.0),
        deleting: obj.metadata.deletion_timestamp.is_some(),
        suspend: spec.suspend,
        packages: packages(&spec.packages)?,
        policy: policy(&spec.policy),
        grace: grace_period(spec.disconnect_grace_period.as_deref())?,
        limits: limits(&spec.limits)?,
        order_defaults: order_defaults(&spec.order_defaults)?,
        approved_hash: approved_hash.map(str::to_owned),
        memory: memory(obj.status.as_ref())?,
    })
}

/// What can be salvaged of a set whose spec or status does not convert, as a
/// claims-only participant ([`SetInput::claims_only`]): every number that
/// parses from its spec (under a packageID that parses), and from its status
/// the owned numbers and intents that parse, entry by entry. The set is
/// planned around, never for. `None` without a namespace and name.
pub fn salvage(obj: &TollFreeNumberSet) -> Option<SetInput> {
    let id = set_id(obj).ok()?;
    let mut packages: Vec<plan::PackageSpec> = Vec::new();
    for entry in &obj.spec.packages {
        let Ok(package) = package_id("", entry.package_id) else {
            continue;
        };
        let numbers = entry.numbers.iter().filter_map(|r| E164::parse(r).ok());
        match packages.iter_mut().find(|p| p.package == package) {
            Some(p) => p.numbers.extend(numbers),
            None => packages.push(plan::PackageSpec {
                package,
                numbers: numbers.collect(),
                acquire: None,
            }),
        }
    }
    let memory = memory(obj.status.as_ref()).unwrap_or_else(|_| salvage_memory(obj));
    Some(
        SetInput {
            id,
            created: obj
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(Timestamp::MAX, |t| t.0),
            deleting: false,
            suspend: true,
            packages,
            policy: plan::Policy::default(),
            grace: None,
            limits: plan::Limits::default(),
            order_defaults: plan::OrderDefaults::default(),
            approved_hash: None,
            memory,
        }
        .claims_only(),
    )
}

/// The owned numbers and intents of a status that does not convert as a
/// whole, each entry that parses on its own.
fn salvage_memory(obj: &TollFreeNumberSet) -> Memory {
    let mut memory = Memory::default();
    let Some(status) = obj.status.as_ref() else {
        return memory;
    };
    for entry in status.numbers.iter().filter(|e| e.owned) {
        let package = entry
            .owned_package_id
            .or(entry.package_id)
            .and_then(|p| PackageId::new(p).ok());
        if let (Ok(number), Some(package)) = (E164::parse(&entry.number), package) {
            memory.owned.insert(
                number,
                plan::Ownership {
                    package,
                    acquired: entry.acquired,
                },
            );
        }
    }
    memory.intents = status
        .intents
        .iter()
        .filter_map(|r| intent("", r).ok())
        .collect();
    memory
}

/// `spec.packages` as the planner sees them, with every admission rule checked
/// again (a number at most once per set, a packageID at most once, numbers or
/// acquire in each entry).
pub fn packages(entries: &[PackageEntry]) -> Result<Vec<plan::PackageSpec>, SpecError> {
    if entries.is_empty() {
        return Err(SpecError::new(
            "spec.packages",
            "[]",
            "lists no package: a set needs at least one",
        ));
    }
    let mut seen_numbers: BTreeMap<E164, String> = BTreeMap::new();
    let mut seen_packages: BTreeMap<PackageId, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("spec.packages[{i}]");
        let package = package_id(&format!("{at}.packageID"), entry.package_id)?;
        if let Some(first) = seen_packages.insert(package, i) {
            return Err(SpecError::new(
                format!("{at}.packageID"),
                package,
                format!(
                    "'{package}' is also spec.packages[{first}].packageID: each packageID may appear only once"
                ),
            ));
        }
        if entry.numbers.is_empty() && entry.acquire.is_none() {
            return Err(SpecError::new(
                at,
                package,
                "a package needs numbers, acquire, or both",
            ));
        }
        let mut numbers = Vec::with_capacity(entry.numbers.len());
        for (j, raw) in entry.numbers.iter().enumerate() {
            let path = format!("{at}.numbers[{j}]");
            let number = E164::parse(raw).map_err(|e| SpecError::parse(&path, raw, e))?;
            if let Some(first) = seen_numbers.insert(number.clone(), path.clone()) {
                return Err(SpecError::new(
                    path,
                    raw,
                    format!("'{raw}' is also {first}: a number may appear only once in a set"),
                ));
            }
            numbers.push(number);
        }
        let acquire = entry
            .acquire
            .as_ref()
            .map(|a| acquire(&format!("{at}.acquire"), a))
            .transpose()?;
        out.push(plan::PackageSpec {
            package,
            numbers,
            acquire,
        });
    }
    Ok(out)
}

/// One `acquire` request; `at` is its field path.
pub fn acquire(at: &str, spec: &AcquireSpec) -> Result<plan::Acquire, SpecError> {
    if !(1..=100).contains(&spec.count) {
        return Err(SpecError::new(
            format!("{at}.count"),
            spec.count,
            format!(
                "'{}' is out of range: count must be between 1 and 100",
                spec.count
            ),
        ));
    }
    let filter = match (&spec.npa, &spec.like) {
        (Some(npas), None) => plan::Match::Npa(npas_of(&format!("{at}.npa"), npas)?),
        (None, Some(like)) => plan::Match::Like(like_prefix(&format!("{at}.like"), like)?),
        (Some(_), Some(like)) => {
            return Err(SpecError::new(
                at,
                like,
                "acquire needs exactly one of npa (area codes) or like (a number prefix), not both",
            ));
        }
        (None, None) => {
            return Err(SpecError::new(
                at,
                "",
                "acquire needs exactly one of npa (area codes) or like (a number prefix)",
            ));
        }
    };
    Ok(plan::Acquire {
        count: spec.count.unsigned_abs(),
        filter,
        sequential: spec.sequential,
    })
}

/// Toll-free NPAs, sorted and without repeats (the plan hash must not depend on
/// how they were written).
fn npas_of(at: &str, npas: &[i32]) -> Result<Vec<Npa>, SpecError> {
    if npas.is_empty() {
        return Err(SpecError::new(
            at,
            "[]",
            "lists no area code: give at least one of 800, 833, 844, 855, 866, 877, 888",
        ));
    }
    let mut out = BTreeSet::new();
    for (k, &npa) in npas.iter().enumerate() {
        let path = format!("{at}[{k}]");
        let parsed = u16::try_from(npa)
            .map_err(|_| intelepeer::ParseError::NotTollFreeNpa(0))
            .and_then(Npa::new)
            .map_err(|_| {
                SpecError::new(
                    &path,
                    npa,
                    format!(
                        "'{npa}' is not a toll-free area code (800, 833, 844, 855, 866, 877, 888)"
                    ),
                )
            })?;
        out.insert(parsed);
    }
    Ok(out.into_iter().collect())
}

/// A `like` prefix: `+1`, a toll-free NPA, then up to seven digits.
fn like_prefix(at: &str, like: &str) -> Result<String, SpecError> {
    let bad = || {
        SpecError::new(
            at,
            like,
            format!(
                "'{like}' is not a toll-free prefix: expected +1, a toll-free NPA and up to 7 more digits, like +1888555"
            ),
        )
    };
    let digits = like.strip_prefix("+1").ok_or_else(bad)?;
    if !(3..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let npa: u16 = digits[..3].parse().map_err(|_| bad())?;
    Npa::new(npa).map_err(|_| bad())?;
    Ok(like.to_owned())
}

fn package_id(path: &str, id: i64) -> Result<PackageId, SpecError> {
    u64::try_from(id)
        .map_err(|_| intelepeer::ParseError::ZeroPackageId)
        .and_then(PackageId::new)
        .map_err(|_| {
            SpecError::new(
                path,
                id,
                format!("'{id}' is not a package ID: packageID must be a positive IntelePeer package (route profile) ID"),
            )
        })
}

/// `spec.policy` (defaults come from serde / the schema: Auto, Auto, Deny).
pub fn policy(spec: &PolicySpec) -> plan::Policy {
    plan::Policy {
        purchase: mode(spec.purchase),
        r#move: mode(spec.r#move),
        disconnect: mode(spec.disconnect),
    }
}

fn mode(m: PolicyMode) -> plan::Mode {
    match m {
        PolicyMode::Auto => plan::Mode::Auto,
        PolicyMode::Approve => plan::Mode::Approve,
        PolicyMode::Deny => plan::Mode::Deny,
    }
}

/// `spec.limits`; 0 means "never".
pub fn limits(spec: &LimitsSpec) -> Result<plan::Limits, SpecError> {
    let non_negative = |name: &str, v: i32| {
        u32::try_from(v).map_err(|_| {
            SpecError::new(
                format!("spec.limits.{name}"),
                v,
                format!("'{v}' is negative: {name} must be 0 or more"),
            )
        })
    };
    Ok(plan::Limits {
        max_purchases_per_sync: non_negative("maxPurchasesPerSync", spec.max_purchases_per_sync)?,
        max_disconnects_per_sync: non_negative(
            "maxDisconnectsPerSync",
            spec.max_disconnects_per_sync,
        )?,
    })
}

/// `spec.orderDefaults`.
pub fn order_defaults(spec: &OrderDefaultsSpec) -> Result<plan::OrderDefaults, SpecError> {
    let service_area = u8::try_from(spec.service_area)
        .ok()
        .filter(|a| (1..=5).contains(a))
        .ok_or_else(|| {
            SpecError::new(
                "spec.orderDefaults.serviceArea",
                spec.service_area,
                format!(
                    "'{}' is out of range: serviceArea must be 1, 2, 3, 4 or 5",
                    spec.service_area
                ),
            )
        })?;
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    Ok(plan::OrderDefaults {
        service_area,
        my_resp_org: spec.my_resp_org,
        email: non_empty(&spec.email),
        notes: non_empty(&spec.notes),
    })
}

/// `spec.disconnectGracePeriod`: absent means no grace period.
pub fn grace_period(value: Option<&str>) -> Result<Option<SignedDuration>, SpecError> {
    value
        .map(|v| {
            parse_duration(v).map_err(|why| {
                SpecError::new(
                    "spec.disconnectGracePeriod",
                    v,
                    format!("'{v}' is not a duration like 72h, 30m or 1h30m: {why}"),
                )
            })
        })
        .transpose()
}

/// Parses an unsigned Go duration (`72h`, `1h30m`, `1.5h`, `250ms`), exactly the
/// strings the CRD's rule `^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$` accepts.
/// Fractions below a nanosecond are dropped, as Go does.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    const UNITS: [(&str, i128); 8] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("μs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let mut rest = s;
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int_len == 0 {
            return Err(format!("expected a number at '{rest}'"));
        }
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(f) => {
                let len = f.bytes().take_while(u8::is_ascii_digit).count();
                if len == 0 {
                    return Err(format!("expected digits after '.' in '{s}'"));
                }
                f.split_at(len)
            }
            None => ("", after),
        };
        // "ms" before "m": the longest unit that matches wins.
        let (unit, scale) = UNITS
            .iter()
            .filter(|(u, _)| after.starts_with(u))
            .max_by_key(|(u, _)| u.len())
            .ok_or_else(|| {
                format!("missing or unknown unit at '{after}' (use ns, us, ms, s, m or h)")
            })?;
        let too_long = || "it is longer than about 292 years".to_string();
        let int: i128 = int.parse().map_err(|_| too_long())?;
        let mut value = int.checked_mul(*scale).ok_or_else(too_long)?;
        if !frac.is_empty() {
            // Only the first 18 fraction digits can matter below a nanosecond of an hour.
            let frac = &frac[..frac.len().min(18)];
            let digits: i128 = frac.parse().map_err(|_| too_long())?;
            value += digits * scale / 10_i128.pow(frac.len() as u32);
        }
        total = total.checked_add(value).ok_or_else(too_long)?;
        if total > i128::from(i64::MAX) {
            return Err(too_long());
        }
        rest = &after[unit.len()..];
    }
    let nanos =
        i64::try_from(total).map_err(|_| "it is longer than about 292 years".to_string())?;
    Ok(SignedDuration::from_nanos(nanos))
}

/// `accountRef.name` must be a DNS-1123 subdomain (a Secret's name).
fn check_secret_name(name: &str) -> Result<(), SpecError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(SpecError::new(
            "spec.accountRef.name",
            name,
            format!(
                "'{name}' is not a Secret name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
            ),
        ))
    }
}

// ---------------------------------------------------------------------------
// Status -> memory
// ---------------------------------------------------------------------------

/// Rebuilds what the set remembers from its status: owned numbers (with their
/// package and whether they were acquired), write-ahead intents, when numbers
/// started leaving, and which numbers the vendor refused. No status, no memory.
pub fn memory(status: Option<&TollFreeNumberSetStatus>) -> Result<Memory, SpecError> {
    let mut memory = Memory::default();
    let Some(status) = status else {
        return Ok(memory);
    };
    for (i, entry) in status.numbers.iter().enumerate() {
        let at = format!("status.numbers[{i}]");
        let number = E164::parse(&entry.number)
            .map_err(|e| SpecError::parse(format!("{at}.number"), &entry.number, e))?;
        if entry.owned {
            let (field, raw) = match entry.owned_package_id {
                Some(p) => ("ownedPackageID", Some(p)),
                None => ("packageID", entry.package_id),
            };
            let raw = raw.ok_or_else(|| {
                SpecError::new(
                    format!("{at}.packageID"),
                    "",
                    "is missing for an owned number",
                )
            })?;
            let package = PackageId::new(raw)
                .map_err(|e| SpecError::parse(format!("{at}.{field}"), raw, e))?;
            memory.owned.insert(
                number.clone(),
                plan::Ownership {
                    package,
                    acquired: entry.acquired,
                },
            );
        }
        if let Some(t) = entry.leaving_since {
            memory.leaving_since.insert(number.clone(), t);
        }
        if let Some(t) = entry.unavailable_since {
            memory.unavailable.insert(number, t);
        }
    }
    for (i, record) in status.intents.iter().enumerate() {
        memory
            .intents
            .push(intent(&format!("status.intents[{i}]"), record)?);
    }
    Ok(memory)
}

fn intent(at: &str, record: &IntentRecord) -> Result<plan::Intent, SpecError> {
    let numbers = record
        .numbers
        .iter()
        .enumerate()
        .map(|(j, n)| {
            E164::parse(n).map_err(|e| SpecError::parse(format!("{at}.numbers[{j}]"), n, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let package = record
        .package_id
        .map(|p| PackageId::new(p).map_err(|e| SpecError::parse(format!("{at}.packageID"), p, e)))
        .transpose()?;
    let reservation_id = record
        .reservation_id
        .as_deref()
        .map(|r| {
            ReservationId::parse(r)
                .map_err(|e| SpecError::parse(format!("{at}.reservationID"), r, e))
        })
        .transpose()?;
    Ok(plan::Intent {
        kind: match record.kind {
            IntentKind::Reserve => plan::IntentKind::Reserve,
            IntentKind::Purchase => plan::IntentKind::Purchase,
            IntentKind::Move => plan::IntentKind::Move,
            IntentKind::Disconnect => plan::IntentKind::Disconnect,
        },
        numbers,
        package,
        reservation_id,
        reserved_until: record.reserved_until,
        reference_id: record.reference_id.clone(),
        order_id: record.order_id.map(OrderId),
        acquired: record.acquired,
        started: record.started,
    })
}

/// The size of the last inventory listing the operator trusted, from status.
pub fn last_good_count(status: Option<&TollFreeNumberSetStatus>) -> Option<usize> {
    status
        .and_then(|s| s.inventory_count)
        .and_then(|c| usize::try_from(c).ok())
}

// ---------------------------------------------------------------------------
// Plan -> status
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

/// The status to record after planning `input` into `plan` at `now`.
///
/// Keeps from `prev` what the plan does not decide: the orders (new ones are
/// added from intents that carry an order ID; pending ones whose result the plan
/// shows become Completed), `inventoryCount`, and each condition's
/// `lastTransitionTime` when its status did not change.
pub fn status_from_plan(
    prev: Option<&TollFreeNumberSetStatus>,
    input: &SetInput,
    plan: &SetPlan,
    generation: Option<i64>,
    now: Timestamp,
) -> TollFreeNumberSetStatus {
    let numbers = number_entries(plan);
    let active = count(plan.numbers.iter(), |l| {
        l.state == plan::NumberState::Active
    });
    let acquiring: u32 = plan
        .actions
        .iter()
        .chain(plan.held.iter().map(|h| &h.action))
        .map(|a| match a {
            plan::Action::Acquire { count, .. } => *count,
            _ => 0,
        })
        .fold(0, u32::saturating_add);
    let pending = count(plan.numbers.iter(), |l| {
        use plan::NumberState::*;
        matches!(
            l.state,
            Reserved | Purchasing | Moving | PendingDisconnect | Disconnecting | Blocked
        )
    })
    .saturating_add(acquiring);

    let prev_conditions = prev.map_or(&[][..], |p| &p.conditions[..]);
    let mut status = TollFreeNumberSetStatus {
        conditions: compute_conditions(
            prev_conditions,
            &plan_conditions(plan.reason, &plan.message),
            generation,
            now,
        ),
        observed_generation: generation,
        desired: desired_count(input),
        active,
        pending,
        last_sync_time: Some(now),
        inventory_count: prev.and_then(|p| p.inventory_count),
        numbers,
        orders: prev.map(|p| p.orders.clone()).unwrap_or_default(),
        plan: plan_status(plan),
        intents: plan.memory.intents.iter().map(intent_record).collect(),
    };
    update_orders(&mut status, plan);
    status
}

fn count<'a>(
    lines: impl Iterator<Item = &'a plan::NumberStatus>,
    pred: impl Fn(&plan::NumberStatus) -> bool,
) -> u32 {
    u32::try_from(lines.filter(|l| pred(l)).count()).unwrap_or(u32::MAX)
}

/// The plan's number lines merged with the memory, one entry per number, sorted.
fn number_entries(plan: &SetPlan) -> Vec<NumberEntry> {
    let mut entries: BTreeMap<&E164, NumberEntry> = BTreeMap::new();
    for line in &plan.numbers {
        entries.insert(
            &line.number,
            NumberEntry {
                number: line.number.to_string(),
                package_id: Some(line.package.get()),
                state: Some(number_state(line.state)),
                order_id: line.order_id.map(|o| o.0),
                reservation_id: line.reservation_id.as_ref().map(|r| r.to_string()),
                reserved_until: line.reserved_until,
                message: line.message.clone(),
                ..NumberEntry::default()
            },
        );
    }
    let bare = |n: &E164| NumberEntry {
        number: n.to_string(),
        ..NumberEntry::default()
    };
    for (n, own) in &plan.memory.owned {
        let e = entries.entry(n).or_insert_with(|| NumberEntry {
            package_id: Some(own.package.get()),
            ..bare(n)
        });
        e.owned = true;
        e.acquired = own.acquired;
        if e.package_id != Some(own.package.get()) {
            e.owned_package_id = Some(own.package.get());
        }
    }
    for (n, t) in &plan.memory.leaving_since {
        entries.entry(n).or_insert_with(|| bare(n)).leaving_since = Some(*t);
    }
    for (n, t) in &plan.memory.unavailable {
        entries
            .entry(n)
            .or_insert_with(|| bare(n))
            .unavailable_since = Some(*t);
    }
    entries.into_values().collect()
}

fn number_state(s: plan::NumberState) -> NumberState {
    match s {
        plan::NumberState::Active => NumberState::Active,
        plan::NumberState::Reserved => NumberState::Reserved,
        plan::NumberState::Purchasing => NumberState::Purchasing,
        plan::NumberState::Moving => NumberState::Moving,
        plan::NumberState::PendingDisconnect => NumberState::PendingDisconnect,
        plan::NumberState::Disconnecting => NumberState::Disconnecting,
        plan::NumberState::Unavailable => NumberState::Unavailable,
        plan::NumberState::Conflict => NumberState::Conflict,
        plan::NumberState::Blocked => NumberState::Blocked,
    }
}

fn intent_record(i: &plan::Intent) -> IntentRecord {
    IntentRecord {
        kind: match i.kind {
            plan::IntentKind::Reserve => IntentKind::Reserve,
            plan::IntentKind::Purchase => IntentKind::Purchase,
            plan::IntentKind::Move => IntentKind::Move,
            plan::IntentKind::Disconnect => IntentKind::Disconnect,
        },
        numbers: strings(&i.numbers),
        package_id: i.package.map(PackageId::get),
        reservation_id: i.reservation_id.as_ref().map(|r| r.to_string()),
        reserved_until: i.reserved_until,
        reference_id: i.reference_id.clone(),
        order_id: i.order_id.map(|o| o.0),
        acquired: i.acquired,
        started: i.started,
    }
}

fn strings(numbers: &[E164]) -> Vec<String> {
    numbers.iter().map(E164::to_string).collect()
}

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
pub(crate) fn planned_action(
    action: &plan::Action,
    hold: Option<&plan::Hold>,
    hash: &str,
) -> PlannedAction {
    let n = |numbers: &[E164]| match numbers.len() {
        1 => "1 number".to_string(),
        k => format!("{k} numbers"),
    };
    let mut out = PlannedAction {
        action: ActionKind::Reserve,
        package_id: None,
        numbers: Vec::new(),
        reservation_id: None,
        count: None,
        hold: None,
        message: String::new(),
    };
    match action {
        plan::Action::Reserve { package, numbers } => {
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
            out.message = format!("reserve {} for package {package}", n(numbers));
        }
        plan::Action::Acquire {
            package,
            count,
            filter,
            sequential,
        } => {
            out.action = ActionKind::Acquire;
            out.package_id = Some(package.get());
            out.count = Some(*count);
            let which = match filter {
                plan::Match::Npa(npas) => {
                    let list: Vec<String> = npas.iter().map(Npa::to_string).collect();
                    format!("in NPA {}", list.join(", "))
                }
                plan::Match::Like(prefix) => format!("starting with {prefix}"),
            };
            let run = if *sequential {
                ", in one contiguous run"
            } else {
                ""
            };
            let what = if *count == 1 { "number" } else { "numbers" };
            out.message =
                format!("search and reserve {count} {what} {which}{run} for package {package}");
        }
        plan::Action::Purchase {
            package,
            reservation_id,
            numbers,
            retry,
        } => {
            out.action = ActionKind::Purchase;
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
            out.reservation_id = Some(reservation_id.to_string());
            out.message = if *retry {
                format!(
                    "send again the unanswered purchase of {} (reservation {reservation_id}) into package {package}; a reservation is bought at most once",
                    n(numbers)
                )
            } else {
                format!(
                    "purchase {} (reservation {reservation_id}) into package {package}",
                    n(numbers)
                )
            };
        }
        plan::Action::Move { package, numbers } => {
            out.action = ActionKind::Move;
            out.package_id = Some(package.get());
            out.numbers = strings(numbers);
            out.message = format!("move {} to package {package}", n(numbers));
        }
        plan::Action::Disconnect { numbers } => {
            out.action = ActionKind::Disconnect;
            out.numbers = strings(numbers);
            out.message = format!("disconnect {}", n(numbers));
        }
    }
    if let (plan::Action::Disconnect { numbers }, Some(plan::Hold::Denied)) = (action, hold) {
        // Not a refusal: under `disconnect: Deny` a number leaving the spec
        // is retained and released (DESIGN.md §1), which is what this says.
        out.hold = Some(HoldKind::Denied);
        out.message = format!(
            "retained {} in the account: not disconnected (disconnect policy is Deny) and released — no longer managed by this set",
            crate::reconcile::execute::numbers_text(numbers)
        );
        return out;
    }
    if let Some(hold) = hold {
        let (kind, why) = match hold {
            plan::Hold::Denied => (HoldKind::Denied, "denied by policy".to_string()),
            plan::Hold::AwaitingApproval => (
                HoldKind::AwaitingApproval,
                format!("waiting for approval: annotate with {APPROVE_ANNOTATION}={hash}"),
            ),
            plan::Hold::Suspended => (HoldKind::Suspended, "spec.suspend is true".to_string()),
            plan::Hold::OverBudget => (
                HoldKind::OverBudget,
                "over the per-sync limit; runs in a later sync".to_string(),
            ),
            plan::Hold::Grace(until) => (
                HoldKind::GracePeriod,
                format!("in disconnectGracePeriod until {until}"),
            ),
            plan::Hold::UnsafeInventory(reason) => (
                HoldKind::UnsafeInventory,
                format!("inventory not trusted: {reason}"),
            ),
        };
        out.hold = Some(kind);
        out.message = format!("{} — {why}", out.message);
    }
    out
}

/// Adds orders known from intents, settles pending orders whose result the plan
/// shows, keeps newest first and at most [`MAX_ORDERS`].
fn update_orders(status: &mut TollFreeNumberSetStatus, plan: &SetPlan) {
    let known: BTreeSet<u64> = status.orders.iter().map(|o| o.order_id).collect();
    for i in &plan.memory.intents {
        let Some(order_id) = i.order_id else { continue };
        let type_ = match i.kind {
            plan::IntentKind::Reserve => continue,
            plan::IntentKind::Purchase => OrderType::Purchase,
            plan::IntentKind::Move => OrderType::Move,
            plan::IntentKind::Disconnect => OrderType::Disconnect,
        };
        if known.contains(&order_id.0) {
            continue;
        }
        status.orders.push(OrderRecord {
            order_id: order_id.0,
            type_,
            status: OrderStatus::Pending,
            created: i.started,
            numbers: strings(&i.numbers),
            package_id: i.package.map(PackageId::get),
        });
    }

    let in_flight: BTreeSet<u64> = plan
        .memory
        .intents
        .iter()
        .filter_map(|i| i.order_id.map(|o| o.0))
        .collect();
    let lines: BTreeMap<&str, &plan::NumberStatus> = plan
        .numbers
        .iter()
        .map(|l| (l.number.as_str(), l))
        .collect();
    let owned: BTreeSet<&str> = plan.memory.owned.keys().map(E164::as_str).collect();
    for order in &mut status.orders {
        if order.status != OrderStatus::Pending || in_flight.contains(&order.order_id) {
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
    // Newest first; equal times keep their order (stable sort).
    status.orders.sort_by_key(|o| std::cmp::Reverse(o.created));
    status.orders.truncate(MAX_ORDERS);
}

// ---------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------

/// A condition as computed, before `lastTransitionTime` and `observedGeneration`
/// are filled in by [`compute_conditions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedCondition {
    /// `Ready`, `Reconciling` or `Stalled`.
    pub type_: &'static str,
    /// `True` or `False`.
    pub status: bool,
    /// CamelCase reason.
    pub reason: String,
    /// One line for a person.
    pub message: String,
}

/// The kstatus conditions for a plan's reason:
/// `Converged` → Ready; a reason that needs a person ([`Reason::is_stalled`]) →
/// Stalled; `Suspended` → neither Reconciling nor Stalled (nothing moves until
/// a person resumes, and that is what they asked for); anything else →
/// Reconciling. Every condition carries the reason and message.
pub fn plan_conditions(reason: Reason, message: &str) -> [WantedCondition; 3] {
    let name = format!("{reason:?}");
    let message = if message.is_empty() {
        match reason {
            Reason::Converged => "every number is in its package".to_string(),
            _ => name.clone(),
        }
    } else {
        message.to_string()
    };
    let (ready, reconciling, stalled) = match reason {
        Reason::Converged => (true, false, false),
        Reason::Suspended => (false, false, false),
        r if r.is_stalled() => (false, false, true),
        _ => (false, true, false),
    };
    conditions(ready, reconciling, stalled, &name, &message)
}

/// The conditions for a failure outside the plan (bad credentials, trial limit,
/// vendor unreachable): `stalled` when a person must act, else Reconciling
/// (the operator retries with backoff).
pub fn failure_conditions(reason: &str, message: &str, stalled: bool) -> [WantedCondition; 3] {
    conditions(false, !stalled, stalled, reason, message)
}

fn conditions(
    ready: bool,
    reconciling: bool,
    stalled: bool,
    reason: &str,
    message: &str,
) -> [WantedCondition; 3] {
    let c = |type_, status| WantedCondition {
        type_,
        status,
        reason: reason.to_string(),
        message: message.to_string(),
    };
    [
        c(READY, ready),
        c(RECONCILING, reconciling),
        c(STALLED, stalled),
    ]
}

/// Turns wanted conditions into Kubernetes conditions, keeping a previous
/// condition's `lastTransitionTime` when its status did not change (else `now`).
/// Conditions of other types in `prev` are kept as they are.
pub fn compute_conditions(
    prev: &[Condition],
    wanted: &[WantedCondition],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = wanted
        .iter()
        .map(|w| {
            let status = if w.status { "True" } else { "False" };
            let last = prev
                .iter()
                .find(|p| p.type_ == w.type_ && p.status == status)
                .map_or_else(|| whole_seconds(now), |p| p.last_transition_time.clone());
            Condition {
                type_: w.type_.to_string(),
                status: status.to_string(),
                reason: w.reason.clone(),
                message: w.message.clone(),
                observed_generation: generation,
                last_transition_time: last,
            }
        })
        .collect();
    out.extend(
        prev.iter()
            .filter(|p| !wanted.iter().any(|w| w.type_ == p.type_))
            .cloned(),
    );
    out
}

/// `metav1.Time` is written with whole seconds; truncating here keeps a status
/// equal to itself after a trip through the API.
fn whole_seconds(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

/// The status after a failure outside the plan: `prev` with fresh conditions
/// (see [`failure_conditions`]), `observedGeneration` and `lastSyncTime`.
pub fn status_for_failure(
    prev: Option<&TollFreeNumberSetStatus>,
    reason: &str,
    message: &str,
    stalled: bool,
    generation: Option<i64>,
    now: Timestamp,
) -> TollFreeNumberSetStatus {
    let mut status = prev.cloned().unwrap_or_default();
    status.conditions = compute_conditions(
        &status.conditions,
        &failure_conditions(reason, message, stalled),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::TollFreeNumberSetSpec;

    fn n(s: &str) -> E164 {
        E164::parse(s).expect("test number")
    }

    fn pkg(id: u64) -> PackageId {
        PackageId::new(id).expect("test package")
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn rid(s: &str) -> ReservationId {
        ReservationId::parse(s).expect("test reservation")
    }

    const EXAMPLE: &str = r#"
apiVersion: tollfree.dev/v1alpha1
kind: TollFreeNumberSet
metadata:
  name: support-lines
  namespace: telecom
  creationTimestamp: "2026-01-02T03:04:05Z"
  generation: 3
  annotations: {tollfree.dev/approve: abc123}
spec:
  accountRef: {name: intelepeer-account}
  packages:
    - packageID: 30744
      numbers: ["+18007293863", "+18003255821"]
    - packageID: 24188
      acquire: {count: 3, npa: [888, 800, 888], sequential: true}
  orderDefaults: {serviceArea: 4, myRespOrg: false, email: noc@example.com, notes: "..."}
  policy: {purchase: Auto, move: Approve, disconnect: Deny}
  disconnectGracePeriod: 72h
  limits: {maxPurchasesPerSync: 25, maxDisconnectsPerSync: 0}
  suspend: false
"#;

    fn example() -> TollFreeNumberSet {
        yaml_serde::from_str(EXAMPLE).expect("example parses")
    }

    /// The example with its spec edited.
    fn edited(edit: impl FnOnce(&mut TollFreeNumberSetSpec)) -> TollFreeNumberSet {
        let mut set = example();
        edit(&mut set.spec);
        set
    }

    #[track_caller]
    fn spec_error(set: &TollFreeNumberSet) -> String {
        set_input(set, None).expect_err("spec error").to_string()
    }

    // --- spec -> SetInput -------------------------------------------------

    #[test]
    fn parses_the_design_example_into_domain_types() {
        let set = example();
        let input = set_input(&set, approved_hash(&set)).expect("valid");
        assert_eq!(input.id.to_string(), "telecom/support-lines");
        assert_eq!(input.created, ts("2026-01-02T03:04:05Z"));
        assert!(!input.deleting);
        assert!(!input.suspend);
        assert_eq!(input.approved_hash.as_deref(), Some("abc123"));
        assert_eq!(
            input.packages,
            vec![
                plan::PackageSpec {
                    package: pkg(30744),
                    numbers: vec![n("+18007293863"), n("+18003255821")],
                    acquire: None,
                },
                plan::PackageSpec {
                    package: pkg(24188),
                    numbers: vec![],
                    acquire: Some(plan::Acquire {
                        count: 3,
                        filter: plan::Match::Npa(vec![
                            Npa::new(800).expect("npa"),
                            Npa::new(888).expect("npa"),
                        ]),
                        sequential: true,
                    }),
                },
            ]
        );
        assert_eq!(
            input.policy,
            plan::Policy {
                purchase: plan::Mode::Auto,
                r#move: plan::Mode::Approve,
                disconnect: plan::Mode::Deny,
            }
        );
        assert_eq!(input.grace, Some(SignedDuration::from_hours(72)));
        assert_eq!(
            input.limits,
            plan::Limits {
                max_purchases_per_sync: 25,
                max_disconnects_per_sync: 0,
            }
        );
        assert_eq!(
            input.order_defaults,
            plan::OrderDefaults {
                service_area: 4,
                my_resp_org: false,
                email: Some("noc@example.com".into()),
                notes: Some("...".into()),
            }
        );
        assert_eq!(input.memory, Memory::default());
    }

    #[test]
    fn applies_defaults_to_a_minimal_spec() {
        let set: TollFreeNumberSet = yaml_serde::from_str(
            r#"
apiVersion: tollfree.dev/v1alpha1
kind: TollFreeNumberSet
metadata: {name: m, namespace: n}
spec:
  accountRef: {name: acct}
  packages: [{packageID: 7, acquire: {count: 1, like: "+1888555"}}]
"#,
        )
        .expect("parses");
        let input = set_input(&set, None).expect("valid");
        assert_eq!(input.policy, plan::Policy::default());
        assert_eq!(input.limits, plan::Limits::default());
        assert_eq!(input.order_defaults.service_area, 4);
        assert!(!input.order_defaults.my_resp_org);
        assert_eq!(input.order_defaults.email, None);
        assert_eq!(input.grace, None);
        assert!(!input.suspend);
        assert_eq!(input.approved_hash, None);
        assert_eq!(
            input.packages[0].acquire.as_ref().map(|a| &a.filter),
            Some(&plan::Match::Like("+1888555".into()))
        );
    }

    #[test]
    fn a_set_never_applied_is_the_youngest_and_a_deleted_one_is_deleting() {
        let mut set = example();
        set.metadata.creation_timestamp = None;
        assert_eq!(
            set_input(&set, None).expect("valid").created,
            Timestamp::MAX
        );
        set.metadata.deletion_timestamp = Some(Time(ts("2026-02-01T00:00:00Z")));
        assert!(set_input(&set, None).expect("valid").deleting);
    }

    #[test]
    fn spec_errors_name_the_field_and_the_value() {
        type Edit = fn(&mut TollFreeNumberSetSpec);
        let cases: &[(Edit, &str)] = &[
            (
                |s| s.packages[1].numbers = vec!["+13035550100".into()],
                "spec.packages[1].numbers[0]: '+13035550100' is not toll-free: its area code 303 is not one of 800, 833, 844, 855, 866, 877, 888",
            ),
            (
                |s| s.packages[0].numbers[1] = "8005550100".into(),
                "spec.packages[0].numbers[1]: '8005550100' is not an E.164 US number",
            ),
            (
                |s| s.packages[1].numbers = vec!["+18003255821".into()],
                "spec.packages[1].numbers[0]: '+18003255821' is also spec.packages[0].numbers[1]: a number may appear only once in a set",
            ),
            (
                |s| s.packages[0].package_id = 0,
                "spec.packages[0].packageID: '0' is not a package ID",
            ),
            (
                |s| s.packages[1].package_id = -4,
                "spec.packages[1].packageID: '-4' is not a package ID",
            ),
            (
                |s| s.packages[1].package_id = 30744,
                "spec.packages[1].packageID: '30744' is also spec.packages[0].packageID",
            ),
            (
                |s| s.packages[1].acquire = None,
                "spec.packages[1]: a package needs numbers, acquire, or both",
            ),
            (|s| s.packages.clear(), "spec.packages: lists no package"),
            (
                |s| {
                    if let Some(a) = s.packages[1].acquire.as_mut() {
                        a.like = Some("+1888".into());
                    }
                },
                "spec.packages[1].acquire: acquire needs exactly one of npa (area codes) or like (a number prefix), not both",
            ),
            (
                |s| {
                    if let Some(a) = s.packages[1].acquire.as_mut() {
                        a.npa = None;
                    }
                },
                "spec.packages[1].acquire: acquire needs exactly one of npa",
            ),
            (
                |s| {
                    if let Some(a) = s.packages[1].acquire.as_mut() {
                        a.npa = None;
                        a.like = Some("+1303555".into());
                    }
                },
                "spec.packages[1].acquire.like: '+1303555' is not a toll-free prefix",
            ),
            (
                |s| {
                    if let Some(a) = s.packages[1].acquire.as_mut() {
                        a.npa = Some(vec![888, 303]);
                    }
                },
                "spec.packages[1].acquire.npa[1]: '303' is not a toll-free area code",
            ),
            (
                |s| {
                    if let Some(a) = s.packages[1].acquire.as_mut() {
                        a.npa = Some(vec![]);
                    }
                },
                "spec.packages[1].acquire.npa: lists no area code",
            ),
            (
                |s| {
                    if let Some(a) = s.packages[1].acquire.as_mut() {
                        a.count = 101;
                    }
                },
                "spec.packages[1].acquire.count: '101' is out of range: count must be between 1 and 100",
            ),
            (
                |s| s.order_defaults.service_area = 9,
                "spec.orderDefaults.serviceArea: '9' is out of range: serviceArea must be 1, 2, 3, 4 or 5",
            ),
            (
                |s| s.limits.max_disconnects_per_sync = -1,
                "spec.limits.maxDisconnectsPerSync: '-1' is negative",
            ),
            (
                |s| s.disconnect_grace_period = Some("3 days".into()),
                "spec.disconnectGracePeriod: '3 days' is not a duration like 72h, 30m or 1h30m",
            ),
            (
                |s| s.account_ref.name = "Bad_Name".into(),
                "spec.accountRef.name: 'Bad_Name' is not a Secret name",
            ),
        ];
        for (edit, expected) in cases {
            let err = spec_error(&edited(edit));
            assert!(
                err.starts_with(expected),
                "expected '{expected}', got '{err}'"
            );
        }
    }

    #[test]
    fn spec_error_keeps_path_and_value_apart() {
        let err = set_input(
            &edited(|s| s.packages[0].numbers[0] = "+13035550100".into()),
            None,
        )
        .expect_err("spec error");
        assert_eq!(err.path, "spec.packages[0].numbers[0]");
        assert_eq!(err.value, "+13035550100");
    }

    #[test]
    fn a_set_without_namespace_is_refused() {
        let mut set = example();
        set.metadata.namespace = None;
        assert_eq!(spec_error(&set), "metadata.namespace: is missing");
    }

    #[test]
    fn parses_go_durations() {
        let cases: &[(&str, SignedDuration)] = &[
            ("72h", SignedDuration::from_hours(72)),
            ("30m", SignedDuration::from_mins(30)),
            ("1h30m", SignedDuration::from_mins(90)),
            ("1.5h", SignedDuration::from_mins(90)),
            ("250ms", SignedDuration::from_millis(250)),
            ("10s", SignedDuration::from_secs(10)),
            ("5us", SignedDuration::from_micros(5)),
            ("5µs", SignedDuration::from_micros(5)),
            ("5μs", SignedDuration::from_micros(5)),
            ("7ns", SignedDuration::from_nanos(7)),
            ("0s", SignedDuration::ZERO),
            ("1m0.5s", SignedDuration::from_millis(60_500)),
            ("0.000000001s", SignedDuration::from_nanos(1)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_duration(s).as_ref(), Ok(want), "{s}");
        }
        for bad in [
            "",
            "72",
            "h",
            "-1h",
            "+1h",
            "1d",
            "1.h",
            ".5h",
            "1h 30m",
            "3 days",
            "9999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    // --- status -> memory ---------------------------------------------------

    #[test]
    fn no_status_means_no_memory() {
        assert_eq!(memory(None), Ok(Memory::default()));
        assert_eq!(
            memory(Some(&TollFreeNumberSetStatus::default())),
            Ok(Memory::default())
        );
    }

    #[test]
    fn a_corrupt_status_is_reported_by_path() {
        let status = TollFreeNumberSetStatus {
            numbers: vec![NumberEntry {
                number: "+13035550100".into(),
                owned: true,
                package_id: Some(1),
                ..NumberEntry::default()
            }],
            ..TollFreeNumberSetStatus::default()
        };
        let err = memory(Some(&status)).expect_err("corrupt");
        assert_eq!(err.path, "status.numbers[0].number");

        let status = TollFreeNumberSetStatus {
            numbers: vec![NumberEntry {
                number: "+18005550100".into(),
                owned: true,
                ..NumberEntry::default()
            }],
            ..TollFreeNumberSetStatus::default()
        };
        assert_eq!(
            memory(Some(&status)).expect_err("corrupt").to_string(),
            "status.numbers[0].packageID: is missing for an owned number"
        );

        let status = TollFreeNumberSetStatus {
            intents: vec![IntentRecord {
                kind: IntentKind::Reserve,
                numbers: vec![],
                package_id: Some(1),
                reservation_id: Some("not a uuid".into()),
                reserved_until: None,
                reference_id: None,
                order_id: None,
                acquired: false,
                started: Timestamp::UNIX_EPOCH,
            }],
            ..TollFreeNumberSetStatus::default()
        };
        assert_eq!(
            memory(Some(&status)).expect_err("corrupt").path,
            "status.intents[0].reservationID"
        );
    }

    // --- plan -> status -----------------------------------------------------

    const NOW: &str = "2026-03-01T12:00:00.123456789Z";

    fn line(number: &str, package: u64, state: plan::NumberState) -> plan::NumberStatus {
        plan::NumberStatus {
            number: n(number),
            package: pkg(package),
            state,
            order_id: None,
            reservation_id: None,
            reserved_until: None,
            message: format!("{state:?}"),
        }
    }

    /// A plan in flight that exercises every part of the memory.
    fn busy_plan() -> SetPlan {
        let mut memory = Memory::default();
        memory.owned.insert(
            n("+18007293863"),
            plan::Ownership {
                package: pkg(30744),
                acquired: false,
            },
        );
        // Owned in another package than its line says (a move in flight).
        memory.owned.insert(
            n("+18003255821"),
            plan::Ownership {
                package: pkg(11111),
                acquired: false,
            },
        );
        memory.owned.insert(
            n("+18885550100"),
            plan::Ownership {
                package: pkg(24188),
                acquired: true,
            },
        );
        // Owned, leaving, and no line at all.
        memory.owned.insert(
            n("+18335550199"),
            plan::Ownership {
                package: pkg(30744),
                acquired: true,
            },
        );
        memory
            .leaving_since
            .insert(n("+18335550199"), ts("2026-02-28T00:00:00.5Z"));
        // Only remembered as unavailable.
        memory
            .unavailable
            .insert(n("+18445550123"), ts("2026-03-01T11:00:00Z"));
        memory.intents = vec![
            plan::Intent {
                kind: plan::IntentKind::Purchase,
                numbers: vec![n("+18885550101"), n("+18885550102")],
                package: Some(pkg(24188)),
                reservation_id: Some(rid("F78793B1-7E84-11E6-B908-52540029234D")),
                reserved_until: Some(ts("2026-03-01T12:30:00Z")),
                reference_id: Some("tfns-telecom-support-lines-1".into()),
                order_id: Some(OrderId(9001)),
                acquired: true,
                started: ts("2026-03-01T11:59:00.000000001Z"),
            },
            plan::Intent {
                kind: plan::IntentKind::Reserve,
                numbers: vec![n("+18665550100")],
                package: Some(pkg(30744)),
                reservation_id: Some(rid("0F85813F-7E8B-11E6-B908-52540029234D")),
                reserved_until: None,
                reference_id: None,
                order_id: None,
                acquired: false,
                started: ts("2026-03-01T11:59:30Z"),
            },
        ];
        let mut reserved = line("+18885550101", 24188, plan::NumberState::Purchasing);
        reserved.order_id = Some(OrderId(9001));
        reserved.reservation_id = Some(rid("F78793B1-7E84-11E6-B908-52540029234D"));
        reserved.reserved_until = Some(ts("2026-03-01T12:30:00Z"));
        SetPlan {
            id: plan::SetId {
                namespace: "telecom".into(),
                name: "support-lines".into(),
            },
            actions: vec![plan::Action::Move {
                package: pkg(30744),
                numbers: vec![n("+18003255821")],
            }],
            held: vec![
                plan::Held {
                    action: plan::Action::Acquire {
                        package: pkg(24188),
                        count: 1,
                        filter: plan::Match::Npa(vec![Npa::new(888).expect("npa")]),
                        sequential: true,
                    },
                    hold: plan::Hold::OverBudget,
                },
                plan::Held {
                    action: plan::Action::Disconnect {
                        numbers: vec![n("+18335550199")],
                    },
                    hold: plan::Hold::AwaitingApproval,
                },
            ],
            hash: "h4sh".into(),
            numbers: vec![
                line("+18003255821", 30744, plan::NumberState::Moving),
                line("+18007293863", 30744, plan::NumberState::Active),
                line("+18885550100", 24188, plan::NumberState::Active),
                reserved,
                line("+18885550102", 24188, plan::NumberState::Purchasing),
                line("+18445550123", 30744, plan::NumberState::Unavailable),
            ],
            reason: Reason::Progressing,
            message: "2 numbers purchasing, 1 moving".into(),
            memory,
            release: false,
        }
    }

    fn input() -> SetInput {
        set_input(&example(), None).expect("valid")
    }

    fn status_of(
        plan: &SetPlan,
        prev: Option<&TollFreeNumberSetStatus>,
    ) -> TollFreeNumberSetStatus {
        status_from_plan(prev, &input(), plan, Some(3), ts(NOW))
    }

    #[test]
    fn memory_round_trips_through_status_and_json() {
        let plan = busy_plan();
        let status = status_of(&plan, None);
        // Through the wire, as the reconciler will read it after a crash.
        let json = serde_json::to_string(&status).expect("serializes");
        let back: TollFreeNumberSetStatus = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, status);
        let mut set = example();
        set.status = Some(back);
        assert_eq!(set_input(&set, None).expect("valid").memory, plan.memory);
    }

    mod round_trip {
        //! Any memory the planner can return survives status and JSON.

        use super::*;
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        fn number() -> impl Strategy<Value = E164> {
            (0..7usize, 0..10_000_000u32)
                .prop_map(|(i, rest)| n(&format!("+1{}{rest:07}", intelepeer::TOLL_FREE_NPAS[i])))
        }

        fn package() -> impl Strategy<Value = PackageId> {
            (1..5u64).prop_map(pkg)
        }

        fn time() -> impl Strategy<Value = Timestamp> {
            (1_700_000_000..1_900_000_000i64, 0..1_000_000_000i32)
                .prop_map(|(s, ns)| Timestamp::new(s, ns).expect("in range"))
        }

        fn intent() -> impl Strategy<Value = plan::Intent> {
            (
                prop_oneof![
                    Just(plan::IntentKind::Reserve),
                    Just(plan::IntentKind::Purchase),
                    Just(plan::IntentKind::Move),
                    Just(plan::IntentKind::Disconnect),
                ],
                vec(number(), 0..4),
                proptest::option::of(package()),
                proptest::option::of("[0-9A-F]{8}-[0-9A-F]{4}"),
                proptest::option::of(time()),
                proptest::option::of("[a-z0-9-]{0,12}"),
                proptest::option::of(1..u64::from(u32::MAX)),
                any::<bool>(),
                time(),
            )
                .prop_map(
                    |(
                        kind,
                        numbers,
                        package,
                        reservation,
                        reserved_until,
                        reference_id,
                        order,
                        acquired,
                        started,
                    )| {
                        plan::Intent {
                            kind,
                            numbers,
                            package,
                            reservation_id: reservation.as_deref().map(rid),
                            reserved_until,
                            reference_id,
                            order_id: order.map(OrderId),
                            acquired,
                            started,
                        }
                    },
                )
        }

        fn memory() -> impl Strategy<Value = Memory> {
            (
                btree_map(
                    number(),
                    (package(), any::<bool>())
                        .prop_map(|(package, acquired)| plan::Ownership { package, acquired }),
                    0..6,
                ),
                vec(intent(), 0..4),
                btree_map(number(), time(), 0..4),
                btree_map(number(), time(), 0..4),
            )
                .prop_map(|(owned, intents, leaving_since, unavailable)| Memory {
                    owned,
                    intents,
                    leaving_since,
                    unavailable,
                })
        }

        /// Number lines, some for remembered numbers (in any package), some not.
        fn lines(memory: &Memory) -> impl Strategy<Value = Vec<plan::NumberStatus>> + use<> {
            let remembered: Vec<E164> = memory.owned.keys().cloned().collect();
            (
                proptest::sample::subsequence(remembered.clone(), 0..=remembered.len()),
                vec(number(), 0..4),
                package(),
            )
                .prop_map(|(some, others, package)| {
                    some.into_iter()
                        .chain(others)
                        .map(|number| plan::NumberStatus {
                            number,
                            package,
                            state: plan::NumberState::Active,
                            order_id: None,
                            reservation_id: None,
                            reserved_until: None,
                            message: String::new(),
                        })
                        .collect()
                })
        }

        proptest! {
            #[test]
            fn memory_survives_status_and_json(
                (memory, lines) in memory().prop_flat_map(|m| (Just(m.clone()), lines(&m)))
            ) {
                let mut plan = busy_plan();
                plan.memory = memory;
                plan.numbers = lines;
                let status = status_of(&plan, None);
                let json = serde_json::to_vec(&status).expect("serializes");
                let back: TollFreeNumberSetStatus =
                    serde_json::from_slice(&json).expect("deserializes");
                prop_assert_eq!(&back, &status);
                prop_assert_eq!(super::memory(Some(&back)).expect("parses"), plan.memory);
            }
        }
    }

    #[test]
    fn an_empty_memory_round_trips_too() {
        let mut plan = busy_plan();
        plan.memory = Memory::default();
        let status = status_of(&plan, None);
        assert_eq!(memory(Some(&status)), Ok(Memory::default()));
    }

    #[test]
    fn number_entries_merge_lines_with_memory() {
        let status = status_of(&busy_plan(), None);
        let by_number: BTreeMap<&str, &NumberEntry> = status
            .numbers
            .iter()
            .map(|e| (e.number.as_str(), e))
            .collect();
        let numbers: Vec<&str> = by_number.keys().copied().collect();
        assert_eq!(
            numbers,
            status
                .numbers
                .iter()
                .map(|e| e.number.as_str())
                .collect::<Vec<_>>(),
            "sorted by number"
        );

        let moving = by_number["+18003255821"];
        assert_eq!(moving.state, Some(NumberState::Moving));
        assert_eq!(moving.package_id, Some(30744));
        assert!(moving.owned);
        assert_eq!(moving.owned_package_id, Some(11111));

        let active = by_number["+18007293863"];
        assert_eq!(active.state, Some(NumberState::Active));
        assert!(active.owned && !active.acquired);
        assert_eq!(active.owned_package_id, None);

        let leaving = by_number["+18335550199"];
        assert_eq!(leaving.state, None, "remembered only");
        assert_eq!(leaving.package_id, Some(30744));
        assert!(leaving.owned && leaving.acquired);
        assert_eq!(leaving.leaving_since, Some(ts("2026-02-28T00:00:00.5Z")));

        let unavailable = by_number["+18445550123"];
        assert_eq!(unavailable.state, Some(NumberState::Unavailable));
        assert!(!unavailable.owned);
        assert_eq!(
            unavailable.unavailable_since,
            Some(ts("2026-03-01T11:00:00Z"))
        );

        let purchasing = by_number["+18885550101"];
        assert_eq!(purchasing.order_id, Some(9001));
        assert_eq!(
            purchasing.reservation_id.as_deref(),
            Some("F78793B1-7E84-11E6-B908-52540029234D")
        );
        assert_eq!(purchasing.reserved_until, Some(ts("2026-03-01T12:30:00Z")));
        assert_eq!(purchasing.message, "Purchasing");
    }

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
        let second = status_from_plan(Some(&first), &input(), &plan, Some(4), later);
        assert_eq!(at(&second, READY), now_seconds);
        assert_eq!(at(&second, RECONCILING), now_seconds);
        assert_eq!(condition(&second, READY).2, "1 number purchasing");
        assert_eq!(second.observed_generation, Some(4));

        // Ready and Reconciling flip; Stalled stays False.
        plan.reason = Reason::Converged;
        let third = status_from_plan(Some(&second), &input(), &plan, Some(4), later);
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
            "BadCredentials",
            "secret telecom/intelepeer-account: authentication failed (401)",
            true,
            Some(3),
            now,
        );
        assert_eq!(
            condition(&s, STALLED),
            (
                "True",
                "BadCredentials",
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
            "VendorUnavailable",
            "503 from vendor",
            false,
            Some(1),
            now,
        );
        assert_eq!(condition(&s, RECONCILING).0, "True");
        assert_eq!(condition(&s, STALLED).0, "False");
    }

    #[test]
    fn orders_come_from_intents_and_settle_when_the_inventory_shows_them() {
        let mut plan = busy_plan();
        let first = status_of(&plan, None);
        assert_eq!(
            first.orders,
            vec![OrderRecord {
                order_id: 9001,
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
        prev.record_order(OrderRecord {
            order_id: 77,
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
    fn orders_are_newest_first_and_bounded() {
        let mut prev = TollFreeNumberSetStatus::default();
        for id in 0..MAX_ORDERS as u64 {
            prev.record_order(OrderRecord {
                order_id: id,
                type_: OrderType::Move,
                status: OrderStatus::Completed,
                created: Timestamp::UNIX_EPOCH
                    .checked_add(SignedDuration::from_secs(id as i64))
                    .expect("time"),
                numbers: vec![],
                package_id: None,
            });
        }
        let status = status_of(&busy_plan(), Some(&prev));
        assert_eq!(status.orders.len(), MAX_ORDERS);
        assert_eq!(status.orders[0].order_id, 9001, "the new order is newest");
        assert!(
            status
                .orders
                .windows(2)
                .all(|w| w[0].created >= w[1].created)
        );
        assert!(
            status.orders.iter().all(|o| o.order_id != 0),
            "the oldest fell off"
        );
    }

    #[test]
    fn inventory_count_is_carried_over() {
        let prev = TollFreeNumberSetStatus {
            inventory_count: Some(412),
            ..TollFreeNumberSetStatus::default()
        };
        let status = status_of(&busy_plan(), Some(&prev));
        assert_eq!(status.inventory_count, Some(412));
        assert_eq!(last_good_count(Some(&status)), Some(412));
        assert_eq!(last_good_count(None), None);
    }

    #[test]
    fn statuses_differing_only_in_timestamps_are_equal() {
        let plan = busy_plan();
        let a = status_of(&plan, None);
        let mut b = status_from_plan(None, &input(), &plan, Some(3), ts("2026-03-01T18:00:00Z"));
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
