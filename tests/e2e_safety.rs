//! End-to-end safety scenarios on a real control plane with the simulated
//! vendor: deletion (and the retirement of an account no set uses), a quiet
//! converged set, bad credentials without a hot loop,
//! the disconnect grace period, and crashes while a purchase is in flight. The
//! vendor's ledger is the proof: nothing bought twice, nothing disconnected by
//! accident.
//!
//! Each test has its own namespace, simulator and operator (`--namespace`,
//! `--resync-interval 3s`). The declared lifecycle is in
//! `tests/e2e_scenarios.rs`.

mod support;

use std::time::{Duration, Instant};

use intelepeer_sim::{Faults, LedgerKind, SimConfig};
use support::scenario::{
    ACCOUNT_SECRET, AUTHENTICATE, LIST_INVENTORY, RESYNC, Scenario, condition, condition_is,
    entries, ledger_text, number_entry, number_state, numbers_of, observed_current, once,
    requests_between, set_manifest, sim_config, tally,
};
use tollfree_operator::crd::{FINALIZER, IntentKind, NumberState};

const A: &str = "+18007293863";
const B: &str = "+18003255821";
/// In the account before any set exists, declared by none.
const UNOWNED: &str = "+18445550123";
const P1: u64 = 30744;
const P2: u64 = 24188;

fn two_numbers(disconnect: &str, extra: &str) -> String {
    set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\", \"{B}\"]\n  policy: {{disconnect: {disconnect}}}\n{extra}"
        ),
    )
}

fn only_a(disconnect: &str, extra: &str) -> String {
    set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\"]\n  policy: {{disconnect: {disconnect}}}\n{extra}"
        ),
    )
}

// ---------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------

#[test]
fn deleting_a_set_under_disconnect_deny_retains_its_numbers() {
    let s = Scenario::start();
    s.apply(&two_numbers("Deny", ""));
    let set = s.wait_ready("lines");
    assert!(
        set.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f == FINALIZER)),
        "the set carries no {FINALIZER} finalizer: {:?}",
        set.metadata.finalizers
    );

    s.kubectl(&["delete", "tfns", "lines", "--wait=false"]);
    s.wait_gone("lines", Duration::from_secs(10));
    std::thread::sleep(RESYNC);

    let inventory = s.inventory();
    assert_eq!(inventory.get(A), Some(&P1));
    assert_eq!(inventory.get(B), Some(&P1));
    let ledger = s.ledger();
    assert!(
        entries(&ledger, LedgerKind::Disconnect).is_empty(),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(s.requests().get("POST /_rest/v4/my/tf/disconnect"), None);
}

#[test]
fn deleting_a_set_under_disconnect_auto_disconnects_its_numbers_first() {
    let s = Scenario::start();
    s.sim().seed_inventory(&[UNOWNED], P1);
    s.apply(&two_numbers("Auto", ""));
    s.wait_ready("lines");

    s.kubectl(&["delete", "tfns", "lines", "--wait=false"]);
    s.wait_gone("lines", Duration::from_secs(30));

    // Read at once: the disconnects happened before the object went away.
    let ledger = s.ledger();
    let inventory = s.inventory();
    assert_eq!(
        tally(&ledger, LedgerKind::Disconnect),
        once(&[A, B]),
        "{}",
        ledger_text(&ledger)
    );
    assert!(
        !inventory.contains_key(A) && !inventory.contains_key(B),
        "{inventory:#?}"
    );
    // Never touch what no set owns.
    assert_eq!(inventory.get(UNOWNED), Some(&P1));

    std::thread::sleep(RESYNC);
    assert_eq!(
        tally(&s.ledger(), LedgerKind::Disconnect),
        once(&[A, B]),
        "{}",
        ledger_text(&s.ledger())
    );
}

/// Whether `/metrics` carries a per-account series of the account the
/// scenario's Secret proves (`tollfree_inventory_numbers{account="user …"}`).
fn has_account_series(s: &Scenario) -> bool {
    s.operator()
        .metrics()
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("tollfree_inventory_numbers{") && l.contains("account=\"user "))
}

#[test]
fn an_account_no_set_uses_any_more_is_retired_and_a_set_joining_again_is_served_afresh() {
    let s = Scenario::start();
    s.apply(&two_numbers("Deny", ""));
    s.wait_ready("lines");
    assert!(
        has_account_series(&s),
        "{}",
        s.operator().metrics().unwrap_or_default()
    );

    // The last set of the account goes: after one resync interval without a
    // member, its worker retires, with its per-account series.
    s.kubectl(&["delete", "tfns", "lines", "--wait=false"]);
    s.wait_gone("lines", Duration::from_secs(10));
    let deadline = Instant::now() + RESYNC * 4;
    while has_account_series(&s) || !s.operator().logs().contains("account worker retired") {
        assert!(
            Instant::now() < deadline,
            "the account's worker did not retire within {:?} of its last set's deletion:\n{}\n{}",
            RESYNC * 4,
            s.operator().metrics().unwrap_or_default(),
            s.operator().logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let listings = s.requests().get(LIST_INVENTORY).copied();
    std::thread::sleep(RESYNC * 2);
    assert_eq!(
        s.requests().get(LIST_INVENTORY).copied(),
        listings,
        "a retired account is not listed"
    );

    // A set joining the account again gets a new worker: a full walk, its
    // numbers adopted (nothing bought), the series back.
    s.apply(&two_numbers("Deny", ""));
    let set = s.wait_ready("lines");
    assert_eq!(number_state(&set, A), Some(NumberState::Active));
    assert_eq!(number_state(&set, B), Some(NumberState::Active));
    assert!(has_account_series(&s));
    let ledger = s.ledger();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A, B]),
        "each number bought once, before the first deletion:\n{}",
        ledger_text(&ledger)
    );
}

// ---------------------------------------------------------------------------
// A converged set is quiet
// ---------------------------------------------------------------------------

#[test]
fn a_converged_set_lists_the_inventory_once_per_resync_and_changes_nothing() {
    let s = Scenario::start();
    s.sim().seed_inventory(&[UNOWNED], P1);
    s.apply(&set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\", \"{B}\"]\n    - packageID: 24188\n      acquire: {{count: 2, npa: [877]}}\n"
        ),
    ));
    s.wait_ready("lines");
    // Let the last order settle and the status writes stop.
    std::thread::sleep(RESYNC);
    s.wait_ready("lines");

    const INTERVALS: u32 = 4;
    let ledger = s.ledger();
    let before = s.requests();
    std::thread::sleep(RESYNC * INTERVALS);
    let made = requests_between(&before, &s.requests());

    let lists = made.get(LIST_INVENTORY).copied().unwrap_or(0)
        + made.get("GET /_rest/v3/my/tf").copied().unwrap_or(0);
    assert!(
        (u64::from(INTERVALS) - 1..=u64::from(INTERVALS) + 2).contains(&lists),
        "{lists} inventory listings in {INTERVALS} resync intervals; requests: {made:#?}"
    );
    eprintln!("requests in {INTERVALS} resync intervals: {made:?}");
    let posts: Vec<_> = made.keys().filter(|k| k.starts_with("POST ")).collect();
    assert!(posts.is_empty(), "a converged set made POSTs: {made:#?}");
    assert_eq!(s.ledger(), ledger, "{}", ledger_text(&s.ledger()));
    let set = s.wait_ready("lines");
    assert!(condition_is(&set, "Reconciling", "False", None));
    assert_eq!(s.inventory().get(UNOWNED), Some(&P1));
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

#[test]
fn a_missing_account_secret_stalls_the_set_until_it_exists() {
    let mut s = Scenario::without_operator(sim_config());
    s.start_operator();
    s.apply(&only_a("Deny", ""));
    let set = s.wait_set("lines", Duration::from_secs(30), "Stalled=True", |set| {
        observed_current(set) && condition_is(set, "Stalled", "True", None)
    });
    let stalled = condition(&set, "Stalled").expect("Stalled");
    assert!(
        stalled.message.contains(ACCOUNT_SECRET) && stalled.message.contains("not found"),
        "the message should name the missing Secret: {stalled:#?}"
    );
    assert!(condition_is(&set, "Ready", "False", None));
    assert!(s.ledger().is_empty());
    assert_eq!(s.requests().get(AUTHENTICATE), None);

    s.test_ns().create_account_secret(ACCOUNT_SECRET);
    s.wait_ready("lines");
    assert_eq!(tally(&s.ledger(), LedgerKind::Purchase), once(&[A]));
}

#[test]
fn wrong_credentials_stall_the_set_without_a_hot_loop() {
    let mut s = Scenario::without_operator(sim_config());
    s.test_ns()
        .create_secret(ACCOUNT_SECRET, "demo", "not-the-password");
    s.start_operator();
    s.apply(&only_a("Deny", ""));
    let set = s.wait_set("lines", Duration::from_secs(30), "Stalled=True", |set| {
        observed_current(set) && condition_is(set, "Stalled", "True", None)
    });
    let stalled = condition(&set, "Stalled").expect("Stalled");
    let message = stalled.message.to_lowercase();
    assert!(
        message.contains(ACCOUNT_SECRET)
            && [
                "authenticat",
                "credential",
                "password",
                "unauthorized",
                "401"
            ]
            .iter()
            .any(|w| message.contains(w)),
        "the message should say the Secret's credentials are refused: {stalled:#?}"
    );
    assert!(
        !stalled.message.contains("not-the-password"),
        "the password leaked into the condition"
    );

    // Backoff, not a hot loop.
    let before = s.requests();
    std::thread::sleep(Duration::from_secs(20));
    let made = requests_between(&before, &s.requests());
    let attempts = made.get(AUTHENTICATE).copied().unwrap_or(0);
    eprintln!("requests in 20 s with a refused password: {made:?}");
    assert!(
        attempts <= 8,
        "{attempts} authentication attempts in 20 s: {made:#?}"
    );
    assert!(s.ledger().is_empty());

    s.test_ns().create_secret(ACCOUNT_SECRET, "demo", "demo");
    s.wait_ready("lines");
    assert_eq!(tally(&s.ledger(), LedgerKind::Purchase), once(&[A]));
}

// ---------------------------------------------------------------------------
// A set whose account is unknown is planned around
// ---------------------------------------------------------------------------

#[test]
fn a_set_whose_secret_fails_claims_nothing_it_never_owned() {
    let mut s = Scenario::without_operator(sim_config());
    s.test_ns().create_account_secret(ACCOUNT_SECRET);
    s.sim().seed_inventory(&[UNOWNED], P1);
    // The older set's Secret does not exist: it proves no account, owns
    // nothing, and may not keep a valid set from a number it merely declares
    // (a tenant must not be able to reserve numbers by naming them in a set
    // that cannot act).
    s.apply(
        &set_manifest(
            "orphan",
            &format!("  packages:\n    - packageID: {P1}\n      numbers: [\"{UNOWNED}\"]\n"),
        )
        .replace(ACCOUNT_SECRET, "no-such-secret"),
    );
    // creationTimestamp has whole seconds.
    std::thread::sleep(Duration::from_millis(1100));
    s.apply(&set_manifest(
        "lines",
        &format!("  packages:\n    - packageID: {P2}\n      numbers: [\"{UNOWNED}\", \"{A}\"]\n"),
    ));
    s.start_operator();

    let lines = s.wait_set(
        "lines",
        Duration::from_secs(45),
        "UNOWNED adopted (moved to P2), A Active",
        |set| {
            observed_current(set)
                && number_state(set, UNOWNED) == Some(NumberState::Active)
                && number_entry(set, UNOWNED).is_some_and(|n| n.owned)
                && number_state(set, A) == Some(NumberState::Active)
        },
    );
    assert!(condition_is(&lines, "Ready", "True", None));
    let orphan = s.wait_set(
        "orphan",
        Duration::from_secs(30),
        "CredentialsInvalid",
        |set| {
            condition(set, "Stalled")
                .is_some_and(|c| c.status == "True" && c.reason == "CredentialsInvalid")
        },
    );
    let status = orphan.status.expect("status");
    assert!(
        status.numbers.is_empty() && status.account.is_none(),
        "a set that cannot act sees nothing of any inventory: {status:#?}"
    );
    let text = serde_json::to_string(&status).expect("json");
    assert!(!text.contains("lines"), "it names no other set: {text}");
    std::thread::sleep(RESYNC);
    let ledger = s.ledger();
    assert_eq!(s.inventory().get(UNOWNED), Some(&P2), "adopted, moved");
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        once(&[A]),
        "{}",
        ledger_text(&ledger)
    );
    assert!(
        entries(&ledger, LedgerKind::Reserve)
            .iter()
            .all(|e| !e.numbers.iter().any(|n| n == UNOWNED)),
        "the adopted number was never reserved:\n{}",
        ledger_text(&ledger)
    );
}

#[test]
fn numbers_a_set_proved_it_owns_stay_protected_while_its_secret_is_broken() {
    let mut s = Scenario::start();
    s.sim().seed_inventory(&[UNOWNED], P1);
    s.apply(&set_manifest(
        "owner",
        &format!("  packages:\n    - packageID: {P1}\n      numbers: [\"{UNOWNED}\"]\n"),
    ));
    let owner = s.wait_ready("owner");
    assert_eq!(
        owner.status.as_ref().and_then(|st| st.account.as_deref()),
        Some("user demo"),
        "ownership is recorded under the proven login"
    );
    // The owner's Secret breaks (a rotation gone wrong): it cannot act, but
    // what it proved it owns is not up for anyone else.
    s.kubectl(&["delete", "secret", ACCOUNT_SECRET]);
    s.kill_operator();
    s.test_ns().create_secret("team-secret", "demo", "demo");
    std::thread::sleep(Duration::from_millis(1100));
    s.apply(
        &set_manifest(
            "younger",
            &format!("  packages:\n    - packageID: {P2}\n      numbers: [\"{UNOWNED}\"]\n"),
        )
        .replace(ACCOUNT_SECRET, "team-secret"),
    );
    s.start_operator();
    s.wait_set(
        "owner",
        Duration::from_secs(30),
        "CredentialsInvalid",
        |set| {
            condition(set, "Stalled")
                .is_some_and(|c| c.status == "True" && c.reason == "CredentialsInvalid")
        },
    );
    s.wait_set(
        "younger",
        Duration::from_secs(45),
        "UNOWNED in Conflict with the owner",
        |set| {
            observed_current(set)
                && number_state(set, UNOWNED) == Some(NumberState::Conflict)
                && number_entry(set, UNOWNED).is_some_and(|n| !n.owned)
        },
    );
    std::thread::sleep(RESYNC);
    assert_eq!(s.inventory().get(UNOWNED), Some(&P1), "not moved");
    let ledger = s.ledger();
    assert!(
        ledger
            .iter()
            .all(|e| !e.numbers.iter().any(|n| n == UNOWNED)),
        "{}",
        ledger_text(&ledger)
    );
}

// ---------------------------------------------------------------------------
// Grace period
// ---------------------------------------------------------------------------

#[test]
fn a_disconnect_waits_for_the_grace_period() {
    let s = Scenario::start();
    let grace = "  disconnectGracePeriod: 5s\n";
    s.apply(&two_numbers("Auto", grace));
    s.wait_ready("lines");

    s.apply(&only_a("Auto", grace));
    let set = s.wait_set(
        "lines",
        Duration::from_secs(30),
        "B PendingDisconnect at generation 2",
        |set| observed_current(set) && number_state(set, B) == Some(NumberState::PendingDisconnect),
    );
    let leaving_since = number_entry(&set, B)
        .and_then(|n| n.leaving_since)
        .unwrap_or_else(|| panic!("no leavingSince for B: {:#?}", set.status));
    assert!(
        entries(&s.ledger(), LedgerKind::Disconnect).is_empty(),
        "disconnected inside the grace period:\n{}",
        ledger_text(&s.ledger())
    );
    assert_eq!(s.inventory().get(B), Some(&P1));

    s.wait_set(
        "lines",
        Duration::from_secs(30),
        "Ready and B gone from the account",
        |set| {
            observed_current(set)
                && condition_is(set, "Ready", "True", None)
                && !s.inventory().contains_key(B)
        },
    );
    let ledger = s.ledger();
    let disconnects = entries(&ledger, LedgerKind::Disconnect);
    assert_eq!(
        tally(&ledger, LedgerKind::Disconnect),
        once(&[B]),
        "{}",
        ledger_text(&ledger)
    );
    let held = disconnects[0].time.duration_since(leaving_since);
    assert!(
        held >= jiff::SignedDuration::from_secs(5),
        "disconnected {held:?} after B left the spec, before the 5s grace period"
    );
    assert_eq!(s.inventory().get(A), Some(&P1));
}

#[test]
fn re_adding_a_number_within_its_grace_period_cancels_the_disconnect() {
    let s = Scenario::start();
    let grace = "  disconnectGracePeriod: 8s\n";
    s.apply(&two_numbers("Auto", grace));
    s.wait_ready("lines");

    let removed = Instant::now();
    s.apply(&only_a("Auto", grace));
    s.wait_set(
        "lines",
        Duration::from_secs(30),
        "B PendingDisconnect at generation 2",
        |set| observed_current(set) && number_state(set, B) == Some(NumberState::PendingDisconnect),
    );
    s.apply(&two_numbers("Auto", grace));
    let set = s.wait_ready("lines");
    assert!(
        removed.elapsed() < Duration::from_secs(8),
        "test premise: re-added within the grace period ({:?})",
        removed.elapsed()
    );
    assert_eq!(set.metadata.generation, Some(3));
    assert_eq!(number_state(&set, B), Some(NumberState::Active));

    // Past the original deadline, and then some.
    let deadline = Duration::from_secs(8) + RESYNC * 2;
    std::thread::sleep(deadline.saturating_sub(removed.elapsed()));
    let set = s.wait_ready("lines");
    let ledger = s.ledger();
    assert!(
        entries(&ledger, LedgerKind::Disconnect).is_empty(),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(s.requests().get("POST /_rest/v4/my/tf/disconnect"), None);
    assert_eq!(s.inventory().get(B), Some(&P1));
    let entry = number_entry(&set, B).expect("B");
    assert_eq!(entry.state, Some(NumberState::Active));
    assert!(entry.owned && entry.leaving_since.is_none(), "{entry:#?}");
}

// ---------------------------------------------------------------------------
// Crashes (write-ahead intents)
// ---------------------------------------------------------------------------

/// Two exact numbers and two acquired ones.
fn crash_manifest() -> String {
    set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [\"{A}\", \"{B}\"]\n    - packageID: 24188\n      acquire: {{count: 2, npa: [866], sequential: true}}\n"
        ),
    )
}

/// After the restart: Ready, every wanted number bought exactly once, and
/// nothing else bought.
fn assert_bought_once_after_restart(s: &Scenario) {
    let set = s.wait_ready("lines");
    std::thread::sleep(RESYNC * 2);
    s.wait_ready("lines");
    let ledger = s.ledger();
    let tally = tally(&ledger, LedgerKind::Purchase);
    assert!(
        tally.values().all(|&n| n == 1),
        "a number was bought twice:\n{}",
        ledger_text(&ledger)
    );
    assert_eq!(tally.len(), 4, "{}", ledger_text(&ledger));
    assert!(tally.contains_key(A) && tally.contains_key(B));
    let inventory = s.inventory();
    assert_eq!(
        inventory.keys().collect::<Vec<_>>(),
        tally.keys().collect::<Vec<_>>(),
        "the account holds exactly what was bought"
    );
    let status = set.status.as_ref().expect("status");
    assert_eq!((status.desired, status.active, status.pending), (4, 4, 0));
    assert!(
        status.intents.is_empty(),
        "intents left: {:#?}",
        status.intents
    );
}

#[test]
fn a_crash_with_a_purchase_in_flight_buys_nothing_twice() {
    let mut s = Scenario::start();
    // Every vendor call takes 1.5 s: the purchase is on the wire when the
    // operator dies.
    s.sim().set_faults(Faults {
        latency: Duration::from_millis(1500),
        ..Faults::default()
    });
    s.apply(&crash_manifest());
    let set = s.wait_set(
        "lines",
        Duration::from_secs(45),
        "a Purchase intent recorded (write-ahead)",
        |set| {
            set.status
                .as_ref()
                .is_some_and(|st| st.intents.iter().any(|i| i.kind == IntentKind::Purchase))
        },
    );
    s.kill_operator();
    eprintln!(
        "killed with intents {:#?}\nledger:\n{}",
        set.status.as_ref().map(|st| &st.intents),
        ledger_text(&s.ledger())
    );

    s.sim().set_faults(Faults::default());
    s.start_operator();
    assert_bought_once_after_restart(&s);
}

#[test]
fn a_crash_right_after_the_vendor_accepted_a_purchase_buys_nothing_twice() {
    // Orders take 4 s: after the restart the purchase is accepted but its
    // numbers are not in the inventory yet.
    let mut s = Scenario::without_operator(SimConfig {
        order_delay: Duration::from_secs(4),
        ..sim_config()
    });
    s.test_ns().create_account_secret(ACCOUNT_SECRET);
    s.start_operator();
    s.apply(&crash_manifest());

    let deadline = Instant::now() + Duration::from_secs(45);
    while entries(&s.ledger(), LedgerKind::Purchase).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no purchase within 45 s\n{}",
            s.evidence("lines")
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    s.kill_operator();
    let at_crash = s.set("lines");
    eprintln!(
        "killed with intents {:#?}\nledger:\n{}",
        at_crash.status.as_ref().map(|st| &st.intents),
        ledger_text(&s.ledger())
    );
    let purchased_at_crash = numbers_of(&s.ledger(), LedgerKind::Purchase);
    assert!(!purchased_at_crash.is_empty());

    s.start_operator();
    assert_bought_once_after_restart(&s);
}
