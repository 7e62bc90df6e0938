//! The checked-in CRD (`crds/tollfreenumberset.yaml`) must be exactly what
//! `tollfree-operator crd` prints, so the cluster never runs a schema the code
//! does not have.

use std::process::Command;

const CHECKED_IN: &str = include_str!("../crds/tollfreenumberset.yaml");
const REGENERATE: &str = "regenerate it with: cargo run -- crd > crds/tollfreenumberset.yaml";

#[test]
fn checked_in_crd_matches_the_crd_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollfree-operator"))
        .arg("crd")
        .output()
        .expect("runs tollfree-operator crd");
    assert!(
        out.status.success(),
        "`tollfree-operator crd` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8 output");
    if printed != CHECKED_IN {
        let first = printed
            .lines()
            .zip(CHECKED_IN.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "the files differ in length".to_string(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!("crds/tollfreenumberset.yaml is out of date ({first}); {REGENERATE}");
    }
}

#[test]
fn the_library_renders_what_the_command_prints() {
    let yaml = tollfree_operator::cli::crd::crd_yaml().expect("renders");
    assert_eq!(yaml, CHECKED_IN, "{REGENERATE}");
}
