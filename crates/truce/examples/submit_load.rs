//! A bounded load generator for `truce serve`: concurrent clients, each with
//! its own registered party key, sign and post single reports
//! (`POST /v1/reports`) and time each one to its receipt.
//!
//! ```text
//! truce key new bench.example/admin --out keys
//! truce serve --data DIR --listen 127.0.0.1:0 --admin-key keys/bench.example_admin.pub \
//!     --rate-per-second 1000000 --rate-burst 1000000
//! cargo run --release -p truce --example submit_load -- \
//!     --url URL --admin-key keys/bench.example_admin.key --clients 16 --count 20000 --seconds 30
//! ```
//!
//! With several instances on one database, give `--url` once per instance.
//!
//! The reports are spread over the agreement's window (one every 13
//! minutes) and over the sea, as real ones are: the live findings regroup
//! the cluster a new report joins, so reports all at one place and time make
//! one ever-growing cluster and measure that instead (see `--clustered`).
//!
//! Every request is signed inside the timed loop (the signing cost is
//! reported too); the server runs with its defaults otherwise, so every
//! receipt is durable (fsync) before it is sent. Prints the submissions
//! acknowledged per second over the whole run and the p50, p99 and largest
//! latency from sending a request to reading its receipt.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use truce_auth::RequestSigner;
use truce_note::{KeyName, NoteSigner};

/// Bounded load on a running `truce serve`.
#[derive(Debug, Parser)]
struct LoadArgs {
    /// The service's URL, as `truce serve` prints it. Given several times (instances on one
    /// database), the keys and the agreement go to the first and client `i` sends to URL
    /// `i mod n`.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// The admin's private key (registers the clients' keys and the agreement).
    #[arg(long, value_name = "FILE.key")]
    admin_key: PathBuf,
    /// The agreement the reports are submitted under (logged first if it is not yet).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/black-sea-2025/agreement.toml"))]
    agreement: PathBuf,
    /// Concurrent clients, each with its own key and connection.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Submissions in all (the run stops at this count or at --seconds).
    #[arg(long, default_value_t = 20_000)]
    count: u64,
    /// Longest run, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Send reports without `text`: no body goes to the blob store (the writer stores and
    /// syncs a group's bodies together before logging it), to see what the blob writes cost.
    #[arg(long)]
    without_text: bool,
    /// Put every report at one place and hour (one growing cluster for the live findings).
    #[arg(long)]
    clustered: bool,
}

/// 2025-03-26T00:00:00Z, the day after the agreement's window opens.
const FIRST_REPORT_MS: i64 = 1_742_947_200_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("getrandom: {error}"))?;
    Ok(bytes)
}

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Signs and posts `body`; the status and the answer.
fn post(
    agent: &ureq::Agent,
    url: &str,
    path: &str,
    signer: &RequestSigner,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let bytes = serde_json::to_vec(body)?;
    let authorization = signer.authorization("POST", path, &bytes, now_ms(), random()?)?;
    let mut response = agent
        .post(format!("{url}{path}"))
        .header("Authorization", &authorization)
        .header("Content-Type", "application/json")
        .send(&bytes[..])
        .with_context(|| format!("POST {url}{path}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_vec()?;
    Ok((status, serde_json::from_slice(&text).unwrap_or(Value::Null)))
}

#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    signing_ns: u64,
    signed: u64,
    failures: BTreeMap<String, u64>,
}

fn percentile(sorted: &[u64], fraction: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> anyhow::Result<()> {
    let args = LoadArgs::parse();
    let urls: Vec<String> = args
        .url
        .iter()
        .map(|url| url.trim_end_matches('/').to_owned())
        .collect();
    let url = urls[0].clone();
    let admin_text = std::fs::read_to_string(&args.admin_key)
        .with_context(|| format!("reading {}", args.admin_key.display()))?;
    let admin = RequestSigner::new(NoteSigner::from_skey(admin_text.trim())?)?;
    let agent = new_agent();

    // The agreement, with the zone files it names (as `truce submit agreement` sends).
    let toml_text = std::fs::read_to_string(&args.agreement)
        .with_context(|| format!("reading {}", args.agreement.display()))?;
    let base = args
        .agreement
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let zone = std::fs::read_to_string(base.join("zones/black-sea.geojson"))
        .context("reading the Black Sea zone beside the agreement")?;
    let (status, answer) = post(
        &agent,
        &url,
        "/v1/agreements",
        &admin,
        &json!({"toml": toml_text, "files": {"zones/black-sea.geojson": zone}}),
    )?;
    if !matches!(status, 201 | 409) {
        bail!("logging the agreement: HTTP {status}: {answer}");
    }

    let run = random::<4>()?
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    let mut signers = Vec::with_capacity(args.clients);
    for client in 0..args.clients {
        let name = KeyName::new(&format!("load.example/{run}-{client}"))?;
        let signer = RequestSigner::new(NoteSigner::from_seed(name, &random::<32>()?))?;
        let (status, answer) = post(
            &agent,
            &url,
            "/v1/sources",
            &admin,
            &json!({"vkey": signer.verifier().to_vkey(), "kind": "party", "party": "UA"}),
        )?;
        if status != 201 {
            bail!("registering client {client}: HTTP {status}: {answer}");
        }
        signers.push(signer);
    }

    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut threads = Vec::new();
    for (client, signer) in signers.into_iter().enumerate() {
        let next = Arc::clone(&next);
        let tally = Arc::clone(&tally);
        let url = urls[client % urls.len()].clone();
        let run = run.clone();
        let count = args.count;
        let without_text = args.without_text;
        let clustered = args.clustered;
        threads.push(std::thread::spawn(move || {
            let agent = new_agent();
            let mut mine = Tally::default();
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number >= count || Instant::now() >= deadline {
                    break;
                }
                // Spread over the agreement's window and the sea, as real reports are:
                // one every 13 minutes, scattered over 11° × 4°.
                let step = if clustered { 0 } else { 13 * 60_000 };
                let time = jiff::Timestamp::from_millisecond(
                    FIRST_REPORT_MS + i64::try_from(number).unwrap_or(0) * step,
                )
                .map(|time| time.to_string())
                .unwrap_or_default();
                let (lon, lat) = if clustered {
                    (30.74, 46.49)
                } else {
                    (
                        29.0 + (number * 7919 % 1100) as f64 / 100.0,
                        42.0 + (number * 104_729 % 400) as f64 / 100.0,
                    )
                };
                let mut report = json!({
                    "agreement": "black-sea-2025",
                    "id": format!("load-{run}-{number}"),
                    "time": time,
                    "lon": lon,
                    "lat": lat,
                    "uncertainty_m": 500,
                    "action": "missile_strike",
                    "target": "maritime",
                    "accused": "RU",
                    "text": format!("load report {number}"),
                });
                if without_text && let Some(object) = report.as_object_mut() {
                    object.remove("text");
                }
                let body = serde_json::to_vec(&report).unwrap_or_default();
                let signing = Instant::now();
                let nonce = random::<16>().unwrap_or([0; 16]);
                let authorization =
                    signer.authorization("POST", "/v1/reports", &body, now_ms(), nonce);
                mine.signing_ns += u64::try_from(signing.elapsed().as_nanos()).unwrap_or(u64::MAX);
                mine.signed += 1;
                let Ok(authorization) = authorization else {
                    *mine.failures.entry("signing".into()).or_default() += 1;
                    continue;
                };
                let sent = Instant::now();
                let answer = agent
                    .post(format!("{url}/v1/reports"))
                    .header("Authorization", &authorization)
                    .header("Content-Type", "application/json")
                    .send(&body[..])
                    .and_then(|mut response| {
                        let status = response.status().as_u16();
                        response.body_mut().read_to_vec().map(|_| status)
                    });
                let latency = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                match answer {
                    Ok(201) => mine.latencies_us.push(latency),
                    Ok(status) => *mine.failures.entry(format!("HTTP {status}")).or_default() += 1,
                    Err(error) => *mine.failures.entry(format!("{error}")).or_default() += 1,
                }
            }
            if let Ok(mut total) = tally.lock() {
                total.latencies_us.extend(mine.latencies_us);
                total.signing_ns += mine.signing_ns;
                total.signed += mine.signed;
                for (kind, count) in mine.failures {
                    *total.failures.entry(kind).or_default() += count;
                }
            }
        }));
    }
    for thread in threads {
        if thread.join().is_err() {
            bail!("a client thread panicked");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = tally
        .lock()
        .map_err(|_| anyhow::anyhow!("tally lock poisoned"))?;
    total.latencies_us.sort_unstable();
    let acknowledged = total.latencies_us.len();
    println!("clients:               {}", args.clients);
    println!("acknowledged:          {acknowledged} in {elapsed:.2} s");
    println!(
        "sustained:             {:.0} submissions/s",
        acknowledged as f64 / elapsed
    );
    println!(
        "latency to receipt:    p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&total.latencies_us, 0.50) as f64 / 1000.0,
        percentile(&total.latencies_us, 0.99) as f64 / 1000.0,
        total.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!(
        "signing (client side): {:.1} µs per request",
        total.signing_ns as f64 / total.signed.max(1) as f64 / 1000.0
    );
    for (kind, count) in &total.failures {
        println!("not acknowledged:      {count} × {kind}");
    }
    Ok(())
}
