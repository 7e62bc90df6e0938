//! The only vendor access of `plan` and `import`: one complete inventory
//! listing per account.
//!
//! [`InventoryReader`] owns its [`intelepeer::Client`] privately and exposes a
//! single read, so the client's mutations (`reserve`, `purchase`,
//! `change_package`, `disconnect`) are unreachable from this command — the
//! compiler enforces the read-only promise of `plan` (docs/plan.md), and a test
//! (`tests/plan_cli.rs`) checks the simulator's ledger stays empty.

use intelepeer::{Client, ClientConfig, Credentials, E164, InventoryNumber, ListInventory};
use tollfree_plan::Inventory;

use crate::account::listing::AccountInventory;

/// Reads an account's inventory; can do nothing else.
pub struct InventoryReader {
    client: Client,
}

impl InventoryReader {
    /// A reader for the account behind `credentials` at `base_url` (checked by
    /// the client's rule: https, or http to a loopback host).
    pub fn new(base_url: &str, credentials: Credentials) -> Result<Self, intelepeer::Error> {
        let client = Client::new(ClientConfig::new(base_url, credentials))?;
        Ok(Self { client })
    }

    /// One full walk (`GET /my/tf`, every page), as the operator's account
    /// worker would take it: complete only if every record was understood.
    pub async fn inventory(&self) -> Result<Inventory, intelepeer::Error> {
        Ok(self.listing().await?.inventory)
    }

    /// One full walk, as [`InventoryReader::inventory`], with the records as
    /// the vendor sent them (labels and all) for `import`.
    pub async fn listing(&self) -> Result<Listing, intelepeer::Error> {
        let started = jiff::Timestamp::now();
        let listing = self.client.list_all(ListInventory::all()).await?;
        for anomaly in &listing.anomalies {
            tracing::warn!(%anomaly, "inventory record not understood; the listing is not complete");
        }
        let records = listing.numbers.clone();
        let doubtful = listing.doubtful.clone();
        let anomalies = listing.anomaly_counts.values().sum();
        let mut view = AccountInventory::new(None);
        view.apply_walk(listing, started);
        Ok(Listing {
            inventory: view.planner_view(jiff::Timestamp::now()),
            records,
            doubtful,
            anomalies,
        })
    }
}

/// A full walk of the inventory.
#[derive(Debug, Clone)]
pub struct Listing {
    /// As the planner takes it.
    pub inventory: Inventory,
    /// Every understood record, once, in the vendor's order.
    pub records: Vec<InventoryNumber>,
    /// Numbers listed with records that cannot be trusted (no package,
    /// conflicting duplicates).
    pub doubtful: Vec<E164>,
    /// How many anomalies the walk found (0 when complete).
    pub anomalies: u64,
}
