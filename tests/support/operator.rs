//! The built `tollfree-operator` binary, run as a child process.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{ControlPlane, random_suffix, wait_for};

/// The operator binary Cargo built for this test run.
pub const OPERATOR_BIN: &str = env!("CARGO_BIN_EXE_tollfree-operator");

/// How many trailing log lines a failing test prints.
const LOG_TAIL_LINES: usize = 400;

/// Options of an [`Operator`] process; [`OperatorBuilder::start`] runs it.
#[derive(Debug, Clone)]
pub struct OperatorBuilder {
    intelepeer_url: String,
    namespace: Option<String>,
    kubeconfig: Option<PathBuf>,
    control_plane: Option<&'static ControlPlane>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl OperatorBuilder {
    /// Run against control plane `cp` (its admin kubeconfig, unless
    /// [`OperatorBuilder::kubeconfig`] says otherwise; the log goes to its
    /// directory) instead of the binary's shared one.
    pub fn control_plane(mut self, cp: &'static ControlPlane) -> Self {
        self.control_plane = Some(cp);
        self
    }

    /// Only reconcile sets in `namespace` (`--namespace`). Without it, the
    /// operator watches every namespace — and sees other tests' sets.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// Reconcile sets in every namespace (no `--namespace`; undoes
    /// [`OperatorBuilder::namespace`]). Only on a control plane where no other
    /// test's sets live (a [`ControlPlane::dedicated`] one, or a binary whose
    /// tests run one at a time and clean up).
    pub fn all_namespaces(mut self) -> Self {
        self.namespace = None;
        self
    }

    /// Use this kubeconfig instead of the control plane's admin one (e.g. from
    /// [`ControlPlane::kubeconfig_for_token`], to run with the deployed RBAC).
    pub fn kubeconfig(mut self, path: &Path) -> Self {
        self.kubeconfig = Some(path.to_owned());
        self
    }

    /// An extra command-line argument of `run` (e.g. `--leader-elect`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// An extra environment variable (e.g. `POD_NAME`, `RUST_LOG`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts `tollfree-operator run --intelepeer-url URL [--namespace NS]
    /// --metrics-addr 127.0.0.1:<free port> ARGS`, with stdout and stderr going to
    /// a log file in the control plane's directory.
    pub fn start(self) -> Operator {
        let cp = self.control_plane.unwrap_or_else(ControlPlane::shared);
        let metrics_addr = free_loopback_addr();
        let log_dir = cp.dir().join("operators");
        std::fs::create_dir_all(&log_dir).expect("creating the operator log directory");
        let log_path = log_dir.join(format!("operator-{}.log", random_suffix()));
        let log = File::create(&log_path).expect("creating the operator log");

        // `TOLLFREE_E2E_WRAP="heaptrack -o /tmp/op"` runs the operator under
        // a profiler (words split on white space; the binary comes last);
        // `TOLLFREE_E2E_OPERATOR_BIN=target/x86_64-unknown-linux-musl/release/tollfree-operator`
        // runs another build of it (the shipped static binary, in benches).
        let bin = std::env::var("TOLLFREE_E2E_OPERATOR_BIN")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| OPERATOR_BIN.to_owned());
        let wrap = std::env::var("TOLLFREE_E2E_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut cmd = match words.next() {
            Some(program) => {
                let mut cmd = Command::new(program);
                cmd.args(words).arg(&bin);
                cmd
            }
            None => Command::new(&bin),
        };
        cmd.arg("run")
            .args(["--intelepeer-url", &self.intelepeer_url])
            .args(["--metrics-addr", &metrics_addr.to_string()]);
        if let Some(ns) = &self.namespace {
            cmd.args(["--namespace", ns]);
        }
        cmd.args(&self.args);
        // Hermetic: nothing from the environment running the tests decides
        // where the operator connects or which Lease namespace it uses.
        for var in [
            "INTELEPEER_URL",
            "INTELEPEER_USERNAME",
            "INTELEPEER_PASSWORD",
            "INTELEPEER_TOKEN",
            "POD_NAME",
            "POD_NAMESPACE",
            "KUBERNETES_SERVICE_HOST",
            "KUBERNETES_SERVICE_PORT",
        ] {
            cmd.env_remove(var);
        }
        cmd.env(
            "KUBECONFIG",
            self.kubeconfig.as_deref().unwrap_or(cp.kubeconfig_path()),
        )
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,tollfree_operator=debug".into()),
        )
        .env("RUST_BACKTRACE", "1");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        spawn_reaper(child.id());
        Operator {
            child,
            log_path,
            metrics_addr,
            exited: None,
        }
    }
}

/// A running operator process. Dropping it kills the process; when the test is
/// failing (panicking), the tail of the operator's log is printed first.
#[derive(Debug)]
pub struct Operator {
    child: Child,
    log_path: PathBuf,
    metrics_addr: SocketAddr,
    exited: Option<ExitStatus>,
}

impl Operator {
    /// Options for an operator talking to the vendor at `intelepeer_url`
    /// (usually [`super::TestSim::url`]), with the admin kubeconfig.
    pub fn builder(intelepeer_url: &str) -> OperatorBuilder {
        OperatorBuilder {
            intelepeer_url: intelepeer_url.to_owned(),
            namespace: None,
            kubeconfig: None,
            control_plane: None,
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// Starts an operator for `namespace` only, talking to `intelepeer_url`.
    pub fn start(intelepeer_url: &str, namespace: &str) -> Operator {
        Operator::builder(intelepeer_url)
            .namespace(namespace)
            .start()
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}", self.metrics_addr)
    }

    /// The process's peak resident memory so far (`VmHWM` of
    /// `/proc/<pid>/status`), in KiB; `None` once it has exited.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmHWM")
    }

    /// The process's resident memory now (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmRSS")
    }

    /// The log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the operator has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `GET path` on the metrics server: `(status, body)`, or `None` if it
    /// does not answer.
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.metrics_addr, path).ok()
    }

    /// The `/metrics` text, or `None` if the server does not answer 200.
    pub fn metrics(&self) -> Option<String> {
        self.http_get("/metrics")
            .and_then(|(status, body)| (status == 200).then_some(body))
    }

    /// Waits until `/readyz` answers 200; panics (with the log) if the process
    /// exits first or `timeout` passes.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let addr = self.metrics_addr;
        let pid = self.pid();
        let log = self.log_path.clone();
        wait_for(timeout, &format!("operator (pid {pid}) /readyz"), || {
            let exited = self.try_wait();
            let log = log.clone();
            async move {
                if let Some(status) = exited {
                    panic!(
                        "the operator exited with {status} before it was ready; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                match tokio::task::spawn_blocking(move || http_get(addr, "/readyz")).await {
                    Ok(Ok((200, _))) => Some(()),
                    _ => None,
                }
            }
        })
        .await;
    }

    /// The exit status if the process has exited (without blocking).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("polling the operator");
        }
        self.exited
    }

    /// Sends SIGTERM (a graceful stop: drain, release the Lease) and waits up
    /// to `timeout` for the exit; kills it after that. Returns the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.try_wait() {
            return status;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill()
    }

    /// Kills the process (SIGKILL, like a crashed pod) and returns its status.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_wait() {
            return status;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("waiting for the operator");
        self.exited = Some(status);
        status
    }

    fn log_tail(&self) -> String {
        let logs = self.logs();
        let lines: Vec<&str> = logs.lines().collect();
        let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
        lines[skip..].join("\n")
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let status = self.kill();
        if std::thread::panicking() {
            eprintln!(
                "===== tollfree-operator (pid {}, {status}) log, last {LOG_TAIL_LINES} lines: {} =====\n{}\n===== end of operator log =====",
                self.pid(),
                self.log_path.display(),
                self.log_tail()
            );
        }
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`), if the process lives.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A loopback address with a port that was free a moment ago.
fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local address")
}

/// A minimal HTTP/1.0 GET (no client dependency; the metrics server is on
/// loopback and answers HTTP/1.0 without chunked encoding).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Kills the operator `pid` if this test binary dies without dropping its
/// [`Operator`] (abort, SIGKILL); exits on its own once the operator has.
fn spawn_reaper(pid: u32) {
    const REAPER: &str = r#"
        while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
        kill -0 "$1" 2>/dev/null || kill -KILL "$2" 2>/dev/null
    "#;
    let _ = Command::new("setsid")
        .args(["nohup", "bash", "-c", REAPER, "tf-e2e-reaper"])
        .arg(std::process::id().to_string())
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop);
}

/// The sum of every series of `name` in an OpenMetrics text.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
