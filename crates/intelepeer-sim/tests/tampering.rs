//! Listing tampering: one contract test per hostile behaviour of `GET /my/tf`
//! (both the v3 and the v4 path), and proof that tampering never changes the
//! state or any other answer.

mod support;

use intelepeer_sim::{HasMoreLie, PadStyle, Padding, SYNTHETIC_PACKAGE_ID, SimConfig, Tampering};
use reqwest::Method;
use serde_json::{Value, json};
use support::Api;

const V4: &str = "/_rest/v4/my/tf";
const V3: &str = "/_rest/v3/my/tf";
const RESERVE: &str = "/_rest/v4/carrier/tf/reservations";
const PACKAGE: &str = "/_rest/v4/my/tf/package";
const DISCONNECT: &str = "/_rest/v4/my/tf/disconnect";

/// Five numbers, +18005550001..5, owned by the default account in 30744.
fn owned() -> Vec<String> {
    (1..=5).map(|i| format!("+1800555{i:04}")).collect()
}

async fn seeded() -> Api {
    let api = Api::start().await;
    let owned = owned();
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    api.sim().seed_inventory(&refs, 30744);
    api
}

/// `GET path?query` on both listing paths, asserting they answer alike.
async fn list(api: &Api, query: &str) -> support::Answer {
    let v4 = api.get(&format!("{V4}?{query}")).await;
    let v3 = api.get(&format!("{V3}?{query}")).await;
    assert_eq!((v4.status, &v4.body), (v3.status, &v3.body), "v3 = v4");
    assert_eq!(v4.status, 200, "{v4:?}");
    v4
}

fn has_more(answer: &support::Answer) -> bool {
    answer.body["hasMore"] == json!(true)
}

#[tokio::test]
async fn omitted_numbers_vanish_from_listings_but_stay_owned_and_usable() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().omitting(["+18005550002", "+18005550004"]));
    let all = list(&api, "").await;
    assert_eq!(
        Api::numbers(&all),
        ["+18005550001", "+18005550003", "+18005550005"]
    );
    // Paging stays well formed over what is left.
    let first = list(&api, "pageSize=2").await;
    assert_eq!(
        Api::numbers(&first),
        ["+18005550001", "+18005550003", "+18005550005"]
    );
    assert!(has_more(&first));
    let second = list(&api, "pageSize=2&page=2").await;
    assert_eq!(Api::numbers(&second), ["+18005550005"]);
    assert!(!has_more(&second));
    assert!(Api::numbers(&list(&api, "like=%2B18005550002").await).is_empty());

    // Still owned: the truth, a refused reservation, and usable.
    assert_eq!(api.sim().inventory().len(), 5);
    api.post(RESERVE, json!({"endpoints": ["+18005550002"]}))
        .await
        .assert_error(409, "Number(s) not available.");
    let moved = api
        .post(
            PACKAGE,
            json!({"packageID": 7, "endpoints": ["+18005550002"]}),
        )
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    let gone = api
        .post(DISCONNECT, json!({"endpoints": ["+18005550004"]}))
        .await;
    assert_eq!(gone.status, 202, "{gone:?}");
}

#[tokio::test]
async fn numbers_can_be_listed_without_their_plus() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().stripping_plus(["+18005550003"]));
    let listed = list(&api, "").await;
    assert_eq!(
        Api::numbers(&listed),
        [
            "+18005550001",
            "+18005550002",
            "18005550003",
            "+18005550004",
            "+18005550005"
        ]
    );
    assert_eq!(listed.body["endpoints"][2]["packageID"], 30744);
    // Filters still see the real number.
    let filtered = list(&api, "like=%2B18005550003").await;
    assert_eq!(Api::numbers(&filtered), ["18005550003"]);
    assert!(
        api.sim()
            .inventory()
            .iter()
            .any(|o| o.number == "+18005550003")
    );
}

#[tokio::test]
async fn a_number_can_be_listed_twice_the_copy_in_another_package() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().duplicating("+18005550002", 30745));
    let listed = list(&api, "").await;
    assert_eq!(
        Api::numbers(&listed),
        [
            "+18005550001",
            "+18005550002",
            "+18005550002",
            "+18005550003",
            "+18005550004",
            "+18005550005"
        ]
    );
    let endpoints = listed.body["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints[1]["packageID"], 30744, "the real record first");
    assert_eq!(endpoints[2]["packageID"], 30745, "then the copy");
    assert_eq!(endpoints[2]["accountID"], endpoints[1]["accountID"]);
    // The copy takes a place in paging like any record.
    let first = list(&api, "pageSize=2").await;
    assert_eq!(
        Api::numbers(&first),
        ["+18005550001", "+18005550002", "+18005550002"]
    );
    assert!(has_more(&first));
    assert!(api.sim().inventory().iter().all(|o| o.package_id == 30744));
}

#[tokio::test]
async fn a_listing_can_say_the_account_is_empty() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().listing_nothing());
    for query in ["", "pageSize=2", "pageSize=2&page=2", "packageID=30744"] {
        let listed = list(&api, query).await;
        assert_eq!(
            listed.body,
            json!({"endpoints": [], "hasMore": false}),
            "{query}"
        );
    }
    assert_eq!(api.sim().inventory().len(), 5);
    api.sim().clear_tampering();
    assert_eq!(Api::numbers(&list(&api, "").await).len(), 5);
}

#[tokio::test]
async fn an_endless_listing_brings_fresh_records_on_every_page_and_always_has_more() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().listing_endlessly());
    let mut seen: Vec<String> = Vec::new();
    for page in 1..=30 {
        let answer = list(&api, &format!("pageSize=2&page={page}")).await;
        let numbers = Api::numbers(&answer);
        assert_eq!(numbers.len(), 3, "page {page}: pageSize + 1");
        assert!(has_more(&answer), "page {page}");
        // The quirk's extra record is the next page's first; the rest is new.
        if let Some(last) = seen.last() {
            assert_eq!(&numbers[0], last, "page {page} starts where the last ended");
        }
        for number in &numbers[usize::from(!seen.is_empty())..] {
            assert!(!seen.contains(number), "{number} seen twice");
            seen.push(number.clone());
        }
    }
    assert_eq!(
        &seen[..5],
        owned().as_slice(),
        "the real records come first"
    );
    for synthetic in &seen[5..] {
        assert!(
            synthetic.starts_with("+1833") && synthetic.len() == 12,
            "{synthetic}"
        );
    }
    let answer = list(&api, "pageSize=2&page=9").await;
    assert_eq!(
        answer.body["endpoints"][0]["packageID"],
        SYNTHETIC_PACKAGE_ID
    );
    let filtered = list(&api, "packageID[]=777&pageSize=3").await;
    assert_eq!(Api::numbers(&filtered).len(), 4);
    assert_eq!(filtered.body["endpoints"][0]["packageID"], 777);
    assert_eq!(
        api.sim().inventory().len(),
        5,
        "synthetic records are nobody's"
    );
}

/// The raw bytes of `GET path` (both listing paths answer alike).
async fn raw(api: &Api, query: &str) -> (u16, Option<u64>, Vec<u8>) {
    let mut answers = Vec::new();
    for path in [V4, V3] {
        let response = api
            .request(Method::GET, &format!("{path}?{query}"))
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        let length = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = response.bytes().await.expect("body").to_vec();
        answers.push((status, length, body));
    }
    let v3 = answers.pop().expect("v3");
    let v4 = answers.pop().expect("v4");
    assert_eq!(v3, v4, "v3 = v4");
    v4
}

#[tokio::test]
async fn a_body_can_be_padded_to_a_size_around_the_real_page() {
    let api = seeded().await;
    let truth = list(&api, "pageSize=2").await.body;
    for (to_bytes, style) in [
        (5_000, PadStyle::Field),
        (3_000_000, PadStyle::Field),
        (5_000, PadStyle::Whitespace),
    ] {
        api.sim().set_tampering(Tampering {
            pad: Some(Padding {
                to_bytes,
                empty_page: false,
                style,
            }),
            ..Tampering::default()
        });
        let (status, length, body) = raw(&api, "pageSize=2").await;
        assert_eq!(status, 200);
        assert_eq!(length, Some(to_bytes), "Content-Length");
        assert_eq!(body.len() as u64, to_bytes);
        let mut parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
        match style {
            PadStyle::Field => {
                let padding = parsed
                    .as_object_mut()
                    .and_then(|o| o.remove("padding"))
                    .expect("a padding field");
                assert!(
                    padding
                        .as_str()
                        .is_some_and(|p| p.len() as u64 > to_bytes / 2)
                );
            }
            PadStyle::Whitespace => assert!(body.ends_with(b"    ")),
        }
        assert_eq!(parsed, truth, "the real page inside the padding");
    }
    // A body already larger than the size is sent as it is.
    api.sim()
        .set_tampering(Tampering::default().padding_to(10, false));
    assert_eq!(list(&api, "pageSize=2").await.body, truth);
}

#[tokio::test]
async fn a_padded_body_can_hold_an_empty_page() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().padding_to(1_000_000, true));
    let (status, length, body) = raw(&api, "").await;
    assert_eq!((status, length), (200, Some(1_000_000)));
    let mut parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
    parsed.as_object_mut().map(|o| o.remove("padding"));
    assert_eq!(parsed, json!({"endpoints": [], "hasMore": false}));
    assert_eq!(api.sim().inventory().len(), 5);
}

#[tokio::test]
async fn has_more_can_be_false_on_a_page_of_page_size_plus_one_records() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().lying_about_has_more(HasMoreLie::FalseOnFullPage));
    let first = list(&api, "pageSize=2").await;
    assert_eq!(Api::numbers(&first).len(), 3, "pageSize + 1 records");
    assert!(!has_more(&first), "yet no more");
    let last = list(&api, "pageSize=2&page=3").await;
    assert_eq!(Api::numbers(&last), ["+18005550005"]);
    assert!(!has_more(&last), "the short page is truthful");
}

#[tokio::test]
async fn has_more_can_be_true_on_a_short_page() {
    let api = seeded().await;
    api.sim()
        .set_tampering(Tampering::default().lying_about_has_more(HasMoreLie::TrueOnShortPage));
    let first = list(&api, "pageSize=2").await;
    assert_eq!(Api::numbers(&first).len(), 3);
    assert!(has_more(&first), "a full page is truthful");
    let last = list(&api, "pageSize=2&page=3").await;
    assert_eq!(Api::numbers(&last), ["+18005550005"]);
    assert!(has_more(&last), "the short last page claims more");
    let beyond = list(&api, "pageSize=2&page=4").await;
    assert!(Api::numbers(&beyond).is_empty());
    assert!(has_more(&beyond), "and so does every empty page after it");
    let whole = list(&api, "").await;
    assert_eq!(Api::numbers(&whole).len(), 5);
    assert!(has_more(&whole));
}

#[tokio::test]
async fn tampering_can_be_limited_to_one_account() {
    let config = SimConfig::default().with_user("bob", "bob", 2002);
    let api = Api::with(config).await;
    let bob = api.session("bob", "bob").await;
    api.sim().seed_inventory(&["+18005550001"], 1);
    api.sim().seed_inventory_in(2002, &["+18005550002"], 1);
    api.sim()
        .set_tampering(Tampering::default().listing_nothing().for_account(2002));
    assert!(Api::numbers(&bob.get(V4).await).is_empty());
    assert_eq!(Api::numbers(&api.get(V4).await), ["+18005550001"]);
}

#[tokio::test]
async fn tampering_changes_no_state_and_no_other_answer() {
    let api = seeded().await;
    let search = "/_rest/v4/carrier/tf?like=%2B1888";
    let offered = api.get(search).await.body;
    let dump_before = api.sim().dump();
    api.sim().set_tampering(Tampering {
        omit: ["+18005550001".to_owned()].into(),
        strip_plus: ["+18005550002".to_owned()].into(),
        duplicate: [("+18005550003".to_owned(), 9)].into(),
        endless: true,
        has_more: Some(HasMoreLie::FalseOnFullPage),
        pad: Some(Padding {
            to_bytes: 100_000,
            empty_page: false,
            style: PadStyle::Field,
        }),
        ..Tampering::default()
    });
    for page in 1..=5 {
        let (status, _, _) = raw(&api, &format!("pageSize=3&page={page}")).await;
        assert_eq!(status, 200);
    }
    assert_eq!(api.get(search).await.body, offered);
    let dump_after = api.sim().dump();
    for key in [
        "inventory",
        "reservations",
        "orders",
        "ledger",
        "poolAvailable",
    ] {
        assert_eq!(dump_after[key], dump_before[key], "{key}");
    }
    assert!(api.sim().ledger().is_empty());
}

#[tokio::test]
async fn tampering_is_steered_over_the_admin_api_and_cleared_by_a_reset() {
    let api = seeded().await;
    let url = format!("{}/_admin/tampering", api.running.url());
    let http = &api.http;
    let url = &url;
    let put = |body: Value| async move {
        let answer = http.put(url).json(&body).send().await.expect("answer");
        (
            answer.status().as_u16(),
            answer.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (status, active) = put(json!(
        "omit=+18005550001:+18005550002,has-more=true-on-short-page"
    ))
    .await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(active["omit"], json!(["+18005550001", "+18005550002"]));
    assert_eq!(Api::numbers(&list(&api, "").await).len(), 3);
    let (status, active) = put(json!({"empty": true, "account": 1004318})).await;
    assert_eq!(status, 200, "{active}");
    assert!(Api::numbers(&list(&api, "").await).is_empty());
    assert_eq!(api.sim().dump()["tampering"]["empty"], true);
    let current: Value = http
        .get(format!("{}/_admin/tampering", api.running.url()))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(current["empty"], true);
    for bad in [
        json!("boom=1"),
        json!({"omit": "x", "nonsense": 1}),
        json!(3),
    ] {
        let (status, body) = put(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert!(
        api.sim().tampering().empty,
        "a refused change changes nothing"
    );
    let cleared = http
        .delete(format!("{}/_admin/tampering", api.running.url()))
        .send()
        .await
        .expect("delete");
    assert_eq!(cleared.status(), 200);
    assert!(api.sim().tampering().is_none());
    api.sim()
        .set_tampering(Tampering::default().listing_nothing());
    api.sim().reset();
    assert!(api.sim().tampering().is_none(), "reset clears tampering");
}

#[tokio::test]
async fn tampering_set_in_the_config_applies_from_the_start() {
    let api = Api::with(SimConfig {
        tampering: Tampering::default().listing_nothing(),
        ..SimConfig::default()
    })
    .await;
    api.sim().seed_inventory(&["+18005550001"], 1);
    assert!(Api::numbers(&api.get(V4).await).is_empty());
}
