//! `tollfree-operator crd`: print the CRD YAML.

use std::process::ExitCode;

/// Arguments of `crd` (none).
#[derive(Debug, clap::Args)]
pub struct CrdArgs {}

/// Prints the CRD.
pub fn main(_args: CrdArgs) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::FAILURE
}
