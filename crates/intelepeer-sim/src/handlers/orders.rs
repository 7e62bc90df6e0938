//! Orders: `POST /_rest/v4/my/tf/orders` (purchase), `POST /_rest/v4/my/tf/package`
//! (change package) and `POST /_rest/v4/my/tf/disconnect`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Body;
use crate::records::OrderDetails;
use crate::state::PurchaseRequest;

/// The accepted `serviceArea` values.
const SERVICE_AREAS: std::ops::RangeInclusive<i64> = 1..=5;

/// `email`, `notes`, `referenceID`: optional strings, the last non-empty.
fn details(body: &Body) -> Result<OrderDetails, ApiError> {
    Ok(OrderDetails {
        email: body.string("email")?.map(str::to_owned),
        notes: body.string("notes")?.map(str::to_owned),
        reference_id: body.non_empty("referenceID")?.map(str::to_owned),
        ..OrderDetails::default()
    })
}

/// Purchase by reservations (`reservations` as in the field table, or
/// `reservationID` as in the worked example; a string or an array of strings),
/// by reserved `endpoints`, or by `quantity`; `packageID` and `serviceArea`
/// are required. One request is one order of all its numbers, or nothing
/// (see [`crate::state::World::purchase`]).
pub(crate) async fn purchase(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    super::authorized(&sim, &headers, |world, ctx, account| {
        let body = Body::parse(&body)?;
        let package_id = body.required_positive("packageID")?;
        let service_area = body
            .integer("serviceArea")?
            .ok_or_else(|| ApiError::required("serviceArea"))?;
        if !SERVICE_AREAS.contains(&service_area) {
            return Err(ApiError::one_of("serviceArea", "1, 2, 3, 4, 5"));
        }
        let mut reservation_ids = body.strings("reservations")?.unwrap_or_default();
        for id in body.strings("reservationID")?.unwrap_or_default() {
            if !reservation_ids.contains(&id) {
                reservation_ids.push(id);
            }
        }
        let numbers = body.numbers("endpoints")?.unwrap_or_default();
        let quantity = match body.has("quantity") {
            true => Some(body.required_positive("quantity")?),
            false => None,
        };
        if quantity.is_some() {
            // The reference is silent on mixing quantity with explicit numbers;
            // the search endpoint's exclusivity answer is reused.
            let reservations = if body.has("reservations") {
                "reservations"
            } else {
                "reservationID"
            };
            if !reservation_ids.is_empty() {
                return Err(ApiError::mutually_exclusive(reservations, "quantity"));
            }
            if !numbers.is_empty() {
                return Err(ApiError::mutually_exclusive("endpoints", "quantity"));
            }
        }
        if quantity.is_none() && reservation_ids.is_empty() && numbers.is_empty() {
            return Err(ApiError::required("reservations"));
        }
        let mut details = details(&body)?;
        details.service_area = u8::try_from(service_area).ok();
        details.my_resp_org = body.boolean("myRespOrg")?;
        let request = PurchaseRequest {
            package_id,
            reservation_ids,
            numbers,
            quantity,
            details,
        };
        let order = world.purchase(account, request, ctx)?;
        Ok(Json(order.to_json()))
    })
}

/// The `endpoints` of a change-package or disconnect request: a required,
/// non-empty array of E.164 strings.
fn endpoints(body: &Body) -> Result<Vec<String>, ApiError> {
    body.e164_strings("endpoints")?
        .ok_or_else(|| ApiError::required("endpoints"))
}

/// Moves owned numbers to `packageID` (when the order completes).
pub(crate) async fn change_package(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    super::authorized(&sim, &headers, |world, ctx, account| {
        let body = Body::parse(&body)?;
        let package_id = body.required_positive("packageID")?;
        let numbers = endpoints(&body)?;
        let order = world.change_package(account, numbers, package_id, details(&body)?, ctx)?;
        Ok(Json(order.to_json()))
    })
}

/// Returns owned numbers to the carrier: 202 and a "TF Return" order.
pub(crate) async fn disconnect(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    super::authorized(&sim, &headers, |world, ctx, account| {
        let body = Body::parse(&body)?;
        let numbers = endpoints(&body)?;
        let order = world.disconnect(account, numbers, details(&body)?, ctx)?;
        Ok((StatusCode::ACCEPTED, Json(order.to_json())))
    })
}
