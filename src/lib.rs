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
//! - [`controller`] feeds set events to the [`router`], which proves each
//!   set's login ([`logins`]) and joins it to its [`account`] worker: observe,
//!   list, plan, execute, record — one pass for the whole account;
//!   [`events`] are what people read of it, [`backoff`] when to try again;
//! - [`cli`]: the command-line contract (the README's command line); [`error`]: the
//!   reconcile's and the start-up's errors.
//!
//! The vendor client, the simulator, the pure planner and the duration
//! grammar are the crates `intelepeer`, `intelepeer-sim`, `tollfree-plan` and
//! `go-duration`.

#![warn(missing_docs)]

pub mod account;
pub mod backoff;
pub mod cli;
pub mod context;
pub mod controller;
pub mod crd;
pub mod error;
pub mod events;
#[cfg(test)]
mod fixtures;
pub mod leader;
pub mod logins;
pub mod memory;
pub mod metrics;
pub mod router;
pub mod server;
pub mod shutdown;
pub mod spec;
pub mod status;
pub mod telemetry;
