//! What the demo loads and how: the agreement (the shipped 30-day general ceasefire, or a
//! file), the simulated scenario around its window, and the submission of it all as signed
//! HTTP requests, exactly as `truce submit` sends them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use truce_model::Report;
use truce_model::agreement::{Agreement, FileSource, MemoryFiles};
use truce_model::ingest::{IngestOptions, InputFormat, write_reports};
use truce_sim::Scenario;

use super::keys::DemoKey;
use crate::submit_cmd::{Answer, Client};

/// The shipped agreement: the proposed 30-day general ceasefire of March 2025.
const SHIPPED_AGREEMENT: &str =
    include_str!("../../../../examples/front-line-30-day-2025/agreement.toml");
/// The files the shipped agreement references, by the path it uses.
const SHIPPED_FILES: [(&str, &str); 2] = [
    (
        "lines/line-of-contact.geojson",
        include_str!("../../../../examples/front-line-30-day-2025/lines/line-of-contact.geojson"),
    ),
    (
        "lines/reference-line-b.geojson",
        include_str!("../../../../examples/front-line-30-day-2025/lines/reference-line-b.geojson"),
    ),
];
/// What the shipped agreement is called in messages.
const SHIPPED_NAME: &str = "examples/front-line-30-day-2025/agreement.toml";

/// Simulated days before the agreement's start.
pub const BASELINE_DAYS: u32 = 30;
/// The most simulated days under the agreement.
pub const MAX_TRUCE_DAYS: u32 = 30;
/// Reports per signed batch request.
pub const REPORTS_PER_REQUEST: usize = 500;

const DAY_MS: i64 = 86_400_000;

/// An agreement to load: its text and files as the service takes them, and its first
/// reading, checked locally.
#[derive(Debug)]
pub struct AgreementSource {
    /// Where it came from, for messages.
    pub name: String,
    /// The file on disk, if it was given (`None`: the shipped one).
    pub path: Option<PathBuf>,
    /// The TOML text.
    pub toml: String,
    /// The referenced files, by the path the agreement uses.
    pub files: BTreeMap<String, String>,
    /// The agreement as read (its common reading, or its first).
    pub agreement: Agreement,
}

impl AgreementSource {
    /// The shipped 30-day general ceasefire.
    pub fn shipped() -> anyhow::Result<Self> {
        let files: BTreeMap<String, String> = SHIPPED_FILES
            .iter()
            .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
            .collect();
        let memory = MemoryFiles(
            files
                .iter()
                .map(|(path, text)| (path.clone(), text.as_bytes().to_vec()))
                .collect(),
        );
        let agreement = first_reading(SHIPPED_NAME, SHIPPED_AGREEMENT, &memory)?;
        Ok(Self {
            name: SHIPPED_NAME.to_owned(),
            path: None,
            toml: SHIPPED_AGREEMENT.to_owned(),
            files,
            agreement,
        })
    }

    /// An agreement file and the files beside it that it references.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let toml = fs::read_to_string(path)
            .with_context(|| format!("reading the agreement {}", path.display()))?;
        let name = path.display().to_string();
        let recording = RecordingFiles {
            base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            read: Mutex::new(BTreeMap::new()),
        };
        let agreement = first_reading(&name, &toml, &recording)?;
        let files = recording
            .read
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(Self {
            name,
            path: Some(path.to_owned()),
            toml,
            files,
            agreement,
        })
    }

    /// The agreement's id.
    pub fn id(&self) -> &str {
        &self.agreement.id
    }

    /// The body of `POST /v1/agreements`.
    pub fn body(&self) -> Value {
        json!({ "toml": self.toml, "files": self.files })
    }

    /// Writes the agreement and its files under `dir`; returns the agreement file's path.
    pub fn write_to(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = dir.join("agreement.toml");
        write_text(&file, &self.toml)?;
        for (relative, text) in &self.files {
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            write_text(&path, text)?;
        }
        Ok(file)
    }
}

fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    crate::files::write_output(Some(path), |out| {
        out.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    })
}

/// Loads an agreement and keeps its common reading (or its first).
fn first_reading(name: &str, text: &str, files: &dyn FileSource) -> anyhow::Result<Agreement> {
    let readings = truce_model::agreement::load(name, text, files)
        .map_err(|errors| anyhow::anyhow!("{errors}"))
        .with_context(|| format!("the agreement {name} does not validate"))?;
    let position = readings
        .iter()
        .position(|reading| reading.interpretation == "common")
        .unwrap_or(0);
    readings
        .into_iter()
        .nth(position)
        .with_context(|| format!("the agreement {name} has no reading"))
}

/// Reads files beside an agreement and keeps their text, to send along.
#[derive(Debug)]
struct RecordingFiles {
    base: PathBuf,
    read: Mutex<BTreeMap<String, String>>,
}

impl FileSource for RecordingFiles {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        let path = self.base.join(relative);
        let bytes = fs::read(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
        self.read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(relative.to_owned(), text);
        Ok(bytes)
    }
}

/// The simulated scenario around an agreement: the default scenario's parties and rates,
/// starting [`BASELINE_DAYS`] before the agreement's start and running under it for the
/// agreement's length in whole days (1 to [`MAX_TRUCE_DAYS`]; open-ended: the most), with
/// the rates falling at its start. For the shipped agreement this is exactly
/// `truce simulate --scenario default --seed SEED`.
pub fn scenario_around(agreement: &Agreement, seed: u64) -> anyhow::Result<Scenario> {
    let start_ms = agreement.window.start.as_millisecond();
    let truce_days = agreement
        .window
        .end
        .map_or(i64::from(MAX_TRUCE_DAYS), |end| {
            let length_ms = end.as_millisecond().saturating_sub(start_ms);
            // Whole days, rounded up.
            length_ms.saturating_add(DAY_MS - 1) / DAY_MS
        })
        .clamp(1, i64::from(MAX_TRUCE_DAYS));
    let truce_days = u32::try_from(truce_days).unwrap_or(MAX_TRUCE_DAYS);
    let begin = Timestamp::from_millisecond(start_ms - i64::from(BASELINE_DAYS) * DAY_MS)
        .with_context(|| {
            format!(
                "the agreement starts at {}: {BASELINE_DAYS} days before it is out of range",
                agreement.window.start
            )
        })?;
    let mut scenario = Scenario::default_scenario(seed);
    scenario.start = begin;
    scenario.days = BASELINE_DAYS + truce_days;
    scenario.truce_start = Some(agreement.window.start);
    Ok(scenario)
}

/// The service's request bodies for `reports`: the JSON Lines shape without the source
/// fields (the signing key is the source), with the agreement's id.
pub fn report_bodies(reports: &[Report], agreement_id: &str) -> anyhow::Result<Vec<Value>> {
    let mut jsonl = Vec::new();
    write_reports(
        InputFormat::Jsonl,
        reports,
        &IngestOptions::default(),
        &mut jsonl,
    )
    .context("encoding the simulated reports as JSON Lines")?;
    let mut bodies = Vec::with_capacity(reports.len());
    for (line, report) in jsonl
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .zip(reports)
    {
        let mut object: Map<String, Value> = serde_json::from_slice(line)
            .with_context(|| format!("re-reading the simulated report {}", report.id))?;
        for field in ["source_id", "source_kind", "source_party"] {
            object.remove(field);
        }
        object.insert("agreement".into(), Value::String(agreement_id.to_owned()));
        bodies.push(Value::Object(object));
    }
    if bodies.len() != reports.len() {
        bail!(
            "encoding the simulated reports gave {} lines for {} reports",
            bodies.len(),
            reports.len()
        );
    }
    Ok(bodies)
}

/// What was submitted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loaded {
    /// Sources registered (besides the admin).
    pub sources: usize,
    /// Agreement-version entries logged (one per reading).
    pub agreement_versions: usize,
    /// Reports logged.
    pub reports: usize,
    /// Signed requests sent.
    pub requests: usize,
}

/// Everything the load sends.
#[derive(Debug)]
pub struct LoadPlan {
    /// The admin's key.
    pub admin: DemoKey,
    /// The keys to register, in order.
    pub keys: Vec<DemoKey>,
    /// The agreement.
    pub agreement_body: Value,
    /// The agreement's id, for messages.
    pub agreement_id: String,
    /// The reports to submit, with the index of the key (in `keys`) that signs each.
    pub reports: Vec<(usize, Report)>,
}

/// Sends the plan to the service at `url`, in order: the registrations, the agreement, then
/// the reports source by source in batches of [`REPORTS_PER_REQUEST`] (one request at a
/// time, so the log's order follows the plan). Blocking; stops before the next request once
/// `cancelled` is set.
pub fn submit(
    url: &str,
    plan: &LoadPlan,
    bar: &ProgressBar,
    cancelled: &AtomicBool,
) -> anyhow::Result<Loaded> {
    let client = |key: &DemoKey| Client::new(url, key.signer.clone(), 3, Duration::from_secs(120));
    let go_on = || {
        if cancelled.load(Ordering::Acquire) {
            bail!("interrupted while loading");
        }
        Ok(())
    };
    let admin = client(&plan.admin)?;
    let mut loaded = Loaded::default();
    bar.set_message("registering the sources' keys");
    for key in &plan.keys {
        go_on()?;
        let body = json!({
            "vkey": key.signer.verifier().to_vkey(),
            "kind": key.source.kind.as_str(),
            "party": key.source.party.as_deref(),
        });
        accepted(
            admin.post_json("/v1/sources", &body)?,
            &format!("the registration of the source {}", key.name()),
        )?;
        loaded.sources += 1;
        loaded.requests += 1;
    }
    bar.set_message("logging the agreement");
    go_on()?;
    let answer = accepted(
        admin.post_json("/v1/agreements", &plan.agreement_body)?,
        &format!("the agreement {}", plan.agreement_id),
    )?;
    loaded.agreement_versions = receipt_count(&answer);
    loaded.requests += 1;

    bar.set_message("submitting the reports");
    let mut by_key: BTreeMap<usize, Vec<Report>> = BTreeMap::new();
    for (key, report) in &plan.reports {
        by_key.entry(*key).or_default().push(report.clone());
    }
    for (position, reports) in by_key {
        let key = plan
            .keys
            .get(position)
            .context("a simulated report has no key to sign it")?;
        let client = client(key)?;
        for chunk in reports.chunks(REPORTS_PER_REQUEST) {
            go_on()?;
            let bodies = report_bodies(chunk, &plan.agreement_id)?;
            let label = match (chunk.first(), chunk.last()) {
                (Some(first), Some(last)) => format!(
                    "the reports {} .. {} of {} ({} reports)",
                    first.id,
                    last.id,
                    key.name(),
                    chunk.len()
                ),
                _ => continue,
            };
            let answer = accepted(
                client.post_json("/v1/reports/batch", &Value::Array(bodies))?,
                &label,
            )?;
            let logged = receipt_count(&answer);
            if logged != chunk.len() {
                bail!(
                    "{label}: the service answered {logged} receipts for {} reports",
                    chunk.len()
                );
            }
            loaded.reports += logged;
            loaded.requests += 1;
            bar.inc(u64::try_from(logged).unwrap_or(u64::MAX));
        }
    }
    Ok(loaded)
}

/// The body of an accepted answer, or an error naming what was refused and why.
fn accepted(answer: Answer, label: &str) -> anyhow::Result<Value> {
    match answer {
        Answer::Accepted(body) => Ok(body),
        Answer::Rejected { status, problem } => {
            bail!("the service refused {label} with HTTP {status}: {problem}")
        }
    }
}

fn receipt_count(answer: &Value) -> usize {
    answer
        .get("receipts")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_shipped_agreement_loads_and_its_scenario_is_the_default_one() {
        let shipped = AgreementSource::shipped().unwrap();
        assert_eq!(shipped.id(), "jeddah-30-day-ceasefire-2025");
        assert_eq!(
            shipped.files.keys().collect::<Vec<_>>(),
            [
                "lines/line-of-contact.geojson",
                "lines/reference-line-b.geojson"
            ]
        );
        let scenario = scenario_around(&shipped.agreement, 7).unwrap();
        assert_eq!(scenario, Scenario::default_scenario(7));
    }

    #[test]
    fn the_scenario_follows_a_shorter_window() {
        let mut shipped = AgreementSource::shipped().unwrap();
        shipped.agreement.window.end = Some(
            Timestamp::from_millisecond(
                shipped.agreement.window.start.as_millisecond() + 2 * DAY_MS + 1,
            )
            .unwrap(),
        );
        let scenario = scenario_around(&shipped.agreement, 1).unwrap();
        assert_eq!(scenario.days, BASELINE_DAYS + 3);
        assert_eq!(scenario.truce_start, Some(shipped.agreement.window.start));
        shipped.agreement.window.end = None;
        assert_eq!(
            scenario_around(&shipped.agreement, 1).unwrap().days,
            BASELINE_DAYS + MAX_TRUCE_DAYS
        );
    }

    #[test]
    fn an_agreement_file_is_sent_with_the_files_it_reads() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = manifest.join("../../examples/black-sea-2025/agreement.toml");
        let source = AgreementSource::from_file(&file).unwrap();
        assert_eq!(source.id(), "black-sea-2025");
        assert!(
            source.files.contains_key("zones/black-sea.geojson"),
            "{:?}",
            source.files.keys()
        );
        let body = source.body();
        assert!(body["toml"].as_str().unwrap().contains("black-sea-2025"));
    }

    #[test]
    fn a_broken_agreement_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("agreement.toml");
        fs::write(&file, "format = \"truce-agreement/1\"\nid = 3\n").unwrap();
        let error = format!("{:#}", AgreementSource::from_file(&file).unwrap_err());
        assert!(error.contains("agreement.toml"), "{error}");
        assert!(error.contains(":2"), "{error}");
    }

    #[test]
    fn report_bodies_leave_out_the_source_and_name_the_agreement() {
        let scenario = Scenario::dense_shelling(3);
        let simulation = truce_sim::simulate(&scenario).unwrap();
        let reports = &simulation.reports[..5];
        let bodies = report_bodies(reports, "a-1").unwrap();
        assert_eq!(bodies.len(), 5);
        for (body, report) in bodies.iter().zip(reports) {
            assert_eq!(body["id"], report.id.as_str());
            assert_eq!(body["agreement"], "a-1");
            assert!(body.get("source_id").is_none(), "{body}");
            assert!(body.get("source_kind").is_none(), "{body}");
        }
    }
}
