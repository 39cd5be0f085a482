//! GeoJSON (RFC 7946): a FeatureCollection of Point features whose properties carry the
//! report fields; the point gives `lon` and `lat`.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ingest::fields::{RowIssues, build_report};
use crate::ingest::jsonl::{Coordinates, JsonRecord, WireReport, raw_text, type_name};
use crate::ingest::options::IngestOptions;
use crate::ingest::sources::SourceCache;
use crate::ingest::write::WriteError;
use crate::ingest::{IngestError, Ingested, InputFormat};
use crate::repeated_keys::{RepeatedKey, Step, repeated_keys};
use crate::report::Report;

/// Reads a FeatureCollection. Rows are 1-based feature numbers; paths in rejections index
/// features from 0 as JSON does (`features[0]` is row 1).
pub(crate) fn parse(
    file: &str,
    text: &str,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let malformed = |line: u64, reason: String| IngestError::Malformed {
        file: file.to_string(),
        line,
        reason,
    };
    let document: Value = serde_json::from_str(text)
        .map_err(|error| malformed(error.line() as u64, format!("not valid JSON: {error}")))?;
    let Value::Object(collection) = &document else {
        return Err(malformed(
            1,
            format!(
                "expected a GeoJSON FeatureCollection object, found {}",
                type_name(&document)
            ),
        ));
    };
    match collection.get("type") {
        Some(Value::String(kind)) if kind == "FeatureCollection" => {}
        Some(other) => {
            return Err(malformed(
                1,
                format!(
                    "expected a GeoJSON FeatureCollection, found type `{}`",
                    raw_text(other)
                ),
            ));
        }
        None => {
            return Err(malformed(
                1,
                "expected a GeoJSON FeatureCollection; the object has no `type`".to_string(),
            ));
        }
    }
    let features = match collection.get("features") {
        Some(Value::Array(features)) => features,
        Some(other) => {
            return Err(malformed(
                1,
                format!("`features` must be an array, found {}", type_name(other)),
            ));
        }
        None => {
            return Err(malformed(
                1,
                "the FeatureCollection has no `features`".to_string(),
            ));
        }
    };
    if features.is_empty() {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    // A map keeps the last value of a key given twice; the document says two things there,
    // and neither is taken silently. Outside the features that is the whole file; inside,
    // the feature.
    let mut repeats_by_feature: Vec<Vec<RepeatedKey>> = vec![Vec::new(); features.len()];
    for repeat in repeated_keys(text) {
        match repeat.object.as_slice() {
            [Step::Key(key), Step::Index(index), ..]
                if key == "features" && *index < features.len() =>
            {
                repeats_by_feature[*index].push(repeat);
            }
            _ => {
                return Err(malformed(
                    repeat.line.unwrap_or(1),
                    format!("`{}`: {}", repeat.path(""), repeat.reason()),
                ));
            }
        }
    }
    let empty = Map::new();
    let mut ingested = Ingested::default();
    let mut sources = SourceCache::default();
    for (index, feature) in features.iter().enumerate() {
        let row = index as u64 + 1;
        let prefix = format!("features[{index}]");
        let mut issues = RowIssues::new(file, row);
        for repeat in &repeats_by_feature[index] {
            issues.reject(Some(repeat.path("")), None, repeat.reason());
        }
        let Value::Object(feature) = feature else {
            issues.reject(
                Some(prefix),
                None,
                format!("a feature must be an object, found {}", type_name(feature)),
            );
            ingested.rejections.append(&mut issues.rejections);
            continue;
        };
        let properties = match feature.get("properties") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(properties)) => properties,
            Some(other) => {
                issues.reject(
                    Some(format!("{prefix}.properties")),
                    None,
                    format!("properties must be an object, found {}", type_name(other)),
                );
                ingested.rejections.append(&mut issues.rejections);
                continue;
            }
        };
        let coordinates = point_coordinates(feature, &prefix, &mut issues);
        let record = JsonRecord {
            properties,
            path: format!("{prefix}.properties."),
            coordinates,
            id_fallback: feature.get("id"),
        };
        record.unknown_keys(&mut issues);
        match build_report(&record, options, &mut sources, &mut issues) {
            Some(report) if issues.is_clean() => {
                ingested.reports.push(report);
                ingested.rows.push(row);
            }
            _ => ingested.rejections.append(&mut issues.rejections),
        }
    }
    Ok(ingested)
}

/// The coordinates of a Point geometry, or a rejection.
fn point_coordinates<'v>(
    feature: &'v Map<String, Value>,
    prefix: &str,
    issues: &mut RowIssues<'_>,
) -> Coordinates<'v> {
    let geometry_path = format!("{prefix}.geometry");
    let geometry = match feature.get("geometry") {
        None | Some(Value::Null) => {
            issues.reject(
                Some(geometry_path),
                None,
                "the feature has no geometry; a Point is required",
            );
            return Coordinates::Rejected;
        }
        Some(Value::Object(geometry)) => geometry,
        Some(other) => {
            issues.reject(
                Some(geometry_path),
                None,
                format!("geometry must be an object, found {}", type_name(other)),
            );
            return Coordinates::Rejected;
        }
    };
    match geometry.get("type") {
        Some(Value::String(kind)) if kind == "Point" => {}
        Some(other) => {
            let kind = raw_text(other);
            issues.reject(
                Some(format!("{geometry_path}.type")),
                Some(&kind),
                format!("geometry is a {kind}; only Point features are read"),
            );
            return Coordinates::Rejected;
        }
        None => {
            issues.reject(
                Some(format!("{geometry_path}.type")),
                None,
                "the geometry has no type; a Point is required",
            );
            return Coordinates::Rejected;
        }
    }
    let path = format!("{geometry_path}.coordinates");
    match geometry.get("coordinates") {
        Some(Value::Array(values)) if values.len() >= 2 => Coordinates::Point { values, path },
        other => {
            issues.reject(
                Some(path),
                other.map(raw_text).as_deref(),
                "a Point's coordinates must be [longitude, latitude]",
            );
            Coordinates::Rejected
        }
    }
}

/// A feature as written: members in the conventional order.
#[derive(Debug, Serialize)]
struct FeatureOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: PointOut,
    properties: WireReport<'a>,
}

#[derive(Debug, Serialize)]
struct PointOut {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

/// Writes a FeatureCollection, one feature per line.
pub(crate) fn write(reports: &[Report], out: &mut dyn Write) -> Result<(), WriteError> {
    let mut out = std::io::BufWriter::new(out);
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    for (index, report) in reports.iter().enumerate() {
        let properties = WireReport::new(InputFormat::Geojson, report, false)?;
        let feature = FeatureOut {
            kind: "Feature",
            id: &report.id,
            geometry: PointOut {
                kind: "Point",
                coordinates: [report.location.lon, report.location.lat],
            },
            properties,
        };
        out.write_all(if index == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut out, &feature).map_err(std::io::Error::from)?;
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    Ok(())
}
