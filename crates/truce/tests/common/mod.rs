//! Running the real `truce` binary from the repository root, for the end-to-end tests.
// Each test file uses some of these helpers; the ones it does not use are not dead code.
#![allow(dead_code)]

pub mod service;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (examples are named relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `truce ARGS` in the repository root.
pub fn truce(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_truce"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Runs `truce ARGS`, which must succeed, and returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = truce(args);
    assert!(
        out.status.success(),
        "truce {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The agreement and reports of a shipped example, relative to the root.
pub fn example(name: &str) -> (String, String) {
    (
        format!("examples/{name}/agreement.toml"),
        format!("examples/{name}/reports.csv"),
    )
}
