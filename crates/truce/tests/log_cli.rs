//! End-to-end tests of `truce log`: the real binary, witnesses as child processes on free
//! loopback ports, and a small static file server in the test for mirrors over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a test failure

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use truce_merkle::{Hash, leaf_hash, root_from_leaf_hashes, verify_consistency};
use truce_note::{Policy, Verifier, WitnessGroup};

const ORIGIN: &str = "truce.example/test-log";

fn truce_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_truce"));
    command
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(bytes) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs `truce` in `dir` and returns its standard output; panics with its stderr on failure.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = truce_in(dir, args, None);
    assert!(
        out.status.success(),
        "truce {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `truce` in `dir`, expects it to fail, and returns its standard error.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = truce_in(dir, args, None);
    assert!(
        !out.status.success(),
        "truce {args:?} should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn lines(prefix: &str, range: std::ops::Range<u32>) -> String {
    range.map(|idx| format!("{prefix} {idx}\n")).collect()
}

/// Creates a log `name` in `dir` with a new key (`name.key`); returns its vkey.
fn init(dir: &Path, name: &str) -> String {
    ok(dir, &["log", "init", name, "--origin", ORIGIN])
        .trim()
        .to_owned()
}

/// Appends the lines of `text` (written to a file first) to the log `name`.
fn append(dir: &Path, name: &str, key: &str, text: &str, extra: &[&str]) -> String {
    let file = dir.join(format!("{name}-input-{}.txt", text.len()));
    fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap().to_owned();
    let mut args = vec!["log", "append", name, "--key", key, &file];
    args.extend_from_slice(extra);
    ok(dir, &args)
}

fn flip_byte(path: &Path, offset: usize) -> Vec<u8> {
    let original = fs::read(path).unwrap();
    let mut damaged = original.clone();
    damaged[offset] ^= 0x01;
    fs::write(path, damaged).unwrap();
    original
}

/// A witness child process, killed when dropped.
struct WitnessProcess {
    child: Child,
    url: String,
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes a witness key `name.key` in `dir` (if absent) and returns its vkey.
fn witness_key(dir: &Path, name: &str) -> String {
    let key = dir.join(format!("{name}.key"));
    let vkey = dir.join(format!("{name}.vkey"));
    if !key.exists() {
        let printed = ok(
            dir,
            &[
                "log",
                "keygen",
                "--witness",
                "--name",
                &format!("{name}.example"),
                "--out",
                key.to_str().unwrap(),
            ],
        );
        fs::write(&vkey, printed.trim()).unwrap();
    }
    fs::read_to_string(vkey).unwrap()
}

/// Starts witness `name` of the log with `log_vkey` on a free loopback port.
fn start_witness(dir: &Path, name: &str, log_vkey: &str, create: bool) -> WitnessProcess {
    witness_key(dir, name);
    let mut args = vec![
        "log".to_owned(),
        "witness".to_owned(),
        "--key".to_owned(),
        format!("{name}.key"),
        "--log-vkey".to_owned(),
        log_vkey.to_owned(),
        "--state".to_owned(),
        format!("{name}.state"),
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
    ];
    if create {
        args.push("--create-state".to_owned());
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_truce"))
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(dir.join(format!("{name}.stderr"))).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "witness {name} did not start: {}",
                fs::read_to_string(dir.join(format!("{name}.stderr"))).unwrap()
            )
        })
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    WitnessProcess { child, url }
}

/// Serves the files under `root` over HTTP on a free loopback port, from a thread of this
/// test process (hidden files and `..` are not served). Returns the base URL.
fn static_server(root: PathBuf) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let root = root.clone();
                async move { serve_file(&root, uri.path()) }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    let address = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
    format!("http://{address}")
}

fn serve_file(root: &Path, path: &str) -> (axum::http::StatusCode, Vec<u8>) {
    let relative = path.trim_start_matches('/');
    let refused = relative
        .split('/')
        .any(|segment| segment.is_empty() || segment.starts_with('.'));
    match (refused, fs::read(root.join(relative))) {
        (false, Ok(bytes)) => (axum::http::StatusCode::OK, bytes),
        _ => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
    }
}

fn leaf_hashes(text: &str) -> Vec<Hash> {
    text.lines()
        .map(|line| leaf_hash(line.as_bytes()))
        .collect()
}

fn decode_lines(text: &str) -> Vec<Hash> {
    use base64::Engine;
    text.lines()
        .map(|line| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(line)
                .unwrap();
            Hash::from_slice(&bytes).unwrap()
        })
        .collect()
}

#[test]
fn init_append_verify_prove_and_find_tampering() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let vkey = init(dir, "log");
    assert!(vkey.starts_with(&format!("{ORIGIN}+")), "{vkey}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.join("log.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let stderr = fails(dir, &["log", "init", "log", "--origin", ORIGIN]);
    assert!(stderr.contains("already holds files"), "{stderr}");

    let text = lines("report", 0..1000);
    let printed = append(dir, "log", "log.key", &text, &[]);
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(printed.len(), 1000);
    assert!(printed[0].starts_with("0\t"), "{}", printed[0]);
    assert!(printed[999].starts_with("999\t") && printed[999].ends_with(":1000"));

    let report = ok(dir, &["log", "verify", "log", "--vkey", &vkey]);
    assert!(report.starts_with("ok: log: "), "{report}");
    assert!(report.contains("size 1000"), "{report}");

    // A receipt verifies offline against the log's key.
    let leaves = leaf_hashes(&text);
    let receipt = ok(dir, &["log", "prove", "log", "--index", "617"]);
    let log_key = Verifier::from_vkey(&vkey).unwrap();
    let verified =
        truce_log::verify_receipt_with_log_key(receipt.as_bytes(), b"report 617", ORIGIN, &log_key)
            .unwrap();
    assert_eq!(verified.index, 617);
    assert!(
        truce_log::verify_receipt_with_log_key(receipt.as_bytes(), b"report 618", ORIGIN, &log_key)
            .is_err()
    );
    // An inclusion proof in an older tree, and a consistency proof.
    let proof = decode_lines(&ok(
        dir,
        &["log", "prove", "log", "--index", "5", "--size", "300"],
    ));
    truce_merkle::verify_inclusion(
        &leaves[5],
        5,
        300,
        &proof,
        &root_from_leaf_hashes(&leaves[..300]),
    )
    .unwrap();
    let proof = decode_lines(&ok(dir, &["log", "prove", "log", "--from", "300"]));
    verify_consistency(
        300,
        1000,
        &proof,
        &root_from_leaf_hashes(&leaves[..300]),
        &root_from_leaf_hashes(&leaves),
    )
    .unwrap();
    let stderr = fails(dir, &["log", "prove", "log", "--index", "1000"]);
    assert!(
        stderr.contains("entry 1000 is not in the tree of size 1000"),
        "{stderr}"
    );

    // A line over the entry limit refuses the whole input, naming the line.
    let long = format!("short\n{}\n", "x".repeat(70_000));
    fs::write(dir.join("long.txt"), long).unwrap();
    let stderr = fails(
        dir,
        &["log", "append", "log", "--key", "log.key", "long.txt"],
    );
    assert!(stderr.contains("long.txt:2"), "{stderr}");
    // Standard input and whole files.
    let out = truce_in(
        dir,
        &["log", "append", "log", "--key", "log.key", "-"],
        Some(b"from stdin\n"),
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1000\t-:1\n");
    let whole = append(dir, "log", "log.key", "two\nlines\n", &["--whole-files"]);
    assert!(whole.starts_with("1001\t"), "{whole}");

    // --previous: a checkpoint seen earlier must be a prefix.
    fs::copy(dir.join("log/checkpoint"), dir.join("seen")).unwrap();
    append(dir, "log", "log.key", &lines("later", 0..10), &[]);
    let report = ok(
        dir,
        &[
            "log",
            "verify",
            "log",
            "--vkey",
            &vkey,
            "--previous",
            "seen",
        ],
    );
    assert!(report.contains("consistent with the previous checkpoint of size 1002"));
    let stderr = fails(
        dir,
        &[
            "log",
            "verify",
            "log",
            "--vkey",
            "wrong+00000000+AAAA",
            "--previous",
            "seen",
        ],
    );
    assert!(stderr.contains("log verifier key"), "{stderr}");

    // One flipped byte in a hash tile, then in an entry bundle: named in the error.
    let tile = dir.join("log/tile/0/001");
    let original = flip_byte(&tile, 100);
    let stderr = fails(dir, &["log", "verify", "log", "--vkey", &vkey]);
    assert!(stderr.contains("tile/0/001 at byte 96"), "{stderr}");
    fs::write(&tile, original).unwrap();
    let bundle = dir.join("log/tile/entries/002");
    let original = flip_byte(&bundle, 50);
    let stderr = fails(dir, &["log", "verify", "log", "--vkey", &vkey]);
    assert!(stderr.contains("tile/entries/002"), "{stderr}");
    fs::write(&bundle, original).unwrap();
    ok(dir, &["log", "verify", "log", "--vkey", &vkey]);
}

#[test]
fn two_witnesses_cosign_and_refuse_a_fork() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let vkey = init(dir, "log");
    append(dir, "log", "log.key", &lines("report", 0..1000), &[]);
    let w1_vkey = witness_key(dir, "w1");
    let w2_vkey = witness_key(dir, "w2");

    // A witness without its state refuses to start; one on a public address too.
    let out = truce_in(
        dir,
        &[
            "log",
            "witness",
            "--key",
            "w1.key",
            "--log-vkey",
            &vkey,
            "--state",
            "w1.state",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--create-state"));
    let stderr = fails(
        dir,
        &[
            "log",
            "witness",
            "--key",
            "w1.key",
            "--log-vkey",
            &vkey,
            "--state",
            "w1.state",
            "--create-state",
            "--listen",
            "0.0.0.0:0",
        ],
    );
    assert!(stderr.contains("not a loopback address"), "{stderr}");

    let mut w1 = start_witness(dir, "w1", &vkey, true);
    let w2 = start_witness(dir, "w2", &vkey, true);
    let cosigned = ok(
        dir,
        &[
            "log",
            "cosign",
            "log",
            "--key",
            "log.key",
            "--witness",
            &w1.url,
            "--witness",
            &w2.url,
        ],
    );
    assert!(cosigned.contains("— w1.example ") && cosigned.contains("— w2.example "));
    let both = [
        "log",
        "verify",
        "log",
        "--vkey",
        &vkey,
        "--witness",
        &w1_vkey,
        "--witness",
        &w2_vkey,
    ];
    let report = ok(dir, &both);
    assert!(report.contains("witnessed: size 1000 of 1000"), "{report}");
    // A mirror carries the cosigned checkpoint along.
    let out = ok(dir, &["log", "mirror", "log", "copy", "--vkey", &vkey]);
    assert!(out.contains("cosigned checkpoint of size 1000"), "{out}");
    let report = ok(
        dir,
        &[
            "log",
            "verify",
            "copy",
            "--vkey",
            &vkey,
            "--witness",
            &w1_vkey,
            "--witness",
            &w2_vkey,
        ],
    );
    assert!(report.contains("witnessed: size 1000 of 1000"), "{report}");
    let w3_vkey = witness_key(dir, "w3");
    let stderr = fails(
        dir,
        &[
            "log",
            "verify",
            "log",
            "--vkey",
            &vkey,
            "--witness",
            &w1_vkey,
            "--witness",
            &w3_vkey,
        ],
    );
    assert!(stderr.contains("w3.example"), "{stderr}");

    // Appending with witnesses: every batch's checkpoint is cosigned, receipts carry it.
    append(
        dir,
        "log",
        "log.key",
        &lines("more", 0..500),
        &[
            "--receipts",
            "receipts",
            "--witness",
            &w1.url,
            "--witness",
            &w2.url,
            "--witness-vkey",
            &w1_vkey,
            "--witness-vkey",
            &w2_vkey,
        ],
    );
    let policy = Policy::new(
        ORIGIN,
        Verifier::from_vkey(&vkey).unwrap(),
        vec![
            WitnessGroup::new("party a", vec![Verifier::from_vkey(&w1_vkey).unwrap()], 1).unwrap(),
            WitnessGroup::new("party b", vec![Verifier::from_vkey(&w2_vkey).unwrap()], 1).unwrap(),
        ],
    )
    .unwrap();
    for (index, line) in [(1000u32, "more 0"), (1255, "more 255"), (1499, "more 499")] {
        let receipt = fs::read(dir.join(format!("receipts/{index}.tlog-proof"))).unwrap();
        let verified = truce_log::verify_receipt(&receipt, line.as_bytes(), &policy).unwrap();
        assert_eq!(verified.index, u64::from(index));
    }
    let report = ok(dir, &both);
    assert!(report.contains("witnessed: size 1500 of 1500"), "{report}");

    // A second log with the same key and origin but other entries: a fork. The witness
    // that cosigned 1500 entries of the first refuses it (the consistency proof from 1500
    // does not lead to the root it cosigned), and keeps its state.
    ok(
        dir,
        &[
            "log", "init", "fork", "--origin", ORIGIN, "--key", "log.key",
        ],
    );
    append(dir, "fork", "log.key", &lines("forged", 0..1600), &[]);
    let stderr = fails(
        dir,
        &[
            "log",
            "cosign",
            "fork",
            "--key",
            "log.key",
            "--witness",
            &w1.url,
        ],
    );
    assert!(stderr.contains(&w1.url), "{stderr}");
    assert!(stderr.contains("HTTP 422"), "{stderr}");
    assert!(!dir.join("fork/checkpoint.cosigned").exists());
    let state = fs::read_to_string(dir.join("w1.state")).unwrap();
    assert!(state.contains("size 1500\n"), "{state}");

    // Restarted from its state file, the witness still refuses the fork, and still
    // cosigns the real log.
    drop(w1);
    w1 = start_witness(dir, "w1", &vkey, false);
    let stderr = fails(
        dir,
        &[
            "log",
            "cosign",
            "fork",
            "--key",
            "log.key",
            "--witness",
            &w1.url,
        ],
    );
    assert!(stderr.contains("HTTP 422"), "{stderr}");
    append(dir, "log", "log.key", &lines("after restart", 0..1), &[]);
    ok(
        dir,
        &[
            "log",
            "cosign",
            "log",
            "--key",
            "log.key",
            "--witness",
            &w1.url,
            "--witness",
            &w2.url,
        ],
    );
    let report = ok(dir, &both);
    assert!(report.contains("witnessed: size 1501 of 1501"), "{report}");
    // `prove` gives receipts with the cosigned checkpoint once there is one.
    let receipt = ok(dir, &["log", "prove", "log", "--index", "1500"]);
    truce_log::verify_receipt(receipt.as_bytes(), b"after restart 0", &policy).unwrap();

    // The protocol itself: a wrong old size gets 409 with the witness's size.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let checkpoint = fs::read_to_string(dir.join("log/checkpoint")).unwrap();
    let mut response = agent
        .post(format!("{}/add-checkpoint", w2.url))
        .send(format!("old 7\n\n{checkpoint}"))
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/x.tlog.size"
    );
    assert_eq!(response.body_mut().read_to_string().unwrap(), "1501\n");
    let response = agent
        .post(format!("{}/add-checkpoint", w2.url))
        .send("not a request")
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = agent
        .get(format!("{}/add-checkpoint", w2.url))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    drop(w1);
    drop(w2);
}

#[test]
fn mirror_from_a_directory_and_over_http() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let served = dir.join("served");
    fs::create_dir(&served).unwrap();
    let vkey = ok(
        dir,
        &[
            "log",
            "init",
            "served/log",
            "--origin",
            ORIGIN,
            "--key-out",
            "log.key",
        ],
    )
    .trim()
    .to_owned();
    append(dir, "served/log", "log.key", &lines("report", 0..700), &[]);

    let out = ok(
        dir,
        &["log", "mirror", "served/log", "copy", "--vkey", &vkey],
    );
    assert!(
        out.contains("size 700") && out.contains("verified"),
        "{out}"
    );
    ok(dir, &["log", "verify", "copy", "--vkey", &vkey]);
    assert_eq!(
        fs::read(dir.join("copy/checkpoint")).unwrap(),
        fs::read(served.join("log/checkpoint")).unwrap()
    );

    let base = static_server(served.clone());
    let url = format!("{base}/log");
    let out = ok(dir, &["log", "mirror", &url, "web", "--vkey", &vkey]);
    assert!(out.contains("size 700"), "{out}");
    let report = ok(dir, &["log", "verify", &url, "--vkey", &vkey]);
    assert!(report.contains("size 700"), "{report}");

    // The log grows; the mirror fetches only what is new and checks consistency.
    fs::copy(dir.join("web/checkpoint"), dir.join("seen")).unwrap();
    append(dir, "served/log", "log.key", &lines("later", 0..300), &[]);
    let out = ok(dir, &["log", "mirror", &url, "web", "--vkey", &vkey]);
    assert!(out.contains("size 1000"), "{out}");
    assert!(out.contains("consistent with size 700"), "{out}");
    assert!(out.contains("(5 files fetched, 4 already there)"), "{out}");
    ok(
        dir,
        &[
            "log",
            "verify",
            "web",
            "--vkey",
            &vkey,
            "--previous",
            "seen",
        ],
    );

    // A fork under the same key is refused, and the mirror keeps its checkpoint.
    ok(
        dir,
        &[
            "log",
            "init",
            "served/fork",
            "--origin",
            ORIGIN,
            "--key",
            "log.key",
        ],
    );
    append(
        dir,
        "served/fork",
        "log.key",
        &lines("forged", 0..1200),
        &[],
    );
    let before = fs::read(dir.join("web/checkpoint")).unwrap();
    let stderr = fails(
        dir,
        &[
            "log",
            "mirror",
            &format!("{base}/fork"),
            "web",
            "--vkey",
            &vkey,
        ],
    );
    assert!(stderr.contains("refusing a fork"), "{stderr}");
    assert_eq!(fs::read(dir.join("web/checkpoint")).unwrap(), before);
    append(dir, "served/fork", "log.key", &lines("forged", 0..1), &[]);
    let stderr = fails(
        dir,
        &["log", "mirror", "served/fork", "copy", "--vkey", &vkey],
    );
    assert!(stderr.contains("refusing a fork"), "{stderr}");

    // A damaged source: the copy is refused, naming the file, and nothing is published.
    let damaged = served.join("damaged");
    fs::create_dir_all(damaged.join("tile/entries")).unwrap();
    copy_tree(&served.join("log"), &damaged);
    flip_byte(&damaged.join("tile/entries/001"), 10);
    let stderr = fails(
        dir,
        &[
            "log",
            "mirror",
            &format!("{base}/damaged"),
            "fresh",
            "--vkey",
            &vkey,
        ],
    );
    assert!(stderr.contains("tile/entries/001"), "{stderr}");
    assert!(
        stderr.contains(&format!("{base}/damaged/tile/entries/001")),
        "{stderr}"
    );
    assert!(!dir.join("fresh/checkpoint").exists());
    let stderr = fails(
        dir,
        &["log", "verify", &format!("{base}/damaged"), "--vkey", &vkey],
    );
    assert!(stderr.contains("tile/entries/001"), "{stderr}");
    // No staging directory is left behind.
    let leftovers: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".truce-mirror"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64) * fraction).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `truce log append LOG_ARGS… batch.txt` once per batch and returns the sorted times.
fn time_batches(dir: &Path, batches: u32, batch: u32, log_args: &[&str]) -> Vec<Duration> {
    let mut times = Vec::new();
    for n in 0..batches {
        fs::write(
            dir.join("batch.txt"),
            lines(&format!("batch {n}"), 0..batch),
        )
        .unwrap();
        let mut args = vec!["log", "append"];
        args.extend_from_slice(log_args);
        args.push("batch.txt");
        let started = Instant::now();
        ok(dir, &args);
        times.push(started.elapsed());
    }
    times.sort();
    times
}

/// Submission → cosigned receipt: each batch is one `truce log append --receipts` run
/// with two witnesses cosigning its checkpoint; the time is from the start of the process
/// until its receipts (with both cosignatures) are written. Run with
/// `cargo test -p truce --test log_cli -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; prints p50/p99"]
fn latency_submission_to_cosigned_receipt() {
    const BATCHES: u32 = 500;
    const BATCH: u32 = 64;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let vkey = init(dir, "log");
    let w1_vkey = witness_key(dir, "w1");
    let w2_vkey = witness_key(dir, "w2");
    let w1 = start_witness(dir, "w1", &vkey, true);
    let w2 = start_witness(dir, "w2", &vkey, true);
    // Baseline: the same runs without witnesses, into another log.
    init(dir, "plain");
    let plain = time_batches(
        dir,
        BATCHES,
        BATCH,
        &[
            "plain",
            "--key",
            "plain.key",
            "--receipts",
            "plain-receipts",
        ],
    );
    let times = time_batches(
        dir,
        BATCHES,
        BATCH,
        &[
            "log",
            "--key",
            "log.key",
            "--receipts",
            "receipts",
            "--witness",
            &w1.url,
            "--witness",
            &w2.url,
            "--witness-vkey",
            &w1_vkey,
            "--witness-vkey",
            &w2_vkey,
        ],
    );
    let last = BATCHES * BATCH - 1;
    let receipt = fs::read(dir.join(format!("receipts/{last}.tlog-proof"))).unwrap();
    let policy = Policy::new(
        ORIGIN,
        Verifier::from_vkey(&vkey).unwrap(),
        vec![
            WitnessGroup::new("a", vec![Verifier::from_vkey(&w1_vkey).unwrap()], 1).unwrap(),
            WitnessGroup::new("b", vec![Verifier::from_vkey(&w2_vkey).unwrap()], 1).unwrap(),
        ],
    )
    .unwrap();
    truce_log::verify_receipt(
        &receipt,
        format!("batch {} {}", BATCHES - 1, BATCH - 1).as_bytes(),
        &policy,
    )
    .unwrap();
    println!(
        "submission -> cosigned receipt, {BATCHES} batches of {BATCH} entries, 2 witnesses: \
         p50 {:?}, p99 {:?}, max {:?}",
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    println!(
        "submission -> receipt without witnesses (baseline): p50 {:?}, p99 {:?}, max {:?}",
        percentile(&plain, 0.50),
        percentile(&plain, 0.99),
        plain[plain.len() - 1]
    );
    drop(w1);
    drop(w2);
}
