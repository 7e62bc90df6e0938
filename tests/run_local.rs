//! `make run` (hack/run-local.sh) fails loudly: a port already in use, or the
//! simulator or the operator exiting during start, is named and the script
//! exits non-zero without printing "Running."; when everything starts, the
//! example is Ready, and `make stop` stops all of it.
//!
//! Each test runs the script in its own directory, on free ports, with the
//! operator binary Cargo built for the tests (`TOLLFREE_OPERATOR_BIN`).

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use support::{describe, random_suffix, repo_path};

/// The operator binary Cargo built for the tests.
const OPERATOR_BIN: &str = env!("CARGO_BIN_EXE_tollfree-operator");

/// A `make run` directory; `make stop` and removal on drop.
struct RunDir(PathBuf);

impl RunDir {
    fn new() -> RunDir {
        let dir = std::env::temp_dir().join(format!("tf-run-local-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("creating the run directory");
        RunDir(dir)
    }

    /// `hack/run-local.sh CMD DIR` with `env`, on free ports unless `env`
    /// names them.
    fn script(&self, cmd: &str, env: &[(&str, String)]) -> Output {
        let mut command = Command::new(repo_path("hack/run-local.sh"));
        command
            .arg(cmd)
            .arg(&self.0)
            .env("TOLLFREE_OPERATOR_BIN", OPERATOR_BIN)
            .env("SIM_PORT", free_port().to_string())
            .env("METRICS_PORT", free_port().to_string())
            .env("ORDER_DELAY", "200ms")
            .env_remove("SIMULATOR_ARGS")
            .env_remove("OPERATOR_ARGS")
            .stdin(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("running hack/run-local.sh")
    }

    /// The pid `hack/run-local.sh` recorded for `name` (operator, simulator).
    fn pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.0.join(format!("{name}.pid")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = self.script("stop", &[]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn alive(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Asserts that `start` failed loudly: non-zero, `needle` on stderr, no "Running.".
#[track_caller]
fn assert_failed_loudly(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "start succeeded: {}", describe(out));
    assert!(
        stderr.contains(needle),
        "expected {needle:?} on stderr: {}",
        describe(out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Running."),
        "{}",
        describe(out)
    );
}

#[test]
fn start_names_the_simulator_port_when_it_is_taken() {
    let dir = RunDir::new();
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let port = taken.local_addr().expect("address").port();
    let out = dir.script("start", &[("SIM_PORT", port.to_string())]);
    assert_failed_loudly(
        &out,
        &format!("port {port} (the simulator, SIM_PORT) is already in use"),
    );
    assert_eq!(dir.pid("simulator"), None, "a simulator was started anyway");
}

#[test]
fn start_names_the_metrics_port_when_it_is_taken() {
    let dir = RunDir::new();
    // Taken on every address, as another operator's 0.0.0.0:8080 would be.
    let taken = TcpListener::bind("0.0.0.0:0").expect("a port to hold");
    let port = taken.local_addr().expect("address").port();
    let out = dir.script("start", &[("METRICS_PORT", port.to_string())]);
    assert_failed_loudly(
        &out,
        &format!("port {port} (the operator's metrics server, METRICS_PORT) is already in use"),
    );
    assert_eq!(dir.pid("simulator"), None, "a simulator was started anyway");
}

#[test]
fn start_names_the_simulator_when_it_exits_during_start() {
    let dir = RunDir::new();
    let out = dir.script(
        "start",
        &[("SIMULATOR_ARGS", "--faults=not-a-fault".to_owned())],
    );
    assert_failed_loudly(&out, "the simulator (pid ");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited during start"), "{stderr}");
    // The reason, from the simulator's own log.
    assert!(stderr.contains("not-a-fault"), "{stderr}");
}

#[test]
fn start_names_the_operator_when_it_exits_during_start() {
    let dir = RunDir::new();
    let out = dir.script(
        "start",
        &[("OPERATOR_ARGS", "--vendor-rate-limit=-1".to_owned())],
    );
    assert_failed_loudly(&out, "the operator (pid ");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited during start"), "{stderr}");
    assert!(stderr.contains("--vendor-rate-limit"), "{stderr}");
}

#[test]
fn start_brings_the_example_to_ready_and_stop_stops_everything() {
    let dir = RunDir::new();
    let out = dir.script("start", &[]);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Running."), "{stdout}");
    assert!(stdout.contains("support-lines"), "{stdout}");
    let pids: Vec<u32> = ["operator", "simulator"]
        .into_iter()
        .map(|name| dir.pid(name).unwrap_or_else(|| panic!("no {name}.pid")))
        .collect();
    assert!(pids.iter().all(|&p| alive(p)), "{pids:?} not all alive");

    let stopped = dir.script("stop", &[]);
    assert!(stopped.status.success(), "{}", describe(&stopped));
    assert!(
        pids.iter().all(|&p| !alive(p)),
        "{pids:?} survived make stop"
    );
    let control_plane = Command::new(repo_path("hack/control-plane.sh"))
        .arg("status")
        .arg(dir.0.join("control-plane"))
        .output()
        .expect("control-plane.sh status");
    assert!(
        !control_plane.status.success(),
        "the control plane survived make stop"
    );
}
