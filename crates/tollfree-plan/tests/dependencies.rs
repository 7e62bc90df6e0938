//! The planner is pure: it must not depend, even transitively, on Kubernetes,
//! an async runtime or an HTTP client (docs/architecture.md).

use std::process::Command;

const FORBIDDEN: &[&str] = &["kube", "k8s-openapi", "tokio", "reqwest", "hyper", "axum"];

#[test]
fn planner_depends_on_no_kube_tokio_or_reqwest() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "tollfree-plan",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && tree.contains("tollfree-plan"),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offending: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| {
            FORBIDDEN
                .iter()
                .any(|f| name == f || name.starts_with(&format!("{f}-")))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "forbidden dependencies: {offending:?}\n{tree}"
    );
}
