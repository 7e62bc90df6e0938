//! What a person reads: each number's state and one-line message, and the
//! set's reason and message.
//!
//! A number's state describes where it will stand once the plan's actions
//! have run (the operator writes status after executing): a number being
//! reserved now shows `Reserved`, one being moved `Moving`.
//!
//! The set's reason, highest priority first:
//!
//! 1. **Stalled** (needs a person): `OrderUnconfirmed` > `NumbersMissing` >
//!    `Conflict` > `NumberUnavailable` > `PolicyDenied` > `ApprovalPending` >
//!    `InventoryUnsafe` (actions held by an untrusted listing, or owned
//!    numbers it does not show);
//! 2. `Suspended` (something is held by `spec.suspend`);
//! 3. `Progressing` (actions to execute, or orders in flight);
//! 4. `BudgetExceeded` (only when nothing else moves, which means the budget
//!    itself blocks progress — a person should raise it), then `GracePeriod`;
//! 5. `Progressing` while a number the set keeps is not Active yet (e.g. a
//!    reservation left to expire);
//! 6. `Converged`: every number the set keeps is Active in its package and
//!    nothing is held (health tells the truth: kstatus `Current` only then).
//!
//! A disconnect denied by policy is not a reason: under `Deny` a number that
//! leaves the spec is released and retained, which is the documented outcome,
//! not a problem.

use intelepeer::{E164, OrderId, PackageId, ReservationId};
use jiff::Timestamp;

use crate::gate::{Gated, Outcome, Unit};
use crate::hash::short;
use crate::model::{
    Action, Held, Hold, Intent, Match, NumberState, NumberStatus, Reason, SetId, SetInput,
};

/// A number's status line before the gate decided.
#[derive(Debug, Clone)]
pub enum Line {
    /// Already decided.
    Fixed(NumberState, String),
    /// Depends on the gate's outcome for a unit.
    Unit(usize, Step),
}

/// The step a unit takes for a number.
#[derive(Debug, Clone)]
pub enum Step {
    /// Reserve (then purchase).
    Reserve,
    /// Purchase a recorded reservation.
    Purchase,
    /// Send a purchase again whose first attempt recorded no order ID.
    Retry,
    /// Reserve afresh the numbers of a refused or lapsed unanswered purchase,
    /// to prove them unbought.
    Prove,
    /// Move from a package.
    Move {
        /// The number's current package.
        from: PackageId,
    },
    /// Disconnect.
    Disconnect,
}

/// A number's status line in the making.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The package it should sit in (or sits in, when leaving).
    pub package: PackageId,
    /// The last order concerning it.
    pub order_id: Option<OrderId>,
    /// The reservation holding it.
    pub reservation_id: Option<ReservationId>,
    /// When that reservation expires.
    pub reserved_until: Option<Timestamp>,
    /// State and message, or how to get them.
    pub line: Line,
}

impl Entry {
    /// A line with nothing but a package.
    pub fn new(package: PackageId, line: Line) -> Self {
        Entry {
            package,
            order_id: None,
            reservation_id: None,
            reserved_until: None,
            line,
        }
    }
}

/// The operation a unit belongs to, as policies name it.
fn op(unit: &Unit) -> &'static str {
    match unit {
        Unit::Purchase { .. } | Unit::Reserve { .. } | Unit::Acquire { .. } => "purchase",
        Unit::Move { .. } => "move",
        Unit::Disconnect { .. } => "disconnect",
    }
}

/// Why something is held, in words.
pub fn hold_text(hold: &Hold, op: &str, set: &SetInput, hash: &str) -> String {
    match hold {
        Hold::Denied => format!("{op} policy is Deny"),
        Hold::AwaitingApproval => format!(
            "{op} policy is Approve; approve plan hash {}… (annotation tollfree.dev/approve)",
            short(hash)
        ),
        Hold::Suspended => "spec.suspend is true".to_owned(),
        Hold::OverBudget if op == "disconnect" => format!(
            "over maxDisconnectsPerSync ({}); continues next sync",
            set.limits.max_disconnects_per_sync
        ),
        Hold::OverBudget => format!(
            "over maxPurchasesPerSync ({}); continues next sync",
            set.limits.max_purchases_per_sync
        ),
        Hold::Grace(until) => format!("grace period until {until}"),
        Hold::UnsafeInventory(why) => why.clone(),
        Hold::Unverified => UNVERIFIED.to_owned(),
    }
}

/// Why a reservation waits for a fresher listing ([`Hold::Unverified`]), in
/// a number's message and in the operator's `status.plan` alike.
pub const UNVERIFIED: &str =
    "waiting for an inventory listing newer than the spec (adopt before buying)";

/// Turns an entry into the status line, now that the gate decided.
pub fn render(
    number: E164,
    entry: Entry,
    units: &[Unit],
    gated: &Gated,
    set: &SetInput,
) -> NumberStatus {
    let leaving = if set.deleting {
        "the set is being deleted"
    } else {
        "left the spec"
    };
    let (state, message) = match entry.line {
        Line::Fixed(state, message) => (state, message),
        Line::Unit(u, step) => {
            let outcome = gated.outcomes.get(u).cloned().unwrap_or(Outcome::Run);
            let why = |hold: &Hold| match units.get(u) {
                Some(unit) => hold_text(hold, op(unit), set, &gated.hash),
                None => String::new(),
            };
            let to = entry.package;
            match (step, outcome) {
                (Step::Reserve, Outcome::Run) => (
                    NumberState::Reserved,
                    format!("not in the account; reserving for package {to}, purchase follows"),
                ),
                (Step::Reserve, Outcome::Held(h)) => (
                    NumberState::Blocked,
                    format!(
                        "not in the account; reserve for package {to} held: {}",
                        why(&h)
                    ),
                ),
                (Step::Purchase, Outcome::Run) => (
                    NumberState::Reserved,
                    format!(
                        "reserved{}; purchasing into package {to}",
                        until_text(entry.reserved_until)
                    ),
                ),
                (Step::Purchase, Outcome::Held(h)) => (
                    NumberState::Reserved,
                    format!(
                        "reserved{}; purchase into package {to} held: {}",
                        until_text(entry.reserved_until),
                        why(&h)
                    ),
                ),
                (Step::Retry, Outcome::Run) => (
                    NumberState::Purchasing,
                    "purchase sent without an answer and not in the inventory; \
                     sending the same purchase again (a reservation is bought at most once)"
                        .to_owned(),
                ),
                (Step::Retry, Outcome::Held(h)) => (
                    NumberState::Purchasing,
                    format!(
                        "purchase sent without an answer and not in the inventory; \
                         sending it again held: {}",
                        why(&h)
                    ),
                ),
                (Step::Prove, Outcome::Run) => (
                    NumberState::Purchasing,
                    "purchase refused or lapsed without an answer and not in the inventory; \
                     reserving the numbers afresh to prove nothing was bought"
                        .to_owned(),
                ),
                (Step::Prove, Outcome::Held(h)) => (
                    NumberState::Purchasing,
                    format!(
                        "purchase refused or lapsed without an answer and not in the inventory; \
                         proving it unbought held: {}",
                        why(&h)
                    ),
                ),
                (Step::Move { from }, Outcome::Run) => (
                    NumberState::Moving,
                    format!("moving from package {from} to {to}"),
                ),
                (Step::Move { from }, Outcome::Held(h)) => (
                    NumberState::Blocked,
                    format!("in package {from}, wanted in {to}; move held: {}", why(&h)),
                ),
                (Step::Disconnect, Outcome::Run) => (
                    NumberState::Disconnecting,
                    format!("{leaving}; disconnecting"),
                ),
                (Step::Disconnect, Outcome::Held(Hold::Denied)) => (
                    NumberState::PendingDisconnect,
                    format!(
                        "{leaving}; retained in the account and released by this set \
                         (disconnect policy is Deny)"
                    ),
                ),
                (Step::Disconnect, Outcome::Held(h)) => (
                    NumberState::PendingDisconnect,
                    format!("{leaving}; disconnect held: {}", why(&h)),
                ),
            }
        }
    };
    NumberStatus {
        number,
        package: entry.package,
        state,
        order_id: entry.order_id,
        reservation_id: entry.reservation_id,
        reserved_until: entry.reserved_until,
        message,
    }
}

fn until_text(until: Option<Timestamp>) -> String {
    match until {
        Some(t) => format!(" until {t}"),
        None => String::new(),
    }
}

/// How an order is named in messages.
pub fn order_text(intent: &Intent) -> String {
    match (&intent.order_id, &intent.reference_id) {
        (Some(order), _) => format!("order {order}"),
        (None, Some(reference)) => format!("order ID unknown, reference {reference}"),
        (None, None) => "order ID unknown".to_owned(),
    }
}

/// What an action does, in the words every status, condition and Event
/// uses, e.g. `move 1 number to package 30744`. One wording for the whole
/// operator, so a person reads the same phrase for the same step wherever it
/// shows.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Reserve {
            package,
            numbers,
            proves: None,
        } => format!("reserve {} for package {package}", count(numbers.len())),
        Action::Reserve {
            package,
            numbers,
            proves: Some(proves),
        } => format!(
            "reserve {} for package {package} afresh, to prove the refused purchase of \
             reservation {proves} bought nothing",
            count(numbers.len())
        ),
        Action::Acquire {
            package,
            count: wanted,
            filter,
            sequential,
        } => {
            let run = if *sequential {
                ", in one contiguous run"
            } else {
                ""
            };
            let what = if *wanted == 1 { "number" } else { "numbers" };
            format!(
                "search and reserve {wanted} {what} {}{run} for package {package}",
                search(filter)
            )
        }
        Action::Purchase {
            package,
            reservation_id,
            numbers,
            retry: true,
        } => format!(
            "send again the unanswered purchase of {} (reservation {reservation_id}) into \
             package {package}; a reservation is bought at most once",
            count(numbers.len())
        ),
        Action::Purchase {
            package,
            reservation_id,
            numbers,
            retry: false,
        } => format!(
            "purchase {} (reservation {reservation_id}) into package {package}",
            count(numbers.len())
        ),
        Action::Move { package, numbers } => {
            format!("move {} to package {package}", count(numbers.len()))
        }
        Action::Disconnect { numbers } => format!("disconnect {}", count(numbers.len())),
    }
}

/// Which numbers an acquire searches for: `in NPA 888, 800` or
/// `starting with +1888555`.
pub fn search(filter: &Match) -> String {
    match filter {
        Match::Npa(list) => {
            let list: Vec<String> = list.iter().map(ToString::to_string).collect();
            format!("in NPA {}", list.join(", "))
        }
        Match::Like(prefix) => format!("starting with {prefix}"),
    }
}

/// "1 number", "3 numbers".
pub fn count(n: usize) -> String {
    if n == 1 {
        "1 number".to_owned()
    } else {
        format!("{n} numbers")
    }
}

/// What the set's reason is computed from.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The set.
    pub set: &'a SetInput,
    /// Purchases past the settle window.
    pub unconfirmed: Vec<&'a Intent>,
    /// Declared numbers lost to other sets, with the winner.
    pub conflicts: Vec<(&'a E164, &'a SetId)>,
    /// The number lines.
    pub numbers: &'a [NumberStatus],
    /// The gate's verdict.
    pub gated: &'a Gated,
    /// Orders in flight (and reservations being purchased).
    pub in_flight: usize,
    /// Numbers released by a `Deny` disconnect policy.
    pub released: usize,
    /// The finalizer may be removed.
    pub release: bool,
    /// The value of `tollfree.dev/forget-missing` that forgets the missing
    /// numbers (empty when none is missing).
    pub missing_hash: String,
    /// Owned numbers an untrusted listing does not show.
    pub unlisted: usize,
    /// Why the listing is not trusted, if it is not.
    pub why_untrusted: Option<&'a str>,
    /// Number lines that are not Active (released numbers aside).
    pub not_active: usize,
}

/// The set's reason and its one-line message.
pub fn reason(s: &Summary<'_>) -> (Reason, String) {
    let held = &s.gated.held;
    let holds = |f: &dyn Fn(&Held) -> bool| held.iter().filter(|h| f(h)).collect::<Vec<_>>();

    if let Some(first) = s.unconfirmed.first() {
        let package = first
            .package
            .map(|p| format!(" into package {p}"))
            .unwrap_or_default();
        return (
            Reason::OrderUnconfirmed,
            format!(
                "purchase of {}{package} not in the inventory {} after it was ordered ({}); \
                 check the order with the vendor, then remove the intent from status — \
                 nothing is bought again automatically{}",
                count(first.numbers.len()),
                crate::SETTLE_WINDOW,
                order_text(first),
                more(s.unconfirmed.len()),
            ),
        );
    }
    let missing: Vec<&NumberStatus> = s
        .numbers
        .iter()
        .filter(|n| n.state == NumberState::Missing)
        .collect();
    if let Some(first) = missing.first() {
        return (
            Reason::NumbersMissing,
            format!(
                "{} owned by this set {} missing from the account's inventory listing: {}{}; \
                 nothing is bought in {} place — if {} really gone, confirm with annotation \
                 tollfree.dev/forget-missing={} (then planned afresh under the purchase policy)",
                count(missing.len()),
                if missing.len() == 1 { "is" } else { "are" },
                first.number,
                more(missing.len()),
                if missing.len() == 1 { "its" } else { "their" },
                if missing.len() == 1 {
                    "it is"
                } else {
                    "they are"
                },
                s.missing_hash,
            ),
        );
    }
    if let Some((n, winner)) = s.conflicts.first() {
        return (
            Reason::Conflict,
            format!(
                "{} declared here {} claimed by an older set and left alone: {n} belongs to {winner}{}",
                count(s.conflicts.len()),
                if s.conflicts.len() == 1 { "is" } else { "are" },
                more(s.conflicts.len()),
            ),
        );
    }
    let unavailable: Vec<&NumberStatus> = s
        .numbers
        .iter()
        .filter(|n| n.state == NumberState::Unavailable)
        .collect();
    if let Some(first) = unavailable.first() {
        return (
            Reason::NumberUnavailable,
            format!(
                "{} not available at the vendor: {} {}{}",
                count(unavailable.len()),
                first.number,
                first.message,
                more(unavailable.len()),
            ),
        );
    }
    let denied =
        holds(&|h| h.hold == Hold::Denied && !matches!(h.action, Action::Disconnect { .. }));
    if let Some(first) = denied.first() {
        let op = match first.action {
            Action::Move { .. } => "move",
            _ => "purchase",
        };
        return (
            Reason::PolicyDenied,
            format!(
                "{op} policy is Deny: cannot {}{}",
                describe(&first.action),
                more(denied.len())
            ),
        );
    }
    let awaiting = holds(&|h| h.hold == Hold::AwaitingApproval);
    if !awaiting.is_empty() {
        // An approval left for an earlier plan must not look like silence: a
        // person who annotated a hash needs to see that it no longer applies.
        let stale = s
            .set
            .approved_hash
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty() && !h.eq_ignore_ascii_case(&s.gated.hash))
            .map(|h| {
                format!(
                    " (the annotation's value {}… approves an earlier plan, not this one: \
                     the plan changed since it was approved)",
                    short(h)
                )
            })
            .unwrap_or_default();
        return (
            Reason::ApprovalPending,
            format!(
                "{} {} approval: annotate tollfree.dev/approve={}{stale}",
                actions_text(awaiting.len()),
                if awaiting.len() == 1 {
                    "awaits"
                } else {
                    "await"
                },
                s.gated.hash
            ),
        );
    }
    let unsafe_ = holds(&|h| matches!(h.hold, Hold::UnsafeInventory(_)));
    if !unsafe_.is_empty() || s.unlisted > 0 {
        let why = s
            .why_untrusted
            .unwrap_or("the inventory listing is not trusted");
        let what = match (unsafe_.len(), s.unlisted) {
            (0, k) => format!("{} owned but not shown", count(k)),
            (a, 0) => format!("{} held", actions_text(a)),
            (a, k) => format!("{} held, {} owned but not shown", actions_text(a), count(k)),
        };
        return (Reason::InventoryUnsafe, format!("{what}: {why}"));
    }
    let suspended = holds(&|h| h.hold == Hold::Suspended);
    if !suspended.is_empty() {
        return (
            Reason::Suspended,
            format!(
                "spec.suspend is true: {} held",
                actions_text(suspended.len())
            ),
        );
    }
    if !s.gated.actions.is_empty() || s.in_flight > 0 {
        return (
            Reason::Progressing,
            format!(
                "{} to execute, {} in flight",
                actions_text(s.gated.actions.len()),
                orders_text(s.in_flight)
            ),
        );
    }
    let over = holds(&|h| h.hold == Hold::OverBudget);
    if let Some(first) = over.first() {
        return (
            Reason::BudgetExceeded,
            format!(
                "the per-sync budget blocks all progress: cannot {} (maxPurchasesPerSync {}, \
                 maxDisconnectsPerSync {})",
                describe(&first.action),
                s.set.limits.max_purchases_per_sync,
                s.set.limits.max_disconnects_per_sync,
            ),
        );
    }
    let grace: Vec<Timestamp> = held
        .iter()
        .filter_map(|h| match h.hold {
            Hold::Grace(t) => Some(t),
            _ => None,
        })
        .collect();
    if let Some(first) = grace.iter().min() {
        let leaving: usize = held
            .iter()
            .filter(|h| matches!(h.hold, Hold::Grace(_)))
            .map(|h| match &h.action {
                Action::Disconnect { numbers } => numbers.len(),
                _ => 0,
            })
            .sum();
        return (
            Reason::GracePeriod,
            format!(
                "{} to disconnect after the grace period (the first at {first})",
                count(leaving)
            ),
        );
    }
    let released = if s.released > 0 {
        format!(
            "; {} released and retained in the account (disconnect policy is Deny)",
            count(s.released)
        )
    } else {
        String::new()
    };
    if s.not_active > 0 && !s.set.deleting {
        return (
            Reason::Progressing,
            format!("{} not active yet", count(s.not_active)),
        );
    }
    if s.set.deleting {
        let message = if s.release {
            format!("deleting: nothing left to do, the finalizer may be removed{released}")
        } else {
            format!("deleting: waiting for orders to settle{released}")
        };
        return (Reason::Converged, message);
    }
    let active = s
        .numbers
        .iter()
        .filter(|n| n.state == NumberState::Active)
        .count();
    (
        Reason::Converged,
        format!("{} active{released}", count(active)),
    )
}

fn more(n: usize) -> String {
    if n > 1 {
        format!(" (and {} more)", n - 1)
    } else {
        String::new()
    }
}

fn actions_text(n: usize) -> String {
    if n == 1 {
        "1 action".to_owned()
    } else {
        format!("{n} actions")
    }
}

fn orders_text(n: usize) -> String {
    if n == 1 {
        "1 order".to_owned()
    } else {
        format!("{n} orders")
    }
}
