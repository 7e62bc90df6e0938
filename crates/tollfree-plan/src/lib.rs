//! The pure planner of tollfree-operator.
//!
//! `plan(&PlanInput) -> Plan`: desired sets + observed inventory + what is in
//! flight → the vendor actions that converge them, gated by policy, suspend,
//! approval and budgets, with per-number states and condition reasons. No I/O:
//! no kube, tokio or reqwest (the compiler enforces it: this crate does not
//! depend on them).

#![warn(missing_docs)]

pub mod model;

pub use model::*;
