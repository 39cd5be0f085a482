//! Cosigning in the service: witnesses (in-process, c2sp.org/tlog-witness
//! over loopback HTTP around `truce_note::Witness`) cosign the log's
//! checkpoints in the background; `/v1/log/checkpoint/cosigned` and
//! `/v1/log/witnesses` publish the result; a witness that is down never
//! holds up submissions.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post as post_route;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Keys, config, get, open, populate, post, report};
use serde_json::Value;
use truce_merkle::Hash;
use truce_note::{
    AddCheckpointRequest, Checkpoint, Cosigner, KeyName, Note, NoteSigner, Verifier, Witness,
    WitnessRefusal,
};
use truce_server::{ServerConfig, WitnessConfig};

const ORIGIN: &str = "truce.local/log";

/// A witness served on a loopback port; the server stops when dropped.
struct RunningWitness {
    url: String,
    key: Verifier,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RunningWitness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn add_checkpoint(State(witness): State<Arc<Mutex<Witness>>>, body: Bytes) -> Response {
    let request = match AddCheckpointRequest::parse(&body) {
        Ok(request) => request,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut witness = witness.lock().unwrap();
    match witness.add_request(&request, now) {
        Ok(cosigned) => (StatusCode::OK, cosigned.cosignature.to_line()).into_response(),
        Err(
            refusal @ (WitnessRefusal::OldSizeMismatch { .. }
            | WitnessRefusal::SizeWentBackwards { .. }),
        ) => (
            StatusCode::from_u16(refusal.http_status()).unwrap(),
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{}\n", witness.state().map_or(0, |state| state.tree.size)),
        )
            .into_response(),
        Err(refusal) => (
            StatusCode::from_u16(refusal.http_status()).unwrap(),
            refusal.to_string(),
        )
            .into_response(),
    }
}

async fn start_witness(name: &str, seed: u8, log: &Verifier) -> RunningWitness {
    let cosigner = Cosigner::from_seed(KeyName::new(name).unwrap(), &[seed; 32]);
    let key = cosigner.verifier();
    let witness = Arc::new(Mutex::new(Witness::new(ORIGIN, log.clone(), cosigner)));
    let app = Router::new()
        .route("/add-checkpoint", post_route(add_checkpoint))
        .with_state(witness);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    RunningWitness {
        url: format!("http://{address}"),
        key,
        server,
    }
}

/// A data directory whose log key is known before the service opens it, so
/// the witnesses can be told the log's key first.
fn data_dir_with_log_key(dir: &std::path::Path, seed: u8) -> Verifier {
    let signer = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[seed; 32]);
    std::fs::write(dir.join(truce_server::LOG_KEY_FILE), signer.to_skey()).unwrap();
    signer.verifier()
}

fn service_config(
    dir: &std::path::Path,
    keys: &Keys,
    witnesses: &[(&str, &Verifier)],
) -> ServerConfig {
    ServerConfig {
        witnesses: witnesses
            .iter()
            .map(|(url, key)| WitnessConfig {
                url: (*url).to_owned(),
                vkey: key.to_vkey(),
            })
            .collect(),
        cosign_interval_ms: 100,
        ..config(dir, &keys.admin)
    }
}

fn hash(text: &str) -> Hash {
    Hash::from_slice(&STANDARD.decode(text).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_witnesses_cosign_the_grown_log_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let log_key = data_dir_with_log_key(dir.path(), 9);
    let ua = start_witness("witness.ua.example", 31, &log_key).await;
    let ru = start_witness("witness.ru.example", 32, &log_key).await;
    let config = service_config(dir.path(), &keys, &[(&ua.url, &ua.key), (&ru.url, &ru.key)]);
    let (service, router) = open(config).await;
    assert_eq!(service.state().log_verifier(), log_key);

    populate(&router, &keys).await;
    let mut indices = Vec::new();
    for (at, id) in ["c1", "c2", "c3"].into_iter().enumerate() {
        let answer = post(
            &router,
            "/v1/reports",
            &report(
                id,
                30.70 + 0.01 * f64::from(u8::try_from(at).unwrap()),
                46.49,
            ),
            &keys.ua,
        )
        .await
        .expect(201);
        let receipt = &answer.json()["receipts"][0];
        indices.push((
            receipt["index"].as_u64().unwrap(),
            receipt["leaf_hash"].as_str().unwrap().to_owned(),
        ));
    }
    let size = service.state().log_size();

    // Wait for a cosigned checkpoint that covers every report.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (note, checkpoint) = loop {
        let answer = get(&router, "/v1/log/checkpoint/cosigned", None).await;
        if answer.status == StatusCode::OK {
            assert!(
                answer.headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/plain")
            );
            let note = Note::parse(&answer.body).unwrap();
            let checkpoint = Checkpoint::from_text(note.text()).unwrap();
            if checkpoint.size() >= size {
                break (note, checkpoint);
            }
        } else {
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text());
            assert_eq!(answer.problem(), "not-found");
        }
        assert!(
            Instant::now() < deadline,
            "the log was not cosigned in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(checkpoint.origin(), ORIGIN);
    // The log's signature and each witness's cosignature verify with the keys.
    let verified = note
        .verify(&[log_key.clone(), ua.key.clone(), ru.key.clone()])
        .unwrap();
    for key in [&log_key, &ua.key, &ru.key] {
        assert!(
            verified.is_verified_by(key),
            "no signature by {}",
            key.name()
        );
    }
    assert!(
        verified
            .find(&ua.key)
            .and_then(truce_note::VerifiedSignature::timestamp)
            .is_some()
    );
    // A cosignature altered by one bit does not verify.
    let text = String::from_utf8(note.to_bytes()).unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("\u{2014} witness.ru.example "))
        .unwrap();
    let mut sig = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 1;
    let tampered = text.replace(
        line,
        &format!("\u{2014} witness.ru.example {}", STANDARD.encode(&sig)),
    );
    assert!(
        Note::parse(tampered.as_bytes())
            .unwrap()
            .verify(&[log_key.clone(), ru.key.clone()])
            .is_err()
    );
    // Each report is proven in the cosigned tree.
    for (index, leaf) in &indices {
        let proof = get(
            &router,
            &format!(
                "/v1/log/proof/inclusion?index={index}&size={}",
                checkpoint.size()
            ),
            None,
        )
        .await
        .expect(200)
        .json();
        let hashes: Vec<Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hash_text| hash(hash_text.as_str().unwrap()))
            .collect();
        truce_merkle::verify_inclusion(
            &Hash::from_hex(leaf).unwrap(),
            *index,
            checkpoint.size(),
            &hashes,
            &checkpoint.root(),
        )
        .unwrap();
    }
    // The witnesses are listed with their keys and the size they cosigned.
    let listed = get(&router, "/v1/log/witnesses", None)
        .await
        .expect(200)
        .json();
    let witnesses = listed["witnesses"].as_array().unwrap();
    assert_eq!(witnesses.len(), 2);
    for (entry, witness) in witnesses.iter().zip([&ua, &ru]) {
        assert_eq!(entry["name"], Value::from(witness.key.name().as_str()));
        assert_eq!(entry["vkey"], Value::from(witness.key.to_vkey()));
        assert_eq!(
            entry["key_id"],
            Value::from(format!("{:08x}", witness.key.key_id().get()))
        );
        assert!(entry["cosigned_size"].as_u64().unwrap() >= checkpoint.size());
    }
    // The file the CLI publishes is the one served.
    let published =
        std::fs::read(dir.path().join("log").join(truce_cosign::COSIGNED_FILE)).unwrap();
    let served = get(&router, "/v1/log/checkpoint/cosigned", None)
        .await
        .expect(200);
    assert_eq!(
        Note::parse(&published).unwrap(),
        Note::parse(&served.body).unwrap()
    );
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_that_is_down_does_not_stop_submissions() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let log_key = data_dir_with_log_key(dir.path(), 10);
    let up = start_witness("witness.ua.example", 41, &log_key).await;
    // A port nobody listens on.
    let down: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let down_key =
        Cosigner::from_seed(KeyName::new("witness.ru.example").unwrap(), &[42; 32]).verifier();
    let down_url = format!("http://{down}");
    let config = service_config(
        dir.path(),
        &keys,
        &[(&up.url, &up.key), (&down_url, &down_key)],
    );
    let (service, router) = open(config).await;
    populate(&router, &keys).await;
    let started = Instant::now();
    for id in ["d1", "d2", "d3", "d4"] {
        post(&router, "/v1/reports", &report(id, 30.74, 46.49), &keys.ua)
            .await
            .expect(201);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "submissions waited for the witnesses: {:?}",
        started.elapsed()
    );
    // Rounds have run (and failed): nothing is published, the witness that
    // answered is listed with its size, the one that is down without one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = get(&router, "/v1/log/checkpoint/cosigned", None)
        .await
        .expect(404);
    assert_eq!(answer.problem(), "not-found");
    let listed = get(&router, "/v1/log/witnesses", None)
        .await
        .expect(200)
        .json();
    assert_eq!(listed["witnesses"][0]["name"], "witness.ua.example");
    assert!(listed["witnesses"][0]["cosigned_size"].as_u64().unwrap() > 0);
    assert_eq!(listed["witnesses"][1]["name"], "witness.ru.example");
    assert_eq!(listed["witnesses"][1]["cosigned_size"], Value::Null);
    // Shutdown does not wait for the witnesses.
    let stopping = Instant::now();
    service.shutdown().await.unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(10));
}
