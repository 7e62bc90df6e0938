//! Resolving write-ahead intents against the inventory, before anything is
//! planned or retried (docs/safety.md, rule 5: never buy twice).
//!
//! | intent     | resolved (removed) when                         | otherwise                                   |
//! |------------|-------------------------------------------------|---------------------------------------------|
//! | Reserve    | never: it is purchased or dropped               | dropped when expired, malformed, or a number is already in the account; else purchasable |
//! | Purchase   | per number, when it appears in the inventory; or dropped when a reservation proving it unbought succeeds | `Purchasing`; re-sent as the same purchase when [`purchase_retry_due`]; once refused or lapsed, proven unbought by a fresh reservation ([`proof_due`]); after [`SETTLE_WINDOW`] `OrderUnconfirmed`, never re-bought |
//! | Move       | per number, when it shows in the target package (or left a trusted listing) | `Moving`; without an order ID and every number still where it was after [`ORDER_RETRY_DELAY`], dropped and re-planned ([`order_given_up`]); after [`SETTLE_WINDOW`] dropped and re-planned |
//! | Disconnect | per number, when it left a trusted listing      | `Disconnecting`; an answered one is never re-sent; without an order ID and every number still listed after [`ORDER_RETRY_DELAY`], dropped and re-planned ([`order_given_up`]) |
//!
//! Dropping a Reserve intent is always safe: the executor turns it into a
//! Purchase intent before it sends any order, so a Reserve intent means no
//! order was sent. An expired reservation is never purchased.
//!
//! A Purchase intent without an order ID may never have reached the vendor
//! (a crash between the write-ahead and the call). It is resolved from the
//! inventory first; only if none of its numbers is there, its reservation may
//! still be live and [`PURCHASE_RETRY_DELAY`] has passed since it was last
//! sent is the *same* purchase (same reservation) planned again. The vendor
//! purchases a reservation at most once, so this never buys twice.
//!
//! When that purchase was refused ("Number(s) not available": already bought
//! by the lost attempt, or the reservation never existed or lapsed) or its
//! reservation lapsed, the two cases are told apart by the vendor itself: a
//! fresh reservation of the same numbers ([`proof_due`]) succeeds only if
//! nobody owns or has ordered them — then nothing was bought, the intent is
//! dropped and the new reservation is purchased; if it is refused, the intent
//! stays until the inventory shows the numbers (or a person decides after
//! [`SETTLE_WINDOW`]). No crash point costs an hour when nothing was bought.
//!
//! A Move or Disconnect intent without an order ID whose numbers a trusted
//! listing still shows unchanged [`ORDER_RETRY_DELAY`] later was never acted
//! on as far as the account can tell: the call may never have left (a crash
//! right after the write-ahead), or its answer was lost while the vendor's
//! order is still pending. Kept, it would stall the set — a disconnect
//! forever. Given up, its numbers are planned again through the gate; the
//! vendor arbitrates a second disconnect ("already pending disconnect"), and
//! a second move of numbers already moving is refused as a conflicting order
//! or is harmless.
//!
//! Every intent the inventory settles is reported ([`Settled`]), with the
//! order ID from the answer or, for a purchase whose answer was lost, from the
//! listing, so that status keeps every order.

use std::collections::{BTreeMap, BTreeSet};

use intelepeer::{E164, PackageId};
use jiff::Timestamp;

use crate::model::{Intent, IntentKind, Settled};
use crate::{
    Ctx, ORDER_RETRY_DELAY, PROOF_INTERVAL, PURCHASE_RETRY_DELAY, RESERVATION_FALLBACK,
    SETTLE_WINDOW, after,
};

/// A purchased number that showed up in the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appeared {
    /// The number.
    pub number: E164,
    /// The package the purchase targeted.
    pub package: Option<PackageId>,
    /// Bought for an `acquire` request.
    pub acquired: bool,
}

/// One set's intents after resolution.
#[derive(Debug, Default)]
pub struct Flight {
    /// The intents still in flight, in their recorded order.
    pub intents: Vec<Intent>,
    /// For each number in flight, the first intent (index into `intents`) about it.
    pub by_number: BTreeMap<E164, usize>,
    /// Purchased numbers now in the inventory.
    pub appeared: Vec<Appeared>,
    /// Numbers a disconnect removed from the inventory.
    pub gone: BTreeSet<E164>,
    /// Purchase intents (indices into `intents`) that may be sent again now:
    /// see [`purchase_retry_due`].
    pub retry_due: BTreeSet<usize>,
    /// Purchase intents (indices into `intents`) whose numbers should be
    /// reserved afresh to prove them unbought, with when they were refused or
    /// lapsed: see [`proof_due`].
    pub proof_due: BTreeMap<usize, Timestamp>,
    /// Orders the inventory shows settled.
    pub settled: Vec<Settled>,
}

/// When a Reserve intent's reservation expires (the fallback when the vendor's
/// answer was never recorded).
pub fn reservation_expiry(intent: &Intent) -> Timestamp {
    intent
        .reserved_until
        .unwrap_or_else(|| after(intent.started, RESERVATION_FALLBACK))
}

/// A purchase whose numbers should have appeared by now.
pub fn purchase_unconfirmed(intent: &Intent, now: Timestamp) -> bool {
    intent.kind == IntentKind::Purchase && now >= after(intent.started, SETTLE_WINDOW)
}

/// An unanswered purchase whose outcome only the vendor can tell: a Purchase
/// intent with a reservation and a package, no order ID, and numbers.
fn unanswered_purchase(intent: &Intent) -> bool {
    intent.kind == IntentKind::Purchase
        && intent.order_id.is_none()
        && intent.reservation_id.is_some()
        && intent.package.is_some()
        && !intent.numbers.is_empty()
}

/// When the reservation of an unanswered purchase lapses: the vendor's
/// `expirationDate` when recorded, else [`RESERVATION_FALLBACK`] after the
/// last attempt.
fn lapses_at(intent: &Intent) -> Timestamp {
    intent
        .reserved_until
        .unwrap_or_else(|| after(intent.started, RESERVATION_FALLBACK))
}

/// Whether a Purchase intent, none of whose numbers is in the inventory (the
/// caller checks), may be sent again now: no order ID was recorded, the
/// vendor never refused it, its reservation may still be live (recorded
/// expiry, or [`RESERVATION_FALLBACK`], later than now), the last attempt is
/// at least [`PURCHASE_RETRY_DELAY`] old and not yet past the
/// [`SETTLE_WINDOW`], and the listing is trusted (the intent was resolved
/// against a complete inventory).
pub fn purchase_retry_due(intent: &Intent, ctx: &Ctx<'_>) -> bool {
    unanswered_purchase(intent)
        && intent.refused.is_none()
        && ctx.now < lapses_at(intent)
        && ctx.now >= after(intent.started, PURCHASE_RETRY_DELAY)
        && !purchase_unconfirmed(intent, ctx.now)
        && ctx.trusted()
}

/// For a Purchase intent none of whose numbers is in the inventory (the
/// caller checks): whether a fresh reservation of its numbers should be asked
/// for now, to prove them unbought; `Some` of when it was refused or lapsed.
///
/// Due once the vendor refused the purchase (`refused`), or once its
/// reservation lapsed, with [`PROOF_INTERVAL`] between attempts (ten times
/// that past the [`SETTLE_WINDOW`], where a person has been told), and only on
/// a trusted listing. A proof never buys: it reserves, and a reservation is
/// granted only for numbers nobody owns or has ordered.
pub fn proof_due(intent: &Intent, ctx: &Ctx<'_>) -> Option<Timestamp> {
    if !unanswered_purchase(intent) || !ctx.trusted() {
        return None;
    }
    let since = match intent.refused {
        Some(t) => t,
        None if ctx.now >= lapses_at(intent) => lapses_at(intent),
        None => return None,
    };
    let interval = if purchase_unconfirmed(intent, ctx.now) {
        PROOF_INTERVAL.saturating_mul(10)
    } else {
        PROOF_INTERVAL
    };
    (ctx.now >= after(since, interval)).then_some(since)
}

/// Whether a Move or Disconnect intent is given up (see the module
/// documentation): no order ID was recorded, it was written at least
/// [`ORDER_RETRY_DELAY`] ago, the listing is trusted, and every one of its
/// numbers is still in the account — for a move, none in the target package
/// yet. One number that moved or left shows the order happened: the intent
/// stays and resolves number by number.
pub fn order_given_up(intent: &Intent, ctx: &Ctx<'_>) -> bool {
    let inv = &ctx.inventory.numbers;
    let unmoved = match intent.kind {
        IntentKind::Move => intent.numbers.iter().all(|n| {
            inv.get(n)
                .is_some_and(|o| intent.package.is_none_or(|p| o.package != p))
        }),
        IntentKind::Disconnect => intent.numbers.iter().all(|n| inv.contains_key(n)),
        IntentKind::Reserve | IntentKind::Purchase => false,
    };
    unmoved
        && intent.order_id.is_none()
        && !intent.numbers.is_empty()
        && ctx.now >= after(intent.started, ORDER_RETRY_DELAY)
        && ctx.trusted()
}

/// The order ID of purchased numbers whose answer was lost: the listing's
/// `orderID`, when every one of them carries the same.
fn listed_order(numbers: &[E164], ctx: &Ctx<'_>) -> Option<intelepeer::OrderId> {
    let mut ids = numbers
        .iter()
        .map(|n| ctx.inventory.numbers.get(n).and_then(|o| o.order_id));
    let first = ids.next()??;
    ids.all(|id| id == Some(first)).then_some(first)
}

fn settled(intent: &Intent, numbers: Vec<E164>, order_id: Option<intelepeer::OrderId>) -> Settled {
    Settled {
        kind: intent.kind,
        numbers,
        package: intent.package,
        order_id,
        reference_id: intent.reference_id.clone(),
        started: intent.started,
    }
}

/// Resolves a set's intents against the inventory.
pub fn resolve(intents: &[Intent], ctx: &Ctx<'_>) -> Flight {
    let inv = &ctx.inventory.numbers;
    let mut flight = Flight::default();
    for intent in intents {
        let mut intent = intent.clone();
        match intent.kind {
            IntentKind::Reserve => {
                let purchasable = intent.package.is_some()
                    && intent.reservation_id.is_some()
                    && !intent.numbers.is_empty()
                    && ctx.now < reservation_expiry(&intent)
                    && !intent.numbers.iter().any(|n| inv.contains_key(n));
                if !purchasable {
                    continue;
                }
            }
            IntentKind::Purchase => {
                let before = intent.numbers.len();
                let (landed, waiting): (Vec<E164>, Vec<E164>) = std::mem::take(&mut intent.numbers)
                    .into_iter()
                    .partition(|n| inv.contains_key(n));
                intent.numbers = waiting;
                for n in &landed {
                    flight.appeared.push(Appeared {
                        number: n.clone(),
                        package: intent.package,
                        acquired: intent.acquired,
                    });
                }
                if !landed.is_empty() {
                    let order = intent.order_id.or_else(|| listed_order(&landed, ctx));
                    flight.settled.push(settled(&intent, landed, order));
                }
                if intent.numbers.len() == before {
                    if purchase_retry_due(&intent, ctx) {
                        flight.retry_due.insert(flight.intents.len());
                    } else if let Some(since) = proof_due(&intent, ctx) {
                        flight.proof_due.insert(flight.intents.len(), since);
                    }
                }
            }
            IntentKind::Move => {
                let Some(target) = intent.package else {
                    continue;
                };
                if ctx.now >= after(intent.started, SETTLE_WINDOW) || order_given_up(&intent, ctx) {
                    continue;
                }
                let mut arrived = Vec::new();
                intent.numbers.retain(|n| match inv.get(n) {
                    Some(o) if o.package == target => {
                        arrived.push(n.clone());
                        false
                    }
                    Some(_) => true,
                    None => !ctx.trusted(),
                });
                if !arrived.is_empty() {
                    flight
                        .settled
                        .push(settled(&intent, arrived, intent.order_id));
                }
            }
            IntentKind::Disconnect => {
                if order_given_up(&intent, ctx) {
                    continue;
                }
                if ctx.trusted() {
                    let mut left = Vec::new();
                    intent.numbers.retain(|n| {
                        if inv.contains_key(n) {
                            true
                        } else {
                            flight.gone.insert(n.clone());
                            left.push(n.clone());
                            false
                        }
                    });
                    if !left.is_empty() {
                        flight.settled.push(settled(&intent, left, intent.order_id));
                    }
                }
            }
        }
        if intent.numbers.is_empty() {
            continue;
        }
        let index = flight.intents.len();
        for n in &intent.numbers {
            flight.by_number.entry(n.clone()).or_insert(index);
        }
        flight.intents.push(intent);
    }
    flight
}
