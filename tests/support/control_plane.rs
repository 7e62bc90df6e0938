//! One local Kubernetes control plane per test binary, and a fresh namespace per
//! test.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::{random_suffix, repo_path, wait_until};

/// The CRD's name, as `kubectl wait` and `kubectl get crd` want it.
pub const CRD_NAME: &str = "tollfreenumbersets.tollfree.dev";

/// A running etcd + kube-apiserver started by `hack/control-plane.sh`, with the
/// TollFreeNumberSet CRD installed.
///
/// There is one per test binary ([`ControlPlane::shared`]); tests isolate
/// themselves with a [`TestNs`].
#[derive(Debug)]
pub struct ControlPlane {
    dir: PathBuf,
    kubeconfig: PathBuf,
    server: String,
}

static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

impl ControlPlane {
    /// The control plane of this test binary, started (and the CRD applied) by
    /// the first caller; the others wait for it. A failed start fails every
    /// test with the same message, once.
    ///
    /// Blocking: the first call can take a while (tens of seconds, minutes if
    /// the binaries still have to be built).
    pub fn shared() -> &'static ControlPlane {
        match SHARED.get_or_init(|| ControlPlane::start("")) {
            Ok(cp) => cp,
            Err(e) => panic!("the test control plane is not available:\n{e}"),
        }
    }

    /// A control plane of its own for one test (blocking, tens of seconds):
    /// for a test that stops and restarts the apiserver
    /// ([`ControlPlane::stop`], [`ControlPlane::restart`]), or that runs an
    /// operator watching every namespace, which must not see other tests'
    /// sets. Like the shared one, it lives until the test binary exits
    /// (its watchdog stops it then); `label` names its directory.
    pub fn dedicated(label: &str) -> &'static ControlPlane {
        match ControlPlane::start(label) {
            Ok(cp) => Box::leak(Box::new(cp)),
            Err(e) => panic!("a dedicated test control plane is not available:\n{e}"),
        }
    }

    fn start(label: &str) -> Result<ControlPlane, String> {
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".to_owned());
        // Test binaries are named `<test>-<hash>`; the short name is enough.
        let short = binary.split('-').next().unwrap_or("tests").to_owned();
        let label = if label.is_empty() {
            String::new()
        } else {
            format!("-{label}")
        };
        let dir = std::env::temp_dir().join(format!("tf-e2e-{short}{label}-{}", random_suffix()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let script = repo_path("hack/control-plane.sh");
        let keep = std::env::var_os("TOLLFREE_E2E_KEEP").is_some_and(|v| !v.is_empty());
        if !keep {
            spawn_watchdog(&script, &dir)?;
        }

        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} start {} failed ({}):\n{}",
                script.display(),
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let server = std::fs::read_to_string(dir.join("apiserver-url"))
            .map_err(|e| format!("reading apiserver-url: {e}"))?
            .trim()
            .to_owned();
        let cp = ControlPlane {
            kubeconfig: dir.join("kubeconfig"),
            dir,
            server,
        };
        eprintln!(
            "test control plane: {} (KUBECONFIG={}){}",
            cp.server,
            cp.kubeconfig.display(),
            if keep { ", kept after the tests" } else { "" }
        );
        cp.install_crd()?;
        Ok(cp)
    }

    /// Applies `crds/tollfreenumberset.yaml` and waits until it is Established and
    /// served (discovery lists it).
    fn install_crd(&self) -> Result<(), String> {
        let crd = repo_path("crds/tollfreenumberset.yaml");
        let crd = crd.to_str().expect("utf-8 path");
        // Server-side: a large CRD does not fit in the client-side
        // last-applied annotation (256 KiB).
        let apply = ["apply", "--server-side", "--force-conflicts", "-f", crd];
        let out = self.kubectl(&apply);
        if !out.status.success() {
            return Err(format!("kubectl {}: {}", apply.join(" "), describe(&out)));
        }
        // `kubectl wait` fails at once (rather than waiting) while the new CRD
        // has no status conditions at all: ask again until it has them.
        let crd_ref = format!("crd/{CRD_NAME}");
        let wait = [
            "wait",
            "--for",
            "condition=established",
            "--timeout=60s",
            &crd_ref,
        ];
        let mut attempts = 0;
        loop {
            let out = self.kubectl(&wait);
            if out.status.success() {
                break;
            }
            attempts += 1;
            if attempts >= 50 {
                return Err(format!("kubectl {}: {}", wait.join(" "), describe(&out)));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut last = String::new();
        for _ in 0..60 {
            let out = self.kubectl(&["get", "tfns", "--all-namespaces"]);
            if out.status.success() {
                return Ok(());
            }
            last = describe(&out);
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(format!(
            "the CRD is Established but `kubectl get tfns` fails: {last}"
        ))
    }

    /// Stops etcd and the apiserver (an outage: clients see connection
    /// refused); their data, ports and credentials stay for
    /// [`ControlPlane::restart`]. Blocking; returns once both have exited.
    pub fn stop(&self) {
        self.script("stop");
    }

    /// SIGKILLs the apiserver (a crashed apiserver: connections cut at once,
    /// no graceful shutdown, which takes seconds); etcd keeps running.
    /// Blocking; returns once the process is gone. [`ControlPlane::restart`]
    /// brings it back.
    pub fn kill_apiserver(&self) {
        let pid_file = self.dir.join("kube-apiserver.pid");
        let pid = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", pid_file.display()));
        let pid = pid.trim();
        let status = Command::new("kill")
            .args(["-KILL", pid])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -KILL {pid} failed");
        wait_until(Duration::from_secs(10), "the apiserver to exit", || {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting to be reaped.
            (state.is_empty() || state.contains(") Z ")).then_some(())
        });
    }

    /// Starts etcd and the apiserver again after [`ControlPlane::stop`] or
    /// [`ControlPlane::kill_apiserver`], on the same ports with the same data
    /// and credentials; returns once the apiserver is ready (blocking,
    /// seconds).
    pub fn restart(&self) {
        self.script("start");
    }

    fn script(&self, command: &str) {
        let script = repo_path("hack/control-plane.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(command)
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} {command} {}: {}",
            script.display(),
            self.dir.display(),
            describe(&out)
        );
    }

    /// The directory holding the control plane's state, logs and credentials.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin (`system:masters`) kubeconfig.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server's URL, e.g. `https://127.0.0.1:41234`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// A client with the admin credentials.
    pub async fn kube_client(&self) -> kube::Client {
        client_for_kubeconfig(&self.kubeconfig).await
    }

    /// Writes a kubeconfig for the same API server (and CA) that authenticates
    /// with `token` (e.g. from [`ControlPlane::create_token`]), and returns its path.
    pub fn kubeconfig_for_token(&self, token: &str) -> PathBuf {
        let path = self
            .dir
            .join(format!("kubeconfig-token-{}", random_suffix()));
        let yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: tollfree\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: token\n  user:\n    token: {token}\ncontexts:\n- name: tollfree\n  context:\n    cluster: tollfree\n    user: token\n    namespace: default\ncurrent-context: tollfree\n",
            server = self.server,
            ca = self.dir.join("ca.crt").display(),
        );
        std::fs::write(&path, yaml).expect("writing the token kubeconfig");
        path
    }

    /// Mints a token for a ServiceAccount with the TokenRequest API
    /// (`kubectl create token`).
    pub fn create_token(&self, namespace: &str, service_account: &str) -> String {
        self.kubectl_ok(&[
            "create",
            "token",
            service_account,
            "--namespace",
            namespace,
            "--duration=1h",
        ])
        .trim()
        .to_owned()
    }

    /// Runs `kubectl ARGS` with the admin kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(&self.kubeconfig, args, None)
    }

    /// Runs `kubectl ARGS` with `stdin` as its standard input.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        self.kubectl_with(&self.kubeconfig, args, Some(stdin))
    }

    /// Runs `kubectl ARGS` with another kubeconfig (e.g. from
    /// [`ControlPlane::kubeconfig_for_token`]) and optional standard input.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", kubeconfig)
            // Discovery cache per control plane: ports are reused across runs,
            // and a stale cache would hide the CRD.
            .env("KUBECACHEDIR", self.dir.join("kubectl-cache"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().expect("kubectl is installed");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            pipe.write_all(input.as_bytes())
                .expect("writing kubectl's stdin");
        }
        child.wait_with_output().expect("waiting for kubectl")
    }

    /// Runs `kubectl ARGS`, asserts that it succeeds and returns its stdout.
    #[track_caller]
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}",
            args.join(" "),
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `kubectl ARGS`, asserts that it fails and returns its stderr.
    #[track_caller]
    pub fn kubectl_err(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {} succeeded but should have failed: {}",
            args.join(" "),
            describe(&out)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `kubectl apply -f -` of `yaml` in `namespace`; asserts success and
    /// returns stdout.
    #[track_caller]
    pub fn apply_yaml(&self, namespace: &str, yaml: &str) -> String {
        let out = self.try_apply_yaml(namespace, yaml);
        assert!(
            out.status.success(),
            "kubectl apply failed: {}\nmanifest:\n{yaml}",
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl apply -f -` of `yaml` in `namespace`, whatever the outcome.
    pub fn try_apply_yaml(&self, namespace: &str, yaml: &str) -> Output {
        self.kubectl_stdin(&["apply", "--namespace", namespace, "-f", "-"], yaml)
    }
}

/// A client for the API server and credentials of `kubeconfig`.
pub async fn client_for_kubeconfig(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .unwrap_or_else(|e| panic!("reading {}: {e}", kubeconfig.display()));
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("loading {}: {e}", kubeconfig.display()));
    kube::Client::try_from(config).expect("building the kube client")
}

/// Exit status, stdout and stderr of a command, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts a detached process that stops the control plane in `dir` (and
/// removes `dir`) once this test binary has exited: statics have no
/// destructors, and a killed test binary would leave etcd and the apiserver
/// running otherwise.
fn spawn_watchdog(script: &Path, dir: &Path) -> Result<(), String> {
    const WATCHDOG: &str = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        bash "$2" stop "$3" >/dev/null 2>&1
        rm -rf -- "$3"
    "#;
    Command::new("setsid")
        .args(["nohup", "bash", "-c", WATCHDOG, "tf-e2e-watchdog"])
        .arg(std::process::id().to_string())
        .arg(script)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("starting the control plane watchdog: {e}"))
}

/// A fresh namespace `tf-e2e-<random>` on the shared control plane, labelled
/// `tollfree.dev/e2e=true` and annotated with the test's name.
///
/// It is never deleted (no controller-manager finishes namespace deletion);
/// the whole control plane goes away with the test binary.
#[derive(Debug, Clone)]
pub struct TestNs {
    name: String,
    cp: &'static ControlPlane,
}

impl TestNs {
    /// Creates the namespace (blocking).
    pub fn create() -> TestNs {
        TestNs::create_on(ControlPlane::shared())
    }

    /// Creates the namespace on control plane `cp` (e.g. a
    /// [`ControlPlane::dedicated`] one).
    pub fn create_on(cp: &'static ControlPlane) -> TestNs {
        let name = format!("tf-e2e-{}", random_suffix());
        // libtest names each test's thread after the test.
        let test = std::thread::current()
            .name()
            .unwrap_or("unknown")
            .to_owned();
        let out = cp.kubectl_stdin(
            &["apply", "-f", "-"],
            &format!(
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{tollfree.dev/e2e: \"true\"}}\n  annotations: {{tollfree.dev/test: {test:?}}}\n"
            ),
        );
        assert!(
            out.status.success(),
            "creating namespace {name}: {}",
            describe(&out)
        );
        TestNs { name, cp }
    }

    /// The control plane it lives on.
    pub fn control_plane(&self) -> &'static ControlPlane {
        self.cp
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `kubectl apply -f -` of `yaml` in this namespace; asserts success.
    #[track_caller]
    pub fn apply(&self, yaml: &str) -> String {
        self.cp.apply_yaml(&self.name, yaml)
    }

    /// `kubectl apply -f -` of `yaml` in this namespace, whatever the outcome.
    pub fn try_apply(&self, yaml: &str) -> Output {
        self.cp.try_apply_yaml(&self.name, yaml)
    }

    /// Creates the IntelePeer account Secret `name` with the simulator's
    /// default user (`demo` / `demo`).
    pub fn create_account_secret(&self, name: &str) {
        self.create_secret(name, "demo", "demo");
    }

    /// Creates an account Secret `name` with `username` and `password`.
    pub fn create_secret(&self, name: &str, username: &str, password: &str) {
        self.apply(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\nstringData:\n  username: {username:?}\n  password: {password:?}\n"
        ));
    }
}

/// Runs `test` with an admin client and the name of a fresh namespace (see
/// [`TestNs`]), and returns its result.
pub async fn with_temp_ns<F, Fut, T>(test: F) -> T
where
    F: FnOnce(kube::Client, String) -> Fut,
    Fut: Future<Output = T>,
{
    let ns = TestNs::create();
    let client = ControlPlane::shared().kube_client().await;
    test(client, ns.name().to_owned()).await
}

/// Waits (blocking) until `kubectl ARGS` succeeds, and returns its stdout.
#[track_caller]
pub fn kubectl_eventually(timeout: Duration, args: &[&str]) -> String {
    let cp = ControlPlane::shared();
    wait_until(timeout, &format!("kubectl {}", args.join(" ")), || {
        let out = cp.kubectl(args);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    })
}
