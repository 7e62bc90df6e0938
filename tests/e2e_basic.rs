//! End to end, the basic flow on a real control plane: a Secret and a set
//! with two declared numbers and an `acquire` request become Ready; the
//! numbers sit in the simulated account under the right packages; status
//! records the vendor's order IDs; exactly the expected purchases happened;
//! and applying the same manifest again buys nothing.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use intelepeer_sim::{LedgerKind, SimConfig};
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use support::scenario::is_ready;
use support::{ControlPlane, Operator, TestNs, TestSim, metric_sum};
use tollfree_operator::crd::{OrderStatus, OrderType, TollFreeNumberSet};

/// Seconds between full resyncs of the operator under test.
const RESYNC: Duration = Duration::from_secs(3);

const DECLARED: [&str; 2] = ["+18007293863", "+18003255821"];

const SET: &str = r#"
apiVersion: tollfree.dev/v1alpha1
kind: TollFreeNumberSet
metadata: {name: support-lines}
spec:
  accountRef: {name: intelepeer-account}
  packages:
    - packageID: 30744
      numbers: ["+18007293863", "+18003255821"]
    - packageID: 24188
      acquire: {count: 2, npa: [888]}
"#;

fn summary(set: Option<&TollFreeNumberSet>) -> String {
    serde_json::to_string_pretty(&set.and_then(|s| s.status.as_ref())).unwrap_or_default()
}

/// Waits until the set is Ready for its current generation; on timeout,
/// panics with its last status.
async fn ready_within(
    sets: &Api<TollFreeNumberSet>,
    name: &str,
    timeout: Duration,
) -> TollFreeNumberSet {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        if let Ok(set) = sets.get(name).await {
            if is_ready(&set) {
                return set;
            }
            last = Some(set);
        }
        assert!(
            Instant::now() < deadline,
            "{name} not Ready after {timeout:?}; last status: {}",
            summary(last.as_ref())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_converges_and_a_second_apply_buys_nothing() {
    let sim = TestSim::with_config(SimConfig {
        order_delay: Duration::from_millis(200),
        ..SimConfig::default()
    });
    let ns = TestNs::create();
    ns.create_account_secret("intelepeer-account");
    let mut operator = Operator::builder(sim.url())
        .namespace(ns.name())
        .arg("--resync-interval")
        .arg(&format!("{}s", RESYNC.as_secs()))
        .start();
    operator.wait_ready(Duration::from_secs(60)).await;

    let client = ControlPlane::shared().kube_client().await;
    let sets: Api<TollFreeNumberSet> = Api::namespaced(client.clone(), ns.name());
    let started = Instant::now();
    ns.apply(SET);

    let set = ready_within(&sets, "support-lines", Duration::from_secs(60)).await;
    eprintln!("support-lines Ready after {:?}", started.elapsed());
    let status = set.status.clone().expect("status");

    // The account holds the declared numbers in 30744 and two 888 numbers in 24188.
    let inventory = sim.sim().inventory();
    let in_package = |p: u64| -> BTreeSet<String> {
        inventory
            .iter()
            .filter(|o| o.package_id == p)
            .map(|o| o.number.clone())
            .collect()
    };
    assert_eq!(
        in_package(30744),
        DECLARED.iter().map(|s| (*s).to_owned()).collect(),
        "{inventory:?}"
    );
    let acquired = in_package(24188);
    assert_eq!(acquired.len(), 2, "{inventory:?}");
    assert!(
        acquired.iter().all(|n| n.starts_with("+1888")),
        "{acquired:?}"
    );
    assert_eq!(inventory.len(), 4, "nothing else was bought: {inventory:?}");

    // Exactly the expected purchases: four numbers, each bought once, nothing
    // moved or disconnected.
    let ledger = sim.sim().ledger();
    let purchases: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == LedgerKind::Purchase)
        .collect();
    let reserves = ledger
        .iter()
        .filter(|e| e.kind == LedgerKind::Reserve)
        .count();
    assert_eq!(
        (reserves, purchases.len()),
        (2, 2),
        "one reservation and one order per package: {ledger:#?}"
    );
    let bought: Vec<&String> = purchases.iter().flat_map(|e| &e.numbers).collect();
    let unique: BTreeSet<&String> = bought.iter().copied().collect();
    assert_eq!(bought.len(), 4, "{ledger:#?}");
    assert_eq!(unique.len(), 4, "a number bought twice: {ledger:#?}");
    assert!(
        ledger
            .iter()
            .all(|e| matches!(e.kind, LedgerKind::Reserve | LedgerKind::Purchase)),
        "{ledger:#?}"
    );
    for e in &purchases {
        assert!(
            e.reference_id
                .as_deref()
                .is_some_and(|r| r.starts_with("tfns-")),
            "{e:?}"
        );
    }

    // The accepted orders are counted: four numbers purchased, none moved
    // or disconnected.
    let metrics = operator.metrics().expect("/metrics");
    let counted = |name: &str| metric_sum(&metrics, name);
    assert_eq!(
        (
            counted("tollfree_purchases_total"),
            counted("tollfree_moves_total"),
            counted("tollfree_disconnects_total"),
        ),
        (4.0, 0.0, 0.0),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("tollfree_purchases")
                || l.starts_with("tollfree_moves")
                || l.starts_with("tollfree_disconnects"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Status: every number Active, every purchase order recorded, completed.
    assert_eq!((status.desired, status.active, status.pending), (4, 4, 0));
    assert!(status.intents.is_empty(), "{:?}", status.intents);
    let ledger_orders: BTreeSet<u64> = purchases.iter().filter_map(|e| e.order_id).collect();
    let status_orders: BTreeSet<u64> = status
        .orders
        .iter()
        .filter(|o| o.type_ == OrderType::Purchase)
        // An order recorded without its ID (0) matches no ledger order.
        .map(|o| o.order_id.unwrap_or_default())
        .collect();
    assert_eq!(status_orders, ledger_orders, "{:#?}", status.orders);
    assert!(
        status
            .orders
            .iter()
            .all(|o| o.status == OrderStatus::Completed),
        "{:#?}",
        status.orders
    );
    for n in DECLARED {
        let entry = status
            .numbers
            .iter()
            .find(|e| e.number == n)
            .unwrap_or_else(|| panic!("{n} in status: {:#?}", status.numbers));
        assert_eq!(entry.package_id, Some(30744));
        assert!(entry.owned, "{entry:?}");
    }

    // Every purchase was announced with its order ID.
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let purchased: Vec<String> = events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Purchased"))
        .filter_map(|e| e.note)
        .collect();
    for order in &ledger_orders {
        assert!(
            purchased
                .iter()
                .any(|note| note.contains(&format!("order {order}"))),
            "no Purchased event for order {order}: {purchased:?}"
        );
    }

    // The same manifest again: nothing to do, over more than two resyncs.
    let before = sim.sim().ledger().len();
    ns.apply(SET);
    tokio::time::sleep(RESYNC * 2 + Duration::from_secs(1)).await;
    assert_eq!(
        sim.sim().ledger().len(),
        before,
        "{:#?}",
        sim.sim().ledger()
    );
    let again = sets.get("support-lines").await.expect("set");
    assert!(is_ready(&again), "{}", summary(Some(&again)));
    assert_eq!(
        again.status.as_ref().map(|s| &s.orders),
        Some(&status.orders)
    );

    // Deleting the set (policy.disconnect defaults to Deny) releases it at
    // once and retains its numbers.
    ControlPlane::shared().kubectl_ok(&[
        "delete",
        "tfns",
        "support-lines",
        "-n",
        ns.name(),
        "--wait=false",
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sets.get_opt("support-lines").await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "the finalizer was not removed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sim.sim().inventory().len(), 4, "numbers retained");
    assert!(
        sim.sim()
            .ledger()
            .iter()
            .all(|e| e.kind != LedgerKind::Disconnect)
    );
    operator.terminate(Duration::from_secs(10));
}

/// A set whose Secret is missing is Stalled with a message that says what to
/// do; creating the Secret is enough (the operator watches Secrets).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_stalls_the_set_until_it_is_created() {
    let sim = TestSim::with_config(SimConfig {
        order_delay: Duration::from_millis(200),
        ..SimConfig::default()
    });
    let ns = TestNs::create();
    let mut operator = Operator::builder(sim.url())
        .namespace(ns.name())
        .arg("--resync-interval")
        .arg(&format!("{}s", RESYNC.as_secs()))
        .start();
    operator.wait_ready(Duration::from_secs(60)).await;
    let client = ControlPlane::shared().kube_client().await;
    let sets: Api<TollFreeNumberSet> = Api::namespaced(client, ns.name());
    ns.apply(SET);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let set = sets.get("support-lines").await.expect("set");
        let stalled = set.status.as_ref().and_then(|s| s.condition("Stalled"));
        if let Some(c) = stalled.filter(|c| c.status == "True") {
            assert_eq!(c.reason, "CredentialsInvalid");
            assert!(
                c.message.contains("intelepeer-account not found")
                    && c.message.contains("'username' and 'password'"),
                "{}",
                c.message
            );
            break;
        }
        assert!(Instant::now() < deadline, "{}", summary(Some(&set)));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sim.sim().ledger().is_empty());

    let started = Instant::now();
    ns.create_account_secret("intelepeer-account");
    ready_within(&sets, "support-lines", Duration::from_secs(30)).await;
    eprintln!("Ready {:?} after the Secret was created", started.elapsed());
    operator.terminate(Duration::from_secs(10));
}
