//! A stateful simulator of IntelePeer's toll-free number API, for tests,
//! benchmarks and demos.
//!
//! It serves every endpoint of the vendor's reference
//! (`reference/intelepeer-tf-api.txt`) with its documented parameters, errors
//! and texts, and the facts of DESIGN.md §6: tokens that expire, a pool of
//! purchasable numbers (with contiguous runs for sequential searches),
//! reservations that expire, orders that complete after a delay, the
//! `pageSize + 1` quirk of `GET /my/tf`. It judges the wire format on its own —
//! it shares no types with the client crate, so a client bug cannot hide behind
//! a shared definition.
//!
//! Beside the vendor API: fault injection ([`Faults`]), a ledger of every
//! accepted mutation, request counts, an admin API under `/_admin` and an
//! optional state file that survives restarts.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let running = intelepeer_sim::spawn(intelepeer_sim::SimConfig::default()).await?;
//! let base_url = running.url(); // e.g. http://127.0.0.1:41234
//! running.sim().seed_inventory(&["+18005550100"], 30744);
//! # let _ = base_url;
//! running.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod admin;
mod config;
mod error;
mod faults;
mod handlers;
mod params;
mod records;
mod server;
mod simulator;
mod state;

pub use config::{
    DurationError, EXAMPLE_NUMBERS, SimConfig, TOLL_FREE_NPAS, format_duration, parse_duration,
};
pub use faults::{Faults, FaultsParseError};
pub use records::{LedgerEntry, LedgerKind, OwnedNumber};
pub use server::{Connection, RunningSim, spawn};
pub use simulator::{SimError, Simulator};
