//! The compliance report's HTML in a real browser: runs the Node test suite in
//! `tests/browser/` (headless Chromium through `playwright-core`) against this build of the
//! binary.
//!
//! It needs Node.js, Chromium at `/usr/bin/chromium` and the suite's packages
//! (`npm ci --prefix tests/browser`). When one is missing the test says which and passes,
//! unless `TRUCE_REQUIRE_BROWSER=1` is set (as CI does), when it fails.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the suite expects Chromium (Debian's package).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Writes past the test harness's capture, so the lines show in a passing run too.
fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// What is missing to run the browser suite, one line each; empty when all is there.
fn missing_prerequisites(suite: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => missing.push(format!("node: `node --version` exited with {}", out.status)),
        Err(error) => missing.push(format!("node: not found on PATH ({error})")),
    }
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!(
            "chromium: {CHROMIUM} does not exist (apt-get install chromium chromium-driver)"
        ));
    }
    let packages = suite.join("node_modules");
    if !packages.join("playwright-core").is_dir() {
        missing.push(format!(
            "packages: {} holds no playwright-core (npm ci --prefix tests/browser)",
            packages.display()
        ));
    }
    missing
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let suite = root().join("tests").join("browser");
    let missing = missing_prerequisites(&suite);
    if !missing.is_empty() {
        let list = missing.join("\n  ");
        let required = std::env::var("TRUCE_REQUIRE_BROWSER").is_ok_and(|value| value == "1");
        assert!(
            !required,
            "TRUCE_REQUIRE_BROWSER=1 but the browser test cannot run; missing:\n  {list}"
        );
        say(&format!(
            "browser test SKIPPED (set TRUCE_REQUIRE_BROWSER=1 to make this a failure); \
             missing:\n  {list}"
        ));
        return;
    }

    // `node --test` in the suite's folder finds its *.test.mjs files and leaves
    // node_modules alone, on every Node version from 20 on; TAP whatever the terminal.
    let output = Command::new("node")
        .args(["--test", "--test-reporter=tap"])
        .current_dir(&suite)
        .env("TRUCE_BIN", env!("CARGO_BIN_EXE_truce"))
        .output()
        .expect("starting node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    say(&format!(
        "== node --test ({}):\n{stdout}{stderr}",
        suite.display()
    ));
    assert!(
        output.status.success(),
        "the browser suite failed ({}); its output is above",
        output.status
    );
    // A run that found no test file would pass: it must have run some.
    let ran = stdout
        .lines()
        .find_map(|line| line.strip_prefix("# pass "))
        .and_then(|count| count.trim().parse::<u32>().ok());
    assert!(
        ran.is_some_and(|count| count > 0),
        "the browser suite ran no test (no `# pass N` line with N > 0)"
    );
}
