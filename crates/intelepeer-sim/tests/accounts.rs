//! Accounts: every login belongs to one account; accounts have their own
//! inventory, reservations, orders, trial seats and ledger entries, and share
//! the vendor's pool of purchasable numbers.

mod support;

use std::time::Duration;

use intelepeer_sim::{LedgerKind, SimConfig, Simulator};
use serde_json::{Value, json};
use support::{Api, Orders, Session};

const INVENTORY: &str = "/_rest/v4/my/tf";
const SEARCH: &str = "/_rest/v4/carrier/tf";
const RESERVE: &str = "/_rest/v4/carrier/tf/reservations";
const ORDER: &str = "/_rest/v4/my/tf/orders";
const PACKAGE: &str = "/_rest/v4/my/tf/package";
const DISCONNECT: &str = "/_rest/v4/my/tf/disconnect";

const DEFAULT: u64 = 1_004_318;
const BOB: u64 = 2002;

/// demo and ops in the default account, bob in account 2002.
fn two_accounts() -> SimConfig {
    let mut config = SimConfig::default();
    config.users.push(("ops".to_owned(), "ops".to_owned()));
    config.with_user("bob", "bob", BOB)
}

/// The simulator (demo's session) and bob's session.
async fn start(config: SimConfig) -> (Api, Session) {
    let api = Api::with(config).await;
    let bob = api.session("bob", "bob").await;
    (api, bob)
}

fn account_ids(answer: &support::Answer) -> Vec<u64> {
    answer.body["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| e["accountID"].as_u64().expect("accountID"))
        .collect()
}

#[tokio::test]
async fn logins_of_one_account_share_its_inventory_and_other_accounts_see_none_of_it() {
    let (api, bob) = start(two_accounts()).await;
    api.sim()
        .seed_inventory(&["+18005550100", "+18005550101"], 30744);
    api.sim().seed_inventory_in(BOB, &["+18005550200"], 30744);
    let ops = api.session("ops", "ops").await;

    let demo_listing = api.get(INVENTORY).await;
    assert_eq!(
        Api::numbers(&demo_listing),
        ["+18005550100", "+18005550101"]
    );
    assert_eq!(account_ids(&demo_listing), [DEFAULT, DEFAULT]);
    assert_eq!(ops.get(INVENTORY).await.body, demo_listing.body);

    for path in [INVENTORY, "/_rest/v3/my/tf"] {
        let bob_listing = bob.get(path).await;
        assert_eq!(Api::numbers(&bob_listing), ["+18005550200"], "{path}");
        assert_eq!(account_ids(&bob_listing), [BOB], "{path}");
        assert_eq!(bob_listing.body["hasMore"], json!(false));
    }
    assert_eq!(api.sim().inventory().len(), 2, "the default account");
    let bobs: Vec<String> = api
        .sim()
        .inventory_of(BOB)
        .into_iter()
        .map(|o| o.number)
        .collect();
    assert_eq!(bobs, ["+18005550200"]);
    assert_eq!(api.sim().owner_of("+18005550200"), Some(BOB));
    assert_eq!(api.sim().owner_of("+18887293863"), None);
    assert!(api.sim().accounts().contains(&BOB));
}

#[tokio::test]
async fn orders_report_the_callers_account_and_land_in_its_inventory() {
    let (api, bob) = start(two_accounts()).await;
    let order = bob.buy(&["+18885551201", "+18885551202"], 31615).await;
    assert_eq!(order["accountID"], BOB);
    let mine = api.buy(&["+18887293863"], 31615).await;
    assert_eq!(mine["accountID"], DEFAULT);
    api.sim().complete_pending_orders();

    let listed = bob.get(INVENTORY).await;
    assert_eq!(Api::numbers(&listed), ["+18885551201", "+18885551202"]);
    assert_eq!(account_ids(&listed), [BOB, BOB]);
    assert_eq!(listed.body["endpoints"][0]["orderID"], order["orderID"]);
    assert_eq!(Api::numbers(&api.get(INVENTORY).await), ["+18887293863"]);

    bob_moves_and_disconnects(&api, &bob).await;

    let ledger = api.sim().ledger();
    assert!(ledger.iter().any(|e| e.account_id == BOB));
    assert!(ledger.iter().any(|e| e.account_id == DEFAULT));
    let bobs = api.sim().ledger_of(BOB);
    assert!(
        bobs.iter().all(|e| e.account_id == BOB),
        "ledger_of filters: {bobs:?}"
    );
    assert_eq!(
        bobs.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            LedgerKind::Reserve,
            LedgerKind::Purchase,
            LedgerKind::ChangePackage,
            LedgerKind::Disconnect
        ]
    );
}

/// bob moves and disconnects his own numbers: the orders report his account
/// (disconnects report none, as in the reference).
async fn bob_moves_and_disconnects(api: &Api, bob: &Session) {
    let moved = bob
        .post(
            PACKAGE,
            json!({"packageID": 7, "endpoints": ["+18885551201"]}),
        )
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_eq!(moved.body["accountID"], BOB);
    let gone = bob
        .post(DISCONNECT, json!({"endpoints": ["+18885551202"]}))
        .await;
    assert_eq!(gone.status, 202, "{gone:?}");
    assert_eq!(gone.body["accountID"], Value::Null);
    api.sim().complete_pending_orders();
    let left = api.sim().inventory_of(BOB);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].package_id, 7);
}

#[tokio::test]
async fn the_pool_is_shared_a_number_reserved_or_bought_by_one_account_is_unavailable_to_all() {
    let config = SimConfig {
        order_delay: Duration::from_secs(3600),
        ..two_accounts()
    };
    let (api, bob) = start(config).await;
    bob.reserve(&["+18887293863"]).await;
    bob.buy(&["+18887293864"], 1).await;
    api.sim().seed_inventory_in(BOB, &["+18885551201"], 1);
    for number in ["+18887293863", "+18887293864", "+18885551201"] {
        api.post(RESERVE, json!({"endpoints": [number]}))
            .await
            .assert_error(409, "Number(s) not available.");
        api.post(
            ORDER,
            json!({"endpoints": [number], "packageID": 1, "serviceArea": 4}),
        )
        .await
        .assert_error(409, "Number(s) not available.");
    }
    let found = Api::numbers(&api.get(&format!("{SEARCH}?like=%2B1888")).await);
    for number in ["+18887293863", "+18887293864", "+18885551201"] {
        assert!(!found.contains(&number.to_owned()), "{number} offered");
    }
}

#[tokio::test]
async fn another_accounts_reservation_cannot_be_purchased() {
    let (api, bob) = start(two_accounts()).await;
    let reservation = bob.reserve(&["+18885551201", "+18885551202"]).await;
    let id = reservation["reservationID"].clone();
    for body in [
        json!({"reservationID": [id.clone()], "packageID": 1, "serviceArea": 4}),
        json!({"reservations": id.clone(), "packageID": 1, "serviceArea": 4}),
        json!({"endpoints": ["+18885551201"], "packageID": 1, "serviceArea": 4}),
    ] {
        api.post(ORDER, body.clone())
            .await
            .assert_error(409, "Number(s) not available.");
    }
    assert!(
        api.sim()
            .ledger()
            .iter()
            .all(|e| e.kind != LedgerKind::Purchase),
        "nothing bought"
    );
    // Still bob's to buy, whole.
    let order = bob
        .post(
            ORDER,
            json!({"reservationID": [id], "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(order.status, 200, "{order:?}");
    api.sim().complete_pending_orders();
    assert_eq!(api.sim().inventory_of(BOB).len(), 2);
    assert!(api.sim().inventory().is_empty());
}

#[tokio::test]
async fn another_accounts_numbers_cannot_be_moved_or_disconnected() {
    let config = SimConfig {
        order_delay: Duration::from_secs(3600),
        ..two_accounts()
    };
    let (api, bob) = start(config).await;
    api.sim().seed_inventory_in(BOB, &["+18005550200"], 1);
    api.sim().seed_inventory(&["+18005550100"], 1);
    // A pending order of bob's is not revealed to demo either.
    let pending = bob.buy(&["+18885551201"], 1).await;
    assert_eq!(pending["status"], "PENDING");
    for numbers in [
        json!(["+18005550200"]),
        json!(["+18005550100", "+18005550200"]),
        json!(["+18885551201"]),
    ] {
        api.post(PACKAGE, json!({"packageID": 2, "endpoints": numbers}))
            .await
            .assert_error(409, "One or more numbers is not assigned to this account.");
        api.post(DISCONNECT, json!({"endpoints": numbers}))
            .await
            .assert_error(409, "One or more numbers is not assigned to this account.");
    }
    bob.post(DISCONNECT, json!({"endpoints": ["+18005550100"]}))
        .await
        .assert_error(409, "One or more numbers is not assigned to this account.");
    assert_eq!(
        api.sim()
            .ledger()
            .iter()
            .filter(|e| matches!(e.kind, LedgerKind::ChangePackage | LedgerKind::Disconnect))
            .count(),
        0
    );
    assert_eq!(api.sim().inventory_of(BOB)[0].package_id, 1);
}

#[tokio::test]
async fn trial_seats_are_counted_per_account() {
    let config = SimConfig {
        trial_seats: Some(2),
        ..two_accounts()
    };
    let (api, bob) = start(config).await;
    api.sim()
        .seed_inventory(&["+18005550100", "+18005550101"], 1);
    api.post(
        ORDER,
        json!({"quantity": 1, "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(402, "Order blocked; trial limit realized. Limit: 2 seats.");
    let bought = bob
        .post(
            ORDER,
            json!({"quantity": 2, "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(bought.status, 200, "bob's seats are his own: {bought:?}");
    bob.post(
        ORDER,
        json!({"quantity": 1, "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(402, "Order blocked; trial limit realized. Limit: 2 seats.");
}

#[tokio::test]
async fn filtered_listings_page_per_account_like_the_whole_listing() {
    let (api, bob) = start(two_accounts()).await;
    let bobs = [
        "+18005550001",
        "+18005550002",
        "+18005550003",
        "+18005550004",
        "+18005550005",
    ];
    api.sim().seed_inventory_in(BOB, &bobs, 30744);
    api.sim().seed_inventory_in(BOB, &["+18885550009"], 30744);
    api.sim()
        .seed_inventory(&["+18005550006", "+18005550007"], 30744);
    for filter in ["like=%2B1800555000", "packageID[]=30744&like=1800"] {
        let page = |n: u32| {
            let path = format!("{INVENTORY}?{filter}&pageSize=2&page={n}");
            let bob = &bob;
            async move { bob.get(&path).await }
        };
        let first = page(1).await;
        assert_eq!(Api::numbers(&first), bobs[0..3], "{filter}");
        assert_eq!(first.body["hasMore"], json!(true));
        let second = page(2).await;
        assert_eq!(Api::numbers(&second), bobs[2..5], "{filter}");
        assert_eq!(second.body["hasMore"], json!(true));
        let third = page(3).await;
        assert_eq!(Api::numbers(&third), bobs[4..5], "{filter}");
        assert_eq!(third.body["hasMore"], json!(false));
    }
}

#[tokio::test]
async fn the_admin_api_filters_by_account_and_seeds_into_one() {
    let config = SimConfig {
        order_delay: Duration::from_secs(3600),
        ..two_accounts()
    };
    let (api, bob) = start(config).await;
    let url = api.running.url();
    let http = &api.http;
    let seeded: Value = http
        .post(format!("{url}/_admin/inventory"))
        .json(&json!({"numbers": ["+18005550200"], "packageID": 5, "accountID": BOB}))
        .send()
        .await
        .expect("seed")
        .json()
        .await
        .expect("json");
    assert_eq!(seeded.as_array().map(Vec::len), Some(1), "{seeded}");
    assert_eq!(api.sim().inventory_of(BOB).len(), 1);
    assert!(api.sim().inventory().is_empty());
    api.buy(&["+18885551201"], 2).await;
    bob.buy(&["+18885551202"], 2).await;

    let get = |path: String| async move {
        let answer = http.get(path).send().await.expect("admin answers");
        assert_eq!(answer.status(), 200);
        answer.json::<Value>().await.expect("json")
    };
    let all = get(format!("{url}/_admin/state")).await;
    assert_eq!(all["accountID"], DEFAULT);
    assert_eq!(all["inventory"].as_array().map(Vec::len), Some(1));
    assert_eq!(all["inventory"][0]["accountId"], BOB);
    assert_eq!(all["orders"].as_array().map(Vec::len), Some(2));
    let accounts: Vec<u64> = all["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["accountID"].as_u64())
        .collect();
    assert_eq!(accounts, [BOB, DEFAULT]);

    let bobs = get(format!("{url}/_admin/state?account={BOB}")).await;
    assert_eq!(bobs["accountID"], BOB);
    assert_eq!(bobs["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(bobs["orders"][0]["order"]["accountID"], BOB);
    assert_eq!(bobs["reservations"].as_array().map(Vec::len), Some(1));
    assert_eq!(bobs["ledger"].as_array().map(Vec::len), Some(2));
    assert_eq!(bobs["accounts"][0]["owned"], 1);
    assert_eq!(bobs["accounts"][0]["seatsUsed"], 2);

    let ledger = get(format!("{url}/_admin/ledger?account={BOB}")).await;
    let entries = ledger.as_array().expect("ledger");
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["accountId"] == BOB));
    let everything = get(format!("{url}/_admin/ledger")).await;
    assert_eq!(everything.as_array().map(Vec::len), Some(4));

    let inventory = get(format!("{url}/_admin/inventory?account={BOB}")).await;
    assert_eq!(inventory[0]["number"], "+18005550200");
    let default = get(format!("{url}/_admin/inventory")).await;
    assert_eq!(default, json!([]));
    let bad = http
        .get(format!("{url}/_admin/state?account=bob"))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn seeding_a_number_into_another_account_moves_it() {
    let sim = Simulator::new(two_accounts());
    sim.seed_inventory(&["+18005550100"], 1);
    sim.seed_inventory_in(BOB, &["+18005550100"], 2);
    assert!(sim.inventory().is_empty());
    assert_eq!(sim.inventory_of(BOB)[0].package_id, 2);
    assert_eq!(sim.owner_of("+18005550100"), Some(BOB));
}

#[tokio::test]
async fn an_unknown_login_is_still_unauthorized_and_a_known_one_keeps_its_account_across_tokens() {
    let (api, bob) = start(two_accounts()).await;
    let answer = api
        .post(
            "/_rest/v4/authenticate",
            json!({"username": "bob", "password": "demo"}),
        )
        .await;
    answer.assert_error(401, "Unauthorized");
    api.sim().seed_inventory_in(BOB, &["+18005550200"], 1);
    let again = api.session("bob", "bob").await;
    assert_eq!(
        again.get(INVENTORY).await.body,
        bob.get(INVENTORY).await.body
    );
}
