//! The published shapes of an assessment and their rendering as JSON, CSV, GeoJSON and
//! Markdown. These shapes are a compatibility promise (`docs/output-format.md`): the JSON
//! carries a `format` version, and every field is built here from the engine's types, so
//! the engine can change its internals without changing what readers see.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::Range;

use jiff::Timestamp;
use rayon::prelude::*;
use serde::Serialize;
use truce_engine::adjudicate::Finding;
use truce_engine::assess::{Assessor, Summarised, Summary, Tally};
use truce_engine::incident::Incident;
use truce_model::agreement::Agreement;
use truce_model::ingest::Rejection;
use truce_model::{Casualties, Report, TimeSpan};

/// The version of the JSON shape.
pub const FORMAT: &str = "truce-assessment/1";

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON document.
    Json,
    /// One row per incident and interpretation.
    Csv,
    /// A FeatureCollection of incident points.
    Geojson,
    /// A summary for readers.
    Markdown,
}

/// One input file as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    /// The name as given.
    pub file: String,
    /// The format it was read as.
    pub format: String,
    /// Reports accepted from it.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// What the assessment was computed from, so anyone can re-run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inputs {
    /// The agreement file name.
    pub agreement_file: String,
    /// SHA-256 of the agreement file and every file it references, hex.
    pub agreement_sha256: String,
    /// The report files.
    pub reports: Vec<InputFile>,
    /// SHA-256 over the accepted reports in canonical order (independent of file order and
    /// row order), hex.
    pub reports_sha256: String,
}

/// Everything one `assess` run produced. Findings are not held: each output asks the
/// assessors for them a chunk of incidents at a time, so rendering a million findings needs
/// memory for one chunk.
#[derive(Debug)]
pub struct Run<'a> {
    /// Inputs.
    pub inputs: &'a Inputs,
    /// Reports in canonical order (incidents index into it).
    pub reports: &'a [Report],
    /// Incidents.
    pub incidents: &'a [Incident],
    /// One assessor per interpretation applied, each over `incidents`.
    pub assessors: Vec<Assessor<'a>>,
    /// Rejected rows of every input.
    pub rejections: &'a [Rejection],
}

/// Incidents judged per chunk: large enough to keep both cores busy, small enough that a
/// chunk's findings take a few tens of megabytes.
const CHUNK: usize = 32 * 1024;

/// The ranges of `0..len` in chunks of [`CHUNK`].
fn chunks(len: usize) -> impl Iterator<Item = Range<usize>> {
    (0..len)
        .step_by(CHUNK)
        .map(move |start| start..(start + CHUNK).min(len))
}

/// An error writing output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The sink failed.
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
    /// JSON serialisation failed.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV serialisation failed.
    #[error("encoding CSV: {0}")]
    Csv(#[from] csv::Error),
}

fn time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

#[derive(Serialize)]
struct TimeOut {
    start: String,
    end: String,
}

impl From<TimeSpan> for TimeOut {
    fn from(span: TimeSpan) -> Self {
        TimeOut {
            start: time(span.start_ms),
            end: time(span.end_ms),
        }
    }
}

#[derive(Serialize)]
struct LocationOut {
    lon: f64,
    lat: f64,
    uncertainty_m: f64,
}

#[derive(Serialize)]
struct AttributionOut<'a> {
    report: &'a str,
    source: &'a str,
    source_kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_party: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accused: Option<&'a str>,
    #[serde(skip_serializing_if = "<[truce_model::SmolStr]>::is_empty")]
    actors: &'a [truce_model::SmolStr],
}

#[derive(Serialize)]
struct IncidentOut<'a> {
    id: &'a str,
    time: TimeOut,
    location: LocationOut,
    action: &'static str,
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<&'a str>,
    casualties: Casualties,
    sources: u32,
    reports: Vec<&'a str>,
    attributions: Vec<AttributionOut<'a>>,
}

#[derive(Serialize)]
struct AgreementOut<'a> {
    id: &'a str,
    version: u32,
    title: &'a str,
    interpretation: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    interpretation_note: &'a str,
}

#[derive(Serialize)]
struct ReleaseOut<'a> {
    party: &'a str,
    from: String,
    after: &'a str,
}

fn incident_out<'a>(reports: &'a [Report], incident: &'a Incident) -> IncidentOut<'a> {
    IncidentOut {
        id: &incident.id,
        time: incident.time.into(),
        location: LocationOut {
            lon: round6(incident.location.lon),
            lat: round6(incident.location.lat),
            uncertainty_m: incident.location.uncertainty_m.round(),
        },
        action: incident.action.as_str(),
        target: incident.target.to_string(),
        site: incident.site.as_deref(),
        casualties: incident.casualties,
        sources: incident.n_sources,
        reports: incident
            .members
            .iter()
            .map(|&i| reports[i as usize].id.as_str())
            .collect(),
        attributions: incident
            .attributions(reports)
            .into_iter()
            .map(|report| AttributionOut {
                report: &report.id,
                source: &report.source.id,
                source_kind: report.source.kind.as_str(),
                source_party: report.source.party.as_deref(),
                accused: report.accused.as_deref(),
                actors: report.actors(),
            })
            .collect(),
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Writes JSON values pretty-printed (two-space indentation) one at a time, each indented to
/// the depth it sits at in the document, so the document is streamed instead of built.
struct PrettyJson<'w> {
    out: &'w mut dyn Write,
}

/// `value` pretty-printed as it would appear `depth` levels deep. JSON strings cannot hold a
/// raw newline, so every newline of the pretty form starts a new line of structure.
fn indented(value: &impl Serialize, depth: usize) -> Result<Vec<u8>, OutputError> {
    let mut pretty = Vec::new();
    serde_json::to_writer_pretty(&mut pretty, value)?;
    let indent = "  ".repeat(depth);
    let mut out = Vec::with_capacity(pretty.len() + pretty.len() / 4);
    for (i, line) in pretty.split(|&byte| byte == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
            out.extend_from_slice(indent.as_bytes());
        }
        out.extend_from_slice(line);
    }
    Ok(out)
}

/// `indented` for many values at once, on every core; in order.
fn indented_all<T: Serialize + Sync>(
    values: &[T],
    depth: usize,
) -> Result<Vec<Vec<u8>>, OutputError> {
    values
        .par_iter()
        .map(|value| indented(value, depth))
        .collect()
}

impl PrettyJson<'_> {
    fn raw(&mut self, text: &str) -> Result<(), OutputError> {
        self.out.write_all(text.as_bytes())?;
        Ok(())
    }

    /// Writes `value` as it would appear `depth` levels deep.
    fn value(&mut self, value: &impl Serialize, depth: usize) -> Result<(), OutputError> {
        self.out.write_all(&indented(value, depth)?)?;
        Ok(())
    }

    /// `"key": ` at `depth`, after a comma when it is not the first member.
    fn key(&mut self, key: &str, depth: usize, first: bool) -> Result<(), OutputError> {
        let separator = if first { "" } else { "," };
        let indent = "  ".repeat(depth);
        self.raw(&format!("{separator}\n{indent}\"{key}\": "))
    }

    /// An array at `depth` (the depth of the key holding it) whose items `items` hands over
    /// already rendered one level deeper (see [`indented`]), chunk by chunk.
    fn array(
        &mut self,
        depth: usize,
        mut items: impl FnMut(
            &mut dyn FnMut(&[u8]) -> Result<(), OutputError>,
        ) -> Result<(), OutputError>,
    ) -> Result<(), OutputError> {
        let item_indent = "  ".repeat(depth + 1);
        let mut n_items = 0usize;
        let mut write_item = |item: &[u8]| -> Result<(), OutputError> {
            let separator = if n_items == 0 { "[" } else { "," };
            self.raw(&format!("{separator}\n{item_indent}"))?;
            self.out.write_all(item)?;
            n_items += 1;
            Ok(())
        };
        items(&mut write_item)?;
        if n_items == 0 {
            self.raw("[]")
        } else {
            self.raw(&format!("\n{}]", "  ".repeat(depth)))
        }
    }
}

fn agreement_out(agreement: &Agreement) -> AgreementOut<'_> {
    AgreementOut {
        id: &agreement.id,
        version: agreement.version,
        title: &agreement.title,
        interpretation: &agreement.interpretation,
        interpretation_note: &agreement.interpretation_note,
    }
}

/// The JSON document: the inputs, the incidents, then per interpretation its agreement,
/// releases, findings and (after the findings it counts) summary, then the rejections.
fn render_json(run: &Run<'_>, out: &mut dyn Write) -> Result<(), OutputError> {
    let mut json = PrettyJson { out };
    json.raw("{")?;
    json.key("format", 1, true)?;
    json.value(&FORMAT, 1)?;
    json.key("truce_version", 1, false)?;
    json.value(&env!("CARGO_PKG_VERSION"), 1)?;
    json.key("inputs", 1, false)?;
    json.value(run.inputs, 1)?;
    json.key("incidents", 1, false)?;
    json.array(1, |item| {
        for range in chunks(run.incidents.len()) {
            let rendered: Vec<Vec<u8>> = run.incidents[range]
                .par_iter()
                .map(|incident| indented(&incident_out(run.reports, incident), 2))
                .collect::<Result<_, _>>()?;
            for incident in &rendered {
                item(incident)?;
            }
        }
        Ok(())
    })?;
    json.key("assessments", 1, false)?;
    if run.assessors.is_empty() {
        json.raw("[]")?;
    }
    for (i, assessor) in run.assessors.iter().enumerate() {
        json.raw(if i == 0 { "[\n    {" } else { ",\n    {" })?;
        let agreement = assessor.agreement();
        json.key("agreement", 3, true)?;
        json.value(&agreement_out(agreement), 3)?;
        let releases: Vec<ReleaseOut<'_>> = assessor
            .releases()
            .iter()
            .map(|(party, (at, after))| ReleaseOut {
                party,
                from: time(*at),
                after,
            })
            .collect();
        if !releases.is_empty() {
            json.key("releases", 3, false)?;
            json.value(&releases, 3)?;
        }
        json.key("findings", 3, false)?;
        let mut summary = Summary::new(agreement);
        json.array(3, |item| {
            for range in chunks(assessor.len()) {
                let findings = assessor.findings(range);
                summary.count_all(&findings);
                for finding in &indented_all(&findings, 4)? {
                    item(finding)?;
                }
            }
            Ok(())
        })?;
        json.key("summary", 3, false)?;
        json.value(&summary, 3)?;
        json.raw("\n    }")?;
        if i + 1 == run.assessors.len() {
            json.raw("\n  ]")?;
        }
    }
    json.key("rejections", 1, false)?;
    json.value(&run.rejections, 1)?;
    json.raw("\n}\n")
}

/// Writes `run` in `format`.
pub fn render(run: &Run<'_>, format: OutputFormat, out: &mut dyn Write) -> Result<(), OutputError> {
    match format {
        OutputFormat::Json => render_json(run, out)?,
        OutputFormat::Csv => render_csv(run, out)?,
        OutputFormat::Geojson => render_geojson(run, out)?,
        OutputFormat::Markdown => out.write_all(render_markdown(run).as_bytes())?,
    }
    Ok(())
}

fn join<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(";")
}

fn render_csv(run: &Run<'_>, out: &mut dyn Write) -> Result<(), OutputError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "interpretation",
        "incident_id",
        "start",
        "end",
        "lon",
        "lat",
        "uncertainty_m",
        "action",
        "target",
        "site",
        "verdict",
        "reason",
        "parties",
        "rules",
        "exceptions",
        "zones",
        "missing",
        "established",
        "sources",
        "reports",
        "accused",
        "civilian_killed",
        "civilian_injured",
        "military_killed",
        "military_injured",
        "unspecified_killed",
        "reasons",
    ])?;
    for assessor in &run.assessors {
        let agreement = assessor.agreement();
        for range in chunks(run.incidents.len()) {
            let findings = assessor.findings(range.clone());
            for (incident, finding) in run.incidents[range].iter().zip(&findings) {
                let reports: Vec<&str> = incident
                    .members
                    .iter()
                    .map(|&i| run.reports[i as usize].id.as_str())
                    .collect();
                let accused: Vec<String> = incident
                    .attributions(run.reports)
                    .into_iter()
                    .map(|a| format!("{}={}", a.source.id, a.accused.as_deref().unwrap_or("?")))
                    .collect();
                let c = incident.casualties;
                writer.write_record([
                    agreement.interpretation.as_str(),
                    &incident.id,
                    &time(incident.time.start_ms),
                    &time(incident.time.end_ms),
                    &format!("{}", round6(incident.location.lon)),
                    &format!("{}", round6(incident.location.lat)),
                    &format!("{}", incident.location.uncertainty_m.round()),
                    incident.action.as_str(),
                    &finding.target.to_string(),
                    finding.site.as_deref().unwrap_or(""),
                    finding.verdict.as_str(),
                    finding.reason.map_or("", |r| r.as_str()),
                    &join(&finding.parties),
                    &join(&finding.rules),
                    &join(&finding.exceptions),
                    &join(&finding.zones),
                    &join(&finding.missing),
                    if finding.established { "true" } else { "false" },
                    &incident.n_sources.to_string(),
                    &join(&reports),
                    &join(&accused),
                    &c.civilian_killed.to_string(),
                    &c.civilian_injured.to_string(),
                    &c.military_killed.to_string(),
                    &c.military_injured.to_string(),
                    &c.unspecified_killed.to_string(),
                    &finding
                        .reasons
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join(" | "),
                ])?;
            }
        }
    }
    writer.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct FeatureOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: PointOut,
    properties: FeatureProperties<'a>,
}

#[derive(Serialize)]
struct PointOut {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct FeatureProperties<'a> {
    #[serde(flatten)]
    incident: IncidentOut<'a>,
    findings: std::collections::BTreeMap<&'a str, &'a Finding>,
}

/// A FeatureCollection of one point per incident, its findings under every interpretation
/// in its properties; written one feature at a time (compact JSON).
fn render_geojson(run: &Run<'_>, out: &mut dyn Write) -> Result<(), OutputError> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"format\":")?;
    serde_json::to_writer(&mut *out, FORMAT)?;
    out.write_all(b",\"features\":[")?;
    for range in chunks(run.incidents.len()) {
        let findings: Vec<Vec<Finding>> = run
            .assessors
            .iter()
            .map(|assessor| assessor.findings(range.clone()))
            .collect();
        for (offset, incident) in run.incidents[range.clone()].iter().enumerate() {
            if range.start + offset > 0 {
                out.write_all(b",")?;
            }
            let feature = FeatureOut {
                kind: "Feature",
                id: &incident.id,
                geometry: PointOut {
                    kind: "Point",
                    coordinates: [round6(incident.location.lon), round6(incident.location.lat)],
                },
                properties: FeatureProperties {
                    incident: incident_out(run.reports, incident),
                    findings: run
                        .assessors
                        .iter()
                        .zip(&findings)
                        .map(|(assessor, found)| {
                            (assessor.agreement().interpretation.as_str(), &found[offset])
                        })
                        .collect(),
                },
            };
            serde_json::to_writer(&mut *out, &feature)?;
        }
    }
    out.write_all(b"]}\n")?;
    Ok(())
}

fn tally_row(name: &str, t: &Tally) -> String {
    let no: Vec<String> = t
        .no_violation
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!(
        "| {name} | {} | {} | {} | {} | {} |\n",
        t.violation,
        t.alleged,
        t.disputed,
        if no.is_empty() {
            "0".to_string()
        } else {
            format!(
                "{} ({})",
                t.no_violation.values().sum::<u64>(),
                no.join(", ")
            )
        },
        t.undetermined
    )
}

/// Violations and disputed incidents listed in the Markdown summary, per interpretation.
const NOTABLE_SHOWN: usize = 50;

/// The Markdown summary.
pub fn render_markdown(run: &Run<'_>) -> String {
    let mut md = String::new();
    let n_reports: u64 = run.inputs.reports.iter().map(|r| r.accepted).sum();
    let _ = writeln!(md, "# Assessment\n");
    let _ = writeln!(
        md,
        "{} reports from {} file(s) ({} rows rejected), corroborated into {} incidents.\n",
        n_reports,
        run.inputs.reports.len(),
        run.rejections.len(),
        run.incidents.len()
    );
    for assessor in &run.assessors {
        let agreement = assessor.agreement();
        let Summarised {
            summary,
            picked: notable,
            n_picked: n_notable,
        } = assessor.summarise(
            |finding| {
                matches!(
                    finding.verdict,
                    truce_engine::adjudicate::Verdict::Violation
                        | truce_engine::adjudicate::Verdict::Disputed
                )
            },
            NOTABLE_SHOWN,
        );
        let _ = writeln!(
            md,
            "## {} — {} v{}, interpretation `{}`\n",
            agreement.title, agreement.id, agreement.version, agreement.interpretation
        );
        if !agreement.interpretation_note.is_empty() {
            let _ = writeln!(md, "{}\n", agreement.interpretation_note);
        }
        let _ = writeln!(
            md,
            "| party | violations | alleged | disputed | not violations (by reason) | undetermined |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---|---:|");
        for (party, tally) in &summary.parties {
            md.push_str(&tally_row(party, tally));
        }
        md.push_str(&tally_row("**all incidents**", &summary.total));
        md.push('\n');
        for (party, (at, after)) in assessor.releases() {
            let _ = writeln!(
                md,
                "- {party} released by reciprocity from {} after {after}",
                time(*at)
            );
        }
        if !notable.is_empty() {
            let _ = writeln!(md, "### Violations and disputed incidents\n");
            for (incident, finding) in &notable {
                let _ = writeln!(
                    md,
                    "- **{}** `{}` {} — {} against {} at ({:.4}, {:.4}); parties: {}; rules: {}",
                    finding.verdict.as_str(),
                    incident.id,
                    time(incident.time.start_ms),
                    incident.action,
                    finding.target,
                    incident.location.lon,
                    incident.location.lat,
                    finding.parties.join(", "),
                    finding.rules.join(", ")
                );
                if let Some(last) = finding.reasons.last() {
                    let _ = writeln!(md, "  - {last}");
                }
            }
            if n_notable > NOTABLE_SHOWN {
                let _ = writeln!(
                    md,
                    "- … and {} more (see the JSON or CSV output)",
                    n_notable - NOTABLE_SHOWN
                );
            }
            md.push('\n');
        }
    }
    if !run.rejections.is_empty() {
        let _ = writeln!(md, "## Rejected rows ({})\n", run.rejections.len());
        for r in run.rejections.iter().take(20) {
            let _ = writeln!(md, "- {r}");
        }
        if run.rejections.len() > 20 {
            let _ = writeln!(
                md,
                "- … and {} more (write them all with --rejects FILE)",
                run.rejections.len() - 20
            );
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "Inputs: agreement `{}` (sha256 {}), reports sha256 {}. truce {}.",
        run.inputs.agreement_file,
        run.inputs.agreement_sha256,
        run.inputs.reports_sha256,
        env!("CARGO_PKG_VERSION")
    );
    md
}

/// Writes the rejection list as CSV (file, row, column, value, reason).
pub fn write_rejections(rejections: &[Rejection], out: &mut dyn Write) -> Result<(), OutputError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(["file", "row", "column", "value", "reason"])?;
    for r in rejections {
        writer.write_record([
            r.file.as_str(),
            &r.row.to_string(),
            r.column.as_deref().unwrap_or(""),
            r.value.as_deref().unwrap_or(""),
            &r.reason,
        ])?;
    }
    writer.flush()?;
    Ok(())
}
