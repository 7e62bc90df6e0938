//! `tollfree-operator simulator` as a user runs it: start the built binary on a
//! free port, read the URL it prints, drive it with `curl` (authenticate,
//! search, reserve, purchase, list), then stop it with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tollfree-operator");

/// A running `simulator`, killed when dropped (even if the test panics).
struct Running {
    child: Child,
    url: String,
}

impl Running {
    /// Starts `simulator --listen 127.0.0.1:0 ARGS` and waits for its URL line.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["simulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the simulator prints its URL");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the simulator did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl` with a JSON body (if any) and the token (if any): status and JSON answer.
fn curl(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let mut command = Command::new("curl");
    command.args([
        "-sS",
        "-X",
        method,
        "-H",
        "Accept: application/json",
        "-w",
        "\n%{http_code}",
    ]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: {token}")]);
    }
    if let Some(body) = body {
        command.args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ]);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.arg(url).output().expect("curl runs");
    assert!(
        status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&stderr)
    );
    let text = String::from_utf8_lossy(&stdout);
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (
        code.trim().parse().expect("status code"),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn a_user_can_authenticate_search_reserve_purchase_and_list_with_curl() {
    let sim = Running::start(&["--order-delay", "300ms", "--users", "ops:s3cret,demo:demo"]);
    let base = sim.url.clone();

    let (status, auth) = curl(
        "POST",
        &format!("{base}/_rest/v4/authenticate"),
        None,
        Some(&json!({"username": "ops", "password": "s3cret"})),
    );
    assert_eq!(status, 200, "{auth}");
    let token = auth["token"].as_str().expect("token").to_owned();
    let token = Some(token.as_str());

    let (status, found) = curl(
        "GET",
        &format!("{base}/_rest/v4/carrier/tf?npa=888&sequential=1&pageSize=2"),
        token,
        None,
    );
    assert_eq!(status, 200, "{found}");
    let numbers: Vec<Value> = found["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| e["endpoint"].clone())
        .collect();
    assert_eq!(numbers.len(), 2);

    let (status, reserved) = curl(
        "POST",
        &format!("{base}/_rest/v4/carrier/tf/reservations"),
        token,
        Some(&json!({"endpoints": numbers})),
    );
    assert_eq!(status, 200, "{reserved}");
    let reservation = reserved[0]["reservationID"].clone();

    let (status, order) = curl(
        "POST",
        &format!("{base}/_rest/v4/my/tf/orders"),
        token,
        Some(&json!({"reservationID": [reservation], "packageID": 30744, "serviceArea": 4})),
    );
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "PENDING");

    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let (status, listed) = curl(
            "GET",
            &format!("{base}/_rest/v4/my/tf?packageID=30744"),
            token,
            None,
        );
        assert_eq!(status, 200, "{listed}");
        if listed["endpoints"].as_array().is_some_and(|e| e.len() == 2) {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "the order never completed: {listed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let owned: Vec<Value> = listed["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| e["endpoint"].clone())
        .collect();
    assert_eq!(owned, numbers);
    assert_eq!(listed["endpoints"][0]["orderID"], order["orderID"]);

    let status = sim.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[test]
fn state_and_faults_flags_take_effect() {
    let dir = std::env::temp_dir().join(format!("tollfree-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state = dir.join("state.json");
    let state_arg = state.to_str().expect("utf-8 path");

    let first = Running::start(&["--state", state_arg, "--faults", "fail-next=503"]);
    let login = json!({"username": "demo", "password": "demo"});
    let auth_url = format!("{}/_rest/v4/authenticate", first.url);
    assert_eq!(
        curl("POST", &auth_url, None, Some(&login)).0,
        503,
        "the scripted fault"
    );
    let (status, auth) = curl("POST", &auth_url, None, Some(&login));
    assert_eq!(status, 200);
    let token = auth["token"].as_str().expect("token").to_owned();
    let (status, _) = curl(
        "POST",
        &format!("{}/_rest/v4/carrier/tf/reservations", first.url),
        Some(&token),
        Some(&json!({"endpoints": ["+18887293863"]})),
    );
    assert_eq!(status, 200);
    assert!(first.terminate().success());

    let second = Running::start(&["--state", state_arg]);
    let (status, answer) = curl(
        "POST",
        &format!("{}/_rest/v4/carrier/tf/reservations", second.url),
        Some(&token),
        Some(&json!({"endpoints": ["+18887293863"]})),
    );
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("Number(s) not available.")),
        "kept across restarts"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_arguments_are_clear_errors_not_panics() {
    for args in [
        &["--users", "demo"][..],
        &["--users", "demo:demo,:nopass"],
        &["--order-delay", "soon"],
        &["--faults", "explode=1"],
        &["--users", "demo:demo@0"],
        &["--tamper", "explode=1"],
        &["--tamper", "omit=18005550100"],
        &["--listen", "nowhere"],
    ] {
        let output = Command::new(BIN)
            .arg("simulator")
            .args(args)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_corrupt_state_file_stops_the_start_with_a_message() {
    let path =
        std::env::temp_dir().join(format!("tollfree-sim-corrupt-{}.json", std::process::id()));
    std::fs::write(&path, "not json").expect("write");
    let output = Command::new(BIN)
        .args(["simulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(&path)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not valid"), "{stderr}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn users_with_an_account_see_only_that_accounts_numbers() {
    let sim = Running::start(&[
        "--order-delay",
        "0s",
        "--users",
        "demo:demo,ops:ops,bob:s3cret@2002",
    ]);
    let base = sim.url.clone();
    let login = |user: &str, password: &str| {
        let (status, auth) = curl(
            "POST",
            &format!("{base}/_rest/v4/authenticate"),
            None,
            Some(&json!({"username": user, "password": password})),
        );
        assert_eq!(status, 200, "{user}: {auth}");
        auth["token"].as_str().expect("token").to_owned()
    };
    let (demo, ops, bob) = (
        login("demo", "demo"),
        login("ops", "ops"),
        login("bob", "s3cret"),
    );

    let (status, reserved) = curl(
        "POST",
        &format!("{base}/_rest/v4/carrier/tf/reservations"),
        Some(&bob),
        Some(&json!({"endpoints": ["+18887293863"]})),
    );
    assert_eq!(status, 200, "{reserved}");
    let (status, order) = curl(
        "POST",
        &format!("{base}/_rest/v4/my/tf/orders"),
        Some(&bob),
        Some(
            &json!({"reservationID": [reserved[0]["reservationID"]], "packageID": 30744, "serviceArea": 4}),
        ),
    );
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["accountID"], 2002);

    let (status, seeded) = curl(
        "POST",
        &format!("{base}/_admin/inventory"),
        None,
        Some(&json!({"numbers": ["+18005550100"], "packageID": 1})),
    );
    assert_eq!(status, 200, "{seeded}");

    let list = |token: &str| {
        let (status, listed) = curl("GET", &format!("{base}/_rest/v4/my/tf"), Some(token), None);
        assert_eq!(status, 200, "{listed}");
        listed["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .map(|e| (e["endpoint"].clone(), e["accountID"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&bob), [(json!("+18887293863"), json!(2002))]);
    assert_eq!(list(&demo), [(json!("+18005550100"), json!(1004318))]);
    assert_eq!(list(&ops), list(&demo), "no account: the default one");

    let (status, state) = curl(
        "GET",
        &format!("{base}/_admin/state?account=2002"),
        None,
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(state["inventory"].as_array().map(Vec::len), Some(1));
    assert!(sim.terminate().success());
}

#[test]
fn one_login_with_two_accounts_stops_the_start_with_a_message() {
    let output = Command::new(BIN)
        .args([
            "simulator",
            "--listen",
            "127.0.0.1:0",
            "--users",
            "bob:a@1,bob:b@2",
        ])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("two accounts"), "{stderr}");
}

#[test]
fn the_tamper_flag_makes_listings_lie_until_cleared_over_the_admin_api() {
    let sim = Running::start(&["--tamper", "omit=+18005550100"]);
    let base = sim.url.clone();
    let (status, _) = curl(
        "POST",
        &format!("{base}/_admin/inventory"),
        None,
        Some(&json!({"numbers": ["+18005550100", "+18005550101"], "packageID": 1})),
    );
    assert_eq!(status, 200);
    let (_, auth) = curl(
        "POST",
        &format!("{base}/_rest/v4/authenticate"),
        None,
        Some(&json!({"username": "demo", "password": "demo"})),
    );
    let token = auth["token"].as_str().expect("token").to_owned();
    let numbers = || {
        let (status, listed) = curl("GET", &format!("{base}/_rest/v3/my/tf"), Some(&token), None);
        assert_eq!(status, 200, "{listed}");
        listed["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .map(|e| e["endpoint"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(), [json!("+18005550101")]);
    let (status, cleared) = curl("DELETE", &format!("{base}/_admin/tampering"), None, None);
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(numbers(), [json!("+18005550100"), json!("+18005550101")]);
    assert!(sim.terminate().success());
}

#[test]
fn help_documents_the_users_grammar_and_the_tamper_flag() {
    let output = Command::new(BIN)
        .args(["simulator", "--help"])
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for text in [
        "LOGIN:PASSWORD[@ACCOUNTID]",
        "--tamper",
        "default --account-id",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
}
