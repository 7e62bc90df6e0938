//! The one choke point (docs/safety.md, rule 9): every mutation the diff wants passes
//! here, and only what comes out as an action is executed.
//!
//! The diff proposes *units* (one number, one reservation, one acquire
//! request). For each unit, in this order, the first rule that applies holds it:
//!
//! 1. the operation's policy is `Deny` → [`Hold::Denied`];
//! 2. a disconnect inside its grace period → [`Hold::Grace`];
//! 3. `spec.suspend` → [`Hold::Suspended`];
//! 4. an untrusted inventory (incomplete, or a sharp unexplained drop) holds
//!    new purchases (Reserve, Acquire) and disconnects → [`Hold::UnsafeInventory`]
//!    (purchasing an existing reservation and moves do not depend on absence
//!    in the listing, so they proceed);
//! 5. a reservation (Reserve, Acquire) that no listing newer than the set's
//!    spec covers → [`Hold::Unverified`] (the diff marks each unit: see
//!    [`Coverage`](crate::Coverage)); the caller lists and plans again;
//! 6. budgets: purchases count numbers across Purchase (of a reservation:
//!    first, they expire), Reserve (lowest numbers first) and Acquire (by
//!    package; split when partly over), disconnects count numbers (lowest
//!    first) → [`Hold::OverBudget`];
//! 7. policy `Approve`: the units that survived the rules above form the plan
//!    to approve; their batched actions are hashed ([`approval_hash`]) and run
//!    only when `approved_hash` equals that hash, else
//!    [`Hold::AwaitingApproval`]. Budgets come before approval so the hash
//!    covers exactly what would run in this sync.
//!
//! Purchasing a recorded reservation (or re-sending that purchase) is never
//! held for approval: the reservation exists only because its Reserve or
//! Acquire action ran, which under `Approve` required the approval of the
//! purchase it leads to. The same holds for a reservation that proves a
//! refused purchase unbought (`proves`): it replaces a purchase already
//! decided, so it needs no approval and spends no budget.
//!
//! Survivors are batched (rule 9): one Reserve and one Move per package (a
//! proving Reserve alone, one per refused purchase), one Disconnect for the set, chunked at [`BATCH_LIMIT`] numbers; actions are
//! ordered Purchase, Move, Reserve, Acquire, Disconnect (reservations expire,
//! so they go first; the irreversible goes last).

use std::collections::{BTreeMap, HashSet};

use intelepeer::{E164, PackageId, ReservationId};
use jiff::Timestamp;

use crate::hash::approval_hash;
use crate::model::{
    Action, Held, Hold, IntentKind, Limits, Match, Mode, PlanInput, Policy, SetInput,
};
use crate::{BATCH_LIMIT, SHARP_DROP_NUMBERS, SHARP_DROP_PERCENT};

/// One mutation the diff wants, before gating and batching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// Purchase a recorded reservation.
    Purchase {
        /// Target package.
        package: PackageId,
        /// The recorded reservation.
        reservation_id: ReservationId,
        /// Its numbers.
        numbers: Vec<E164>,
        /// Sent again for a Purchase intent without an order ID.
        retry: bool,
    },
    /// Reserve one declared number.
    Reserve {
        /// Target package.
        package: PackageId,
        /// The number.
        number: E164,
        /// The refused purchase this reservation proves unbought, if any.
        proves: Option<ReservationId>,
        /// A listing newer than the spec (or the refusal) shows the number absent.
        verified: bool,
    },
    /// Acquire `count` numbers by search.
    Acquire {
        /// Target package.
        package: PackageId,
        /// How many.
        count: u32,
        /// Which qualify.
        filter: Match,
        /// One contiguous run.
        sequential: bool,
        /// A listing newer than the spec covers the package.
        verified: bool,
    },
    /// Move one owned number.
    Move {
        /// Target package.
        package: PackageId,
        /// The number.
        number: E164,
    },
    /// Disconnect one owned number.
    Disconnect {
        /// The number.
        number: E164,
        /// The end of its grace period, if one applies.
        grace_until: Option<Timestamp>,
    },
}

/// What the gate decided for a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Executed now (for a split Acquire: at least part of it).
    Run,
    /// Held, and why.
    Held(Hold),
}

/// The gate's verdict for one set.
#[derive(Debug, Default)]
pub struct Gated {
    /// Batched actions to execute now, in execution order.
    pub actions: Vec<Action>,
    /// Batched held actions, sorted.
    pub held: Vec<Held>,
    /// Hash of the actions that need approval; empty when none do.
    pub hash: String,
    /// One outcome per unit, in the order given.
    pub outcomes: Vec<Outcome>,
}

/// What the gate needs to know about a set.
#[derive(Debug, Clone, Copy)]
pub struct Gate<'a> {
    /// The clock.
    pub now: Timestamp,
    /// `spec.policy`.
    pub policy: Policy,
    /// `spec.suspend`.
    pub suspend: bool,
    /// `spec.limits`.
    pub limits: Limits,
    /// The approval annotation.
    pub approved_hash: Option<&'a str>,
    /// Why the inventory is not trusted, if it is not.
    pub unsafe_reason: Option<&'a str>,
}

impl<'a> Gate<'a> {
    /// The gate of a set.
    pub fn of(set: &'a SetInput, now: Timestamp, unsafe_reason: Option<&'a str>) -> Self {
        Gate {
            now,
            policy: set.policy,
            suspend: set.suspend,
            limits: set.limits,
            approved_hash: set.approved_hash.as_deref(),
            unsafe_reason,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Run,
    Approve,
}

/// A unit, or part of a split Acquire, with its decision.
#[derive(Debug, Clone)]
struct Part {
    unit: usize,
    count: Option<u32>,
    verdict: Result<Verdict, Hold>,
}

fn mode(policy: &Policy, unit: &Unit) -> Mode {
    match unit {
        Unit::Purchase { .. } | Unit::Reserve { .. } | Unit::Acquire { .. } => policy.purchase,
        Unit::Move { .. } => policy.r#move,
        Unit::Disconnect { .. } => policy.disconnect,
    }
}

/// Budget order: purchases of reservations, reserves, acquires, moves, disconnects.
fn priority(unit: &Unit) -> (u8, Option<PackageId>, Option<&str>, Option<&E164>) {
    match unit {
        Unit::Purchase {
            package,
            reservation_id,
            ..
        } => (0, Some(*package), Some(reservation_id.as_str()), None),
        Unit::Reserve {
            number,
            proves: Some(proves),
            ..
        } => (0, None, Some(proves.as_str()), Some(number)),
        Unit::Reserve { number, .. } => (1, None, None, Some(number)),
        Unit::Acquire { package, .. } => (2, Some(*package), None, None),
        Unit::Move { number, .. } => (3, None, None, Some(number)),
        Unit::Disconnect { number, .. } => (4, None, None, Some(number)),
    }
}

/// Gates and batches one set's units.
pub fn gate(units: &[Unit], g: &Gate<'_>) -> Gated {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| priority(&units[a]).cmp(&priority(&units[b])));

    let mut purchases_left = u64::from(g.limits.max_purchases_per_sync);
    let mut disconnects_left = u64::from(g.limits.max_disconnects_per_sync);
    let mut parts: Vec<Part> = Vec::with_capacity(units.len());

    for i in order {
        let unit = &units[i];
        let mode = mode(&g.policy, unit);
        let mut part = Part {
            unit: i,
            count: None,
            verdict: Ok(Verdict::Run),
        };
        let mut rest = None;
        if mode == Mode::Deny {
            part.verdict = Err(Hold::Denied);
        } else if let Unit::Disconnect {
            grace_until: Some(until),
            ..
        } = unit
            && g.now < *until
        {
            part.verdict = Err(Hold::Grace(*until));
        } else if g.suspend {
            part.verdict = Err(Hold::Suspended);
        } else if let (Some(reason), true) = (g.unsafe_reason, needs_trusted_inventory(unit)) {
            part.verdict = Err(Hold::UnsafeInventory(reason.to_owned()));
        } else if !verified(unit) {
            part.verdict = Err(Hold::Unverified);
        } else {
            match unit {
                Unit::Purchase { numbers, .. } => {
                    spend(&mut purchases_left, numbers.len() as u64, &mut part);
                }
                Unit::Reserve {
                    proves: Some(_), ..
                } => {}
                Unit::Reserve { .. } => spend(&mut purchases_left, 1, &mut part),
                Unit::Acquire { count, .. } => {
                    let run = u64::from(*count).min(purchases_left);
                    if run == 0 {
                        part.verdict = Err(Hold::OverBudget);
                    } else {
                        purchases_left -= run;
                        let run = u32::try_from(run).unwrap_or(*count);
                        if run < *count {
                            part.count = Some(run);
                            rest = Some(Part {
                                unit: i,
                                count: Some(*count - run),
                                verdict: Err(Hold::OverBudget),
                            });
                        }
                    }
                }
                Unit::Move { .. } => {}
                Unit::Disconnect { .. } => spend(&mut disconnects_left, 1, &mut part),
            }
            if part.verdict.is_ok() && mode == Mode::Approve && !decided_before(unit) {
                part.verdict = Ok(Verdict::Approve);
            }
        }
        parts.push(part);
        parts.extend(rest);
    }

    let to_approve = batch(
        units,
        parts.iter().filter(|p| p.verdict == Ok(Verdict::Approve)),
    );
    let hash = if to_approve.is_empty() {
        String::new()
    } else {
        approval_hash(&to_approve)
    };
    let approved = g
        .approved_hash
        .is_some_and(|h| crate::hash::approves(h, &hash));
    for part in &mut parts {
        if part.verdict == Ok(Verdict::Approve) {
            part.verdict = if approved {
                Ok(Verdict::Run)
            } else {
                Err(Hold::AwaitingApproval)
            };
        }
    }

    let actions = batch(units, parts.iter().filter(|p| p.verdict.is_ok()));
    let mut groups: BTreeMap<HoldKey, (Hold, Vec<&Part>)> = BTreeMap::new();
    for part in &parts {
        if let Err(hold) = &part.verdict {
            groups
                .entry(hold_key(hold))
                .or_insert_with(|| (hold.clone(), Vec::new()))
                .1
                .push(part);
        }
    }
    let mut held: Vec<Held> = groups
        .into_values()
        .flat_map(|(hold, parts)| {
            batch(units, parts.into_iter())
                .into_iter()
                .map(move |action| Held {
                    action,
                    hold: hold.clone(),
                })
        })
        .collect();
    held.sort_by(|a, b| {
        (action_rank(&a.action), &a.action, hold_key(&a.hold)).cmp(&(
            action_rank(&b.action),
            &b.action,
            hold_key(&b.hold),
        ))
    });

    let mut outcomes: Vec<Option<Outcome>> = vec![None; units.len()];
    for part in &parts {
        let slot = &mut outcomes[part.unit];
        if slot.is_none() {
            *slot = Some(match &part.verdict {
                Ok(_) => Outcome::Run,
                Err(hold) => Outcome::Held(hold.clone()),
            });
        }
    }
    Gated {
        actions,
        held,
        hash,
        outcomes: outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Run))
            .collect(),
    }
}

fn spend(left: &mut u64, weight: u64, part: &mut Part) {
    if weight <= *left {
        *left -= weight;
    } else {
        part.verdict = Err(Hold::OverBudget);
    }
}

/// New purchases and disconnects rely on "absent from the listing means not in
/// the account"; purchasing a held reservation and moves do not.
fn needs_trusted_inventory(unit: &Unit) -> bool {
    matches!(
        unit,
        Unit::Reserve { .. } | Unit::Acquire { .. } | Unit::Disconnect { .. }
    )
}

/// Whether the diff found a listing fresh enough for the unit (only
/// reservations need one).
fn verified(unit: &Unit) -> bool {
    match unit {
        Unit::Reserve { verified, .. } | Unit::Acquire { verified, .. } => *verified,
        _ => true,
    }
}

/// Units that carry out a purchase already decided (and, under `Approve`,
/// already approved): the purchase of a recorded reservation, and a
/// reservation proving a refused purchase unbought.
fn decided_before(unit: &Unit) -> bool {
    matches!(
        unit,
        Unit::Purchase { .. }
            | Unit::Reserve {
                proves: Some(_),
                ..
            }
    )
}

/// A total order on holds (for grouping and sorting).
type HoldKey = (u8, Option<Timestamp>, String);

fn hold_key(hold: &Hold) -> HoldKey {
    match hold {
        Hold::Denied => (0, None, String::new()),
        Hold::AwaitingApproval => (1, None, String::new()),
        Hold::Suspended => (2, None, String::new()),
        Hold::OverBudget => (3, None, String::new()),
        Hold::Grace(until) => (4, Some(*until), String::new()),
        Hold::UnsafeInventory(why) => (5, None, why.clone()),
        Hold::Unverified => (6, None, String::new()),
    }
}

/// Execution order of actions: the order of the kinds of their calls.
fn action_rank(action: &Action) -> crate::BatchKind {
    crate::BatchKind::of(action)
}

/// Batches parts into actions (rule 9), sorted in execution order.
fn batch<'p>(units: &[Unit], parts: impl Iterator<Item = &'p Part>) -> Vec<Action> {
    let mut out = Vec::new();
    let mut reserves: BTreeMap<(PackageId, Option<ReservationId>), Vec<E164>> = BTreeMap::new();
    let mut moves: BTreeMap<PackageId, Vec<E164>> = BTreeMap::new();
    let mut disconnects: Vec<E164> = Vec::new();
    for part in parts {
        match &units[part.unit] {
            Unit::Purchase {
                package,
                reservation_id,
                numbers,
                retry,
            } => out.push(Action::Purchase {
                package: *package,
                reservation_id: reservation_id.clone(),
                numbers: numbers.clone(),
                retry: *retry,
            }),
            Unit::Reserve {
                package,
                number,
                proves,
                ..
            } => {
                reserves
                    .entry((*package, proves.clone()))
                    .or_default()
                    .push(number.clone());
            }
            Unit::Acquire {
                package,
                count,
                filter,
                sequential,
                ..
            } => out.push(Action::Acquire {
                package: *package,
                count: part.count.unwrap_or(*count),
                filter: filter.clone(),
                sequential: *sequential,
            }),
            Unit::Move { package, number } => {
                moves.entry(*package).or_default().push(number.clone());
            }
            Unit::Disconnect { number, .. } => disconnects.push(number.clone()),
        }
    }
    for ((package, proves), numbers) in reserves {
        for numbers in chunks(numbers) {
            out.push(Action::Reserve {
                package,
                numbers,
                proves: proves.clone(),
            });
        }
    }
    for (package, numbers) in moves {
        for numbers in chunks(numbers) {
            out.push(Action::Move { package, numbers });
        }
    }
    for numbers in chunks(disconnects) {
        out.push(Action::Disconnect { numbers });
    }
    out.sort_by(|a, b| (action_rank(a), a).cmp(&(action_rank(b), b)));
    out
}

fn chunks(mut numbers: Vec<E164>) -> Vec<Vec<E164>> {
    numbers.sort();
    numbers.dedup();
    numbers.chunks(BATCH_LIMIT).map(<[E164]>::to_vec).collect()
}

/// Whether the inventory may be trusted for decisions that rely on a number
/// being *absent* (disconnects, new purchases, declaring owned numbers missing).
///
/// `Err` names why not: the listing is incomplete, or it has more than
/// [`SHARP_DROP_NUMBERS`] numbers and more than [`SHARP_DROP_PERCENT`]% fewer
/// than `last_good_count` (the last *trusted* count), after discounting
/// numbers that left through this account's own recorded disconnects — unless
/// a person confirmed exactly this count (`confirmed_count`). The operator
/// records a listing's size as the trusted count only when this returns `Ok`
/// ([`Plan::trusted_count`](crate::Plan::trusted_count)), so an implausible
/// listing never becomes the baseline, however often it repeats.
pub fn inventory_check(input: &PlanInput) -> Result<(), String> {
    let inv = &input.inventory;
    if !inv.complete {
        return Err(
            "the inventory listing is incomplete (not every page was read in one pass)".to_owned(),
        );
    }
    let Some(good) = input.last_good_count else {
        return Ok(());
    };
    let current = inv.numbers.len();
    let disconnected: HashSet<&E164> = input
        .sets
        .iter()
        .flat_map(|s| &s.memory.intents)
        .filter(|i| i.kind == IntentKind::Disconnect)
        .flat_map(|i| &i.numbers)
        .filter(|n| !inv.numbers.contains_key(*n))
        .collect();
    let drop = good.saturating_sub(current.saturating_add(disconnected.len()));
    if drop > SHARP_DROP_NUMBERS
        && drop.saturating_mul(100) > good.saturating_mul(SHARP_DROP_PERCENT)
        && input.confirmed_count != Some(current)
    {
        return Err(format!(
            "the inventory lists {current} numbers but the last trusted listing had {good}; \
             {drop} are missing that no disconnect of this operator explains — nothing is \
             bought or disconnected until they return, or a person confirms the new count \
             with annotation tollfree.dev/confirm-inventory={current} on a set of the account"
        ));
    }
    Ok(())
}
