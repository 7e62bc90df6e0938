//! `tollfree-operator run`: the operator.

use std::process::ExitCode;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Runs the operator until SIGTERM.
pub async fn main(_args: RunArgs) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::FAILURE
}
