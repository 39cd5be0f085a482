//! The server on a real port: the OpenAPI document against the running
//! routes, and a graceful shutdown that answers every accepted submission.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Keys, config, http, now_ms, report};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use truce_auth::RequestSigner;
use truce_server::{NoAppliedEntries, Service};
use truce_store::Store;

/// Every route the router serves, as (method, template).
const ROUTES: [(&str, &str); 33] = [
    ("post", "/v1/sources"),
    ("get", "/v1/sources"),
    ("post", "/v1/sources/{name}/revoke"),
    ("post", "/v1/agreements"),
    ("get", "/v1/agreements"),
    ("get", "/v1/agreements/{id}"),
    ("get", "/v1/agreements/{id}/incidents"),
    ("get", "/v1/agreements/{id}/incidents/{incident_id}"),
    ("get", "/v1/agreements/{id}/statistics"),
    ("post", "/v1/reports"),
    ("get", "/v1/reports"),
    ("post", "/v1/reports/batch"),
    ("get", "/v1/reports/{index}"),
    ("post", "/v1/reviews"),
    ("post", "/v1/contests"),
    ("post", "/v1/coverage"),
    ("post", "/v1/retractions"),
    ("get", "/v1/annotations"),
    ("get", "/v1/log/checkpoint"),
    ("get", "/v1/log/checkpoint/cosigned"),
    ("get", "/v1/log/witnesses"),
    ("get", "/v1/log/tile/{path}"),
    ("get", "/v1/log/entries"),
    ("get", "/v1/log/proof/inclusion"),
    ("get", "/v1/log/proof/consistency"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/v1/openapi.json"),
    ("get", "/v1/geography"),
    ("get", "/v1/agreements/{id}/zones"),
    ("get", "/v1/agreements/{id}/parties"),
    ("get", "/v1/log/vkey"),
    ("get", "/v1/events"),
];

async fn start(service: Service) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        truce_server::serve(service, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (address, stop, server)
}

/// A service with the default settings on `dir`, ready and serving on a free port.
async fn start_ready(
    dir: &std::path::Path,
    keys: &Keys,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let service = Service::open(config(dir, &keys.admin), Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    start(service).await
}

async fn signed(
    address: SocketAddr,
    signer: &RequestSigner,
    method: &str,
    path: &str,
    body: &Value,
) -> std::io::Result<(u16, Value)> {
    let body = serde_json::to_vec(body).unwrap();
    let authorization = signer
        .authorization(method, path, &body, now_ms(), common::fresh_nonce())
        .unwrap();
    let headers = [
        ("Authorization".to_owned(), authorization),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let (status, _, body) = http(address, method, path, &headers, &body).await?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// Registers UA's liaison and the Black Sea agreement over HTTP, as the admin.
async fn register_ua_and_the_agreement(address: SocketAddr, keys: &Keys) {
    let (status, _) = signed(
        address,
        &keys.admin,
        "POST",
        "/v1/sources",
        &json!({"vkey": keys.ua.verifier().to_vkey(), "kind": "party", "party": "UA"}),
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let agreement = json!({"toml": common::BLACK_SEA_TOML, "files": {"zones/black-sea.geojson": common::BLACK_SEA_ZONE}});
    let (status, _) = signed(address, &keys.admin, "POST", "/v1/agreements", &agreement)
        .await
        .unwrap();
    assert_eq!(status, 201);
}

/// A concrete request for a documented path: parameters filled in.
fn concrete(template: &str) -> String {
    let path = template
        .replace("{name}", "nobody")
        .replace("{id}", "no-such-agreement")
        .replace("{index}", "0")
        .replace("{incident_id}", "inc-r1")
        .replace("{path}", "entries/000.p/1");
    let query = match template {
        "/v1/log/entries" => "?start=0&end=1",
        "/v1/log/proof/inclusion" => "?index=0",
        "/v1/log/proof/consistency" => "?from=1",
        "/v1/annotations" => "?subject=r1",
        _ => "",
    };
    format!("{path}{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (address, stop, server) = start_ready(dir.path(), &keys).await;

    let (status, _, body) = http(address, "GET", "/v1/openapi.json", &[], b"")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented: BTreeMap<(String, String), BTreeSet<u16>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let codes = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|code| code.parse().unwrap())
                .collect();
            documented.insert((method.clone(), path.clone()), codes);
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = documented.keys().cloned().collect();
    assert_eq!(
        listed, served,
        "documented routes differ from the served ones"
    );

    // Every documented operation answers with one of its documented statuses.
    for ((method, template), codes) in &documented {
        if template == "/v1/events" {
            // A stream that stays open: `events_announce_each_applied_size` reads it.
            continue;
        }
        let path = concrete(template);
        let (status, head, body) = http(address, &method.to_ascii_uppercase(), &path, &[], b"")
            .await
            .unwrap();
        assert!(
            codes.contains(&status),
            "{method} {path} answered {status}, documented {codes:?}: {head}\n{}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 {
            assert!(
                head.to_ascii_lowercase()
                    .contains("content-type: application/problem+json"),
                "{method} {path}: {head}"
            );
        }
    }
    // A route that is not served is a 404 problem.
    let (status, _, _) = http(address, "GET", "/v2/reports", &[], b"").await.unwrap();
    assert_eq!(status, 404);

    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_every_accepted_submission() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let mut slow = config(dir.path(), &keys.admin);
    // The writer waits for more submissions, so some are still queued at shutdown.
    slow.writer.max_batch_latency_ms = 300;
    let service = Service::open(slow, Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    let (address, stop, server) = start(service).await;
    register_ua_and_the_agreement(address, &keys).await;

    let ua = Arc::new(common::signer("ua.example/liaison", 3));
    let mut submissions = Vec::new();
    for n in 0..40 {
        let ua = Arc::clone(&ua);
        submissions.push(tokio::spawn(async move {
            let id = format!("s{n}");
            let answer = signed(
                address,
                &ua,
                "POST",
                "/v1/reports",
                &report(&id, 30.74, 46.49),
            )
            .await;
            (id, answer)
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        submissions
            .iter()
            .any(|submission| !submission.is_finished()),
        "every submission was answered before the shutdown began"
    );
    stop.send(()).unwrap();
    let mut acknowledged = Vec::new();
    for submission in submissions {
        let (id, answer) = submission.await.unwrap();
        match answer {
            // Accepted before the listener closed: answered, and logged.
            Ok((status, body)) => {
                assert_eq!(status, 201, "{id}: {body}");
                acknowledged.push((id, body["receipts"][0]["index"].as_u64().unwrap()));
            }
            // Never accepted: the connection was refused or reset.
            Err(error) => eprintln!("{id} not accepted: {error}"),
        }
    }
    server.await.unwrap();
    assert!(!acknowledged.is_empty(), "no submission was in flight");

    let service = Service::open(config(dir.path(), &keys.admin), Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(service.wait_ready(Duration::from_secs(20)).await);
    let store = service.state().store().clone();
    for (id, index) in &acknowledged {
        let record = store.report(*index).await.unwrap().unwrap();
        assert_eq!(&record.report_id, id);
    }
    service.shutdown().await.unwrap();
}

/// An open `GET /v1/events` stream, read an event at a time.
struct EventStream {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

impl EventStream {
    async fn open(address: SocketAddr) -> (u16, String, Self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!(
            "GET /v1/events HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buffer = Vec::new();
        let split = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the stream closed before its headers");
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..split]).into_owned();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let buffer = buffer[split + 4..].to_vec();
        (status, head, Self { stream, buffer })
    }

    /// The next `applied` event's size, or `None` when the stream ends.
    /// (The body is chunked: chunk-size lines never start with `data:`.)
    async fn next_size(&mut self) -> Option<u64> {
        use tokio::io::AsyncReadExt;
        loop {
            let text = String::from_utf8_lossy(&self.buffer).into_owned();
            if let Some(end) = text.find("\n\n") {
                let event = text[..end].to_owned();
                self.buffer.drain(..end + 2);
                let is_applied = event.lines().any(|line| line == "event: applied");
                let data = event.lines().find_map(|line| line.strip_prefix("data: "));
                if let (true, Some(data)) = (is_applied, data) {
                    let value: Value = serde_json::from_str(data).unwrap();
                    return value["size"].as_u64();
                }
                continue;
            }
            let mut chunk = [0u8; 1024];
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_announce_each_applied_size_and_end_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (address, stop, server) = start_ready(dir.path(), &keys).await;

    let (status, head, mut events) = EventStream::open(address).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    // At once: the size applied so far (the admin's registration).
    let first = tokio::time::timeout(Duration::from_secs(10), events.next_size())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, 1);

    // A registration and an agreement: the next event names their size.
    register_ua_and_the_agreement(address, &keys).await;
    let (status, _, body) = http(address, "GET", "/readyz", &[], b"").await.unwrap();
    assert_eq!(status, 200);
    let log_size = serde_json::from_slice::<Value>(&body).unwrap()["log_size"]
        .as_u64()
        .unwrap();
    assert!(log_size >= 3, "{log_size}");
    let mut seen = first;
    while seen < log_size {
        let size = tokio::time::timeout(Duration::from_secs(10), events.next_size())
            .await
            .unwrap()
            .unwrap();
        assert!(size > seen, "sizes only grow: {seen} then {size}");
        seen = size;
    }
    assert_eq!(seen, log_size);

    // Shutdown with the stream still open: the stream ends and the server stops.
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), events.next_size())
        .await
        .unwrap();
    assert_eq!(ended, None);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}
