//! The account's listings at the vendor: full walks, listings filtered to
//! packages (`packageID[]`) or to exact numbers (`like`), each read
//! completely by the client and taken into the [`AccountInventory`] view.
//! Every anomaly a listing had is logged by name and counted
//! (`tollfree_inventory_anomalies_total`).
//!
//! Choosing what to list ([`Needs::cheapest`]): the fewest requests that
//! cover what the planner asked for — one `like` request per number, the
//! pages of one listing of all the packages, or one full walk when that is
//! no dearer.

use std::collections::BTreeSet;
use std::future::Future;

use futures::{StreamExt, TryStreamExt};
use intelepeer::{E164, InventorySnapshot, ListInventory, PackageId};
use jiff::Timestamp;
use tokio::time::Instant;

use super::listing::{AccountInventory, Applied};
use crate::metrics::Metrics;

/// How many `like` listings run at once (the client's rate limit paces them).
const NUMBER_LISTINGS_AT_ONCE: usize = 8;

/// Lists the inventory (every page of a query). Implemented by the vendor
/// client; tests use fakes.
pub trait Lister: Send + Sync {
    /// Every page of `query`, read in one pass.
    fn list(
        &self,
        query: ListInventory,
    ) -> impl Future<Output = Result<InventorySnapshot, intelepeer::Error>> + Send;
}

impl Lister for intelepeer::Client {
    /// Every page of `query` ([`intelepeer::Client::list_all_keeping`]),
    /// keeping of each record only what the account's view uses (number,
    /// package, account, order): a record's label, type, geography and
    /// media configuration are most of its size once parsed (about 1.7 KB
    /// of 2 KB), and a listing at the page bound —
    /// [`intelepeer::MAX_ACCOUNT_NUMBERS`] records, or a vendor that never
    /// stops paging — would otherwise hold them all (177 MiB measured by
    /// `tests/e2e_hostile.rs`, against a 256Mi limit).
    async fn list(&self, query: ListInventory) -> Result<InventorySnapshot, intelepeer::Error> {
        self.list_all_keeping(query, identity_only).await
    }
}

/// A listed record without what no decision reads (label, type, geography,
/// media configuration).
fn identity_only(record: intelepeer::InventoryNumber) -> intelepeer::InventoryNumber {
    intelepeer::InventoryNumber {
        label: None,
        number_type: None,
        geo: None,
        media: None,
        ..record
    }
}

/// What a pass must list before the planner may decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Exact numbers whose absence a reservation depends on.
    pub numbers: BTreeSet<E164>,
    /// Packages whose content an `acquire`, or orders in flight, depend on.
    pub packages: BTreeSet<PackageId>,
}

/// The listing that satisfies some [`Needs`] at the least cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing to list.
    Nothing,
    /// One full walk.
    Walk,
    /// Filtered listings: the packages in one listing, each number in its own.
    Filtered(Needs),
}

impl Needs {
    /// Whether nothing is needed.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty() && self.packages.is_empty()
    }

    /// The cheapest listing that covers these needs on `view`.
    pub fn cheapest(self, view: &AccountInventory) -> Plan {
        if self.is_empty() {
            return Plan::Nothing;
        }
        let filtered = self.numbers.len()
            + if self.packages.is_empty() {
                0
            } else {
                view.packages_cost(&self.packages)
            };
        if filtered >= view.walk_cost() {
            Plan::Walk
        } else {
            Plan::Filtered(self)
        }
    }
}

/// Where the listings of one account go: the client, the view, the metrics.
pub struct Listings<'a, L> {
    /// The vendor.
    pub client: &'a L,
    /// The view they update.
    pub view: &'a mut AccountInventory,
    /// Counts anomalies and walks.
    pub metrics: &'a Metrics,
    /// The account, as metrics and logs name it.
    pub account: &'a str,
}

impl<L: Lister> Listings<'_, L> {
    /// Runs `plan`. `leaving`: numbers with a disconnect of this operator in
    /// flight (see [`AccountInventory::apply_packages`]).
    pub async fn run(
        &mut self,
        plan: Plan,
        leaving: &BTreeSet<E164>,
    ) -> Result<(), intelepeer::Error> {
        match plan {
            Plan::Nothing => Ok(()),
            Plan::Walk => self.walk().await,
            Plan::Filtered(needs) => {
                if !needs.packages.is_empty() {
                    self.packages(&needs.packages, leaving).await?;
                }
                self.numbers(&needs.numbers).await
            }
        }
    }

    /// One full walk.
    pub async fn walk(&mut self) -> Result<(), intelepeer::Error> {
        let started = Timestamp::now();
        let begun = Instant::now();
        let listing = self.client.list(ListInventory::all()).await?;
        let complete = listing.is_complete();
        self.log(&listing, "full walk");
        let applied = self.view.apply_walk(listing, started);
        self.metrics
            .inventory_listed(self.account, begun.elapsed(), self.view.len(), complete);
        self.count(&applied);
        tracing::debug!(account = self.account, numbers = self.view.len(), complete, took = ?begun.elapsed(), "listed the account's inventory");
        Ok(())
    }

    async fn packages(
        &mut self,
        packages: &BTreeSet<PackageId>,
        leaving: &BTreeSet<E164>,
    ) -> Result<(), intelepeer::Error> {
        let started = Timestamp::now();
        let query = packages
            .iter()
            .fold(ListInventory::all(), |q, p| q.package(*p));
        let listing = self.client.list(query).await?;
        self.log(&listing, "package listing");
        let applied = self
            .view
            .apply_packages(packages, listing, started, leaving);
        self.count(&applied);
        Ok(())
    }

    async fn numbers(&mut self, numbers: &BTreeSet<E164>) -> Result<(), intelepeer::Error> {
        if numbers.is_empty() {
            return Ok(());
        }
        let started = Timestamp::now();
        let client = self.client;
        let listings: Vec<(E164, InventorySnapshot)> =
            futures::stream::iter(numbers.iter().cloned())
                .map(|n| async move {
                    let listing = client.list(ListInventory::all().like(n.as_str())).await?;
                    Ok::<_, intelepeer::Error>((n, listing))
                })
                .buffer_unordered(NUMBER_LISTINGS_AT_ONCE)
                .try_collect()
                .await?;
        for (n, listing) in listings {
            self.log(&listing, "number listing");
            let applied = self.view.apply_number(&n, listing, started);
            self.count(&applied);
        }
        Ok(())
    }

    fn log(&self, listing: &InventorySnapshot, what: &str) {
        for a in &listing.anomalies {
            tracing::warn!(account = self.account, listing = what, anomaly = %a, "inventory record not understood; the listing is not complete");
        }
        if listing.anomalies_omitted() > 0 {
            tracing::warn!(
                account = self.account,
                listing = what,
                more = listing.anomalies_omitted(),
                "more inventory anomalies, not described one by one"
            );
        }
    }

    fn count(&self, applied: &Applied) {
        for (kind, n) in &applied.anomalies {
            self.metrics.inventory_anomalies(self.account, kind, *n);
        }
        if applied.contradicted {
            tracing::warn!(
                account = self.account,
                "a filtered listing no longer shows a number the view had; a full walk decides before absence is trusted again"
            );
        }
    }
}
