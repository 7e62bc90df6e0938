//! `POST /_rest/v4/carrier/tf/reservations`: hold numbers before buying them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Body;

/// `{"endpoints": [...], "reservationID"?}` → a JSON array holding one
/// reservation of the caller's account. Any number that is not available
/// (owned by any account, reserved by any account, in a pending purchase,
/// unknown) fails the whole request with 409 "Number(s) not available.".
pub(crate) async fn reserve(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    super::authorized(&sim, &headers, |world, ctx, account| {
        let body = Body::parse(&body)?;
        let numbers = body
            .numbers("endpoints")?
            .ok_or_else(|| ApiError::required("endpoints"))?;
        let id = body.non_empty("reservationID")?.map(str::to_owned);
        let reservation = world.reserve(account, numbers, id, ctx)?;
        Ok(Json(Value::Array(vec![reservation.to_json()])))
    })
}
