//! Fault injection as a client meets it: scripted status codes, 429 with
//! `Retry-After`, random 503s, latency, dropped connections, lost responses and
//! requests that never answer — on the vendor API only, never on the admin API.

mod support;

use std::time::{Duration, Instant};

use intelepeer_sim::{Faults, SimConfig, spawn};
use reqwest::Method;
use serde_json::json;
use support::{Api, answer};

const INVENTORY: &str = "/_rest/v4/my/tf";
const RESERVE: &str = "/_rest/v4/carrier/tf/reservations";

fn faults(spec: &str) -> Faults {
    spec.parse().expect("valid fault spec")
}

#[tokio::test]
async fn fail_next_answers_the_scripted_codes_in_order_then_recovers() {
    let api = Api::start().await;
    api.sim().set_faults(faults("fail-next=503:500:502"));
    api.get(INVENTORY)
        .await
        .assert_error(503, "Service Unavailable");
    api.get(INVENTORY)
        .await
        .assert_error(500, "Internal Server Error");
    api.get(INVENTORY).await.assert_error(502, "Bad Gateway");
    assert_eq!(api.get(INVENTORY).await.status, 200);
    assert_eq!(
        api.sim().request_counts().get("GET /_rest/v4/my/tf"),
        Some(&4),
        "faulted calls count"
    );
}

#[tokio::test]
async fn a_faulted_request_changes_nothing() {
    let api = Api::start().await;
    api.sim().set_faults(faults("fail-next=503"));
    let body = json!({"endpoints": ["+18885551201"]});
    assert_eq!(api.post(RESERVE, body.clone()).await.status, 503);
    assert!(api.sim().ledger().is_empty());
    assert_eq!(
        api.post(RESERVE, body).await.status,
        200,
        "the retry finds the number free"
    );
}

#[tokio::test]
async fn rate_limit_next_answers_429_with_retry_after() {
    let api = Api::start().await;
    api.sim()
        .set_faults(faults("rate-limit-next=2,retry-after=7"));
    for _ in 0..2 {
        let limited = api.get(INVENTORY).await;
        limited.assert_error(429, "Too Many Requests");
        assert_eq!(limited.headers["retry-after"], "7");
    }
    assert_eq!(api.get(INVENTORY).await.status, 200);
}

#[tokio::test]
async fn an_error_rate_of_one_always_answers_503_and_zero_never() {
    let api = Api::start().await;
    api.sim().set_faults(faults("error-rate=1"));
    for _ in 0..5 {
        api.get(INVENTORY)
            .await
            .assert_error(503, "Service Unavailable");
    }
    api.sim().set_faults(faults("error-rate=0"));
    for _ in 0..5 {
        assert_eq!(api.get(INVENTORY).await.status, 200);
    }
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let api = Api::start().await;
    api.sim().set_faults(faults("latency=150ms"));
    let started = Instant::now();
    assert_eq!(api.get(INVENTORY).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn drop_next_closes_the_connection_without_a_response_or_a_change() {
    let api = Api::start().await;
    api.sim().set_faults(faults("drop-next=1"));
    let result = api
        .request(Method::POST, RESERVE)
        .json(&json!({"endpoints": ["+18885551201"]}))
        .send()
        .await;
    let error = result.expect_err("no response");
    assert!(!error.is_timeout(), "closed, not hung: {error:?}");
    assert!(api.sim().ledger().is_empty(), "dropped before processing");
    assert_eq!(
        api.get(INVENTORY).await.status,
        200,
        "the next request is answered"
    );
}

#[tokio::test]
async fn drop_after_next_processes_the_request_then_loses_the_response() {
    let api = Api::start().await;
    api.sim().set_faults(faults("drop-after-next=1"));
    let result = api
        .request(Method::POST, RESERVE)
        .json(&json!({"endpoints": ["+18885551201"]}))
        .send()
        .await;
    assert!(result.is_err(), "no response: {result:?}");
    assert_eq!(api.sim().ledger().len(), 1, "but the reservation was made");
    api.post(RESERVE, json!({"endpoints": ["+18885551201"]}))
        .await
        .assert_error(409, "Number(s) not available.");
}

#[tokio::test]
async fn hang_next_never_answers_so_the_client_times_out() {
    let api = Api::start().await;
    api.sim().set_faults(faults("hang-next=1"));
    let result = api
        .request(Method::GET, INVENTORY)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(result.expect_err("hung").is_timeout());
    assert_eq!(api.get(INVENTORY).await.status, 200);
}

#[tokio::test]
async fn shutdown_releases_hanging_requests() {
    let api = Api::start().await;
    api.sim().set_faults(faults("hang-next=1"));
    let request = api.request(Method::GET, INVENTORY).send();
    let pending = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    api.running.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown did not wait for the hung request"
    );
    let _ = pending.await;
}

#[tokio::test]
async fn faults_never_touch_the_admin_api() {
    let api = Api::start().await;
    api.sim().set_faults(faults(
        "fail-next=500,rate-limit-next=1,drop-next=1,hang-next=1",
    ));
    let state = api
        .http
        .get(format!("{}/_admin/state", api.running.url()))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(state.status(), 200);
    assert!(!api.sim().request_counts().contains_key("GET /_admin/state"));
    assert_eq!(
        api.sim().faults().drop_next,
        1,
        "nothing consumed by the admin call"
    );
}

#[tokio::test]
async fn faults_can_be_set_over_the_admin_api_as_json_or_spec() {
    let api = Api::start().await;
    let url = format!("{}/_admin/faults", api.running.url());
    let set = api
        .http
        .put(&url)
        .json(&json!({"fail_next": [502], "latency": "10ms"}))
        .send()
        .await
        .expect("put");
    assert_eq!(set.status(), 200);
    assert_eq!(api.sim().faults(), faults("fail-next=502,latency=10ms"));
    api.get(INVENTORY).await.assert_error(502, "Bad Gateway");
    let set = api
        .http
        .put(&url)
        .json(&json!("rate-limit-next=1,retry-after=3"))
        .send()
        .await
        .expect("put");
    assert_eq!(set.status(), 200);
    assert_eq!(api.get(INVENTORY).await.headers["retry-after"], "3");
    let bad = api
        .http
        .put(&url)
        .json(&json!("explode=1"))
        .send()
        .await
        .expect("put");
    let bad = answer(bad).await;
    assert_eq!(bad.status, 400);
    assert!(bad.error().contains("unknown fault 'explode'"), "{bad:?}");
}

#[tokio::test]
async fn configured_faults_apply_from_the_start() {
    let running = spawn(SimConfig {
        faults: faults("fail-next=503"),
        ..SimConfig::default()
    })
    .await
    .expect("starts");
    let http = reqwest::Client::new();
    let login = |http: &reqwest::Client| {
        http.request(
            Method::POST,
            format!("{}/_rest/v4/authenticate", running.url()),
        )
        .json(&json!({"username": "demo", "password": "demo"}))
        .send()
    };
    assert_eq!(login(&http).await.expect("answer").status(), 503);
    assert_eq!(login(&http).await.expect("answer").status(), 200);
    running.shutdown().await;
}
