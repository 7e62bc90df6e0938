//! IntelePeer toll-free number API: domain types and a typed client.
//!
//! [`types`] holds the domain newtypes and is always available; the HTTP client
//! sits behind the default `client` feature so that pure crates (the planner)
//! can share the types without depending on tokio or reqwest.

#![warn(missing_docs)]

pub mod types;

pub use types::{E164, Npa, OrderId, PackageId, ParseError, ReservationId, TOLL_FREE_NPAS};
