//! Every sentence the operator writes for a person — in `status.plan`, in
//! condition messages and in Event notes — so that the status and the
//! reconciler never format one themselves and the same thing is always said
//! the same way.
//!
//! Pure functions of domain values; nothing here decides anything. Number
//! lists are shortened ([`numbers`]: at most five shown), counts agree in
//! number ("1 number", "2 numbers").
//!
//! The `plan` command's table and JSON (`cli/plan`) keep their own, terser
//! words: they are a separate output contract (docs/plan.md).

use std::fmt::Display;

use intelepeer::{E164, OrderId, PackageId, ReservationId};
use jiff::Timestamp;
use tollfree_plan::{Action, Hold, Match};

use crate::crd::APPROVE_ANNOTATION;

// ---------------------------------------------------------------------------
// Pieces
// ---------------------------------------------------------------------------

/// How many numbers a list shows before "and N more".
const SHOWN: usize = 5;

/// `+18885550100, +18885550101 and 3 more`: numbers for a one-line message.
pub fn numbers(numbers: &[E164]) -> String {
    let shown: Vec<&str> = numbers.iter().take(SHOWN).map(E164::as_str).collect();
    let mut text = shown.join(", ");
    if numbers.len() > SHOWN {
        text.push_str(&format!(" and {} more", numbers.len() - SHOWN));
    }
    text
}

pub use tollfree_plan::{count, describe as action, search as filter};

// ---------------------------------------------------------------------------
// status.plan: actions and holds
// ---------------------------------------------------------------------------

/// Why an action waits, e.g. `waiting for approval: annotate with
/// tollfree.dev/approve=HASH` (`hash` is the plan's approval hash).
pub fn hold(hold: &Hold, hash: &str) -> String {
    match hold {
        Hold::Denied => "denied by policy".to_owned(),
        Hold::AwaitingApproval => {
            format!("waiting for approval: annotate with {APPROVE_ANNOTATION}={hash}")
        }
        Hold::Suspended => "spec.suspend is true".to_owned(),
        Hold::OverBudget => "over the per-sync limit; runs in a later sync".to_owned(),
        Hold::Grace(until) => format!("in disconnectGracePeriod until {until}"),
        Hold::UnsafeInventory(reason) => format!("inventory not trusted: {reason}"),
        Hold::Unverified => tollfree_plan::UNVERIFIED.to_owned(),
    }
}

/// A held action: what it would do, then why it waits
/// (`disconnect 1 number — in disconnectGracePeriod until ...`).
pub fn held(what: &Action, why: &Hold, hash: &str) -> String {
    format!("{} — {}", action(what), hold(why, hash))
}

/// A disconnect held by `disconnect: Deny`. Not a refusal: a number leaving
/// the spec under Deny is retained in the account and released (the README), which is what this says.
pub fn retained(leaving: &[E164]) -> String {
    format!(
        "retained {} in the account: not disconnected (disconnect policy is Deny) and released — no longer managed by this set",
        numbers(leaving)
    )
}

/// The condition message of a converged set whose plan gave none.
pub const CONVERGED: &str = "every number is in its package";

// ---------------------------------------------------------------------------
// Events: accepted vendor mutations
// ---------------------------------------------------------------------------

/// Numbers reserved (`acquired`: found by a pool search).
pub fn reserved(
    package: PackageId,
    reserved: &[E164],
    reservation_id: &ReservationId,
    until: Option<Timestamp>,
    acquired: bool,
) -> String {
    let found = if acquired { " (found by search)" } else { "" };
    let until = until.map_or(String::new(), |t| format!(" until {t}"));
    format!(
        "reserved {}{found} for package {package}: reservation {reservation_id}{until}",
        numbers(reserved)
    )
}

/// A reservation purchased.
pub fn purchased(
    package: PackageId,
    bought: &[E164],
    order_id: OrderId,
    reservation_id: &ReservationId,
) -> String {
    format!(
        "ordered {} into package {package}: order {order_id} (reservation {reservation_id})",
        numbers(bought)
    )
}

/// Numbers moved to another package.
pub fn moved(package: PackageId, moving: &[E164], order_id: OrderId) -> String {
    format!(
        "ordered {} moved to package {package}: order {order_id}",
        numbers(moving)
    )
}

/// Numbers disconnected.
pub fn disconnected(leaving: &[E164], order_id: OrderId) -> String {
    format!(
        "ordered {} disconnected: order {order_id}",
        numbers(leaving)
    )
}

// ---------------------------------------------------------------------------
// Events: refusals the executor handled
// ---------------------------------------------------------------------------

/// A declared number the vendor would not reserve.
pub fn number_unavailable(package: PackageId, refused: &[E164]) -> String {
    format!(
        "IntelePeer refused to reserve {} for package {package}: not available (someone else holds or bought it); trying again in an hour",
        numbers(refused)
    )
}

/// A pool search that found nothing to reserve.
pub fn pool_exhausted(package: PackageId, wanted: u32, which: &Match, sequential: bool) -> String {
    let run = if sequential {
        " in one contiguous run"
    } else {
        ""
    };
    format!(
        "no purchasable numbers {}{run} for package {package} (wanted {wanted}); searching again at the next sync",
        filter(which)
    )
}

/// A re-sent purchase refused as not available: probably bought already.
pub fn resent_purchase_refused(reservation_id: &ReservationId, bought: &[E164]) -> String {
    format!(
        "IntelePeer refused the re-sent purchase of reservation {reservation_id} ({}): not available — the earlier attempt probably bought them (or the reservation lapsed); waiting for the inventory to show them (never bought twice, never reserved again)",
        numbers(bought)
    )
}

/// A first purchase refused as not available: the reservation lost its numbers.
pub fn reservation_lost(reservation_id: &ReservationId, bought: &[E164]) -> String {
    format!(
        "IntelePeer refused to purchase reservation {reservation_id} ({}): not available; planning again",
        numbers(bought)
    )
}

/// A purchase without an answer (`retry`: it was itself a re-sent one).
pub fn purchase_unanswered(
    reservation_id: &ReservationId,
    bought: &[E164],
    retry: bool,
    error: &dyn Display,
) -> String {
    let attempt = if retry {
        "the re-sent purchase"
    } else {
        "the purchase"
    };
    format!(
        "no answer to {attempt} of reservation {reservation_id} ({}): {error}; waiting for the inventory to show the numbers (never bought twice)",
        numbers(bought)
    )
}

/// A move refused because of another order.
pub fn move_conflict(package: PackageId, moving: &[E164], error: &dyn Display) -> String {
    format!(
        "IntelePeer refused to move {} to package {package}: {error}; a later listing re-plans it",
        numbers(moving)
    )
}

/// A disconnect of numbers already leaving.
pub fn already_disconnecting(leaving: &[E164]) -> String {
    format!(
        "{}: already pending disconnect at IntelePeer; waiting for the inventory",
        numbers(leaving)
    )
}

/// A disconnect of numbers the vendor says the account does not have.
pub fn not_assigned(leaving: &[E164]) -> String {
    format!(
        "IntelePeer says {} is not assigned to the account; the next complete listing settles it",
        numbers(leaving)
    )
}

/// A disconnect refused because of another order.
pub fn disconnect_conflict(leaving: &[E164], error: &dyn Display) -> String {
    format!(
        "IntelePeer refused to disconnect {}: {error}; a later listing re-plans it",
        numbers(leaving)
    )
}

// ---------------------------------------------------------------------------
// Failures and deletion
// ---------------------------------------------------------------------------

/// The account Secret of a set does not exist.
pub fn secret_not_found(namespace: &str, name: &str) -> String {
    format!(
        "secret {namespace}/{name} not found: create it in namespace {namespace} with keys 'username' and 'password' (or 'token')"
    )
}

/// A deleted set released at once because it is suspended.
pub const RELEASED_SUSPENDED: &str = "the set is suspended: released without touching its numbers";

/// A deleted set released at once because `policy.disconnect` is Deny.
pub const RELEASED_RETAINED: &str = "policy.disconnect is Deny: its numbers stay in the account";

/// What a set whose spec cannot be planned waits for.
pub fn waiting_for_valid_spec(error: &dyn Display) -> String {
    format!("a valid spec ({error})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::n;

    #[test]
    fn long_number_lists_are_shortened() {
        let list: Vec<E164> = (0..7).map(|i| n(&format!("+1800555010{i}"))).collect();
        assert_eq!(
            numbers(&list),
            "+18005550100, +18005550101, +18005550102, +18005550103, +18005550104 and 2 more"
        );
        assert_eq!(numbers(&list[..1]), "+18005550100");
    }
}
