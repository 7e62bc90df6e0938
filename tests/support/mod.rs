//! Shared harness of the integration and end-to-end tests.
//!
//! Every test binary (`tests/*.rs`) that needs a cluster does `mod support;` and
//! gets:
//!
//! - [`ControlPlane::shared`]: one real etcd + kube-apiserver per test binary
//!   (`hack/control-plane.sh`), with the TollFreeNumberSet CRD installed and
//!   Established, `kubectl` helpers and a [`kube::Client`];
//! - [`TestNs`] / [`with_temp_ns`]: a fresh random namespace per test, in the
//!   manner of linkerd's policy tests (`with_temp_ns`), so tests running in
//!   parallel never see each other's objects;
//! - [`TestSim`]: the IntelePeer simulator, in-process on its own runtime thread;
//! - [`Operator`]: the built `tollfree-operator` binary as a child process whose
//!   log is printed when the test fails;
//! - [`wait_for`] / [`wait_until`]: polling with a deadline and a readable failure;
//! - [`EXAMPLE_SET`] / [`example_set`]: the canonical example manifest;
//! - [`scenario`]: readers of sets (conditions, [`scenario::is_ready`]), the
//!   ledger and Events, shared by the end-to-end tests.
//!
//! The control plane has no kube-controller-manager: namespaces never finish
//! deleting, so test namespaces are left behind. That is harmless: the control
//! plane lives in a temporary directory and is stopped (and the directory
//! removed) by a watchdog when the test binary exits. Set
//! `TOLLFREE_E2E_KEEP=1` to leave it running for inspection (its `KUBECONFIG`
//! is printed when it starts). `TOLLFREE_E2E_WRAP="heaptrack -o FILE"` runs
//! every operator under a profiler (benchmarks: where memory goes).

// Each test binary uses a different subset of this harness; what one binary
// leaves unused (items, and the re-exports below) would otherwise fail
// `clippy -D warnings` as dead code.
#![allow(dead_code, unused_imports)]

mod control_plane;
mod operator;
pub mod scenario;
mod sim;
mod wait;

pub use control_plane::{
    CRD_NAME, ControlPlane, TestNs, client_for_kubeconfig, describe, kubectl_eventually,
    with_temp_ns,
};
pub use operator::{Operator, OperatorBuilder, metric_sum};
pub use sim::TestSim;
pub use wait::{wait_for, wait_until};

use std::path::{Path, PathBuf};

/// The repository root (the operator package's manifest directory).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path relative to the repository root, e.g. `repo_path("deploy")`.
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// The canonical example manifest, as a user applies it (README, `make run`):
/// `deploy/examples/support-lines.yaml`, set `telecom/support-lines`.
pub const EXAMPLE_SET: &str = include_str!("../../deploy/examples/support-lines.yaml");

/// [`EXAMPLE_SET`] without its namespace (as JSON, which `kubectl apply`
/// reads too), so that it can be applied into a test's own namespace.
pub fn example_set() -> String {
    let mut set: serde_json::Value = yaml_serde::from_str(EXAMPLE_SET).expect("the example parses");
    let metadata = set
        .get_mut("metadata")
        .and_then(serde_json::Value::as_object_mut)
        .expect("the example has metadata");
    assert!(
        metadata.remove("namespace").is_some(),
        "the example names its namespace"
    );
    serde_json::to_string_pretty(&set).expect("JSON")
}

/// A short random lower-case suffix for names (namespaces, files).
pub fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}
