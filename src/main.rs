//! The `tollfree-operator` binary.
fn main() {}
