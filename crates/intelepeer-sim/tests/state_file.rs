//! The optional state file: a restarted simulator keeps its account, pool,
//! reservations, orders, sessions and ledger.

mod support;

use std::path::{Path, PathBuf};

use intelepeer_sim::{SimConfig, Simulator};
use serde_json::json;
use support::{Api, Orders};

/// A fresh path under the system's temporary directory.
fn temp_state(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "intelepeer-sim-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("state.json")
}

fn config(path: &Path) -> SimConfig {
    SimConfig {
        state_file: Some(path.to_path_buf()),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn state_survives_a_restart() {
    let path = temp_state("restart");
    let first = Api::with(config(&path)).await;
    first.buy(&["+18885551201"], 30744).await;
    first.sim().complete_pending_orders();
    let reservation = first.reserve(&["+18885551202"]).await;
    let token = first.token.clone();
    first.running.shutdown().await;
    assert!(path.exists());

    let mut second = Api::with(config(&path)).await;
    second.token = token;
    let listed = second.get("/_rest/v4/my/tf").await;
    assert_eq!(listed.status, 200, "the old token still works: {listed:?}");
    assert_eq!(Api::numbers(&listed), ["+18885551201"]);
    assert_eq!(second.sim().ledger().len(), 3, "reserve, purchase, reserve");
    second
        .post(
            "/_rest/v4/carrier/tf/reservations",
            json!({"endpoints": ["+18885551202"]}),
        )
        .await
        .assert_error(409, "Number(s) not available.");
    let order = second
        .post(
            "/_rest/v4/my/tf/orders",
            json!({"reservationID": reservation["reservationID"], "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(order.body["orderID"], 800241, "order IDs carry on");
    second.running.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[tokio::test]
async fn the_state_file_is_written_atomically_as_json() {
    let path = temp_state("atomic");
    let sim = Simulator::new(config(&path));
    sim.seed_inventory(&["+18005550100"], 7);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("saved")).expect("JSON");
    assert_eq!(saved["inventory"]["+18005550100"]["packageId"], 7);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "state.json")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file left behind: {leftovers:?}"
    );
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_not_a_fresh_start() {
    let path = temp_state("corrupt");
    std::fs::write(&path, "{ not state").expect("write");
    let error = Simulator::try_new(config(&path)).expect_err("refused");
    assert!(error.to_string().contains("is not valid"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("kept"),
        "{ not state",
        "left untouched"
    );
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

/// Removes what a simulator without accounts never wrote: the layout version
/// and every record's `accountId`.
fn strip_accounts(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("version");
            map.remove("accountId");
            map.values_mut().for_each(strip_accounts);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_accounts),
        _ => {}
    }
}

#[tokio::test]
async fn a_state_file_written_before_accounts_loads_into_the_default_account() {
    let path = temp_state("legacy");
    let first = Api::with(config(&path)).await;
    first.sim().seed_inventory(&["+18005550100"], 7);
    first.buy(&["+18885551201"], 30744).await;
    first.sim().complete_pending_orders();
    let reservation = first.reserve(&["+18885551202"]).await;
    let token = first.token.clone();
    first.running.shutdown().await;
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("saved")).expect("JSON");
    assert_eq!(saved["version"], 1, "today's files carry their layout");
    strip_accounts(&mut saved);
    std::fs::write(&path, saved.to_string()).expect("legacy file");

    // Another default account than the one the file was written under: the
    // file's contents follow the configured default.
    let mut second = Api::with(SimConfig {
        account_id: 555,
        ..config(&path)
    })
    .await;
    second.token = token;
    let listed = second.get("/_rest/v4/my/tf").await;
    assert_eq!(listed.status, 200, "the old token still works: {listed:?}");
    assert_eq!(Api::numbers(&listed), ["+18005550100", "+18885551201"]);
    assert!(
        listed.body["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .all(|e| e["accountID"] == 555)
    );
    assert_eq!(second.sim().inventory().len(), 2);
    assert!(second.sim().ledger().iter().all(|e| e.account_id == 555));
    let order = second
        .post(
            "/_rest/v4/my/tf/orders",
            json!({"reservationID": reservation["reservationID"], "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(
        order.status, 200,
        "the old reservation is the default account's: {order:?}"
    );
    assert_eq!(order.body["accountID"], 555);
    second.running.shutdown().await;
    let upgraded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("saved")).expect("JSON");
    assert_eq!(upgraded["version"], 1, "saved in today's layout");
    assert_eq!(upgraded["inventory"]["+18005550100"]["accountId"], 555);
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[tokio::test]
async fn accounts_survive_a_restart() {
    let path = temp_state("accounts");
    let with_bob = || config(&path).with_user("bob", "bob", 2002);
    let first = Api::with(with_bob()).await;
    let bob = first.session("bob", "bob").await;
    bob.buy(&["+18885551201"], 30744).await;
    first.sim().complete_pending_orders();
    let reservation = bob.reserve(&["+18885551202"]).await;
    first.running.shutdown().await;

    let second = Api::with(with_bob()).await;
    assert!(second.sim().inventory().is_empty());
    assert_eq!(second.sim().inventory_of(2002)[0].number, "+18885551201");
    let order =
        json!({"reservationID": reservation["reservationID"], "packageID": 1, "serviceArea": 4});
    second
        .post("/_rest/v4/my/tf/orders", order.clone())
        .await
        .assert_error(409, "Number(s) not available.");
    let bob = second.session("bob", "bob").await;
    assert_eq!(bob.post("/_rest/v4/my/tf/orders", order).await.status, 200);
    second.running.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}
