//! End-to-end scenarios of the declared lifecycle, on a real control plane with
//! the simulated vendor: what a user does with `kubectl`, what the set reports
//! (status, conditions, Events), and what the vendor's ledger proves was bought,
//! moved or disconnected.
//!
//! Each test has its own namespace, simulator and operator (`--namespace`,
//! `--resync-interval 3s`; orders complete after 200 ms). Deletion, quiet
//! resyncs, credentials, grace periods and crashes are in `tests/e2e_safety.rs`.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use intelepeer_sim::LedgerKind;
use support::scenario::{
    ACCOUNT_SECRET, RESYNC, Scenario, condition, condition_is, entries, ledger_text, number_entry,
    number_state, numbers_of, observed_current, once, set_manifest, sim_config, tally,
};
use tollfree_operator::crd::{NumberState, OrderStatus, OrderType};

/// Numbers of the simulator's pool (the vendor reference's examples).
const A: &str = "+18007293863";
const B: &str = "+18003255821";
const C: &str = "+18885551201";
const D: &str = "+18885551202";

/// Two route profiles.
const P1: u64 = 30744;
const P2: u64 = 24188;

#[test]
fn applying_a_set_buys_its_numbers_into_their_packages() {
    let s = Scenario::start();
    s.apply(&set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\", \"{B}\"]\n    - packageID: {P2}\n      numbers: [\"{C}\"]\n"
        ),
    ));
    let set = s.wait_ready("lines");

    // Vendor side: each number bought once, into its package; nothing else.
    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A, B, C]),
        "{}",
        ledger_text(&ledger)
    );
    assert!(entries(&ledger, LedgerKind::ChangePackage).is_empty());
    assert!(entries(&ledger, LedgerKind::Disconnect).is_empty());
    let inventory = s.inventory();
    assert_eq!(inventory.get(A), Some(&P1));
    assert_eq!(inventory.get(B), Some(&P1));
    assert_eq!(inventory.get(C), Some(&P2));

    // Kubernetes side: counters, every number Active, every purchase order recorded.
    let status = set.status.as_ref().expect("status");
    assert_eq!((status.desired, status.active, status.pending), (3, 3, 0));
    for n in [A, B, C] {
        assert_eq!(number_state(&set, n), Some(NumberState::Active), "{n}");
    }
    let bought: BTreeSet<u64> = entries(&ledger, LedgerKind::Purchase)
        .iter()
        .filter_map(|e| e.order_id)
        .collect();
    let recorded: BTreeSet<u64> = status
        .orders
        .iter()
        .filter(|o| o.type_ == OrderType::Purchase)
        // An order recorded without its ID (0) matches no ledger order.
        .map(|o| o.order_id.unwrap_or_default())
        .collect();
    assert_eq!(recorded, bought, "status.orders: {:#?}", status.orders);
    assert!(
        status
            .orders
            .iter()
            .all(|o| o.status == OrderStatus::Completed),
        "orders not completed although Ready: {:#?}",
        status.orders
    );
    for c in ["Reconciling", "Stalled"] {
        assert!(
            condition_is(&set, c, "False", None),
            "{c}: {:?}",
            condition(&set, c)
        );
    }

    // An Event for every purchase order.
    let events = s.events_of("lines");
    for order in entries(&ledger, LedgerKind::Purchase) {
        let id = order
            .order_id
            .expect("purchases have an order ID")
            .to_string();
        assert!(
            events
                .iter()
                .any(|e| e.mentions(&id) || order.numbers.iter().all(|n| e.mentions(n))),
            "no Event about purchase order {id} ({:?}): {events:#?}",
            order.numbers
        );
    }

    // What `kubectl get tfns` shows.
    let table = s.kubectl(&["get", "tfns", "lines", "--no-headers"]);
    let columns: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(columns[..5], ["lines", "True", "3", "3", "0"], "{table}");
}

#[test]
fn adding_a_number_to_the_spec_buys_it() {
    let s = Scenario::start();
    let manifest = |numbers: &str| {
        set_manifest(
            "lines",
            &format!("  packages:\n    - packageID: {P1}\n      numbers: [{numbers}]\n"),
        )
    };
    s.apply(&manifest(&format!("\"{A}\"")));
    s.wait_ready("lines");

    s.apply(&manifest(&format!("\"{A}\", \"{D}\"")));
    let set = s.wait_ready("lines");
    assert_eq!(set.metadata.generation, Some(2));

    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A, D]),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(s.inventory().get(D), Some(&P1));
    let status = set.status.as_ref().expect("status");
    assert_eq!((status.desired, status.active), (2, 2));
    assert_eq!(number_state(&set, D), Some(NumberState::Active));
}

#[test]
fn editing_a_numbers_package_moves_it_with_one_change_package_order() {
    let s = Scenario::start();
    let manifest = |package: u64| {
        set_manifest(
            "lines",
            &format!("  packages:\n    - packageID: {package}\n      numbers: [\"{A}\"]\n"),
        )
    };
    s.apply(&manifest(P1));
    s.wait_ready("lines");
    assert_eq!(s.inventory().get(A), Some(&P1));
    let purchases_before = entries(&s.ledger(), LedgerKind::Purchase).len();

    s.apply(&manifest(P2));
    let set = s.wait_ready("lines");

    let ledger = s.ledger();
    let moves = entries(&ledger, LedgerKind::ChangePackage);
    assert_eq!(moves.len(), 1, "{}", ledger_text(&ledger));
    assert_eq!(moves[0].numbers, vec![A.to_owned()]);
    assert_eq!(moves[0].package_id, Some(P2));
    assert!(
        entries(&ledger, LedgerKind::Disconnect).is_empty(),
        "a move must never be a disconnect: {}",
        ledger_text(&ledger)
    );
    assert_eq!(
        entries(&ledger, LedgerKind::Purchase).len(),
        purchases_before,
        "a move must never be a purchase: {}",
        ledger_text(&ledger)
    );
    assert_eq!(s.inventory().get(A), Some(&P2));

    let status = set.status.as_ref().expect("status");
    let move_order = moves[0].order_id.expect("a change package has an order ID");
    assert!(
        status
            .orders
            .iter()
            .any(|o| o.order_id == Some(move_order) && o.type_ == OrderType::Move),
        "status.orders lacks move order {move_order}: {:#?}",
        status.orders
    );
    assert_eq!(
        number_entry(&set, A).and_then(|n| n.package_id),
        Some(P2),
        "{:#?}",
        status.numbers
    );
}

#[test]
fn removing_a_number_under_disconnect_deny_retains_it() {
    let s = Scenario::start();
    let manifest = |numbers: &str| {
        set_manifest(
            "lines",
            &format!(
                "  packages:\n    - packageID: {P1}\n      numbers: [{numbers}]\n  policy: {{disconnect: Deny}}\n"
            ),
        )
    };
    s.apply(&manifest(&format!("\"{A}\", \"{B}\"")));
    s.wait_ready("lines");

    s.apply(&manifest(&format!("\"{A}\"")));
    s.wait_ready("lines");
    // A few resyncs: nothing changes later either.
    std::thread::sleep(RESYNC * 2);
    let set = s.wait_ready("lines");

    assert_eq!(
        s.inventory().get(B),
        Some(&P1),
        "B must stay in the account"
    );
    let ledger = s.ledger();
    assert!(
        entries(&ledger, LedgerKind::Disconnect).is_empty(),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(
        s.requests().get("POST /_rest/v4/my/tf/disconnect"),
        None,
        "no disconnect may even be attempted"
    );
    // Released: the set no longer owns it, so it will never disconnect it.
    assert!(
        number_entry(&set, B).is_none_or(|n| !n.owned),
        "{:#?}",
        set.status.as_ref().map(|st| &st.numbers)
    );
    assert_eq!(set.status.as_ref().map(|st| st.desired), Some(1));
    let events = s.events_of("lines");
    assert!(
        events.iter().any(|e| e.mentions("retain") && e.mentions(B)),
        "no Event says {B} was retained: {events:#?}"
    );
}

#[test]
fn removing_a_number_under_disconnect_auto_disconnects_it_once() {
    let s = Scenario::start();
    let manifest = |numbers: &str| {
        set_manifest(
            "lines",
            &format!(
                "  packages:\n    - packageID: {P1}\n      numbers: [{numbers}]\n  policy: {{disconnect: Auto}}\n"
            ),
        )
    };
    s.apply(&manifest(&format!("\"{A}\", \"{B}\"")));
    s.wait_ready("lines");

    s.apply(&manifest(&format!("\"{A}\"")));
    s.wait_set(
        "lines",
        Duration::from_secs(45),
        "Ready at generation 2 and B gone from the account",
        |set| {
            observed_current(set)
                && condition_is(set, "Ready", "True", None)
                && !s.inventory().contains_key(B)
        },
    );
    // Later resyncs must not try again.
    std::thread::sleep(RESYNC * 2);

    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Disconnect),
        once(&[B]),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(
        s.requests().get("POST /_rest/v4/my/tf/disconnect"),
        Some(&1),
        "exactly one disconnect request"
    );
    assert_eq!(s.inventory().get(A), Some(&P1), "A stays");
    let set = s.wait_ready("lines");
    let status = set.status.as_ref().expect("status");
    let order = entries(&ledger, LedgerKind::Disconnect)[0]
        .order_id
        .expect("a disconnect has an order ID");
    assert!(
        status
            .orders
            .iter()
            .any(|o| o.order_id == Some(order) && o.type_ == OrderType::Disconnect),
        "status.orders lacks disconnect order {order}: {:#?}",
        status.orders
    );
    let events = s.events_of("lines");
    assert!(
        events
            .iter()
            .any(|e| e.mentions("disconnect") && (e.mentions(B) || e.mentions(&order.to_string()))),
        "no Event about disconnecting {B}: {events:#?}"
    );
}

#[test]
fn acquiring_by_count_buys_exactly_that_many_consecutive_numbers() {
    let s = Scenario::start();
    let manifest = |notes: &str| {
        set_manifest(
            "pool",
            &format!(
                "  packages:\n    - packageID: {P2}\n      acquire: {{count: 3, npa: [888], sequential: true}}\n  orderDefaults: {{notes: \"{notes}\"}}\n"
            ),
        )
    };
    s.apply(&manifest("first"));
    let set = s.wait_ready("pool");

    let ledger = s.ledger();
    let bought = numbers_of(&ledger, LedgerKind::Purchase);
    assert_eq!(bought.len(), 3, "{}", ledger_text(&ledger));
    let mut values: Vec<u64> = bought
        .iter()
        .map(|n| {
            assert!(n.starts_with("+1888"), "{n} is not in NPA 888");
            n[1..].parse().expect("digits")
        })
        .collect();
    values.sort_unstable();
    assert!(
        values.windows(2).all(|w| w[1] == w[0] + 1),
        "not one contiguous run: {bought:?}"
    );
    let inventory = s.inventory();
    assert_eq!(inventory.len(), 3, "{inventory:#?}");
    for n in &bought {
        assert_eq!(inventory.get(n), Some(&P2), "{n}");
        let entry = number_entry(&set, n).unwrap_or_else(|| panic!("no status line for {n}"));
        assert_eq!(entry.state, Some(NumberState::Active), "{n}");
        assert!(entry.acquired && entry.owned, "{entry:#?}");
    }
    let status = set.status.as_ref().expect("status");
    assert_eq!((status.desired, status.active), (3, 3));

    // Applying the same manifest again changes nothing; a new generation is
    // planned again and must not buy more.
    s.apply(&manifest("first"));
    s.apply(&manifest("second"));
    let set = s.wait_ready("pool");
    assert_eq!(set.metadata.generation, Some(2));
    std::thread::sleep(RESYNC * 2);
    s.wait_ready("pool");
    let after = s.ledger();
    assert_eq!(
        numbers_of(&after, LedgerKind::Purchase).len(),
        3,
        "bought more after a re-apply:\n{}",
        ledger_text(&after)
    );
    assert_eq!(
        entries(&after, LedgerKind::Reserve).len(),
        entries(&ledger, LedgerKind::Reserve).len(),
        "reserved more after a re-apply:\n{}",
        ledger_text(&after)
    );
}

#[test]
fn numbers_already_owned_are_adopted_not_bought() {
    let s = Scenario::start();
    const ELSEWHERE: u64 = 11111;
    s.sim().seed_inventory(&[A], P1);
    s.sim().seed_inventory(&[B], ELSEWHERE);

    s.apply(&set_manifest(
        "lines",
        &format!("  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\", \"{B}\"]\n"),
    ));
    let set = s.wait_ready("lines");

    let ledger = s.ledger();
    assert!(
        entries(&ledger, LedgerKind::Purchase).is_empty()
            && entries(&ledger, LedgerKind::Reserve).is_empty(),
        "owned numbers must never be reserved or bought:\n{}",
        ledger_text(&ledger)
    );
    let moves = entries(&ledger, LedgerKind::ChangePackage);
    assert_eq!(moves.len(), 1, "{}", ledger_text(&ledger));
    assert_eq!(moves[0].numbers, vec![B.to_owned()]);
    assert_eq!(moves[0].package_id, Some(P1));
    assert!(entries(&ledger, LedgerKind::Disconnect).is_empty());

    let inventory = s.inventory();
    assert_eq!(inventory.get(A), Some(&P1));
    assert_eq!(inventory.get(B), Some(&P1));
    for n in [A, B] {
        let entry = number_entry(&set, n).unwrap_or_else(|| panic!("no status line for {n}"));
        assert_eq!(entry.state, Some(NumberState::Active), "{n}");
        assert!(entry.owned, "{entry:#?}");
    }
}

#[test]
fn the_older_of_two_sets_declaring_a_number_owns_it() {
    // Both sets exist before the operator starts, so the outcome depends on
    // their age, not on which one the operator happens to see first.
    let mut s = Scenario::without_operator(sim_config());
    s.test_ns().create_account_secret(ACCOUNT_SECRET);
    s.apply(&set_manifest(
        "older",
        &format!("  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\"]\n"),
    ));
    // creationTimestamp has whole seconds.
    std::thread::sleep(Duration::from_millis(1100));
    s.apply(&set_manifest(
        "younger",
        &format!("  packages:\n    - packageID: {P2}\n      numbers: [\"{A}\", \"{C}\"]\n"),
    ));
    let (older, younger) = (s.set("older"), s.set("younger"));
    assert!(
        older.metadata.creation_timestamp.as_ref().map(|t| t.0)
            < younger.metadata.creation_timestamp.as_ref().map(|t| t.0),
        "test premise: distinct creation times"
    );
    s.start_operator();

    let older = s.wait_ready("older");
    let younger = s.wait_set(
        "younger",
        Duration::from_secs(45),
        "A in Conflict, C Active, Stalled=True reason Conflict",
        |set| {
            observed_current(set)
                && number_state(set, A) == Some(NumberState::Conflict)
                && number_state(set, C) == Some(NumberState::Active)
                && condition_is(set, "Stalled", "True", Some("Conflict"))
        },
    );
    assert!(condition_is(&younger, "Ready", "False", None));
    assert!(
        number_entry(&younger, A).is_some_and(|n| !n.owned),
        "the younger set must not own A"
    );
    let entry = number_entry(&older, A).expect("older has a line for A");
    assert_eq!(entry.state, Some(NumberState::Active));
    assert!(entry.owned);

    // Nothing was done for the younger set about A: bought once (by the
    // older set), never moved to the younger set's package.
    std::thread::sleep(RESYNC);
    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A, C]),
        "{}",
        ledger_text(&ledger)
    );
    assert!(
        entries(&ledger, LedgerKind::ChangePackage).is_empty()
            && entries(&ledger, LedgerKind::Disconnect).is_empty(),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(s.inventory().get(A), Some(&P1));
    assert_eq!(s.inventory().get(C), Some(&P2));
}

#[test]
fn a_purchase_under_approve_waits_for_its_plan_hash() {
    let s = Scenario::start();
    s.apply(&set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\"]\n  policy: {{purchase: Approve}}\n"
        ),
    ));
    let set = s.wait_set(
        "lines",
        Duration::from_secs(45),
        "Stalled=True reason ApprovalPending with a plan hash",
        |set| {
            observed_current(set)
                && condition_is(set, "Stalled", "True", Some("ApprovalPending"))
                && set
                    .status
                    .as_ref()
                    .and_then(|st| st.plan.as_ref())
                    .is_some_and(|p| !p.hash.is_empty())
        },
    );
    let hash = set
        .status
        .as_ref()
        .and_then(|st| st.plan.as_ref())
        .expect("plan")
        .hash
        .clone();
    assert!(condition_is(&set, "Ready", "False", None));
    assert_ne!(number_state(&set, A), Some(NumberState::Active));

    // A wrong approval approves nothing.
    s.kubectl(&[
        "annotate",
        "tfns",
        "lines",
        "tollfree.dev/approve=0123456789abcdef",
    ]);
    std::thread::sleep(RESYNC + Duration::from_secs(1));
    let ledger = s.ledger();
    assert!(
        ledger.is_empty(),
        "nothing may be reserved or bought before approval:\n{}",
        ledger_text(&ledger)
    );
    s.wait_condition("lines", "Stalled", "True", "ApprovalPending");

    s.kubectl(&[
        "annotate",
        "--overwrite",
        "tfns",
        "lines",
        &format!("tollfree.dev/approve={hash}"),
    ]);
    let set = s.wait_ready("lines");
    assert_eq!(number_state(&set, A), Some(NumberState::Active));
    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A]),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(s.inventory().get(A), Some(&P1));
}

#[test]
fn a_suspended_set_makes_no_vendor_changes_until_resumed() {
    let s = Scenario::start();
    let manifest = |numbers: &str, suspend: bool| {
        set_manifest(
            "lines",
            &format!(
                "  packages:\n    - packageID: {P1}\n      numbers: [{numbers}]\n  suspend: {suspend}\n"
            ),
        )
    };
    s.apply(&manifest(&format!("\"{A}\""), false));
    s.wait_ready("lines");
    let before = s.ledger();

    // Suspend and add a number in the same edit.
    s.apply(&manifest(&format!("\"{A}\", \"{D}\""), true));
    s.wait_condition("lines", "Ready", "False", "Suspended");
    std::thread::sleep(RESYNC * 2);
    let set = s.wait_condition("lines", "Ready", "False", "Suspended");
    assert_eq!(
        s.ledger(),
        before,
        "vendor changes while suspended:\n{}",
        ledger_text(&s.ledger())
    );
    assert!(!s.inventory().contains_key(D));
    assert_ne!(number_state(&set, D), Some(NumberState::Active));

    s.apply(&manifest(&format!("\"{A}\", \"{D}\""), false));
    let set = s.wait_ready("lines");
    assert_eq!(number_state(&set, D), Some(NumberState::Active));
    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A, D]),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(s.inventory().get(D), Some(&P1));
}
