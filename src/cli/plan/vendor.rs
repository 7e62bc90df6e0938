//! The only vendor access of `plan` and `import`: one complete inventory
//! listing per account.
//!
//! [`InventoryReader`] owns its [`intelepeer::Client`] privately and exposes a
//! single read, so the client's mutations (`reserve`, `purchase`,
//! `change_package`, `disconnect`) are unreachable from this command — the
//! compiler enforces the read-only promise of `plan` (docs/plan.md), and a test
//! (`tests/plan_cli.rs`) checks the simulator's ledger stays empty.

use intelepeer::{Client, ClientConfig, Credentials, InventorySnapshot, ListInventory};
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
        let started = jiff::Timestamp::now();
        let listing = self.snapshot().await?;
        let mut view = AccountInventory::new(None);
        view.apply_walk(listing, started);
        Ok(view.planner_view(jiff::Timestamp::now()))
    }

    /// One full walk with the records as the vendor sent them (labels and
    /// all), for `import`; [`InventorySnapshot::is_complete`] and
    /// [`InventorySnapshot::doubtful`] say how far it can be trusted.
    pub async fn snapshot(&self) -> Result<InventorySnapshot, intelepeer::Error> {
        self.client.list_all(ListInventory::all()).await
    }
}
