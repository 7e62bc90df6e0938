//! The inventory cache: what each vendor account owns, listed once and shared
//! by every set of that account (DESIGN.md §4).
//!
//! - **One slot per vendor account**: sets whose Secrets hold the same login
//!   ([`VendorIdentity`]) share one snapshot, whatever their namespaces.
//! - **Single flight**: concurrent callers for one account wait for one
//!   listing and all get its result (or its failure) — twenty sets reconciling
//!   at once cause one `GET /my/tf` walk, not twenty.
//! - **Freshness**: a caller says how old a snapshot it accepts (`max_age`);
//!   nothing older than the resync interval (`--resync-interval`, default 5m)
//!   is ever served, so drift made outside the operator is seen. The
//!   controller requeues sets at that interval, which drives the resync.
//! - **Causality** (`not_before`): a set with orders in flight needs a
//!   listing that *started* after its latest mutation was sent, so that it can
//!   see its own orders land — a young snapshot is not enough if its walk
//!   began before the mutation. Such a caller passes `not_before`; a snapshot
//!   (or a listing under way) that started earlier is not used for it, one
//!   that started later is shared as usual. Callers without orders in flight
//!   pass `None` and keep using the current snapshot up to their `max_age`,
//!   however many mutations other sets sent meanwhile: the planner sees other
//!   sets' intents through their status memory, not through the inventory.
//!   One mutating set therefore no longer costs every other set a full walk.
//! - **Invalidation**: [`InventoryCache::invalidate`] is for vendor answers
//!   that prove the snapshot wrong (e.g. a conflicting order, a number "not
//!   assigned"); the next caller lists again. A listing that was already
//!   running when it was invalidated is not reused.
//! - **Plausibility**: each snapshot carries `last_good_count`, the size of
//!   the previous *complete* listing of the account, so the planner can refuse
//!   to disconnect when the count dropped sharply (DESIGN.md §3.5). A drop
//!   that persists over two listings becomes the new baseline.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tollfree_plan::Inventory;

use crate::accounts::{Account, AccountKey, VendorIdentity};
use crate::error::Error;
use crate::metrics::Metrics;

/// The default `--resync-interval`.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(300);

/// Lists an account's whole inventory (every page). Implemented by the vendor
/// client; tests use fakes that count calls.
pub trait InventorySource: Send + Sync {
    /// One full listing of `account`. `complete` must be `true` only when
    /// every page was read in this pass.
    fn list_inventory(
        &self,
        account: &AccountKey,
    ) -> impl Future<Output = Result<Inventory, Error>> + Send;
}

impl<T: InventorySource> InventorySource for Arc<T> {
    fn list_inventory(
        &self,
        account: &AccountKey,
    ) -> impl Future<Output = Result<Inventory, Error>> + Send {
        (**self).list_inventory(account)
    }
}

/// The vendor client lists through `GET /my/tf`, every page in one pass.
impl InventorySource for intelepeer::Client {
    async fn list_inventory(&self, account: &AccountKey) -> Result<Inventory, Error> {
        let listing = self
            .list_all(intelepeer::ListInventory::all())
            .await
            .map_err(|source| Error::Vendor {
                account: account.to_string(),
                source,
            })?;
        Ok(to_inventory(account, listing))
    }
}

/// Turns the client's listing into the planner's inventory. The client
/// returns a listing only when every page was read; it is complete only when
/// the client understood every record and every page
/// ([`intelepeer::InventorySnapshot::is_complete`]). Each anomaly is logged as
/// a warning naming its kind, page and record; an incomplete listing blocks
/// every absent-means-gone decision until a clean one arrives.
pub fn to_inventory(account: &AccountKey, listing: intelepeer::InventorySnapshot) -> Inventory {
    let mut complete = listing.is_complete();
    for anomaly in &listing.anomalies {
        tracing::warn!(%account, anomaly = anomaly.label(), page = anomaly.page(), "inventory listing anomaly: {anomaly}; listing treated as incomplete");
    }
    if listing.anomalies_omitted() > 0 {
        tracing::warn!(%account, omitted = listing.anomalies_omitted(), total = listing.anomaly_total(), "more inventory listing anomalies than are described");
    }
    let mut numbers = std::collections::BTreeMap::new();
    for record in listing.numbers {
        match record.package_id {
            Some(package) => {
                numbers.insert(
                    record.endpoint,
                    tollfree_plan::Owned {
                        package,
                        order_id: record.order_id,
                    },
                );
            }
            None => {
                // The client reports these as anomalies and leaves them out;
                // kept as a guard.
                tracing::warn!(%account, number = %record.endpoint, "inventory record without a package; listing treated as incomplete");
                complete = false;
            }
        }
    }
    Inventory {
        complete,
        taken_at: jiff::Timestamp::now(),
        numbers,
    }
}

/// One listing of an account, as served to the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// What the account owned when the listing finished.
    pub inventory: Inventory,
    /// When the listing *started* (wall clock): a mutation sent before this
    /// instant had been answered before the first page was read.
    pub started_at: jiff::Timestamp,
    /// The size of the previous complete listing of this account, if any: the
    /// baseline for the planner's plausibility check.
    pub last_good_count: Option<usize>,
    listed_at: Instant,
    listing: u64,
    generation: u64,
}

impl Snapshot {
    /// How long ago the listing finished.
    pub fn age(&self) -> Duration {
        self.listed_at.elapsed()
    }
}

#[derive(Debug, Default)]
struct Slot {
    /// Bumped by `invalidate`; a snapshot listed under an older generation is stale.
    generation: AtomicU64,
    /// Listings started so far (the number of the latest one).
    started: AtomicU64,
    /// Listings finished so far (their outcome is in `state`).
    finished: AtomicU64,
    state: tokio::sync::Mutex<SlotState>,
}

/// Counts a listing as finished when dropped — also when the caller's future
/// is cancelled mid-listing, so later callers never wait for a ghost.
struct FinishGuard<'a>(&'a AtomicU64);

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Default)]
struct SlotState {
    current: Option<Arc<Snapshot>>,
    /// The outcome of the latest listing when it failed, with its number and
    /// when it started.
    failure: Option<(u64, jiff::Timestamp, Arc<Error>)>,
    last_good_count: Option<usize>,
}

/// The per-account inventory cache. Cheap to clone; clones share the cache.
#[derive(Debug, Clone)]
pub struct InventoryCache {
    resync: Duration,
    metrics: Option<Metrics>,
    slots: Arc<Mutex<HashMap<VendorIdentity, Arc<Slot>>>>,
}

impl InventoryCache {
    /// An empty cache that never serves a snapshot older than `resync`.
    pub fn new(resync: Duration, metrics: Option<Metrics>) -> Self {
        Self {
            resync,
            metrics,
            slots: Arc::default(),
        }
    }

    /// The resync interval.
    pub fn resync_interval(&self) -> Duration {
        self.resync
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<VendorIdentity, Arc<Slot>>> {
        // Poisoning only means a panic elsewhere; the map itself is intact.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn slot(&self, account: &AccountKey) -> Arc<Slot> {
        self.slots()
            .entry(account.identity().clone())
            .or_default()
            .clone()
    }

    /// A snapshot of `account`'s inventory no older than `max_age` (and never
    /// older than the resync interval) and, when `not_before` is given, whose
    /// listing started at or after `not_before`; listed through
    /// `account.client` if needed. Concurrent callers share one listing and
    /// its outcome — a listing under way is joined only by callers it can
    /// serve (it started at or after their `not_before`); the others wait for
    /// it and then start their own.
    pub async fn snapshot<C: InventorySource>(
        &self,
        account: &Account<C>,
        max_age: Duration,
        not_before: Option<jiff::Timestamp>,
    ) -> Result<Arc<Snapshot>, Error> {
        let key = &account.key;
        let slot = self.slot(key);
        // A listing in flight when we ask, or started after, is shared
        // whatever `max_age` says: that is the single flight. (`finished`
        // is read first so that a listing ending in between still counts.)
        let finished = slot.finished.load(Ordering::SeqCst);
        let started = slot.started.load(Ordering::SeqCst);
        let shared_from = if started > finished {
            started
        } else {
            started + 1
        };
        let max_age = max_age.min(self.resync);

        let after_mutation =
            |started_at: jiff::Timestamp| not_before.is_none_or(|t| started_at >= t);

        let mut state = slot.state.lock().await;
        let generation = slot.generation.load(Ordering::SeqCst);
        if let Some(current) = &state.current {
            let valid = current.generation == generation && after_mutation(current.started_at);
            if valid && (current.listing >= shared_from || current.age() <= max_age) {
                return Ok(current.clone());
            }
        }
        if let Some((listing, started_at, failure)) = &state.failure
            && *listing >= shared_from
            && after_mutation(*started_at)
        {
            return Err(Error::Inventory {
                account: key.to_string(),
                source: failure.clone(),
            });
        }

        let listing = slot.started.fetch_add(1, Ordering::SeqCst) + 1;
        // Dropped (counting the listing as finished) after the outcome is
        // stored, while the lock is still held — or on cancellation.
        let _finish = FinishGuard(&slot.finished);
        let begun = Instant::now();
        let started_at = jiff::Timestamp::now();
        let result = account.client.list_inventory(key).await;
        let took = begun.elapsed();
        match result {
            Ok(inventory) => {
                if let Some(m) = &self.metrics {
                    m.inventory_listed(
                        &key.to_string(),
                        took,
                        inventory.numbers.len(),
                        inventory.complete,
                    );
                }
                let last_good_count = state.last_good_count;
                if inventory.complete {
                    state.last_good_count = Some(inventory.numbers.len());
                } else {
                    tracing::warn!(account = %key, numbers = inventory.numbers.len(), "inventory listing incomplete; disconnects stay blocked");
                }
                tracing::debug!(account = %key, numbers = inventory.numbers.len(), ?took, "listed inventory");
                let snapshot = Arc::new(Snapshot {
                    inventory,
                    started_at,
                    last_good_count,
                    listed_at: Instant::now(),
                    listing,
                    generation,
                });
                state.current = Some(snapshot.clone());
                state.failure = None;
                Ok(snapshot)
            }
            Err(e) => {
                let shared = Arc::new(e);
                state.failure = Some((listing, started_at, shared.clone()));
                Err(Error::Inventory {
                    account: key.to_string(),
                    source: shared,
                })
            }
        }
    }

    /// Marks `account`'s snapshot stale (a vendor answer proved it wrong): the
    /// next caller lists again. Does not wait for a listing in flight.
    pub fn invalidate(&self, account: &AccountKey) {
        let slot = self.slots().get(account.identity()).cloned();
        if let Some(slot) = slot {
            slot.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Drops everything known about `account` (its credentials changed or no
    /// set uses it any more).
    pub fn forget(&self, account: &AccountKey) {
        self.slots().remove(account.identity());
    }

    /// The size of the last complete listing of `account`, if any.
    pub async fn last_good_count(&self, account: &AccountKey) -> Option<usize> {
        let slot = self.slots().get(account.identity()).cloned()?;
        let state = slot.state.lock().await;
        state.last_good_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicUsize;

    use intelepeer::{E164, PackageId};
    use tollfree_plan::Owned;

    use crate::accounts::Account;

    /// A fake vendor: counts listings, answers with `size` numbers after a
    /// delay, or fails while `fail` is set.
    #[derive(Default)]
    struct Fake {
        calls: AtomicUsize,
        size: AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
        incomplete: std::sync::atomic::AtomicBool,
        delay: Duration,
    }

    impl Fake {
        fn with(size: usize, delay: Duration) -> Arc<Self> {
            let f = Self {
                delay,
                ..Self::default()
            };
            f.size.store(size, Ordering::SeqCst);
            Arc::new(f)
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl InventorySource for Fake {
        async fn list_inventory(&self, account: &AccountKey) -> Result<Inventory, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::VendorData {
                    account: account.to_string(),
                    reason: "test failure".into(),
                });
            }
            let n = self.size.load(Ordering::SeqCst);
            let numbers: BTreeMap<E164, Owned> = (0..n)
                .map(|i| {
                    let number = E164::parse(&format!("+1800555{i:04}")).expect("valid");
                    let owned = Owned {
                        package: PackageId::new(30744).expect("nonzero"),
                        order_id: None,
                    };
                    (number, owned)
                })
                .collect();
            Ok(Inventory {
                complete: !self.incomplete.load(Ordering::SeqCst),
                taken_at: jiff::Timestamp::now(),
                numbers,
            })
        }
    }

    fn account(fake: &Arc<Fake>) -> Account<Arc<Fake>> {
        Account {
            key: AccountKey::new("telecom", "intelepeer-account", [7; 32]),
            client: fake.clone(),
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn twenty_concurrent_callers_share_one_listing() {
        let fake = Fake::with(3, Duration::from_millis(200));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let callers = (0..20).map(|_| cache.snapshot(&acct, Duration::ZERO, None));
        let results = futures::future::join_all(callers).await;
        assert_eq!(fake.calls(), 1);
        let first = results[0].as_ref().expect("ok").clone();
        for r in &results {
            assert!(Arc::ptr_eq(r.as_ref().expect("ok"), &first));
        }
        assert_eq!(first.inventory.numbers.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_enough_snapshot_is_reused() {
        let fake = Fake::with(3, Duration::ZERO);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        tokio::time::advance(Duration::from_secs(30)).await;
        cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 2, "older than max_age: listed again");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_older_than_the_resync_interval_is_served() {
        let fake = Fake::with(3, Duration::ZERO);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        cache.snapshot(&acct, 60 * MINUTE, None).await.expect("ok");
        tokio::time::advance(4 * MINUTE).await;
        cache.snapshot(&acct, 60 * MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 1);
        tokio::time::advance(2 * MINUTE).await;
        cache.snapshot(&acct, 60 * MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidation_forces_a_new_listing() {
        let fake = Fake::with(3, Duration::ZERO);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        fake.size.store(4, Ordering::SeqCst);
        cache.invalidate(&acct.key);
        let s = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 2);
        assert_eq!(s.inventory.numbers.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_running_during_an_invalidation_is_not_reused() {
        let fake = Fake::with(3, Duration::from_secs(1));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let (first, ()) = tokio::join!(cache.snapshot(&acct, MINUTE, None), async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            cache.invalidate(&acct.key);
        });
        first.expect("the caller that asked before the mutation gets its listing");
        cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 2);
    }

    /// A wall-clock instant strictly after every listing started so far (the
    /// cache stamps listings with the real clock; tokio's is paused here).
    fn mutation_sent() -> jiff::Timestamp {
        std::thread::sleep(Duration::from_millis(2));
        let t = jiff::Timestamp::now();
        std::thread::sleep(Duration::from_millis(2));
        t
    }

    #[tokio::test(start_paused = true)]
    async fn a_snapshot_started_before_not_before_is_not_reused() {
        let fake = Fake::with(3, Duration::from_millis(100));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let before = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        let sent = mutation_sent();
        // Young enough, but its walk began before the mutation.
        let after = cache.snapshot(&acct, MINUTE, Some(sent)).await.expect("ok");
        assert_eq!(fake.calls(), 2);
        assert!(before.started_at < sent && after.started_at >= sent);
        // That new listing serves the same `not_before` again, and everyone else.
        let again = cache.snapshot(&acct, MINUTE, Some(sent)).await.expect("ok");
        let other = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert!(Arc::ptr_eq(&after, &again) && Arc::ptr_eq(&after, &other));
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn callers_without_not_before_keep_the_snapshot_after_a_mutation() {
        let fake = Fake::with(3, Duration::from_millis(100));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let first = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        let _sent = mutation_sent();
        for _ in 0..10 {
            let s = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
            assert!(Arc::ptr_eq(&first, &s));
        }
        assert_eq!(
            fake.calls(),
            1,
            "another set's mutation costs them no listing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_under_way_that_started_after_not_before_is_joined() {
        let fake = Fake::with(3, Duration::from_secs(1));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let sent = mutation_sent();
        let (a, b, c) = tokio::join!(
            cache.snapshot(&acct, Duration::ZERO, Some(sent)),
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                cache.snapshot(&acct, Duration::ZERO, Some(sent)).await
            },
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                cache.snapshot(&acct, Duration::ZERO, None).await
            },
        );
        let (a, b, c) = (a.expect("ok"), b.expect("ok"), c.expect("ok"));
        assert_eq!(fake.calls(), 1, "single flight");
        assert!(Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&a, &c));
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_under_way_that_started_before_not_before_is_not_joined() {
        let fake = Fake::with(3, Duration::from_secs(1));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let (early, (late, sent), plain) = tokio::join!(
            cache.snapshot(&acct, MINUTE, None),
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                // A mutation answered while the first walk is on page N.
                let sent = mutation_sent();
                (cache.snapshot(&acct, MINUTE, Some(sent)).await, sent)
            },
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                cache.snapshot(&acct, MINUTE, None).await
            },
        );
        let (early, late, plain) = (early.expect("ok"), late.expect("ok"), plain.expect("ok"));
        assert_eq!(
            fake.calls(),
            2,
            "the walk that began before the mutation does not count"
        );
        assert!(early.started_at < sent && late.started_at >= sent);
        assert!(!Arc::ptr_eq(&early, &late));
        assert!(
            Arc::ptr_eq(&early, &plain) || Arc::ptr_eq(&late, &plain),
            "a caller without not_before shares a listing, never starts a third"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_of_a_listing_started_before_not_before_is_not_shared() {
        let fake = Fake::with(3, Duration::from_secs(1));
        fake.fail.store(true, Ordering::SeqCst);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let (early, late) = tokio::join!(cache.snapshot(&acct, MINUTE, None), async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let sent = mutation_sent();
            cache.snapshot(&acct, MINUTE, Some(sent)).await
        });
        early.expect_err("the first walk failed");
        late.expect_err("its own walk failed too");
        assert_eq!(
            fake.calls(),
            2,
            "the later caller tried a listing of its own"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_share_a_failure_and_the_next_caller_retries() {
        let fake = Fake::with(3, Duration::from_millis(100));
        fake.fail.store(true, Ordering::SeqCst);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let results =
            futures::future::join_all((0..5).map(|_| cache.snapshot(&acct, MINUTE, None))).await;
        assert_eq!(fake.calls(), 1);
        for r in results {
            let e = r.expect_err("shared failure");
            assert_eq!(
                e.report(),
                "listing the inventory of account telecom/intelepeer-account failed: \
                 IntelePeer returned an unusable record for account telecom/intelepeer-account: test failure"
            );
        }
        fake.fail.store(false, Ordering::SeqCst);
        cache.snapshot(&acct, MINUTE, None).await.expect("recovers");
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_listing_does_not_block_the_next_caller() {
        let fake = Fake::with(3, Duration::from_secs(10));
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let cancelled =
            tokio::time::timeout(Duration::from_secs(1), cache.snapshot(&acct, MINUTE, None)).await;
        assert!(cancelled.is_err(), "timed out mid-listing");
        cache
            .snapshot(&acct, MINUTE, None)
            .await
            .expect("lists again");
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn last_good_count_is_the_previous_complete_listing() {
        let fake = Fake::with(100, Duration::ZERO);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let acct = account(&fake);
        let s = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(s.last_good_count, None);

        fake.size.store(10, Ordering::SeqCst);
        fake.incomplete.store(true, Ordering::SeqCst);
        cache.invalidate(&acct.key);
        let s = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(s.last_good_count, Some(100));
        assert!(!s.inventory.complete);

        fake.incomplete.store(false, Ordering::SeqCst);
        cache.invalidate(&acct.key);
        let s = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(
            s.last_good_count,
            Some(100),
            "an incomplete listing is no baseline"
        );
        cache.invalidate(&acct.key);
        let s = cache.snapshot(&acct, MINUTE, None).await.expect("ok");
        assert_eq!(
            s.last_good_count,
            Some(10),
            "a confirmed drop is the new baseline"
        );
        assert_eq!(cache.last_good_count(&acct.key).await, Some(10));
    }

    fn listing(records: serde_json::Value) -> intelepeer::InventorySnapshot {
        let page: intelepeer::InventoryPage =
            serde_json::from_value(serde_json::json!({"endpoints": records, "hasMore": false}))
                .expect("page");
        let mut pager = intelepeer::Pager::new(100, 10);
        let fresh = pager.accept(page).expect("accepted").fresh;
        pager.finish(fresh).expect("done")
    }

    #[test]
    fn a_clean_listing_maps_to_a_complete_inventory() {
        let key = AccountKey::new("telecom", "acct", [1; 32]);
        let inv = to_inventory(
            &key,
            listing(serde_json::json!([
                {"endpoint": "+18005550100", "packageID": 30744, "orderID": 7},
                {"endpoint": "+13035550100", "packageID": 30744},
            ])),
        );
        assert!(inv.complete);
        assert_eq!(inv.numbers.len(), 1);
    }

    #[test]
    fn a_listing_with_anomalies_maps_to_an_incomplete_inventory() {
        let key = AccountKey::new("telecom", "acct", [1; 32]);
        for records in [
            serde_json::json!([{"endpoint": "18005550100", "packageID": 30744}]),
            serde_json::json!([{"endpoint": "+18005550100"}]),
            serde_json::json!([{"packageID": 30744}]),
            serde_json::json!([
                {"endpoint": "+18005550100", "packageID": 30744},
                {"endpoint": "+18005550100", "packageID": 24188},
            ]),
        ] {
            let inv = to_inventory(&key, listing(records.clone()));
            assert!(!inv.complete, "{records}");
            assert!(
                inv.numbers.is_empty(),
                "{records}: nothing doubtful is listed"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn accounts_are_cached_separately_and_can_be_forgotten() {
        let fake = Fake::with(1, Duration::ZERO);
        let cache = InventoryCache::new(5 * MINUTE, Some(Metrics::new()));
        let a = account(&fake);
        let b = Account {
            key: AccountKey::new("other", "intelepeer-account", [8; 32]),
            client: fake.clone(),
        };
        cache.snapshot(&a, MINUTE, None).await.expect("ok");
        cache.snapshot(&b, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 2);
        cache.forget(&a.key);
        assert_eq!(cache.last_good_count(&a.key).await, None);
        cache.snapshot(&a, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn secrets_with_one_login_share_one_snapshot_across_namespaces() {
        let fake = Fake::with(2, Duration::ZERO);
        let cache = InventoryCache::new(5 * MINUTE, None);
        let user = || VendorIdentity::User("demo".into());
        let a = Account {
            key: AccountKey::new("telecom", "acct", [1; 32]).with_identity(user()),
            client: fake.clone(),
        };
        let b = Account {
            key: AccountKey::new("billing", "other", [2; 32]).with_identity(user()),
            client: fake.clone(),
        };
        cache.snapshot(&a, MINUTE, None).await.expect("ok");
        cache.snapshot(&b, MINUTE, None).await.expect("ok");
        assert_eq!(fake.calls(), 1, "one vendor account, one listing");
        cache.invalidate(&b.key);
        cache.snapshot(&a, MINUTE, None).await.expect("ok");
        assert_eq!(
            fake.calls(),
            2,
            "a mutation through either Secret invalidates both"
        );
    }
}
