//! IntelePeer toll-free number API: domain types, wire models and a typed client.
//!
//! - [`types`]: domain newtypes ([`E164`], [`PackageId`], ...), always available.
//! - [`models`]: request builders (themselves `Serialize`) and response records
//!   of every endpoint, always available.
//! - [`pages`]: the pure paging state machine behind the inventory listing.
//! - [`error`]: the typed [`Error`], with retry hints and metric labels.
//! - [`secret`]: [`Secret`] and [`Credentials`], which never print their values.
//! - `client` and `config` (feature `client`, on by default): [`Client`], the
//!   HTTP client with authentication, retries, rate limit and timeouts.
//!
//! Without the `client` feature the crate has no tokio or reqwest dependency, so
//! the pure planner can share the types.
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn demo() -> Result<(), intelepeer::Error> {
//! use intelepeer::{Client, ClientConfig, Credentials, ListInventory};
//! let client = Client::new(ClientConfig::new(
//!     intelepeer::DEFAULT_BASE_URL,
//!     Credentials::password("demo", "demo"),
//! ))?;
//! let snapshot = client.list_all(ListInventory::all()).await?;
//! if snapshot.is_complete() {
//!     println!("{} numbers", snapshot.numbers.len());
//! } else {
//!     for anomaly in &snapshot.anomalies {
//!         println!("{}: {anomaly}", anomaly.label());
//!     }
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod error;
pub mod models;
pub mod pages;
pub mod retry;
pub mod secret;
pub mod types;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod config;

pub use error::{Error, TransportStage};
pub use models::{
    ChangePackageRequest, DisconnectRequest, ErrorBody, Geo, InventoryNumber, InventoryPage,
    ListInventory, MAX_PAGE_SIZE, Media, MediaChannel, MediaRoute, Order, OrderOptions,
    OrderedNumber, PoolNumber, PurchaseRequest, Reservation, ReserveRequest, SearchPage,
    SearchPool, SkipReason, SkippedRecord,
};
pub use pages::{
    Anomaly, AnomalyKind, InventorySnapshot, MAX_ACCOUNT_NUMBERS, Pager, PagingError, RecordFields,
    max_pages_for,
};
pub use secret::{Credentials, Secret};
pub use types::{E164, Npa, OrderId, PackageId, ParseError, ReservationId, TOLL_FREE_NPAS};

#[cfg(feature = "client")]
pub use client::Client;
#[cfg(feature = "client")]
pub use config::{
    CallRecord, ClientConfig, DEFAULT_BASE_URL, DEFAULT_MAX_BODY_BYTES, Endpoint, Observer,
    validate_base_url,
};
