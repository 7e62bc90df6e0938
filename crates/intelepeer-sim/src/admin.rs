//! The admin API under `/_admin` (no authentication, no faults): inspect and
//! steer the simulator from tests and demos.
//!
//! - `GET /_admin/state`: the whole state ([`Simulator::dump`])
//! - `GET /_admin/ledger`: every accepted mutation
//! - `GET /_admin/requests`: vendor calls by `"METHOD /path"`
//! - `POST /_admin/reset`: back to a fresh vendor
//! - `PUT /_admin/faults`: a [`crate::Faults`] JSON object, or a spec string
//! - `POST /_admin/inventory`: `{"numbers": [...], "packageID": n}` owned at once
//! - `POST /_admin/expire-sessions`, `POST /_admin/complete-orders`
//! - `POST /_admin/advance-clock`: `{"by": "30m"}` moves the clock forward

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Simulator;
use crate::config::parse_duration;
use crate::error::ApiError;
use crate::faults::FaultsInput;

/// The admin routes, to be nested under `/_admin`.
pub(crate) fn router(sim: Simulator) -> Router {
    Router::new()
        .route(
            "/state",
            get(|State(sim): State<Simulator>| async move { Json(sim.dump()) }),
        )
        .route(
            "/ledger",
            get(|State(sim): State<Simulator>| async move { Json(json!(sim.ledger())) }),
        )
        .route(
            "/requests",
            get(|State(sim): State<Simulator>| async move { Json(json!(sim.request_counts())) }),
        )
        .route("/reset", post(action(Simulator::reset)))
        .route("/faults", put(faults))
        .route("/inventory", post(inventory))
        .route("/expire-sessions", post(action(Simulator::expire_sessions)))
        .route(
            "/complete-orders",
            post(action(Simulator::complete_pending_orders)),
        )
        .route("/advance-clock", post(advance_clock))
        .fallback(|| async { ApiError::status(StatusCode::NOT_FOUND) })
        .with_state(sim)
}

/// A handler that runs `act` and answers `{"ok": true}`.
fn action(
    act: fn(&Simulator),
) -> impl Fn(State<Simulator>) -> std::future::Ready<Json<Value>> + Clone + Send + Sync + 'static {
    move |State(sim)| {
        act(&sim);
        std::future::ready(Json(json!({ "ok": true })))
    }
}

/// A body that is not what an admin call takes: 400 with the reason.
fn bad_request(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
}

async fn faults(State(sim): State<Simulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let faults = match serde_json::from_slice::<FaultsInput>(&body).map_err(bad_request)? {
        FaultsInput::Spec(spec) => spec.parse().map_err(bad_request)?,
        FaultsInput::Object(faults) => faults,
    };
    sim.set_faults(faults);
    Ok(Json(json!(sim.faults())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Seed {
    numbers: Vec<String>,
    #[serde(rename = "packageID")]
    package_id: u64,
}

async fn inventory(State(sim): State<Simulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let seed: Seed = serde_json::from_slice(&body).map_err(bad_request)?;
    let numbers: Vec<&str> = seed.numbers.iter().map(String::as_str).collect();
    sim.seed_inventory(&numbers, seed.package_id);
    Ok(Json(json!(sim.inventory())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    by: String,
}

async fn advance_clock(State(sim): State<Simulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let advance: Advance = serde_json::from_slice(&body).map_err(bad_request)?;
    sim.advance_clock(parse_duration(&advance.by).map_err(bad_request)?);
    Ok(Json(json!({ "now": crate::records::iso8601(sim.now()) })))
}
