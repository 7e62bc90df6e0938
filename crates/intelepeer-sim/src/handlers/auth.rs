//! `POST /_rest/v4/authenticate`: credentials for a 24-hour token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Body;

/// `{"username", "password"}` → `{"token"}`; wrong credentials are 401.
pub(crate) async fn authenticate(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = Body::parse(&body)?;
    let username = body
        .string("username")?
        .ok_or_else(|| ApiError::required("username"))?;
    let password = body
        .string("password")?
        .ok_or_else(|| ApiError::required("password"))?;
    let token = sim.transact(|world, ctx| world.authenticate(username, password, ctx))?;
    Ok(Json(json!({ "token": token })))
}
