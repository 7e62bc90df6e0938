//! Contract tests: every endpoint, parameter rule, documented error and example
//! request of the vendor's reference (`reference/intelepeer-tf-api.txt`), plus
//! docs/architecture.md, vendor facts, checked through plain HTTP with hand-written query strings.

mod support;

use std::time::Duration;

use intelepeer_sim::{LedgerKind, OwnedNumber, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Api, Orders};

const SEARCH: &str = "/_rest/v4/carrier/tf";
const INVENTORY: &str = "/_rest/v4/my/tf";
const RESERVE: &str = "/_rest/v4/carrier/tf/reservations";
const ORDER: &str = "/_rest/v4/my/tf/orders";
const PACKAGE: &str = "/_rest/v4/my/tf/package";
const DISCONNECT: &str = "/_rest/v4/my/tf/disconnect";

/// Every vendor endpoint that needs a token, with a request it accepts.
fn guarded_endpoints() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/_rest/v4/carrier/tf?npa=888", None),
        (Method::GET, "/_rest/v4/my/tf", None),
        (Method::GET, "/_rest/v3/my/tf", None),
        (
            Method::POST,
            RESERVE,
            Some(json!({"endpoints": ["+18887293863"]})),
        ),
        (
            Method::POST,
            ORDER,
            Some(json!({"quantity": 1, "packageID": 1234567, "serviceArea": 4})),
        ),
        (
            Method::POST,
            PACKAGE,
            Some(json!({"packageID": 1, "endpoints": ["+18005550100"]})),
        ),
        (
            Method::POST,
            DISCONNECT,
            Some(json!({"endpoints": ["+18005550100"]})),
        ),
    ]
}

fn is_iso8601_seconds(text: &str) -> bool {
    text.len() == 20 && text.ends_with('Z') && text.parse::<jiff::Timestamp>().is_ok()
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn authenticate_returns_a_token_for_valid_credentials() {
    let api = Api::start().await;
    assert!(api.token.len() >= 32, "token {:?}", api.token);
    assert_eq!(api.get(INVENTORY).await.status, 200);
}

#[tokio::test]
async fn authenticate_rejects_wrong_credentials_with_401() {
    let api = Api::start().await;
    let answer = api
        .post(
            "/_rest/v4/authenticate",
            json!({"username": "demo", "password": "wrong"}),
        )
        .await;
    answer.assert_error(401, "Unauthorized");
}

#[tokio::test]
async fn authenticate_accepts_every_configured_user() {
    let config = SimConfig {
        users: vec![
            ("demo".into(), "demo".into()),
            ("ops".into(), "s3cret".into()),
        ],
        ..SimConfig::default()
    };
    let api = Api::with(config).await;
    let answer = api
        .post(
            "/_rest/v4/authenticate",
            json!({"username": "ops", "password": "s3cret"}),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body["token"].is_string());
}

#[tokio::test]
async fn every_endpoint_requires_a_token() {
    let mut api = Api::start().await;
    api.token.clear();
    for (method, path, body) in guarded_endpoints() {
        let answer = api.call(method.clone(), path, body, &[]).await;
        assert_eq!(answer.status, 401, "{method} {path}");
        answer.assert_error(401, "Unauthorized");
    }
}

#[tokio::test]
async fn an_unknown_or_bearer_prefixed_token_is_unauthorized() {
    let mut api = Api::start().await;
    let real = api.token.clone();
    api.token = "not-a-token".into();
    api.get(INVENTORY).await.assert_error(401, "Unauthorized");
    api.token = format!("Bearer {real}");
    api.get(INVENTORY).await.assert_error(401, "Unauthorized");
}

#[tokio::test]
async fn a_token_older_than_24_hours_is_session_expired() {
    let api = Api::start().await;
    api.sim()
        .advance_clock(Duration::from_secs(24 * 60 * 60 - 60));
    assert_eq!(api.get(INVENTORY).await.status, 200);
    api.sim().advance_clock(Duration::from_secs(60));
    for (method, path, body) in guarded_endpoints() {
        let answer = api.call(method.clone(), path, body, &[]).await;
        answer.assert_error(401, "Session Expired");
    }
}

#[tokio::test]
async fn token_lifetime_is_configurable() {
    let api = Api::with(SimConfig {
        token_ttl: Duration::from_secs(60),
        ..SimConfig::default()
    })
    .await;
    api.sim().advance_clock(Duration::from_secs(61));
    api.get(INVENTORY)
        .await
        .assert_error(401, "Session Expired");
}

#[tokio::test]
async fn expire_sessions_expires_current_tokens_and_a_new_login_works() {
    let mut api = Api::start().await;
    api.sim().expire_sessions();
    api.get(INVENTORY)
        .await
        .assert_error(401, "Session Expired");
    let fresh = api
        .post(
            "/_rest/v4/authenticate",
            json!({"username": "demo", "password": "demo"}),
        )
        .await;
    api.token = fresh.body["token"].as_str().expect("token").to_owned();
    assert_eq!(api.get(INVENTORY).await.status, 200);
}

// ---------------------------------------------------------------- content negotiation

#[tokio::test]
async fn an_accept_header_without_json_is_not_acceptable() {
    let api = Api::start().await;
    let mut endpoints = guarded_endpoints();
    endpoints.push((
        Method::POST,
        "/_rest/v4/authenticate",
        Some(json!({"username": "demo", "password": "demo"})),
    ));
    for (method, path, body) in endpoints {
        for accept in ["text/html", "application/xml", "application/json;q=0"] {
            let answer = api
                .call(method.clone(), path, body.clone(), &[("Accept", accept)])
                .await;
            assert_eq!(answer.status, 406, "{method} {path} Accept: {accept}");
            answer.assert_error(406, "Not Acceptable");
        }
    }
}

#[tokio::test]
async fn json_wildcards_and_a_missing_accept_are_acceptable() {
    let api = Api::start().await;
    assert_eq!(api.get(INVENTORY).await.status, 200);
    for accept in [
        "application/json",
        "application/json; charset=utf-8",
        "*/*",
        "application/*",
        "text/html, application/json;q=0.9",
    ] {
        let answer = api
            .call(Method::GET, INVENTORY, None, &[("Accept", accept)])
            .await;
        assert_eq!(answer.status, 200, "Accept: {accept}");
        assert_eq!(answer.headers["content-type"], "application/json");
    }
}

// ---------------------------------------------------------------- search the pool

#[tokio::test]
async fn search_example_by_npa_returns_888_numbers_with_geo() {
    let api = Api::start().await;
    let answer = api.get("/_rest/v4/carrier/tf?npa=888").await;
    assert_eq!(answer.status, 200);
    let endpoints = answer.body["endpoints"].as_array().expect("endpoints");
    assert!(!endpoints.is_empty());
    for endpoint in endpoints {
        assert!(
            endpoint["endpoint"]
                .as_str()
                .expect("endpoint")
                .starts_with("+1888")
        );
        assert_eq!(
            endpoint["geo"],
            json!({"city": null, "country": "US", "stateProvince": null})
        );
    }
    assert_eq!(answer.body["hasMore"], json!(true));
}

#[tokio::test]
async fn search_example_sequential_returns_20_contiguous_numbers_and_no_more() {
    let api = Api::start().await;
    let answer = api
        .get("/_rest/v4/carrier/tf?npa=888&sequential=1&pageSize=20")
        .await;
    assert_eq!(answer.status, 200);
    let values: Vec<u64> = Api::numbers(&answer)
        .iter()
        .map(|n| n[1..].parse().expect("digits"))
        .collect();
    assert_eq!(values.len(), 20);
    assert!(values.windows(2).all(|w| w[1] == w[0] + 1), "{values:?}");
    assert!(values.iter().all(|v| v / 10_000_000 == 1888));
    assert_eq!(answer.body["hasMore"], json!(false));
}

#[tokio::test]
async fn search_example_like_with_encoded_plus_matches_the_prefix() {
    let api = Api::start().await;
    let answer = api.get("/_rest/v4/carrier/tf?like=%2B1800").await;
    assert_eq!(answer.status, 200);
    let numbers = Api::numbers(&answer);
    assert!(!numbers.is_empty());
    assert!(
        numbers.iter().all(|n| n.starts_with("+1800")),
        "{numbers:?}"
    );
}

#[tokio::test]
async fn search_like_with_an_unencoded_plus_matches_nothing() {
    // A raw '+' in a query string is a space: the reason the reference insists on %2B.
    let api = Api::start().await;
    let answer = api.get("/_rest/v4/carrier/tf?like=+1800").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({"endpoints": [], "hasMore": false}));
}

#[tokio::test]
async fn search_npa_accepts_the_array_form() {
    let api = Api::start().await;
    let answer = api
        .get("/_rest/v4/carrier/tf?npa[]=877&npa[]=833&pageSize=100")
        .await;
    assert_eq!(answer.status, 200);
    let numbers = Api::numbers(&answer);
    assert!(
        numbers
            .iter()
            .all(|n| n.starts_with("+1877") || n.starts_with("+1833"))
    );
    let encoded = api.get("/_rest/v4/carrier/tf?npa%5B%5D=877").await;
    assert!(
        Api::numbers(&encoded)
            .iter()
            .all(|n| n.starts_with("+1877"))
    );
}

#[tokio::test]
async fn search_requires_like_or_npa() {
    let api = Api::start().await;
    for query in ["", "?page=1", "?like=", "?npa="] {
        api.get(&format!("{SEARCH}{query}")).await.assert_error(
            422,
            "At least one of the following parameters is required: 'like', 'npa'",
        );
    }
}

#[tokio::test]
async fn search_like_and_npa_are_mutually_exclusive() {
    let api = Api::start().await;
    api.get("/_rest/v4/carrier/tf?like=%2B1888&npa=888")
        .await
        .assert_error(
            409,
            "The following parameters are mutually exclusive: 'like', 'npa'",
        );
}

#[tokio::test]
async fn search_scalar_parameters_must_be_scalar() {
    let api = Api::start().await;
    for (query, name) in [
        ("like=%2B1800&like=%2B1888", "like"),
        ("like[]=%2B1800", "like"),
        ("npa=888&page[]=1", "page"),
        ("npa=888&pageSize=5&pageSize=6", "pageSize"),
        ("npa=888&sequential[]=1", "sequential"),
    ] {
        api.get(&format!("{SEARCH}?{query}"))
            .await
            .assert_error(422, &format!("The '{name}' parameter must be scalar."));
    }
}

#[tokio::test]
async fn search_parameters_must_have_their_types() {
    let api = Api::start().await;
    for (query, name, kind) in [
        ("npa=8x8", "npa", "numeric"),
        ("npa[]=888&npa[]=abc", "npa", "numeric"),
        ("npa=888&page=two", "page", "integer"),
        ("npa=888&page=0", "page", "integer"),
        ("npa=888&pageSize=1.5", "pageSize", "integer"),
        ("npa=888&sequential=yes", "sequential", "boolean"),
    ] {
        api.get(&format!("{SEARCH}?{query}")).await.assert_error(
            422,
            &format!("The '{name}' parameter must be formatted as a(n) {kind}."),
        );
    }
}

#[tokio::test]
async fn search_sequential_accepts_every_boolean_spelling() {
    let api = Api::start().await;
    for value in ["1", "true", "TRUE"] {
        let answer = api
            .get(&format!("{SEARCH}?npa=800&sequential={value}&pageSize=3"))
            .await;
        assert_eq!(answer.body["hasMore"], json!(false));
        assert_eq!(Api::numbers(&answer).len(), 3);
    }
    for value in ["0", "false"] {
        let answer = api
            .get(&format!("{SEARCH}?npa=800&sequential={value}&pageSize=3"))
            .await;
        assert_eq!(answer.body["hasMore"], json!(true));
    }
}

#[tokio::test]
async fn search_pages_follow_each_other_without_overlap() {
    let api = Api::start().await;
    let first = Api::numbers(
        &api.get("/_rest/v4/carrier/tf?npa=844&pageSize=7&page=1")
            .await,
    );
    let second = Api::numbers(
        &api.get("/_rest/v4/carrier/tf?npa=844&pageSize=7&page=2")
            .await,
    );
    let both = Api::numbers(&api.get("/_rest/v4/carrier/tf?npa=844&pageSize=14").await);
    assert_eq!(first.len(), 7);
    assert_eq!([first, second].concat(), both);
    let last = api
        .get("/_rest/v4/carrier/tf?npa=844&pageSize=100&page=2")
        .await;
    assert_eq!(Api::numbers(&last).len(), 100);
    assert_eq!(
        last.body["hasMore"],
        json!(false),
        "200 numbers in 844: page 2 of 100 is the last"
    );
}

#[tokio::test]
async fn search_sequential_ignores_page() {
    let api = Api::start().await;
    let first = api
        .get("/_rest/v4/carrier/tf?npa=866&sequential=1&pageSize=5")
        .await;
    let fifth = api
        .get("/_rest/v4/carrier/tf?npa=866&sequential=1&pageSize=5&page=5")
        .await;
    assert_eq!(first.body, fifth.body);
}

#[tokio::test]
async fn search_leaves_out_reserved_and_owned_numbers() {
    let api = Api::start().await;
    api.reserve(&["+18887293863"]).await;
    api.sim().seed_inventory(&["+18887293864"], 30744);
    let numbers = Api::numbers(&api.get("/_rest/v4/carrier/tf?like=%2B1888729386").await);
    assert!(!numbers.contains(&"+18887293863".to_owned()));
    assert!(!numbers.contains(&"+18887293864".to_owned()));
}

// ---------------------------------------------------------------- list the inventory

fn seed_reference_inventory(api: &Api) {
    api.sim().seed_owned(&[
        OwnedNumber {
            number: "+18007293863".into(),
            package_id: 30744,
            order_id: None,
            label: Some("Head office".into()),
            has_cpaas: false,
            pending_disconnect: false,
        },
        OwnedNumber {
            number: "+18003255821".into(),
            package_id: 30744,
            order_id: None,
            label: Some("Automated Messaging".into()),
            has_cpaas: true,
            pending_disconnect: false,
        },
    ]);
}

#[tokio::test]
async fn inventory_records_have_every_field_of_the_reference_example() {
    let api = Api::start().await;
    seed_reference_inventory(&api);
    let answer = api.get(INVENTORY).await;
    assert_eq!(answer.status, 200);
    let sip = |config: Value| json!({"provider": "IntelePeer", "service": "SIP", "ns": "intelepeer.sip", "config": config});
    assert_eq!(
        answer.body,
        json!({
            "endpoints": [
                {
                    "accountID": 1004318, "endpoint": "+18003255821", "hasCpaas": true,
                    "label": "Automated Messaging", "orderID": null, "packageID": 30744, "type": "LONG",
                    "geo": {"country": "US", "stateProvince": null},
                    "media": {"sms": {"rx": sip(json!({"webhook": "cpaas://api.intelepeer.com"})), "tx": [sip(json!({}))]}, "voice": null}
                },
                {
                    "accountID": 1004318, "endpoint": "+18007293863", "hasCpaas": false,
                    "label": "Head office", "orderID": null, "packageID": 30744, "type": "LONG",
                    "geo": {"country": "US", "stateProvince": null},
                    "media": {"sms": null, "voice": {"rx": sip(json!({})), "tx": [sip(json!({}))]}}
                }
            ],
            "hasMore": false
        })
    );
}

#[tokio::test]
async fn inventory_is_served_on_v3_and_v4() {
    let api = Api::start().await;
    seed_reference_inventory(&api);
    let v4 = api.get("/_rest/v4/my/tf").await;
    let v3 = api.get("/_rest/v3/my/tf").await;
    assert_eq!(v3.status, 200);
    assert_eq!(v3.body, v4.body);
}

#[tokio::test]
async fn inventory_example_has_cpaas_lists_smartflows_numbers() {
    let api = Api::start().await;
    seed_reference_inventory(&api);
    let answer = api.get("/_rest/v4/my/tf?hasCpaas=1").await;
    assert_eq!(Api::numbers(&answer), vec!["+18003255821"]);
    let answer = api.get("/_rest/v4/my/tf?hasCpaas=false").await;
    assert_eq!(Api::numbers(&answer), vec!["+18007293863"]);
}

#[tokio::test]
async fn inventory_example_multiple_packages_lists_both() {
    let api = Api::start().await;
    api.sim().seed_inventory(&["+18005550101"], 78314);
    api.sim().seed_inventory(&["+18005550102"], 24188);
    api.sim().seed_inventory(&["+18005550103"], 30744);
    let answer = api
        .get("/_rest/v4/my/tf?packageID[]=78314&packageID[]=24188")
        .await;
    assert_eq!(Api::numbers(&answer), vec!["+18005550101", "+18005550102"]);
    let single = api.get("/_rest/v4/my/tf?packageID=30744").await;
    assert_eq!(Api::numbers(&single), vec!["+18005550103"]);
}

#[tokio::test]
async fn inventory_filters_by_label_and_like() {
    let api = Api::start().await;
    seed_reference_inventory(&api);
    api.sim().seed_inventory(&["+18885550100"], 30744);
    let by_label = api.get("/_rest/v4/my/tf?label=Head%20office").await;
    assert_eq!(Api::numbers(&by_label), vec!["+18007293863"]);
    let by_labels = api
        .get("/_rest/v4/my/tf?label[]=Head+office&label[]=Automated+Messaging")
        .await;
    assert_eq!(Api::numbers(&by_labels).len(), 2);
    let by_like = api.get("/_rest/v4/my/tf?like=%2B1800").await;
    assert_eq!(Api::numbers(&by_like), vec!["+18003255821", "+18007293863"]);
    let digits = api.get("/_rest/v4/my/tf?like=1888").await;
    assert_eq!(Api::numbers(&digits), vec!["+18885550100"]);
}

#[tokio::test]
async fn inventory_page_holds_page_size_plus_one_records_when_more_follow() {
    let api = Api::start().await;
    let owned = [
        "+18005550001",
        "+18005550002",
        "+18005550003",
        "+18005550004",
        "+18005550005",
    ];
    api.sim().seed_inventory(&owned, 30744);
    let page = |n: u32| {
        let path = format!("{INVENTORY}?pageSize=2&page={n}");
        let api = &api;
        async move { api.get(&path).await }
    };
    let first = page(1).await;
    assert_eq!(Api::numbers(&first), owned[0..3]);
    assert_eq!(first.body["hasMore"], json!(true));
    let second = page(2).await;
    assert_eq!(Api::numbers(&second), owned[2..5]);
    assert_eq!(second.body["hasMore"], json!(true));
    let third = page(3).await;
    assert_eq!(Api::numbers(&third), owned[4..5]);
    assert_eq!(third.body["hasMore"], json!(false));
    let exact = api.get(&format!("{INVENTORY}?pageSize=5")).await;
    assert_eq!(Api::numbers(&exact).len(), 5);
    assert_eq!(exact.body["hasMore"], json!(false));
}

/// Walks a listing `query` page by page (`pageSize=size`), asserting the
/// `pageSize + 1` rule on every page; returns each page's numbers and `hasMore`.
async fn walk(api: &Api, query: &str, size: usize) -> Vec<(Vec<String>, bool)> {
    let mut pages = Vec::new();
    for page in 1.. {
        let answer = api
            .get(&format!("{INVENTORY}?{query}&pageSize={size}&page={page}"))
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let numbers = Api::numbers(&answer);
        let has_more = answer.body["hasMore"] == json!(true);
        assert_eq!(
            numbers.len() == size + 1,
            has_more,
            "page {page} of {query}: {numbers:?}"
        );
        pages.push((numbers, has_more));
        if !has_more {
            return pages;
        }
        assert!(page < 100, "the walk of {query} never ends");
    }
    pages
}

/// What [`walk`] must find for `expected` (in order) at `size` per page.
fn pages_of(expected: &[String], size: usize) -> Vec<(Vec<String>, bool)> {
    let mut pages = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + size + 1).min(expected.len());
        let has_more = expected.len() > start + size;
        pages.push((expected[start.min(end)..end].to_vec(), has_more));
        if !has_more {
            return pages;
        }
        start += size;
    }
}

#[tokio::test]
async fn inventory_filtered_by_like_pages_exactly_like_the_whole_listing() {
    let api = Api::start().await;
    let matching: Vec<String> = (0..7).map(|i| format!("+1800555{i:04}")).collect();
    let others: Vec<String> = (0..7).map(|i| format!("+1888555{i:04}")).collect();
    for number in matching.iter().chain(&others) {
        api.sim().seed_inventory(&[number.as_str()], 30744);
    }
    for size in [1, 2, 3, 7] {
        for like in ["like=%2B1800555", "like=1800"] {
            assert_eq!(
                walk(&api, like, size).await,
                pages_of(&matching, size),
                "{like} at {size} per page"
            );
        }
    }
    // Past the end: an empty page that has no more.
    let beyond = api
        .get(&format!("{INVENTORY}?like=%2B1800555&pageSize=2&page=9"))
        .await;
    assert!(Api::numbers(&beyond).is_empty());
    assert_eq!(beyond.body["hasMore"], json!(false));
}

#[tokio::test]
async fn inventory_filtered_by_repeated_package_ids_pages_exactly_like_the_whole_listing() {
    let api = Api::start().await;
    let mut matching = Vec::new();
    for i in 0..12u64 {
        let number = format!("+1800555{i:04}");
        let package = [1, 2, 3][usize::try_from(i % 3).expect("small")];
        api.sim().seed_inventory(&[number.as_str()], package);
        if package != 2 {
            matching.push(number);
        }
    }
    for size in [1, 2, 3, 8] {
        assert_eq!(
            walk(&api, "packageID[]=1&packageID[]=3", size).await,
            pages_of(&matching, size),
            "{size} per page"
        );
        assert_eq!(
            walk(&api, "packageID[]=3&packageID[]=1&like=%2B1800", size).await,
            pages_of(&matching, size),
            "with like, {size} per page"
        );
    }
}

#[tokio::test]
async fn inventory_page_size_defaults_to_and_stops_at_100() {
    let api = Api::start().await;
    let owned: Vec<String> = (0..150).map(|i| format!("+1800555{i:04}")).collect();
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    api.sim().seed_inventory(&refs, 30744);
    for query in ["", "?pageSize=500"] {
        let answer = api.get(&format!("{INVENTORY}{query}")).await;
        assert_eq!(Api::numbers(&answer).len(), 101, "{query}");
        assert_eq!(answer.body["hasMore"], json!(true));
    }
    let rest = api.get(&format!("{INVENTORY}?page=2")).await;
    assert_eq!(Api::numbers(&rest).len(), 50);
    assert_eq!(rest.body["hasMore"], json!(false));
}

#[tokio::test]
async fn inventory_parameters_are_validated() {
    let api = Api::start().await;
    for (query, text) in [
        ("page=1&page=2", "The 'page' parameter must be scalar."),
        ("like[]=%2B1800", "The 'like' parameter must be scalar."),
        ("hasCpaas[]=1", "The 'hasCpaas' parameter must be scalar."),
        (
            "pageSize=ten",
            "The 'pageSize' parameter must be formatted as a(n) integer.",
        ),
        (
            "page=-1",
            "The 'page' parameter must be formatted as a(n) integer.",
        ),
        (
            "packageID=abc",
            "The 'packageID' parameter must be formatted as a(n) integer.",
        ),
        (
            "packageID[]=1&packageID[]=x",
            "The 'packageID' parameter must be formatted as a(n) integer.",
        ),
        (
            "hasCpaas=maybe",
            "The 'hasCpaas' parameter must be formatted as a(n) boolean.",
        ),
        (
            "label=",
            "The 'label' parameter must be formatted as a non-empty string.",
        ),
        (
            "like=",
            "The 'like' parameter must be formatted as a non-empty string.",
        ),
    ] {
        api.get(&format!("{INVENTORY}?{query}"))
            .await
            .assert_error(422, text);
    }
}

// ---------------------------------------------------------------- reserve

#[tokio::test]
async fn reserve_example_without_id_generates_an_upper_case_uuid() {
    let api = Api::start().await;
    let answer = api
        .post(
            RESERVE,
            json!({"endpoints": ["+18887293863", "+18887293864"]}),
        )
        .await;
    assert_eq!(answer.status, 200);
    let list = answer.body.as_array().expect("a JSON array");
    assert_eq!(list.len(), 1);
    let reservation = &list[0];
    let id = reservation["reservationID"].as_str().expect("id");
    assert_eq!(id.len(), 36);
    assert_eq!(id, id.to_uppercase());
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(
        reservation["endpoints"],
        json!([
            {"endpoint": "+18887293863", "geo": {"city": null, "country": "US", "stateProvince": null}},
            {"endpoint": "+18887293864", "geo": {"city": null, "country": "US", "stateProvince": null}}
        ])
    );
    let reserved: jiff::Timestamp = reservation["reservedDate"]
        .as_str()
        .expect("date")
        .parse()
        .expect("ISO 8601");
    let expires: jiff::Timestamp = reservation["expirationDate"]
        .as_str()
        .expect("date")
        .parse()
        .expect("ISO 8601");
    assert!(is_iso8601_seconds(
        reservation["reservedDate"].as_str().unwrap_or_default()
    ));
    assert_eq!(
        expires.duration_since(reserved),
        jiff::SignedDuration::from_mins(30)
    );
}

#[tokio::test]
async fn reserve_example_with_explicit_id_keeps_it() {
    let api = Api::start().await;
    let answer = api
        .post(
            RESERVE,
            json!({"endpoints": ["+18885551201", "+18885551202"], "reservationID": "F78793B1-7E84-11E6-B908-52540029234D"}),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body[0]["reservationID"],
        "F78793B1-7E84-11E6-B908-52540029234D"
    );
    assert_eq!(
        answer.body[0]["endpoints"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn reserve_accepts_number_objects() {
    let api = Api::start().await;
    let answer = api
        .post(
            RESERVE,
            json!({"endpoints": [{"countryCode": "1", "number": "8885551201"}, {"countryCode": 1, "number": "8885551202"}]}),
        )
        .await;
    assert_eq!(answer.status, 200);
    let numbers: Vec<&str> = answer.body[0]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e["endpoint"].as_str())
        .collect();
    assert_eq!(numbers, ["+18885551201", "+18885551202"]);
}

#[tokio::test]
async fn reserve_lifetime_is_configurable() {
    let api = Api::with(SimConfig {
        reservation_ttl: Duration::from_secs(90),
        ..SimConfig::default()
    })
    .await;
    let reservation = api.reserve(&["+18887293863"]).await;
    let reserved: jiff::Timestamp = reservation["reservedDate"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    let expires: jiff::Timestamp = reservation["expirationDate"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    assert_eq!(
        expires.duration_since(reserved),
        jiff::SignedDuration::from_secs(90)
    );
}

#[tokio::test]
async fn reserve_validates_endpoints() {
    let api = Api::start().await;
    for (body, text) in [
        (json!({}), "The 'endpoints' parameter is required."),
        (
            json!({"endpoints": []}),
            "The 'endpoints' parameter is required.",
        ),
        (
            json!({"endpoints": "+18887293863"}),
            "The 'endpoints' parameter must be formatted as a(n) array.",
        ),
        (
            json!({"endpoints": [42]}),
            "The 'endpoints' parameter must be formatted as a(n) array.",
        ),
        (
            json!({"endpoints": [{"countryCode": "1"}]}),
            "The '%' parameter is required for each Number object.",
        ),
        (
            json!({"endpoints": [{"number": "8885551201"}]}),
            "The '%' parameter is required for each Number object.",
        ),
        (
            json!({"endpoints": [{"countryCode": "44", "number": "8885551201"}]}),
            "The 'countryCode' parameter must match one of the following values: 1",
        ),
        (
            json!({"endpoints": ["+18887293863"], "reservationID": 7}),
            "The 'reservationID' parameter must be formatted as a(n) string.",
        ),
    ] {
        api.post(RESERVE, body.clone())
            .await
            .assert_error(422, text);
    }
    assert!(
        api.sim().ledger().is_empty(),
        "a refused request changes nothing"
    );
}

#[tokio::test]
async fn reserving_a_number_that_is_not_available_is_409() {
    let api = Api::start().await;
    api.reserve(&["+18887293863"]).await;
    api.sim().seed_inventory(&["+18885551201"], 30744);
    for number in [
        "+18887293863",
        "+18885551201",
        "+18005550000",
        "+17205558000",
        "8885551202",
    ] {
        let answer = api
            .post(RESERVE, json!({"endpoints": ["+18885551202", number]}))
            .await;
        answer.assert_error(409, "Number(s) not available.");
    }
    // All or nothing: the available one was not reserved either.
    api.reserve(&["+18885551202"]).await;
}

#[tokio::test]
async fn reusing_a_live_reservation_id_is_409() {
    let api = Api::start().await;
    let id = "F78793B1-7E84-11E6-B908-52540029234D";
    let first = api
        .post(
            RESERVE,
            json!({"endpoints": ["+18885551201"], "reservationID": id}),
        )
        .await;
    assert_eq!(first.status, 200);
    api.post(
        RESERVE,
        json!({"endpoints": ["+18885551202"], "reservationID": id}),
    )
    .await
    .assert_error(409, "Number(s) not available.");
}

#[tokio::test]
async fn an_expired_reservation_releases_its_numbers() {
    let api = Api::start().await;
    api.reserve(&["+18887293863"]).await;
    api.sim().advance_clock(Duration::from_secs(29 * 60));
    api.post(RESERVE, json!({"endpoints": ["+18887293863"]}))
        .await
        .assert_error(409, "Number(s) not available.");
    api.sim().advance_clock(Duration::from_secs(60));
    api.reserve(&["+18887293863"]).await;
}

// ---------------------------------------------------------------- purchase

#[tokio::test]
async fn order_example_by_reservation_ids_places_a_pending_purchase() {
    let api = Api::start().await;
    let first = api
        .post(RESERVE, json!({"endpoints": ["+18885551201"], "reservationID": "BD929A2A-7F48-11E6-B908-52540029234D"}))
        .await;
    let second = api
        .post(RESERVE, json!({"endpoints": ["+18885551202"], "reservationID": "0F85813F-7E8B-11E6-B908-52540029234D"}))
        .await;
    assert_eq!((first.status, second.status), (200, 200));
    let answer = api
        .post(
            ORDER,
            json!({
                "reservationID": ["BD929A2A-7F48-11E6-B908-52540029234D", "0F85813F-7E8B-11E6-B908-52540029234D"],
                "packageID": 1234567,
                "serviceArea": 4
            }),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let created = answer.body["created"].as_str().expect("created").to_owned();
    assert!(is_iso8601_seconds(&created));
    assert_eq!(
        answer.body,
        json!({
            "accountID": 1004318, "batchIDs": [800024], "completed": null, "created": created,
            "orderID": 800240, "packageID": 1234567, "referenceID": null, "source": "API",
            "status": "PENDING", "type": "TF Purchase"
        })
    );
}

#[tokio::test]
async fn order_accepts_the_reservations_field_as_string_or_array() {
    let api = Api::start().await;
    let one = api.reserve(&["+18885551201"]).await;
    let answer = api
        .post(ORDER, json!({"reservations": one["reservationID"], "packageID": 31615, "serviceArea": 1, "referenceID": "ticket-7"}))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["referenceID"], "ticket-7");
    let two = api.reserve(&["+18885551202"]).await;
    let answer = api
        .post(
            ORDER,
            json!({"reservations": [two["reservationID"]], "packageID": 31615, "serviceArea": 5}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["orderID"], 800241);
    assert_eq!(answer.body["batchIDs"], json!([800025]));
}

#[tokio::test]
async fn order_example_by_quantity_buys_that_many_pool_numbers() {
    let api = Api::start().await;
    let answer = api
        .post(
            ORDER,
            json!({"quantity": 1, "packageID": 1234567, "serviceArea": 4}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    api.sim().complete_pending_orders();
    let inventory = api.sim().inventory();
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0].package_id, 1234567);
    assert_eq!(inventory[0].order_id, Some(800240));
    let three = api
        .post(
            ORDER,
            json!({"quantity": 3, "packageID": 7, "serviceArea": 4}),
        )
        .await;
    assert_eq!(three.status, 200);
    api.sim().complete_pending_orders();
    assert_eq!(api.sim().inventory().len(), 4);
}

#[tokio::test]
async fn order_by_endpoints_buys_reserved_numbers() {
    let api = Api::start().await;
    api.reserve(&["+18885551201", "+18885551202"]).await;
    let answer = api
        .post(
            ORDER,
            json!({"endpoints": [{"countryCode": "1", "number": "8885551201"}], "packageID": 5, "serviceArea": 4}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    api.sim().complete_pending_orders();
    let owned: Vec<String> = api
        .sim()
        .inventory()
        .into_iter()
        .map(|o| o.number)
        .collect();
    assert_eq!(owned, ["+18885551201"]);
    // The other number stays reserved.
    api.post(RESERVE, json!({"endpoints": ["+18885551202"]}))
        .await
        .assert_error(409, "Number(s) not available.");
}

#[tokio::test]
async fn purchased_numbers_appear_only_when_the_order_completes() {
    let api = Api::with(SimConfig {
        order_delay: Duration::from_secs(3600),
        ..SimConfig::default()
    })
    .await;
    let order = api.buy(&["+18887293863", "+18887293864"], 31615).await;
    assert_eq!(order["status"], "PENDING");
    assert!(Api::numbers(&api.get(INVENTORY).await).is_empty());
    // Bought numbers left the pool at once.
    api.post(RESERVE, json!({"endpoints": ["+18887293863"]}))
        .await
        .assert_error(409, "Number(s) not available.");
    api.sim().advance_clock(Duration::from_secs(59 * 60));
    assert!(Api::numbers(&api.get(INVENTORY).await).is_empty());
    api.sim().advance_clock(Duration::from_secs(2 * 60));
    let listed = api.get(INVENTORY).await;
    assert_eq!(Api::numbers(&listed), ["+18887293863", "+18887293864"]);
    assert_eq!(listed.body["endpoints"][0]["orderID"], order["orderID"]);
    assert_eq!(listed.body["endpoints"][0]["packageID"], 31615);
}

#[tokio::test]
async fn orders_complete_after_the_configured_delay_in_real_time() {
    let api = Api::with(SimConfig {
        order_delay: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await;
    api.buy(&["+18885551201"], 9).await;
    assert!(Api::numbers(&api.get(INVENTORY).await).is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(Api::numbers(&api.get(INVENTORY).await), ["+18885551201"]);
}

#[tokio::test]
async fn order_requires_package_service_area_and_numbers() {
    let api = Api::start().await;
    for (body, text) in [
        (
            json!({"quantity": 1, "serviceArea": 4}),
            "The 'packageID' parameter is required.",
        ),
        (
            json!({"quantity": 1, "packageID": 1}),
            "The 'serviceArea' parameter is required.",
        ),
        (
            json!({"packageID": 1, "serviceArea": 4}),
            "The 'reservations' parameter is required.",
        ),
        (
            json!({"packageID": 1, "serviceArea": 4, "reservations": []}),
            "The 'reservations' parameter is required.",
        ),
    ] {
        api.post(ORDER, body).await.assert_error(422, text);
    }
}

#[tokio::test]
async fn order_service_area_must_be_one_to_five() {
    let api = Api::start().await;
    for area in [0, 6, -1] {
        api.post(
            ORDER,
            json!({"quantity": 1, "packageID": 1, "serviceArea": area}),
        )
        .await
        .assert_error(
            422,
            "The 'serviceArea' parameter must match one of the following values: 1, 2, 3, 4, 5",
        );
    }
}

#[tokio::test]
async fn order_parameters_must_have_their_types() {
    let api = Api::start().await;
    let base = json!({"quantity": 1, "packageID": 1, "serviceArea": 4});
    for (field, value, text) in [
        (
            "packageID",
            json!("1"),
            "The 'packageID' parameter must be formatted as a(n) integer.",
        ),
        (
            "packageID",
            json!(1.5),
            "The 'packageID' parameter must be formatted as a(n) integer.",
        ),
        (
            "packageID",
            json!([1]),
            "The 'packageID' parameter must be scalar.",
        ),
        (
            "serviceArea",
            json!("four"),
            "The 'serviceArea' parameter must be formatted as a(n) integer.",
        ),
        (
            "quantity",
            json!("one"),
            "The 'quantity' parameter must be formatted as a(n) integer.",
        ),
        (
            "quantity",
            json!({"n": 1}),
            "The 'quantity' parameter must be scalar.",
        ),
        (
            "email",
            json!(5),
            "The 'email' parameter must be formatted as a(n) string.",
        ),
        (
            "notes",
            json!(["a"]),
            "The 'notes' parameter must be scalar.",
        ),
        (
            "referenceID",
            json!(12),
            "The 'referenceID' parameter must be formatted as a(n) string.",
        ),
        (
            "referenceID",
            json!(""),
            "The 'referenceID' parameter must be formatted as a non-empty string.",
        ),
        (
            "myRespOrg",
            json!("maybe"),
            "The 'myRespOrg' parameter must be formatted as a(n) boolean.",
        ),
    ] {
        let mut body = base.clone();
        body[field] = value;
        api.post(ORDER, body).await.assert_error(422, text);
    }
    let mut fine = base.clone();
    fine["myRespOrg"] = json!(false);
    fine["email"] = json!("noc@example.com");
    assert_eq!(api.post(ORDER, fine).await.status, 200);
}

#[tokio::test]
async fn order_reservation_ids_must_be_strings_and_endpoints_number_objects() {
    let api = Api::start().await;
    api.post(
        ORDER,
        json!({"reservations": [7], "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(
        422,
        "The 'reservations' parameter must be formatted as a(n) string.",
    );
    api.post(ORDER, json!({"endpoints": [{"countryCode": "2", "number": "8885551201"}], "packageID": 1, "serviceArea": 4}))
        .await
        .assert_error(422, "The 'countryCode' parameter must match one of the following values: 1");
}

#[tokio::test]
async fn order_quantity_and_reservations_are_mutually_exclusive() {
    let api = Api::start().await;
    api.post(
        ORDER,
        json!({"quantity": 1, "reservations": "X", "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(
        409,
        "The following parameters are mutually exclusive: 'reservations', 'quantity'",
    );
}

#[tokio::test]
async fn ordering_an_unknown_expired_or_used_reservation_is_409() {
    let api = Api::start().await;
    let order = |id: Value| {
        api.post(
            ORDER,
            json!({"reservationID": id, "packageID": 1, "serviceArea": 4}),
        )
    };
    order(json!("0F85813F-7E8B-11E6-B908-000000000000"))
        .await
        .assert_error(409, "Number(s) not available.");
    let used = api.reserve(&["+18885551201"]).await;
    assert_eq!(order(used["reservationID"].clone()).await.status, 200);
    order(used["reservationID"].clone())
        .await
        .assert_error(409, "Number(s) not available.");
    let stale = api.reserve(&["+18885551202"]).await;
    api.sim().advance_clock(Duration::from_secs(31 * 60));
    order(stale["reservationID"].clone())
        .await
        .assert_error(409, "Number(s) not available.");
    assert_eq!(
        api.sim()
            .ledger()
            .iter()
            .filter(|e| e.kind == LedgerKind::Purchase)
            .count(),
        1
    );
}

// The purchase rules the operator relies on (see the crate docs, "Vendor
// behaviours the operator relies on").

/// The purchases in the ledger.
fn purchases(api: &Api) -> Vec<intelepeer_sim::LedgerEntry> {
    api.sim()
        .ledger()
        .into_iter()
        .filter(|e| e.kind == LedgerKind::Purchase)
        .collect()
}

#[tokio::test]
async fn one_purchase_of_several_reservations_orders_all_their_numbers_under_one_order_id() {
    let api = Api::start().await;
    let a = api.reserve(&["+18885551201", "+18885551202"]).await;
    let b = api.reserve(&["+18887293863"]).await;
    let c = api.reserve(&["+18887293864"]).await;
    let ids = json!([a["reservationID"], b["reservationID"], c["reservationID"]]);
    let answer = api
        .post(
            ORDER,
            json!({"reservationID": ids, "packageID": 31615, "serviceArea": 4}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let order_id = answer.body["orderID"].as_u64().expect("orderID");
    let bought = purchases(&api);
    assert_eq!(bought.len(), 1, "one order: {bought:?}");
    assert_eq!(bought[0].order_id, Some(order_id));
    assert_eq!(
        bought[0].numbers,
        [
            "+18885551201",
            "+18885551202",
            "+18887293863",
            "+18887293864"
        ]
    );
    assert_eq!(bought[0].reservation_ids.len(), 3);
    api.sim().complete_pending_orders();
    let inventory = api.sim().inventory();
    assert_eq!(inventory.len(), 4);
    assert!(inventory.iter().all(|o| o.order_id == Some(order_id)));
}

#[tokio::test]
async fn a_purchase_naming_any_reservation_that_is_not_a_live_one_of_the_caller_buys_nothing() {
    let config = SimConfig::default().with_user("bob", "bob", 2002);
    let api = Api::with(config).await;
    let bob = api.session("bob", "bob").await;
    let used = api.reserve(&["+18885550001"]).await;
    let bought = api
        .post(
            ORDER,
            json!({"reservationID": used["reservationID"], "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(bought.status, 200);
    let expired = api.reserve(&["+18885550002"]).await;
    api.sim().advance_clock(Duration::from_secs(31 * 60));
    let fresh_a = api.reserve(&["+18885551201"]).await;
    let fresh_b = api.reserve(&["+18885551202"]).await;
    let foreign = bob.reserve(&["+18887293863"]).await;
    let good = [
        fresh_a["reservationID"].clone(),
        fresh_b["reservationID"].clone(),
    ];
    for culprit in [
        json!("0F85813F-7E8B-11E6-B908-000000000000"),
        expired["reservationID"].clone(),
        used["reservationID"].clone(),
        foreign["reservationID"].clone(),
    ] {
        let ids = json!([good[0], culprit, good[1]]);
        api.post(
            ORDER,
            json!({"reservationID": ids, "packageID": 1, "serviceArea": 4}),
        )
        .await
        .assert_error(409, "Number(s) not available.");
    }
    assert_eq!(purchases(&api).len(), 1, "only the first, earlier purchase");
    // Nothing was consumed: the good reservations still hold their numbers
    // and still buy them, in one order.
    api.post(RESERVE, json!({"endpoints": ["+18885551201"]}))
        .await
        .assert_error(409, "Number(s) not available.");
    let answer = api
        .post(
            ORDER,
            json!({"reservationID": good, "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(purchases(&api)[1].numbers, ["+18885551201", "+18885551202"]);
}

#[tokio::test]
async fn a_number_in_a_pending_purchase_can_be_reserved_by_nobody() {
    let config = SimConfig {
        order_delay: Duration::from_secs(3600),
        ..SimConfig::default().with_user("bob", "bob", 2002)
    };
    let api = Api::with(config).await;
    let bob = api.session("bob", "bob").await;
    let order = api.buy(&["+18885551201", "+18885551202"], 1).await;
    assert_eq!(order["status"], "PENDING");
    for numbers in [
        json!(["+18885551201"]),
        json!(["+18885551202", "+18885550001"]),
    ] {
        api.post(RESERVE, json!({"endpoints": numbers}))
            .await
            .assert_error(409, "Number(s) not available.");
        bob.post(RESERVE, json!({"endpoints": numbers}))
            .await
            .assert_error(409, "Number(s) not available.");
    }
    api.post(
        ORDER,
        json!({"endpoints": ["+18885551201"], "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(409, "Number(s) not available.");
    assert_eq!(purchases(&api).len(), 1);
    assert!(
        !Api::numbers(&api.get(&format!("{SEARCH}?like=%2B188855512")).await)
            .contains(&"+18885551201".to_owned())
    );
}

#[tokio::test]
async fn a_reservation_is_purchased_at_most_once() {
    let api = Api::start().await;
    let reservation = api.reserve(&["+18885551201", "+18885551202"]).await;
    let id = reservation["reservationID"].clone();
    let first = api
        .post(
            ORDER,
            json!({"reservationID": [id], "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(first.status, 200);
    for body in [
        json!({"reservationID": [id], "packageID": 1, "serviceArea": 4}),
        json!({"reservations": id, "packageID": 2, "serviceArea": 4}),
        json!({"reservationID": [id, id], "packageID": 1, "serviceArea": 4}),
    ] {
        api.post(ORDER, body)
            .await
            .assert_error(409, "Number(s) not available.");
    }
    // A reservation emptied by a purchase of its numbers as `endpoints` is
    // consumed too.
    let other = api.reserve(&["+18887293863"]).await;
    let by_number = api
        .post(
            ORDER,
            json!({"endpoints": ["+18887293863"], "packageID": 1, "serviceArea": 4}),
        )
        .await;
    assert_eq!(by_number.status, 200);
    api.post(
        ORDER,
        json!({"reservationID": [other["reservationID"]], "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(409, "Number(s) not available.");
    assert_eq!(purchases(&api).len(), 2);
}

#[tokio::test]
async fn ordering_more_than_the_pool_holds_is_409() {
    let api = Api::with(SimConfig {
        pool_per_npa: 1,
        ..SimConfig::default()
    })
    .await;
    api.post(
        ORDER,
        json!({"quantity": 1000, "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(409, "Number(s) not available.");
}

#[tokio::test]
async fn trial_limit_blocks_orders_once_realized() {
    let api = Api::with(SimConfig {
        trial_seats: Some(2),
        ..SimConfig::default()
    })
    .await;
    api.buy(&["+18885551201", "+18885551202"], 1).await;
    api.post(
        ORDER,
        json!({"quantity": 1, "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(402, "Order blocked; trial limit realized. Limit: 2 seats.");
}

#[tokio::test]
async fn trial_limit_refuses_orders_too_large_for_the_seats_left() {
    let api = Api::with(SimConfig {
        trial_seats: Some(3),
        ..SimConfig::default()
    })
    .await;
    api.sim().seed_inventory(&["+18005550100"], 1);
    let reservation = api
        .reserve(&["+18885551201", "+18885551202", "+18885550001"])
        .await;
    api.post(
        ORDER,
        json!({"reservationID": reservation["reservationID"], "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(
        402,
        "Order too large; trial limit exceeded. Available: 2 seats.",
    );
    api.post(
        ORDER,
        json!({"quantity": 3, "packageID": 1, "serviceArea": 4}),
    )
    .await
    .assert_error(
        402,
        "Order too large; trial limit exceeded. Available: 2 seats.",
    );
    assert_eq!(
        api.post(
            ORDER,
            json!({"quantity": 2, "packageID": 1, "serviceArea": 4})
        )
        .await
        .status,
        200
    );
}

// ---------------------------------------------------------------- change package

#[tokio::test]
async fn change_package_example_moves_numbers_when_the_order_completes() {
    let api = Api::start().await;
    api.sim()
        .seed_inventory(&["+17205558000", "+13035558099"], 30744);
    let answer = api
        .post(
            PACKAGE,
            json!({"packageID": 1234567, "endpoints": ["+17205558000", "+13035558099"]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let created = answer.body["created"].as_str().expect("created").to_owned();
    assert_eq!(
        answer.body,
        json!({
            "accountID": 1004318, "batchIDs": [800024], "completed": null, "created": created,
            "orderID": 800240, "packageID": 1234567, "referenceID": null, "source": "API",
            "status": "PENDING", "type": "Change Package"
        })
    );
    assert!(api.sim().inventory().iter().all(|o| o.package_id == 30744));
    api.sim().advance_clock(Duration::from_secs(2));
    let moved = api.get("/_rest/v4/my/tf?packageID=1234567").await;
    assert_eq!(Api::numbers(&moved), ["+13035558099", "+17205558000"]);
}

#[tokio::test]
async fn change_package_of_a_number_not_in_the_account_is_409() {
    let api = Api::start().await;
    api.sim().seed_inventory(&["+18005550100"], 1);
    api.post(
        PACKAGE,
        json!({"packageID": 2, "endpoints": ["+18005550100", "+18887293863"]}),
    )
    .await
    .assert_error(409, "One or more numbers is not assigned to this account.");
}

#[tokio::test]
async fn change_package_of_a_number_in_a_pending_order_is_409() {
    let api = Api::start().await;
    api.sim()
        .seed_inventory(&["+18005550100", "+18005550101"], 1);
    assert_eq!(
        api.post(
            PACKAGE,
            json!({"packageID": 2, "endpoints": ["+18005550100"]})
        )
        .await
        .status,
        200
    );
    api.post(
        PACKAGE,
        json!({"packageID": 3, "endpoints": ["+18005550100"]}),
    )
    .await
    .assert_error(409, "One or more numbers is part of a conflicting order.");
    assert_eq!(
        api.post(DISCONNECT, json!({"endpoints": ["+18005550101"]}))
            .await
            .status,
        202
    );
    api.post(
        PACKAGE,
        json!({"packageID": 3, "endpoints": ["+18005550101"]}),
    )
    .await
    .assert_error(409, "One or more numbers is part of a conflicting order.");
    let pending = api.buy(&["+18885551201"], 1).await;
    assert_eq!(pending["status"], "PENDING");
    api.post(
        PACKAGE,
        json!({"packageID": 3, "endpoints": ["+18885551201"]}),
    )
    .await
    .assert_error(409, "One or more numbers is part of a conflicting order.");
}

#[tokio::test]
async fn change_package_validates_its_parameters() {
    let api = Api::start().await;
    for (body, text) in [
        (
            json!({"endpoints": ["+18005550100"]}),
            "The 'packageID' parameter is required.",
        ),
        (
            json!({"packageID": 1}),
            "The 'endpoints' parameter is required.",
        ),
        (
            json!({"packageID": "1", "endpoints": ["+18005550100"]}),
            "The 'packageID' parameter must be formatted as a(n) integer.",
        ),
        (
            json!({"packageID": [1], "endpoints": ["+18005550100"]}),
            "The 'packageID' parameter must be scalar.",
        ),
        (
            json!({"packageID": 1, "endpoints": [18005550100u64]}),
            "The 'endpoints' parameter must be formatted as a(n) string.",
        ),
        (
            json!({"packageID": 1, "endpoints": ["+18005550100"], "notes": 3}),
            "The 'notes' parameter must be formatted as a(n) string.",
        ),
    ] {
        api.post(PACKAGE, body).await.assert_error(422, text);
    }
}

// ---------------------------------------------------------------- disconnect

#[tokio::test]
async fn disconnect_example_answers_202_then_409_when_repeated() {
    let api = Api::start().await;
    api.buy(&["+18885550001", "+18885550002"], 31615).await;
    api.sim().complete_pending_orders();
    let answer = api
        .post(
            DISCONNECT,
            json!({"endpoints": ["+18885550001", "+18885550002"]}),
        )
        .await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let created = answer.body["created"].as_str().expect("created").to_owned();
    assert_eq!(
        answer.body,
        json!({
            "accountID": null, "batchIDs": [800025], "completed": null, "created": created,
            "orderID": 800241, "packageID": null, "referenceID": null, "source": "API",
            "status": "PENDING", "type": "TF Return"
        })
    );
    api.post(DISCONNECT, json!({"endpoints": ["+18885550002"]}))
        .await
        .assert_error(409, "One or more numbers is already pending disconnect.");
    assert!(api.sim().inventory().iter().all(|o| o.pending_disconnect));
}

#[tokio::test]
async fn disconnected_numbers_leave_the_account_and_do_not_return_to_the_pool() {
    let api = Api::start().await;
    api.buy(&["+18885550001"], 1).await;
    api.sim().complete_pending_orders();
    api.post(
        DISCONNECT,
        json!({"endpoints": ["+18885550001"], "referenceID": "bye"}),
    )
    .await;
    assert_eq!(
        Api::numbers(&api.get(INVENTORY).await),
        ["+18885550001"],
        "still listed while pending"
    );
    api.sim().advance_clock(Duration::from_secs(2));
    assert!(Api::numbers(&api.get(INVENTORY).await).is_empty());
    api.post(RESERVE, json!({"endpoints": ["+18885550001"]}))
        .await
        .assert_error(409, "Number(s) not available.");
    api.post(DISCONNECT, json!({"endpoints": ["+18885550001"]}))
        .await
        .assert_error(409, "One or more numbers is not assigned to this account.");
}

#[tokio::test]
async fn disconnect_of_a_number_not_in_the_account_is_409() {
    let api = Api::start().await;
    api.post(DISCONNECT, json!({"endpoints": ["+18885550001"]}))
        .await
        .assert_error(409, "One or more numbers is not assigned to this account.");
}

#[tokio::test]
async fn disconnect_of_a_number_in_another_pending_order_is_409() {
    let api = Api::start().await;
    api.sim().seed_inventory(&["+18005550100"], 1);
    assert_eq!(
        api.post(
            PACKAGE,
            json!({"packageID": 2, "endpoints": ["+18005550100"]})
        )
        .await
        .status,
        200
    );
    api.post(DISCONNECT, json!({"endpoints": ["+18005550100"]}))
        .await
        .assert_error(409, "One or more numbers is part of a conflicting order.");
    api.buy(&["+18885551201"], 1).await;
    api.post(DISCONNECT, json!({"endpoints": ["+18885551201"]}))
        .await
        .assert_error(409, "One or more numbers is part of a conflicting order.");
}

#[tokio::test]
async fn disconnect_validates_its_parameters() {
    let api = Api::start().await;
    for (body, text) in [
        (json!({}), "The 'endpoints' parameter is required."),
        (
            json!({"endpoints": [1]}),
            "The 'endpoints' parameter must be formatted as a(n) string.",
        ),
        (
            json!({"endpoints": ["+18005550100"], "email": false}),
            "The 'email' parameter must be formatted as a(n) string.",
        ),
    ] {
        api.post(DISCONNECT, body).await.assert_error(422, text);
    }
}

// ---------------------------------------------------------------- robustness

#[tokio::test]
async fn malformed_json_is_400_and_never_a_panic() {
    let api = Api::start().await;
    for path in [
        "/_rest/v4/authenticate",
        RESERVE,
        ORDER,
        PACKAGE,
        DISCONNECT,
    ] {
        let answer = api.raw(Method::POST, path, "{not json").await;
        answer.assert_error(400, "Bad Request");
    }
    // JSON that is not an object carries no parameters.
    api.raw(Method::POST, RESERVE, "[1,2]")
        .await
        .assert_error(422, "The 'endpoints' parameter is required.");
    api.raw(Method::POST, DISCONNECT, "")
        .await
        .assert_error(422, "The 'endpoints' parameter is required.");
    // Odd query strings are still answered.
    for query in [
        "?%",
        "?npa=%ZZ",
        "?&&=&npa",
        "?npa=888&page=99999999999999999999",
    ] {
        let answer = api.get(&format!("{SEARCH}{query}")).await;
        assert!((200..500).contains(&answer.status), "{query}: {answer:?}");
    }
    assert_eq!(api.get(INVENTORY).await.status, 200, "still serving");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_vendor_error_shape() {
    let api = Api::start().await;
    api.get("/_rest/v4/nothing")
        .await
        .assert_error(404, "Not Found");
    api.call(Method::DELETE, INVENTORY, None, &[])
        .await
        .assert_error(405, "Method Not Allowed");
}

// ---------------------------------------------------------------- ledger, counts, admin

#[tokio::test]
async fn the_ledger_records_every_accepted_mutation_and_nothing_else() {
    let api = Api::start().await;
    api.sim().seed_inventory(&["+18005550100"], 1);
    let reservation = api.reserve(&["+18885551201"]).await;
    api.post(ORDER, json!({"reservationID": reservation["reservationID"], "packageID": 5, "serviceArea": 4, "referenceID": "r-1"}))
        .await;
    api.post(
        PACKAGE,
        json!({"packageID": 6, "endpoints": ["+18005550100"]}),
    )
    .await;
    api.post(DISCONNECT, json!({"endpoints": ["+18005550100"]}))
        .await; // refused: conflicting order
    api.post(RESERVE, json!({"endpoints": ["+18885551201"]}))
        .await; // refused: sold
    let ledger = api.sim().ledger();
    let kinds: Vec<LedgerKind> = ledger.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            LedgerKind::Reserve,
            LedgerKind::Purchase,
            LedgerKind::ChangePackage
        ]
    );
    assert_eq!(ledger[1].numbers, ["+18885551201"]);
    assert_eq!(ledger[1].package_id, Some(5));
    assert_eq!(ledger[1].order_id, Some(800240));
    assert_eq!(ledger[1].reference_id.as_deref(), Some("r-1"));
    assert_eq!(
        ledger[1].reservation_ids,
        [reservation["reservationID"].as_str().expect("id")]
    );
}

#[tokio::test]
async fn request_counts_are_kept_per_method_and_path() {
    let api = Api::start().await;
    api.get(INVENTORY).await;
    api.get("/_rest/v4/my/tf?page=2").await;
    api.get("/_rest/v3/my/tf").await;
    let counts = api.sim().request_counts();
    assert_eq!(counts.get("GET /_rest/v4/my/tf"), Some(&2));
    assert_eq!(counts.get("GET /_rest/v3/my/tf"), Some(&1));
    assert_eq!(counts.get("POST /_rest/v4/authenticate"), Some(&1));
}

#[tokio::test]
async fn the_admin_api_inspects_and_steers_the_simulator() {
    let api = Api::start().await;
    let url = api.running.url();
    let http = &api.http;
    let seeded = http
        .post(format!("{url}/_admin/inventory"))
        .json(&json!({"numbers": ["+18005550100"], "packageID": 30744}))
        .send()
        .await
        .expect("seed");
    assert_eq!(seeded.status(), 200);
    api.buy(&["+18885551201"], 2).await;
    let state: Value = http
        .get(format!("{url}/_admin/state"))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(state["accountID"], 1004318);
    assert_eq!(state["inventory"].as_array().map(Vec::len), Some(1));
    assert_eq!(state["orders"].as_array().map(Vec::len), Some(1));
    let ledger: Value = http
        .get(format!("{url}/_admin/ledger"))
        .send()
        .await
        .expect("ledger")
        .json()
        .await
        .expect("json");
    assert_eq!(ledger.as_array().map(Vec::len), Some(2));
    let requests: Value = http
        .get(format!("{url}/_admin/requests"))
        .send()
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    assert_eq!(requests["POST /_rest/v4/my/tf/orders"], 1);
    assert!(
        requests.get("GET /_admin/state").is_none(),
        "admin calls are not vendor calls"
    );

    http.post(format!("{url}/_admin/complete-orders"))
        .send()
        .await
        .expect("complete");
    assert_eq!(api.sim().inventory().len(), 2);
    http.post(format!("{url}/_admin/advance-clock"))
        .json(&json!({"by": "25h"}))
        .send()
        .await
        .expect("clock");
    api.get(INVENTORY)
        .await
        .assert_error(401, "Session Expired");
    http.post(format!("{url}/_admin/reset"))
        .send()
        .await
        .expect("reset");
    assert!(api.sim().inventory().is_empty());
    assert!(api.sim().ledger().is_empty());
    let bad = http
        .post(format!("{url}/_admin/inventory"))
        .body("{")
        .send()
        .await
        .expect("bad seed");
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn admin_expire_sessions_expires_tokens() {
    let api = Api::start().await;
    let url = api.running.url();
    api.http
        .post(format!("{url}/_admin/expire-sessions"))
        .send()
        .await
        .expect("expire");
    api.get(INVENTORY)
        .await
        .assert_error(401, "Session Expired");
}

#[tokio::test]
async fn a_fresh_simulator_serves_every_example_number() {
    let api = Api::start().await;
    for number in intelepeer_sim::EXAMPLE_NUMBERS {
        let answer = api.get(&format!("{SEARCH}?like=%2B{}", &number[1..])).await;
        assert_eq!(Api::numbers(&answer), [number], "{number}");
    }
}
