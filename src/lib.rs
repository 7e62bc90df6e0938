//! tollfree-operator: keeps IntelePeer toll-free numbers in the state declared by
//! `TollFreeNumberSet` resources.
//!
//! Layout: [`crd`] is what users write; [`cli`] is the command line contract of
//! DESIGN.md §5. The vendor client, the simulator and the pure planner are the
//! crates `intelepeer`, `intelepeer-sim` and `tollfree-plan`.

#![warn(missing_docs)]

pub mod accounts;
pub mod cli;
pub mod context;
pub mod controller;
pub mod convert;
pub mod crd;
pub mod error;
pub mod inventory;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod shutdown;
pub mod telemetry;
