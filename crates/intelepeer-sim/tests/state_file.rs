//! The optional state file: a restarted simulator keeps its account, pool,
//! reservations, orders, sessions and ledger.

mod support;

use std::path::{Path, PathBuf};

use intelepeer_sim::{SimConfig, Simulator};
use serde_json::json;
use support::Api;

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
