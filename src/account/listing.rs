//! The account's inventory as its worker knows it: one view built from full
//! walks of `GET /my/tf` and kept current between them by *filtered* listings
//! (`packageID[]` for the packages orders touched, `like` for exact numbers a
//! spec asks for), with when each part was last listed ([`Coverage`]).
//!
//! What a listing may change, by kind:
//!
//! | listing | adds / updates records | may remove records | absence trusted (`complete`) |
//! |---|---|---|---|
//! | full walk, every record understood | all | every record not listed | yes (the planner still checks plausibility) |
//! | full walk with anomalies | all it understood | none | no, until the next complete walk |
//! | packages, complete | the listed ones | a number of those packages with a disconnect in flight | unchanged; a number gone from a listed package without a disconnect of ours forces a walk |
//! | exact number, complete | that number | none (an absent number that the view had forces a walk) | unchanged |
//! | any filtered listing with anomalies | what it understood | none | no, until the next complete walk |
//!
//! So a filtered listing never makes a number *absent* on its own: absence —
//! which leads to buying or disconnecting — rests on a complete full walk, or
//! on a package listing confirming the disconnect this operator ordered.
//! Coverage is recorded only for complete listings, and is what "fresh before
//! buying" checks ([`tollfree_plan::Coverage`]).
//!
//! The *trusted count* (the planner's plausibility baseline) is the size of
//! the last full walk the planner trusted ([`tollfree_plan::Plan::trusted_count`]);
//! it lives here and, across restarts, in the sets' status (`inventoryCount`).
//!
//! Pure: the listings come in as values; [`super::vendor`] does the I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use intelepeer::{E164, InventorySnapshot, PackageId};
use jiff::Timestamp;
use tokio::time::Instant;
use tollfree_plan::{Coverage, Inventory, Owned};

/// How soon a full walk follows one the planner could not trust (incomplete,
/// or implausibly small): absence must be re-checked soon, not a resync later.
pub const UNTRUSTED_RECHECK: Duration = Duration::from_secs(60);

/// What a listing brought that a person or a metric should know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// The listing had anomalies (counted by kind label).
    pub anomalies: BTreeMap<&'static str, u64>,
    /// A number the view had is gone from a complete filtered listing without
    /// a disconnect of ours explaining it: a full walk must decide.
    pub contradicted: bool,
}

/// The account's inventory view.
#[derive(Debug, Default)]
pub struct AccountInventory {
    numbers: BTreeMap<E164, Owned>,
    /// The last full walk was complete and nothing contradicted it since.
    complete: bool,
    /// When the last full walk (complete or not) finished.
    walked: Option<Instant>,
    /// When the last full walk finished, wall clock.
    taken_at: Option<Timestamp>,
    coverage: Coverage,
    /// A full walk is due now: a filtered listing contradicted the view, or a
    /// vendor answer disproved it.
    walk_now: bool,
    /// The last walk was not trusted (anomalies, or implausibly small): walk
    /// again after [`UNTRUSTED_RECHECK`].
    recheck: bool,
    /// The size of the last listing the planner trusted.
    trusted_count: Option<usize>,
}

impl AccountInventory {
    /// A view that has seen nothing, with the trusted count recorded in the
    /// sets' status (if any).
    pub fn new(trusted_count: Option<usize>) -> Self {
        Self {
            trusted_count,
            ..Self::default()
        }
    }

    /// Whether a full walk has ever been read.
    pub fn has_walked(&self) -> bool {
        self.walked.is_some()
    }

    /// How many numbers the view holds.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether the view holds no number.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The size of the last listing the planner trusted.
    pub fn trusted_count(&self) -> Option<usize> {
        self.trusted_count
    }

    /// Keeps the planner's verdict on the trusted count.
    pub fn set_trusted_count(&mut self, count: Option<usize>, trusted: bool) {
        self.trusted_count = count;
        if !trusted {
            self.recheck = true;
        }
    }

    /// A vendor answer proved the view wrong (e.g. a number "not assigned"
    /// that the view lists): the next pass walks.
    pub fn disproved(&mut self) {
        self.walk_now = true;
    }

    /// When the next full walk falls due: now if never walked or the view was
    /// contradicted, [`UNTRUSTED_RECHECK`] after an untrusted walk, else the
    /// resync interval after the last walk.
    pub fn next_walk(&self, resync: Duration) -> Instant {
        match self.walked {
            None => Instant::now(),
            Some(_) if self.walk_now => Instant::now(),
            Some(walked) if self.recheck => walked + UNTRUSTED_RECHECK.min(resync),
            Some(walked) => walked + resync,
        }
    }

    /// Whether a full walk is due now (see [`AccountInventory::next_walk`]).
    pub fn walk_due(&self, resync: Duration) -> bool {
        self.next_walk(resync) <= Instant::now()
    }

    /// The view as the planner takes it.
    pub fn planner_view(&self, now: Timestamp) -> Inventory {
        Inventory {
            complete: self.complete,
            taken_at: self.taken_at.unwrap_or(now),
            numbers: self.numbers.clone(),
            coverage: self.coverage.clone(),
        }
    }

    /// How many requests a full walk costs now (pages of 100, at least one).
    pub fn walk_cost(&self) -> usize {
        pages(self.numbers.len())
    }

    /// How many requests a listing of `packages` costs now.
    pub fn packages_cost(&self, packages: &BTreeSet<PackageId>) -> usize {
        let n = self
            .numbers
            .values()
            .filter(|o| packages.contains(&o.package))
            .count();
        pages(n)
    }

    /// The package each of `numbers` sits in, as far as the view knows.
    pub fn package_of(&self, number: &E164) -> Option<PackageId> {
        self.numbers.get(number).map(|o| o.package)
    }

    /// Takes a full walk that started at `started`.
    pub fn apply_walk(&mut self, listing: InventorySnapshot, started: Timestamp) -> Applied {
        let applied = anomalies(&listing);
        let complete = listing.is_complete();
        let records = records(&listing);
        if complete {
            self.numbers = records;
            self.coverage = Coverage {
                full: Some(started),
                ..Coverage::default()
            };
        } else {
            // Nothing is removed on a listing that cannot vouch for absence.
            self.numbers.extend(records);
        }
        self.complete = complete;
        self.walk_now = false;
        self.recheck = !complete;
        self.walked = Some(Instant::now());
        self.taken_at = Some(Timestamp::now());
        applied
    }

    /// Takes a listing filtered to `packages` that started at `started`.
    /// `leaving` are the numbers with a disconnect of this operator in flight:
    /// absent from a complete listing of their package, they are gone.
    pub fn apply_packages(
        &mut self,
        packages: &BTreeSet<PackageId>,
        listing: InventorySnapshot,
        started: Timestamp,
        leaving: &BTreeSet<E164>,
    ) -> Applied {
        let mut applied = anomalies(&listing);
        let complete = listing.is_complete();
        let records = records(&listing);
        if complete {
            let gone: Vec<E164> = self
                .numbers
                .iter()
                .filter(|(n, o)| packages.contains(&o.package) && !records.contains_key(*n))
                .map(|(n, _)| n.clone())
                .collect();
            for n in gone {
                if leaving.contains(&n) {
                    self.numbers.remove(&n);
                } else {
                    applied.contradicted = true;
                }
            }
            for p in packages {
                self.coverage.packages.insert(*p, started);
            }
        }
        self.take_filtered(records, complete, &applied);
        applied
    }

    /// Takes a listing filtered to one exact number (`like`) that started at
    /// `started`.
    pub fn apply_number(
        &mut self,
        number: &E164,
        listing: InventorySnapshot,
        started: Timestamp,
    ) -> Applied {
        let mut applied = anomalies(&listing);
        let complete = listing.is_complete();
        // `like` is a prefix match; every E.164 toll-free number has the same
        // length, so only the number itself can match — keep only it anyway.
        let records: BTreeMap<E164, Owned> = records(&listing)
            .into_iter()
            .filter(|(n, _)| n == number)
            .collect();
        if complete {
            if !records.contains_key(number) && self.numbers.contains_key(number) {
                applied.contradicted = true;
            }
            self.coverage.numbers.insert(number.clone(), started);
        }
        self.take_filtered(records, complete, &applied);
        applied
    }

    fn take_filtered(&mut self, records: BTreeMap<E164, Owned>, complete: bool, applied: &Applied) {
        self.numbers.extend(records);
        // Absence is not trusted until a complete walk says so again: at once
        // after a contradiction, after the recheck delay after a garbled
        // listing (a vendor that garbles every answer must not cost a walk
        // per pass).
        if applied.contradicted {
            self.complete = false;
            self.walk_now = true;
        } else if !complete {
            self.complete = false;
            self.recheck = true;
        }
    }
}

/// Requests to list `n` records: pages of 100, and a listing of nothing is
/// still one request.
fn pages(n: usize) -> usize {
    n.div_ceil(intelepeer::MAX_PAGE_SIZE as usize).max(1)
}

fn records(listing: &InventorySnapshot) -> BTreeMap<E164, Owned> {
    listing
        .numbers
        .iter()
        .filter_map(|r| {
            Some((
                r.endpoint.clone(),
                Owned {
                    package: r.package_id?,
                    order_id: r.order_id,
                },
            ))
        })
        .collect()
}

fn anomalies(listing: &InventorySnapshot) -> Applied {
    Applied {
        anomalies: listing
            .anomaly_counts
            .iter()
            .map(|(k, n)| (k.label(), *n))
            .collect(),
        contradicted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use intelepeer::InventoryNumber;

    fn n(i: u32) -> E164 {
        E164::parse(&format!("+1800555{i:04}")).expect("number")
    }

    fn p(id: u64) -> PackageId {
        PackageId::new(id).expect("package")
    }

    fn record(i: u32, package: u64) -> InventoryNumber {
        InventoryNumber {
            endpoint: n(i),
            package_id: Some(p(package)),
            account_id: None,
            order_id: None,
            has_cpaas: false,
            label: None,
            number_type: None,
            geo: None,
            media: None,
        }
    }

    /// A one-page listing as the client builds it (through its pager).
    fn listing(records: Vec<InventoryNumber>) -> InventorySnapshot {
        page(records, Vec::new())
    }

    /// A listing with one record that is not E.164 (`18005559999`).
    fn garbled(records: Vec<InventoryNumber>) -> InventorySnapshot {
        page(
            records,
            vec![intelepeer::SkippedRecord {
                index: 0,
                endpoint: Some("18005559999".into()),
                reason: intelepeer::SkipReason::NotE164,
            }],
        )
    }

    /// The listing of `records` (and `skipped`, on the first page) in pages
    /// of 100, each with the vendor's extra record of the next page.
    fn page(
        records: Vec<InventoryNumber>,
        skipped: Vec<intelepeer::SkippedRecord>,
    ) -> InventorySnapshot {
        let mut pager = intelepeer::Pager::new(100, 100);
        let mut fresh = Vec::new();
        let mut skipped = Some(skipped);
        let mut start = 0;
        loop {
            let end = (start + 101).min(records.len());
            let has_more = end - start > 100;
            let out = pager
                .accept(intelepeer::InventoryPage {
                    numbers: records[start..end].to_vec(),
                    has_more,
                    skipped: skipped.take().unwrap_or_default(),
                })
                .expect("a page");
            fresh.extend(out.fresh);
            if !has_more {
                break;
            }
            start += 100;
        }
        pager.finish(fresh).expect("finished")
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_walk_replaces_the_view_and_covers_everything() {
        let mut view = AccountInventory::new(None);
        assert!(view.walk_due(Duration::from_secs(300)));
        view.apply_walk(listing(vec![record(1, 1), record(2, 1)]), t(0));
        view.apply_walk(listing(vec![record(2, 2)]), t(10));
        let inv = view.planner_view(t(11));
        assert!(inv.complete);
        assert_eq!(inv.numbers.keys().cloned().collect::<Vec<_>>(), vec![n(2)]);
        assert_eq!(inv.numbers[&n(2)].package, p(2));
        assert_eq!(inv.coverage.of_number(&n(9)), Some(t(10)));
        assert!(!view.walk_due(Duration::from_secs(300)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_walk_with_anomalies_removes_nothing_and_is_not_trusted() {
        let mut view = AccountInventory::new(Some(2));
        view.apply_walk(listing(vec![record(1, 1), record(2, 1)]), t(0));
        let applied = view.apply_walk(garbled(vec![record(2, 1)]), t(10));
        assert_eq!(applied.anomalies.get("malformed_endpoint"), Some(&1));
        let inv = view.planner_view(t(11));
        assert!(!inv.complete);
        assert_eq!(inv.numbers.len(), 2, "the unlisted number is not dropped");
        assert_eq!(inv.coverage.full, Some(t(0)), "no coverage from it");
        tokio::time::advance(UNTRUSTED_RECHECK).await;
        assert!(view.walk_due(Duration::from_secs(300)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_package_listing_confirms_disconnects_and_arrivals_never_other_absences() {
        let mut view = AccountInventory::new(None);
        view.apply_walk(
            listing(vec![record(1, 1), record(2, 1), record(3, 2)]),
            t(0),
        );
        let packages: BTreeSet<PackageId> = [p(1)].into();
        // 1 was disconnected by us; 4 arrived by purchase; 2 is still there.
        let applied = view.apply_packages(
            &packages,
            listing(vec![record(2, 1), record(4, 1)]),
            t(5),
            &[n(1)].into(),
        );
        assert!(!applied.contradicted);
        let inv = view.planner_view(t(6));
        assert!(inv.complete);
        let listed: Vec<E164> = inv.numbers.keys().cloned().collect();
        assert_eq!(listed, vec![n(2), n(3), n(4)]);
        assert_eq!(inv.coverage.of_package(p(1)), Some(t(5)));
        assert_eq!(inv.coverage.of_package(p(2)), Some(t(0)));

        // 2 vanished from package 1 without a disconnect of ours: kept, and
        // absence is no longer trusted until a walk.
        let applied = view.apply_packages(
            &packages,
            listing(vec![record(4, 1)]),
            t(7),
            &BTreeSet::new(),
        );
        assert!(applied.contradicted);
        let inv = view.planner_view(t(8));
        assert!(!inv.complete);
        assert!(inv.numbers.contains_key(&n(2)));
        assert!(view.walk_due(Duration::from_secs(300)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_number_listing_covers_that_number_and_never_removes_it() {
        let mut view = AccountInventory::new(None);
        view.apply_walk(listing(vec![record(1, 1)]), t(0));
        view.apply_number(&n(5), listing(vec![]), t(3));
        let inv = view.planner_view(t(4));
        assert_eq!(inv.coverage.of_number(&n(5)), Some(t(3)));
        assert!(inv.complete);
        view.apply_number(&n(6), listing(vec![record(6, 2)]), t(5));
        assert_eq!(
            view.package_of(&n(6)),
            Some(p(2)),
            "found: adopted, not bought"
        );
        let applied = view.apply_number(&n(1), listing(vec![]), t(6));
        assert!(applied.contradicted);
        assert!(view.planner_view(t(7)).numbers.contains_key(&n(1)));
        assert!(!view.planner_view(t(7)).complete);
    }

    #[test]
    fn costs_are_pages_of_one_hundred() {
        let mut view = AccountInventory::new(None);
        assert_eq!(view.walk_cost(), 1);
        let records: Vec<InventoryNumber> =
            (0..250).map(|i| record(i, 1 + u64::from(i % 2))).collect();
        view.apply_walk(listing(records), t(0));
        assert_eq!(view.walk_cost(), 3);
        assert_eq!(view.packages_cost(&[p(1)].into()), 2);
    }
}
