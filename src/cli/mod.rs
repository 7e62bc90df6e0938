//! The command line (a stable contract, as the README lists it):
//! `run`, `crd`, `plan` and `simulator`, and the GitOps additions `approve`
//! and `import` (docs/gitops.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod approve;
pub mod cluster;
pub mod crd;
pub mod import;
pub mod plan;
pub mod run;
pub mod simulator;

/// Keeps IntelePeer toll-free numbers in the state declared by TollFreeNumberSet resources.
#[derive(Debug, Parser)]
#[command(name = "tollfree-operator", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator: reconcile TollFreeNumberSets against the IntelePeer API.
    Run(run::RunArgs),
    /// Print the TollFreeNumberSet CRD as YAML.
    Crd(crd::CrdArgs),
    /// Preview what the operator would do for some manifests (read-only).
    /// Exit 0: no changes; 2: changes; 1: error.
    Plan(plan::PlanArgs),
    /// Approve the actions a set holds under an Approve policy: shows them
    /// and their plan hash, asks, and sets annotation tollfree.dev/approve.
    Approve(approve::ApproveArgs),
    /// Write TollFreeNumberSet manifests that own an account's inventory as
    /// it is (onboarding; read-only at the vendor).
    Import(import::ImportArgs),
    /// Run the IntelePeer API simulator (for tests and demos).
    Simulator(simulator::SimulatorArgs),
}

/// Runs a parsed command line and returns the process exit code.
pub async fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(args) => run::main(args).await,
        Command::Crd(args) => crd::main(args),
        Command::Plan(args) => plan::main(args).await,
        Command::Approve(args) => approve::main(args).await,
        Command::Import(args) => import::main(args).await,
        Command::Simulator(args) => simulator::main(args).await,
    }
}
