//! Reading the inventory listing completely, once, despite the vendor's paging.
//!
//! `GET /my/tf` answers `pageSize + 1` records when more exist: the extra record
//! is the first of the next page. [`Pager`] is the pure state machine that turns
//! the pages the vendor sends into each number exactly once, and refuses to
//! produce a listing it cannot vouch for (the operator disconnects only after a
//! *complete* listing, DESIGN.md §3.5):
//!
//! - Every record of a page is kept, the extra one included, and numbers are
//!   deduplicated across pages: if the extra record reappears on the next page
//!   (as documented) it is not counted twice; if it does not, it is not lost.
//! - More pages are read while the vendor says `hasMore`, or sent more than
//!   `pageSize` records (a vendor that forgets `hasMore`), or sent exactly
//!   `pageSize` new records (a vendor that forgets the `+ 1`: one extra request
//!   confirms the end).
//! - A page that claims more but brings nothing new (a page that repeats itself,
//!   or an empty page with `hasMore`) is an error, and so is going past
//!   `max_pages`: a listing never loops forever.
//!
//! Records that change while the listing is read (a number bought or
//! disconnected between two pages) can shift the vendor's offsets; that is why
//! the operator also compares the count with its last good listing.

use std::collections::HashSet;

use crate::models::{InventoryNumber, InventoryPage, SkippedRecord};
use crate::types::E164;

/// The default bound on the pages of one listing (a million numbers at 100).
pub const DEFAULT_MAX_PAGES: u32 = 10_000;

/// Why a listing was abandoned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// A page claimed more records but brought no number not already seen.
    #[error("page {page} brought no new record but claims more exist (the vendor repeats a page)")]
    NoProgress {
        /// The page number.
        page: u32,
    },
    /// The listing went past its bound.
    #[error("the listing exceeded {max_pages} pages")]
    TooManyPages {
        /// The bound.
        max_pages: u32,
    },
}

/// A complete listing of the inventory (or of the part a query selects), read
/// in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InventorySnapshot {
    /// Every number, once, in the vendor's order.
    pub numbers: Vec<InventoryNumber>,
    /// Records that were not toll-free E.164 numbers (logged as warnings). They
    /// can belong to no set, so leaving them out cannot cause a purchase or a
    /// disconnect; they are kept here to be counted.
    pub skipped: Vec<SkippedRecord>,
    /// Pages read.
    pub pages: u32,
    /// Records dropped because an earlier page had them (the `pageSize + 1`
    /// extra record, normally one per page).
    pub duplicates: u64,
}

/// What one page contributed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageOutcome {
    /// Numbers not seen on an earlier page, in the vendor's order.
    pub fresh: Vec<InventoryNumber>,
    /// Unreadable records not seen on an earlier page.
    pub skipped: Vec<SkippedRecord>,
    /// Records dropped because an earlier page had them.
    pub duplicates: usize,
}

/// The paging state machine of one listing.
#[derive(Debug, Clone)]
pub struct Pager {
    page_size: u32,
    max_pages: u32,
    next_page: u32,
    pages_read: u32,
    done: bool,
    seen: HashSet<E164>,
    seen_skipped: HashSet<String>,
    duplicates: u64,
}

impl Pager {
    /// A listing of `page_size` records per page, starting at page 1, reading at
    /// most `max_pages` pages.
    pub fn new(page_size: u32, max_pages: u32) -> Self {
        Self {
            page_size: page_size.max(1),
            max_pages: max_pages.max(1),
            next_page: 1,
            pages_read: 0,
            done: false,
            seen: HashSet::new(),
            seen_skipped: HashSet::new(),
            duplicates: 0,
        }
    }

    /// The page to request next, or `None` when the listing is complete.
    pub fn next_page(&self) -> Option<u32> {
        (!self.done).then_some(self.next_page)
    }

    /// Whether the listing is complete.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages_read
    }

    /// Records dropped as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Distinct numbers seen so far.
    pub fn numbers_seen(&self) -> usize {
        self.seen.len()
    }

    /// Takes the page the vendor answered for [`Pager::next_page`]; returns what
    /// it adds, and decides whether another page is needed.
    pub fn accept(&mut self, page: InventoryPage) -> Result<PageOutcome, PagingError> {
        let page_no = self.next_page;
        self.pages_read += 1;
        let records = page.record_count();
        let mut out = PageOutcome::default();
        for n in page.numbers {
            if self.seen.insert(n.endpoint.clone()) {
                out.fresh.push(n);
            } else {
                out.duplicates += 1;
            }
        }
        for s in page.skipped {
            // A record without an endpoint has no identity: keep each one.
            let key = s.endpoint.clone();
            if key.is_none_or(|k| self.seen_skipped.insert(k)) {
                out.skipped.push(s);
            } else {
                out.duplicates += 1;
            }
        }
        self.duplicates += out.duplicates as u64;
        let new_records = out.fresh.len() + out.skipped.len();
        let size = self.page_size as usize;
        let more = page.has_more || records > size || (records == size && new_records > 0);
        if !more {
            self.done = true;
            return Ok(out);
        }
        if new_records == 0 {
            return Err(PagingError::NoProgress { page: page_no });
        }
        if self.pages_read >= self.max_pages {
            return Err(PagingError::TooManyPages {
                max_pages: self.max_pages,
            });
        }
        self.next_page += 1;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(i: u64) -> InventoryNumber {
        let endpoint = E164::parse(&format!("+1800{:07}", i)).expect("valid");
        InventoryNumber {
            endpoint,
            package_id: None,
            account_id: None,
            order_id: None,
            has_cpaas: false,
            label: None,
            number_type: None,
            geo: None,
            media: None,
        }
    }

    fn page(range: std::ops::Range<u64>, has_more: bool) -> InventoryPage {
        InventoryPage {
            numbers: range.map(num).collect(),
            has_more,
            skipped: Vec::new(),
        }
    }

    /// A vendor that follows the reference: page p holds records
    /// [(p-1)N, pN) plus the first of the next page when more exist.
    fn quirky_vendor(total: u64, size: u64, p: u32) -> InventoryPage {
        let start = (u64::from(p) - 1) * size;
        let end = (start + size).min(total);
        let more = end < total;
        page(start.min(total)..if more { end + 1 } else { end }, more)
    }

    fn run(
        size: u32,
        max_pages: u32,
        mut vendor: impl FnMut(u32) -> InventoryPage,
    ) -> Result<(Vec<InventoryNumber>, Pager), PagingError> {
        let mut pager = Pager::new(size, max_pages);
        let mut all = Vec::new();
        while let Some(p) = pager.next_page() {
            all.extend(pager.accept(vendor(p))?.fresh);
        }
        Ok((all, pager))
    }

    #[test]
    fn the_extra_record_is_never_counted_twice_nor_lost() {
        for total in [0, 1, 6, 7, 8, 13, 14, 15, 100, 2500] {
            let (all, pager) = run(7, 1000, |p| quirky_vendor(total, 7, p)).expect("completes");
            assert_eq!(all.len() as u64, total, "total {total}");
            let distinct: HashSet<_> = all.iter().map(|n| n.endpoint.clone()).collect();
            assert_eq!(distinct.len() as u64, total);
            assert!(pager.is_done());
        }
    }

    #[test]
    fn a_full_last_page_costs_one_confirming_request() {
        let (all, pager) = run(7, 100, |p| quirky_vendor(14, 7, p)).expect("completes");
        assert_eq!(all.len(), 14);
        assert_eq!(pager.pages_read(), 3);
        let (_, pager) = run(7, 100, |p| quirky_vendor(13, 7, p)).expect("completes");
        assert_eq!(pager.pages_read(), 2);
    }

    #[test]
    fn page_size_plus_one_without_has_more_still_reads_on() {
        let (all, _) = run(5, 100, |p| {
            let mut pg = quirky_vendor(23, 5, p);
            pg.has_more = false;
            pg
        })
        .expect("completes");
        assert_eq!(all.len(), 23);
    }

    #[test]
    fn a_vendor_without_the_plus_one_loses_nothing() {
        // Pages of exactly N with hasMore, last page short.
        let (all, _) = run(10, 100, |p| {
            let start = u64::from(p - 1) * 10;
            let end = (start + 10).min(25);
            page(start..end, end < 25)
        })
        .expect("completes");
        assert_eq!(all.len(), 25);
    }

    #[test]
    fn short_pages_that_claim_more_are_followed() {
        let (all, _) = run(10, 100, |p| match p {
            1 => page(0..3, true),
            2 => page(3..6, true),
            _ => page(6..7, false),
        })
        .expect("completes");
        assert_eq!(all.len(), 7);
    }

    #[test]
    fn duplicates_across_pages_are_dropped() {
        let (all, pager) = run(3, 100, |p| match p {
            1 => page(0..4, true),
            2 => page(2..6, true),
            _ => page(5..6, false),
        })
        .expect("completes");
        assert_eq!(all.len(), 6);
        assert_eq!(pager.duplicates(), 3);
    }

    #[test]
    fn a_page_that_repeats_itself_is_an_error_not_a_loop() {
        let err = run(3, 100, |_| page(0..4, true)).expect_err("must stop");
        assert_eq!(err, PagingError::NoProgress { page: 2 });
        // A full page without hasMore is confirmed by one more request; if that
        // repeats the page, nothing new exists and the listing ends.
        let (all, pager) = run(3, 100, |_| page(0..3, false)).expect("completes");
        assert_eq!((all.len(), pager.pages_read()), (3, 2));
    }

    #[test]
    fn an_empty_page_that_claims_more_is_an_error() {
        let err = run(3, 100, |p| match p {
            1 => page(0..4, true),
            _ => page(0..0, true),
        })
        .expect_err("must stop");
        assert_eq!(err, PagingError::NoProgress { page: 2 });
    }

    #[test]
    fn an_endless_listing_stops_at_max_pages() {
        let err = run(2, 50, |p| {
            let s = u64::from(p) * 2;
            page(s..s + 3, true)
        })
        .expect_err("must stop");
        assert_eq!(err, PagingError::TooManyPages { max_pages: 50 });
    }

    #[test]
    fn skipped_records_count_as_progress_and_are_deduplicated() {
        let bad = |s: &str| SkippedRecord {
            endpoint: Some(s.to_owned()),
            reason: "not toll-free".into(),
        };
        let mut pager = Pager::new(3, 10);
        let out = pager
            .accept(InventoryPage {
                numbers: vec![num(1), num(2)],
                skipped: vec![bad("+13035550100")],
                has_more: true,
            })
            .expect("ok");
        assert_eq!((out.fresh.len(), out.skipped.len()), (2, 1));
        let out = pager
            .accept(InventoryPage {
                numbers: vec![],
                skipped: vec![bad("+13035550100"), bad("+13035550101")],
                has_more: false,
            })
            .expect("ok");
        assert_eq!((out.skipped.len(), out.duplicates), (1, 1));
        assert!(pager.is_done());
    }
}
