//! Running `truce` against a real service: commands with no `TRUCE_*` settings inherited,
//! keys made by `truce key new`, a `truce serve` child process, plain HTTP reads.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const TRUCE: &str = env!("CARGO_BIN_EXE_truce");

/// Runs `truce ARGS` with none of the `TRUCE_*` settings of the environment.
pub fn truce(args: &[&str]) -> Output {
    Command::new(TRUCE)
        .args(args)
        .env_remove("TRUCE_DATA")
        .env_remove("TRUCE_CONFIG")
        .env_remove("TRUCE_KEY")
        .env_remove("TRUCE_URL")
        .env_remove("TRUCE_DATABASE")
        .output()
        .unwrap()
}

/// Runs `truce ARGS`, which must succeed; returns its standard output.
#[track_caller]
pub fn succeeds(args: &[&str]) -> String {
    let output = truce(args);
    assert!(
        output.status.success(),
        "truce {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `truce ARGS`, which must fail; returns its standard error.
#[track_caller]
pub fn fails(args: &[&str]) -> String {
    let output = truce(args);
    assert!(
        !output.status.success(),
        "truce {args:?} succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr).unwrap()
}

/// Makes a key pair with `truce key new NAME` in `dir`; returns the (private, public) paths
/// (the files are named after NAME with characters other than letters, digits, `.`, `-` and
/// `_` replaced by `_`).
pub fn key(dir: &Path, name: &str) -> (String, String) {
    succeeds(&["key", "new", name, "--out", dir.to_str().unwrap()]);
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = |extension: &str| {
        dir.join(format!("{stem}.{extension}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    (path("key"), path("pub"))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// An HTTP client that returns every status as an answer.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `url`: its status and JSON body (`Null` if not JSON); `None` if nothing answers.
pub fn get(url: &str) -> Option<(u16, Value)> {
    let mut response = agent().get(url).call().ok()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// A running `truce serve` on a free loopback port, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    log: PathBuf,
}

impl Server {
    /// Starts `truce serve --data DATA --listen 127.0.0.1:0 EXTRA...` and waits until it is
    /// ready; its log goes to a file beside `data`.
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        let log = data.with_extension(format!("serve-{}.log", now_ms()));
        let mut child = Command::new(TRUCE)
            .args(["serve", "--data", data.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TRUCE_LOG", "info")
            .env_remove("TRUCE_DATABASE")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "no URL printed ({url:?}): {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let server = Self { child, url, log };
        server.wait_ready();
        server
    }

    /// Starts a service on a new directory with `admin_pub` as its admin and no effective
    /// per-key rate limit (tests send many requests from one key).
    pub fn start_unlimited(data: &Path, admin_pub: &str) -> Self {
        Self::start(
            data,
            &[
                "--admin-key",
                admin_pub,
                "--rate-per-second",
                "100000",
                "--rate-burst",
                "100000",
            ],
        )
    }

    /// Waits (up to two minutes) until `/readyz` answers 200.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if get(&format!("{}/readyz", self.url)).is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("not ready: {}", self.server_log());
    }

    /// What the server logged so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM; the exit must be clean.
    pub fn terminate(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve exited with {status}: {}",
            self.server_log()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
