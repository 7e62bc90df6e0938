//! Batching across sets: the vendor calls that carry out one account's plan.
//!
//! The gate batches each set's own work (one Move per package, ...). The
//! account's executor makes fewer calls still by merging the same kind of
//! order into the same package *across sets*, whenever the orders would be
//! sent with the same options (the vendor takes one set of options per call):
//!
//! | kind | merged across sets by | one call carries |
//! |---|---|---|
//! | Purchase (first attempt) | package + service area, RespOrg, email, notes | several reservations (`reservationID: [..]`), at most [`BATCH_LIMIT`] numbers |
//! | Move | package + email, notes | at most [`BATCH_LIMIT`] numbers |
//! | Disconnect | email, notes | at most [`BATCH_LIMIT`] numbers |
//! | Reserve, Acquire, re-sent Purchase | never | one set's action |
//!
//! Reservations are not shared between sets on purpose: a reservation is
//! purchased whole or left to expire, so a shared one would tie each set's
//! purchase to every other set still wanting its part. A re-sent purchase
//! repeats its first attempt exactly (same reservation and referenceID).
//!
//! Each [`BatchPart`] is one set's share of a call, as an [`Action`] of that
//! set: the executor writes every part's intent into its set's status before
//! the call and records the answer in each.

use std::collections::BTreeMap;

use intelepeer::{E164, PackageId, ReservationId};
use serde::{Deserialize, Serialize};

use crate::BATCH_LIMIT;
use crate::model::{Action, OrderDefaults, SetId, SetInput, SetPlan};

/// The options one vendor order is sent with (the vendor takes one per call).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderOptions {
    /// The service area (purchases only; 0 for other orders).
    pub service_area: u8,
    /// Provision to the customer's RespOrg (purchases only).
    pub my_resp_org: bool,
    /// Who the vendor notifies.
    pub email: Option<String>,
    /// Notes for the vendor.
    pub notes: Option<String>,
}

impl OrderOptions {
    /// The options of a purchase under `defaults`.
    pub fn purchase(defaults: &OrderDefaults) -> Self {
        OrderOptions {
            service_area: defaults.service_area,
            my_resp_org: defaults.my_resp_org,
            email: defaults.email.clone(),
            notes: defaults.notes.clone(),
        }
    }

    /// The options of a move or a disconnect under `defaults` (they take
    /// only `email` and `notes`).
    pub fn other(defaults: &OrderDefaults) -> Self {
        OrderOptions {
            service_area: 0,
            my_resp_org: false,
            email: defaults.email.clone(),
            notes: defaults.notes.clone(),
        }
    }

    /// The options a call of `kind` is sent with under `defaults`.
    pub fn of(kind: BatchKind, defaults: &OrderDefaults) -> Self {
        match kind {
            BatchKind::Purchase => Self::purchase(defaults),
            _ => Self::other(defaults),
        }
    }
}

/// The kind of vendor call a batch makes. Declared in execution order
/// (the gate's order of actions: buy what is reserved, move, reserve,
/// acquire, disconnect last), which `Ord` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BatchKind {
    /// `POST /my/tf/orders` by reservations.
    Purchase,
    /// `POST /my/tf/package`.
    Move,
    /// `POST /carrier/tf/reservations` (one set's numbers).
    Reserve,
    /// A pool search, then a reservation (one set's request).
    Acquire,
    /// `POST /my/tf/disconnect`.
    Disconnect,
}

impl BatchKind {
    /// The kind of call that carries out `action`.
    pub fn of(action: &Action) -> Self {
        match action {
            Action::Purchase { .. } => BatchKind::Purchase,
            Action::Move { .. } => BatchKind::Move,
            Action::Reserve { .. } => BatchKind::Reserve,
            Action::Acquire { .. } => BatchKind::Acquire,
            Action::Disconnect { .. } => BatchKind::Disconnect,
        }
    }
}

/// One set's share of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPart {
    /// The set.
    pub set: SetId,
    /// Its share, as an action of its plan (for a merged Move or Disconnect
    /// possibly a part of one: the numbers that fit this call).
    pub action: Action,
}

/// One vendor call and the sets it serves, in execution order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// What the call does.
    pub kind: BatchKind,
    /// The options the call is sent with.
    pub options: OrderOptions,
    /// Each set's share, sorted by set.
    pub parts: Vec<BatchPart>,
}

impl Batch {
    /// Every number the call names.
    pub fn numbers(&self) -> impl Iterator<Item = &E164> {
        self.parts.iter().flat_map(|p| p.action.numbers())
    }

    /// The target package (Purchase, Move, Reserve, Acquire).
    pub fn package(&self) -> Option<PackageId> {
        self.parts.first().and_then(|p| p.action.package())
    }

    /// The reservations a purchase buys, in part order.
    pub fn reservation_ids(&self) -> Vec<&ReservationId> {
        self.parts
            .iter()
            .filter_map(|p| match &p.action {
                Action::Purchase { reservation_id, .. } => Some(reservation_id),
                _ => None,
            })
            .collect()
    }
}

/// What a mergeable action is merged by (the kind first: execution order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: BatchKind,
    package: Option<PackageId>,
    options: OrderOptions,
}

/// The vendor calls that execute the `actions` of every set's plan (`plans`,
/// with each set's input in `sets` for its order options), merged across sets
/// as the module documentation says, in execution order: by kind (Purchase,
/// Move, Reserve, Acquire, Disconnect — the gate's order), then package and
/// options, then set. Actions of a set missing from `sets` are left out.
///
/// Pure and deterministic; every action of every plan is in exactly one
/// batch (a merged Move or Disconnect may be split across calls).
pub fn batches<'a>(plans: impl IntoIterator<Item = &'a SetPlan>, sets: &[SetInput]) -> Vec<Batch> {
    let inputs: BTreeMap<&SetId, &SetInput> = sets.iter().map(|s| (&s.id, s)).collect();
    let mut merged: BTreeMap<Key, Vec<BatchPart>> = BTreeMap::new();
    let mut single: Vec<Batch> = Vec::new();
    let mut ordered: Vec<&SetPlan> = plans.into_iter().collect();
    ordered.sort_by(|a, b| a.id.cmp(&b.id));
    for plan in ordered {
        let Some(input) = inputs.get(&plan.id) else {
            continue;
        };
        let defaults = &input.order_defaults;
        for action in &plan.actions {
            let part = BatchPart {
                set: plan.id.clone(),
                action: action.clone(),
            };
            let kind = BatchKind::of(action);
            let options = OrderOptions::of(kind, defaults);
            // A retried purchase goes alone: its earlier call's fate is unknown.
            let mergeable = matches!(
                action,
                Action::Purchase { retry: false, .. }
                    | Action::Move { .. }
                    | Action::Disconnect { .. }
            );
            if mergeable {
                merged
                    .entry(Key {
                        kind,
                        package: action.package(),
                        options,
                    })
                    .or_default()
                    .push(part);
            } else {
                single.push(Batch {
                    kind,
                    options,
                    parts: vec![part],
                });
            }
        }
    }
    let mut out: Vec<Batch> = Vec::new();
    for (key, parts) in merged {
        for parts in pack(key.kind, parts) {
            out.push(Batch {
                kind: key.kind,
                options: key.options.clone(),
                parts,
            });
        }
    }
    out.extend(single);
    // Stable: merged batches (by package and options) come before the
    // single ones of the same kind, which keep set order.
    out.sort_by_key(|b| b.kind);
    out
}

/// Packs parts into calls of at most [`BATCH_LIMIT`] numbers. Purchases keep
/// each reservation whole (a reservation holds at most `BATCH_LIMIT`
/// numbers); Moves and Disconnects split a set's share across calls.
fn pack(kind: BatchKind, parts: Vec<BatchPart>) -> Vec<Vec<BatchPart>> {
    let mut calls: Vec<Vec<BatchPart>> = Vec::new();
    let mut current: Vec<BatchPart> = Vec::new();
    let mut room = BATCH_LIMIT;
    for part in parts {
        if kind == BatchKind::Purchase {
            let size = part.action.numbers().len();
            if size > room && !current.is_empty() {
                calls.push(std::mem::take(&mut current));
                room = BATCH_LIMIT;
            }
            room = room.saturating_sub(size);
            current.push(part);
            continue;
        }
        let mut numbers = part.action.numbers().to_vec();
        while !numbers.is_empty() {
            if room == 0 {
                calls.push(std::mem::take(&mut current));
                room = BATCH_LIMIT;
            }
            let rest = numbers.split_off(numbers.len().min(room));
            room -= numbers.len();
            current.push(BatchPart {
                set: part.set.clone(),
                action: with_numbers(&part.action, numbers),
            });
            numbers = rest;
        }
    }
    if !current.is_empty() {
        calls.push(current);
    }
    calls
}

fn with_numbers(action: &Action, numbers: Vec<E164>) -> Action {
    match action {
        Action::Move { package, .. } => Action::Move {
            package: *package,
            numbers,
        },
        Action::Disconnect { .. } => Action::Disconnect { numbers },
        other => other.clone(),
    }
}
