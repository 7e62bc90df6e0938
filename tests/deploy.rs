//! `deploy/`: the kustomization and the examples are accepted by a real API
//! server, the Deployment runs hardened, and the operator's ServiceAccount can do
//! exactly its job — no more.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use std::time::Duration;

use serde_json::Value;
use support::{ControlPlane, Operator, TestSim, repo_path, wait_until};

/// The operator's namespace, ServiceAccount and Lease (deploy/, src/leader.rs).
const OPERATOR_NS: &str = "tollfree-system";
const OPERATOR_SA: &str = "tollfree-operator";
const LEASE: &str = "tollfree-operator";

fn path(relative: &str) -> String {
    repo_path(relative).to_str().expect("utf-8 path").to_owned()
}

/// Creates the operator's namespace once (server-side dry-run of a namespaced
/// object needs its namespace to exist; creating it from two tests at once
/// could race).
fn operator_namespace() {
    static CREATED: OnceLock<()> = OnceLock::new();
    CREATED.get_or_init(|| {
        ControlPlane::shared().kubectl_ok(&["apply", "-f", &path("deploy/namespace.yaml")]);
    });
}

/// Applies `deploy/` for real, once.
fn deployed() {
    static APPLIED: OnceLock<()> = OnceLock::new();
    APPLIED.get_or_init(|| {
        operator_namespace();
        ControlPlane::shared().kubectl_ok(&["apply", "-k", &path("deploy")]);
    });
}

/// The objects of `kubectl apply ... --dry-run=server -o json` (a List, or one
/// object).
fn items(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).expect("kubectl printed JSON");
    match v["items"].as_array() {
        Some(items) => items.clone(),
        None => vec![v],
    }
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("deploy/ has no {kind} {name}"))
}

#[test]
fn kustomization_is_accepted_by_the_api_server() {
    operator_namespace();
    let out = ControlPlane::shared().kubectl_ok(&[
        "apply",
        "-k",
        &path("deploy"),
        "--dry-run=server",
        "-o",
        "json",
    ]);
    let objects = items(&out);
    let mut kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ClusterRole/tollfree-operator",
            "ClusterRoleBinding/tollfree-operator",
            "CustomResourceDefinition/tollfreenumbersets.tollfree.dev",
            "Deployment/tollfree-operator",
            "Namespace/tollfree-system",
            "Role/tollfree-operator-leader-election",
            "RoleBinding/tollfree-operator-leader-election",
            "Service/tollfree-operator-metrics",
            "ServiceAccount/tollfree-operator",
        ]
    );
    for o in &objects {
        if o["kind"] != "Namespace" && o["metadata"]["namespace"].is_string() {
            assert_eq!(o["metadata"]["namespace"], OPERATOR_NS, "{}", o["metadata"]);
        }
    }
}

/// The YAML documents of `text`, as JSON values.
fn yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// What the chart adds to the generated CRD's metadata, besides labels: it is
/// kept on `helm uninstall` and never pruned by Flux or Argo CD, because
/// deleting it would delete every set.
const CRD_KEEP_ANNOTATIONS: [(&str, &str); 3] = [
    ("helm.sh/resource-policy", "keep"),
    ("kustomize.toolkit.fluxcd.io/prune", "disabled"),
    ("argocd.argoproj.io/sync-options", "Delete=false"),
];

#[test]
fn the_deployed_crd_is_the_generated_one() {
    // deploy/ is the rendered chart, whose CRD template includes the generated
    // file verbatim: the rendered CRD is the checked-in one, apart from the
    // labels the chart and kustomize add and the keep annotations.
    let rendered = ControlPlane::shared().kubectl_ok(&["kustomize", &path("deploy")]);
    let rendered = yaml_documents(&rendered);
    let mut deployed = find(
        &rendered,
        "CustomResourceDefinition",
        "tollfreenumbersets.tollfree.dev",
    )
    .clone();
    let annotations = deployed["metadata"]["annotations"].clone();
    for (key, value) in CRD_KEEP_ANNOTATIONS {
        assert_eq!(
            annotations[key], value,
            "the deployed CRD's annotation {key}"
        );
    }
    let checked_in =
        std::fs::read_to_string(repo_path("crds/tollfreenumberset.yaml")).expect("the CRD");
    let mut checked_in = yaml_documents(&checked_in).remove(0);
    assert!(
        checked_in["metadata"]["annotations"].is_null(),
        "the generated CRD has annotations of its own: compare them here"
    );
    for crd in [&mut deployed, &mut checked_in] {
        let metadata = crd["metadata"].as_object_mut().expect("metadata");
        metadata.remove("labels");
        metadata.remove("annotations");
    }
    assert!(
        deployed == checked_in,
        "deploy/ renders a CRD that differs from crds/tollfreenumberset.yaml"
    );
}

#[test]
fn deployment_runs_hardened_with_leader_election() {
    operator_namespace();
    let out = ControlPlane::shared().kubectl_ok(&[
        "apply",
        "-k",
        &path("deploy"),
        "--dry-run=server",
        "-o",
        "json",
    ]);
    let objects = items(&out);
    let deploy = find(&objects, "Deployment", "tollfree-operator");
    let spec = &deploy["spec"];
    assert_eq!(spec["replicas"], 2);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], OPERATOR_SA);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );

    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args.first(), Some(&"run"), "{args:?}");
    assert!(args.contains(&"--leader-elect"), "{args:?}");
    assert!(args.contains(&"--metrics-addr=0.0.0.0:8080"), "{args:?}");

    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["runAsUser"], 65532);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");

    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource} missing"
            );
        }
    }
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert_eq!(c["ports"][0]["name"], "http-metrics");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http-metrics");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http-metrics");

    let env = c["env"].as_array().expect("env");
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no env {name}"))
    };
    assert_eq!(
        var("POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(
        var("POD_NAMESPACE")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert!(
        var("INTELEPEER_URL")["value"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "INTELEPEER_URL must be https"
    );

    let service = find(&objects, "Service", "tollfree-operator-metrics");
    assert_eq!(service["spec"]["ports"][0]["name"], "http-metrics");
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    assert_eq!(
        service["spec"]["selector"],
        spec["template"]["metadata"]["labels"]
    );
}

#[test]
fn examples_are_accepted_by_the_api_server() {
    let cp = ControlPlane::shared();
    // The examples' namespace must exist for a server-side dry-run of the
    // objects in it.
    cp.kubectl_ok(&["apply", "-f", &path("deploy/examples/namespace.yaml")]);
    let out = cp.kubectl_ok(&[
        "apply",
        "--dry-run=server",
        "-f",
        &path("deploy/examples/"),
        "-o",
        "json",
    ]);
    let objects = items(&out);
    let set = find(&objects, "TollFreeNumberSet", "support-lines");
    assert_eq!(set["metadata"]["namespace"], "telecom");
    assert_eq!(set["spec"]["accountRef"]["name"], "intelepeer-account");
    let secret = find(&objects, "Secret", "intelepeer-account");
    assert_eq!(secret["metadata"]["namespace"], "telecom");
}

/// `kubectl auth can-i` as the operator, authenticated with a token minted for
/// its ServiceAccount.
struct AsOperator {
    kubeconfig: std::path::PathBuf,
}

impl AsOperator {
    fn new() -> Self {
        deployed();
        let cp = ControlPlane::shared();
        let token = cp.create_token(OPERATOR_NS, OPERATOR_SA);
        AsOperator {
            kubeconfig: cp.kubeconfig_for_token(&token),
        }
    }

    fn kubectl(&self, args: &[&str]) -> std::process::Output {
        ControlPlane::shared().kubectl_with(Path::new(&self.kubeconfig), args, None)
    }

    /// Whether `kubectl auth can-i ARGS` answers yes.
    fn can(&self, args: &[&str]) -> bool {
        let mut full = vec!["auth", "can-i"];
        full.extend_from_slice(args);
        let out = self.kubectl(&full);
        match String::from_utf8_lossy(&out.stdout).trim() {
            "yes" => true,
            "no" => false,
            other => panic!(
                "kubectl auth can-i {}: unexpected answer {other:?}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

#[test]
fn operator_token_authenticates_as_its_service_account() {
    let op = AsOperator::new();
    let out = op.kubectl(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("system:serviceaccount:{OPERATOR_NS}:{OPERATOR_SA}")
    );
}

#[test]
fn operator_can_do_its_job() {
    let op = AsOperator::new();
    let sets = "tollfreenumbersets.tollfree.dev";
    let leases = "leases.coordination.k8s.io";
    let lease = format!("{leases}/{LEASE}");
    let events = "events.events.k8s.io";
    for args in [
        // Watch every set, cluster-wide; add/remove the finalizer.
        &["list", sets, "--all-namespaces"][..],
        &["watch", sets, "--all-namespaces"],
        &["get", sets, "-n", "telecom"],
        &["patch", sets, "-n", "telecom"],
        &["update", sets, "-n", "telecom"],
        // Write status (server-side apply).
        &["patch", sets, "--subresource=status", "-n", "telecom"],
        &["get", sets, "--subresource=status", "-n", "telecom"],
        // Read account Secrets, one by one (never listed or watched).
        &["get", "secrets", "-n", "telecom"],
        // Record events in the sets' namespaces.
        &["create", events, "-n", "telecom"],
        &["patch", events, "-n", "telecom"],
        // Leader election in its own namespace.
        &["create", leases, "-n", OPERATOR_NS],
        &["get", &lease, "-n", OPERATOR_NS],
        &["update", &lease, "-n", OPERATOR_NS],
        &["patch", &lease, "-n", OPERATOR_NS],
    ] {
        assert!(op.can(args), "the operator cannot {}", args.join(" "));
    }
    // A real call, not only a review.
    let out = op.kubectl(&["get", "tfns", "--all-namespaces"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn operator_cannot_do_more_than_its_job() {
    let op = AsOperator::new();
    let sets = "tollfreenumbersets.tollfree.dev";
    let leases = "leases.coordination.k8s.io";
    let lease = format!("{leases}/{LEASE}");
    for args in [
        // Sets belong to their users.
        &["create", sets, "-n", "telecom"][..],
        &["delete", sets, "-n", "telecom"],
        &["deletecollection", sets, "-n", "telecom"],
        &["update", sets, "--subresource=status", "-n", "telecom"],
        // Secrets are read one by one: never listed or watched, never written.
        &["list", "secrets", "--all-namespaces"],
        &["watch", "secrets", "--all-namespaces"],
        &["list", "secrets", "-n", "telecom"],
        &["create", "secrets", "-n", "telecom"],
        &["update", "secrets", "-n", "telecom"],
        &["patch", "secrets", "-n", "telecom"],
        &["delete", "secrets", "-n", "telecom"],
        &["delete", "secrets", "-n", OPERATOR_NS],
        // Events are written, never read back or deleted.
        &["delete", "events.events.k8s.io", "-n", "telecom"],
        // Leases only in its own namespace, and only its own.
        &["create", leases, "-n", "default"],
        &["create", leases, "-n", "kube-system"],
        &["get", &lease, "-n", "telecom"],
        &["update", &lease, "-n", "kube-system"],
        &[
            "update",
            &format!("{leases}/someone-else"),
            "-n",
            OPERATOR_NS,
        ],
        &["delete", &lease, "-n", OPERATOR_NS],
        &["list", leases, "--all-namespaces"],
        // Nothing else.
        &["list", "pods", "--all-namespaces"],
        &["get", "configmaps", "-n", OPERATOR_NS],
        &["create", "serviceaccounts/token", "-n", OPERATOR_NS],
        &["update", "customresourcedefinitions.apiextensions.k8s.io"],
        &["create", "clusterrolebindings.rbac.authorization.k8s.io"],
        &["escalate", "clusterroles.rbac.authorization.k8s.io"],
    ] {
        assert!(!op.can(args), "the operator can {}", args.join(" "));
    }
    // A real call, not only a review.
    let out = op.kubectl(&["delete", "secret", "anything", "-n", OPERATOR_NS]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_runs_with_the_deployed_rbac() {
    // The operator binary, authenticated as its ServiceAccount, watching every
    // namespace and electing a leader in its own: a missing permission shows up
    // as a failed start, a /readyz that never answers, or no Lease.
    let op_kubeconfig = AsOperator::new().kubeconfig;
    let sim = TestSim::start();
    let identity = format!("tollfree-operator-test-{}", support::random_suffix());
    let mut operator = Operator::builder(sim.url())
        .kubeconfig(&op_kubeconfig)
        .arg("--leader-elect")
        .env("POD_NAME", &identity)
        .env("POD_NAMESPACE", OPERATOR_NS)
        .start();
    operator.wait_ready(Duration::from_secs(60)).await;

    let cp = ControlPlane::shared();
    let holder = wait_until(
        Duration::from_secs(30),
        "the operator holds its Lease",
        || {
            let out = cp.kubectl(&[
                "get",
                "lease",
                LEASE,
                "-n",
                OPERATOR_NS,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ]);
            let holder = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && holder == identity).then_some(holder)
        },
    );
    assert_eq!(holder, identity);
    assert!(operator.metrics().is_some(), "/metrics does not answer");

    let status = operator.terminate(Duration::from_secs(20));
    assert!(
        status.success(),
        "the operator did not stop cleanly on SIGTERM ({status}):\n{}",
        operator.logs()
    );
}
