//! `/v1/agreements/{id}/incidents` and `/v1/agreements/{id}/statistics`:
//! the live incidents and findings of an agreement version (see
//! [`crate::live`]), as the reader may see them.
//!
//! A submission's receipt is sent after its reports are in the incidents
//! and findings, so a read made after the receipt includes them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use truce_store::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Store};
use utoipa::IntoParams;

use crate::api::reports::{parse_bbox, parse_instant};
use crate::auth::ReaderAuth;
use crate::error::{ApiError, FieldProblem};
use crate::live::{Dimension, IncidentSelection, Published, parse_verdict};
use crate::state::AppState;
use crate::views::{IncidentDetail, IncidentPage, IncidentView, StatisticsView, Viewer};

fn bad(parameter: &'static str, detail: String) -> ApiError {
    ApiError::BadParameter(FieldProblem::parameter(parameter, detail))
}

/// The published live state of agreement `id` at `version` (the newest
/// when absent); 404 when there is none.
pub(crate) async fn published(
    state: &AppState,
    id: &str,
    version: Option<&str>,
) -> Result<Arc<Published>, ApiError> {
    let version = version
        .map(|text| {
            text.parse::<u32>()
                .map_err(|_| bad("version", format!("{text:?} is not a version number")))
        })
        .transpose()?;
    let live = state
        .shared
        .live
        .version(id, version)
        .ok_or_else(|| ApiError::NotFound {
            what: match version {
                Some(version) => format!("agreement {id:?} version {version}"),
                None => format!("agreement {id:?}"),
            },
            parameter: if version.is_some() { "version" } else { "id" },
        })?;
    tokio::task::spawn_blocking(move || live.published())
        .await
        .map_err(|error| ApiError::internal(&error))
}

/// The position of the interpretation named `name` (the first, `common`,
/// when absent).
pub(crate) fn interpretation(published: &Published, name: Option<&str>) -> Result<usize, ApiError> {
    match name {
        None => Ok(0),
        Some(name) => published.interpretation(name).ok_or_else(|| {
            bad(
                "interpretation",
                format!(
                    "agreement {:?} version {} has no interpretation {name:?} (it has {})",
                    published.agreement_id,
                    published.version,
                    published.interpretations.join(", ")
                ),
            )
        }),
    }
}

/// The opaque cursor after incident `id`: base64url (no padding) of the id.
fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid = || bad("cursor", format!("invalid cursor {cursor:?}"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid())?;
    if encode_cursor(&id) == cursor {
        Ok(id)
    } else {
        Err(invalid())
    }
}

fn viewer<'a>(state: &AppState, reader: &'a ReaderAuth) -> Viewer<'a> {
    Viewer {
        role: reader.role(),
        party: reader.party(),
        cell_deg: state.shared.config.coarsen_cell_deg,
    }
}

/// Filters and paging of the incident list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IncidentQuery {
    /// The agreement version (the newest when absent).
    version: Option<String>,
    /// The interpretation the filters apply to (`common` when absent).
    interpretation: Option<String>,
    /// The finding's verdict: `violation`, `alleged`, `disputed`, `no_violation`, `undetermined`.
    verdict: Option<String>,
    /// The finding concerns this party.
    party: Option<String>,
    /// The finding places the act in this zone.
    zone: Option<String>,
    /// Overlapping the time from this RFC 3339 instant on.
    from: Option<String>,
    /// Overlapping the time up to this RFC 3339 instant.
    to: Option<String>,
    /// `minlon,minlat,maxlon,maxlat` in degrees, applied to the location the reader sees.
    bbox: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<String>,
}

/// The incidents of an agreement version with their findings under every
/// interpretation, by incident id, filtered by the finding under one
/// interpretation.
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}/incidents",
    tag = "incidents",
    params(("id" = String, Path, description = "The agreement's id"), IncidentQuery),
    responses(
        (status = 200, description = "A page of incidents", body = IncidentPage),
        (status = 400, description = "A parameter that is not valid, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement or version", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<IncidentQuery>, axum::extract::rejection::QueryRejection>,
    reader: ReaderAuth,
) -> Result<Json<IncidentPage>, ApiError> {
    let Query(query) = query.map_err(|error| bad("query", error.body_text()))?;
    let published = published(&state, &id, query.version.as_deref()).await?;
    let verdict = query
        .verdict
        .as_deref()
        .map(|text| {
            parse_verdict(text).ok_or_else(|| {
                bad(
                    "verdict",
                    format!("{text:?} is not one of violation, alleged, disputed, no_violation, undetermined"),
                )
            })
        })
        .transpose()?;
    let time = match (&query.from, &query.to) {
        (None, None) => None,
        (from, to) => {
            let from = from
                .as_deref()
                .map(|text| parse_instant("from", text))
                .transpose()?
                .unwrap_or(i64::MIN);
            let to = to
                .as_deref()
                .map(|text| parse_instant("to", text))
                .transpose()?
                .unwrap_or(i64::MAX);
            if from > to {
                return Err(bad("from", format!("from {from} ms is after to {to} ms")));
            }
            Some((from, to))
        }
    };
    let limit = match query.limit.as_deref() {
        None => DEFAULT_PAGE_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE_LIMIT).contains(limit))
            .ok_or_else(|| {
                bad(
                    "limit",
                    format!("{text:?} is not a page size from 1 to 1000"),
                )
            })?,
    };
    let bbox = query.bbox.as_deref().map(parse_bbox).transpose()?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let selection = IncidentSelection {
        interpretation: interpretation(&published, query.interpretation.as_deref())?,
        verdict,
        party: query.party,
        zone: query.zone,
        time,
    };
    let viewer = viewer(&state, &reader);
    let (positions, more) = published.page(
        after.as_deref(),
        usize::try_from(limit).unwrap_or(usize::MAX),
        |position| {
            published.selects(position, &selection)
                && bbox.is_none_or(|bbox| {
                    viewer
                        .incident_location(&published, position)
                        .is_some_and(|shown| bbox.contains(shown.lon, shown.lat))
                })
        },
    );
    let items: Vec<IncidentView> = positions
        .iter()
        .filter_map(|&position| viewer.incident(&published, position))
        .collect();
    let next_cursor = if more {
        items.last().map(|last| encode_cursor(&last.id))
    } else {
        None
    };
    Ok(Json(IncidentPage {
        agreement_id: published.agreement_id.clone(),
        agreement_version: published.version,
        items,
        next_cursor,
    }))
}

/// Which version of the agreement.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VersionQuery {
    /// The agreement version (the newest when absent).
    version: Option<String>,
}

/// One incident: its findings under every interpretation (reasons in
/// words) and its member reports as the reader may see them.
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}/incidents/{incident_id}",
    tag = "incidents",
    params(
        ("id" = String, Path, description = "The agreement's id"),
        ("incident_id" = String, Path, description = "The incident's id (`inc-` and its smallest report id)"),
        VersionQuery,
    ),
    responses(
        (status = 200, description = "The incident", body = IncidentDetail),
        (status = 400, description = "A parameter that is not valid, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement, version or incident", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path((id, incident_id)): Path<(String, String)>,
    query: Result<Query<VersionQuery>, axum::extract::rejection::QueryRejection>,
    reader: ReaderAuth,
) -> Result<Json<IncidentDetail>, ApiError> {
    let Query(query) = query.map_err(|error| bad("query", error.body_text()))?;
    let published = published(&state, &id, query.version.as_deref()).await?;
    let viewer = viewer(&state, &reader);
    let incident = published
        .incident(&incident_id)
        .and_then(|position| viewer.incident(&published, position))
        .ok_or_else(|| ApiError::NotFound {
            what: format!(
                "incident {incident_id:?} of agreement {id:?} version {}",
                published.version
            ),
            parameter: "incident_id",
        })?;
    let mut reports = Vec::with_capacity(incident.report_log_indexes.len());
    for &log_index in &incident.report_log_indexes {
        let record = state
            .store()
            .report(log_index)
            .await
            .map_err(|error| ApiError::internal(&error))?
            .ok_or_else(|| {
                ApiError::internal(&format!("the report at {log_index} is not in the store"))
            })?;
        reports.push(viewer.report(record));
    }
    let report_ids: Vec<&str> = incident.report_ids.iter().map(String::as_str).collect();
    let contests = state
        .shared
        .live
        .contests_about(&id, published.version, &incident_id, &report_ids)
        .iter()
        .map(|record| viewer.contest(record))
        .collect();
    Ok(Json(IncidentDetail {
        incident,
        reports,
        contests,
    }))
}

/// Which findings to count, grouped how.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatisticsQuery {
    /// The agreement version (the newest when absent).
    version: Option<String>,
    /// The interpretation (`common` when absent).
    interpretation: Option<String>,
    /// Comma-separated dimensions among `party`, `verdict`, `day`, `zone` (none: one total).
    group_by: Option<String>,
}

/// Counts of an agreement version's findings under one interpretation,
/// grouped by party, verdict, day (in the agreement's time zone) and zone.
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}/statistics",
    tag = "incidents",
    params(("id" = String, Path, description = "The agreement's id"), StatisticsQuery),
    responses(
        (status = 200, description = "The counts", body = StatisticsView),
        (status = 400, description = "A parameter that is not valid, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement or version", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn statistics(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<StatisticsQuery>, axum::extract::rejection::QueryRejection>,
    _reader: ReaderAuth,
) -> Result<Json<StatisticsView>, ApiError> {
    let Query(query) = query.map_err(|error| bad("query", error.body_text()))?;
    let published = published(&state, &id, query.version.as_deref()).await?;
    let position = interpretation(&published, query.interpretation.as_deref())?;
    let mut group_by = Vec::new();
    for name in query
        .group_by
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let dimension = Dimension::parse(name).ok_or_else(|| {
            bad(
                "group_by",
                format!("{name:?} is not one of party, verdict, day, zone"),
            )
        })?;
        if !group_by.contains(&dimension) {
            group_by.push(dimension);
        }
    }
    group_by.sort_unstable();
    let rows = published
        .statistics(position, &group_by)
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(StatisticsView {
        agreement_id: published.agreement_id.clone(),
        agreement_version: published.version,
        interpretation: published.interpretations[position].clone(),
        time_zone: published.time_zone.iana_name().unwrap_or("UTC").to_owned(),
        group_by: group_by
            .iter()
            .map(|dimension| dimension.as_str().to_owned())
            .collect(),
        incidents: published.n_incidents() as u64,
        rows,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cursors_round_trip_and_only_canonical_ones_decode() {
        for id in ["inc-a", "inc-r001", "inc-ü/β"] {
            assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        }
        for cursor in ["!!", "aW5jLWE=", "/w"] {
            let error = decode_cursor(cursor).unwrap_err();
            assert_eq!(
                error.problem().errors[0].parameter.as_deref(),
                Some("cursor"),
                "{cursor}"
            );
        }
    }
}
