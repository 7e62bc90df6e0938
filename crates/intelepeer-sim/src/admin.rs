//! The admin API under `/_admin` (no authentication, no faults): inspect and
//! steer the simulator from tests and demos.
//!
//! - `GET /_admin/state`: the whole state ([`Simulator::dump`]);
//!   `?account=ID`: one account's ([`Simulator::dump_of`]). Fields:
//!   `accountID` (the account asked for, else the default one), `accounts`
//!   (`[{accountID, owned, seatsUsed}]`), `inventory` (owned numbers, each
//!   with its `accountId`), `reservations` and `orders` (each with its
//!   `accountID`), `ledger`, `poolAvailable`, `sessions`, `requests`,
//!   `faults`, `tampering`
//! - `GET /_admin/ledger`: every accepted mutation (each names its
//!   `accountId`); `?account=ID`: one account's
//! - `GET /_admin/inventory`: the default account's owned numbers;
//!   `?account=ID`: that account's (the truth, whatever listings are tampered)
//! - `POST /_admin/inventory`: `{"numbers": [...], "packageID": n,
//!   "accountID"?: ID}` owned at once (default account when `accountID` is
//!   absent); answers that account's inventory
//! - `GET /_admin/requests`: vendor calls by `"METHOD /path"`
//! - `POST /_admin/reset`: back to a fresh vendor
//! - `PUT /_admin/faults`: a [`crate::Faults`] JSON object, or a spec string
//! - `GET /_admin/tampering`, `PUT /_admin/tampering` (a [`crate::Tampering`]
//!   JSON object, or a spec string as for `--tamper`), `DELETE
//!   /_admin/tampering` (listings tell the truth again)
//! - `POST /_admin/expire-sessions`, `POST /_admin/complete-orders`
//! - `POST /_admin/advance-clock`: `{"by": "30m"}` moves the clock forward

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Simulator;
use crate::config::parse_duration;
use crate::error::ApiError;
use crate::faults::FaultsInput;
use crate::params::Query;
use crate::tamper::TamperingInput;

/// The admin routes, to be nested under `/_admin`.
pub(crate) fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/state", get(state))
        .route("/ledger", get(ledger))
        .route(
            "/requests",
            get(|State(sim): State<Simulator>| async move { Json(json!(sim.request_counts())) }),
        )
        .route("/reset", post(action(Simulator::reset)))
        .route("/faults", put(faults))
        .route("/inventory", post(seed).get(inventory))
        .route(
            "/tampering",
            get(|State(sim): State<Simulator>| async move { Json(json!(sim.tampering())) })
                .put(tampering)
                .delete(|State(sim): State<Simulator>| async move {
                    sim.clear_tampering();
                    Json(json!(sim.tampering()))
                }),
        )
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

async fn tampering(State(sim): State<Simulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let tampering = match serde_json::from_slice::<TamperingInput>(&body).map_err(bad_request)? {
        TamperingInput::Spec(spec) => spec.parse().map_err(bad_request)?,
        TamperingInput::Object(tampering) => tampering,
    };
    sim.set_tampering(tampering);
    Ok(Json(json!(sim.tampering())))
}

/// The `account` query parameter of an admin read: an account ID, or none.
fn account(raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    Query::parse(raw).positive("account")
}

async fn state(
    State(sim): State<Simulator>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(match account(raw.as_deref())? {
        Some(account) => sim.dump_of(account),
        None => sim.dump(),
    }))
}

async fn ledger(
    State(sim): State<Simulator>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(match account(raw.as_deref())? {
        Some(account) => sim.ledger_of(account),
        None => sim.ledger(),
    })))
}

async fn inventory(
    State(sim): State<Simulator>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let account = account(raw.as_deref())?.unwrap_or(sim.default_account());
    Ok(Json(json!(sim.inventory_of(account))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Seed {
    numbers: Vec<String>,
    #[serde(rename = "packageID")]
    package_id: u64,
    /// The account to seed; the default account when absent.
    #[serde(rename = "accountID", default)]
    account_id: Option<u64>,
}

async fn seed(State(sim): State<Simulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let seed: Seed = serde_json::from_slice(&body).map_err(bad_request)?;
    let account = seed.account_id.unwrap_or(sim.default_account());
    let numbers: Vec<&str> = seed.numbers.iter().map(String::as_str).collect();
    sim.seed_inventory_in(account, &numbers, seed.package_id);
    Ok(Json(json!(sim.inventory_of(account))))
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
