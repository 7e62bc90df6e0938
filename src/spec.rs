//! A set's spec as the planner reads it: [`set_input`] parses a
//! [`TollFreeNumberSet`] into the planner's [`SetInput`] once — domain types
//! ([`E164`], [`PackageId`], ...), defaults applied, the approval, and the
//! set's memory read from its status ([`memory::from_status`]). Pure, no I/O.
//!
//! A spec that slipped past admission (every CEL rule is checked again here)
//! is a [`SpecError`] naming the field path and the value; so is a corrupt
//! status. [`salvage`] keeps what can be read of such a set, so that it is
//! planned around, never for.
//!
//! Defaults (also in the CRD schema, so `kubectl get -o yaml` shows them):
//! policy purchase/move `Auto`, disconnect `Deny`; limits 25 purchases and 5
//! disconnects per sync; `orderDefaults.serviceArea` 4 (the value of every
//! example in the vendor's reference); `suspend` false; no grace period.

use std::collections::{BTreeMap, BTreeSet};

use intelepeer::{E164, Npa, PackageId};
use jiff::{SignedDuration, Timestamp};
use tollfree_plan as plan;
use tollfree_plan::SetInput;

use crate::crd::{
    APPROVE_ANNOTATION, AcquireSpec, LimitsSpec, MAX_SET_NUMBERS, OrderDefaultsSpec, PackageEntry,
    PolicyMode, PolicySpec, TollFreeNumberSet,
};
use crate::memory;

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
    pub(crate) fn new(
        path: impl Into<String>,
        value: impl ToString,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            value: value.to_string(),
            problem: problem.into(),
        }
    }

    /// From a domain parse error, whose message already quotes the value.
    pub(crate) fn parse(
        path: impl Into<String>,
        value: impl ToString,
        err: intelepeer::ParseError,
    ) -> Self {
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
    let required = |value: &Option<String>, path: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SpecError::new(path, "", "is missing"))
    };
    Ok(plan::SetId {
        namespace: required(&obj.metadata.namespace, "metadata.namespace")?,
        name: required(&obj.metadata.name, "metadata.name")?,
    })
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
        forget_missing: None,
        observed_since: Timestamp::UNIX_EPOCH,
        memory: memory::from_status(obj.status.as_ref())?,
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
    let memory = memory::from_status(obj.status.as_ref())
        .unwrap_or_else(|_| memory::salvage(obj.status.as_ref()));
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
            forget_missing: None,
            observed_since: Timestamp::UNIX_EPOCH,
            memory,
        }
        .claims_only(),
    )
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
    let total: usize = out
        .iter()
        .map(|p| p.numbers.len() + p.acquire.as_ref().map_or(0, |a| a.count as usize))
        .sum();
    if total > MAX_SET_NUMBERS {
        return Err(SpecError::new(
            "spec.packages",
            total,
            format!(
                "holds {total} numbers (exact numbers plus acquire counts); a set may hold at most \
                 {MAX_SET_NUMBERS}: split it into several sets"
            ),
        ));
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

/// `spec.disconnectGracePeriod`, a Go duration ([`go_duration`], the
/// grammar of every duration): absent means no grace period.
pub fn grace_period(value: Option<&str>) -> Result<Option<SignedDuration>, SpecError> {
    let field = "spec.disconnectGracePeriod";
    value
        .map(|v| {
            let d = go_duration::parse(v).map_err(|e| SpecError::new(field, v, e.to_string()))?;
            // Never fails: the grammar stops at i64::MAX nanoseconds.
            SignedDuration::try_from(d).map_err(|e| SpecError::new(field, v, e.to_string()))
        })
        .transpose()
}

/// Whether `name` is a DNS-1123 subdomain, as the names of most objects
/// (Secrets, sets) must be: at most 253 characters, dot-separated labels of
/// lower-case letters, digits and '-', each starting and ending with a
/// letter or digit.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)
}

/// `accountRef.name` must be a DNS-1123 subdomain (a Secret's name).
fn check_secret_name(name: &str) -> Result<(), SpecError> {
    if is_dns1123_subdomain(name) {
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

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use tollfree_plan::Memory;

    use super::*;
    use crate::crd::TollFreeNumberSetSpec;
    use crate::fixtures::{self, n, npa, pkg, ts};

    fn example() -> TollFreeNumberSet {
        fixtures::example()
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

    #[test]
    fn parses_the_design_example_into_domain_types() {
        // Edited so that every conversion shows: area codes repeated and out
        // of order, a move under Approve, no disconnects per sync.
        let set = edited(|s| {
            if let Some(a) = s.packages[1].acquire.as_mut() {
                a.npa = Some(vec![888, 800, 888]);
            }
            s.policy.r#move = PolicyMode::Approve;
            s.limits.max_disconnects_per_sync = 0;
        });
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
                        filter: plan::Match::Npa(vec![npa(800), npa(888)]),
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
                notes: Some("support lines".into()),
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
}
