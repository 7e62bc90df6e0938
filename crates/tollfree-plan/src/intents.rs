//! Resolving write-ahead intents against the inventory, before anything is
//! planned or retried (DESIGN.md §3.4: never buy twice).
//!
//! | intent     | resolved (removed) when                         | otherwise                                   |
//! |------------|-------------------------------------------------|---------------------------------------------|
//! | Reserve    | never: it is purchased or dropped               | dropped when expired, malformed, or a number is already in the account; else purchasable |
//! | Purchase   | per number, when it appears in the inventory    | `Purchasing`; re-sent as the same purchase when [`purchase_retry_due`]; after [`SETTLE_WINDOW`] `OrderUnconfirmed`, never re-bought |
//! | Move       | per number, when it shows in the target package (or left a trusted listing) | `Moving`; after [`SETTLE_WINDOW`] dropped and re-planned |
//! | Disconnect | per number, when it left a trusted listing      | `Disconnecting`; never re-sent              |
//!
//! Dropping a Reserve intent is always safe: the executor turns it into a
//! Purchase intent before it sends any order, so a Reserve intent means no
//! order was sent. An expired reservation is never purchased.
//!
//! A Purchase intent without an order ID may never have reached the vendor
//! (a crash between the write-ahead and the call). It is resolved from the
//! inventory first; only if none of its numbers is there, its reservation is
//! known to be live and [`PURCHASE_RETRY_DELAY`] has passed since it was last
//! sent is the *same* purchase (same reservation) planned again. The vendor
//! purchases a reservation at most once, so this never buys twice.

use std::collections::{BTreeMap, BTreeSet};

use intelepeer::{E164, PackageId};
use jiff::Timestamp;

use crate::model::{Intent, IntentKind};
use crate::{Ctx, PURCHASE_RETRY_DELAY, RESERVATION_FALLBACK, SETTLE_WINDOW, after};

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

/// Whether a Purchase intent, none of whose numbers is in the inventory (the
/// caller checks), may be sent again now: no order ID was recorded, the
/// reservation is known to be live (`reserved_until` later than now), the last
/// attempt is at least [`PURCHASE_RETRY_DELAY`] old and not yet past the
/// [`SETTLE_WINDOW`], and the listing is trusted (the intent was resolved
/// against a complete inventory).
pub fn purchase_retry_due(intent: &Intent, ctx: &Ctx<'_>) -> bool {
    intent.kind == IntentKind::Purchase
        && intent.order_id.is_none()
        && intent.reservation_id.is_some()
        && intent.package.is_some()
        && !intent.numbers.is_empty()
        && intent.reserved_until.is_some_and(|until| ctx.now < until)
        && ctx.now >= after(intent.started, PURCHASE_RETRY_DELAY)
        && !purchase_unconfirmed(intent, ctx.now)
        && ctx.trusted()
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
                intent.numbers.retain(|n| {
                    if inv.contains_key(n) {
                        flight.appeared.push(Appeared {
                            number: n.clone(),
                            package: intent.package,
                            acquired: intent.acquired,
                        });
                        false
                    } else {
                        true
                    }
                });
                if intent.numbers.len() == before && purchase_retry_due(&intent, ctx) {
                    flight.retry_due.insert(flight.intents.len());
                }
            }
            IntentKind::Move => {
                let Some(target) = intent.package else {
                    continue;
                };
                if ctx.now >= after(intent.started, SETTLE_WINDOW) {
                    continue;
                }
                intent.numbers.retain(|n| match inv.get(n) {
                    Some(o) => o.package != target,
                    None => !ctx.trusted(),
                });
            }
            IntentKind::Disconnect => {
                if ctx.trusted() {
                    intent.numbers.retain(|n| {
                        if inv.contains_key(n) {
                            true
                        } else {
                            flight.gone.insert(n.clone());
                            false
                        }
                    });
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
