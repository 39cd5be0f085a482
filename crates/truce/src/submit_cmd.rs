//! `truce submit`: sign requests with a key made by `truce key new` and send
//! them to a running `truce serve`.
//!
//! * `reports FILE…`: reads reports in any format `truce assess` reads
//!   (`truce_model::ingest`), sends them in all-or-nothing batches of
//!   `--batch`, and prints a receipt line per report (its log index and the
//!   checkpoint that includes it).
//! * `source`, `revoke`, `agreement`: the admin's registrations.
//! * `annotation KIND FILE.json`: reviews, contests, coverage records and
//!   retractions, as JSON bodies.
//!
//! A rejection is printed from its problem document (type, detail, and each
//! problem with its JSON pointer, mapped back to the report id) and makes the
//! exit code 1. A request that got no answer (connection reset) is sent again
//! unchanged, so the server answers with the receipts of the first copy if it
//! had logged it; 429 and 503 are retried after `Retry-After` with a fresh
//! signature.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};
use truce_auth::RequestSigner;
use truce_model::agreement::FileSource;
use truce_model::ingest::{
    IngestOptions, InputFormat, detect_format, parse_reports, write_reports,
};

use crate::key_cmd::{read_request_signer, read_verifier};

/// The largest answer read from the service.
const MAX_ANSWER_BYTES: u64 = 64 << 20;
/// The longest wait a `Retry-After` is honoured for.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// Sign and send reports, sources, agreements and annotations to a running service.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The private key to sign with (`NAME.key` from `truce key new`).
    #[arg(long, env = "TRUCE_KEY", value_name = "FILE.key")]
    key: PathBuf,
    /// The service's base URL, as `truce serve` prints it (e.g. `http://127.0.0.1:8080`).
    #[arg(long, env = "TRUCE_URL", value_name = "URL")]
    url: String,
    /// Times a request is sent again after no answer, 429 or 503.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    #[command(subcommand)]
    what: SubmitCommand,
}

#[derive(Debug, Subcommand)]
enum SubmitCommand {
    /// Reports from CSV, JSON Lines, ACLED, UCDP, GeoJSON or peer CSV files.
    Reports(ReportsArgs),
    /// Register a source's public key (admin only).
    Source(SourceArgs),
    /// Revoke a registered key (admin only).
    Revoke(RevokeArgs),
    /// Log an agreement version with the files it references (admin only).
    Agreement(AgreementArgs),
    /// A review, contest, coverage record or retraction (a JSON file).
    Annotation(AnnotationArgs),
}

#[derive(Debug, Args)]
struct ReportsArgs {
    /// Report files; the format is told from the name and header unless --input-format.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The id of the agreement the reports are submitted under.
    #[arg(long)]
    agreement: String,
    /// The input format of every file.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<InputFormat>,
    /// Reports per request (all or nothing each); 1 sends each alone to /v1/reports.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Send the reports that were read even if some rows were rejected (the rejected rows
    /// are still printed and the exit code is still 1).
    #[arg(long)]
    skip_rejected: bool,
    /// Write each receipt (c2sp.org/tlog-proof) to DIR/<index>.tlog-proof.
    #[arg(long, value_name = "DIR")]
    receipts: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SourceArgs {
    /// The source's public key: a `.pub` file or the key text.
    vkey: String,
    /// `party`, `monitor`, `media`, `osint` or `public`.
    #[arg(long)]
    kind: String,
    /// The party it speaks for (required for `party`).
    #[arg(long)]
    party: Option<String>,
    /// The role, if stated (checked against the kind by the service).
    #[arg(long)]
    role: Option<String>,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    /// The key name to revoke.
    name: String,
}

#[derive(Debug, Args)]
struct AgreementArgs {
    /// The agreement file (TOML); zone and line files it references are read beside it.
    file: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AnnotationKind {
    Review,
    Contest,
    Coverage,
    Retraction,
}

impl AnnotationKind {
    fn path(self) -> &'static str {
        match self {
            AnnotationKind::Review => "/v1/reviews",
            AnnotationKind::Contest => "/v1/contests",
            AnnotationKind::Coverage => "/v1/coverage",
            AnnotationKind::Retraction => "/v1/retractions",
        }
    }
}

#[derive(Debug, Args)]
struct AnnotationArgs {
    /// What it is.
    kind: AnnotationKind,
    /// The JSON body (see /v1/openapi.json for its shape).
    file: PathBuf,
}

/// Runs `truce submit`.
pub fn run(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let signer = read_request_signer(&args.key)?;
    let client = Client::new(
        &args.url,
        signer,
        args.retries,
        Duration::from_secs(args.timeout.max(1)),
    )?;
    match args.what {
        SubmitCommand::Reports(reports) => submit_reports(&client, &reports),
        SubmitCommand::Source(source) => {
            let verifier = read_verifier(&source.vkey, "public key of the source")?;
            let body = json!({
                "vkey": verifier.to_vkey(),
                "kind": source.kind,
                "party": source.party,
                "role": source.role,
            });
            let label = format!("source {}", verifier.name().as_str());
            client.send_and_print("/v1/sources", &body, &label)
        }
        SubmitCommand::Revoke(revoke) => {
            let path = format!("/v1/sources/{}/revoke", percent_encode(&revoke.name));
            client.send_and_print(&path, &json!({}), &format!("revocation of {}", revoke.name))
        }
        SubmitCommand::Agreement(agreement) => {
            let body = agreement_body(&agreement.file)?;
            client.send_and_print(
                "/v1/agreements",
                &body,
                &format!("agreement {}", agreement.file.display()),
            )
        }
        SubmitCommand::Annotation(annotation) => {
            let text = fs::read(&annotation.file)
                .with_context(|| format!("reading {}", annotation.file.display()))?;
            let body: Value = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not JSON", annotation.file.display()))?;
            client.send_and_print(
                annotation.kind.path(),
                &body,
                &format!("{:?} {}", annotation.kind, annotation.file.display()).to_lowercase(),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

/// What the service answered.
#[derive(Debug)]
pub enum Answer {
    /// 200 or 201: the JSON body.
    Accepted(Value),
    /// Any other status, with the problem document (or whatever body came).
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The body, as JSON if it parsed, else as a string.
        problem: Value,
    },
}

/// Signs and sends requests to one service.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    /// The URL without a trailing `/`.
    base: String,
    /// The URL's path (what the server sees before `/v1/…`), without a trailing `/`.
    base_path: String,
    signer: RequestSigner,
    retries: u32,
}

impl Client {
    /// A client for the service at `url`.
    pub fn new(
        url: &str,
        signer: RequestSigner,
        retries: u32,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let base = url.trim().trim_end_matches('/').to_owned();
        let Some(rest) = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
        else {
            bail!("--url {url:?} must start with http:// or https://");
        };
        let (host, base_path) = rest
            .split_once('/')
            .map_or((rest, String::new()), |(host, path)| {
                (host, format!("/{path}"))
            });
        if host.is_empty() || base_path.contains(['?', '#']) {
            bail!("--url {url:?} is not a base URL like http://127.0.0.1:8080");
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            agent,
            base,
            base_path,
            signer,
            retries,
        })
    }

    /// Posts `body` as JSON to `path` (e.g. `/v1/reports`), signed, with retries.
    pub fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        let bytes = serde_json::to_vec(body).context("encoding the request body")?;
        let url = format!("{}{path}", self.base);
        let signed_path = format!("{}{path}", self.base_path);
        let mut authorization = self.sign(&signed_path, &bytes)?;
        let mut attempt = 0;
        loop {
            let sent = self
                .agent
                .post(&url)
                .header("Authorization", &authorization)
                .header("Content-Type", "application/json")
                .send(&bytes[..]);
            let mut response = match sent {
                Ok(response) => response,
                Err(error) if attempt < self.retries && is_transient(&error) => {
                    attempt += 1;
                    tracing::warn!(%url, %error, attempt, "no answer; sending the same signed request again");
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                    continue;
                }
                Err(error) => {
                    return Err(error).with_context(|| {
                        format!("cannot reach the service at {} (POST {url})", self.base)
                    });
                }
            };
            let status = response.status().as_u16();
            if matches!(status, 429 | 503) && attempt < self.retries {
                attempt += 1;
                let wait = retry_after(response.headers()).min(MAX_RETRY_WAIT);
                tracing::warn!(%url, status, wait_s = wait.as_secs_f64(), attempt, "busy; retrying");
                std::thread::sleep(wait);
                // Not logged: a fresh signature, so the nonce is new.
                authorization = self.sign(&signed_path, &bytes)?;
                continue;
            }
            let text = response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec()
                .with_context(|| format!("reading the answer to POST {url}"))?;
            let value = serde_json::from_slice(&text)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&text).into_owned()));
            return Ok(if matches!(status, 200 | 201) {
                Answer::Accepted(value)
            } else {
                Answer::Rejected {
                    status,
                    problem: value,
                }
            });
        }
    }

    fn sign(&self, path: &str, body: &[u8]) -> anyhow::Result<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|error| {
            anyhow::anyhow!("drawing a nonce from the operating system: {error}")
        })?;
        self.signer
            .authorization("POST", path, body, now_ms(), nonce)
            .with_context(|| format!("signing POST {path}"))
    }

    /// Posts one document and prints its receipts or its problem.
    fn send_and_print(&self, path: &str, body: &Value, label: &str) -> anyhow::Result<ExitCode> {
        match self.post_json(path, body)? {
            Answer::Accepted(value) => {
                for line in receipt_lines(&value, |_| label.to_owned()) {
                    println!("{line}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Answer::Rejected { status, problem } => {
                eprintln!("{}", describe_problem(label, status, &problem, |_| None));
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

fn is_transient(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_)
    )
}

/// The `Retry-After` seconds of an answer (1 s when absent or not a number).
fn retry_after(headers: &ureq::http::HeaderMap) -> Duration {
    headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

/// The current time in Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Percent-encodes a path segment (key names hold `/`).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Printing

/// One line per receipt of a `{receipts: [...]}` answer: the label of the `i`-th entry,
/// its log index and the checkpoint (size and root) that includes it.
fn receipt_lines(answer: &Value, label: impl Fn(usize) -> String) -> Vec<String> {
    let Some(receipts) = answer.get("receipts").and_then(Value::as_array) else {
        return vec![format!("{}: accepted: {answer}", label(0))];
    };
    receipts
        .iter()
        .enumerate()
        .map(|(position, receipt)| {
            let index = receipt
                .get("index")
                .and_then(Value::as_u64)
                .map_or_else(|| "?".to_owned(), |index| index.to_string());
            let checkpoint = receipt
                .get("checkpoint")
                .and_then(Value::as_str)
                .unwrap_or("");
            let mut lines = checkpoint.lines().skip(1);
            let size = lines.next().unwrap_or("?");
            let root = lines.next().unwrap_or("?");
            format!(
                "{}: logged at index {index}, checkpoint size {size} root {root}",
                label(position)
            )
        })
        .collect()
}

/// A problem document as lines: the status, type and detail, then each problem with its
/// place; `name_of` names the report an item pointer (`/3/...`) is about.
fn describe_problem(
    label: &str,
    status: u16,
    problem: &Value,
    name_of: impl Fn(usize) -> Option<String>,
) -> String {
    let Value::Object(document) = problem else {
        return format!("{label}: rejected with HTTP {status}: {problem}");
    };
    let slug = document
        .get("type")
        .and_then(Value::as_str)
        .map_or("unknown", |kind| {
            kind.strip_prefix(truce_server::PROBLEM_TYPE_PREFIX)
                .unwrap_or(kind)
        });
    let detail = document
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| document.get("title").and_then(Value::as_str))
        .unwrap_or("");
    let mut text = format!("{label}: rejected with HTTP {status} ({slug}): {detail}");
    for error in document
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pointer = error.get("pointer").and_then(Value::as_str);
        let place = match (pointer, error.get("parameter").and_then(Value::as_str)) {
            (Some(pointer), _) => {
                let item = pointer
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .and_then(|first| first.parse::<usize>().ok())
                    .and_then(&name_of);
                match item {
                    Some(name) => format!("{pointer} (report {name})"),
                    None if pointer.is_empty() => "the body".to_owned(),
                    None => pointer.to_owned(),
                }
            }
            (None, Some(parameter)) => format!("parameter {parameter}"),
            (None, None) => "the request".to_owned(),
        };
        let detail = error.get("detail").and_then(Value::as_str).unwrap_or("");
        text.push_str(&format!("\n  {place}: {detail}"));
    }
    text
}

// ---------------------------------------------------------------------------------------
// Reports

/// The reports of the files as the JSON objects the service takes: the JSON Lines shape
/// with `agreement`, without the source fields (the signing key is the source).
fn report_bodies(
    args: &ReportsArgs,
    signer_name: &str,
) -> anyhow::Result<(Vec<(String, Value)>, usize)> {
    let options = IngestOptions::default();
    let mut bodies = Vec::new();
    let mut rejected = 0;
    let mut other_sources = 0usize;
    for file in &args.files {
        let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        let format = match args.input_format {
            Some(format) => format,
            None => detect_format(&name, &bytes[..bytes.len().min(4096)]).with_context(|| {
                format!("cannot tell the format of {name}; pass --input-format")
            })?,
        };
        let ingested = parse_reports(format, &name, &bytes, &options)
            .with_context(|| format!("reading the reports of {name}"))?;
        for rejection in &ingested.rejections {
            eprintln!("rejected row {rejection}");
        }
        // A row may have several problems: count rows.
        let mut rows: Vec<u64> = ingested.rejections.iter().map(|r| r.row).collect();
        rows.sort_unstable();
        rows.dedup();
        rejected += rows.len();
        let mut jsonl = Vec::new();
        write_reports(InputFormat::Jsonl, &ingested.reports, &options, &mut jsonl)
            .with_context(|| format!("re-encoding the reports of {name}"))?;
        for (line, report) in jsonl
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .zip(&ingested.reports)
        {
            let mut object: Map<String, Value> = serde_json::from_slice(line)
                .with_context(|| format!("re-reading report {} of {name}", report.id))?;
            if object.get("source_id").and_then(Value::as_str) != Some(signer_name) {
                other_sources += 1;
            }
            for field in ["source_id", "source_kind", "source_party"] {
                object.remove(field);
            }
            object.insert("agreement".into(), Value::String(args.agreement.clone()));
            bodies.push((report.id.to_string(), Value::Object(object)));
        }
    }
    if other_sources > 0 {
        eprintln!(
            "note: {other_sources} report(s) name another source than the key {signer_name}; the service records the signing key as their source"
        );
    }
    Ok((bodies, rejected))
}

fn submit_reports(client: &Client, args: &ReportsArgs) -> anyhow::Result<ExitCode> {
    let (bodies, rejected) = report_bodies(args, client.signer.name().as_str())?;
    if rejected > 0 && !args.skip_rejected {
        bail!(
            "{rejected} row(s) were rejected (listed above); nothing was sent. Fix them, or pass --skip-rejected to send the {} other report(s)",
            bodies.len()
        );
    }
    if let Some(dir) = &args.receipts {
        fs::create_dir_all(dir)
            .with_context(|| format!("creating the receipt directory {}", dir.display()))?;
    }
    let batch = usize::try_from(args.batch).unwrap_or(usize::MAX);
    let mut failures = 0usize;
    let mut logged = 0usize;
    for chunk in bodies.chunks(batch) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let (path, body) = if batch == 1 {
            ("/v1/reports", chunk[0].1.clone())
        } else {
            (
                "/v1/reports/batch",
                Value::Array(chunk.iter().map(|(_, body)| body.clone()).collect()),
            )
        };
        let label = match ids.as_slice() {
            [one] => format!("report {one}"),
            [first, .., last] => format!("reports {first} .. {last} ({} reports)", ids.len()),
            [] => continue,
        };
        match client.post_json(path, &body)? {
            Answer::Accepted(answer) => {
                for line in receipt_lines(&answer, |position| {
                    format!("report {}", ids.get(position).copied().unwrap_or("?"))
                }) {
                    println!("{line}");
                }
                logged += chunk.len();
                if let Some(dir) = &args.receipts {
                    save_receipts(dir, &answer)?;
                }
            }
            Answer::Rejected { status, problem } => {
                failures += chunk.len();
                let name_of = |item: usize| {
                    if batch == 1 {
                        None
                    } else {
                        ids.get(item).map(|id| (*id).to_owned())
                    }
                };
                eprintln!("{}", describe_problem(&label, status, &problem, name_of));
            }
        }
    }
    eprintln!(
        "{logged} report(s) logged, {failures} rejected by the service, {rejected} rejected while reading"
    );
    Ok(if failures == 0 && rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn save_receipts(dir: &Path, answer: &Value) -> anyhow::Result<()> {
    for receipt in answer
        .get("receipts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(index), Some(text)) = (
            receipt.get("index").and_then(Value::as_u64),
            receipt.get("receipt").and_then(Value::as_str),
        ) else {
            continue;
        };
        let path = dir.join(format!("{index}.tlog-proof"));
        crate::files::write_output(Some(&path), |out| {
            out.write_all(text.as_bytes())?;
            Ok(())
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Agreements

/// Reads files beside the agreement and keeps what it read, to send along.
#[derive(Debug)]
struct CollectedFiles {
    base: PathBuf,
    read: Mutex<BTreeMap<String, String>>,
}

impl FileSource for CollectedFiles {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        let path = self.base.join(relative);
        let bytes = fs::read(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
        if let Ok(mut read) = self.read.lock() {
            read.insert(relative.to_owned(), text);
        }
        Ok(bytes)
    }
}

/// `{toml, files}` for an agreement file, after checking locally that it loads.
fn agreement_body(file: &Path) -> anyhow::Result<Value> {
    let text = fs::read_to_string(file)
        .with_context(|| format!("reading the agreement {}", file.display()))?;
    let files = CollectedFiles {
        base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
        read: Mutex::new(BTreeMap::new()),
    };
    let name = file.display().to_string();
    truce_model::agreement::load(&name, &text, &files)
        .map_err(|errors| anyhow::anyhow!("{errors}"))
        .with_context(|| format!("the agreement {name} does not validate"))?;
    let read = files
        .read
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(json!({ "toml": text, "files": read }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_keep_their_path_for_signing() {
        let signer = RequestSigner::new(truce_note::NoteSigner::from_seed(
            truce_note::KeyName::new("a").unwrap(),
            &[1; 32],
        ))
        .unwrap();
        let client = Client::new(
            "https://truce.example/api/",
            signer.clone(),
            0,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(client.base, "https://truce.example/api");
        assert_eq!(client.base_path, "/api");
        let error = Client::new("truce.example", signer, 0, Duration::from_secs(1)).unwrap_err();
        assert!(error.to_string().contains("http://"), "{error}");
    }

    #[test]
    fn problems_name_the_report_of_each_pointer() {
        let problem = json!({
            "type": "urn:truce:problem:invalid-body",
            "title": "Invalid",
            "status": 422,
            "detail": "2 reports are invalid",
            "errors": [
                {"pointer": "/1/lat", "detail": "lat 91 is out of range"},
                {"parameter": "authorization.ts", "detail": "too old"},
            ],
        });
        let ids = ["a", "b"];
        let text = describe_problem("reports a .. b", 422, &problem, |item| {
            ids.get(item).map(|id| (*id).to_owned())
        });
        assert_eq!(
            text,
            "reports a .. b: rejected with HTTP 422 (invalid-body): 2 reports are invalid\n  /1/lat (report b): lat 91 is out of range\n  parameter authorization.ts: too old"
        );
    }

    #[test]
    fn receipts_print_index_and_checkpoint() {
        let answer = json!({"receipts": [
            {"index": 7, "checkpoint": "truce.local/log\n8\nROOT=\n\n— sig\n"},
        ]});
        assert_eq!(
            receipt_lines(&answer, |_| "report r1".to_owned()),
            vec!["report r1: logged at index 7, checkpoint size 8 root ROOT="]
        );
    }

    #[test]
    fn key_names_are_escaped_in_paths() {
        assert_eq!(percent_encode("ua.example/liaison"), "ua.example%2Fliaison");
    }

    #[test]
    fn csv_reports_become_service_bodies_without_source_fields() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reports.csv");
        fs::write(
            &file,
            "id,source_id,source_kind,source_party,time,lon,lat,uncertainty_m,action,target,accused,text\n\
             r1,ua_gs,party,UA,2025-04-07T23:30:00+03:00,30.74,46.49,500,missile_strike,maritime,RU,port hit\n",
        )
        .unwrap();
        let args = ReportsArgs {
            files: vec![file],
            agreement: "black-sea-2025".into(),
            input_format: None,
            batch: 10,
            skip_rejected: false,
            receipts: None,
        };
        let (bodies, rejected) = report_bodies(&args, "ua.example/liaison").unwrap();
        assert_eq!(rejected, 0);
        assert_eq!(bodies.len(), 1);
        let (id, body) = &bodies[0];
        assert_eq!(id, "r1");
        assert_eq!(body["agreement"], "black-sea-2025");
        assert_eq!(body["id"], "r1");
        assert!(body.get("source_id").is_none(), "{body}");
        assert_eq!(body["action"], "missile_strike");
    }

    #[test]
    fn an_agreement_is_sent_with_the_files_it_reads() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = manifest.join("../../examples/black-sea-2025/agreement.toml");
        let body = agreement_body(&file).unwrap();
        assert!(body["toml"].as_str().unwrap().contains("black-sea-2025"));
        let files = body["files"].as_object().unwrap();
        assert!(files.contains_key("zones/black-sea.geojson"), "{files:?}");
    }
}
