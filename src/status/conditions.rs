//! The set's kstatus conditions: which of `Ready`, `Reconciling` and
//! `Stalled` are True for a plan's reason or for a failure outside the plan,
//! with typed condition types and reasons, and [`compute_conditions`], which
//! keeps a condition's `lastTransitionTime` when its status did not change
//! (as operator-rs's `compute_conditions` does).
//!
//! Every condition carries the same reason and message: the planner's
//! [`Reason`] (`Converged`, `Progressing`, `Conflict`, ...) or a
//! [`FailureReason`] of the operator (`CredentialsInvalid`, `TrialLimit`, ...).

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use tollfree_plan::Reason;

use super::text;

/// The condition types a set has (kstatus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionType {
    /// The account matches the spec.
    Ready,
    /// Changes are in flight and progress continues on its own.
    Reconciling,
    /// A person must act before progress continues.
    Stalled,
}

impl ConditionType {
    /// Every type, in the order conditions are written.
    pub const ALL: [ConditionType; 3] = [
        ConditionType::Ready,
        ConditionType::Reconciling,
        ConditionType::Stalled,
    ];

    /// The condition's `type` as written in status.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::Reconciling => "Reconciling",
            ConditionType::Stalled => "Stalled",
        }
    }
}

/// Why a reconcile failed outside the plan, as the set's conditions say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureReason {
    /// The account Secret is missing or unusable, or the vendor refused it.
    CredentialsInvalid,
    /// The vendor's trial limit blocks purchases (402).
    TrialLimit,
    /// The spec (or the memory in status) cannot be planned.
    InvalidSpec,
    /// The vendor refused a request for a reason a person must look at.
    VendorRejected,
    /// The vendor could not be reached or answered 5xx/429; retried with backoff.
    VendorUnavailable,
    /// The inventory listing could not be read consistently; retried with backoff.
    InventoryUnreadable,
}

impl FailureReason {
    /// The condition reason as written in status.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::CredentialsInvalid => "CredentialsInvalid",
            FailureReason::TrialLimit => "TrialLimit",
            FailureReason::InvalidSpec => "InvalidSpec",
            FailureReason::VendorRejected => "VendorRejected",
            FailureReason::VendorUnavailable => "VendorUnavailable",
            FailureReason::InventoryUnreadable => "InventoryUnreadable",
        }
    }

    /// Whether a person must act (`Stalled`), rather than the operator
    /// retrying with backoff (`Reconciling`).
    pub fn is_stalled(self) -> bool {
        !matches!(
            self,
            FailureReason::VendorUnavailable | FailureReason::InventoryUnreadable
        )
    }
}

/// The reason every condition of a set carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionReason {
    /// The planner's verdict.
    Plan(Reason),
    /// A failure outside the plan.
    Failure(FailureReason),
}

impl From<Reason> for ConditionReason {
    fn from(reason: Reason) -> Self {
        ConditionReason::Plan(reason)
    }
}

impl From<FailureReason> for ConditionReason {
    fn from(reason: FailureReason) -> Self {
        ConditionReason::Failure(reason)
    }
}

impl ConditionReason {
    /// The condition reason as written in status (CamelCase).
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionReason::Plan(reason) => plan_reason(reason),
            ConditionReason::Failure(reason) => reason.as_str(),
        }
    }

    /// Whether another Event already tells why the set is Stalled for this
    /// reason, so that the Stalled condition needs no Event of its own: a
    /// hold Event (`Denied`, `AwaitingApproval`, `UnsafeInventory`) or the
    /// executor's `NumberUnavailable` refusal.
    pub fn is_explained_by_other_events(self) -> bool {
        matches!(
            self,
            ConditionReason::Plan(r) if r.is_announced_by_holds()
        )
    }

    /// Whether this is a failure the operator retries on its own (the set
    /// stays Reconciling), which deserves a Warning Event nonetheless.
    pub fn is_retried_failure(self) -> bool {
        matches!(self, ConditionReason::Failure(f) if !f.is_stalled())
    }
}

/// The planner's reason as a condition reason.
fn plan_reason(reason: Reason) -> &'static str {
    reason.as_str()
}

/// A failure outside the plan, as the set's conditions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The condition reason; it decides Stalled or Reconciling.
    pub reason: FailureReason,
    /// One line for a person.
    pub message: String,
}

/// The conditions a set should show, before `lastTransitionTime` and
/// `observedGeneration` are filled in by [`compute_conditions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The reason all three conditions carry.
    pub reason: ConditionReason,
    /// The message all three carry: one line for a person.
    pub message: String,
    /// `Ready` is True.
    pub ready: bool,
    /// `Reconciling` is True.
    pub reconciling: bool,
    /// `Stalled` is True.
    pub stalled: bool,
}

impl Wanted {
    /// The conditions for a plan's reason: `Converged` → Ready; a reason that
    /// needs a person ([`Reason::is_stalled`]) → Stalled; `Suspended` → neither
    /// Reconciling nor Stalled (nothing moves until a person resumes, and that
    /// is what they asked for); anything else → Reconciling. An empty
    /// `message` is replaced by a default.
    pub fn of_plan(reason: Reason, message: &str) -> Self {
        let message = match (message.is_empty(), reason) {
            (false, _) => message.to_owned(),
            (true, Reason::Converged) => text::CONVERGED.to_owned(),
            (true, _) => plan_reason(reason).to_owned(),
        };
        let (ready, reconciling, stalled) = match reason {
            Reason::Converged => (true, false, false),
            Reason::Suspended => (false, false, false),
            r if r.is_stalled() => (false, false, true),
            _ => (false, true, false),
        };
        Wanted {
            reason: reason.into(),
            message,
            ready,
            reconciling,
            stalled,
        }
    }

    /// The conditions for a failure outside the plan: Stalled when a person
    /// must act, else Reconciling (the operator retries with backoff).
    pub fn of_failure(failure: &Failure) -> Self {
        let stalled = failure.reason.is_stalled();
        Wanted {
            reason: failure.reason.into(),
            message: failure.message.clone(),
            ready: false,
            reconciling: !stalled,
            stalled,
        }
    }

    /// Whether the condition of type `type_` is True.
    pub fn is_true(&self, type_: ConditionType) -> bool {
        match type_ {
            ConditionType::Ready => self.ready,
            ConditionType::Reconciling => self.reconciling,
            ConditionType::Stalled => self.stalled,
        }
    }
}

/// `True` / `False` as a condition's status.
fn status_text(is_true: bool) -> &'static str {
    if is_true { "True" } else { "False" }
}

/// Turns wanted conditions into Kubernetes conditions, keeping a previous
/// condition's `lastTransitionTime` when its status did not change (else
/// `now`, in whole seconds). Conditions of other types in `prev` are kept as
/// they are, after ours.
pub fn compute_conditions(
    prev: &[Condition],
    wanted: &Wanted,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = ConditionType::ALL
        .iter()
        .map(|&type_| {
            let status = status_text(wanted.is_true(type_));
            let last = prev
                .iter()
                .find(|p| p.type_ == type_.as_str() && p.status == status)
                .map_or_else(|| whole_seconds(now), |p| p.last_transition_time.clone());
            Condition {
                type_: type_.as_str().to_owned(),
                status: status.to_owned(),
                reason: wanted.reason.as_str().to_owned(),
                message: wanted.message.clone(),
                observed_generation: generation,
                last_transition_time: last,
            }
        })
        .collect();
    out.extend(
        prev.iter()
            .filter(|p| !ConditionType::ALL.iter().any(|t| t.as_str() == p.type_))
            .cloned(),
    );
    out
}

/// `metav1.Time` is written with whole seconds; truncating here keeps a status
/// equal to itself after a trip through the API.
fn whole_seconds(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_stall_unless_the_operator_retries_them() {
        use FailureReason::*;
        for (reason, stalled) in [
            (CredentialsInvalid, true),
            (TrialLimit, true),
            (InvalidSpec, true),
            (VendorRejected, true),
            (VendorUnavailable, false),
            (InventoryUnreadable, false),
        ] {
            let wanted = Wanted::of_failure(&Failure {
                reason,
                message: "m".into(),
            });
            assert_eq!(
                (wanted.ready, wanted.reconciling, wanted.stalled),
                (false, !stalled, stalled),
                "{reason:?}"
            );
            assert_eq!(
                ConditionReason::from(reason).is_retried_failure(),
                !stalled,
                "{reason:?}"
            );
        }
    }

    #[test]
    fn reasons_are_written_as_their_names() {
        assert_eq!(
            ConditionReason::from(Reason::OrderUnconfirmed).as_str(),
            "OrderUnconfirmed"
        );
        assert_eq!(
            ConditionReason::from(FailureReason::CredentialsInvalid).as_str(),
            "CredentialsInvalid"
        );
        assert_eq!(ConditionType::Stalled.as_str(), "Stalled");
    }

    #[test]
    fn reasons_other_events_explain_are_named() {
        let explained: Vec<Reason> = [
            Reason::Converged,
            Reason::Progressing,
            Reason::Conflict,
            Reason::NumberUnavailable,
            Reason::BudgetExceeded,
            Reason::ApprovalPending,
            Reason::PolicyDenied,
            Reason::Suspended,
            Reason::InventoryUnsafe,
            Reason::GracePeriod,
            Reason::OrderUnconfirmed,
        ]
        .into_iter()
        .filter(|r| ConditionReason::from(*r).is_explained_by_other_events())
        .collect();
        assert_eq!(
            explained,
            [
                Reason::NumberUnavailable,
                Reason::ApprovalPending,
                Reason::PolicyDenied,
                Reason::InventoryUnsafe
            ]
        );
        assert!(
            !ConditionReason::from(FailureReason::CredentialsInvalid)
                .is_explained_by_other_events()
        );
    }
}
