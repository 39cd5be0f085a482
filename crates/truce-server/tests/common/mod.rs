//! Helpers shared by the integration tests: keys, a service over a temporary
//! directory, signed requests through the router, and a tiny HTTP client for
//! the tests that bind a real port.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use truce_auth::RequestSigner;
use truce_note::{KeyName, NoteSigner};
use truce_server::{NoAppliedEntries, ServerConfig, Service};

pub const BLACK_SEA_TOML: &str = include_str!("../../../../examples/black-sea-2025/agreement.toml");
pub const BLACK_SEA_ZONE: &str =
    include_str!("../../../../examples/black-sea-2025/zones/black-sea.geojson");
pub const AGREEMENT: &str = "black-sea-2025";

/// A request signer for `name`, from a fixed seed.
pub fn signer(name: &str, seed: u8) -> RequestSigner {
    RequestSigner::new(NoteSigner::from_seed(
        KeyName::new(name).unwrap(),
        &[seed; 32],
    ))
    .unwrap()
}

/// The keys of a test mission.
pub struct Keys {
    pub admin: RequestSigner,
    pub monitor: RequestSigner,
    pub ua: RequestSigner,
    pub ru: RequestSigner,
    pub analyst: RequestSigner,
}

impl Keys {
    pub fn new() -> Self {
        Self {
            admin: signer("mission.example/admin", 1),
            monitor: signer("mission.example/monitor-1", 2),
            ua: signer("ua.example/liaison", 3),
            ru: signer("ru.example/liaison", 4),
            analyst: signer("press.example/analyst", 5),
        }
    }
}

pub fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A nonce never used before in this process.
pub fn fresh_nonce() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&count.to_be_bytes());
    nonce[8..].copy_from_slice(&now_ms().to_be_bytes());
    nonce
}

pub fn config(dir: &Path, admin: &RequestSigner) -> ServerConfig {
    ServerConfig {
        data_dir: dir.to_owned(),
        admin_vkey: Some(admin.verifier().to_vkey()),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    }
}

/// Source `n` of three that submit reports (the monitor, the Ukrainian and the Russian
/// party): its key, its kind and its party.
pub fn submitter(keys: &Keys, n: usize) -> (&RequestSigner, &'static str, Option<&'static str>) {
    match n % 3 {
        0 => (&keys.monitor, "monitor", None),
        1 => (&keys.ua, "party", Some("UA")),
        _ => (&keys.ru, "party", Some("RU")),
    }
}

/// A new data directory holding only a copy of the log's key from `dir`: another
/// instance on the same database record.
pub fn with_the_key_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.join(truce_server::LOG_KEY_FILE),
        copy.path().join(truce_server::LOG_KEY_FILE),
    )
    .unwrap();
    copy
}

/// Opens a service and waits until it is ready.
pub async fn open(config: ServerConfig) -> (Service, Router) {
    let service = Service::open(config, Arc::new(NoAppliedEntries))
        .await
        .unwrap();
    assert!(
        service.wait_ready(Duration::from_secs(20)).await,
        "service did not become ready"
    );
    let router = truce_server::app(service.state());
    (service, router)
}

/// An answer, with its body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The problem's type slug.
    pub fn problem(&self) -> String {
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            truce_server::PROBLEM_JSON,
            "{}",
            self.text()
        );
        let json = self.json();
        json["type"]
            .as_str()
            .unwrap()
            .trim_start_matches(truce_server::PROBLEM_TYPE_PREFIX)
            .to_owned()
    }

    /// The pointers (or parameters) of the problem's errors.
    pub fn problem_places(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| {
                error["pointer"]
                    .as_str()
                    .or_else(|| error["parameter"].as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        self
    }
}

/// A request as sent: method, path, body, content type, the signature's
/// timestamp and nonce.
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: Vec<u8>,
    pub content_type: Option<&'a str>,
    pub signer: Option<&'a RequestSigner>,
    pub timestamp_ms: i64,
    pub nonce: [u8; 16],
}

impl<'a> Call<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            body: Vec::new(),
            content_type: None,
            signer: None,
            timestamp_ms: now_ms(),
            nonce: fresh_nonce(),
        }
    }

    pub fn json(mut self, value: &Value) -> Self {
        self.body = serde_json::to_vec(value).unwrap();
        self.content_type = Some("application/json");
        self
    }

    pub fn by(mut self, signer: &'a RequestSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    pub fn request(&self) -> Request<Body> {
        let mut builder = Request::builder().method(self.method).uri(self.path);
        if let Some(content_type) = self.content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(signer) = self.signer {
            let authorization = signer
                .authorization(
                    self.method,
                    self.path,
                    &self.body,
                    self.timestamp_ms,
                    self.nonce,
                )
                .unwrap();
            builder = builder.header(header::AUTHORIZATION, authorization);
        }
        builder.body(Body::from(self.body.clone())).unwrap()
    }

    pub async fn send(&self, router: &Router) -> Answer {
        send(router, self.request()).await
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get(router: &Router, path: &str, signer: Option<&RequestSigner>) -> Answer {
    let mut call = Call::new("GET", path);
    call.signer = signer;
    call.send(router).await
}

pub async fn post(router: &Router, path: &str, value: &Value, signer: &RequestSigner) -> Answer {
    Call::new("POST", path)
        .json(value)
        .by(signer)
        .send(router)
        .await
}

/// Registers the non-admin keys and the Black Sea agreement.
pub async fn populate(router: &Router, keys: &Keys) {
    for (signer, kind, party) in [
        (&keys.monitor, "monitor", None),
        (&keys.ua, "party", Some("UA")),
        (&keys.ru, "party", Some("RU")),
        (&keys.analyst, "media", None),
    ] {
        post(
            router,
            "/v1/sources",
            &json!({"vkey": signer.verifier().to_vkey(), "kind": kind, "party": party}),
            &keys.admin,
        )
        .await
        .expect(201);
    }
    post(
        router,
        "/v1/agreements",
        &json!({"toml": BLACK_SEA_TOML, "files": {"zones/black-sea.geojson": BLACK_SEA_ZONE}}),
        &keys.admin,
    )
    .await
    .expect(201);
}

/// A report in the JSON Lines shape, under the Black Sea agreement.
pub fn report(id: &str, lon: f64, lat: f64) -> Value {
    json!({
        "agreement": AGREEMENT,
        "id": id,
        "time": "2025-04-07T23:30:00+03:00",
        "lon": lon,
        "lat": lat,
        "uncertainty_m": 500,
        "action": "missile_strike",
        "target": "maritime",
        "accused": "RU",
        "text": format!("report {id}: strike on the port"),
    })
}

/// Where generated events happen: three spots in Odesa's port (in the Black Sea zone)
/// close enough to corroborate, and one inland.
pub const SPOTS: [(f64, f64); 4] = [
    (30.74, 46.49),
    (30.742, 46.491),
    (30.76, 46.50),
    (36.23, 49.99),
];
/// Actions generated reports name.
pub const ACTIONS: [&str; 3] = ["missile_strike", "drone_strike", "naval_attack"];
/// Target categories generated reports name.
pub const TARGETS: [&str; 3] = ["maritime", "energy", "military"];

/// [`report`] on `day` of April 2025 (at a minute its id's length picks), accusing
/// `accused`.
pub fn report_at(id: &str, lon: f64, lat: f64, day: u32, accused: Option<&str>) -> Value {
    let mut value = report(id, lon, lat);
    value["time"] = json!(format!("2025-04-{day:02}T06:{:02}:00Z", id.len() * 3));
    value["accused"] = json!(accused);
    value
}

/// Sends one raw HTTP/1.1 request to `address` and reads the whole answer.
pub async fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, head, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.trim(), 16).unwrap_or(0);
        data = &data[line_end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}
