//! A stateful simulator of IntelePeer's toll-free number API, for tests,
//! benchmarks and demos.
//!
//! It serves every endpoint of the vendor's reference
//! (`reference/intelepeer-tf-api.txt`) with its documented parameters, errors
//! and texts, and the vendor facts of docs/architecture.md: tokens that expire, a pool of
//! purchasable numbers (with contiguous runs for sequential searches),
//! reservations that expire, orders that complete after a delay, the
//! `pageSize + 1` quirk of `GET /my/tf`. It judges the wire format on its own —
//! it shares no types with the client crate, so a client bug cannot hide behind
//! a shared definition.
//!
//! Beside the vendor API: fault injection ([`Faults`]), listing tampering
//! ([`Tampering`]: a vendor that lists badly), a ledger of every accepted
//! mutation, request counts, an admin API under `/_admin` and an optional
//! state file that survives restarts.
//!
//! # Accounts
//!
//! Every login belongs to one account ([`SimConfig::user_accounts`], or
//! `--users login:password@ACCOUNTID`); logins without one share the default
//! account [`SimConfig::account_id`] (1004318). A token acts for its login's
//! account. Each account has its own inventory, reservations, orders and trial
//! seats; `GET /my/tf` lists only the caller's account's numbers, each record
//! and every order reporting that account as `accountID`. The pool of
//! purchasable numbers is the vendor's: a number owned, reserved or being
//! bought by one account is unavailable to every other. Another account's
//! reservation cannot be purchased (409 "Number(s) not available."), another
//! account's numbers cannot be moved or disconnected (409 "One or more numbers
//! is not assigned to this account.").
//!
//! # Vendor behaviours the operator relies on
//!
//! These are rules of the simulated vendor that the operator's safety
//! ("never buy twice") builds on; each has a contract test in
//! `tests/contract.rs`:
//!
//! - **One purchase, one order, all or nothing.** A purchase naming several
//!   reservations (`reservationID` as an array, as in the reference's worked
//!   example) orders all their numbers under one order ID. If any of them is
//!   not a live reservation of the caller's account (unknown, expired, already
//!   purchased, another account's), the answer is 409 "Number(s) not
//!   available." and nothing is bought; the other reservations stay live.
//! - **A reservation is purchased at most once.** Purchasing it consumes it;
//!   a second purchase of it is 409 "Number(s) not available.".
//! - **A number being bought is nobody's to reserve.** From the moment a
//!   purchase is placed (still pending) its numbers are unavailable: reserving
//!   them, by any account, is 409 "Number(s) not available.".
//! - **Filters page like the whole listing.** `GET /my/tf` with `like`
//!   (starts with) and repeated `packageID[]` narrows the records before
//!   paging: `pageSize + 1` records and `hasMore: true` when more follow.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let config = intelepeer_sim::SimConfig::default().with_user("bob", "pw", 2002);
//! let running = intelepeer_sim::spawn(config).await?;
//! let base_url = running.url(); // e.g. http://127.0.0.1:41234
//! running.sim().seed_inventory(&["+18005550100"], 30744); // demo's account
//! running.sim().seed_inventory_in(2002, &["+18005550101"], 30744); // bob's
//! running
//!     .sim()
//!     .set_tampering(intelepeer_sim::Tampering::default().omitting(["+18005550100"]));
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
mod spec_items;
mod state;
mod tamper;

pub use config::{
    DurationError, EXAMPLE_NUMBERS, SimConfig, TOLL_FREE_NPAS, UserSpec, UserSpecError,
    format_duration, parse_duration,
};
pub use faults::{Faults, FaultsParseError};
pub use records::{LedgerEntry, LedgerKind, OwnedNumber};
pub use server::{Connection, RunningSim, spawn};
pub use simulator::{SimError, Simulator};
pub use tamper::{
    HasMoreLie, PadStyle, Padding, SYNTHETIC_PACKAGE_ID, Tampering, TamperingParseError,
};
