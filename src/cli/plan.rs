//! `tollfree-operator plan`: a read-only preview of what the operator would do.

use std::process::ExitCode;

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

/// Runs `plan`.
pub async fn main(_args: PlanArgs) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::FAILURE
}
