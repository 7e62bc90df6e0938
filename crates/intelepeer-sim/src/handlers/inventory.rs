//! `GET /_rest/v4/my/tf` and `GET /_rest/v3/my/tf`: list the account's inventory.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Query;
use crate::state::InventoryFilter;

/// Page size when none is given (DESIGN.md §6).
const DEFAULT_PAGE_SIZE: u64 = 100;

/// `label` / `label[]`, `like` (starts with), `packageID` / `packageID[]`,
/// `page`, `pageSize`, `hasCpaas`; records in number order.
///
/// The vendor's quirk, reproduced: when more records follow this page, the page
/// holds `pageSize + 1` records — the extra one is also the first of the next
/// page — and `hasMore` is true.
pub(crate) async fn list(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = Query::parse(raw.as_deref());
    super::authorized(&sim, &headers, |world, ctx| {
        let labels = query
            .list("label")
            .into_iter()
            .map(|l| {
                if l.is_empty() {
                    Err(ApiError::non_empty_string("label"))
                } else {
                    Ok(l.to_owned())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let like = query.non_empty("like")?.map(str::to_owned);
        let package_ids = query
            .list("packageID")
            .into_iter()
            .map(|p| {
                p.parse::<u64>()
                    .map_err(|_| ApiError::formatted("packageID", "integer"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (start, size) = super::paging(&query, DEFAULT_PAGE_SIZE)?;
        let has_cpaas = query.boolean("hasCpaas")?;
        let filter = InventoryFilter {
            labels,
            like,
            package_ids,
            has_cpaas,
        };
        // Ask for size + 1: the quirk's extra record. Without more records
        // after this page the slice holds at most `size` anyway.
        let (endpoints, total) = world.inventory_page(
            &filter,
            ctx.config.account_id,
            start,
            size.saturating_add(1),
        );
        let has_more = total > start.saturating_add(size);
        Ok(Json(json!({ "endpoints": endpoints, "hasMore": has_more })))
    })
}
