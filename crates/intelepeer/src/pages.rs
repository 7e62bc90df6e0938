//! Reading the inventory listing once, and saying exactly how much of it can be
//! trusted.
//!
//! The operator treats "absent from a complete listing" as "not in the
//! account", which leads to buying or disconnecting (docs/safety.md, rule 8). So the
//! listing is *complete* only if every record was understood and every page
//! agreed with itself; anything else is an [`Anomaly`] that the snapshot
//! reports, and [`InventorySnapshot::is_complete`] is then false.
//!
//! # Paging
//!
//! `GET /my/tf` answers `pageSize + 1` records when more exist (the extra
//! record is the first of the next page) and sets `hasMore`. [`Pager`] is the
//! pure state machine behind it:
//!
//! - Every record of a page is kept, the extra one included, and numbers are
//!   deduplicated across pages: if the extra record reappears on the next page
//!   (as documented) it is not counted twice; if it does not, it is not lost.
//! - The listing ends when a page says `hasMore: false` *and* holds at most
//!   `pageSize` records — a last page that is exactly full costs no extra
//!   request.
//! - A page that contradicts itself is followed as far as the vendor says
//!   there is more, but is an anomaly: `pageSize + 1` records with
//!   `hasMore: false` (reading goes on: the extra record says more exist), or
//!   `hasMore: true` with `pageSize` records or fewer.
//! - Errors, never a listing: a page that claims more but brings nothing new
//!   (it repeats itself, or is empty with `hasMore`), a page of more than
//!   `pageSize + 1` records, and going past `max_pages`. The default bound is
//!   derived from [`MAX_ACCOUNT_NUMBERS`] by [`max_pages_for`].
//!
//! # Records
//!
//! - A valid E.164 number outside the toll-free area codes is understood (no
//!   set can declare it): counted in [`InventorySnapshot::not_toll_free`].
//! - A record without an endpoint, with one that is not E.164 (e.g.
//!   `18775550302` without `+`), or that cannot be read is an anomaly.
//! - A number without `packageID` is an anomaly, and is left out of
//!   [`InventorySnapshot::numbers`].
//! - The same number twice with the same `packageID`, `accountID` and
//!   `orderID` is a normal repeat (the documented overlap); with different ones
//!   it is an anomaly, and the number is left out of `numbers`: neither record
//!   is trusted. Other fields (label, media, geo) may be edited while a listing
//!   runs and decide nothing, so they are not compared.
//!
//! Numbers left out for an anomaly are still owned — the vendor listed them —
//! and are named in [`InventorySnapshot::doubtful`], so a caller never buys
//! them.
//!
//! Records that change while the listing is read (a number bought or
//! disconnected between two pages) can shift the vendor's offsets; the
//! operator also compares the count with its last trusted listing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use crate::models::{InventoryNumber, InventoryPage, MAX_PAGE_SIZE, SkipReason};
use crate::types::{E164, OrderId, PackageId};

/// The largest account the operator supports, in numbers. It sizes the default
/// page bound ([`max_pages_for`]); a larger account needs
/// `ClientConfig::max_account_numbers` raised.
pub const MAX_ACCOUNT_NUMBERS: u64 = 100_000;

/// Pages allowed beyond what [`MAX_ACCOUNT_NUMBERS`] needs: numbers bought
/// while a listing runs push records onto later pages.
pub const PAGE_SLACK: u32 = 10;

/// The most anomalies a snapshot describes one by one (each a log line);
/// beyond it they are only counted in [`InventorySnapshot::anomaly_counts`].
pub const MAX_ANOMALY_DETAILS: usize = 1_000;

/// The page bound of a listing of `page_size` records per page (clamped to
/// 1..=100) on an account of at most `max_account_numbers` numbers:
/// ⌈max_account_numbers / page_size⌉ + [`PAGE_SLACK`]. At the defaults
/// (100,000 numbers, 100 per page) that is 1,010 pages.
pub fn max_pages_for(max_account_numbers: u64, page_size: u32) -> u32 {
    let size = u64::from(page_size.clamp(1, MAX_PAGE_SIZE));
    let pages = max_account_numbers
        .div_ceil(size)
        .max(1)
        .saturating_add(u64::from(PAGE_SLACK));
    u32::try_from(pages).unwrap_or(u32::MAX)
}

/// Why a listing was abandoned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// A page claimed more records but brought no record not already seen.
    #[error("page {page} brought no new record but claims more exist (the vendor repeats a page)")]
    NoProgress {
        /// The page number.
        page: u32,
    },
    /// The listing went past its bound.
    #[error(
        "the listing went past {max_pages} pages, more than the largest supported account needs (raise max_account_numbers if the account is larger)"
    )]
    TooManyPages {
        /// The bound.
        max_pages: u32,
    },
    /// A page held more records than the vendor ever sends (`pageSize + 1`).
    #[error("page {page} holds {records} records, more than pageSize {page_size} + 1")]
    OversizedPage {
        /// The page number.
        page: u32,
        /// How many records it held.
        records: usize,
        /// The page size asked for.
        page_size: u32,
    },
    /// The listing was stopped before its last page.
    #[error("the listing stopped after {pages_read} pages, before its last page")]
    Unfinished {
        /// Pages read.
        pages_read: u32,
    },
}

/// The fields of a record the operator decides on; two records of one number
/// that differ here conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordFields {
    /// `packageID`.
    pub package_id: Option<PackageId>,
    /// `accountID`.
    pub account_id: Option<u64>,
    /// `orderID`.
    pub order_id: Option<OrderId>,
}

impl RecordFields {
    fn of(n: &InventoryNumber) -> Self {
        Self {
            package_id: n.package_id,
            account_id: n.account_id,
            order_id: n.order_id,
        }
    }
}

impl fmt::Display for RecordFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt(v: Option<impl fmt::Display>) -> String {
            v.map_or_else(|| "none".to_owned(), |v| v.to_string())
        }
        write!(
            f,
            "packageID {}, accountID {}, orderID {}",
            opt(self.package_id),
            opt(self.account_id),
            opt(self.order_id)
        )
    }
}

/// What kind of [`Anomaly`]: the low-cardinality key for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    /// See [`Anomaly::MissingEndpoint`].
    MissingEndpoint,
    /// See [`Anomaly::MalformedEndpoint`].
    MalformedEndpoint,
    /// See [`Anomaly::UnreadableRecord`].
    UnreadableRecord,
    /// See [`Anomaly::MissingPackage`].
    MissingPackage,
    /// See [`Anomaly::ConflictingDuplicate`].
    ConflictingDuplicate,
    /// See [`Anomaly::ExtraRecordWithoutHasMore`].
    ExtraRecordWithoutHasMore,
    /// See [`Anomaly::HasMoreWithoutExtraRecord`].
    HasMoreWithoutExtraRecord,
}

impl AnomalyKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 7] = [
        Self::MissingEndpoint,
        Self::MalformedEndpoint,
        Self::UnreadableRecord,
        Self::MissingPackage,
        Self::ConflictingDuplicate,
        Self::ExtraRecordWithoutHasMore,
        Self::HasMoreWithoutExtraRecord,
    ];

    /// A stable snake_case label for metrics and logs, e.g. `missing_package`.
    pub fn label(self) -> &'static str {
        match self {
            Self::MissingEndpoint => "missing_endpoint",
            Self::MalformedEndpoint => "malformed_endpoint",
            Self::UnreadableRecord => "unreadable_record",
            Self::MissingPackage => "missing_package",
            Self::ConflictingDuplicate => "conflicting_duplicate",
            Self::ExtraRecordWithoutHasMore => "extra_record_without_has_more",
            Self::HasMoreWithoutExtraRecord => "has_more_without_extra_record",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Something in a listing the client cannot vouch for. Any anomaly makes the
/// listing incomplete. Each names the page (from 1), the record (its position
/// in the page from 0, or its number) and why; its `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A record without `endpoint` (absent or `null`).
    MissingEndpoint {
        /// The page.
        page: u32,
        /// The record's position in the page.
        index: usize,
    },
    /// A record whose endpoint is not E.164 (`18775550302` without `+`,
    /// garbage, a value that is not a string or a number).
    MalformedEndpoint {
        /// The page.
        page: u32,
        /// The record's position in the page.
        index: usize,
        /// The raw endpoint, shortened.
        endpoint: String,
    },
    /// A record that could not be read at all (e.g. not a JSON object).
    UnreadableRecord {
        /// The page.
        page: u32,
        /// The record's position in the page.
        index: usize,
        /// What failed.
        reason: String,
    },
    /// A number listed without `packageID`: it is owned, but where it sits is
    /// unknown. Left out of the snapshot's numbers.
    MissingPackage {
        /// The page.
        page: u32,
        /// The number.
        number: E164,
    },
    /// One number listed twice with different `packageID`, `accountID` or
    /// `orderID`. Left out of the snapshot's numbers.
    ConflictingDuplicate {
        /// The number.
        number: E164,
        /// The page of its first record.
        first_page: u32,
        /// What the first record said.
        first: RecordFields,
        /// The page of the record that disagrees.
        page: u32,
        /// What that record said.
        second: RecordFields,
    },
    /// A page of more than `pageSize` records (the extra one means more exist)
    /// that says `hasMore: false`. The next page is read anyway.
    ExtraRecordWithoutHasMore {
        /// The page.
        page: u32,
        /// Records on it.
        records: usize,
        /// The page size asked for.
        page_size: u32,
    },
    /// A page that says `hasMore: true` but holds `pageSize` records or fewer
    /// (the vendor sends `pageSize + 1` when more exist). The next page is read.
    HasMoreWithoutExtraRecord {
        /// The page.
        page: u32,
        /// Records on it.
        records: usize,
        /// The page size asked for.
        page_size: u32,
    },
}

impl Anomaly {
    /// Its kind (for counting).
    pub fn kind(&self) -> AnomalyKind {
        match self {
            Self::MissingEndpoint { .. } => AnomalyKind::MissingEndpoint,
            Self::MalformedEndpoint { .. } => AnomalyKind::MalformedEndpoint,
            Self::UnreadableRecord { .. } => AnomalyKind::UnreadableRecord,
            Self::MissingPackage { .. } => AnomalyKind::MissingPackage,
            Self::ConflictingDuplicate { .. } => AnomalyKind::ConflictingDuplicate,
            Self::ExtraRecordWithoutHasMore { .. } => AnomalyKind::ExtraRecordWithoutHasMore,
            Self::HasMoreWithoutExtraRecord { .. } => AnomalyKind::HasMoreWithoutExtraRecord,
        }
    }

    /// Its kind's stable label, e.g. `conflicting_duplicate`.
    pub fn label(&self) -> &'static str {
        self.kind().label()
    }

    /// The page it was found on (for a conflict, the page that disagreed).
    pub fn page(&self) -> u32 {
        match self {
            Self::MissingEndpoint { page, .. }
            | Self::MalformedEndpoint { page, .. }
            | Self::UnreadableRecord { page, .. }
            | Self::MissingPackage { page, .. }
            | Self::ConflictingDuplicate { page, .. }
            | Self::ExtraRecordWithoutHasMore { page, .. }
            | Self::HasMoreWithoutExtraRecord { page, .. } => *page,
        }
    }

    /// The number it is about, when the record had a readable one.
    pub fn number(&self) -> Option<&E164> {
        match self {
            Self::MissingPackage { number, .. } | Self::ConflictingDuplicate { number, .. } => {
                Some(number)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingEndpoint { page, index } => {
                write!(f, "page {page}, record {index}: no endpoint")
            }
            Self::MalformedEndpoint {
                page,
                index,
                endpoint,
            } => write!(
                f,
                "page {page}, record {index}: endpoint {endpoint:?} is not E.164 ('+1' and 10 digits)"
            ),
            Self::UnreadableRecord {
                page,
                index,
                reason,
            } => write!(f, "page {page}, record {index}: {reason}"),
            Self::MissingPackage { page, number } => {
                write!(f, "page {page}: {number} is listed without a packageID")
            }
            Self::ConflictingDuplicate {
                number,
                first_page,
                first,
                page,
                second,
            } => write!(
                f,
                "{number} is listed twice with different fields: page {first_page} says {first}, page {page} says {second}"
            ),
            Self::ExtraRecordWithoutHasMore {
                page,
                records,
                page_size,
            } => write!(
                f,
                "page {page} holds {records} records (pageSize {page_size} + 1 means more exist) but says hasMore: false"
            ),
            Self::HasMoreWithoutExtraRecord {
                page,
                records,
                page_size,
            } => write!(
                f,
                "page {page} says hasMore: true but holds only {records} records (pageSize {page_size}; more is signalled by pageSize + 1)"
            ),
        }
    }
}

/// One listing of the inventory (or of the part a query selects), read in one
/// pass, with the verdict on how far it can be trusted. Built only by
/// [`Pager::finish`]: there is no empty "complete" default.
#[derive(Debug, Clone, PartialEq)]
pub struct InventorySnapshot {
    /// Every understood toll-free number, once, in the vendor's order. Numbers
    /// with an anomaly (no package, conflicting records) are not here but in
    /// [`InventorySnapshot::doubtful`].
    pub numbers: Vec<InventoryNumber>,
    /// Numbers the vendor listed but whose records cannot be trusted (no
    /// package, conflicting duplicates), once each, in the vendor's order.
    /// They are owned: never buy them.
    pub doubtful: Vec<E164>,
    /// Valid E.164 numbers outside the toll-free area codes: understood, they
    /// can belong to no set. Once each.
    pub not_toll_free: Vec<String>,
    /// The anomalies, page by page (within a page: those of readable numbers,
    /// then unreadable records, then the page's own); at most
    /// [`MAX_ANOMALY_DETAILS`].
    pub anomalies: Vec<Anomaly>,
    /// How many anomalies of each kind were found, all of them (also those
    /// beyond [`MAX_ANOMALY_DETAILS`]). Empty when the listing is complete.
    pub anomaly_counts: BTreeMap<AnomalyKind, u64>,
    /// Pages read.
    pub pages: u32,
    /// Identical repeats dropped (the `pageSize + 1` extra record, normally one
    /// per page but the last).
    pub duplicates: u64,
}

impl InventorySnapshot {
    /// Whether every record was understood and every page agreed with
    /// `hasMore`: only then may absence from the listing mean "not in the
    /// account".
    pub fn is_complete(&self) -> bool {
        self.anomaly_counts.is_empty()
    }

    /// All anomalies found, described or not.
    pub fn anomaly_total(&self) -> u64 {
        self.anomaly_counts.values().sum()
    }

    /// Anomalies counted but not described (beyond [`MAX_ANOMALY_DETAILS`]).
    pub fn anomalies_omitted(&self) -> u64 {
        self.anomaly_total()
            .saturating_sub(self.anomalies.len() as u64)
    }
}

/// What one page contributed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageOutcome {
    /// Understood numbers not seen on an earlier page, in the vendor's order.
    /// A later conflicting record can still make one doubtful: only
    /// [`Pager::finish`] gives the final verdict.
    pub fresh: Vec<InventoryNumber>,
    /// Anomalies this page raised.
    pub anomalies: usize,
    /// Identical repeats dropped.
    pub duplicates: usize,
}

/// What the pager remembers of a number it has seen.
#[derive(Debug, Clone)]
struct Sighting {
    first_page: u32,
    fields: RecordFields,
    /// Whether the number is doubtful (no package, or conflicting records).
    doubtful: bool,
}

/// The paging state machine of one listing (see the module documentation).
#[derive(Debug, Clone)]
pub struct Pager {
    page_size: u32,
    max_pages: u32,
    next_page: u32,
    pages_read: u32,
    done: bool,
    seen: HashMap<E164, Sighting>,
    /// Raw endpoints of records that are not toll-free numbers, seen so far.
    seen_other: HashSet<String>,
    duplicates: u64,
    doubtful: Vec<E164>,
    not_toll_free: Vec<String>,
    anomalies: Vec<Anomaly>,
    anomaly_counts: BTreeMap<AnomalyKind, u64>,
}

impl Pager {
    /// A listing of `page_size` records per page, starting at page 1, reading at
    /// most `max_pages` pages.
    pub fn new(page_size: u32, max_pages: u32) -> Self {
        Self {
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            max_pages: max_pages.max(1),
            next_page: 1,
            pages_read: 0,
            done: false,
            seen: HashMap::new(),
            seen_other: HashSet::new(),
            duplicates: 0,
            doubtful: Vec::new(),
            not_toll_free: Vec::new(),
            anomalies: Vec::new(),
            anomaly_counts: BTreeMap::new(),
        }
    }

    /// A listing bounded for an account of at most `max_account_numbers`
    /// numbers ([`max_pages_for`]).
    pub fn for_account_size(page_size: u32, max_account_numbers: u64) -> Self {
        Self::new(page_size, max_pages_for(max_account_numbers, page_size))
    }

    /// The page to request next, or `None` when the listing is over.
    pub fn next_page(&self) -> Option<u32> {
        (!self.done).then_some(self.next_page)
    }

    /// Whether the listing is over (complete or not: see
    /// [`InventorySnapshot::is_complete`]).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages_read
    }

    /// The page bound.
    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    /// Identical repeats dropped so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Distinct numbers seen so far (doubtful ones included).
    pub fn numbers_seen(&self) -> usize {
        self.seen.len()
    }

    /// Anomalies found so far.
    pub fn anomaly_total(&self) -> u64 {
        self.anomaly_counts.values().sum()
    }

    fn report(&mut self, anomaly: Anomaly) {
        *self.anomaly_counts.entry(anomaly.kind()).or_default() += 1;
        if self.anomalies.len() < MAX_ANOMALY_DETAILS {
            self.anomalies.push(anomaly);
        }
    }

    fn mark_doubtful(&mut self, number: &E164) {
        if let Some(s) = self.seen.get_mut(number)
            && !s.doubtful
        {
            s.doubtful = true;
            self.doubtful.push(number.clone());
        }
    }

    /// Takes the page the vendor answered for [`Pager::next_page`]; returns what
    /// it adds, and decides whether another page is needed.
    pub fn accept(&mut self, page: InventoryPage) -> Result<PageOutcome, PagingError> {
        let page_no = self.next_page;
        self.pages_read += 1;
        let records = page.record_count();
        let size = self.page_size as usize;
        if records > size + 1 {
            return Err(PagingError::OversizedPage {
                page: page_no,
                records,
                page_size: self.page_size,
            });
        }
        let anomalies_before = self.anomaly_total();
        let mut out = PageOutcome::default();
        // Records seen for the first time (fresh, doubtful or not toll-free):
        // a page without any brings nothing new.
        let mut new_records = 0usize;
        for n in page.numbers {
            let fields = RecordFields::of(&n);
            if let Some(earlier) = self.seen.get(&n.endpoint) {
                if earlier.fields == fields {
                    out.duplicates += 1;
                    continue;
                }
                let anomaly = Anomaly::ConflictingDuplicate {
                    number: n.endpoint.clone(),
                    first_page: earlier.first_page,
                    first: earlier.fields,
                    page: page_no,
                    second: fields,
                };
                self.report(anomaly);
                self.mark_doubtful(&n.endpoint);
                continue;
            }
            new_records += 1;
            self.seen.insert(
                n.endpoint.clone(),
                Sighting {
                    first_page: page_no,
                    fields,
                    doubtful: false,
                },
            );
            if n.package_id.is_none() {
                self.report(Anomaly::MissingPackage {
                    page: page_no,
                    number: n.endpoint.clone(),
                });
                self.mark_doubtful(&n.endpoint);
                continue;
            }
            out.fresh.push(n);
        }
        for s in page.skipped {
            // A record with an endpoint is identified by it: its repeat (the
            // overlap) is reported once. One without has no identity.
            if let Some(raw) = &s.endpoint
                && !self.seen_other.insert(raw.clone())
            {
                out.duplicates += 1;
                continue;
            }
            new_records += 1;
            let (page, index) = (page_no, s.index);
            match s.reason {
                SkipReason::NotTollFree { .. } => {
                    self.not_toll_free.push(s.endpoint.unwrap_or_default());
                }
                SkipReason::MissingEndpoint => {
                    self.report(Anomaly::MissingEndpoint { page, index })
                }
                SkipReason::NotE164 => self.report(Anomaly::MalformedEndpoint {
                    page,
                    index,
                    endpoint: s.endpoint.unwrap_or_default(),
                }),
                SkipReason::Unreadable { message } => self.report(Anomaly::UnreadableRecord {
                    page,
                    index,
                    reason: message,
                }),
            }
        }
        self.duplicates += out.duplicates as u64;
        let extra = records > size;
        if extra && !page.has_more {
            self.report(Anomaly::ExtraRecordWithoutHasMore {
                page: page_no,
                records,
                page_size: self.page_size,
            });
        }
        if page.has_more && !extra {
            self.report(Anomaly::HasMoreWithoutExtraRecord {
                page: page_no,
                records,
                page_size: self.page_size,
            });
        }
        out.anomalies = usize::try_from(self.anomaly_total() - anomalies_before).unwrap_or(0);
        if !page.has_more && !extra {
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

    /// The snapshot of the listing, given the numbers collected from every
    /// page's [`PageOutcome::fresh`] (in order): numbers that turned doubtful
    /// on a later page are taken out. Refused while pages remain to be read
    /// (a listing stopped early is no listing).
    pub fn finish(
        self,
        mut numbers: Vec<InventoryNumber>,
    ) -> Result<InventorySnapshot, PagingError> {
        if !self.done {
            return Err(PagingError::Unfinished {
                pages_read: self.pages_read,
            });
        }
        numbers.retain(|n| self.seen.get(&n.endpoint).is_none_or(|s| !s.doubtful));
        Ok(InventorySnapshot {
            numbers,
            doubtful: self.doubtful,
            not_toll_free: self.not_toll_free,
            anomalies: self.anomalies,
            anomaly_counts: self.anomaly_counts,
            pages: self.pages_read,
            duplicates: self.duplicates,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const PKG: u64 = 30744;

    fn number(i: u64) -> String {
        format!("+1800{:07}", i)
    }

    fn rec(i: u64) -> Value {
        json!({"endpoint": number(i), "packageID": PKG, "accountID": 1004318})
    }

    fn page_of(records: Vec<Value>, has_more: bool) -> InventoryPage {
        serde_json::from_value(json!({"endpoints": records, "hasMore": has_more})).expect("a page")
    }

    fn page(range: std::ops::Range<u64>, has_more: bool) -> InventoryPage {
        page_of(range.map(rec).collect(), has_more)
    }

    /// A vendor that follows the reference: page p holds records
    /// [(p-1)N, pN) plus the first of the next page when more exist.
    fn reference_vendor(total: u64, size: u64, p: u32) -> InventoryPage {
        let start = (u64::from(p) - 1) * size;
        let end = (start + size).min(total);
        let more = end < total;
        page(start.min(total)..if more { end + 1 } else { end }, more)
    }

    fn run(
        size: u32,
        max_pages: u32,
        mut vendor: impl FnMut(u32) -> InventoryPage,
    ) -> Result<InventorySnapshot, PagingError> {
        let mut pager = Pager::new(size, max_pages);
        let mut all = Vec::new();
        while let Some(p) = pager.next_page() {
            all.extend(pager.accept(vendor(p))?.fresh);
        }
        pager.finish(all)
    }

    fn numbers(s: &InventorySnapshot) -> Vec<String> {
        s.numbers.iter().map(|n| n.endpoint.to_string()).collect()
    }

    fn kinds(s: &InventorySnapshot) -> Vec<AnomalyKind> {
        s.anomalies.iter().map(Anomaly::kind).collect()
    }

    #[test]
    fn a_reference_listing_is_complete_with_each_number_once_and_one_request_per_page() {
        for total in [0, 1, 6, 7, 8, 13, 14, 15, 100, 2500] {
            let s = run(7, 1000, |p| reference_vendor(total, 7, p)).expect("completes");
            assert!(s.is_complete(), "total {total}: {:?}", s.anomalies);
            assert_eq!(s.numbers.len() as u64, total, "total {total}");
            let distinct: HashSet<_> = numbers(&s).into_iter().collect();
            assert_eq!(distinct.len() as u64, total);
            let pages = u32::try_from(total.div_ceil(7).max(1)).expect("small");
            assert_eq!(s.pages, pages, "total {total}: no extra request");
            assert_eq!(
                s.duplicates,
                u64::from(pages - 1),
                "the overlap, once per page"
            );
        }
    }

    #[test]
    fn a_full_last_page_without_has_more_ends_the_listing() {
        let s = run(7, 100, |p| reference_vendor(14, 7, p)).expect("completes");
        assert_eq!((s.numbers.len(), s.pages), (14, 2));
        assert!(s.is_complete());
        let s = run(3, 100, |_| page(0..3, false)).expect("completes");
        assert_eq!((s.numbers.len(), s.pages), (3, 1));
    }

    #[test]
    fn an_extra_record_without_has_more_is_read_on_and_is_an_anomaly() {
        let s = run(5, 100, |p| {
            let mut pg = reference_vendor(23, 5, p);
            pg.has_more = false;
            pg
        })
        .expect("completes");
        assert_eq!(s.numbers.len(), 23, "nothing lost");
        assert!(!s.is_complete());
        assert_eq!(
            s.anomalies,
            (1..=4)
                .map(|page| Anomaly::ExtraRecordWithoutHasMore {
                    page,
                    records: 6,
                    page_size: 5
                })
                .collect::<Vec<_>>()
        );
        assert_eq!(
            s.anomaly_counts
                .get(&AnomalyKind::ExtraRecordWithoutHasMore),
            Some(&4)
        );
    }

    #[test]
    fn has_more_on_a_page_without_the_extra_record_is_followed_and_is_an_anomaly() {
        // Pages of exactly N with hasMore (no `+ 1`), last page short.
        let s = run(10, 100, |p| {
            let start = u64::from(p - 1) * 10;
            let end = (start + 10).min(25);
            page(start..end, end < 25)
        })
        .expect("completes");
        assert_eq!(s.numbers.len(), 25, "nothing lost");
        assert_eq!(s.pages, 3);
        assert_eq!(
            kinds(&s),
            vec![AnomalyKind::HasMoreWithoutExtraRecord; 2],
            "{:?}",
            s.anomalies
        );
        // Short pages that claim more.
        let s = run(10, 100, |p| match p {
            1 => page(0..3, true),
            2 => page(3..6, true),
            _ => page(6..7, false),
        })
        .expect("completes");
        assert_eq!(s.numbers.len(), 7);
        assert_eq!(
            s.anomalies[0],
            Anomaly::HasMoreWithoutExtraRecord {
                page: 1,
                records: 3,
                page_size: 10
            }
        );
        assert!(!s.is_complete());
    }

    #[test]
    fn identical_repeats_are_normal_and_dropped() {
        let s = run(3, 100, |p| match p {
            1 => page(0..4, true),
            2 => page(2..6, true),
            _ => page(5..6, false),
        })
        .expect("completes");
        assert_eq!(s.numbers.len(), 6);
        assert_eq!(s.duplicates, 3);
        assert!(s.is_complete());
    }

    #[test]
    fn a_number_listed_twice_with_different_packages_is_left_out_as_doubtful() {
        let conflicting = json!({"endpoint": number(3), "packageID": 24188, "accountID": 1004318});
        let s = run(3, 100, |p| match p {
            1 => page(0..4, true),
            _ => page_of(vec![conflicting.clone(), rec(4), rec(5)], false),
        })
        .expect("completes");
        assert_eq!(
            numbers(&s),
            [0, 1, 2, 4, 5].map(number).to_vec(),
            "neither record of +18000000003 is trusted"
        );
        assert_eq!(s.doubtful, vec![E164::parse(&number(3)).expect("valid")]);
        let pkg = |id| Some(PackageId::new(id).expect("nonzero"));
        assert_eq!(
            s.anomalies,
            vec![Anomaly::ConflictingDuplicate {
                number: E164::parse(&number(3)).expect("valid"),
                first_page: 1,
                first: RecordFields {
                    package_id: pkg(PKG),
                    account_id: Some(1004318),
                    order_id: None
                },
                page: 2,
                second: RecordFields {
                    package_id: pkg(24188),
                    account_id: Some(1004318),
                    order_id: None
                },
            }]
        );
        assert!(!s.is_complete());
        // On one page too, and a different orderID conflicts as well.
        let s = run(5, 10, |_| {
            page_of(
                vec![
                    rec(1),
                    json!({"endpoint": number(1), "packageID": PKG, "accountID": 1004318, "orderID": 9}),
                    rec(2),
                ],
                false,
            )
        })
        .expect("completes");
        assert_eq!(numbers(&s), vec![number(2)]);
        assert_eq!(kinds(&s), vec![AnomalyKind::ConflictingDuplicate]);
    }

    #[test]
    fn a_label_that_changes_between_pages_is_no_conflict() {
        let relabelled =
            json!({"endpoint": number(3), "packageID": PKG, "accountID": 1004318, "label": "new"});
        let s = run(3, 100, |p| match p {
            1 => page(0..4, true),
            _ => page_of(vec![relabelled.clone(), rec(4)], false),
        })
        .expect("completes");
        assert!(s.is_complete(), "{:?}", s.anomalies);
        assert_eq!(s.numbers.len(), 5);
    }

    #[test]
    fn a_number_without_a_package_is_left_out_as_doubtful() {
        let s = run(5, 10, |_| {
            page_of(
                vec![
                    rec(1),
                    json!({"endpoint": number(2), "packageID": null}),
                    rec(3),
                ],
                false,
            )
        })
        .expect("completes");
        assert_eq!(numbers(&s), vec![number(1), number(3)]);
        assert_eq!(s.doubtful, vec![E164::parse(&number(2)).expect("valid")]);
        assert_eq!(
            s.anomalies,
            vec![Anomaly::MissingPackage {
                page: 1,
                number: E164::parse(&number(2)).expect("valid")
            }]
        );
    }

    #[test]
    fn unreadable_records_are_anomalies_naming_page_and_position() {
        let cases: Vec<(Value, Anomaly)> = vec![
            (
                json!({"endpoint": "18775550302", "packageID": PKG}),
                Anomaly::MalformedEndpoint {
                    page: 2,
                    index: 1,
                    endpoint: "18775550302".into(),
                },
            ),
            (
                json!({"endpoint": "+1877555030", "packageID": PKG}),
                Anomaly::MalformedEndpoint {
                    page: 2,
                    index: 1,
                    endpoint: "+1877555030".into(),
                },
            ),
            (
                json!({"endpoint": "garbage\n<html>", "packageID": PKG}),
                Anomaly::MalformedEndpoint {
                    page: 2,
                    index: 1,
                    endpoint: "garbage <html>".into(),
                },
            ),
            (
                json!({"endpoint": true, "packageID": PKG}),
                Anomaly::MalformedEndpoint {
                    page: 2,
                    index: 1,
                    endpoint: "true".into(),
                },
            ),
            (
                json!({"packageID": PKG}),
                Anomaly::MissingEndpoint { page: 2, index: 1 },
            ),
            (
                json!({"endpoint": null, "packageID": PKG}),
                Anomaly::MissingEndpoint { page: 2, index: 1 },
            ),
            (
                json!("+18005550100"),
                Anomaly::UnreadableRecord {
                    page: 2,
                    index: 1,
                    reason: "the record is a string, not an object".into(),
                },
            ),
        ];
        for (bad, expected) in cases {
            let s = run(3, 10, |p| match p {
                1 => page(0..4, true),
                _ => page_of(vec![rec(3), bad.clone(), rec(4)], false),
            })
            .expect("completes");
            assert_eq!(s.anomalies, vec![expected], "{bad}");
            assert!(!s.is_complete(), "{bad}");
            assert_eq!(s.numbers.len(), 5, "{bad}: the readable records are kept");
            let text = s.anomalies[0].to_string();
            assert!(text.starts_with("page 2, record 1: "), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn a_long_garbage_endpoint_is_shortened() {
        let s = run(3, 10, |_| {
            page_of(
                vec![json!({"endpoint": "x".repeat(100_000), "packageID": PKG})],
                false,
            )
        })
        .expect("completes");
        let Anomaly::MalformedEndpoint { endpoint, .. } = &s.anomalies[0] else {
            panic!("{:?}", s.anomalies);
        };
        assert!(endpoint.chars().count() <= crate::models::MAX_RAW_ENDPOINT_CHARS + 1);
    }

    #[test]
    fn a_valid_number_outside_toll_free_is_understood_and_counted() {
        let s = run(3, 10, |p| match p {
            1 => page_of(
                vec![
                    rec(1),
                    json!({"endpoint": "+13035550100", "packageID": PKG}),
                    rec(2),
                    json!({"endpoint": "+13035550101"}),
                ],
                true,
            ),
            // The overlap repeats the last one: counted once.
            _ => page_of(vec![json!({"endpoint": "+13035550101"}), rec(3)], false),
        })
        .expect("completes");
        assert!(s.is_complete(), "{:?}", s.anomalies);
        assert_eq!(s.not_toll_free, vec!["+13035550100", "+13035550101"]);
        assert_eq!(s.numbers.len(), 3);
        assert_eq!(s.duplicates, 1);
    }

    #[test]
    fn a_repeated_or_empty_page_that_claims_more_is_an_error_not_a_loop() {
        let err = run(3, 100, |_| page(0..4, true)).expect_err("must stop");
        assert_eq!(err, PagingError::NoProgress { page: 2 });
        let err = run(3, 100, |_| page(0..4, false)).expect_err("must stop");
        assert_eq!(err, PagingError::NoProgress { page: 2 });
        let err = run(3, 100, |p| match p {
            1 => page(0..4, true),
            _ => page(0..0, true),
        })
        .expect_err("must stop");
        assert_eq!(err, PagingError::NoProgress { page: 2 });
        // Conflicting repeats bring nothing new either.
        let err = run(3, 100, |p| {
            let package = 1 + u64::from(p);
            page_of(
                (0..4)
                    .map(|i| json!({"endpoint": number(i), "packageID": package}))
                    .collect(),
                true,
            )
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
    fn the_page_bound_follows_the_largest_supported_account() {
        assert_eq!(max_pages_for(MAX_ACCOUNT_NUMBERS, 100), 1_000 + PAGE_SLACK);
        assert_eq!(max_pages_for(100_000, 7), 14_286 + PAGE_SLACK);
        assert_eq!(max_pages_for(0, 100), 1 + PAGE_SLACK);
        assert_eq!(
            max_pages_for(100_000, 0),
            100_000 + PAGE_SLACK,
            "page size clamped to 1"
        );
        assert_eq!(max_pages_for(u64::MAX, 1), u32::MAX);
        // An account of exactly the supported size lists within the bound.
        let mut pager = Pager::for_account_size(100, 2_000);
        assert_eq!(pager.max_pages(), 30);
        let s = {
            let mut all = Vec::new();
            while let Some(p) = pager.next_page() {
                all.extend(
                    pager
                        .accept(reference_vendor(2_000, 100, p))
                        .expect("ok")
                        .fresh,
                );
            }
            pager.finish(all).expect("done")
        };
        assert_eq!((s.numbers.len(), s.pages), (2_000, 20));
    }

    #[test]
    fn a_page_beyond_page_size_plus_one_is_an_error() {
        let err = run(3, 10, |_| page(0..5, true)).expect_err("oversized");
        assert_eq!(
            err,
            PagingError::OversizedPage {
                page: 1,
                records: 5,
                page_size: 3
            }
        );
    }

    #[test]
    fn a_listing_stopped_early_yields_no_snapshot() {
        let mut pager = Pager::new(3, 10);
        pager.accept(page(0..4, true)).expect("ok");
        assert_eq!(
            pager.finish(Vec::new()),
            Err(PagingError::Unfinished { pages_read: 1 })
        );
    }

    #[test]
    fn anomalies_beyond_the_detail_cap_are_still_counted() {
        // Pages of records without an endpoint: each an anomaly.
        let pages = 15u32;
        let s = run(100, 100, |p| {
            let records = if p < pages { 101 } else { 100 };
            page_of(vec![json!({"packageID": PKG}); records], p < pages)
        })
        .expect("completes");
        let expected = u64::from(pages - 1) * 101 + 100;
        assert_eq!(s.anomaly_total(), expected);
        assert_eq!(s.anomalies.len(), MAX_ANOMALY_DETAILS);
        assert_eq!(s.anomalies_omitted(), expected - MAX_ANOMALY_DETAILS as u64);
        assert_eq!(
            s.anomaly_counts.get(&AnomalyKind::MissingEndpoint),
            Some(&expected)
        );
        assert_eq!(s.anomaly_counts.len(), 1);
    }

    #[test]
    fn anomaly_labels_are_stable_distinct_snake_case() {
        let labels: Vec<_> = AnomalyKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(
            labels,
            [
                "missing_endpoint",
                "malformed_endpoint",
                "unreadable_record",
                "missing_package",
                "conflicting_duplicate",
                "extra_record_without_has_more",
                "has_more_without_extra_record",
            ]
        );
        let distinct: HashSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), labels.len());
    }
}
