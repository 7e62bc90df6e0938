//! The container image (`make image`: hack/image.sh with crane, no container
//! engine): its config (non-root 65532, entrypoint, OCI labels), its single
//! layer (the static binary, CA bundle and nonroot user, nothing else, fixed
//! owners and times), the binary unpacked from that layer running in an empty
//! chroot (and reconciling a set there against the real API server),
//! reproducibility, `crane push`, and the Dockerfile saying the same.
//!
//! The image under test is built from a debug static binary (`make
//! test-image`, run by `make test` first; built here when missing): the same
//! hack/image.sh as `make image`'s release binary, faster to compile.

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use support::scenario::{ACCOUNT_SECRET, set_manifest};
use support::{ControlPlane, TestNs, TestSim, describe, random_suffix, repo_path, wait_until};

/// In the image (hack/image.sh, Dockerfile).
const BINARY: &str = "/usr/local/bin/tollfree-operator";
const NONROOT: &str = "65532:65532";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const LICENSE: &str = env!("CARGO_PKG_LICENSE");

/// `make test-image` (an up-to-date build is a no-op): the image directory.
fn image_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("make")
            .args(["--no-print-directory", "-C"])
            .arg(support::repo_root())
            .arg("test-image")
            // Not the jobserver of a `make test` running this test.
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("MAKELEVEL")
            .stdin(Stdio::null())
            .output()
            .expect("running make test-image");
        assert!(out.status.success(), "make test-image: {}", describe(&out));
        repo_path("target/image-test")
    })
}

/// The static binary the test image was built from.
fn static_binary() -> PathBuf {
    image_dir();
    repo_path("target/x86_64-unknown-linux-musl/debug/tollfree-operator")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A blob of the OCI layout `layout` by digest (`sha256:...`).
fn blob(layout: &Path, digest: &str) -> PathBuf {
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
    layout.join("blobs/sha256").join(hex)
}

/// The image of an OCI layout: its manifest digest, manifest and config.
struct Image {
    layout: PathBuf,
    digest: String,
    manifest: Value,
    config: Value,
}

impl Image {
    fn open(layout: &Path) -> Image {
        let index = read_json(&layout.join("index.json"));
        let manifests = index["manifests"]
            .as_array()
            .expect("index.json lists manifests");
        assert_eq!(manifests.len(), 1, "one image in the layout: {index}");
        let digest = manifests[0]["digest"].as_str().expect("digest").to_owned();
        let manifest = read_json(&blob(layout, &digest));
        let config = read_json(&blob(
            layout,
            manifest["config"]["digest"]
                .as_str()
                .expect("config digest"),
        ));
        Image {
            layout: layout.to_owned(),
            digest,
            manifest,
            config,
        }
    }

    fn test_image() -> Image {
        Image::open(&image_dir().join("oci"))
    }

    /// The single layer's blob (gzip-compressed tar).
    fn layer(&self) -> PathBuf {
        let layers = self.manifest["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 1, "one layer: {}", self.manifest);
        blob(
            &self.layout,
            layers[0]["digest"].as_str().expect("layer digest"),
        )
    }

    /// The layer unpacked into a fresh directory: the container's file system
    /// and nothing else.
    fn unpack(&self) -> TempDir {
        let dir = TempDir::new("rootfs");
        let out = Command::new("tar")
            .arg("-xzf")
            .arg(self.layer())
            .arg("-C")
            .arg(&dir.0)
            .args(["--same-owner", "--same-permissions"])
            .output()
            .expect("running tar");
        assert!(
            out.status.success(),
            "unpacking the layer: {}",
            describe(&out)
        );
        dir
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tf-image-{what}-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `chroot --userspec=65532:65532 ROOT BINARY ARGS` with an empty environment
/// plus `env`: the image's user, the image's files, nothing of the host.
fn in_chroot(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    assert!(
        std::fs::read_to_string("/proc/self/status").is_ok_and(|s| s
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))),
        "the chroot tests need root (CI runs as root)"
    );
    let mut cmd = Command::new(chroot_path());
    cmd.arg(format!("--userspec={NONROOT}"))
        .arg(root)
        .arg(BINARY)
        .args(args)
        .env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// chroot(8) found on this process's PATH (the child's environment is empty).
fn chroot_path() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("chroot"))
        .find(|p| p.is_file())
        .expect("chroot (coreutils) is installed")
}

fn output(mut cmd: Command) -> Output {
    cmd.output().expect("running chroot")
}

#[test]
fn image_config_runs_the_operator_as_nonroot_with_oci_labels() {
    let image = Image::test_image();
    assert_eq!(
        image.manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let c = &image.config;
    assert_eq!(c["os"], "linux");
    assert_eq!(c["architecture"], "amd64");
    let cfg = &c["config"];
    assert_eq!(cfg["User"], NONROOT, "the chart's runAsUser/runAsGroup");
    assert_eq!(cfg["Entrypoint"], serde_json::json!([BINARY]));
    assert_eq!(cfg["Cmd"], serde_json::json!(["run"]));
    assert_eq!(cfg["ExposedPorts"], serde_json::json!({"8080/tcp": {}}));
    // Nothing that would need a writable root file system or a volume.
    assert!(cfg["Volumes"].is_null(), "{cfg}");
    let labels = &cfg["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], VERSION);
    assert_eq!(labels["org.opencontainers.image.licenses"], LICENSE);
    assert!(
        labels["org.opencontainers.image.source"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://")),
        "{labels}"
    );
    assert_eq!(
        labels["org.opencontainers.image.title"],
        "tollfree-operator"
    );
    // Fixed timestamps: building again later gives the same digest.
    assert_eq!(c["created"], "0001-01-01T00:00:00Z");
    assert_eq!(
        std::fs::read_to_string(image_dir().join("digest"))
            .expect("digest file")
            .trim(),
        image.digest
    );
}

#[test]
fn image_layer_holds_only_the_static_binary_certificates_and_the_nonroot_user() {
    let image = Image::test_image();
    let out = Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvzf"])
        .arg(image.layer())
        .output()
        .expect("running tar");
    assert!(out.status.success(), "{}", describe(&out));
    let mut entries = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // drwxr-xr-x 0/0 0 1970-01-01 00:00:00 ./etc/
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 6, "{line}");
        assert_eq!(
            fields[1], "0/0",
            "owned by root, read-only for the operator: {line}"
        );
        assert_eq!(fields[3], "1970-01-01", "fixed mtime: {line}");
        let path = fields[5].trim_start_matches("./").trim_end_matches('/');
        entries.insert(path.to_owned(), fields[0].to_owned());
    }
    let expected: BTreeMap<String, String> = [
        ("", "drwxr-xr-x"),
        ("etc", "drwxr-xr-x"),
        ("etc/group", "-rw-r--r--"),
        ("etc/passwd", "-rw-r--r--"),
        ("etc/ssl", "drwxr-xr-x"),
        ("etc/ssl/certs", "drwxr-xr-x"),
        ("etc/ssl/certs/ca-certificates.crt", "-rw-r--r--"),
        ("tmp", "drwxrwxrwt"),
        ("usr", "drwxr-xr-x"),
        ("usr/local", "drwxr-xr-x"),
        ("usr/local/bin", "drwxr-xr-x"),
        ("usr/local/bin/tollfree-operator", "-rwxr-xr-x"),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_owned(), m.to_owned()))
    .collect();
    assert_eq!(
        entries, expected,
        "the image holds something else (a libc?)"
    );

    let root = image.unpack();
    let passwd = std::fs::read_to_string(root.0.join("etc/passwd")).expect("passwd");
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "{passwd}"
    );
    let certs = std::fs::read_to_string(root.0.join("etc/ssl/certs/ca-certificates.crt"))
        .expect("CA bundle");
    assert!(
        certs.matches("-----BEGIN CERTIFICATE-----").count() > 50,
        "the CA bundle holds few certificates"
    );
}

#[test]
fn binary_from_the_image_runs_in_an_empty_chroot_as_nonroot() {
    let root = Image::test_image().unpack();
    let version = output(in_chroot(&root.0, &["--version"], &[]));
    assert!(version.status.success(), "{}", describe(&version));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tollfree-operator {VERSION}")
    );

    let crd = output(in_chroot(&root.0, &["crd"], &[]));
    assert!(crd.status.success(), "{}", describe(&crd));
    let generated =
        std::fs::read_to_string(repo_path("crds/tollfreenumberset.yaml")).expect("the CRD");
    assert!(
        String::from_utf8_lossy(&crd.stdout) == generated,
        "`crd` in the chroot printed another CRD"
    );
}

/// A process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn operator_from_the_image_reconciles_a_set_from_an_empty_chroot() {
    // TLS to the API server, the controller, the vendor client and the
    // metrics server, all from the image's own binary with no libc around it.
    let cp = ControlPlane::shared();
    let sim = TestSim::start();
    let ns = TestNs::create();
    ns.create_account_secret(ACCOUNT_SECRET);

    let root = Image::test_image().unpack();
    // The only file added to the image's: the credentials, readable by 65532.
    let kubeconfig = root.0.join("kubeconfig");
    std::fs::copy(cp.kubeconfig_path(), &kubeconfig).expect("copying the kubeconfig");
    std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o644))
        .expect("making the kubeconfig readable by 65532");
    let metrics = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let log_path = root.0.with_extension("log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = in_chroot(
        &root.0,
        &[
            "run",
            "--namespace",
            ns.name(),
            "--intelepeer-url",
            sim.url(),
            "--metrics-addr",
            &metrics.to_string(),
        ],
        &[("KUBECONFIG", "/kubeconfig"), ("RUST_LOG", "info")],
    );
    cmd.stdout(log.try_clone().expect("log handle")).stderr(log);
    let mut operator = Killed(cmd.spawn().expect("starting the operator in the chroot"));

    ns.apply(&set_manifest(
        "from-image",
        "  packages:\n    - packageID: 30744\n      numbers: [\"+18007293863\"]\n",
    ));
    let logs = || std::fs::read_to_string(&log_path).unwrap_or_default();
    wait_until(Duration::from_secs(90), "the set is Ready", || {
        if let Ok(Some(status)) = operator.0.try_wait() {
            panic!(
                "the operator in the chroot exited with {status}:\n{}",
                logs()
            );
        }
        let out = cp.kubectl(&[
            "-n",
            ns.name(),
            "get",
            "tfns/from-image",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ]);
        (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
    });
    let _ = std::fs::remove_file(&log_path);
}

/// `hack/image.sh build BINARY OUT` into a fresh directory.
fn build_image(binary: &Path) -> TempDir {
    let out_dir = TempDir::new("build");
    let out = Command::new(repo_path("hack/image.sh"))
        .arg("build")
        .arg(binary)
        .arg(&out_dir.0)
        .stdin(Stdio::null())
        .output()
        .expect("running hack/image.sh");
    assert!(out.status.success(), "{}", describe(&out));
    out_dir
}

#[test]
fn the_same_binary_gives_the_same_image_byte_for_byte() {
    let binary = static_binary();
    let (a, b) = (build_image(&binary), build_image(&binary));
    let (ia, ib) = (Image::open(&a.0.join("oci")), Image::open(&b.0.join("oci")));
    assert_eq!(ia.digest, ib.digest);
    assert_eq!(
        ia.digest,
        Image::test_image().digest,
        "make test-image built another digest from the same binary"
    );
    let archive = format!("tollfree-operator-{VERSION}.tar");
    let bytes = |dir: &Path| std::fs::read(dir.join(&archive)).expect("the docker-archive");
    assert!(bytes(&a.0) == bytes(&b.0), "the docker-archives differ");
}

/// `hack/tools.sh path crane`.
fn crane() -> PathBuf {
    let out = Command::new(repo_path("hack/tools.sh"))
        .args(["path", "crane"])
        .output()
        .expect("hack/tools.sh");
    assert!(out.status.success(), "{}", describe(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn crane_push_of_the_layout_keeps_the_digest_and_the_archive_pushes_the_same_config() {
    let crane = crane();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let _registry = Killed(
        Command::new(&crane)
            .args([
                "registry",
                "serve",
                "--address",
                &format!("127.0.0.1:{port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("crane registry serve"),
    );
    let run = |args: &[&str]| {
        let mut last = None;
        for _ in 0..50 {
            let out = Command::new(&crane)
                .arg("--insecure")
                .args(args)
                .output()
                .expect("crane");
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).trim().to_owned();
            }
            last = Some(out);
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "crane {}: {}",
            args.join(" "),
            describe(&last.expect("ran"))
        );
    };
    let image = Image::test_image();
    let layout = image_dir().join("oci");
    let reference = format!("127.0.0.1:{port}/tollfree-operator:{VERSION}");
    run(&["push", layout.to_str().expect("utf-8"), &reference]);
    assert_eq!(run(&["digest", &reference]), image.digest);

    let archive = image_dir().join(format!("tollfree-operator-{VERSION}.tar"));
    let from_archive = format!("127.0.0.1:{port}/from-archive:{VERSION}");
    run(&["push", archive.to_str().expect("utf-8"), &from_archive]);
    let config: Value =
        serde_json::from_str(&run(&["config", &from_archive])).expect("config JSON");
    assert_eq!(
        config, image.config,
        "docker load / crane push of the archive gives another config"
    );
}

/// The instructions of the Dockerfile's final stage, in order.
fn dockerfile_final_stage() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_path("Dockerfile")).expect("Dockerfile");
    let mut stage = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(continued) = line.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let (instruction, rest) = logical.split_once(' ').unwrap_or((&logical, ""));
        let instruction = instruction.to_uppercase();
        if instruction == "FROM" {
            stage.clear();
        }
        stage.push((instruction, rest.trim().to_owned()));
        logical.clear();
    }
    stage
}

#[test]
fn dockerfile_describes_the_same_image() {
    let stage = dockerfile_final_stage();
    let all = |name: &str| -> Vec<&str> {
        stage
            .iter()
            .filter(|(i, _)| i == name)
            .map(|(_, r)| r.as_str())
            .collect()
    };
    let one = |name: &str| -> String {
        let values = all(name);
        assert_eq!(
            values.len(),
            1,
            "one {name} in the Dockerfile's final stage: {values:?}"
        );
        values[0].to_owned()
    };
    assert_eq!(
        one("FROM"),
        "scratch",
        "the final stage must be the same empty base as make image"
    );
    assert!(
        one("COPY").ends_with("/out/rootfs/ /"),
        "the final stage copies the file system of hack/image.sh rootfs"
    );
    let image = Image::test_image();
    let cfg = &image.config["config"];
    assert_eq!(one("USER"), cfg["User"]);
    let exec_form = |s: String| -> Value { serde_json::from_str(&s).expect("exec (JSON) form") };
    assert_eq!(exec_form(one("ENTRYPOINT")), cfg["Entrypoint"]);
    assert_eq!(exec_form(one("CMD")), cfg["Cmd"]);
    assert_eq!(one("WORKDIR"), cfg["WorkingDir"]);
    assert_eq!(one("EXPOSE"), "8080/tcp");
    let mut env: Vec<String> = all("ENV")
        .iter()
        .flat_map(|r| r.split_whitespace().map(str::to_owned))
        .collect();
    env.sort();
    let mut image_env: Vec<String> = cfg["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    image_env.sort();
    assert_eq!(env, image_env);

    let version_arg = format!("VERSION={VERSION}");
    assert!(
        all("ARG").contains(&version_arg.as_str()),
        "the Dockerfile's ARG VERSION default is not {VERSION}"
    );
    // One `LABEL key=value` per line.
    let labels: BTreeMap<String, String> = all("LABEL")
        .iter()
        .map(|rest| {
            let (k, v) = rest
                .split_once('=')
                .unwrap_or_else(|| panic!("LABEL {rest}"));
            (
                k.to_owned(),
                v.trim_matches('"').replace("${VERSION}", VERSION),
            )
        })
        .collect();
    let image_labels: BTreeMap<String, String> = cfg["Labels"]
        .as_object()
        .expect("Labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(labels, image_labels, "the Dockerfile's labels");
}
