//! The published shapes of an assessment and their rendering as JSON, CSV, GeoJSON and
//! Markdown. These shapes are a compatibility promise (`docs/output-format.md`): the JSON
//! carries a `format` version, and every field is built here from the engine's types, so
//! the engine can change its internals without changing what readers see.

use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::Timestamp;
use serde::Serialize;
use truce_engine::adjudicate::Finding;
use truce_engine::assess::{Assessment, Tally};
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

/// Everything one `assess` run produced.
#[derive(Debug)]
pub struct Run<'a> {
    /// Inputs.
    pub inputs: &'a Inputs,
    /// Reports in canonical order (incidents index into it).
    pub reports: &'a [Report],
    /// Incidents.
    pub incidents: &'a [Incident],
    /// One assessment per interpretation, with its agreement.
    pub assessments: Vec<(&'a Agreement, &'a Assessment)>,
    /// Rejected rows of every input.
    pub rejections: &'a [Rejection],
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
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    actors: &'a [String],
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
struct AssessmentOut<'a> {
    agreement: AgreementOut<'a>,
    summary: &'a truce_engine::assess::Summary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    releases: Vec<ReleaseOut<'a>>,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct ReleaseOut<'a> {
    party: &'a str,
    from: String,
    after: &'a str,
}

#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    truce_version: &'static str,
    inputs: &'a Inputs,
    incidents: Vec<IncidentOut<'a>>,
    assessments: Vec<AssessmentOut<'a>>,
    rejections: &'a [Rejection],
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
            .attributions
            .iter()
            .map(|a| AttributionOut {
                report: &a.report_id,
                source: &a.source_id,
                source_kind: a.source_kind.as_str(),
                source_party: a.source_party.as_deref(),
                accused: a.accused.as_deref(),
                actors: &a.actors,
            })
            .collect(),
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn document<'a>(run: &'a Run<'a>) -> Document<'a> {
    Document {
        format: FORMAT,
        truce_version: env!("CARGO_PKG_VERSION"),
        inputs: run.inputs,
        incidents: run
            .incidents
            .iter()
            .map(|i| incident_out(run.reports, i))
            .collect(),
        assessments: run
            .assessments
            .iter()
            .map(|(agreement, assessment)| AssessmentOut {
                agreement: AgreementOut {
                    id: &agreement.id,
                    version: agreement.version,
                    title: &agreement.title,
                    interpretation: &agreement.interpretation,
                    interpretation_note: &agreement.interpretation_note,
                },
                summary: &assessment.summary,
                releases: assessment
                    .releases
                    .iter()
                    .map(|(party, (at, after))| ReleaseOut {
                        party,
                        from: time(*at),
                        after,
                    })
                    .collect(),
                findings: &assessment.findings,
            })
            .collect(),
        rejections: run.rejections,
    }
}

/// Writes `run` in `format`.
pub fn render(run: &Run<'_>, format: OutputFormat, out: &mut dyn Write) -> Result<(), OutputError> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &document(run))?;
            out.write_all(b"\n")?;
        }
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
    for (agreement, assessment) in &run.assessments {
        for (incident, finding) in run.incidents.iter().zip(&assessment.findings) {
            let reports: Vec<&str> = incident
                .members
                .iter()
                .map(|&i| run.reports[i as usize].id.as_str())
                .collect();
            let accused: Vec<String> = incident
                .attributions
                .iter()
                .map(|a| format!("{}={}", a.source_id, a.accused.as_deref().unwrap_or("?")))
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

#[derive(Serialize)]
struct FeatureCollectionOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    format: &'static str,
    features: Vec<FeatureOut<'a>>,
}

fn render_geojson(run: &Run<'_>, out: &mut dyn Write) -> Result<(), OutputError> {
    let features = run
        .incidents
        .iter()
        .enumerate()
        .map(|(i, incident)| FeatureOut {
            kind: "Feature",
            id: &incident.id,
            geometry: PointOut {
                kind: "Point",
                coordinates: [round6(incident.location.lon), round6(incident.location.lat)],
            },
            properties: FeatureProperties {
                incident: incident_out(run.reports, incident),
                findings: run
                    .assessments
                    .iter()
                    .map(|(a, assessment)| (a.interpretation.as_str(), &assessment.findings[i]))
                    .collect(),
            },
        })
        .collect();
    serde_json::to_writer(
        &mut *out,
        &FeatureCollectionOut {
            kind: "FeatureCollection",
            format: FORMAT,
            features,
        },
    )?;
    out.write_all(b"\n")?;
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
    for (agreement, assessment) in &run.assessments {
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
        for (party, tally) in &assessment.summary.parties {
            md.push_str(&tally_row(party, tally));
        }
        md.push_str(&tally_row("**all incidents**", &assessment.summary.total));
        md.push('\n');
        for (party, (at, after)) in &assessment.releases {
            let _ = writeln!(
                md,
                "- {party} released by reciprocity from {} after {after}",
                time(*at)
            );
        }
        let notable: Vec<_> = run
            .incidents
            .iter()
            .zip(&assessment.findings)
            .filter(|(_, f)| {
                matches!(
                    f.verdict,
                    truce_engine::adjudicate::Verdict::Violation
                        | truce_engine::adjudicate::Verdict::Disputed
                )
            })
            .collect();
        if !notable.is_empty() {
            let _ = writeln!(md, "### Violations and disputed incidents\n");
            for (incident, finding) in notable.iter().take(50) {
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
            if notable.len() > 50 {
                let _ = writeln!(
                    md,
                    "- … and {} more (see the JSON or CSV output)",
                    notable.len() - 50
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
