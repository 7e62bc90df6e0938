//! The Go-built tools of `hack/tools.sh` (promtool, kstatus, lua-health),
//! built from Go modules on first use and cached like the control plane
//! binaries. Included with `#[path]` by the tests that need them, so that a
//! test binary without a cluster does not compile the cluster harness.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The cached binary of tool `name` (a row of `hack/tools.sh`), built first
/// if need be. Panics with the build's output when it cannot be built.
pub fn tool(name: &str) -> PathBuf {
    static PATHS: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut paths = PATHS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = paths.get(name) {
        return path.clone();
    }
    let out = Command::new("bash")
        .arg(repo_root().join("hack/tools.sh"))
        .args(["path", name])
        .output()
        .expect("running hack/tools.sh");
    assert!(
        out.status.success(),
        "hack/tools.sh path {name} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(path.is_file(), "hack/tools.sh printed {}", path.display());
    paths.insert(name.to_owned(), path.clone());
    path
}

/// Runs tool `name` with `args` (relative paths from the repository root)
/// and `stdin`.
pub fn run(name: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(tool(name))
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .unwrap_or_else(|e| panic!("writing to {name}: {e}"));
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {name}: {e}"))
}

/// stdout and stderr of `out`, for failure messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A verdict of `kstatus` or `lua-health` about one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Verdict {
    /// kstatus: Current, InProgress, Failed, Terminating, ...; Argo CD:
    /// Healthy, Progressing, Degraded, Suspended, ...
    pub status: String,
    /// Why.
    pub message: String,
}

fn verdict(name: &str, args: &[&str], object_json: &str) -> Verdict {
    let out = run(name, args, object_json);
    assert!(
        out.status.success(),
        "{name} {args:?} failed on\n{object_json}\n{}",
        output_text(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default();
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{name} printed {text:?}, not a verdict: {e}"))
}

/// The kstatus (sigs.k8s.io/cli-utils) of an object given as JSON.
pub fn kstatus(object_json: &str) -> Verdict {
    verdict("kstatus", &[], object_json)
}

/// The shipped Argo CD health check's verdict about an object given as JSON,
/// run by gopher-lua as Argo CD runs it.
pub fn argocd_health(object_json: &str) -> Verdict {
    verdict(
        "lua-health",
        &["charts/tollfree-operator/files/argocd-health.lua"],
        object_json,
    )
}
