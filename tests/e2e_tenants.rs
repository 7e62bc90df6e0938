//! Tenants of one operator (issue 7): identity is proven, not declared, and a
//! decision to buy rests on a listing fresh enough to know what the account
//! holds. On a real apiserver with the operator binary and the simulated
//! vendor serving several accounts (`SimConfig::with_user`).
//!
//! - [`an_impostor_sees_nothing_claims_nothing_and_the_victim_buys_nothing`]:
//!   namespace team-a's Secret names user bob with a wrong password,
//!   team-b's holds bob's right one; bob's account has 5 unclaimed numbers in
//!   the package team-b acquires from. Team-a's set sees nothing, claims
//!   nothing and is Stalled `CredentialsInvalid`; team-b's `acquire: {count: 5, npa: [844]}`
//!   adopts the 5 and buys nothing; the vendor refused team-a's credentials.
//! - [`a_number_added_between_two_walks_is_adopted_never_reserved`]: with a
//!   resync interval of an hour, a number that joins the account after the
//!   last full walk and that a spec then asks for is listed (`like`) and
//!   adopted — no reservation is even tried.
//!
//! The tenant test needs an operator watching every namespace, so this binary
//! has a control plane of its own and runs its tests one at a time; each
//! removes its sets before the next starts ([`Tenancy`]).

mod support;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use intelepeer_sim::{LedgerKind, SimConfig};
use support::scenario::{
    AUTHENTICATE, LIST_INVENTORY, condition, condition_is, entries, ledger_text, number_entry,
    number_state, observed_current, requests_between, sim_config,
};
use support::{ControlPlane, Operator, TestNs, TestSim, describe};
use tollfree_operator::crd::{NumberState, TollFreeNumberSet};

/// A route profile.
const P1: u64 = 30744;
/// Bob's account at the vendor.
const BOB_ACCOUNT: u64 = 2002;
/// Bob's password.
const BOB_PASSWORD: &str = "bobs-real-password";
/// How long a set may take to converge.
const CONVERGE: Duration = Duration::from_secs(60);

/// One test of this binary at a time: an operator watching every namespace
/// must not see another test's sets.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A test's world: its simulator, its namespaces, the operator. Dropping it
/// stops the operator, then removes every set of its namespaces (finalizers
/// first: nothing is disconnected), so the next test starts clean.
struct Tenancy {
    operator: Option<Operator>,
    sim: TestSim,
    namespaces: Vec<TestNs>,
    _one: MutexGuard<'static, ()>,
}

impl Tenancy {
    fn new(config: SimConfig, namespaces: usize) -> Tenancy {
        let one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        Tenancy {
            operator: None,
            sim: TestSim::with_config(config),
            namespaces: (0..namespaces).map(|_| TestNs::create()).collect(),
            _one: one,
        }
    }

    fn ns(&self, i: usize) -> &TestNs {
        &self.namespaces[i]
    }

    /// Starts the operator on every namespace with `--resync-interval`.
    fn start_operator(&mut self, resync: &str) {
        self.operator = Some(
            Operator::builder(self.sim.url())
                .all_namespaces()
                .arg("--resync-interval")
                .arg(resync)
                .start(),
        );
    }

    fn sim(&self) -> &intelepeer_sim::Simulator {
        self.sim.sim()
    }

    fn try_set(&self, ns: usize, name: &str) -> Option<TollFreeNumberSet> {
        let out = ControlPlane::shared().kubectl(&[
            "get",
            "tfns",
            name,
            "-n",
            self.ns(ns).name(),
            "-o",
            "json",
        ]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("a TollFreeNumberSet"))
    }

    fn evidence(&self) -> String {
        let cp = ControlPlane::shared();
        let mut text = String::new();
        for ns in &self.namespaces {
            let out = cp.kubectl(&["get", "tfns", "-n", ns.name(), "-o", "yaml"]);
            text.push_str(&format!("--- {} ---\n{}\n", ns.name(), describe(&out)));
        }
        format!(
            "{text}--- ledger ---\n{}\n--- requests ---\n{:#?}",
            ledger_text(&self.sim().ledger()),
            self.sim().request_counts()
        )
    }

    #[track_caller]
    fn wait_set(
        &self,
        ns: usize,
        name: &str,
        what: &str,
        mut check: impl FnMut(&TollFreeNumberSet) -> bool,
    ) -> TollFreeNumberSet {
        let deadline = Instant::now() + CONVERGE;
        loop {
            if let Some(set) = self.try_set(ns, name)
                && check(&set)
            {
                return set;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {name}: {what}\n{}",
                self.evidence()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Tenancy {
    fn drop(&mut self) {
        drop(self.operator.take());
        let cp = ControlPlane::shared();
        for ns in &self.namespaces {
            let out = cp.kubectl(&["get", "tfns", "-n", ns.name(), "-o", "name"]);
            for set in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = cp.kubectl(&[
                    "patch",
                    set,
                    "-n",
                    ns.name(),
                    "--type=merge",
                    "-p",
                    r#"{"metadata":{"finalizers":null}}"#,
                ]);
            }
            let _ = cp.kubectl(&["delete", "tfns", "--all", "-n", ns.name(), "--wait=true"]);
        }
    }
}

fn secret(name: &str, username: &str, password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\nstringData:\n  username: {username:?}\n  password: {password:?}\n"
    )
}

fn set(name: &str, secret: &str, packages: &str) -> String {
    format!(
        "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata:\n  name: {name}\nspec:\n  accountRef: {{name: {secret}}}\n  packages:\n{packages}"
    )
}

#[test]
fn an_impostor_sees_nothing_claims_nothing_and_the_victim_buys_nothing() {
    let mut t = Tenancy::new(sim_config().with_user("bob", BOB_PASSWORD, BOB_ACCOUNT), 2);
    let bobs: Vec<String> = (0..5).map(|i| format!("+1844555070{i}")).collect();
    let refs: Vec<&str> = bobs.iter().map(String::as_str).collect();
    t.sim().seed_inventory_in(BOB_ACCOUNT, &refs, P1);
    let quoted = bobs
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");

    // team-a: bob's name, not bob's password; its set is the older one and
    // names bob's numbers outright.
    t.ns(0)
        .apply(&secret("intelepeer", "bob", "not-bobs-password"));
    t.ns(0).apply(&set(
        "grab",
        "intelepeer",
        &format!("    - packageID: {P1}\n      numbers: [{quoted}]\n"),
    ));
    std::thread::sleep(Duration::from_millis(1100));
    // team-b: bob himself, acquiring five numbers in the package.
    t.ns(1).apply(&secret("intelepeer", "bob", BOB_PASSWORD));
    t.ns(1).apply(&set(
        "lines",
        "intelepeer",
        &format!("    - packageID: {P1}\n      acquire: {{count: 5, npa: [844]}}\n"),
    ));
    t.start_operator("3s");

    let lines = t.wait_set(1, "lines", "Ready with bob's five numbers", |s| {
        observed_current(s) && condition_is(s, "Ready", "True", None)
    });
    let status = lines.status.as_ref().expect("status");
    let held: Vec<&str> = status.numbers.iter().map(|n| n.number.as_str()).collect();
    assert_eq!(held, refs, "team-b adopted bob's five numbers");
    for n in &bobs {
        let entry = number_entry(&lines, n).expect("line");
        assert!(entry.owned && entry.acquired, "{entry:#?}");
        assert_eq!(entry.state, Some(NumberState::Active));
    }
    assert_eq!(status.account.as_deref(), Some("user bob"));

    let grab = t.wait_set(0, "grab", "Stalled CredentialsInvalid", |s| {
        condition(s, "Stalled")
            .is_some_and(|c| c.status == "True" && c.reason == "CredentialsInvalid")
    });
    let status = grab.status.as_ref().expect("status");
    assert!(
        status.numbers.is_empty() && status.account.is_none() && status.intents.is_empty(),
        "the impostor sees nothing of any inventory: {status:#?}"
    );
    let text = serde_json::to_string(status).expect("JSON");
    assert!(
        !text.contains("lines") && !text.contains(t.ns(1).name()),
        "it names no other set: {text}"
    );
    for n in &bobs {
        assert!(
            !text.contains(n.as_str()),
            "it shows none of bob's numbers: {text}"
        );
    }
    assert!(!text.contains("not-bobs-password") && !text.contains(BOB_PASSWORD));

    // A few resyncs later: still nothing bought, nothing claimed by team-a.
    std::thread::sleep(Duration::from_secs(7));
    let lines = t.try_set(1, "lines").expect("lines");
    assert!(condition_is(&lines, "Ready", "True", None));
    assert!(
        t.sim().ledger().is_empty(),
        "nothing reserved, bought, moved or disconnected in any account:\n{}",
        ledger_text(&t.sim().ledger())
    );
    assert_eq!(t.sim().inventory_of(BOB_ACCOUNT).len(), 5);

    // The vendor was asked to authenticate team-a's credentials, and refused
    // them: more logins were attempted than sessions granted.
    let logins = t
        .sim()
        .request_counts()
        .get(AUTHENTICATE)
        .copied()
        .unwrap_or(0);
    let sessions = t.sim().dump()["sessions"].as_u64().unwrap_or(0);
    eprintln!("{logins} logins attempted, {sessions} sessions granted");
    assert!(
        sessions >= 1 && logins > sessions,
        "team-a's credentials were tried and refused ({logins} logins, {sessions} sessions)"
    );
    let message = &condition(&grab, "Stalled").expect("Stalled").message;
    assert!(
        message.contains("intelepeer") && message.to_lowercase().contains("refused"),
        "the condition names the Secret and the refusal: {message}"
    );
}

#[test]
fn a_number_added_between_two_walks_is_adopted_never_reserved() {
    const A: &str = "+18007293863";
    const JOINED: &str = "+18003255821";
    const RESERVE: &str = "POST /_rest/v4/carrier/tf/reservations";
    let mut t = Tenancy::new(sim_config(), 1);
    t.ns(0).create_account_secret("intelepeer");
    let manifest = |numbers: &str| {
        set(
            "lines",
            "intelepeer",
            &format!("    - packageID: {P1}\n      numbers: [{numbers}]\n"),
        )
    };
    t.ns(0).apply(&manifest(&format!("\"{A}\"")));
    // One full walk at start, the next in an hour.
    t.start_operator("1h");
    t.wait_set(0, "lines", "Ready", |s| {
        observed_current(s) && condition_is(s, "Ready", "True", None)
    });
    // Let the purchase's confirmation listings end.
    std::thread::sleep(Duration::from_secs(5));

    // The number joins the account (bought in the vendor's portal, ported
    // in) after the last walk; then a spec asks for it.
    t.sim().seed_inventory(&[JOINED], P1);
    let before = t.sim().request_counts();
    t.ns(0).apply(&manifest(&format!("\"{A}\", \"{JOINED}\"")));
    let lines = t.wait_set(0, "lines", "the joined number adopted", |s| {
        observed_current(s) && condition_is(s, "Ready", "True", None)
    });
    let made = requests_between(&before, &t.sim().request_counts());
    eprintln!("requests between the spec change and Ready: {made:?}");
    let entry = number_entry(&lines, JOINED).expect("line");
    assert!(entry.owned, "{entry:#?}");
    assert_eq!(number_state(&lines, JOINED), Some(NumberState::Active));
    assert!(entry.message.contains("adopted"), "{entry:#?}");
    assert_eq!(
        made.get(RESERVE),
        None,
        "no reservation was even tried: {made:?}"
    );
    let listings = made.get(LIST_INVENTORY).copied().unwrap_or(0);
    assert!(
        (1..=2).contains(&listings),
        "one listing of the number, no full walk: {made:?}"
    );
    let ledger = t.sim().ledger();
    assert!(
        entries(&ledger, LedgerKind::Reserve)
            .iter()
            .all(|e| !e.numbers.iter().any(|n| n == JOINED)),
        "{}",
        ledger_text(&ledger)
    );
    assert_eq!(
        entries(&ledger, LedgerKind::Purchase).len(),
        1,
        "only A was bought"
    );
}
