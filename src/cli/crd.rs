//! `tollfree-operator crd`: print the CRD YAML.
//!
//! `crds/tollfreenumberset.yaml` is this command's output, checked in; the test
//! `tests/crd_drift.rs` fails when the two differ.

use std::io::Write;
use std::process::ExitCode;

use kube::CustomResourceExt;

use crate::crd::TollFreeNumberSet;

/// Arguments of `crd` (none).
#[derive(Debug, clap::Args)]
pub struct CrdArgs {}

/// The CRD as YAML, exactly as `crd` prints it.
pub fn crd_yaml() -> Result<String, yaml_serde::Error> {
    yaml_serde::to_string(&TollFreeNumberSet::crd())
}

/// Prints the CRD.
pub fn main(_args: CrdArgs) -> ExitCode {
    let yaml = match crd_yaml() {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("error: cannot render the CRD as YAML: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(yaml.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the CRD: {e}");
            ExitCode::FAILURE
        }
    }
}
