//! `GET /_rest/v4/carrier/tf`: search the pool of numbers that can be bought.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::Simulator;
use crate::error::ApiError;
use crate::params::Query;
use crate::records::search_record;
use crate::state::PoolFilter;

/// Page size when none is given (the reference is silent).
const DEFAULT_PAGE_SIZE: u64 = 10;

/// `like` (an E.164 prefix) or `npa` / `npa[]` (exclusive, one required),
/// `page`, `pageSize`, `sequential`. Sequential searches answer one contiguous
/// run of `pageSize` numbers (or none), ignore `page` and never have more.
pub(crate) async fn search(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = Query::parse(raw.as_deref());
    super::authorized(&sim, &headers, |world, ctx, _account| {
        // An empty `like` or `npa` counts as not given.
        let like = query.scalar("like")?.filter(|l| !l.is_empty());
        let npas: Vec<String> = query
            .list("npa")
            .into_iter()
            .filter(|n| !n.is_empty())
            .map(|n| {
                n.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| n.to_owned())
                    .ok_or_else(|| ApiError::formatted("npa", "numeric"))
            })
            .collect::<Result<_, _>>()?;
        let (start, size) = super::paging(&query, DEFAULT_PAGE_SIZE)?;
        let sequential = query.boolean("sequential")?.unwrap_or(false);
        match (like, npas.is_empty()) {
            (None, true) => return Err(ApiError::at_least_one("like", "npa")),
            (Some(_), false) => return Err(ApiError::mutually_exclusive("like", "npa")),
            _ => {}
        }
        let filter = PoolFilter {
            like: like.map(str::to_owned),
            npas,
        };
        let found = world.available(&filter, ctx.now);
        let (numbers, has_more) = if sequential {
            (first_run(&found, size), false)
        } else {
            let numbers: Vec<&str> = found.iter().skip(start).take(size).copied().collect();
            (numbers, found.len() > start.saturating_add(size))
        };
        Ok(Json(json!({
            "endpoints": numbers.iter().map(|n| search_record(n)).collect::<Vec<_>>(),
            "hasMore": has_more,
        })))
    })
}

/// The first `len` numbers of `sorted` that follow one another (…01, …02, …),
/// or none.
fn first_run<'a>(sorted: &[&'a str], len: usize) -> Vec<&'a str> {
    let value = |n: &str| n.trim_start_matches('+').parse::<u64>().ok();
    let mut start = 0;
    for i in 0..sorted.len() {
        let follows = i > start
            && matches!((value(sorted[i - 1]), value(sorted[i])), (Some(a), Some(b)) if b == a + 1);
        if i > start && !follows {
            start = i;
        }
        if i + 1 - start >= len {
            return sorted[start..=i].to_vec();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::first_run;

    #[test]
    fn first_run_finds_contiguous_numbers() {
        let numbers = [
            "+18885550001",
            "+18885550003",
            "+18885550004",
            "+18885550005",
            "+18885550007",
        ];
        assert_eq!(
            first_run(&numbers, 3),
            vec!["+18885550003", "+18885550004", "+18885550005"]
        );
        assert_eq!(first_run(&numbers, 1), vec!["+18885550001"]);
        assert!(first_run(&numbers, 4).is_empty());
    }
}
