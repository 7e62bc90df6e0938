//! Per-number decisions for one set: what it owns after this observation, what
//! each number needs next, and which units of work go to the [`gate`].
//!
//! Order of reasoning (each step only sees what the previous ones left):
//!
//! 1. **Ownership.** Keep owned numbers the set still wins; forget numbers a
//!    disconnect removed. An owned number a *trusted* listing no longer shows
//!    is kept and marked **missing** while the set still wants it (declared,
//!    or bought for an `acquire` request): it is never reserved, purchased or
//!    replaced on its own, the set is Stalled (`NumbersMissing`) until it
//!    shows again or a person confirms it gone (`forget_missing` equal to
//!    [`missing_hash`](crate::missing_hash)); one the set no longer wants is
//!    forgotten. An untrusted listing never makes the set forget anything.
//!    Purchases that appeared and declared numbers found in the inventory
//!    become owned (adopt before buying: a declared number in the account is
//!    never bought).
//! 2. **Reservations.** A recorded reservation is purchased only if every
//!    number in it is still wanted (declared here, or needed by an `acquire`
//!    request); otherwise it is left to expire — buying it would buy numbers
//!    nobody wants. The same holds for sending again a purchase that never
//!    recorded an order ID (`intents::purchase_retry_due`). A refused or
//!    lapsed unanswered purchase is proven unbought by a fresh reservation of
//!    its numbers (`intents::proof_due`), wanted or not (a proof buys nothing).
//!
//! Every new reservation (Reserve, Acquire) carries whether a listing that
//! started after the set's spec was observed covers it (`Coverage`); the gate
//! holds the others (`Hold::Unverified`) until the caller has listed.
//! 3. **Acquire requests**, per package: owned acquired numbers in the package
//!    count first (the lowest `count` are kept; the highest surplus leave like
//!    removed numbers), then purchases in flight, then spare acquired numbers
//!    of packages without a request are moved in (a move, never disconnect +
//!    buy), then unclaimed inventory numbers already in the package are
//!    adopted (lowest first), then recorded reservations are purchased, and
//!    only the remainder is acquired. While a purchase for the package is in
//!    flight nothing new is acquired for it.
//! 4. **Declared numbers**: adopt (moving if the package differs), or reserve;
//!    a number the vendor refused is `Unavailable` for [`UNAVAILABLE_RETRY`].
//! 5. **Leaving numbers** (owned, no longer wanted): a disconnect unit with the
//!    grace deadline from `memory.leaving_since` — only for numbers already in
//!    the *recorded* `memory.owned` (a purchase that just landed is recorded as
//!    owned first and disconnected by a later reconcile). Under `Deny` the gate holds
//!    it and the number is released from `memory.owned` (retained, unowned).
//! 6. Numbers with an intent in flight get nothing new; their line comes from
//!    the intent.
//!
//! Deletion: the set wants nothing, so everything it owns is leaving. The
//! grace period **does apply** on deletion (a deleted set is the likeliest
//! accident; during the grace period a person can still set
//! `policy.disconnect: Deny` on the terminating object to retain the numbers).
//! With `Deny` the set is released at once, numbers retained — in-flight orders
//! are not waited for, since their numbers would be retained anyway. With
//! `Auto`/`Approve` it is released once it owns nothing and has no order in
//! flight. A suspended set being deleted is released at once, untouched.

use std::collections::{BTreeMap, BTreeSet};

use intelepeer::{E164, PackageId};

use crate::desired::Desired;
use crate::gate::{self, Gate, Outcome, Unit};
use crate::hash::missing_hash;
use crate::intents::{self, purchase_unconfirmed, reservation_expiry};
use crate::model::{
    Hold, IntentKind, Memory, Mode, NumberState, Ownership, SetId, SetInput, SetPlan,
};
use crate::ownership::{Claims, Unclaimed};
use crate::status::{self, Entry, Line, Step, Summary, order_text};
use crate::{Ctx, UNAVAILABLE_RETRY, after};

/// Whether a listing that started at or after `since` covers a decision.
fn fresh(listed: Option<jiff::Timestamp>, since: jiff::Timestamp) -> bool {
    listed.is_some_and(|t| t >= since)
}

/// Plans one set. `i` is its index in `sets`.
pub fn plan_set(
    ctx: &Ctx<'_>,
    sets: &[SetInput],
    i: usize,
    want: &Desired<'_>,
    claims: &Claims,
    pool: &mut Unclaimed<'_>,
) -> SetPlan {
    let set = &sets[i];
    if set.deleting && set.suspend {
        return released_while_suspended(set);
    }
    let now = ctx.now;
    let inv = &ctx.inventory.numbers;
    let won = |n: &E164| claims.won_by(n, i);
    let winner_id = |n: &E164| -> Option<&SetId> {
        claims
            .winner(n)
            .filter(|c| c.set != i)
            .and_then(|c| sets.get(c.set))
            .map(|s| &s.id)
    };
    let why_untrusted = ctx.unsafe_reason.as_deref().unwrap_or("");

    let flight = intents::resolve(&set.memory.intents, ctx);
    let mut entries: BTreeMap<E164, Entry> = BTreeMap::new();
    let mut units: Vec<Unit> = Vec::new();
    let coverage = &ctx.inventory.coverage;

    // A person confirmed the missing numbers gone: those a trusted listing
    // still does not show are no longer owned (one that came back stays).
    let forgotten: BTreeSet<&E164> = match &set.forget_missing {
        Some(h)
            if ctx.trusted()
                && !set.memory.missing.is_empty()
                && h.trim() == missing_hash(&set.memory.missing) =>
        {
            set.memory
                .missing
                .keys()
                .filter(|n| !inv.contains_key(*n))
                .collect()
        }
        _ => BTreeSet::new(),
    };
    let wants_kept = |n: &E164, o: &Ownership| {
        want.declared.contains_key(n) || (o.acquired && want.acquires.contains_key(&o.package))
    };

    // 1. Ownership.
    let mut owned: BTreeMap<E164, Ownership> = BTreeMap::new();
    let mut missing: BTreeMap<E164, jiff::Timestamp> = BTreeMap::new();
    for (n, o) in &set.memory.owned {
        if forgotten.contains(n) {
            continue;
        }
        if !won(n) {
            if let (Some(to), false, Some(x)) =
                (winner_id(n), want.declared.contains_key(n), inv.get(n))
            {
                entries.insert(
                    n.clone(),
                    Entry::new(
                        x.package,
                        Line::Fixed(
                            NumberState::Active,
                            format!(
                                "handed over to set {to}, which wants it; no longer this set's"
                            ),
                        ),
                    ),
                );
            }
            continue;
        }
        if flight.gone.contains(n) {
            continue;
        }
        if ctx.trusted() && !inv.contains_key(n) {
            if !wants_kept(n, o) {
                continue;
            }
            let since = set.memory.missing.get(n).copied().unwrap_or(now);
            missing.insert(n.clone(), since);
        }
        owned.insert(n.clone(), o.clone());
    }
    for a in &flight.appeared {
        if !won(&a.number) {
            continue;
        }
        let package = want
            .package_of(&a.number)
            .or(a.package)
            .or_else(|| inv.get(&a.number).map(|x| x.package));
        if let Some(package) = package {
            owned.insert(
                a.number.clone(),
                Ownership {
                    package,
                    acquired: a.acquired && !want.declared.contains_key(&a.number),
                },
            );
        }
    }
    let mut adopted: BTreeSet<E164> = BTreeSet::new();
    for (&n, &q) in &want.declared {
        if !won(n) {
            continue;
        }
        if inv.contains_key(n) || owned.contains_key(n) {
            if !set.memory.owned.contains_key(n) && inv.contains_key(n) {
                adopted.insert(n.clone());
            }
            owned.insert(
                n.clone(),
                Ownership {
                    package: q,
                    acquired: false,
                },
            );
        }
    }

    // 2. Recorded reservations of declared numbers.
    let mut purchase_unit: Vec<Option<usize>> = vec![None; flight.intents.len()];
    for (k, intent) in flight.intents.iter().enumerate() {
        if intent.kind != IntentKind::Reserve {
            continue;
        }
        let (Some(recorded), Some(rid)) = (intent.package, &intent.reservation_id) else {
            continue;
        };
        if !intent
            .numbers
            .iter()
            .all(|n| won(n) && want.declared.contains_key(n))
        {
            continue;
        }
        let packages: BTreeSet<PackageId> = intent
            .numbers
            .iter()
            .filter_map(|n| want.package_of(n))
            .collect();
        let package = match packages.first() {
            Some(&p) if packages.len() == 1 => p,
            _ => recorded,
        };
        purchase_unit[k] = Some(units.len());
        units.push(Unit::Purchase {
            package,
            reservation_id: rid.clone(),
            numbers: intent.numbers.clone(),
            retry: false,
        });
    }

    // 3. Acquire requests.
    let mut kept_acquired: BTreeSet<E164> = BTreeSet::new();
    let mut spare: BTreeSet<E164> = BTreeSet::new();
    let mut by_package: BTreeMap<PackageId, Vec<E164>> = BTreeMap::new();
    for (n, o) in &owned {
        if o.acquired && !want.declared.contains_key(n) {
            by_package.entry(o.package).or_default().push(n.clone());
        }
    }
    for (p, numbers) in by_package {
        match want.acquires.get(&p) {
            Some(a) => {
                let keep = usize::try_from(a.count).unwrap_or(usize::MAX);
                for (k, n) in numbers.into_iter().enumerate() {
                    if k < keep {
                        kept_acquired.insert(n);
                    } else {
                        spare.insert(n);
                    }
                }
            }
            None => spare.extend(numbers),
        }
    }
    let mut purchasing: BTreeMap<PackageId, u64> = BTreeMap::new();
    for intent in &flight.intents {
        if intent.kind == IntentKind::Purchase
            && intent.acquired
            && let Some(p) = intent.package
        {
            *purchasing.entry(p).or_default() += intent.numbers.len() as u64;
        }
    }
    let mut need: BTreeMap<PackageId, u64> = BTreeMap::new();
    let mut overfilled: BTreeSet<PackageId> = BTreeSet::new();
    for (&p, a) in &want.acquires {
        let kept = kept_acquired
            .iter()
            .filter(|n| owned.get(*n).is_some_and(|o| o.package == p))
            .count() as u64;
        let in_flight = purchasing.get(&p).copied().unwrap_or(0);
        if kept.saturating_add(in_flight) > u64::from(a.count) {
            overfilled.insert(p);
        }
        let missing = u64::from(a.count)
            .saturating_sub(kept)
            .saturating_sub(in_flight);
        need.insert(p, missing);
    }
    // Purchase intents to send again (`intents::purchase_retry_due`: no order
    // ID, numbers not in the inventory, reservation live): the same purchase,
    // and only while every number is still wanted — declared here, or bought
    // for an acquire request that purchases in flight do not overfill.
    for &k in &flight.retry_due {
        let Some(intent) = flight.intents.get(k) else {
            continue;
        };
        let (Some(p), Some(rid)) = (intent.package, &intent.reservation_id) else {
            continue;
        };
        let for_acquire =
            intent.acquired && want.acquires.contains_key(&p) && !overfilled.contains(&p);
        if !intent
            .numbers
            .iter()
            .all(|n| won(n) && (want.declared.contains_key(n) || for_acquire))
        {
            continue;
        }
        purchase_unit[k] = Some(units.len());
        units.push(Unit::Purchase {
            package: p,
            reservation_id: rid.clone(),
            numbers: intent.numbers.clone(),
            retry: true,
        });
    }
    // Refused or lapsed unanswered purchases: a fresh reservation of their
    // numbers proves them unbought (see `intents::proof_due`). One unit per
    // number, batched back into one Reserve by the gate. No fresher listing
    // is needed: the vendor reserves only numbers nobody owns or has ordered,
    // so its answer is the proof.
    let mut proof_units: BTreeMap<usize, usize> = BTreeMap::new();
    for &k in flight.proof_due.keys() {
        let Some(intent) = flight.intents.get(k) else {
            continue;
        };
        let (Some(p), Some(rid)) = (intent.package, &intent.reservation_id) else {
            continue;
        };
        if !intent.numbers.iter().all(won) {
            continue;
        }
        proof_units.insert(k, units.len());
        for n in &intent.numbers {
            units.push(Unit::Reserve {
                package: p,
                number: n.clone(),
                proves: Some(rid.clone()),
                verified: true,
            });
        }
    }
    // Spare acquired numbers move into requests that are short (never
    // disconnect + buy): the lowest matching ones first.
    for (&p, a) in &want.acquires {
        let Some(missing) = need.get_mut(&p) else {
            continue;
        };
        if a.sequential || *missing == 0 {
            continue;
        }
        let limit = usize::try_from(*missing).unwrap_or(usize::MAX);
        let chosen: Vec<E164> = spare
            .iter()
            .filter(|n| a.filter.matches(n) && inv.contains_key(*n))
            .take(limit)
            .cloned()
            .collect();
        for n in chosen {
            spare.remove(&n);
            if let Some(o) = owned.get_mut(&n) {
                o.package = p;
            }
            kept_acquired.insert(n);
            *missing -= 1;
        }
    }
    // Unclaimed numbers already in the package.
    for (&p, a) in &want.acquires {
        let Some(missing) = need.get_mut(&p) else {
            continue;
        };
        for n in pool.take(p, &a.filter, a.sequential, *missing) {
            *missing = missing.saturating_sub(1);
            owned.insert(
                n.clone(),
                Ownership {
                    package: p,
                    acquired: true,
                },
            );
            adopted.insert(n.clone());
            kept_acquired.insert(n);
        }
    }
    // Recorded reservations for acquire requests, oldest first, while they fit.
    let mut acquired_reservations: Vec<usize> = flight
        .intents
        .iter()
        .enumerate()
        .filter(|(k, x)| {
            x.kind == IntentKind::Reserve
                && x.acquired
                && purchase_unit[*k].is_none()
                && x.package.is_some_and(|p| want.acquires.contains_key(&p))
        })
        .map(|(k, _)| k)
        .collect();
    acquired_reservations.sort_by(|&a, &b| {
        let (a, b) = (&flight.intents[a], &flight.intents[b]);
        (a.started, &a.reservation_id).cmp(&(b.started, &b.reservation_id))
    });
    for k in acquired_reservations {
        let intent = &flight.intents[k];
        let (Some(p), Some(rid)) = (intent.package, &intent.reservation_id) else {
            continue;
        };
        let Some(missing) = need.get_mut(&p) else {
            continue;
        };
        let size = intent.numbers.len() as u64;
        if size <= *missing && intent.numbers.iter().all(won) {
            *missing -= size;
            purchase_unit[k] = Some(units.len());
            units.push(Unit::Purchase {
                package: p,
                reservation_id: rid.clone(),
                numbers: intent.numbers.clone(),
                retry: false,
            });
        }
    }
    for (&p, a) in &want.acquires {
        let short = need.get(&p).copied().unwrap_or(0);
        if short > 0 && !purchasing.contains_key(&p) {
            units.push(Unit::Acquire {
                package: p,
                count: u32::try_from(short).unwrap_or(u32::MAX),
                filter: a.filter.clone(),
                sequential: a.sequential,
                verified: fresh(coverage.of_package(p), set.observed_since),
            });
        }
    }

    // 4. Declared numbers.
    // Owned numbers an untrusted listing does not show (they may be there).
    let mut unlisted = 0usize;
    let mut conflicts: Vec<(&E164, &SetId)> = Vec::new();
    for (&n, &q) in &want.declared {
        if let Some(winner) = winner_id(n) {
            conflicts.push((n, winner));
            entries.insert(
                n.clone(),
                Entry::new(
                    q,
                    Line::Fixed(
                        NumberState::Conflict,
                        format!("also claimed by older set {winner}, which keeps it; left alone"),
                    ),
                ),
            );
            continue;
        }
        if !won(n) || flight.by_number.contains_key(n) {
            continue;
        }
        let entry = match inv.get(n) {
            Some(x) if x.package == q => {
                let message = if adopted.contains(n) {
                    format!("adopted from the account; active in package {q}")
                } else {
                    format!("active in package {q}")
                };
                Entry {
                    order_id: x.order_id,
                    ..Entry::new(q, Line::Fixed(NumberState::Active, message))
                }
            }
            Some(x) => {
                units.push(Unit::Move {
                    package: q,
                    number: n.clone(),
                });
                Entry {
                    order_id: x.order_id,
                    ..Entry::new(
                        q,
                        Line::Unit(units.len() - 1, Step::Move { from: x.package }),
                    )
                }
            }
            None if missing.contains_key(n) => missing_entry(q, &missing, n, set),
            None if claims.recorded_owned(n) && !set.memory.owned.contains_key(n) => Entry::new(
                q,
                Line::Fixed(
                    NumberState::Blocked,
                    "recorded as owned by another set, which lets it go now that the listing no \
                     longer shows it; planned again once it has"
                        .to_owned(),
                ),
            ),
            None if owned.contains_key(n) => {
                unlisted += 1;
                Entry::new(
                    q,
                    Line::Fixed(
                        NumberState::Blocked,
                        format!("owned, but missing from the inventory listing: {why_untrusted}"),
                    ),
                )
            }
            None => match set.memory.unavailable.get(n) {
                Some(&since) if now < after(since, UNAVAILABLE_RETRY) => Entry::new(
                    q,
                    Line::Fixed(
                        NumberState::Unavailable,
                        format!(
                            "the vendor refused to reserve it at {since} (not available); \
                             retrying after {}",
                            after(since, UNAVAILABLE_RETRY)
                        ),
                    ),
                ),
                _ => {
                    units.push(Unit::Reserve {
                        package: q,
                        number: n.clone(),
                        proves: None,
                        verified: fresh(coverage.of_number(n), set.observed_since),
                    });
                    Entry::new(q, Line::Unit(units.len() - 1, Step::Reserve))
                }
            },
        };
        entries.insert(n.clone(), entry);
    }

    // Kept acquired numbers.
    for n in &kept_acquired {
        if flight.by_number.contains_key(n) {
            continue;
        }
        let Some(p) = owned.get(n).map(|o| o.package) else {
            continue;
        };
        let entry = match inv.get(n) {
            Some(x) if x.package == p => {
                let message = if adopted.contains(n) {
                    format!(
                        "adopted from the account for an acquire request; active in package {p}"
                    )
                } else {
                    format!("active in package {p} (acquired)")
                };
                Entry {
                    order_id: x.order_id,
                    ..Entry::new(p, Line::Fixed(NumberState::Active, message))
                }
            }
            Some(x) => {
                units.push(Unit::Move {
                    package: p,
                    number: n.clone(),
                });
                Entry {
                    order_id: x.order_id,
                    ..Entry::new(
                        p,
                        Line::Unit(units.len() - 1, Step::Move { from: x.package }),
                    )
                }
            }
            None if missing.contains_key(n) => missing_entry(p, &missing, n, set),
            None => {
                unlisted += 1;
                Entry::new(
                    p,
                    Line::Fixed(
                        NumberState::Blocked,
                        format!("owned, but missing from the inventory listing: {why_untrusted}"),
                    ),
                )
            }
        };
        entries.insert(n.clone(), entry);
    }

    // 5. Leaving numbers.
    let mut leaving_since = BTreeMap::new();
    let mut newly_owned_leaving = 0;
    let mut gone_leaving: Vec<E164> = Vec::new();
    for (n, o) in &owned {
        if want.declared.contains_key(n) || kept_acquired.contains(n) {
            continue;
        }
        if missing.contains_key(n) {
            // No longer wanted and not in the account as a trusted listing
            // tells: nothing to disconnect, nothing to buy — forgotten.
            gone_leaving.push(n.clone());
            continue;
        }
        let since = set.memory.leaving_since.get(n).copied().unwrap_or(now);
        leaving_since.insert(n.clone(), since);
        if flight.by_number.contains_key(n) {
            continue;
        }
        let entry = match inv.get(n) {
            Some(x) if !set.memory.owned.contains_key(n) => {
                // Owned as of this plan (a purchase landed): status records
                // the ownership first; only a recorded owner disconnects.
                newly_owned_leaving += 1;
                Entry {
                    order_id: x.order_id,
                    ..Entry::new(
                        x.package,
                        Line::Fixed(
                            NumberState::PendingDisconnect,
                            "no longer wanted; recording ownership before it can be disconnected"
                                .to_owned(),
                        ),
                    )
                }
            }
            Some(x) => {
                units.push(Unit::Disconnect {
                    number: n.clone(),
                    grace_until: set.grace.map(|g| after(since, g)),
                });
                Entry {
                    order_id: x.order_id,
                    ..Entry::new(x.package, Line::Unit(units.len() - 1, Step::Disconnect))
                }
            }
            None => Entry::new(
                o.package,
                Line::Fixed(
                    NumberState::PendingDisconnect,
                    format!(
                        "no longer wanted, but missing from the inventory listing: {why_untrusted}"
                    ),
                ),
            ),
        };
        entries.insert(n.clone(), entry);
    }
    for n in &gone_leaving {
        owned.remove(n);
        missing.remove(n);
        leaving_since.remove(n);
    }

    // 6. Numbers in flight.
    for (k, intent) in flight.intents.iter().enumerate() {
        for n in &intent.numbers {
            if flight.by_number.get(n) != Some(&k) {
                continue;
            }
            let current = inv.get(n).map(|x| x.package);
            let package = want
                .package_of(n)
                .or(intent.package)
                .or(current)
                .or_else(|| owned.get(n).map(|o| o.package));
            let Some(package) = package else {
                continue;
            };
            let order = order_text(intent);
            let line = match intent.kind {
                IntentKind::Reserve => match purchase_unit[k] {
                    Some(u) => Line::Unit(u, Step::Purchase),
                    None => Line::Fixed(
                        NumberState::Reserved,
                        format!(
                            "reservation also holds numbers not wanted now; left to expire at {}",
                            reservation_expiry(intent)
                        ),
                    ),
                },
                IntentKind::Purchase => match purchase_unit[k] {
                    Some(u) => Line::Unit(u, Step::Retry),
                    None if proof_units.contains_key(&k) => {
                        Line::Unit(proof_units[&k], Step::Prove)
                    }
                    None if purchase_unconfirmed(intent, now) => Line::Fixed(
                        NumberState::Purchasing,
                        format!(
                            "purchase into package {package} not in the inventory after {} ({order}); \
                             check with the vendor — never re-bought automatically",
                            crate::SETTLE_WINDOW
                        ),
                    ),
                    None if intent.refused.is_some() => Line::Fixed(
                        NumberState::Purchasing,
                        format!(
                            "the vendor refused the purchase into package {package} that an \
                             earlier, unanswered attempt may have made ({order}); waiting for the \
                             inventory to show it, or for a fresh reservation to prove it unbought"
                        ),
                    ),
                    None => Line::Fixed(
                        NumberState::Purchasing,
                        format!("purchasing into package {package} ({order})"),
                    ),
                },
                IntentKind::Move => Line::Fixed(
                    NumberState::Moving,
                    match current {
                        Some(from) => format!("moving from package {from} to {package} ({order})"),
                        None => format!("moving to package {package} ({order})"),
                    },
                ),
                IntentKind::Disconnect => Line::Fixed(
                    NumberState::Disconnecting,
                    format!("disconnect ordered ({order}); waiting for it to leave the account"),
                ),
            };
            let reserve_like = matches!(intent.kind, IntentKind::Reserve | IntentKind::Purchase);
            entries.insert(
                n.clone(),
                Entry {
                    package,
                    order_id: intent.order_id,
                    reservation_id: intent.reservation_id.clone().filter(|_| reserve_like),
                    reserved_until: if intent.kind == IntentKind::Reserve {
                        Some(reservation_expiry(intent))
                    } else {
                        None
                    },
                    line,
                },
            );
        }
    }

    // The gate decides.
    let gated = gate::gate(&units, &Gate::of(set, now, ctx.unsafe_reason.as_deref()));

    // Under `Deny`, a number leaving the spec is released: retained, unowned.
    let mut released: BTreeSet<E164> = BTreeSet::new();
    for (unit, outcome) in units.iter().zip(&gated.outcomes) {
        if let (Unit::Disconnect { number, .. }, Outcome::Held(Hold::Denied)) = (unit, outcome) {
            owned.remove(number);
            leaving_since.remove(number);
            released.insert(number.clone());
        }
    }

    let numbers: Vec<_> = entries
        .into_iter()
        .map(|(n, e)| status::render(n, e, &units, &gated, set))
        .collect();
    // Ready only when every number the set keeps is Active in its package.
    let not_active = numbers
        .iter()
        .filter(|l| l.state != NumberState::Active && !released.contains(&l.number))
        .count();

    let unavailable = set
        .memory
        .unavailable
        .iter()
        .filter(|(n, _)| want.declared.contains_key(*n) && won(n) && !owned.contains_key(*n))
        .map(|(n, t)| (n.clone(), *t))
        .collect();

    let in_flight = flight
        .intents
        .iter()
        .enumerate()
        .filter(|(k, x)| x.kind != IntentKind::Reserve || purchase_unit[*k].is_some())
        .count()
        + newly_owned_leaving;
    let orders_in_flight = flight.intents.iter().any(|x| x.kind != IntentKind::Reserve);
    let release = set.deleting
        && (set.policy.disconnect == Mode::Deny
            || (owned.is_empty() && !orders_in_flight && gated.actions.is_empty()));
    let unconfirmed = flight
        .intents
        .iter()
        .filter(|x| purchase_unconfirmed(x, now))
        .collect();
    let (mut reason, mut message) = status::reason(&Summary {
        set,
        unconfirmed,
        conflicts,
        numbers: &numbers,
        gated: &gated,
        in_flight,
        released: released.len(),
        release,
        missing_hash: missing_hash(&missing),
        unlisted,
        why_untrusted: ctx.unsafe_reason.as_deref(),
        not_active,
    });
    if set.deleting && !release && reason == crate::Reason::Converged {
        reason = crate::Reason::Progressing;
        message = format!(
            "deleting: {} still owned, waiting for a trustworthy inventory listing or orders to settle",
            status::count(owned.len())
        );
    }

    SetPlan {
        id: set.id.clone(),
        actions: gated.actions,
        held: gated.held,
        hash: gated.hash,
        numbers,
        reason,
        message,
        memory: Memory {
            owned,
            intents: flight.intents,
            leaving_since,
            unavailable,
            missing,
        },
        settled: flight.settled,
        release,
    }
}

/// The line of an owned number that a trusted listing no longer shows.
fn missing_entry(
    package: PackageId,
    missing: &BTreeMap<E164, jiff::Timestamp>,
    n: &E164,
    set: &SetInput,
) -> Entry {
    let since = missing.get(n).copied().unwrap_or(set.observed_since);
    Entry::new(
        package,
        Line::Fixed(
            NumberState::Missing,
            format!(
                "owned by this set, but the account's listing no longer shows it (since {since}); \
                 never bought again automatically"
            ),
        ),
    )
}

/// A suspended set being deleted: released at once, without vendor calls.
fn released_while_suspended(set: &SetInput) -> SetPlan {
    SetPlan {
        id: set.id.clone(),
        actions: Vec::new(),
        held: Vec::new(),
        hash: String::new(),
        numbers: Vec::new(),
        reason: crate::Reason::Converged,
        message: format!(
            "deleting while suspended: released without vendor calls; {} retained in the account",
            status::count(set.memory.owned.len())
        ),
        memory: set.memory.clone(),
        settled: Vec::new(),
        release: true,
    }
}
