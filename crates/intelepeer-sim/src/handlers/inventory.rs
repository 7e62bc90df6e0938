//! `GET /_rest/v4/my/tf` and `GET /_rest/v3/my/tf`: list the caller's
//! account's inventory (as [`crate::Tampering`] may distort it).

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Query;
use crate::state::InventoryFilter;
use crate::tamper::{self, Tampering};

/// Page size when none is given (docs/architecture.md, vendor facts).
const DEFAULT_PAGE_SIZE: u64 = 100;

/// `label` / `label[]`, `like` (starts with), `packageID` / `packageID[]`,
/// `page`, `pageSize`, `hasCpaas`; records of the caller's account only, in
/// number order, each reporting that account as `accountID`. Filters narrow the
/// records before paging, so a filtered listing pages exactly like the whole
/// one.
///
/// The vendor's quirk, reproduced: when more records follow this page, the page
/// holds `pageSize + 1` records — the extra one is also the first of the next
/// page — and `hasMore` is true.
pub(crate) async fn list(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = Query::parse(raw.as_deref());
    // Read before taking the state's lock: the two locks are never nested.
    let tampering = sim.tampering();
    super::authorized(&sim, &headers, |world, _ctx, account| {
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
        let truth = Tampering::default();
        let tampering = if tampering.applies_to(account) {
            &tampering
        } else {
            &truth
        };
        let (endpoints, has_more) = tamper::page(
            world.listed(account, &filter),
            start,
            size,
            &filter.package_ids,
            tampering,
        );
        Ok(tamper::respond(
            json!({ "endpoints": endpoints, "hasMore": has_more }),
            tampering.pad,
        ))
    })
}
