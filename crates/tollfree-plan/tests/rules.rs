//! One test per safety rule (docs/safety.md), named after the behaviour. Each
//! would fail if its rule broke.

mod fixtures;

use fixtures::*;
use intelepeer::OrderId;
use tollfree_plan::*;

const A: &str = "8005550100";
const B: &str = "8005550101";
const C: &str = "8005550102";
const D: &str = "8005550103";

fn disconnected(plan: &SetPlan) -> Vec<intelepeer::E164> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Disconnect { numbers } => Some(numbers.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

// ---------------------------------------------------------------- rule 1

#[test]
fn older_set_keeps_a_number_two_sets_declare() {
    let world = World::new()
        .with(set("young", 10).declare(1, &[A]))
        .with(set("old", 20).declare(1, &[A]));
    let plan = world.plan();
    let old = of(&plan, "old");
    let young = of(&plan, "young");
    assert_eq!(
        old.actions,
        vec![Action::Reserve {
            package: pkg(1),
            numbers: ns(&[A]),
            proves: None,
        }]
    );
    assert!(young.actions.is_empty() && young.held.is_empty());
    assert_eq!(line(&young, A).state, NumberState::Conflict);
    assert!(line(&young, A).message.contains("telecom/old"));
    assert_eq!(young.reason, Reason::Conflict);
    assert!(young.reason.is_stalled());
}

#[test]
fn older_set_takes_a_number_even_from_a_younger_owner() {
    let world = World::new()
        .has(A, 2)
        .with(set("young", 10).declare(2, &[A]).owns(A, 2))
        .with(set("old", 20).declare(1, &[A]));
    let plan = world.plan();
    assert_eq!(
        of(&plan, "old").actions,
        vec![Action::Move {
            package: pkg(1),
            numbers: ns(&[A])
        }]
    );
    let young = of(&plan, "young");
    assert_eq!(line(&young, A).state, NumberState::Conflict);
    assert!(!young.memory.owned.contains_key(&n(A)));
    assert!(touched(&young).is_empty());
}

#[test]
fn conflict_winner_does_not_depend_on_input_order() {
    let a = set("a", 5).declare(1, &[A, B]);
    let b = set("b", 5).declare(2, &[B, C]);
    let c = set("c", 7).declare(3, &[C, A]);
    let one = World::new()
        .with(a.clone())
        .with(b.clone())
        .with(c.clone())
        .plan();
    let two = World::new().with(c).with(a).with(b).plan();
    assert_eq!(one, two);
    // c is oldest: keeps C and A; a (same age as b, but sorts first) keeps B.
    assert_eq!(line(&of(&one, "a"), A).state, NumberState::Conflict);
    assert_eq!(line(&of(&one, "a"), B).state, NumberState::Reserved);
    assert_eq!(line(&of(&one, "b"), B).state, NumberState::Conflict);
    assert_eq!(line(&of(&one, "b"), C).state, NumberState::Conflict);
}

#[test]
fn number_leaving_one_set_is_handed_over_to_a_set_that_declares_it() {
    let world = World::new()
        .has(A, 1)
        .with(set("old", 20).owns(A, 1).disconnect(Mode::Auto))
        .with(set("young", 10).declare(1, &[A]));
    let plan = world.plan();
    let old = of(&plan, "old");
    assert!(disconnected(&old).is_empty(), "{:?}", old.actions);
    assert!(!old.memory.owned.contains_key(&n(A)));
    let young = of(&plan, "young");
    assert_eq!(line(&young, A).state, NumberState::Active);
    assert!(young.memory.owned.contains_key(&n(A)));
    assert_eq!(young.reason, Reason::Converged);
}

#[test]
fn a_set_that_cannot_act_protects_only_what_it_owns_or_has_in_flight() {
    // An older set the caller cannot plan for (its credentials failed, or a
    // spec that does not convert) declares A and owns B (B is no longer in
    // what could be salvaged of its spec), and has an intent about C; a
    // younger set declares all three and D, all in the inventory.
    let mut unresolved = set("unresolved", 20).declare(1, &[A]).owns(B, 1).0;
    unresolved.deleting = true;
    unresolved.memory.intents.push(Intent {
        kind: IntentKind::Move,
        numbers: ns(&[C]),
        package: Some(pkg(1)),
        reservation_id: None,
        reserved_until: None,
        reference_id: None,
        order_id: None,
        acquired: false,
        started: t(-1),
        refused: None,
    });
    let claims_only = unresolved.claims_only();
    assert!(claims_only.suspend && !claims_only.deleting);
    let world = World::new()
        .has_all(&[A, B, C, D], 1)
        .with(Set(claims_only))
        .with(set("young", 10).declare(2, &[A, B, C, D]));
    let plan = world.plan();
    let young = of(&plan, "young");
    // What it owns or has in flight stays protected while it cannot act.
    for (number, what) in [(B, "owned"), (C, "in flight")] {
        assert_eq!(
            line(&young, number).state,
            NumberState::Conflict,
            "{what}: {young:#?}"
        );
        assert!(line(&young, number).message.contains("telecom/unresolved"));
    }
    // What it merely declares is not: a set that cannot act keeps nobody
    // from a number it never had.
    assert_eq!(
        touched(&young),
        ns(&[A, D]),
        "the declared-only and the unclaimed numbers are moved"
    );
    assert_eq!(plan_one(&world.0, &young.id), Some(young));
    let unresolved = of(&plan, "unresolved");
    assert!(
        unresolved.actions.is_empty(),
        "never planned for: {:?}",
        unresolved.actions
    );
}

#[test]
fn a_set_that_cannot_act_adopts_nothing_for_its_acquire_requests() {
    // Its acquire request is gone from the claims-only view: the unclaimed
    // number stays for the valid set that acquires it.
    let broken = set("broken", 20).acquire(1, 1, npa(&[800])).0.claims_only();
    assert!(broken.packages.is_empty(), "{:?}", broken.packages);
    let world = World::new()
        .has(A, 1)
        .with(Set(broken))
        .with(set("valid", 1).acquire(1, 1, npa(&[800])));
    let valid = world.plan_of("valid");
    assert!(valid.memory.owned.contains_key(&n(A)), "{valid:#?}");
    assert!(valid.actions.is_empty());
}

// ---------------------------------------------------------------- rule 2

#[test]
fn unclaimed_account_numbers_are_counted_and_never_touched() {
    let world = World::new()
        .has_all(&[A, B, C], 1)
        .with(set("s", 1).declare(2, &[A]).disconnect(Mode::Auto));
    let plan = world.plan();
    assert_eq!(plan.unowned, 2);
    let s = of(&plan, "s");
    assert_eq!(touched(&s), ns(&[A]));
    assert!(s.numbers.iter().all(|l| l.number == n(A)));
}

#[test]
fn removed_number_under_deny_is_released_and_reported_once() {
    let world = World::new().has_all(&[A, B], 1).with(
        set("s", 1)
            .declare(1, &[A])
            .owns(A, 1)
            .owns(B, 1)
            .disconnect(Mode::Deny),
    );
    let first = world.plan();
    let s = of(&first, "s");
    assert!(s.actions.is_empty());
    assert_eq!(
        s.held,
        vec![Held {
            action: Action::Disconnect { numbers: ns(&[B]) },
            hold: Hold::Denied
        }]
    );
    assert!(!s.memory.owned.contains_key(&n(B)), "released from memory");
    assert_eq!(first.unowned, 1);
    assert_eq!(s.reason, Reason::Converged, "retaining is not a problem");
    assert!(s.message.contains("released"), "{}", s.message);

    // Next reconcile, with the memory the operator recorded: silence.
    let mut next = world.clone();
    next.0.sets[0].memory = s.memory.clone();
    let s2 = next.plan_of("s");
    assert!(s2.is_empty());
    assert!(s2.numbers.iter().all(|l| l.number != n(B)));
    assert_eq!(next.plan().unowned, 1);
}

#[test]
fn removed_number_under_approve_waits_for_approval_as_pending_disconnect() {
    let world = World::new()
        .has(B, 1)
        .with(set("s", 1).owns(B, 1).disconnect(Mode::Approve));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.held[0].hold, Hold::AwaitingApproval);
    assert_eq!(line(&s, B).state, NumberState::PendingDisconnect);
    assert!(line(&s, B).message.contains(&s.hash[..12]));
    assert!(s.memory.owned.contains_key(&n(B)));
    assert_eq!(s.reason, Reason::ApprovalPending);
}

#[test]
fn removed_number_under_auto_is_disconnected() {
    let world = World::new()
        .has(B, 1)
        .with(set("s", 1).owns(B, 1).disconnect(Mode::Auto));
    let s = world.plan_of("s");
    assert_eq!(s.actions, vec![Action::Disconnect { numbers: ns(&[B]) }]);
    assert_eq!(line(&s, B).state, NumberState::Disconnecting);
}

// ---------------------------------------------------------------- rule 3

#[test]
fn adopts_owned_number_instead_of_buying() {
    let world = World::new().has(A, 1).with(set("s", 1).declare(1, &[A]));
    let s = world.plan_of("s");
    assert!(s.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Active);
    assert!(line(&s, A).message.contains("adopted"));
    assert!(s.memory.owned.contains_key(&n(A)));
    assert_eq!(s.reason, Reason::Converged);
}

#[test]
fn adopted_number_in_another_package_is_moved_not_bought() {
    let world = World::new()
        .has(A, 24188)
        .with(set("s", 1).declare(30744, &[A]));
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Move {
            package: pkg(30744),
            numbers: ns(&[A])
        }]
    );
    assert_eq!(line(&s, A).state, NumberState::Moving);
    assert_eq!(line(&s, A).message, "moving from package 24188 to 30744");
}

#[test]
fn acquire_counts_owned_acquired_numbers_first() {
    let world = World::new().has_all(&[A, B], 5).with(
        set("s", 1)
            .acquire(5, 3, npa(&[800]))
            .owns_acquired(A, 5)
            .owns_acquired(B, 5),
    );
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Acquire {
            package: pkg(5),
            count: 1,
            filter: npa(&[800]),
            sequential: false
        }]
    );
}

#[test]
fn acquire_adopts_unclaimed_matching_numbers_lowest_first_before_buying() {
    // Lost status: the set remembers nothing, the account holds its numbers.
    let world = World::new()
        .has_all(&[C, B, A], 5)
        .has("8885550100", 5) // does not match the filter
        .has(D, 6) // another package
        .with(set("s", 1).acquire(5, 2, npa(&[800])));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    let owned: Vec<_> = s.memory.owned.keys().cloned().collect();
    assert_eq!(owned, ns(&[A, B]));
    assert!(s.memory.owned.values().all(|o| o.acquired));
}

#[test]
fn acquire_never_adopts_numbers_claimed_by_another_set() {
    let world = World::new()
        .has_all(&[A, B], 5)
        .with(set("other", 1).declare(5, &[A]))
        .with(set("s", 1).acquire(5, 2, npa(&[800])));
    let s = world.plan_of("s");
    assert_eq!(s.memory.owned.keys().cloned().collect::<Vec<_>>(), ns(&[B]));
    assert!(matches!(s.actions[..], [Action::Acquire { count: 1, .. }]));
}

#[test]
fn older_set_adopts_unclaimed_numbers_first() {
    let world = World::new()
        .has_all(&[A, B], 5)
        .with(set("young", 1).acquire(5, 1, npa(&[800])))
        .with(set("old", 9).acquire(5, 1, npa(&[800])));
    let plan = world.plan();
    assert!(of(&plan, "old").memory.owned.contains_key(&n(A)));
    assert!(of(&plan, "young").memory.owned.contains_key(&n(B)));
}

#[test]
fn acquire_shrink_releases_highest_surplus_like_a_removed_number() {
    let world = World::new().has_all(&[A, B, C], 5).with(
        set("s", 1)
            .acquire(5, 1, npa(&[800]))
            .owns_acquired(A, 5)
            .owns_acquired(B, 5)
            .owns_acquired(C, 5)
            .disconnect(Mode::Auto),
    );
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Disconnect {
            numbers: ns(&[B, C])
        }]
    );
    assert_eq!(line(&s, A).state, NumberState::Active);
}

#[test]
fn acquire_moved_to_another_package_moves_numbers_instead_of_rebuying() {
    let world = World::new().has_all(&[A, B], 5).with(
        set("s", 1)
            .acquire(6, 2, npa(&[800]))
            .owns_acquired(A, 5)
            .owns_acquired(B, 5)
            .disconnect(Mode::Auto),
    );
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Move {
            package: pkg(6),
            numbers: ns(&[A, B])
        }]
    );
}

#[test]
fn sequential_acquire_adopts_only_a_contiguous_run() {
    let gap = World::new()
        .has_all(&[A, C], 5)
        .with(set("s", 1).acquire(5, 2, npa(&[800])).sequential());
    let s = gap.plan_of("s");
    assert!(s.memory.owned.is_empty());
    assert!(matches!(
        s.actions[..],
        [Action::Acquire {
            count: 2,
            sequential: true,
            ..
        }]
    ));

    let run = World::new()
        .has_all(&[A, C, D], 5)
        .with(set("s", 1).acquire(5, 2, npa(&[800])).sequential());
    let s = run.plan_of("s");
    assert_eq!(
        s.memory.owned.keys().cloned().collect::<Vec<_>>(),
        ns(&[C, D])
    );
    assert!(s.actions.is_empty());
}

// ---------------------------------------------------------------- rule 4

#[test]
fn live_reservation_is_purchased_not_reserved_again() {
    let world = World::new()
        .at(10)
        .with(set("s", 1).declare(1, &[A, B]).intent(reserve_intent(
            "R1",
            1,
            &[A, B],
            0,
            Some(30),
        )));
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Purchase {
            package: pkg(1),
            reservation_id: rid("R1"),
            numbers: ns(&[A, B]),
            retry: false,
        }]
    );
    assert_eq!(line(&s, A).state, NumberState::Reserved);
    assert_eq!(line(&s, A).reservation_id, Some(rid("R1")));
}

#[test]
fn expired_reservation_is_dropped_and_reserved_afresh() {
    let world = World::new()
        .at(31)
        .with(
            set("s", 1)
                .declare(1, &[A])
                .intent(reserve_intent("R1", 1, &[A], 0, Some(30))),
        );
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Reserve {
            package: pkg(1),
            numbers: ns(&[A]),
            proves: None,
        }]
    );
    assert!(s.memory.intents.is_empty());
}

#[test]
fn reservation_without_answer_expires_after_45_minutes() {
    let world = World::new().with(set("s", 1).declare(1, &[A]).intent(reserve_intent(
        "R1",
        1,
        &[A],
        0,
        None,
    )));
    let at_44 = world.clone().at(44).plan_of("s");
    assert!(matches!(at_44.actions[..], [Action::Purchase { .. }]));
    let at_46 = world.at(46).plan_of("s");
    assert!(matches!(at_46.actions[..], [Action::Reserve { .. }]));
}

#[test]
fn purchase_in_flight_blocks_new_reservations_of_its_numbers() {
    let world = World::new()
        .at(10)
        .with(set("s", 1).declare(1, &[A]).intent(order_intent(
            IntentKind::Purchase,
            Some(1),
            &[A],
            0,
            Some(800241),
        )));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Purchasing);
    assert!(line(&s, A).message.contains("order 800241"));
    assert_eq!(s.reason, Reason::Progressing);
}

#[test]
fn purchase_in_flight_blocks_the_acquire_remainder() {
    let world = World::new()
        .at(10)
        .with(
            set("s", 1)
                .acquire(5, 5, npa(&[800]))
                .intent(acquired(order_intent(
                    IntentKind::Purchase,
                    Some(5),
                    &[A],
                    0,
                    None,
                ))),
        );
    let s = world.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
}

#[test]
fn purchase_that_appeared_becomes_owned_and_intent_resolved() {
    let world = World::new()
        .at(10)
        .has(A, 1)
        .with(set("s", 1).declare(1, &[A]).intent(order_intent(
            IntentKind::Purchase,
            Some(1),
            &[A],
            0,
            Some(7),
        )));
    let s = world.plan_of("s");
    assert!(s.memory.intents.is_empty());
    assert!(s.memory.owned.contains_key(&n(A)));
    assert_eq!(line(&s, A).state, NumberState::Active);
    assert!(s.is_empty());
}

#[test]
fn unconfirmed_purchase_stalls_naming_the_order_and_never_rebuys() {
    let world = World::new().at(61).with(
        set("s", 1)
            .declare(1, &[A])
            .acquire(5, 2, npa(&[800]))
            .intent(order_intent(
                IntentKind::Purchase,
                Some(1),
                &[A],
                0,
                Some(800241),
            ))
            .intent(acquired(order_intent(
                IntentKind::Purchase,
                Some(5),
                &[B],
                0,
                None,
            ))),
    );
    let s = world.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    assert_eq!(s.reason, Reason::OrderUnconfirmed);
    assert!(s.reason.is_stalled());
    assert!(s.message.contains("order 800241"), "{}", s.message);
    assert_eq!(s.memory.intents.len(), 2, "kept until a person resolves it");
}

fn retry(package: u64, id: &str, numbers: &[&str]) -> Action {
    Action::Purchase {
        package: pkg(package),
        reservation_id: rid(id),
        numbers: ns(numbers),
        retry: true,
    }
}

#[test]
fn purchase_intent_without_order_is_resent_with_the_same_reservation() {
    // The operator died after writing the Purchase intents, before the vendor
    // answered: no order IDs, nothing in the inventory, reservations live.
    let world = World::new().at(1).with(
        set("s", 1)
            .declare(1, &[A, B])
            .acquire(5, 1, npa(&[800]))
            .intent(purchase_intent("R1", 1, &[A, B], 0, Some(30)))
            .intent(acquired(purchase_intent("R2", 5, &[C], 0, Some(30)))),
    );
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![retry(1, "R1", &[A, B]), retry(5, "R2", &[C])],
        "the same reservations, never a new Reserve or Acquire"
    );
    assert_eq!(
        s.memory.intents, world.0.sets[0].memory.intents,
        "the intents stay as recorded until the executor sends again"
    );
    for number in [A, B, C] {
        assert_eq!(line(&s, number).state, NumberState::Purchasing);
        assert!(
            line(&s, number).message.contains("same purchase again"),
            "{}",
            line(&s, number).message
        );
    }
    assert_eq!(line(&s, A).reservation_id, Some(rid("R1")));
    assert_eq!(s.reason, Reason::Progressing);
    assert!(s.hash.is_empty(), "a re-sent purchase needs no approval");

    // Held like any purchase: suspend, Deny.
    let suspended = World::new().at(1).with(
        set("s", 1)
            .declare(1, &[A])
            .suspended()
            .intent(purchase_intent("R1", 1, &[A], 0, Some(30))),
    );
    let s = suspended.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(
        s.held,
        vec![Held {
            action: retry(1, "R1", &[A]),
            hold: Hold::Suspended
        }]
    );
    assert_eq!(line(&s, A).state, NumberState::Purchasing);
}

#[test]
fn purchase_retry_waits_for_the_retry_delay() {
    assert_eq!(PURCHASE_RETRY_DELAY, jiff::SignedDuration::from_secs(15));
    let world = World::new().with(set("s", 1).declare(1, &[A]).intent(purchase_intent(
        "R1",
        1,
        &[A],
        0,
        Some(30),
    )));
    let early = world.clone().at_secs(14).plan_of("s");
    assert!(early.actions.is_empty(), "{:?}", early.actions);
    assert_eq!(line(&early, A).state, NumberState::Purchasing);
    assert_eq!(
        line(&early, A).message,
        "purchasing into package 1 (order ID unknown, reference ref-R1)"
    );
    assert_eq!(early.reason, Reason::Progressing);
    let due = world.at_secs(15).plan_of("s");
    assert_eq!(due.actions, vec![retry(1, "R1", &[A])]);
}

#[test]
fn no_purchase_retry_after_the_reservation_expired() {
    let world = |until: Option<i64>| {
        World::new().with(set("s", 1).declare(1, &[A]).intent(purchase_intent(
            "R1",
            1,
            &[A],
            0,
            until,
        )))
    };
    let live = world(Some(30)).at_secs(30 * 60 - 1).plan_of("s");
    assert_eq!(live.actions, vec![retry(1, "R1", &[A])]);

    // Expired: never sent again. Just after the lapse nothing happens; a
    // proof comes PROOF_INTERVAL later (see the next test), never a purchase.
    let expired = world(Some(30)).at(30).plan_of("s");
    assert!(
        expired.actions.is_empty() && expired.held.is_empty(),
        "neither sent again nor reserved afresh yet: {:?}",
        expired.actions
    );
    assert_eq!(line(&expired, A).state, NumberState::Purchasing);
    assert_eq!(expired.memory.intents.len(), 1);

    // Expiry never recorded: the fallback lifetime applies, so the purchase
    // may be sent again (a reservation is bought at most once).
    let unknown = world(None).at(1).plan_of("s");
    assert_eq!(unknown.actions, vec![retry(1, "R1", &[A])]);
    let unknown_lapsed = world(None).at(45).plan_of("s");
    assert!(
        unknown_lapsed.actions.is_empty(),
        "{:?}",
        unknown_lapsed.actions
    );

    // The settle window then applies as before.
    let settled = world(Some(30)).at(61).plan_of("s");
    assert_eq!(settled.reason, Reason::OrderUnconfirmed);
    assert_eq!(settled.memory.intents.len(), 1);
    assert!(
        settled.actions.iter().all(|a| matches!(
            a,
            Action::Reserve {
                proves: Some(_),
                ..
            }
        )),
        "at most a proof, never a purchase: {:?}",
        settled.actions
    );
}

fn proof(package: u64, id: &str, numbers: &[&str]) -> Action {
    Action::Reserve {
        package: pkg(package),
        numbers: ns(numbers),
        proves: Some(rid(id)),
    }
}

#[test]
fn a_lapsed_or_refused_unanswered_purchase_is_proven_unbought_by_a_fresh_reservation() {
    assert_eq!(PROOF_INTERVAL, jiff::SignedDuration::from_secs(30));
    // The reservation lapsed at minute 30 without an answer to its purchase.
    let lapsed = World::new()
        .at(31)
        .with(set("s", 1).declare(1, &[A, B]).intent(purchase_intent(
            "R1",
            1,
            &[A, B],
            0,
            Some(30),
        )));
    let s = lapsed.plan_of("s");
    assert_eq!(s.actions, vec![proof(1, "R1", &[A, B])]);
    assert!(s.hash.is_empty(), "a proof needs no approval");
    assert_eq!(line(&s, A).state, NumberState::Purchasing);
    assert!(
        line(&s, A).message.contains("prove nothing was bought"),
        "{}",
        line(&s, A).message
    );
    assert_eq!(s.memory.intents.len(), 1, "kept until the proof succeeds");

    // The vendor refused a re-sent purchase at minute 5: proven 30 s later.
    let mut refused = purchase_intent("R2", 1, &[A], 0, Some(30));
    refused.refused = Some(t(5));
    let world = World::new().with(set("s", 1).declare(1, &[A]).intent(refused));
    assert!(
        world
            .clone()
            .at_secs(5 * 60 + 29)
            .plan_of("s")
            .actions
            .is_empty()
    );
    assert_eq!(
        world.clone().at_secs(5 * 60 + 30).plan_of("s").actions,
        vec![proof(1, "R2", &[A])]
    );

    // Even under purchase Approve, a proof runs without approval, and it
    // spends no budget; under Deny or suspend it is held.
    let approve = world.clone().at(6).plan_of("s").actions.clone();
    let mut under_approve = world.clone().at(6);
    under_approve.0.sets[0].policy.purchase = Mode::Approve;
    under_approve.0.sets[0].limits.max_purchases_per_sync = 0;
    assert_eq!(under_approve.plan_of("s").actions, approve);
    let mut suspended = world.at(6);
    suspended.0.sets[0].suspend = true;
    assert_eq!(suspended.plan_of("s").held[0].hold, Hold::Suspended);
}

#[test]
fn a_purchase_partly_in_the_inventory_is_neither_resent_nor_proven() {
    let mut refused = purchase_intent("R1", 1, &[A, B], 0, Some(30));
    refused.refused = Some(t(5));
    let world = World::new()
        .at(40)
        .has(A, 1)
        .with(set("s", 1).declare(1, &[A, B]).intent(refused));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    assert_eq!(s.memory.intents[0].numbers, ns(&[B]));
}

#[test]
fn purchase_intent_seen_in_inventory_is_resolved_not_resent() {
    // All numbers there: resolved and owned.
    let all = World::new().at(1).has_all(&[A, B], 1).with(
        set("s", 1)
            .declare(1, &[A, B])
            .intent(purchase_intent("R1", 1, &[A, B], 0, Some(30))),
    );
    let s = all.plan_of("s");
    assert!(s.is_empty(), "{:?}", s.actions);
    assert!(s.memory.intents.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Active);
    assert_eq!(s.reason, Reason::Converged);

    // One number there: the purchase happened, so the rest is waited for,
    // never sent again.
    let some =
        World::new()
            .at(1)
            .has(A, 1)
            .with(set("s", 1).declare(1, &[A, B]).intent(purchase_intent(
                "R1",
                1,
                &[A, B],
                0,
                Some(30),
            )));
    let s = some.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    assert!(s.memory.owned.contains_key(&n(A)));
    assert_eq!(s.memory.intents.len(), 1);
    assert_eq!(s.memory.intents[0].numbers, ns(&[B]));
    assert_eq!(line(&s, B).state, NumberState::Purchasing);
}

#[test]
fn purchase_retry_needs_a_trusted_listing_and_wanted_numbers() {
    let intent = || purchase_intent("R1", 1, &[A, B], 0, Some(30));
    // An incomplete listing may hide the numbers: not resolved, not re-sent.
    let incomplete = World::new()
        .at(1)
        .incomplete()
        .with(set("s", 1).declare(1, &[A, B]).intent(intent()));
    let s = incomplete.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    // B no longer declared: re-sending would buy a number nobody wants.
    let shrunk = World::new()
        .at(1)
        .with(set("s", 1).declare(1, &[A]).intent(intent()));
    let s = shrunk.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    assert_eq!(s.memory.intents.len(), 1, "still tracked");
    // A purchase for an acquire request that is already met is not re-sent.
    let met = World::new().at(1).has(C, 5).with(
        set("s", 1)
            .acquire(5, 1, npa(&[800]))
            .owns_acquired(C, 5)
            .intent(acquired(purchase_intent("R2", 5, &[D], 0, Some(30)))),
    );
    let s = met.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
}

#[test]
fn move_in_flight_is_not_sent_again() {
    let world = World::new().at(10).has(A, 24188).with(
        set("s", 1)
            .declare(30744, &[A])
            .owns(A, 30744)
            .intent(order_intent(
                IntentKind::Move,
                Some(30744),
                &[A],
                0,
                Some(800241),
            )),
    );
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Moving);
    assert_eq!(
        line(&s, A).message,
        "moving from package 24188 to 30744 (order 800241)"
    );
}

#[test]
fn move_resolves_when_the_number_shows_in_the_target_package() {
    let world = World::new().at(10).has(A, 30744).with(
        set("s", 1)
            .declare(30744, &[A])
            .owns(A, 30744)
            .intent(order_intent(
                IntentKind::Move,
                Some(30744),
                &[A],
                0,
                Some(1),
            )),
    );
    let s = world.plan_of("s");
    assert!(s.memory.intents.is_empty());
    assert_eq!(s.reason, Reason::Converged);
}

#[test]
fn disconnect_in_flight_is_never_sent_again() {
    let world = World::new()
        .at(600)
        .has(B, 1)
        .with(set("s", 1).owns(B, 1).intent(order_intent(
            IntentKind::Disconnect,
            None,
            &[B],
            0,
            Some(9),
        )));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty() && s.held.is_empty());
    assert_eq!(line(&s, B).state, NumberState::Disconnecting);
    assert_eq!(s.memory.intents.len(), 1);
}

#[test]
fn an_unanswered_disconnect_still_listed_is_given_up_and_planned_again() {
    assert_eq!(ORDER_RETRY_DELAY, jiff::SignedDuration::from_secs(15));
    // Written ahead, then the operator died before the call (or the answer
    // was lost): no order ID, and the number is still in the account.
    let stalled = |at_secs: i64, mode: Mode| {
        World::new().at_secs(at_secs).has(B, 1).with(
            set("s", 1).owns(B, 1).disconnect(mode).intent(order_intent(
                IntentKind::Disconnect,
                None,
                &[B],
                0,
                None,
            )),
        )
    };
    // Within the delay: still waited for.
    let s = stalled(14, Mode::Auto).plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(line(&s, B).state, NumberState::Disconnecting);
    // After it: given up and planned afresh — through the gate.
    let s = stalled(15, Mode::Auto).plan_of("s");
    assert_eq!(s.actions, vec![Action::Disconnect { numbers: ns(&[B]) }]);
    assert!(s.memory.intents.is_empty(), "{:?}", s.memory.intents);
    let s = stalled(15, Mode::Deny).plan_of("s");
    assert!(
        disconnected(&s).is_empty(),
        "policy applies again: {:?}",
        s.actions
    );
    // Not on a listing that cannot vouch for it.
    let s = stalled(15, Mode::Auto).incomplete().plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.memory.intents.len(), 1);
    // Answered: never sent again, however long it takes.
    let answered = World::new().at(30).has(B, 1).with(
        set("s", 1)
            .owns(B, 1)
            .disconnect(Mode::Auto)
            .intent(order_intent(IntentKind::Disconnect, None, &[B], 0, Some(9))),
    );
    assert!(answered.plan_of("s").actions.is_empty());
}

#[test]
fn an_unanswered_move_still_in_its_old_package_is_given_up_and_sent_again() {
    let world = |at_secs: i64, listed: u64| {
        World::new().at_secs(at_secs).has(A, listed).with(
            set("s", 1)
                .declare(30744, &[A])
                .owns(A, 30744)
                .intent(order_intent(IntentKind::Move, Some(30744), &[A], 0, None)),
        )
    };
    let s = world(14, 24188).plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Moving);
    let s = world(15, 24188).plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Move {
            package: pkg(30744),
            numbers: ns(&[A])
        }]
    );
    // Arrived meanwhile: resolved, nothing sent.
    let s = world(15, 30744).plan_of("s");
    assert!(s.actions.is_empty() && s.memory.intents.is_empty());
    assert_eq!(s.reason, Reason::Converged);
}

#[test]
fn disconnect_resolves_when_the_number_leaves_the_account() {
    let world = World::new()
        .at(10)
        .with(set("s", 1).owns(B, 1).intent(order_intent(
            IntentKind::Disconnect,
            None,
            &[B],
            0,
            Some(9),
        )));
    let s = world.plan_of("s");
    assert!(s.memory.intents.is_empty());
    assert!(s.memory.owned.is_empty());
    assert!(s.is_empty());
}

#[test]
fn reservation_holding_unwanted_numbers_is_left_to_expire() {
    let world = World::new()
        .at(10)
        .with(
            set("s", 1)
                .declare(1, &[A])
                .intent(reserve_intent("R1", 1, &[A, B], 0, Some(30))),
        );
    let s = world.plan_of("s");
    assert!(
        s.actions.is_empty(),
        "never buy B, which nobody wants: {:?}",
        s.actions
    );
    assert_eq!(s.memory.intents.len(), 1);
    assert!(line(&s, B).message.contains("left to expire"));
}

#[test]
fn intents_of_numbers_no_longer_declared_are_still_tracked() {
    let world = World::new().at(10).with(set("s", 1).intent(order_intent(
        IntentKind::Purchase,
        Some(1),
        &[A],
        0,
        Some(5),
    )));
    let s = world.plan_of("s");
    assert_eq!(s.memory.intents.len(), 1);
    assert_eq!(line(&s, A).state, NumberState::Purchasing);
    // When it lands, the set records that it owns it, then (under Auto) lets
    // it go like any removed number.
    let mut world = World::new()
        .at(20)
        .has(A, 1)
        .with(set("s", 1).disconnect(Mode::Auto).intent(order_intent(
            IntentKind::Purchase,
            Some(1),
            &[A],
            0,
            Some(5),
        )));
    let landed = world.plan_of("s");
    assert!(landed.actions.is_empty());
    assert!(landed.memory.owned.contains_key(&n(A)));
    assert_eq!(landed.reason, Reason::Progressing);
    world.0.sets[0].memory = landed.memory;
    assert_eq!(
        world.plan_of("s").actions,
        vec![Action::Disconnect { numbers: ns(&[A]) }]
    );
}

#[test]
fn unavailable_number_is_reported_and_retried_after_backoff() {
    let world = World::new().with(set("s", 1).declare(1, &[A]).unavailable_since(A, 0));
    let s = world.clone().at(30).plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Unavailable);
    assert_eq!(s.reason, Reason::NumberUnavailable);
    assert!(s.memory.unavailable.contains_key(&n(A)));
    let later = world.at(61).plan_of("s");
    assert!(matches!(later.actions[..], [Action::Reserve { .. }]));
}

#[test]
fn unavailable_memory_is_forgotten_once_owned_or_no_longer_declared() {
    let owned = World::new()
        .has(A, 1)
        .with(set("s", 1).declare(1, &[A]).unavailable_since(A, 0))
        .plan_of("s");
    assert!(owned.memory.unavailable.is_empty());
    let dropped = World::new()
        .with(set("s", 1).unavailable_since(A, 0))
        .plan_of("s");
    assert!(dropped.memory.unavailable.is_empty());
}

// ---------------------------------------------------------------- rule 5

#[test]
fn disconnects_only_numbers_in_memory_owned() {
    // B is in the account and was once declared, but the set never owned it.
    let world = World::new().has_all(&[A, B], 1).with(
        set("s", 1)
            .owns(A, 1)
            .leaving_since(B, -100)
            .disconnect(Mode::Auto),
    );
    let s = world.plan_of("s");
    assert_eq!(disconnected(&s), ns(&[A]));
}

#[test]
fn incomplete_inventory_holds_disconnects() {
    let world = World::new()
        .incomplete()
        .has(A, 1)
        .with(set("s", 1).owns(A, 1).disconnect(Mode::Auto));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert!(matches!(s.held[0].hold, Hold::UnsafeInventory(_)));
    assert_eq!(s.reason, Reason::InventoryUnsafe);
}

#[test]
fn incomplete_inventory_never_forgets_owned_numbers() {
    let world = World::new().incomplete().with(
        set("s", 1)
            .declare(1, &[A])
            .owns(A, 1)
            .acquire(5, 1, npa(&[800]))
            .owns_acquired(B, 5),
    );
    let s = world.plan_of("s");
    assert!(s.memory.owned.contains_key(&n(A)) && s.memory.owned.contains_key(&n(B)));
    assert!(
        s.actions.is_empty(),
        "no purchase on a partial listing: {:?}",
        s.actions
    );
}

#[test]
fn sharp_inventory_drop_holds_disconnects_naming_both_counts() {
    let world = World::new()
        .has(A, 1)
        .last_good(20)
        .with(set("s", 1).owns(A, 1).disconnect(Mode::Auto));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    let Hold::UnsafeInventory(why) = &s.held[0].hold else {
        panic!("{:?}", s.held)
    };
    assert!(
        why.contains("lists 1 numbers") && why.contains("had 20"),
        "{why}"
    );
}

#[test]
fn small_inventory_drop_is_not_unsafe() {
    // 5 fewer is within tolerance.
    let world = World::new()
        .has(A, 1)
        .last_good(6)
        .with(set("s", 1).owns(A, 1).disconnect(Mode::Auto));
    assert_eq!(world.plan_of("s").actions.len(), 1);
}

#[test]
fn own_disconnects_do_not_count_as_a_sharp_drop() {
    let gone: Vec<String> = (0..10).map(|i| format!("80055502{i:02}")).collect();
    let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
    let world = World::new().has(A, 1).last_good(11).with(
        set("s", 1)
            .owns(A, 1)
            .disconnect(Mode::Auto)
            .intent(order_intent(
                IntentKind::Disconnect,
                None,
                &gone,
                0,
                Some(1),
            )),
    );
    assert_eq!(world.plan_of("s").actions.len(), 1);
}

#[test]
fn disconnect_budget_holds_the_highest_numbers() {
    let world = World::new()
        .has_all(&[A, B, C], 1)
        .with(set("s", 1).owns(A, 1).owns(B, 1).owns(C, 1).limits(100, 2));
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Disconnect {
            numbers: ns(&[A, B])
        }]
    );
    assert_eq!(
        s.held,
        vec![Held {
            action: Action::Disconnect { numbers: ns(&[C]) },
            hold: Hold::OverBudget
        }]
    );
    assert_eq!(s.reason, Reason::Progressing);
}

#[test]
fn package_change_is_a_move_not_disconnect_and_purchase() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).declare(2, &[A]).owns(A, 1));
    let s = world.plan_of("s");
    assert_eq!(
        s.actions,
        vec![Action::Move {
            package: pkg(2),
            numbers: ns(&[A])
        }]
    );
}

#[test]
fn grace_period_holds_disconnect_until_its_deadline() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).owns(A, 1).grace(60));
    let s = world.clone().at(0).plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.held[0].hold, Hold::Grace(t(60)));
    assert_eq!(s.memory.leaving_since.get(&n(A)), Some(&t(0)));
    assert_eq!(s.reason, Reason::GracePeriod);
    assert_eq!(line(&s, A).state, NumberState::PendingDisconnect);

    let mut later = world.at(60);
    later.0.sets[0].memory = s.memory.clone();
    assert_eq!(
        later.plan_of("s").actions,
        vec![Action::Disconnect { numbers: ns(&[A]) }]
    );
}

#[test]
fn readding_a_leaving_number_cancels_its_grace_period() {
    let world = World::new().at(30).has(A, 1).with(
        set("s", 1)
            .declare(1, &[A])
            .owns(A, 1)
            .leaving_since(A, 0)
            .grace(60),
    );
    let s = world.plan_of("s");
    assert!(s.memory.leaving_since.is_empty());
    assert!(s.is_empty());
}

#[test]
fn purchase_budget_counts_numbers_across_purchase_reserve_and_acquire() {
    let world = World::new().at(5).with(
        set("s", 1)
            .declare(1, &[A, B, C])
            .acquire(5, 10, npa(&[888]))
            .intent(reserve_intent("R1", 1, &[A], 0, Some(30)))
            .limits(4, 5),
    );
    let s = world.plan_of("s");
    // 1 (purchase of R1) + 2 (reserve B, C) + 1 (acquire) = 4.
    assert_eq!(
        s.actions,
        vec![
            Action::Purchase {
                package: pkg(1),
                reservation_id: rid("R1"),
                numbers: ns(&[A]),
                retry: false,
            },
            Action::Reserve {
                package: pkg(1),
                numbers: ns(&[B, C]),
                proves: None,
            },
            Action::Acquire {
                package: pkg(5),
                count: 1,
                filter: npa(&[888]),
                sequential: false
            },
        ]
    );
    assert_eq!(
        s.held,
        vec![Held {
            action: Action::Acquire {
                package: pkg(5),
                count: 9,
                filter: npa(&[888]),
                sequential: false
            },
            hold: Hold::OverBudget
        }]
    );
}

#[test]
fn budget_exceeded_only_when_nothing_else_progresses() {
    let world = World::new().with(set("s", 1).declare(1, &[A]).limits(0, 0));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.reason, Reason::BudgetExceeded);
    assert!(s.message.contains("maxPurchasesPerSync 0"), "{}", s.message);
}

#[test]
fn incomplete_inventory_holds_new_purchases_but_not_recorded_reservations() {
    let world = World::new().incomplete().at(5).with(
        set("s", 1)
            .declare(1, &[A, B])
            .intent(reserve_intent("R1", 1, &[A], 0, Some(30))),
    );
    let s = world.plan_of("s");
    assert!(matches!(s.actions[..], [Action::Purchase { .. }]));
    assert!(matches!(
        &s.held[..],
        [Held {
            action: Action::Reserve { .. },
            hold: Hold::UnsafeInventory(_)
        }]
    ));
}

// ---------------------------------------------------------------- rule 6

#[test]
fn deny_purchase_holds_reserve_as_denied() {
    let world = World::new().with(set("s", 1).declare(1, &[A]).purchase(Mode::Deny));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.held[0].hold, Hold::Denied);
    assert_eq!(line(&s, A).state, NumberState::Blocked);
    assert!(line(&s, A).message.contains("purchase policy is Deny"));
    assert_eq!(s.reason, Reason::PolicyDenied);
}

#[test]
fn deny_move_holds_the_move() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).declare(2, &[A]).moves(Mode::Deny));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.reason, Reason::PolicyDenied);
}

#[test]
fn approve_without_hash_awaits_approval() {
    let world = World::new().with(set("s", 1).declare(1, &[A]).purchase(Mode::Approve));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.held[0].hold, Hold::AwaitingApproval);
    assert_eq!(s.hash.len(), 64);
    assert!(s.message.contains(&s.hash), "{}", s.message);
}

#[test]
fn suspend_holds_every_mutation() {
    let world = World::new().at(5).has_all(&[B, C], 1).with(
        set("s", 1)
            .declare(2, &[A, B])
            .owns(B, 1)
            .owns(C, 1)
            .acquire(5, 1, npa(&[888]))
            .intent(reserve_intent("R1", 2, &[A], 0, Some(30)))
            .suspended(),
    );
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.held.len(), 4, "{:#?}", s.held);
    assert!(s.held.iter().all(|h| h.hold == Hold::Suspended));
    assert_eq!(s.reason, Reason::Suspended);
}

#[test]
fn suspended_set_is_released_on_deletion_without_vendor_calls() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).owns(A, 1).suspended().deleting());
    let s = world.plan_of("s");
    assert!(s.release);
    assert!(s.actions.is_empty() && s.held.is_empty());
}

// ---------------------------------------------------------------- rule 7

#[test]
fn approved_hash_runs_the_approved_actions() {
    let world = World::new().with(set("s", 1).declare(1, &[A]).purchase(Mode::Approve));
    let hash = world.plan_of("s").hash;
    let approved = World::new().at(30).with(
        set("s", 1)
            .declare(1, &[A])
            .purchase(Mode::Approve)
            .approve(&hash),
    );
    let s = approved.plan_of("s");
    assert_eq!(s.hash, hash, "the clock does not change the hash");
    assert_eq!(
        s.actions,
        vec![Action::Reserve {
            package: pkg(1),
            numbers: ns(&[A]),
            proves: None,
        }]
    );
    assert!(s.held.is_empty());
}

#[test]
fn changed_plan_invalidates_old_approval() {
    let old = World::new()
        .with(set("s", 1).declare(1, &[A]).purchase(Mode::Approve))
        .plan_of("s")
        .hash;
    let s = World::new()
        .with(
            set("s", 1)
                .declare(1, &[A, B])
                .purchase(Mode::Approve)
                .approve(&old),
        )
        .plan_of("s");
    assert_ne!(s.hash, old);
    assert!(s.actions.is_empty());
    assert_eq!(s.held[0].hold, Hold::AwaitingApproval);
}

#[test]
fn an_approval_of_an_earlier_plan_is_named_in_the_message() {
    let old = World::new()
        .with(set("s", 1).declare(1, &[A]).purchase(Mode::Approve))
        .plan_of("s")
        .hash;
    let s = World::new()
        .with(
            set("s", 1)
                .declare(1, &[A, B])
                .purchase(Mode::Approve)
                .approve(&old),
        )
        .plan_of("s");
    assert_eq!(s.reason, Reason::ApprovalPending);
    assert!(s.message.contains(&s.hash), "{}", s.message);
    assert!(
        s.message.contains(&format!(
            "the annotation's value {}… approves an earlier plan",
            &old[..12]
        )),
        "{}",
        s.message
    );
    // Without an annotation, or with the current hash, nothing is said.
    let fresh = World::new()
        .with(set("s", 1).declare(1, &[A, B]).purchase(Mode::Approve))
        .plan_of("s");
    assert!(!fresh.message.contains("earlier plan"), "{}", fresh.message);
}

#[test]
fn hash_is_independent_of_set_order() {
    let a = set("a", 1).declare(1, &[A]).purchase(Mode::Approve);
    let b = set("b", 2).owns(B, 1).disconnect(Mode::Approve);
    let one = World::new()
        .has(B, 1)
        .with(a.clone())
        .with(b.clone())
        .plan();
    let two = World::new().has(B, 1).with(b).with(a).plan();
    assert_eq!(of(&one, "a").hash, of(&two, "a").hash);
    assert_eq!(of(&one, "b").hash, of(&two, "b").hash);
    assert_ne!(of(&one, "a").hash, of(&one, "b").hash);
}

#[test]
fn hash_is_empty_when_nothing_needs_approval() {
    let s = World::new()
        .with(set("s", 1).declare(1, &[A]).disconnect(Mode::Approve))
        .plan_of("s");
    assert!(s.hash.is_empty());
    assert_eq!(s.actions.len(), 1);
}

#[test]
fn hash_covers_only_actions_under_approve() {
    let auto_and_approve = World::new()
        .has(B, 1)
        .with(
            set("s", 1)
                .declare(1, &[A])
                .owns(B, 1)
                .disconnect(Mode::Approve),
        )
        .plan_of("s");
    let only_approve = World::new()
        .has(B, 1)
        .with(set("s", 1).owns(B, 1).disconnect(Mode::Approve))
        .plan_of("s");
    assert_eq!(auto_and_approve.hash, only_approve.hash);
    assert_eq!(
        auto_and_approve.hash,
        approval_hash(&[Action::Disconnect { numbers: ns(&[B]) }])
    );
}

#[test]
fn purchase_of_an_approved_reservation_needs_no_second_approval() {
    let world = World::new().at(5).with(
        set("s", 1)
            .declare(1, &[A])
            .purchase(Mode::Approve)
            .intent(reserve_intent("R1", 1, &[A], 0, Some(30))),
    );
    let s = world.plan_of("s");
    assert!(matches!(s.actions[..], [Action::Purchase { .. }]));
    assert!(s.hash.is_empty());
}

// ---------------------------------------------------------------- rule 8

#[test]
fn deleting_with_deny_releases_at_once_without_actions() {
    let world = World::new().at(5).has(A, 1).with(
        set("s", 1)
            .declare(1, &[A])
            .owns(A, 1)
            .disconnect(Mode::Deny)
            .intent(order_intent(
                IntentKind::Purchase,
                Some(1),
                &[B],
                0,
                Some(1),
            ))
            .deleting(),
    );
    let s = world.plan_of("s");
    assert!(s.release);
    assert!(s.actions.is_empty());
}

#[test]
fn deleting_with_auto_disconnects_owned_numbers_then_releases() {
    let world = World::new().has_all(&[A, B], 1).with(
        set("s", 1)
            .declare(1, &[A])
            .owns(A, 1)
            .disconnect(Mode::Auto)
            .deleting(),
    );
    let s = world.plan_of("s");
    assert!(!s.release);
    assert_eq!(s.actions, vec![Action::Disconnect { numbers: ns(&[A]) }]);

    let after = World::new().at(10).with(
        set("s", 1)
            .declare(1, &[A])
            .owns(A, 1)
            .disconnect(Mode::Auto)
            .intent(order_intent(IntentKind::Disconnect, None, &[A], 0, Some(2)))
            .deleting(),
    );
    let s = after.plan_of("s");
    assert!(s.release);
    assert!(s.memory.owned.is_empty());
}

#[test]
fn deleting_with_auto_waits_for_purchases_in_flight() {
    let world = World::new().at(5).with(
        set("s", 1)
            .disconnect(Mode::Auto)
            .intent(order_intent(
                IntentKind::Purchase,
                Some(1),
                &[A],
                0,
                Some(1),
            ))
            .deleting(),
    );
    let s = world.plan_of("s");
    assert!(!s.release);
    assert!(s.actions.is_empty());
    assert_eq!(s.reason, Reason::Progressing);
    // Landed: recorded as owned, then disconnected.
    let mut landed = World::new().at(10).has(A, 1).with(
        set("s", 1)
            .disconnect(Mode::Auto)
            .intent(order_intent(
                IntentKind::Purchase,
                Some(1),
                &[A],
                0,
                Some(1),
            ))
            .deleting(),
    );
    let first = landed.plan_of("s");
    assert!(!first.release && first.actions.is_empty());
    landed.0.sets[0].memory = first.memory;
    assert_eq!(
        landed.plan_of("s").actions,
        vec![Action::Disconnect { numbers: ns(&[A]) }]
    );
}

#[test]
fn deleting_with_approve_waits_for_approval() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).owns(A, 1).disconnect(Mode::Approve).deleting());
    let s = world.plan_of("s");
    assert!(!s.release);
    assert_eq!(s.held[0].hold, Hold::AwaitingApproval);
}

#[test]
fn deleting_respects_grace_period() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).owns(A, 1).grace(60).deleting());
    let s = world.plan_of("s");
    assert!(!s.release);
    assert_eq!(s.held[0].hold, Hold::Grace(t(60)));
}

#[test]
fn deleting_set_hands_declared_numbers_to_another_set() {
    let world = World::new()
        .has(A, 1)
        .with(set("old", 9).declare(1, &[A]).owns(A, 1).deleting())
        .with(set("young", 1).declare(1, &[A]));
    let plan = world.plan();
    let old = of(&plan, "old");
    assert!(old.release && old.actions.is_empty());
    assert!(of(&plan, "young").memory.owned.contains_key(&n(A)));
}

// ---------------------------------------------------------------- rule 9

#[test]
fn actions_are_batched_per_package_and_chunked_at_100() {
    let numbers: Vec<String> = (0..150).map(|i| format!("800555{i:04}")).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let world = World::new().with(
        set("s", 1)
            .declare(1, &numbers)
            .declare(2, &["8885550100"])
            .limits(1000, 5),
    );
    let s = world.plan_of("s");
    let sizes: Vec<(u64, usize)> = s
        .actions
        .iter()
        .map(|a| match a {
            Action::Reserve {
                package, numbers, ..
            } => (package.get(), numbers.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![(1, 100), (1, 50), (2, 1)]);
}

#[test]
fn actions_are_ordered_purchase_move_reserve_acquire_disconnect() {
    let world = World::new().at(5).has_all(&[A, D], 1).with(
        set("s", 1)
            .declare(2, &[A, C])
            .owns(D, 1)
            .acquire(5, 1, npa(&[888]))
            .intent(reserve_intent("R1", 2, &[B], 0, Some(30)))
            .declare(2, &[B]),
    );
    let kinds: Vec<&str> = world
        .plan_of("s")
        .actions
        .iter()
        .map(|a| match a {
            Action::Purchase { .. } => "purchase",
            Action::Move { .. } => "move",
            Action::Reserve { .. } => "reserve",
            Action::Acquire { .. } => "acquire",
            Action::Disconnect { .. } => "disconnect",
        })
        .collect();
    assert_eq!(
        kinds,
        ["purchase", "move", "reserve", "acquire", "disconnect"]
    );
}

// ---------------------------------------------------------------- status

#[test]
fn every_number_of_the_set_gets_one_sorted_status_line() {
    let world = World::new().at(5).has_all(&[A, D], 1).with(
        set("s", 1)
            .declare(1, &[C, A])
            .owns(D, 1)
            .intent(order_intent(
                IntentKind::Purchase,
                Some(1),
                &[B],
                0,
                Some(3),
            )),
    );
    let s = world.plan_of("s");
    let listed: Vec<_> = s.numbers.iter().map(|l| l.number.clone()).collect();
    assert_eq!(listed, ns(&[A, B, C, D]));
    assert!(
        s.numbers
            .iter()
            .all(|l| !l.message.is_empty() && !l.message.contains('\n'))
    );
    assert!(!s.message.contains('\n'));
}

#[test]
fn active_lines_carry_the_inventory_order_id() {
    let mut world = World::new().has(A, 1).with(set("s", 1).declare(1, &[A]));
    world.0.inventory.numbers.get_mut(&n(A)).unwrap().order_id = Some(OrderId(42));
    assert_eq!(line(&world.plan_of("s"), A).order_id, Some(OrderId(42)));
}

#[test]
fn stalled_reasons_outrank_progress() {
    let world = World::new()
        .with(set("old", 9).declare(1, &[A]))
        .with(set("s", 1).declare(1, &[A, B]));
    let s = world.plan_of("s");
    assert!(!s.actions.is_empty());
    assert_eq!(s.reason, Reason::Conflict);
}

#[test]
fn suspended_and_converged_is_converged() {
    let world = World::new()
        .has(A, 1)
        .with(set("s", 1).declare(1, &[A]).owns(A, 1).suspended());
    assert_eq!(world.plan_of("s").reason, Reason::Converged);
}

// ---------------------------------------------------- listings that lie

#[test]
fn owned_number_missing_from_a_trusted_listing_is_held_never_bought_again() {
    // The listing is complete and plausible, yet lacks A, which the set owns.
    let world = World::new()
        .has(B, 1)
        .with(set("s", 1).declare(1, &[A, B]).owns(A, 1).owns(B, 1));
    let s = world.plan_of("s");
    assert!(s.actions.is_empty() && s.held.is_empty(), "{:?}", s.actions);
    assert_eq!(line(&s, A).state, NumberState::Missing);
    assert!(s.memory.owned.contains_key(&n(A)), "still owned");
    assert_eq!(s.memory.missing.get(&n(A)), Some(&BASE));
    assert_eq!(s.reason, Reason::NumbersMissing);
    assert!(s.reason.is_stalled());
    let hash = missing_hash(&s.memory.missing);
    assert!(
        s.message.contains(&n(A).to_string()) && s.message.contains(&hash),
        "{}",
        s.message
    );
    // A later plan keeps the first time it was seen missing.
    let later = World::new()
        .at(30)
        .has(B, 1)
        .with(Set(SetInput {
            memory: s.memory.clone(),
            ..set("s", 1).declare(1, &[A, B]).0
        }))
        .plan_of("s");
    assert_eq!(later.memory.missing.get(&n(A)), Some(&BASE));
    assert!(later.actions.is_empty());
}

#[test]
fn missing_acquired_number_is_not_replaced_by_a_purchase() {
    let world = World::new().has(B, 5).with(
        set("s", 1)
            .acquire(5, 2, npa(&[800]))
            .owns_acquired(A, 5)
            .owns_acquired(B, 5),
    );
    let s = world.plan_of("s");
    assert!(s.actions.is_empty(), "{:?}", s.actions);
    assert_eq!(line(&s, A).state, NumberState::Missing);
    assert_eq!(s.reason, Reason::NumbersMissing);
}

#[test]
fn a_missing_number_that_shows_again_is_active_again() {
    let mut owner = set("s", 1).declare(1, &[A]).owns(A, 1);
    owner.0.memory.missing.insert(n(A), t(-10));
    let s = World::new().has(A, 1).with(owner).plan_of("s");
    assert_eq!(line(&s, A).state, NumberState::Active);
    assert!(s.memory.missing.is_empty());
    assert_eq!(s.reason, Reason::Converged);
}

#[test]
fn forgetting_missing_numbers_needs_the_hash_the_status_showed() {
    let mut owner = set("s", 1).declare(1, &[A]).owns(A, 1);
    owner.0.memory.missing.insert(n(A), t(-10));
    let hash = missing_hash(&owner.0.memory.missing);
    assert_eq!(hash.len(), 16);
    // A stale or wrong confirmation forgets nothing.
    let stale = World::new()
        .with(Set(SetInput {
            forget_missing: Some("0123456789abcdef".into()),
            ..owner.0.clone()
        }))
        .plan_of("s");
    assert_eq!(line(&stale, A).state, NumberState::Missing);
    assert!(stale.actions.is_empty());
    // The shown hash: forgotten, then planned like any number not owned.
    let confirmed = World::new()
        .with(Set(SetInput {
            forget_missing: Some(hash.clone()),
            ..owner.0.clone()
        }))
        .plan_of("s");
    assert!(!confirmed.memory.owned.contains_key(&n(A)));
    assert!(confirmed.memory.missing.is_empty());
    assert_eq!(
        confirmed.actions,
        vec![Action::Reserve {
            package: pkg(1),
            numbers: ns(&[A]),
            proves: None,
        }]
    );
    // If it came back meanwhile, the confirmation is moot: it stays owned.
    let back = World::new()
        .has(A, 1)
        .with(Set(SetInput {
            forget_missing: Some(hash),
            ..owner.0
        }))
        .plan_of("s");
    assert!(back.memory.owned.contains_key(&n(A)));
    assert_eq!(line(&back, A).state, NumberState::Active);
}

#[test]
fn a_number_no_longer_wanted_and_missing_is_forgotten_not_bought() {
    let s = World::new()
        .with(
            set("s", 1)
                .declare(1, &[B])
                .owns(A, 1)
                .disconnect(Mode::Auto),
        )
        .plan_of("s");
    assert!(!s.memory.owned.contains_key(&n(A)));
    assert!(s.memory.missing.is_empty());
    assert!(touched(&s).iter().all(|x| x != &n(A)));
}

#[test]
fn a_number_another_set_records_as_owned_is_never_reserved_in_the_same_plan() {
    // `old` owned A and let it go; `young` declares it; the listing lacks it.
    let world = World::new()
        .with(set("old", 9).owns(A, 1))
        .with(set("young", 1).declare(1, &[A]));
    let plan = world.plan();
    let young = of(&plan, "young");
    assert!(young.actions.is_empty(), "{:?}", young.actions);
    assert_eq!(line(&young, A).state, NumberState::Blocked);
    assert!(!of(&plan, "old").memory.owned.contains_key(&n(A)));
    // Once the owner's status no longer records it, it is planned normally.
    let next = World::new()
        .with(set("old", 9))
        .with(set("young", 1).declare(1, &[A]))
        .plan_of("young");
    assert_eq!(next.actions.len(), 1);
}

#[test]
fn a_sharp_drop_stays_untrusted_however_often_it_repeats() {
    // Ten owned numbers, then listings of none: the baseline never moves.
    let numbers: Vec<String> = (0..10).map(|i| format!("80055502{i:02}")).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let mut owner = set("s", 1).declare(1, &numbers);
    for x in &numbers {
        owner = owner.owns(x, 1);
    }
    let mut world = World::new().last_good(10).with(owner);
    for round in 0..3 {
        let plan = world.plan();
        assert_eq!(plan.trusted_count, Some(10), "round {round}");
        assert!(!plan.trusted, "round {round}");
        let s = of(&plan, "s");
        assert!(s.actions.is_empty(), "round {round}: {:?}", s.actions);
        assert_eq!(s.reason, Reason::InventoryUnsafe, "round {round}");
        assert!(
            s.message.contains("lists 0 numbers") && s.message.contains("had 10"),
            "{}",
            s.message
        );
        world.0.last_good_count = plan.trusted_count;
        world.0.sets[0].memory = s.memory.clone();
    }
    assert_eq!(world.0.sets[0].memory.owned.len(), 10, "nothing forgotten");
}

#[test]
fn a_person_confirming_the_new_count_makes_the_listing_trusted() {
    let numbers: Vec<String> = (0..10).map(|i| format!("80055502{i:02}")).collect();
    let mut owner = set("s", 1).declare(1, &[A]);
    for x in &numbers {
        owner = owner.owns(x, 1);
    }
    let mut world = World::new().has(A, 1).last_good(10).with(owner);
    world.0.confirmed_count = Some(1);
    let plan = world.plan();
    assert_eq!(plan.trusted_count, Some(1));
    assert!(plan.trusted);
    assert!(inventory_check(&world.0).is_ok());
    // A confirmation of another count trusts nothing.
    world.0.confirmed_count = Some(2);
    assert!(inventory_check(&world.0).is_err());
    let plan = world.plan();
    assert_eq!(plan.trusted_count, Some(10));
    assert!(!plan.trusted);
}

#[test]
fn numbers_an_untrusted_listing_does_not_show_make_the_set_stalled_not_ready() {
    // Purchase Deny, the listing dropped to nothing: before, the set said
    // Ready (Converged, "0 numbers active") while its numbers were Blocked.
    let numbers: Vec<String> = (0..10).map(|i| format!("80055502{i:02}")).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let mut owner = set("s", 1).declare(1, &numbers).purchase(Mode::Deny);
    for x in &numbers {
        owner = owner.owns(x, 1);
    }
    let s = World::new().last_good(10).with(owner).plan_of("s");
    assert_eq!(s.reason, Reason::InventoryUnsafe);
    assert!(s.reason.is_stalled());
    assert!(
        s.message.contains("10 numbers owned but not shown") && s.message.contains("had 10"),
        "{}",
        s.message
    );
    assert!(s.numbers.iter().all(|l| l.state == NumberState::Blocked));
}

#[test]
fn ready_only_when_every_kept_number_is_active() {
    // A's reservation also holds B, which is no longer declared: it is left
    // to expire, A waits — the set is not Converged.
    let world = World::new()
        .at(5)
        .with(
            set("s", 1)
                .declare(1, &[A])
                .intent(reserve_intent("R1", 1, &[A, B], 0, Some(30))),
        );
    let s = world.plan_of("s");
    assert!(s.actions.is_empty() && s.held.is_empty());
    assert_eq!(line(&s, A).state, NumberState::Reserved);
    assert_ne!(s.reason, Reason::Converged);
}

// ---------------------------------------------------- fresh before buying

#[test]
fn a_reservation_waits_for_a_listing_newer_than_the_spec() {
    let mut world = World::new().at(10).with(set("s", 1).declare(1, &[A]));
    world.0.sets[0].observed_since = t(5);
    // The last full walk started at BASE, before the spec was seen.
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(
        s.held,
        vec![Held {
            action: Action::Reserve {
                package: pkg(1),
                numbers: ns(&[A]),
                proves: None,
            },
            hold: Hold::Unverified,
        }]
    );
    assert_eq!(s.reason, Reason::Progressing);
    // A listing filtered to the number, started after: decided.
    world.0.inventory.coverage.numbers.insert(n(A), t(6));
    assert_eq!(world.plan_of("s").actions.len(), 1);
    // A listing of a package does not cover an exact number.
    world.0.inventory.coverage.numbers.clear();
    world.0.inventory.coverage.packages.insert(pkg(1), t(6));
    assert!(world.plan_of("s").actions.is_empty());
    // A full walk started after does.
    world.0.inventory.coverage.full = Some(t(5));
    assert_eq!(world.plan_of("s").actions.len(), 1);
}

#[test]
fn an_acquire_waits_for_a_listing_of_its_package_newer_than_the_spec() {
    let mut world = World::new()
        .at(10)
        .with(set("s", 1).acquire(1, 2, npa(&[800])));
    world.0.sets[0].observed_since = t(5);
    let s = world.plan_of("s");
    assert!(s.actions.is_empty());
    assert_eq!(s.held[0].hold, Hold::Unverified);
    world.0.inventory.coverage.packages.insert(pkg(1), t(7));
    assert!(matches!(
        world.plan_of("s").actions[..],
        [Action::Acquire { count: 2, .. }]
    ));
    // The fresh listing showed an unclaimed number in the package: adopted,
    // only the rest is acquired.
    let s = world.has(A, 1).plan_of("s");
    assert!(s.memory.owned.contains_key(&n(A)));
    assert!(matches!(s.actions[..], [Action::Acquire { count: 1, .. }]));
}

#[test]
fn moves_and_purchases_of_recorded_reservations_need_no_fresher_listing() {
    let mut world =
        World::new()
            .at(10)
            .has(A, 2)
            .with(set("s", 1).declare(1, &[A, B]).intent(reserve_intent(
                "R1",
                1,
                &[B],
                0,
                Some(30),
            )));
    world.0.sets[0].observed_since = t(5);
    let s = world.plan_of("s");
    assert_eq!(s.actions.len(), 2, "{:?}", s.actions);
    assert!(s.held.is_empty());
}

// ---------------------------------------------------- orders kept

#[test]
fn a_purchase_settled_without_its_answer_reports_the_listed_order_id() {
    let mut world = World::new().at(2).has_all(&[A, B], 1).with(
        set("s", 1)
            .declare(1, &[A, B])
            .intent(purchase_intent("R1", 1, &[A, B], 0, Some(30))),
    );
    for x in [A, B] {
        world.0.inventory.numbers.get_mut(&n(x)).unwrap().order_id = Some(OrderId(7));
    }
    let s = world.plan_of("s");
    assert_eq!(
        s.settled,
        vec![Settled {
            kind: IntentKind::Purchase,
            numbers: ns(&[A, B]),
            package: Some(pkg(1)),
            order_id: Some(OrderId(7)),
            reference_id: Some("ref-R1".into()),
            started: t(0),
        }]
    );
    // Numbers listed under different orders: the ID stays unknown.
    world.0.inventory.numbers.get_mut(&n(B)).unwrap().order_id = Some(OrderId(8));
    assert_eq!(world.plan_of("s").settled[0].order_id, None);
}

#[test]
fn moves_and_disconnects_settled_report_their_order_or_reference() {
    let world = World::new().at(2).has(A, 2).with(
        set("s", 1)
            .declare(2, &[A])
            .owns(A, 2)
            .owns(B, 1)
            .disconnect(Mode::Auto)
            .intent(order_intent(IntentKind::Move, Some(2), &[A], 0, None))
            .intent(order_intent(IntentKind::Disconnect, None, &[B], 0, Some(9))),
    );
    let s = world.plan_of("s");
    let kinds: Vec<(IntentKind, Option<u64>, Option<&str>)> = s
        .settled
        .iter()
        .map(|x| (x.kind, x.order_id.map(|o| o.0), x.reference_id.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (IntentKind::Move, None, Some("ref-1")),
            (IntentKind::Disconnect, Some(9), Some("ref-1")),
        ]
    );
}

// ---------------------------------------------------- batching across sets

fn defaults(email: Option<&str>) -> OrderDefaults {
    OrderDefaults {
        service_area: 4,
        my_resp_org: false,
        email: email.map(str::to_owned),
        notes: None,
    }
}

#[test]
fn purchases_and_moves_of_several_sets_into_one_package_go_in_one_call_each() {
    let mut world = World::new()
        .at(1)
        .has_all(&[A, B], 1)
        .with(
            set("one", 3)
                .declare(2, &[A])
                .declare(3, &["8885550100"])
                .owns(A, 1)
                .intent(reserve_intent("R1", 3, &["8885550100"], 0, Some(30))),
        )
        .with(
            set("two", 2)
                .declare(2, &[B])
                .declare(3, &["8885550101"])
                .owns(B, 1)
                .intent(reserve_intent("R2", 3, &["8885550101"], 0, Some(30))),
        );
    for s in &mut world.0.sets {
        s.order_defaults = defaults(Some("noc@example.com"));
    }
    let plan = world.plan();
    let calls = batches(&plan.sets, &world.0.sets);
    let shape: Vec<(BatchKind, usize, usize)> = calls
        .iter()
        .map(|b| (b.kind, b.parts.len(), b.numbers().count()))
        .collect();
    assert_eq!(
        shape,
        vec![(BatchKind::Purchase, 2, 2), (BatchKind::Move, 2, 2)]
    );
    assert_eq!(calls[0].reservation_ids(), vec![&rid("R1"), &rid("R2")]);
    assert_eq!(calls[1].package(), Some(pkg(2)));
    assert_eq!(calls[0].options.email.as_deref(), Some("noc@example.com"));
}

#[test]
fn orders_with_different_options_are_never_merged() {
    let mut world = World::new()
        .has_all(&[A, B], 1)
        .with(set("one", 3).declare(2, &[A]).owns(A, 1))
        .with(set("two", 2).declare(2, &[B]).owns(B, 1));
    world.0.sets[0].order_defaults = defaults(Some("a@example.com"));
    world.0.sets[1].order_defaults = defaults(Some("b@example.com"));
    let plan = world.plan();
    let calls = batches(&plan.sets, &world.0.sets);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(calls.iter().all(|b| b.parts.len() == 1));
}

#[test]
fn merged_moves_are_split_at_the_batch_limit_and_reservations_never_shared() {
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let first: Vec<String> = (0..70).map(|i| format!("800555{i:04}")).collect();
    let second: Vec<String> = (70..140).map(|i| format!("800555{i:04}")).collect();
    let mut one = set("one", 3)
        .declare(2, &refs(&first))
        .declare(4, &["8885550100"]);
    for x in &first {
        one = one.owns(x, 1);
    }
    let mut two = set("two", 2)
        .declare(2, &refs(&second))
        .declare(4, &["8885550101"]);
    for x in &second {
        two = two.owns(x, 1);
    }
    let world = World::new()
        .has_all(&refs(&first), 1)
        .has_all(&refs(&second), 1)
        .with(one)
        .with(two);
    let plan = world.plan();
    let calls = batches(&plan.sets, &world.0.sets);
    let shape: Vec<(BatchKind, usize, usize)> = calls
        .iter()
        .map(|b| (b.kind, b.parts.len(), b.numbers().count()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (BatchKind::Move, 2, 100),
            (BatchKind::Move, 1, 40),
            (BatchKind::Reserve, 1, 1),
            (BatchKind::Reserve, 1, 1),
        ]
    );
    let moved: usize = calls
        .iter()
        .filter(|b| b.kind == BatchKind::Move)
        .map(|b| b.numbers().count())
        .sum();
    assert_eq!(moved, 140, "every number in exactly one call");
}
