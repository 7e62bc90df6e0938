//! tollfree-operator: keeps IntelePeer toll-free numbers in the state declared by
//! `TollFreeNumberSet` resources.
//!
//! Layout, data flowing down:
//!
//! - [`crd`]: what users write (the CRD types and CEL rules);
//! - [`spec`]: a set's spec as the planner reads it (`SetInput`), and
//!   [`memory`]: what a set remembers, both ways between status and planner;
//! - [`status`]: the status a reconcile records (conditions, counters,
//!   orders), every human sentence in [`status::text`];
//! - [`reconcile`] (observe, plan, execute, record) driven by [`controller`],
//!   over [`accounts`] and the [`inventory`] cache;
//! - [`cli`]: the command line contract of DESIGN.md §5; [`error`]: the
//!   reconcile's and the start-up's errors.
//!
//! The vendor client, the simulator, the pure planner and the duration
//! grammar are the crates `intelepeer`, `intelepeer-sim`, `tollfree-plan` and
//! `go-duration`.

#![warn(missing_docs)]

pub mod accounts;
pub mod cli;
pub mod context;
pub mod controller;
pub mod crd;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod inventory;
pub mod leader;
pub mod memory;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod shutdown;
pub mod spec;
pub mod status;
pub mod telemetry;
