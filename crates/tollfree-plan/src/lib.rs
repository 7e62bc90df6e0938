//! The pure planner of tollfree-operator.
//!
//! `plan(&PlanInput) -> Plan`: desired sets + observed inventory + what is in
//! flight → the vendor actions that converge them, gated by policy, suspend,
//! approval and budgets, with per-number states and condition reasons. No I/O:
//! no kube, tokio or reqwest (the compiler enforces it: this crate does not
//! depend on them).
//!
//! The pipeline for one account (each step a module):
//!
//! 1. `ownership`: every number claimed by more than one set goes to exactly
//!    one of them (a set that still wants it beats one that merely holds it;
//!    then the older set wins); inventory numbers nobody claims are indexed so
//!    that `acquire` requests can adopt them before buying.
//! 2. `desired`: what each set wants (exact numbers, acquire requests).
//! 3. `intents`: write-ahead intents are resolved against the inventory
//!    *before* anything is retried (never buy twice).
//! 4. `diff`: per-number decisions for one set: adopt, move, reserve,
//!    purchase, acquire, disconnect, or wait.
//! 5. `gate`: the one choke point — policy, grace, suspend, inventory safety,
//!    budgets and approval decide what runs now and what is held.
//! 6. `status`: number states, messages, the set's reason.
//!
//! Then `batch` turns the whole account's plan into vendor calls, merging
//! the same kind of order into the same package across sets ([`batches`]).
//!
//! Where a listing can lie (it lacks records, or shrinks implausibly), the
//! planner never buys on it: owned numbers it does not show are held
//! `Missing` ([`Memory::missing`]), an implausible listing stays untrusted
//! until the numbers return or a person confirms the new count
//! ([`inventory_check`], [`Plan::trusted_count`]), and a reservation is
//! decided only on a listing newer than the spec that asks for it
//! ([`Coverage`], [`Hold::Unverified`]).
//!
//! Decisions where the design left a choice are documented on the constants
//! below and in the module docs of `diff.rs`, `gate.rs` and `status.rs`.

#![warn(missing_docs)]

mod batch;
mod desired;
mod diff;
mod gate;
mod hash;
mod intents;
pub mod model;
mod ownership;
mod status;

use jiff::{SignedDuration, Timestamp};

pub use batch::{Batch, BatchKind, BatchPart, OrderOptions, batches};
pub use gate::inventory_check;
pub use hash::{approval_hash, approves, missing_hash};
pub use model::*;
pub use ownership::claimed_numbers;
pub use status::{UNVERIFIED, count, describe, search};

/// How long a reservation is assumed to live when the vendor's answer (its
/// `expirationDate`) was never recorded: the intent counts as expired once
/// `started + RESERVATION_FALLBACK` has passed.
pub const RESERVATION_FALLBACK: SignedDuration = SignedDuration::from_mins(45);

/// How long an order may take to show in the inventory. A purchase still not
/// visible this long after it was last sent is reported `OrderUnconfirmed`
/// (Stalled) and is never bought again automatically; a move still not
/// visible is re-planned (a move costs nothing and re-sending it is harmless).
pub const SETTLE_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// How long after a purchase was last sent, without an order ID recorded, the
/// same purchase may be sent again — if its numbers are not in the inventory
/// and its reservation may still be live (its recorded expiry, or
/// [`RESERVATION_FALLBACK`], later than now). Long enough for an answered
/// purchase to have been recorded (the executor writes the order ID right
/// after the vendor answers), short enough that a crash between the
/// write-ahead intent and the vendor call costs seconds, not [`SETTLE_WINDOW`].
///
/// Re-sending cannot buy twice: a purchase is by reservation ID, and the vendor
/// purchases a reservation at most once (an ordered or expired reservation
/// answers 409 "Number(s) not available."). On that refusal the executor keeps
/// the intent and records the refusal ([`Intent::refused`]); the planner then
/// proves the numbers unbought with a fresh reservation ([`PROOF_INTERVAL`]),
/// or the inventory shows them bought.
pub const PURCHASE_RETRY_DELAY: SignedDuration = SignedDuration::from_secs(15);

/// How long after a move or a disconnect was written ahead, without an order
/// ID recorded, its intent is given up when a trusted listing still shows
/// every one of its numbers where they were: the call never reached the
/// vendor (a crash between the write-ahead and the call) or its answer was
/// lost. The numbers are then planned afresh, through the gate (policy, grace
/// period, budget): a move sent again is harmless, and a disconnect that did
/// reach the vendor is refused "already pending disconnect" (the new intent
/// then waits for the listing, and is given up again after this delay while
/// the vendor's order is still pending). Like [`PURCHASE_RETRY_DELAY`]: long
/// enough for an answered order to have been recorded, short enough that a
/// crash costs seconds — not [`SETTLE_WINDOW`] for a move, not forever for a
/// disconnect.
pub const ORDER_RETRY_DELAY: SignedDuration = SignedDuration::from_secs(15);

/// How long after a purchase was refused (or a reservation proving it
/// unbought was refused) the planner asks again for a reservation of its
/// numbers to prove them unbought ([`Intent::refused`]). Each attempt is one
/// reserve call that buys nothing.
pub const PROOF_INTERVAL: SignedDuration = SignedDuration::from_secs(30);

/// How long a declared number the vendor refused to reserve stays
/// `Unavailable` before the planner tries to reserve it again.
pub const UNAVAILABLE_RETRY: SignedDuration = SignedDuration::from_hours(1);

/// At most this many numbers per action (the vendor's page and batch size).
pub const BATCH_LIMIT: usize = 100;

/// A listing is implausible when it has more than this many numbers fewer than
/// the last good listing (not explained by this operator's own disconnects)…
pub const SHARP_DROP_NUMBERS: usize = 5;

/// …and that drop is also more than this percentage of the last good count.
pub const SHARP_DROP_PERCENT: usize = 10;

/// What every step of one `plan` call shares.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// The clock.
    pub now: Timestamp,
    /// The observed inventory.
    pub inventory: &'a Inventory,
    /// Why the inventory must not be trusted for "absent means gone"
    /// decisions (disconnects, new purchases, forgetting owned numbers).
    pub unsafe_reason: Option<String>,
}

impl Ctx<'_> {
    /// The listing is complete and plausible.
    pub fn trusted(&self) -> bool {
        self.unsafe_reason.is_none()
    }
}

/// `t + d`, saturating at the ends of time (inputs are never trusted to be sane).
pub(crate) fn after(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_add(d).unwrap_or(Timestamp::MAX)
}

/// Plans one account: which vendor actions each set should execute now, which
/// are held and why, each number's state, each set's reason, and the memory
/// each set should record.
///
/// Pure and deterministic: the result depends on the sets' contents, never on
/// their order in `input.sets`, and never panics on any input.
pub fn plan(input: &PlanInput) -> Plan {
    let prepared = Prepared::new(input);
    let mut pool = prepared.pool();
    let mut sets: Vec<SetPlan> = prepared
        .order
        .iter()
        .map(|&i| prepared.plan_set(i, &mut pool))
        .collect();
    sets.sort_by(|a, b| a.id.cmp(&b.id));
    let unowned = ownership::count_unowned(&input.inventory, &prepared.wants, &sets);
    let trusted = prepared.ctx.trusted();
    let trusted_count = if trusted {
        Some(input.inventory.numbers.len())
    } else {
        input.last_good_count
    };
    Plan {
        sets,
        unowned,
        trusted_count,
        trusted,
    }
}

/// The plan of one set, identical to its entry in [`plan`]`(input)`, computed
/// without planning the sets it does not depend on: only older sets with
/// `acquire` requests (they adopt unclaimed numbers first) are planned besides
/// it. `None` when no set has that id.
///
/// For the reconciler, which executes one set per reconcile: with 1,000 sets
/// this is several times cheaper than [`plan`] (see BENCHMARKS.md).
pub fn plan_one(input: &PlanInput, id: &SetId) -> Option<SetPlan> {
    let prepared = Prepared::new(input);
    let target = prepared
        .order
        .iter()
        .copied()
        .find(|&i| &input.sets[i].id == id)?;
    let mut pool = prepared.pool();
    for &i in &prepared.order {
        if i == target {
            return Some(prepared.plan_set(i, &mut pool));
        }
        if !prepared.wants[i].acquires.is_empty() {
            prepared.plan_set(i, &mut pool);
        }
    }
    None
}

/// What every set's plan shares: the clock and inventory safety, each set's
/// wants, the claims, and the order in which sets adopt.
struct Prepared<'a> {
    input: &'a PlanInput,
    ctx: Ctx<'a>,
    order: Vec<usize>,
    wants: Vec<desired::Desired<'a>>,
    claims: ownership::Claims,
}

impl<'a> Prepared<'a> {
    fn new(input: &'a PlanInput) -> Self {
        let ctx = Ctx {
            now: input.now,
            inventory: &input.inventory,
            unsafe_reason: inventory_check(input).err(),
        };
        // Oldest first: the order in which sets win ties and adopt unclaimed numbers.
        let mut order: Vec<usize> = (0..input.sets.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&input.sets[a], &input.sets[b]);
            (a.created, &a.id).cmp(&(b.created, &b.id))
        });
        let wants: Vec<desired::Desired<'a>> =
            input.sets.iter().map(desired::Desired::of).collect();
        let claims = ownership::Claims::resolve(&input.sets, &order, &wants);
        Prepared {
            input,
            ctx,
            order,
            wants,
            claims,
        }
    }

    fn pool(&self) -> ownership::Unclaimed<'a> {
        ownership::Unclaimed::index(&self.input.inventory, &self.claims, &self.wants)
    }

    fn plan_set(&self, i: usize, pool: &mut ownership::Unclaimed<'a>) -> SetPlan {
        diff::plan_set(
            &self.ctx,
            &self.input.sets,
            i,
            &self.wants[i],
            &self.claims,
            pool,
        )
    }
}
