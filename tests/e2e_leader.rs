//! Leader election on the real API server: two (then three) operator processes
//! with `--leader-elect`, one namespace, one simulated vendor.
//!
//! - Exactly one replica holds the Lease `tollfree-operator` and works (its
//!   `tollfree_leader` gauge is 1; the standby's is 0 and it makes no vendor
//!   call and no reconcile); both answer `/readyz` 200.
//! - A set converges with every number bought once (the vendor's ledger).
//! - SIGTERM of the leader: it exits cleanly, releasing the Lease, and the
//!   standby takes over within [`HANDOVER`]; a spec change made after the
//!   handover converges without buying anything twice.
//! - SIGKILL of the leader (no release): a standby takes over only once the
//!   lease has expired — never sooner than lease duration (15 s) minus renew
//!   interval (5 s) after the kill — and keeps reconciling.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use intelepeer_sim::LedgerKind;
use support::scenario::{
    ACCOUNT_SECRET, condition_is, ledger_text, observed_current, set_manifest, sim_config, tally,
};
use support::{ControlPlane, Operator, TestNs, TestSim, metric_sum, wait_until};
use tollfree_operator::crd::TollFreeNumberSet;

/// The Lease's name (`src/leader.rs`).
const LEASE: &str = "tollfree-operator";
/// The operators' `--resync-interval`.
const RESYNC: &str = "3s";
/// How long a graceful handover (SIGTERM) may take.
const HANDOVER: Duration = Duration::from_secs(20);
/// After a SIGKILL, a standby may not take over before the lease can have
/// expired: 15 s lease − 5 s renew interval (the last renewal may precede the
/// kill by up to one interval). Measured from just before the kill, so the
/// real gap is at least this.
const KILL_TAKEOVER_MIN: Duration = Duration::from_secs(9);
/// ... and should take over by lease + standby poll + slack.
const KILL_TAKEOVER_MAX: Duration = Duration::from_secs(35);

const A: &str = "+18007293863";
const B: &str = "+18003255821";
const C: &str = "+18885551201";
const D: &str = "+18885551202";
const PACKAGE: u64 = 30744;

fn manifest(numbers: &[&str]) -> String {
    let list = numbers
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    set_manifest(
        "lines",
        &format!("  packages:\n    - packageID: {PACKAGE}\n      numbers: [{list}]\n"),
    )
}

/// The namespace and the simulator the replicas share.
struct World {
    sim: TestSim,
    ns: TestNs,
}

impl World {
    fn ns(&self) -> &str {
        self.ns.name()
    }

    fn apply(&self, yaml: &str) {
        self.ns.apply(yaml);
    }

    fn ledger(&self) -> Vec<intelepeer_sim::LedgerEntry> {
        self.sim.sim().ledger()
    }

    fn inventory(&self) -> BTreeMap<String, u64> {
        self.sim
            .sim()
            .inventory()
            .into_iter()
            .map(|n| (n.number, n.package_id))
            .collect()
    }

    /// Waits until set `name` is Ready=True at its current generation.
    #[track_caller]
    fn wait_ready(&self, name: &str) -> TollFreeNumberSet {
        let cp = ControlPlane::shared();
        let deadline = Instant::now() + CONVERGE;
        loop {
            let out = cp.kubectl(&["get", "tfns", name, "--namespace", self.ns(), "-o", "json"]);
            if let Ok(set) = serde_json::from_slice::<TollFreeNumberSet>(&out.stdout)
                && observed_current(&set)
                && condition_is(&set, "Ready", "True", None)
            {
                return set;
            }
            if Instant::now() >= deadline {
                panic!(
                    "tfns {name} not Ready after {CONVERGE:?}:\n{}{}\nledger:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    ledger_text(&self.ledger())
                );
            }
            std::thread::sleep(Duration::from_millis(400));
        }
    }
}

/// How long a set may take to converge.
const CONVERGE: Duration = Duration::from_secs(60);

/// Starts a replica named `identity` (`POD_NAME`) electing on the Lease in
/// `ns`, and waits until `/readyz` answers 200.
fn replica(s: &World, identity: &str) -> Operator {
    let op = Operator::builder(s.sim.url())
        .namespace(s.ns())
        .arg("--leader-elect")
        .arg("--leader-election-namespace")
        .arg(s.ns())
        .arg("--resync-interval")
        .arg(RESYNC)
        .env("POD_NAME", identity)
        .start();
    wait_until(
        Duration::from_secs(60),
        &format!("{identity} answers /readyz 200"),
        || matches!(op.http_get("/readyz"), Some((200, _))).then_some(()),
    );
    op
}

/// The Lease's holder, if the Lease exists and has one.
fn holder(ns: &str) -> Option<String> {
    let out = ControlPlane::shared().kubectl(&[
        "get",
        "lease",
        LEASE,
        "--namespace",
        ns,
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    let h = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !h.is_empty()).then_some(h)
}

/// The sum of the series of `name` on a replica's `/metrics`.
fn metric(op: &Operator, name: &str) -> f64 {
    metric_sum(&op.metrics().unwrap_or_default(), name)
}

fn is_leader(op: &Operator) -> bool {
    metric(op, "tollfree_leader") == 1.0
}

/// Waits until `identity` holds the Lease and reports itself leader; returns
/// how long that took from `since`.
fn wait_leader(
    s: &World,
    op: &Operator,
    identity: &str,
    since: Instant,
    timeout: Duration,
) -> Duration {
    wait_until(timeout, &format!("{identity} holds the Lease"), || {
        (holder(s.ns()).as_deref() == Some(identity) && is_leader(op)).then(|| since.elapsed())
    })
}

/// The standby's side of "exactly one works": not leader, ready, no vendor
/// call, no reconcile.
#[track_caller]
fn assert_standby(op: &Operator, identity: &str) {
    assert!(
        !is_leader(op),
        "{identity} reports tollfree_leader 1 while standby"
    );
    assert!(
        matches!(op.http_get("/readyz"), Some((200, _))),
        "{identity}: /readyz is not 200 while standby"
    );
    assert_eq!(
        metric(op, "tollfree_vendor_calls_total"),
        0.0,
        "{identity} called the vendor while standby"
    );
    assert_eq!(
        metric(op, "tollfree_reconciles_total"),
        0.0,
        "{identity} reconciled while standby"
    );
}

/// Every number of the ledger bought exactly once, and exactly `numbers`.
#[track_caller]
fn assert_bought_once(s: &World, numbers: &[&str]) {
    let ledger = s.ledger();
    let want: BTreeMap<String, usize> = numbers.iter().map(|n| ((*n).to_owned(), 1)).collect();
    assert_eq!(
        tally(&ledger, LedgerKind::Purchase),
        want,
        "purchases:\n{}",
        ledger_text(&ledger)
    );
}

#[test]
fn one_leader_works_and_a_standby_takes_over_on_sigterm_and_after_sigkill() {
    let s = World {
        sim: TestSim::with_config(sim_config()),
        ns: TestNs::create(),
    };
    s.ns.create_account_secret(ACCOUNT_SECRET);

    // Two replicas: exactly one takes the Lease.
    let mut a = replica(&s, "op-a");
    let mut b = replica(&s, "op-b");
    let first = wait_until(Duration::from_secs(30), "a holder of the Lease", || {
        holder(s.ns()).filter(|h| h == "op-a" || h == "op-b")
    });
    let (leader, standby, leader_id, standby_id) = if first == "op-a" {
        (&mut a, &mut b, "op-a", "op-b")
    } else {
        (&mut b, &mut a, "op-b", "op-a")
    };
    wait_leader(
        &s,
        leader,
        leader_id,
        Instant::now(),
        Duration::from_secs(10),
    );

    // The leader converges a set; the standby stays idle but ready.
    s.apply(&manifest(&[A, B]));
    s.wait_ready("lines");
    assert_bought_once(&s, &[A, B]);
    assert_eq!(holder(s.ns()).as_deref(), Some(leader_id));
    assert_standby(standby, standby_id);
    assert!(metric(leader, "tollfree_reconciles_total") > 0.0);
    // The same metric names are non-zero on the leader, so the standby's zeros mean something.
    assert!(metric(leader, "tollfree_vendor_calls_total") > 0.0);

    // SIGTERM: a clean exit that releases the Lease; the standby takes over.
    let t = Instant::now();
    let status = leader.terminate(Duration::from_secs(30));
    assert!(
        status.success(),
        "{leader_id} exited with {status} on SIGTERM"
    );
    let handover = wait_leader(&s, standby, standby_id, t, HANDOVER);
    eprintln!("SIGTERM handover {leader_id} -> {standby_id}: {handover:?}");

    // The new leader reconciles a change made after the handover.
    s.apply(&manifest(&[A, B, C]));
    let set = s.wait_ready("lines");
    assert_eq!(set.metadata.generation, Some(2));
    assert_bought_once(&s, &[A, B, C]);
    assert_eq!(s.inventory().get(C), Some(&PACKAGE));

    // A third replica joins as standby; then the leader is SIGKILLed.
    let mut c = replica(&s, "op-c");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(holder(s.ns()).as_deref(), Some(standby_id));
    assert_standby(&c, "op-c");
    let new_leader = standby;
    let t = Instant::now();
    new_leader.kill();
    let takeover = wait_leader(&s, &c, "op-c", t, KILL_TAKEOVER_MAX);
    eprintln!("SIGKILL takeover {standby_id} -> op-c: {takeover:?}");
    assert!(
        takeover >= KILL_TAKEOVER_MIN,
        "op-c took the Lease {takeover:?} after {standby_id} was killed, before it could have expired"
    );

    s.apply(&manifest(&[A, B, C, D]));
    let set = s.wait_ready("lines");
    assert_eq!(set.metadata.generation, Some(3));
    assert_bought_once(&s, &[A, B, C, D]);
    assert_eq!(s.inventory().get(D), Some(&PACKAGE));
    assert!(
        s.ledger()
            .iter()
            .all(|e| e.kind == LedgerKind::Reserve || e.kind == LedgerKind::Purchase),
        "only reservations and purchases:\n{}",
        ledger_text(&s.ledger())
    );

    let status = c.terminate(Duration::from_secs(30));
    assert!(status.success(), "op-c exited with {status} on SIGTERM");
}
