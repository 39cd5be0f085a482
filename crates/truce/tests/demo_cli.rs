//! `truce demo` on the real binary: the summary of `--exit-when-ready`, a kept data
//! directory whose log verifies, the same findings for the same seed, and a served demo that
//! hides source identities from the public and stops cleanly on SIGTERM.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use truce_auth::RequestSigner;
use truce_note::NoteSigner;

const TRUCE: &str = env!("CARGO_BIN_EXE_truce");
const AGREEMENT: &str = "jeddah-30-day-ceasefire-2025";
/// Every key name the demo registers contains one of these.
const SOURCE_NAMES: [&str; 7] = [
    "ru_mod",
    "ru_regional",
    "ua_gs",
    "ua_regional",
    "mission_patrol_",
    "media_",
    "osint_",
];

fn demo_command(args: &[&str]) -> Command {
    let mut command = Command::new(TRUCE);
    command
        .arg("demo")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(common::root())
        .env_remove("TRUCE_LOG");
    command
}

#[track_caller]
fn demo_exit_when_ready(args: &[&str]) -> String {
    let output: Output = demo_command(args)
        .arg("--exit-when-ready")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "truce demo {args:?} failed ({}): {stderr}\n{stdout}",
        output.status
    );
    // Quiet in a pipe: no progress bar, no messages.
    assert!(stderr.trim().is_empty(), "{stderr}");
    stdout
}

/// The `  name:  value` lines of the summary.
fn summary(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| !name.starts_with(' '))
        .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
        .collect()
}

/// `violation 3, alleged 0, …` as counts by verdict.
fn verdicts(line: &str) -> BTreeMap<String, u64> {
    line.split(", ")
        .map(|part| {
            let (verdict, count) = part.rsplit_once(' ').unwrap();
            (verdict.to_owned(), count.parse().unwrap())
        })
        .collect()
}

/// `size N, root R` as (N, R).
fn size_and_root(line: &str) -> (u64, String) {
    let (size, root) = line.split_once(", root ").unwrap();
    (
        size.strip_prefix("size ").unwrap().parse().unwrap(),
        root.to_owned(),
    )
}

#[test]
fn exit_when_ready_summarises_a_verifiable_log_and_the_same_seed_gives_the_same_findings() {
    let scratch = tempfile::tempdir().unwrap();
    let given = scratch.path().join("given");

    // A temporary data directory kept with --keep.
    let first = demo_exit_when_ready(&["--keep", "--seed", "7"]);
    let first_summary = summary(&first);
    let kept = PathBuf::from(first_summary.get("data").unwrap());
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _remove_kept = Remove(kept.clone());
    assert!(kept.join("log").is_dir(), "{first}");

    let incidents: u64 = first_summary["incidents"].parse().unwrap();
    assert!(incidents > 0, "{first}");
    let findings = verdicts(&first_summary["findings"]);
    assert_eq!(
        findings.keys().collect::<Vec<_>>(),
        [
            "alleged",
            "disputed",
            "no_violation",
            "undetermined",
            "violation"
        ]
    );
    assert!(findings["violation"] > 0, "{first}");
    // One finding per incident under the one reading.
    assert_eq!(findings.values().sum::<u64>(), incidents, "{first}");
    let reports: u64 = first_summary["reports"]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reports > 1000, "{first}");
    let (size, root) = size_and_root(&first_summary["log"]);
    // The admin, the registered sources, the agreement and every report are entries.
    assert!(size > reports, "{first}");

    // The kept directory's log verifies, at the size and root printed.
    let vkey = kept.join("demo/log.pub");
    let verified = common::ok(&[
        "log",
        "verify",
        kept.join("log").to_str().unwrap(),
        "--vkey",
        vkey.to_str().unwrap(),
    ]);
    assert!(
        verified.contains(&format!("size {size} root {root}")),
        "{verified}"
    );
    // The keys are there for `truce submit`.
    for name in [
        "demo_admin",
        "ua_gs",
        "ru_mod",
        "mission_patrol_1",
        "media_1",
        "osint_1",
    ] {
        assert!(
            kept.join(format!("demo/keys/{name}.key")).is_file(),
            "{name}"
        );
        assert!(
            kept.join(format!("demo/keys/{name}.pub")).is_file(),
            "{name}"
        );
    }

    // The same seed into a given directory: the same reports, incidents, findings and log
    // size. (Not the same root: the service draws the salts of the committed fields at
    // random.)
    let second = demo_exit_when_ready(&["--data", given.to_str().unwrap(), "--seed", "7"]);
    let second_summary = summary(&second);
    for line in ["reports", "incidents", "findings", "digest", "agreement"] {
        assert_eq!(first_summary[line], second_summary[line], "{line}");
    }
    assert_eq!(size_and_root(&second_summary["log"]).0, size);
    assert!(given.join("log").is_dir());

    // A directory that is not empty is refused, and left as it was.
    let refused = demo_command(&["--data", given.to_str().unwrap(), "--exit-when-ready"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("not empty"), "{message}");
    assert!(given.join("log").is_dir());
}

#[test]
fn another_seed_gives_other_findings() {
    let one = summary(&demo_exit_when_ready(&["--seed", "1", "--reports", "600"]));
    let two = summary(&demo_exit_when_ready(&["--seed", "2", "--reports", "600"]));
    assert_ne!(one["digest"], two["digest"]);
}

// ---------------------------------------------------------------------------------------
// Serving

/// A running `truce demo`, killed when dropped.
struct Demo {
    child: Child,
    url: String,
    data: PathBuf,
    stdout: String,
    /// Reads what the demo prints after the URL, until it exits.
    rest: Option<std::thread::JoinHandle<String>>,
}

impl Demo {
    fn start() -> Self {
        let mut child = demo_command(&[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        let url = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("truce demo ended before serving: {stderr}\n{stdout}");
            }
            stdout.push_str(&line);
            if let Some(rest) = line.strip_prefix("Serving ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let data = PathBuf::from(
            summary(&stdout)
                .get("data")
                .unwrap()
                .split(" (")
                .next()
                .unwrap(),
        );
        // Drain the rest of standard output so the demo never blocks on a full pipe.
        let rest = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
            rest
        });
        Self {
            child,
            url,
            data,
            stdout,
            rest: Some(rest),
        }
    }

    /// SIGTERM; the exit must be clean. Returns what it printed after the URL.
    fn terminate(mut self) -> String {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        let _ = self
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr);
        assert!(
            status.success(),
            "truce demo exited with {status}: {stderr}"
        );
        self.rest.take().unwrap().join().unwrap()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// GETs `path`, signed by `signer` if given; the status and the JSON body.
fn get(url: &str, path: &str, signer: Option<&RequestSigner>) -> (u16, Value) {
    let mut request = http_client().get(format!("{url}{path}"));
    if let Some(signer) = signer {
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).unwrap();
        let authorization = signer.authorization("GET", path, b"", now, nonce).unwrap();
        request = request.header("Authorization", &authorization);
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn signer(private: &Path) -> RequestSigner {
    let text = std::fs::read_to_string(private).unwrap();
    RequestSigner::new(NoteSigner::from_skey(text.trim()).unwrap()).unwrap()
}

/// The source names an incident's member reports show.
fn shown_sources(detail: &Value) -> Vec<String> {
    detail["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|report| report["source"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_served_demo_hides_sources_from_the_public_and_stops_on_sigterm() {
    let demo = Demo::start();
    assert!(demo.url.starts_with("http://127.0.0.1:"), "{}", demo.stdout);
    assert!(demo.stdout.contains("incidents:"), "{}", demo.stdout);

    let (status, page) = get(
        &demo.url,
        &format!("/v1/agreements/{AGREEMENT}/incidents?verdict=violation&limit=20"),
        None,
    );
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{page}");
    let text = page.to_string();
    for name in SOURCE_NAMES.iter().chain(&["demo_admin"]) {
        assert!(!text.contains(name), "the public sees {name}: {text}");
    }

    // An incident with its member reports: no source names for the public, names for a
    // reader allowed to see them (a media key of the demo).
    let incident = items
        .iter()
        .max_by_key(|item| item["n_sources"].as_u64().unwrap_or(0))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/agreements/{AGREEMENT}/incidents/{incident}");
    let (status, public) = get(&demo.url, &path, None);
    assert_eq!(status, 200, "{public}");
    assert!(
        !public["reports"].as_array().unwrap().is_empty(),
        "{public}"
    );
    assert_eq!(shown_sources(&public), Vec::<String>::new(), "{public}");
    let public_text = public.to_string();
    for name in SOURCE_NAMES {
        assert!(
            !public_text.contains(name),
            "the public sees {name}: {public_text}"
        );
    }
    let reader = signer(&demo.data.join("demo/keys/media_1.key"));
    let (status, named) = get(&demo.url, &path, Some(&reader));
    assert_eq!(status, 200, "{named}");
    let names = shown_sources(&named);
    assert!(!names.is_empty(), "{named}");
    assert!(
        names
            .iter()
            .all(|name| SOURCE_NAMES.iter().any(|known| name.contains(known))),
        "{names:?}"
    );

    let data = demo.data.clone();
    assert!(data.join("log").is_dir());
    let commands = demo.terminate();
    for command in ["curl -s", "log verify", "submit --key", "report "] {
        assert!(commands.contains(command), "{command}: {commands}");
    }
    // The temporary data directory is removed on exit (no --keep).
    assert!(!data.exists(), "{} was left behind", data.display());
}
