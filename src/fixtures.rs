//! Test fixtures of the operator crate's unit tests, in one place (as
//! controller-rs's `fixtures.rs`): domain values from text (`n`, `pkg`,
//! `ts`, `rid`), the canonical example manifest, sets, and a plan in flight
//! that exercises every part of a status.
//!
//! Compiled for tests only. Every helper panics on bad input: a fixture that
//! does not parse is a broken test, not a case to handle.

use intelepeer::{E164, Npa, OrderId, PackageId, ReservationId};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tollfree_plan as plan;
use tollfree_plan::{Memory, Reason, SetId, SetInput, SetPlan};

use crate::crd::{APPROVE_ANNOTATION, TollFreeNumberSet, TollFreeNumberSetStatus};
use crate::status::{Findings, compute_status};

/// A number, e.g. `n("+18005550100")`.
pub fn n(s: &str) -> E164 {
    E164::parse(s).expect("test number")
}

/// A package ID.
pub fn pkg(id: u64) -> PackageId {
    PackageId::new(id).expect("test package")
}

/// A timestamp, e.g. `ts("2026-03-01T12:00:00Z")`.
pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

/// A reservation ID.
pub fn rid(s: &str) -> ReservationId {
    ReservationId::parse(s).expect("test reservation")
}

/// A toll-free area code.
pub fn npa(code: u16) -> Npa {
    Npa::new(code).expect("test area code")
}

/// The ID of set `namespace/name`.
pub fn set_id(namespace: &str, name: &str) -> SetId {
    SetId {
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// The canonical example manifest (`deploy/examples/support-lines.yaml`), as
/// the README shows it and a user applies it.
pub const EXAMPLE: &str = include_str!("../deploy/examples/support-lines.yaml");

/// [`EXAMPLE`] as the API server stores it: created at
/// 2026-01-02T03:04:05Z, generation 3, approved with hash `abc123`.
pub fn example() -> TollFreeNumberSet {
    let mut set: TollFreeNumberSet = yaml_serde::from_str(EXAMPLE).expect("example parses");
    set.metadata.creation_timestamp = Some(Time(ts("2026-01-02T03:04:05Z")));
    set.metadata.generation = Some(3);
    set.metadata.annotations = Some(
        [(APPROVE_ANNOTATION.to_owned(), "abc123".to_owned())]
            .into_iter()
            .collect(),
    );
    set
}

/// [`example`] parsed for the planner (its approval not trusted).
pub fn example_input() -> SetInput {
    crate::spec::set_input(&example(), None).expect("example is valid")
}

/// A stored set `namespace/name` (UID `uid-NAME`, resourceVersion 1) whose
/// account Secret is `secret`, declaring `number` in package 30744.
pub fn set(namespace: &str, name: &str, secret: &str, number: &str) -> TollFreeNumberSet {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"), "resourceVersion": "1"},
        "spec": {"accountRef": {"name": secret}, "packages": [{"packageID": 30744, "numbers": [number]}]}
    }))
    .expect("test set")
}

/// A number line in `state`, whose message is the state's name.
pub fn line(number: &str, package: u64, state: plan::NumberState) -> plan::NumberStatus {
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

/// When [`status_of`] computes a status: not on a whole second.
pub const NOW: &str = "2026-03-01T12:00:00.123456789Z";

/// A plan of the example in flight that exercises every part of the memory.
pub fn busy_plan() -> SetPlan {
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
            refused: None,
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
            refused: None,
        },
    ];
    let mut reserved = line("+18885550101", 24188, plan::NumberState::Purchasing);
    reserved.order_id = Some(OrderId(9001));
    reserved.reservation_id = Some(rid("F78793B1-7E84-11E6-B908-52540029234D"));
    reserved.reserved_until = Some(ts("2026-03-01T12:30:00Z"));
    SetPlan {
        id: set_id("telecom", "support-lines"),
        actions: vec![plan::Action::Move {
            package: pkg(30744),
            numbers: vec![n("+18003255821")],
        }],
        held: vec![
            plan::Held {
                action: plan::Action::Acquire {
                    package: pkg(24188),
                    count: 1,
                    filter: plan::Match::Npa(vec![npa(888)]),
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
        settled: Vec::new(),
        release: false,
    }
}

/// The status recorded for the example after `plan` (its own memory, no
/// failure), at [`NOW`], generation 3.
pub fn status_of(
    plan: &SetPlan,
    prev: Option<&TollFreeNumberSetStatus>,
) -> TollFreeNumberSetStatus {
    status_at(plan, prev, 3, ts(NOW))
}

/// [`status_of`] for another generation and clock.
pub fn status_at(
    plan: &SetPlan,
    prev: Option<&TollFreeNumberSetStatus>,
    generation: i64,
    now: Timestamp,
) -> TollFreeNumberSetStatus {
    let input = example_input();
    let found = Findings {
        input: &input,
        plan,
        memory: &plan.memory,
        failure: None,
        inventory_count: None,
        account: None,
    };
    compute_status(prev, &found, Some(generation), now)
}
