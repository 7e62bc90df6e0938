//! Handlers of the vendor endpoints, one module per part of the reference.
//!
//! Each handler checks the token first (401), which names the caller's account,
//! then its parameters (422/409 with the reference's texts), then applies the
//! rule in [`crate::state`] on behalf of that account.

use axum::http::{HeaderMap, header};

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Query;
use crate::state::{Ctx, World};

pub(crate) mod auth;
pub(crate) mod inventory;
pub(crate) mod orders;
pub(crate) mod reservations;
pub(crate) mod search;

/// Runs `rule` on the state (see [`Simulator::transact`]) for the account of
/// the request's token once that token is found valid; otherwise answers 401.
pub(crate) fn authorized<T>(
    sim: &Simulator,
    headers: &HeaderMap,
    rule: impl FnOnce(&mut World, Ctx<'_>, u64) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    sim.transact(|world, ctx| {
        let account = world.authorize(token(headers), ctx)?;
        rule(world, ctx, account)
    })
}

/// The bare token of the `Authorization` header.
fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The most records one page holds.
const MAX_PAGE_SIZE: u64 = 100;

/// Where a page starts and how many records it holds, from `page` (from 1,
/// default 1) and `pageSize` (default `default_size`; above 100 it is cut to
/// 100 — the reference says nothing, the operator relies on at most 100 per page).
/// Zero or negative values are not valid integers here.
pub(crate) fn paging(query: &Query, default_size: u64) -> Result<(usize, usize), ApiError> {
    let page = query.positive("page")?.unwrap_or(1);
    let size = query
        .positive("pageSize")?
        .unwrap_or(default_size)
        .min(MAX_PAGE_SIZE);
    let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Ok((
        to_usize(page - 1).saturating_mul(to_usize(size)),
        to_usize(size),
    ))
}
