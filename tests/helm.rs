//! `charts/tollfree-operator`: the one source of the installation. The chart
//! lints, its CRD is the generated one, `deploy/` is the chart rendered (no
//! drift), every rendering is accepted by a real API server, `helm install` on
//! an empty cluster runs the operator under the chart's ServiceAccount (the
//! README's Install steps), upgrades and uninstalls leave no RBAC behind, and
//! the manifests are GitOps-clean (server-side apply by two field managers
//! conflicts on nothing; the server stores every field as written).
//!
//! helm is built once from Go modules and cached (`hack/tools.sh`).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use support::{
    ControlPlane, Operator, TestNs, TestSim, describe, random_suffix, repo_path, wait_until,
};

const CHART: &str = "charts/tollfree-operator";
/// The release and namespace of the README (and of deploy/).
const RELEASE: &str = "tollfree-operator";
const OPERATOR_NS: &str = "tollfree-system";
const LEASE: &str = "tollfree-operator";
/// The optional objects, all off by default.
const MONITORING: &str =
    "serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true";

fn path(relative: &str) -> String {
    repo_path(relative).to_str().expect("utf-8 path").to_owned()
}

/// The cached helm binary (built on first use).
fn helm_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(repo_path("hack/tools.sh"))
            .args(["path", "helm"])
            .stdin(Stdio::null())
            .output()
            .expect("running hack/tools.sh");
        assert!(out.status.success(), "building helm: {}", describe(&out));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Runs helm against the cluster of `kubeconfig`, with its own (empty)
/// configuration, cache and data directories: no repositories or plugins of
/// the machine running the tests.
fn helm_with(kubeconfig: &Path, args: &[&str]) -> Output {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    let home = HOME.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tf-helm-home-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("creating helm's home");
        dir
    });
    Command::new(helm_bin())
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .output()
        .expect("running helm")
}

/// `helm ARGS` against the shared control plane; asserts success, returns stdout.
#[track_caller]
fn helm_ok(args: &[&str]) -> String {
    let out = helm_with(ControlPlane::shared().kubeconfig_path(), args);
    assert!(
        out.status.success(),
        "helm {} failed: {}",
        args.join(" "),
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `helm template RELEASE CHART -n NAMESPACE --set SET...` (no cluster needed).
#[track_caller]
fn render(release: &str, namespace: &str, sets: &[&str]) -> String {
    let chart = path(CHART);
    let mut args = vec!["template", release, &chart, "--namespace", namespace];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = helm_with(Path::new("/nonexistent-kubeconfig"), &args);
    assert!(
        out.status.success(),
        "helm {} failed: {}",
        args.join(" "),
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The YAML documents of `text`, as JSON values.
fn yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn kind_name(o: &Value) -> String {
    format!(
        "{}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} {name} among {:?}",
                objects.iter().map(kind_name).collect::<Vec<_>>()
            )
        })
}

/// The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, installed
/// once in the shared control plane (from its Go module: hack/monitoring-crds.sh).
fn monitoring_crds() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let out = Command::new(repo_path("hack/monitoring-crds.sh"))
            .stdin(Stdio::null())
            .output()
            .expect("running hack/monitoring-crds.sh");
        assert!(out.status.success(), "{}", describe(&out));
        let cp = ControlPlane::shared();
        for crd in String::from_utf8_lossy(&out.stdout).lines() {
            cp.kubectl_ok(&["apply", "--server-side", "-f", crd]);
        }
        for crd in [
            "servicemonitors.monitoring.coreos.com",
            "prometheusrules.monitoring.coreos.com",
        ] {
            wait_established(cp.kubeconfig_path(), crd);
        }
    });
}

/// Waits until the CRD `name` is Established. Polled: `kubectl wait` can fail
/// on a CRD whose status has no conditions yet.
fn wait_established(kubeconfig: &Path, name: &str) {
    wait_until(
        Duration::from_secs(60),
        &format!("CRD {name} Established"),
        || {
            let out = ControlPlane::shared().kubectl_with(
                kubeconfig,
                &[
                    "get",
                    "crd",
                    name,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
                ],
                None,
            );
            (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
        },
    );
}

/// `kubectl apply --server-side --dry-run=server` of `manifests`: the objects
/// as the API server would store them.
#[track_caller]
fn dry_run(manifests: &str) -> Vec<Value> {
    let out = ControlPlane::shared().kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=helm-dry-run",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            "-",
        ],
        manifests,
    );
    assert!(
        out.status.success(),
        "the API server refused the rendered chart: {}\n{manifests}",
        describe(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("kubectl printed JSON");
    match v["items"].as_array() {
        Some(items) => items.clone(),
        None => vec![v],
    }
}

#[test]
fn chart_passes_helm_lint_with_and_without_the_optional_objects() {
    let chart = path(CHART);
    for sets in [
        None,
        Some(MONITORING),
        Some("watchNamespace=telecom,replicaCount=1,leaderElection.enabled=false"),
    ] {
        let mut args = vec!["lint", "--strict", chart.as_str()];
        if let Some(s) = sets {
            args.extend(["--set", s]);
        }
        let out = helm_with(Path::new("/nonexistent-kubeconfig"), &args);
        assert!(
            out.status.success(),
            "helm {}: {}",
            args.join(" "),
            describe(&out)
        );
    }
}

#[test]
fn chart_app_version_is_the_operator_version() {
    let chart =
        std::fs::read_to_string(repo_path(&format!("{CHART}/Chart.yaml"))).expect("Chart.yaml");
    let chart = yaml_documents(&chart).remove(0);
    assert_eq!(
        chart["appVersion"],
        env!("CARGO_PKG_VERSION"),
        "Chart.yaml appVersion"
    );
    // The default image tag is the appVersion, and deploy/ pins the same tag.
    let rendered = yaml_documents(&render(RELEASE, OPERATOR_NS, &[]));
    let deployment = find(&rendered, "Deployment", RELEASE);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("tollfree-operator:{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn chart_crd_is_the_generated_crd() {
    let generated =
        std::fs::read_to_string(repo_path("crds/tollfreenumberset.yaml")).expect("the CRD");
    let in_chart =
        std::fs::read_to_string(repo_path(&format!("{CHART}/crd/tollfreenumberset.yaml")))
            .expect("the chart's CRD");
    assert!(
        in_chart == generated,
        "{CHART}/crd/tollfreenumberset.yaml differs from crds/tollfreenumberset.yaml: regenerate both with make crd"
    );

    let rendered = yaml_documents(&render(RELEASE, OPERATOR_NS, &[]));
    let crd = find(
        &rendered,
        "CustomResourceDefinition",
        "tollfreenumbersets.tollfree.dev",
    );
    let generated = yaml_documents(&generated).remove(0);
    assert_eq!(
        crd["spec"], generated["spec"],
        "the chart renders a CRD spec other than the generated one"
    );
    assert_eq!(crd["apiVersion"], generated["apiVersion"]);
    // Kept on uninstall and never pruned by Flux or Argo CD: deleting the CRD
    // would delete every set.
    let annotations = &crd["metadata"]["annotations"];
    assert_eq!(annotations["helm.sh/resource-policy"], "keep");
    assert_eq!(annotations["kustomize.toolkit.fluxcd.io/prune"], "disabled");
    assert_eq!(
        annotations["argocd.argoproj.io/sync-options"],
        "Delete=false"
    );

    let without = yaml_documents(&render(RELEASE, OPERATOR_NS, &["crds.install=false"]));
    assert!(
        without
            .iter()
            .all(|o| o["kind"] != "CustomResourceDefinition"),
        "crds.install=false still renders the CRD"
    );
}

#[test]
fn deploy_is_the_chart_rendered_with_its_defaults() {
    let out = Command::new(repo_path("hack/render-deploy.sh"))
        .stdin(Stdio::null())
        .output()
        .expect("running hack/render-deploy.sh");
    assert!(out.status.success(), "{}", describe(&out));
    let rendered = String::from_utf8(out.stdout).expect("UTF-8");
    let checked_in = std::fs::read_to_string(repo_path("deploy/tollfree-operator.yaml"))
        .expect("deploy/tollfree-operator.yaml");
    if rendered != checked_in {
        let first = rendered
            .lines()
            .zip(checked_in.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "the files differ in length".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "deploy/tollfree-operator.yaml is not the rendered chart ({first}): regenerate it with make manifests"
        );
    }
    // And kustomize uses it, nothing else besides the namespace.
    let kustomization =
        std::fs::read_to_string(repo_path("deploy/kustomization.yaml")).expect("kustomization");
    let kustomization = yaml_documents(&kustomization).remove(0);
    assert_eq!(
        kustomization["resources"],
        json!(["namespace.yaml", "tollfree-operator.yaml"])
    );
}

#[test]
fn every_rendering_is_accepted_by_the_api_server() {
    monitoring_crds();
    let release_ns = TestNs::create();
    let watched = TestNs::create();
    let ns = release_ns.name();
    let watch = format!("watchNamespace={}", watched.name());
    let variants: [(&str, Vec<&str>); 5] = [
        ("defaults", vec![]),
        ("one watched namespace", vec![watch.as_str()]),
        ("monitoring objects", vec![MONITORING]),
        (
            "one replica without leader election",
            vec!["replicaCount=1,leaderElection.enabled=false"],
        ),
        (
            "an existing ServiceAccount",
            vec!["serviceAccount.create=false,serviceAccount.name=existing,crds.install=false"],
        ),
    ];
    for (what, sets) in variants {
        let release = format!("r{}", &random_suffix()[..6]);
        let manifests = render(&release, ns, &sets);
        let objects = dry_run(&manifests);
        let rendered = yaml_documents(&manifests);
        assert_eq!(
            objects.iter().map(kind_name).collect::<BTreeSet<_>>(),
            rendered.iter().map(kind_name).collect::<BTreeSet<_>>(),
            "{what}: the API server did not accept every object"
        );
        for o in objects
            .iter()
            .filter(|o| o["metadata"]["namespace"].is_string())
        {
            // Only the watched namespace's grant lives outside the release's.
            let expected = if (o["kind"] == "Role" || o["kind"] == "RoleBinding")
                && !o["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with("-leader-election")
            {
                watched.name()
            } else {
                ns
            };
            assert_eq!(
                o["metadata"]["namespace"],
                expected,
                "{what}: {}",
                kind_name(o)
            );
        }
        let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        match what {
            "one watched namespace" => {
                assert!(
                    !kinds.contains("ClusterRole") && !kinds.contains("ClusterRoleBinding"),
                    "{what}: {kinds:?}"
                );
                let args = &find(
                    &objects,
                    "Deployment",
                    &format!("{release}-tollfree-operator"),
                )["spec"]["template"]["spec"]["containers"][0]["args"];
                assert!(
                    args.as_array()
                        .expect("args")
                        .contains(&json!(format!("--namespace={}", watched.name()))),
                    "{args}"
                );
            }
            "monitoring objects" => {
                for kind in ["ServiceMonitor", "PrometheusRule", "ConfigMap"] {
                    assert!(kinds.contains(kind), "{what}: no {kind} in {kinds:?}");
                }
                // The metrics' `namespace` label is the set's; without
                // honorLabels Prometheus renames it `exported_namespace` and
                // the rules' `by (namespace, name)` point at the operator.
                let monitor = find(
                    &objects,
                    "ServiceMonitor",
                    &format!("{release}-tollfree-operator"),
                );
                assert_eq!(
                    monitor["spec"]["endpoints"][0]["honorLabels"],
                    json!(true),
                    "{monitor}"
                );
            }
            "one replica without leader election" => {
                let deployment = find(
                    &objects,
                    "Deployment",
                    &format!("{release}-tollfree-operator"),
                );
                assert_eq!(deployment["spec"]["replicas"], 1);
                let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
                assert!(
                    !args
                        .as_array()
                        .expect("args")
                        .contains(&json!("--leader-elect")),
                    "{args}"
                );
                assert!(
                    objects.iter().all(|o| o["kind"] != "Role"),
                    "{what}: a leader-election Role without leader election"
                );
            }
            "an existing ServiceAccount" => {
                assert!(!kinds.contains("ServiceAccount"), "{what}: {kinds:?}");
                let pod = &find(
                    &objects,
                    "Deployment",
                    &format!("{release}-tollfree-operator"),
                )["spec"]["template"]["spec"];
                assert_eq!(pod["serviceAccountName"], "existing");
            }
            _ => {}
        }
    }
}

#[test]
fn values_that_would_be_unsafe_or_are_mistyped_are_refused() {
    let chart = path(CHART);
    for (sets, message) in [
        ("replicas=3", "additional properties 'replicas' not allowed"),
        ("logFormat=yaml", "logFormat"),
        ("vendorRateLimit=-1", "vendorRateLimit"),
        ("resyncInterval=soon", "resyncInterval"),
        (
            "replicaCount=2,leaderElection.enabled=false",
            "two active replicas",
        ),
        (
            "intelepeer.url=http://vendor.example",
            "intelepeer.url must be https",
        ),
    ] {
        let out = helm_with(
            Path::new("/nonexistent-kubeconfig"),
            &["template", RELEASE, &chart, "--set", sets],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {sets} was accepted");
        assert!(
            stderr.contains(message),
            "--set {sets}: expected {message:?} in: {stderr}"
        );
    }
}

/// Namespaced RBAC objects and ServiceAccounts of `release`, plus its
/// cluster-wide ones, as `kind/namespace/name`.
fn rbac_of(kubeconfig: &Path, release: &str) -> BTreeSet<String> {
    let selector = format!("app.kubernetes.io/instance={release}");
    let out = ControlPlane::shared().kubectl_with(
        kubeconfig,
        &[
            "get",
            "clusterroles,clusterrolebindings,roles,rolebindings,serviceaccounts",
            "--all-namespaces",
            "-l",
            &selector,
            "-o",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", describe(&out));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| {
            format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["namespace"].as_str().unwrap_or("-"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// `kubectl auth can-i ARGS` with `kubeconfig`.
fn can(kubeconfig: &Path, args: &[&str]) -> bool {
    let mut full = vec!["auth", "can-i"];
    full.extend_from_slice(args);
    let out = ControlPlane::shared().kubectl_with(kubeconfig, &full, None);
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => true,
        "no" => false,
        other => panic!(
            "kubectl auth can-i {}: {other:?}: {}",
            args.join(" "),
            describe(&out)
        ),
    }
}

#[test]
fn upgrades_and_uninstall_leave_no_rbac_behind() {
    // A release that does not own the CRD (the shared control plane has it
    // already): crds.install=false, as for every release but one.
    let cp = ControlPlane::shared();
    let admin = cp.kubeconfig_path();
    let ns = TestNs::create();
    let watched = TestNs::create();
    let release = format!("up{}", &random_suffix()[..6]);
    let full = format!("{release}-tollfree-operator");
    let chart = path(CHART);
    let install = [
        "upgrade",
        "--install",
        &release,
        &chart,
        "--namespace",
        ns.name(),
        "--set",
        "crds.install=false",
    ];
    helm_ok(&install);
    assert_eq!(
        rbac_of(admin, &release),
        BTreeSet::from([
            format!("ClusterRole/-/{full}"),
            format!("ClusterRoleBinding/-/{full}"),
            format!("Role/{}/{full}-leader-election", ns.name()),
            format!("RoleBinding/{}/{full}-leader-election", ns.name()),
            format!("ServiceAccount/{}/{full}", ns.name()),
        ])
    );

    // Watching one namespace: the cluster-wide grant goes away, a Role in the
    // watched namespace takes its place.
    let watch = format!("watchNamespace={}", watched.name());
    let mut upgrade = install.to_vec();
    upgrade.extend(["--set", &watch]);
    helm_ok(&upgrade);
    assert_eq!(
        rbac_of(admin, &release),
        BTreeSet::from([
            format!("Role/{}/{full}", watched.name()),
            format!("RoleBinding/{}/{full}", watched.name()),
            format!("Role/{}/{full}-leader-election", ns.name()),
            format!("RoleBinding/{}/{full}-leader-election", ns.name()),
            format!("ServiceAccount/{}/{full}", ns.name()),
        ])
    );
    let token = cp.create_token(ns.name(), &full);
    let as_operator = cp.kubeconfig_for_token(&token);
    let sets = "tollfreenumbersets.tollfree.dev";
    assert!(can(&as_operator, &["watch", sets, "-n", watched.name()]));
    assert!(can(&as_operator, &["get", "secrets", "-n", watched.name()]));
    assert!(!can(&as_operator, &["list", sets, "--all-namespaces"]));
    assert!(!can(&as_operator, &["get", "secrets", "-n", ns.name()]));

    // Without leader election: its Role goes too.
    let mut single = upgrade.clone();
    single.extend(["--set", "replicaCount=1,leaderElection.enabled=false"]);
    helm_ok(&single);
    assert_eq!(
        rbac_of(admin, &release),
        BTreeSet::from([
            format!("Role/{}/{full}", watched.name()),
            format!("RoleBinding/{}/{full}", watched.name()),
            format!("ServiceAccount/{}/{full}", ns.name()),
        ])
    );

    helm_ok(&["uninstall", &release, "--namespace", ns.name()]);
    assert_eq!(
        rbac_of(admin, &release),
        BTreeSet::new(),
        "RBAC left behind by helm uninstall"
    );
    assert!(!can(&as_operator, &["watch", sets, "-n", watched.name()]));
}

/// A control plane of its own for this test binary, with nothing installed (no
/// CRD): the empty cluster a platform team installs the chart into. Stopped by
/// a watchdog when the test binary exits, like the shared one.
struct EmptyCluster {
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl EmptyCluster {
    fn get() -> &'static EmptyCluster {
        static CLUSTER: OnceLock<EmptyCluster> = OnceLock::new();
        CLUSTER.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("tf-e2e-helm-empty-{}", random_suffix()));
            std::fs::create_dir_all(&dir).expect("creating the control plane directory");
            let script = repo_path("hack/control-plane.sh");
            Command::new("setsid")
                .args(["nohup", "bash", "-c", WATCHDOG, "tf-e2e-watchdog"])
                .arg(std::process::id().to_string())
                .arg(&script)
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map(drop)
                .expect("starting the watchdog");
            let out = Command::new("bash")
                .arg(&script)
                .arg("start")
                .arg(&dir)
                .stdin(Stdio::null())
                .output()
                .expect("control-plane.sh");
            assert!(
                out.status.success(),
                "starting the empty cluster: {}",
                describe(&out)
            );
            EmptyCluster {
                kubeconfig: dir.join("kubeconfig"),
                dir,
            }
        })
    }

    #[track_caller]
    fn kubectl_ok(&self, args: &[&str]) -> String {
        self.kubectl_stdin_ok(args, None)
    }

    #[track_caller]
    fn kubectl_stdin_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = ControlPlane::shared().kubectl_with(&self.kubeconfig, args, stdin);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}",
            args.join(" "),
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A kubeconfig for the same server that authenticates with `token`.
    fn kubeconfig_for_token(&self, token: &str) -> PathBuf {
        let admin = std::fs::read_to_string(&self.kubeconfig).expect("the admin kubeconfig");
        let mut config = yaml_documents(&admin).remove(0);
        config["users"] = json!([{"name": "token", "user": {"token": token}}]);
        config["contexts"][0]["context"]["user"] = json!("token");
        let path = self
            .dir
            .join(format!("kubeconfig-token-{}", random_suffix()));
        std::fs::write(&path, serde_json::to_string(&config).expect("JSON"))
            .expect("writing the kubeconfig");
        path
    }
}

/// Stops the control plane in `$3` once the test binary (`$1`) has exited.
const WATCHDOG: &str = r#"
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    bash "$2" stop "$3" >/dev/null 2>&1
    rm -rf -- "$3"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn helm_install_on_an_empty_cluster_runs_the_operator_under_the_charts_service_account() {
    // The README's Install steps, with the simulator as the vendor.
    let cluster = EmptyCluster::get();
    let chart = path(CHART);
    let out = helm_with(
        &cluster.kubeconfig,
        &[
            "install",
            RELEASE,
            &chart,
            "--namespace",
            OPERATOR_NS,
            "--create-namespace",
            "--wait=false",
        ],
    );
    assert!(out.status.success(), "helm install: {}", describe(&out));

    // Every object is there, and the CRD is Established and served.
    for (kind, name) in [
        (
            "customresourcedefinition",
            "tollfreenumbersets.tollfree.dev",
        ),
        ("clusterrole", RELEASE),
        ("clusterrolebinding", RELEASE),
    ] {
        cluster.kubectl_ok(&["get", kind, name]);
    }
    for (kind, name) in [
        ("serviceaccount", RELEASE),
        ("role", "tollfree-operator-leader-election"),
        ("rolebinding", "tollfree-operator-leader-election"),
        ("deployment", RELEASE),
        ("service", "tollfree-operator-metrics"),
    ] {
        cluster.kubectl_ok(&["get", kind, name, "-n", OPERATOR_NS]);
    }
    wait_established(&cluster.kubeconfig, "tollfreenumbersets.tollfree.dev");

    // The operator, authenticated with a token of the chart's ServiceAccount
    // (no kubelet runs the Deployment here), electing a leader in the release
    // namespace and bringing the README's example set to Ready.
    let token = cluster.kubectl_ok(&[
        "create",
        "token",
        RELEASE,
        "-n",
        OPERATOR_NS,
        "--duration=1h",
    ]);
    let as_operator = cluster.kubeconfig_for_token(token.trim());
    let sim = TestSim::start();
    let identity = format!("tollfree-operator-helm-{}", random_suffix());
    let mut operator = Operator::builder(sim.url())
        .kubeconfig(&as_operator)
        .arg("--leader-elect")
        .env("POD_NAME", &identity)
        .env("POD_NAMESPACE", OPERATOR_NS)
        .start();
    operator.wait_ready(Duration::from_secs(60)).await;

    cluster.kubectl_ok(&["apply", "-f", &path("deploy/examples/namespace.yaml")]);
    let secret = cluster.kubectl_ok(&[
        "-n",
        "telecom",
        "create",
        "secret",
        "generic",
        "intelepeer-account",
        "--from-literal=username=demo",
        "--from-literal=password=demo",
        "--dry-run=client",
        "-o",
        "yaml",
    ]);
    cluster.kubectl_stdin_ok(&["apply", "-f", "-"], Some(&secret));
    cluster.kubectl_ok(&["apply", "-f", &path("deploy/examples/support-lines.yaml")]);
    let ready = ControlPlane::shared().kubectl_with(
        &cluster.kubeconfig,
        &[
            "-n",
            "telecom",
            "wait",
            "--for=condition=Ready",
            "tfns/support-lines",
            "--timeout=120s",
        ],
        None,
    );
    assert!(
        ready.status.success(),
        "the example set did not become Ready: {}\noperator log:\n{}",
        describe(&ready),
        operator.logs()
    );
    let holder = cluster.kubectl_ok(&[
        "get",
        "lease",
        LEASE,
        "-n",
        OPERATOR_NS,
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert_eq!(holder, identity);
    let status = operator.terminate(Duration::from_secs(20));
    assert!(
        status.success(),
        "the operator did not stop cleanly ({status})"
    );

    // Uninstall: no RBAC left; the CRD and the set (and so its numbers) stay.
    let out = helm_with(
        &cluster.kubeconfig,
        &["uninstall", RELEASE, "--namespace", OPERATOR_NS],
    );
    assert!(out.status.success(), "helm uninstall: {}", describe(&out));
    assert_eq!(
        rbac_of(&cluster.kubeconfig, RELEASE),
        BTreeSet::new(),
        "RBAC left behind by helm uninstall"
    );
    cluster.kubectl_ok(&["get", "crd", "tollfreenumbersets.tollfree.dev"]);
    cluster.kubectl_ok(&["-n", "telecom", "get", "tfns", "support-lines"]);
    for (kind, name) in [
        ("deployment", RELEASE),
        ("service", "tollfree-operator-metrics"),
    ] {
        let gone = ControlPlane::shared().kubectl_with(
            &cluster.kubeconfig,
            &["get", kind, name, "-n", OPERATOR_NS],
            None,
        );
        assert!(
            !gone.status.success(),
            "{kind} {name} survived helm uninstall"
        );
    }
}

/// Every leaf of `written` equals the same field of `stored` (lists index by
/// index): the API server kept the manifest as written, normalizing nothing.
fn assert_stored_as_written(written: &Value, stored: &Value, at: &str) {
    match (written, stored) {
        (Value::Object(w), Value::Object(s)) => {
            for (k, v) in w {
                let field = format!("{at}.{k}");
                match s.get(k) {
                    Some(sv) => assert_stored_as_written(v, sv, &field),
                    None if v.is_null() => {}
                    None => panic!("{field}: written {v}, not stored"),
                }
            }
        }
        (Value::Array(w), Value::Array(s)) => {
            assert_eq!(
                w.len(),
                s.len(),
                "{at}: {} items written, {} stored",
                w.len(),
                s.len()
            );
            for (i, (wv, sv)) in w.iter().zip(s).enumerate() {
                assert_stored_as_written(wv, sv, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(written, stored, "{at}: the API server rewrote the value"),
    }
}

/// Server-side applies `manifests` as each of `managers` in turn, without
/// --force-conflicts (what Flux, Argo CD or a person with kubectl do one after
/// the other), then checks that the API server stored every field as written
/// and that re-applying changed no Deployment's spec.
fn apply_by_each_manager_without_conflicts(manifests: &str, managers: &[&str]) {
    let cp = ControlPlane::shared();
    for manager in managers {
        let out = cp.kubectl_stdin(
            &[
                "apply",
                "--server-side",
                &format!("--field-manager={manager}"),
                "-f",
                "-",
            ],
            manifests,
        );
        assert!(
            out.status.success(),
            "server-side apply by {manager} conflicts: {}",
            describe(&out)
        );
    }
    // Nothing the managers wrote was defaulted or rewritten underneath them.
    for written in yaml_documents(manifests) {
        let kind = written["kind"].as_str().expect("kind");
        let name = written["metadata"]["name"].as_str().expect("name");
        let mut args = vec!["get", kind, name, "-o", "json"];
        if let Some(ns) = written["metadata"]["namespace"].as_str() {
            args.extend(["-n", ns]);
        }
        let stored: Value = serde_json::from_str(&cp.kubectl_ok(&args)).expect("JSON");
        assert_stored_as_written(&written, &stored, &format!("{kind}/{name}"));
        if kind == "Deployment" {
            assert_eq!(
                stored["metadata"]["generation"], 1,
                "re-applying changed the Deployment's spec"
            );
        }
    }
}

#[test]
fn two_field_managers_applying_deploy_server_side_conflict_on_nothing() {
    let rendered = ControlPlane::shared().kubectl_ok(&["kustomize", &path("deploy")]);
    apply_by_each_manager_without_conflicts(
        &rendered,
        &[
            "kustomize-controller",
            "argocd-controller",
            "kustomize-controller",
        ],
    );
}

#[test]
fn two_field_managers_applying_the_chart_with_monitoring_server_side_conflict_on_nothing() {
    monitoring_crds();
    let ns = TestNs::create();
    let watched = TestNs::create();
    let release = format!("ssa{}", &random_suffix()[..6]);
    let watch = format!("watchNamespace={}", watched.name());
    let rendered = render(
        &release,
        ns.name(),
        &[MONITORING, &watch, "crds.install=false"],
    );
    apply_by_each_manager_without_conflicts(
        &rendered,
        &["helm-controller", "argocd-controller", "helm-controller"],
    );
}
