//! `tollfree-operator simulator`: serve the IntelePeer API simulator.

use std::process::ExitCode;

/// Arguments of `simulator`.
#[derive(Debug, clap::Args)]
pub struct SimulatorArgs {}

/// Serves the simulator until SIGTERM / Ctrl-C.
pub async fn main(_args: SimulatorArgs) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::FAILURE
}
