//! The service from the command line, on the real binary: keys, `serve` on a
//! free port, `submit`, SIGKILL in the middle of a load and a restart that
//! must hold every acknowledged submission, backup while serving and
//! restore, and the errors of bad input.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::service::{Server, agent, fails, get, key, now_ms, succeeds};

use serde_json::{Value, json};
use truce_auth::RequestSigner;
use truce_note::NoteSigner;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/black-sea-2025")
}

/// A signer from a key file written by `truce key new`.
fn signer(private: &str) -> RequestSigner {
    let text = std::fs::read_to_string(private).unwrap();
    RequestSigner::new(NoteSigner::from_skey(text.trim()).unwrap()).unwrap()
}

fn report(id: &str, n: u64) -> Vec<u8> {
    let jitter = (n % 50) as f64 / 1000.0;
    serde_json::to_vec(&json!({
        "agreement": "black-sea-2025",
        "id": id,
        "time": "2025-04-07T23:30:00+03:00",
        "lon": 30.70 + jitter,
        "lat": 46.45 + jitter,
        "uncertainty_m": 500,
        "action": "missile_strike",
        "target": "maritime",
        "accused": "RU",
        "text": format!("report {id}"),
    }))
    .unwrap()
}

/// Posts one signed report; `Ok(Some(index))` on a receipt, `Ok(None)` on a refusal,
/// `Err` when there was no answer.
fn submit(
    agent: &ureq::Agent,
    url: &str,
    signer: &RequestSigner,
    body: &[u8],
) -> Result<Option<u64>, String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let authorization = signer
        .authorization("POST", "/v1/reports", body, now_ms(), nonce)
        .unwrap();
    let mut response = agent
        .post(format!("{url}/v1/reports"))
        .header("Authorization", &authorization)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|error| error.to_string())?;
    let status = response.status().as_u16();
    let answer: Value = serde_json::from_slice(
        &response
            .body_mut()
            .read_to_vec()
            .map_err(|error| error.to_string())?,
    )
    .unwrap_or(Value::Null);
    if status == 201 {
        Ok(Some(answer["receipts"][0]["index"].as_u64().unwrap()))
    } else {
        Ok(None)
    }
}

/// Registers `parties` as UA party keys and logs the Black Sea agreement, through the CLI.
fn populate(url: &str, admin: &str, parties: &[&str]) {
    for public in parties {
        let printed = succeeds(&[
            "submit", "--key", admin, "--url", url, "source", public, "--kind", "party", "--party",
            "UA",
        ]);
        assert!(printed.contains("logged at index"), "{printed}");
    }
    let agreement = examples().join("agreement.toml");
    succeeds(&[
        "submit",
        "--key",
        admin,
        "--url",
        url,
        "agreement",
        agreement.to_str().unwrap(),
    ]);
}

/// Checks the log of a data directory with `truce log verify` and the key `truce key show`
/// prints for the data directory's log key.
fn verify_log(data: &Path) -> String {
    let vkey = succeeds(&["key", "show", data.join("log.key").to_str().unwrap()]);
    succeeds(&[
        "log",
        "verify",
        data.join("log").to_str().unwrap(),
        "--vkey",
        vkey.trim(),
    ])
}

/// Every (report id, index) must be served at its index with its id.
fn assert_all_present(url: &str, acknowledged: &[(String, u64)]) {
    for (id, index) in acknowledged {
        let (status, body) = get(&format!("{url}/v1/reports/{index}")).unwrap();
        assert_eq!(status, 200, "{id} at {index}: {body}");
        assert_eq!(body["report_id"], id.as_str(), "index {index}: {body}");
    }
}

fn log_size(url: &str) -> u64 {
    let (status, health) = get(&format!("{url}/readyz")).unwrap();
    assert_eq!(status, 200);
    health["log_size"].as_u64().unwrap()
}

/// Clients that submit reports until told to stop or until the server stops answering.
struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(String, u64)>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(url: &str, signers: Vec<RequestSigner>, prefix: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let counter = Arc::new(AtomicU64::new(0));
        let threads = signers
            .into_iter()
            .map(|signer| {
                let (stop, acknowledged, counter) = (
                    Arc::clone(&stop),
                    Arc::clone(&acknowledged),
                    Arc::clone(&counter),
                );
                let url = url.to_owned();
                let prefix = prefix.to_owned();
                std::thread::spawn(move || {
                    let agent = agent();
                    while !stop.load(Ordering::Acquire) {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let id = format!("{prefix}-{n}");
                        match submit(&agent, &url, &signer, &report(&id, n)) {
                            Ok(Some(index)) => acknowledged.lock().unwrap().push((id, index)),
                            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                            // No answer: the server is gone.
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            acknowledged,
            threads,
        }
    }

    fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.count() < count {
            assert!(
                Instant::now() < deadline,
                "only {} acknowledged",
                self.count()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn snapshot(&self) -> Vec<(String, u64)> {
        self.acknowledged.lock().unwrap().clone()
    }

    fn finish(self) -> Vec<(String, u64)> {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads {
            thread.join().unwrap();
        }
        Arc::try_unwrap(self.acknowledged)
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

#[test]
fn sigkill_mid_load_loses_no_acknowledged_submission() {
    let temp = tempfile::tempdir().unwrap();
    let keys = temp.path().join("keys");
    let data = temp.path().join("data");
    let (admin, admin_pub) = key(&keys, "mission.example/admin");
    let clients: Vec<(String, String)> = (0..4)
        .map(|n| key(&keys, &format!("ua.example/client-{n}")))
        .collect();
    // The per-key rate limit would turn part of the load into 429s: raise it in the
    // config file (and check that the file is read).
    let config = temp.path().join("truce.toml");
    std::fs::write(
        &config,
        "[rate_limit]\nper_second = 100000.0\nburst = 100000\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let server = Server::start(&data, &["--admin-key", &admin_pub, "--config", config]);
    let publics: Vec<&str> = clients.iter().map(|(_, public)| public.as_str()).collect();
    populate(&server.url, &admin, &publics);

    let load = Load::start(
        &server.url,
        clients.iter().map(|(private, _)| signer(private)).collect(),
        "k",
    );
    load.wait_for(300);
    // SIGKILL, with submissions in flight.
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let acknowledged = load.finish();
    drop(server);
    assert!(acknowledged.len() >= 300, "{}", acknowledged.len());

    let server = Server::start(&data, &["--config", config]);
    assert_all_present(&server.url, &acknowledged);
    let highest = acknowledged.iter().map(|(_, index)| *index).max().unwrap();
    assert!(log_size(&server.url) > highest);
    // The restarted server takes submissions again, after the ones it recovered.
    let first = signer(&clients[0].0);
    let index = submit(&agent(), &server.url, &first, &report("after-restart", 0))
        .unwrap()
        .unwrap();
    assert!(index > highest);
    server.terminate();

    let verified = verify_log(&data);
    assert!(verified.starts_with("ok:"), "{verified}");
}

#[test]
fn a_backup_taken_while_serving_restores_to_a_verified_consistent_service() {
    let temp = tempfile::tempdir().unwrap();
    let keys = temp.path().join("keys");
    let data = temp.path().join("data");
    let (admin, admin_pub) = key(&keys, "mission.example/admin");
    let (ua, ua_pub) = key(&keys, "ua.example/liaison");
    let server = Server::start_unlimited(&data, &admin_pub);
    populate(&server.url, &admin, &[&ua_pub]);

    // Reports from a file, through the CLI, with receipts; sent again they conflict.
    let reports = examples().join("reports.csv");
    let receipts = temp.path().join("receipts");
    let printed = succeeds(&[
        "submit",
        "--key",
        &ua,
        "--url",
        &server.url,
        "reports",
        reports.to_str().unwrap(),
        "--agreement",
        "black-sea-2025",
        "--batch",
        "3",
        "--receipts",
        receipts.to_str().unwrap(),
    ]);
    assert_eq!(printed.lines().count(), 7, "{printed}");
    assert!(
        printed
            .lines()
            .next()
            .unwrap()
            .starts_with("report bs-01: logged at index ")
    );
    assert_eq!(std::fs::read_dir(&receipts).unwrap().count(), 7);
    let again = fails(&[
        "submit",
        "--key",
        &ua,
        "--url",
        &server.url,
        "reports",
        reports.to_str().unwrap(),
        "--agreement",
        "black-sea-2025",
        "--batch",
        "3",
    ]);
    assert!(
        again.contains("rejected with HTTP 409 (conflict)"),
        "{again}"
    );
    assert!(again.contains("/0/id (report bs-01)"), "{again}");

    let load = Load::start(&server.url, vec![signer(&ua)], "b");
    load.wait_for(50);
    let before = load.snapshot();
    let backup = temp.path().join("backup");
    let size: u64 = succeeds(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ])
    .trim()
    .parse()
    .unwrap();
    load.wait_for(before.len() + 20);
    let all = load.finish();
    server.terminate();
    assert!(
        before.iter().all(|(_, index)| *index < size),
        "the backup misses an acknowledged entry"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(backup.join("log.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let error = fails(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ]);
    assert!(error.contains("already exists"), "{error}");

    // Restore: refused over data, allowed into a new directory and with --force.
    let error = fails(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(error.contains("is not empty"), "{error}");
    let restored = temp.path().join("restored");
    succeeds(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
    ]);
    succeeds(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
        "--force",
    ]);
    assert!(verify_log(&restored).contains(&format!("size {size} ")));

    let server = Server::start(&restored, &[]);
    assert_eq!(log_size(&server.url), size);
    // Everything acknowledged before the backup began is there, and so is everything
    // acknowledged later that the backed-up checkpoint covers: the store was caught up.
    assert_all_present(&server.url, &before);
    let covered: Vec<(String, u64)> = all.into_iter().filter(|(_, index)| *index < size).collect();
    assert!(covered.len() >= before.len());
    assert_all_present(&server.url, &covered);
    let (status, _) = get(&format!("{}/v1/reports/{size}", server.url)).unwrap();
    assert_eq!(
        status, 404,
        "an entry beyond the backup's checkpoint is served"
    );
    server.terminate();
}

#[test]
fn bad_input_gives_clear_errors() {
    let temp = tempfile::tempdir().unwrap();
    let keys = temp.path().join("keys");
    let (ua, _) = key(&keys, "ua.example/liaison");

    let error = fails(&[
        "key",
        "new",
        "ua.example/liaison",
        "--out",
        keys.to_str().unwrap(),
    ]);
    assert!(error.contains("refusing to overwrite"), "{error}");

    let missing = keys.join("nobody.key");
    let error = fails(&[
        "submit",
        "--key",
        missing.to_str().unwrap(),
        "--url",
        "http://127.0.0.1:9",
        "revoke",
        "x",
    ]);
    assert!(
        error.contains(&format!(
            "the key file {} does not exist",
            missing.display()
        )),
        "{error}"
    );
    let error = fails(&[
        "key",
        "show",
        keys.join("ua.example_liaison.pub").to_str().unwrap(),
    ]);
    assert!(error.contains("is not a private key"), "{error}");

    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let error = fails(&[
        "submit",
        "--key",
        &ua,
        "--url",
        &url,
        "--retries",
        "0",
        "revoke",
        "x",
    ]);
    assert!(
        error.contains(&format!("cannot reach the service at {url}")),
        "{error}"
    );
    let error = fails(&[
        "submit",
        "--key",
        &ua,
        "--url",
        "127.0.0.1:8080",
        "revoke",
        "x",
    ]);
    assert!(
        error.contains("must start with http:// or https://"),
        "{error}"
    );

    // A file with a bad row: listed, and nothing is sent (the URL is never contacted).
    let bad = temp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,source_id,source_kind,time,lon,lat,uncertainty_m,action,target,accused\n\
         r1,s,media,2025-04-07T23:30:00+03:00,30.74,46.49,500,missile_strike,maritime,RU\n\
         r2,s,media,2025-04-07T23:30:00+03:00,30.74,95,500,missile_strike,maritime,RU\n",
    )
    .unwrap();
    let error = fails(&[
        "submit",
        "--key",
        &ua,
        "--url",
        &url,
        "reports",
        bad.to_str().unwrap(),
        "--agreement",
        "black-sea-2025",
    ]);
    assert!(error.contains("bad.csv:3"), "{error}");
    assert!(error.contains("1 row(s) were rejected"), "{error}");
    assert!(!error.contains("cannot reach"), "{error}");

    // A new data directory needs the admin's key; a config file with an unknown key is named.
    let data = temp.path().join("data");
    let error = fails(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(error.contains("admin_vkey"), "{error}");
    let config = temp.path().join("bad.toml");
    std::fs::write(&config, "listen_on = \"127.0.0.1:0\"\n").unwrap();
    let error = fails(&["serve", "--config", config.to_str().unwrap()]);
    assert!(error.contains("listen_on"), "{error}");
    assert!(error.contains("bad.toml"), "{error}");

    let error = fails(&[
        "restore",
        "--from",
        keys.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(
        error.contains("is not a backup made by `truce backup`"),
        "{error}"
    );
}
