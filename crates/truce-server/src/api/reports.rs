//! `/v1/reports`: submitting reports (one, or a batch all-or-nothing) and
//! reading them as the reader's role allows.
//!
//! A report is the JSON Lines object of `docs/report-format.md` plus an
//! `agreement` member naming the agreement it is submitted under. It is
//! read by `truce_model::ingest` (so validation and messages are those of
//! `truce assess`), with the source fields taken from the signing key:
//! `source_id`, `source_kind` and `source_party` may be left out, and if
//! given must be the key's own (a party's key cannot speak for another
//! party: 403).
//!
//! On the log, a report's source id is always committed (the public cannot
//! tell who reported), and a monitor's exact position and place name are
//! committed with the coarsened location shown in their place. The
//! openings go to the journal and the clear values to the store.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use serde_json::Value;
use truce_auth::{Action, require};
use truce_log::entry::{Entry, Filing, ReportDisclosure, ReportEntry};
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports};
use truce_model::{Report, SourceKind};
use truce_store::{BoundingBox, PageRequest, ReportFilter, Store, TimeWindow};
use utoipa::IntoParams;

use crate::api::{
    StoreSize, commit, earlier_submission, escape_pointer, parse_json, read_store, store_read_error,
};
use crate::auth::{Caller, LargeBody, ReaderAuth, Signed, SingleBody};
use crate::error::{ApiError, FieldProblem};
use crate::journal::Openings;
use crate::state::AppState;
use crate::views::{ReportPage, ReportView, Viewer, coarse_location};
use crate::writer::PreparedEntry;

/// The member naming a report's agreement.
const AGREEMENT_MEMBER: &str = "agreement";

/// Submits one report.
#[utoipa::path(
    post,
    path = "/v1/reports",
    tag = "reports",
    request_body(content = Object, description = "A report in the JSON Lines shape of docs/report-format.md, plus `agreement`; the source fields come from the key"),
    responses(
        (status = 201, description = "Logged; the receipt", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed JSON or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not report, or the report speaks for another source or party", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report id is already used under the agreement", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid report: every problem with its JSON pointer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn submit_one(
    State(state): State<AppState>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    require(caller.role, Action::SubmitReport)?;
    if let Some(answer) = earlier_submission(&state, caller).await? {
        return Ok(answer);
    }
    let item: Value = parse_json(&signed.body)?;
    let entries = prepare(&state, caller, vec![(String::new(), item)]).await?;
    commit(&state, caller, entries).await
}

/// Submits a batch of reports, all or nothing.
#[utoipa::path(
    post,
    path = "/v1/reports/batch",
    tag = "reports",
    request_body(content = Vec<Object>, description = "An array of reports as for POST /v1/reports"),
    responses(
        (status = 201, description = "All logged; a receipt per report, in order", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipts", body = crate::views::Submitted),
        (status = 400, description = "Malformed JSON or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not report, or a report speaks for another source or party", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A report id is already used under its agreement; nothing was logged", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reports: every bad item with its JSON pointer (`/3/lat`); nothing was logged", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn submit_batch(
    State(state): State<AppState>,
    signed: Signed<LargeBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    require(caller.role, Action::SubmitReport)?;
    if let Some(answer) = earlier_submission(&state, caller).await? {
        return Ok(answer);
    }
    let items: Vec<Value> = parse_json(&signed.body)?;
    if items.is_empty() {
        return Err(ApiError::invalid_at(
            "",
            "a batch holds at least one report",
        ));
    }
    let items = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| (format!("/{index}"), item))
        .collect();
    let entries = prepare(&state, caller, items).await?;
    commit(&state, caller, entries).await
}

/// Turns a `$.field` ingest column into a JSON pointer below `prefix`.
fn pointer_of_column(prefix: &str, column: Option<&str>) -> String {
    let Some(column) = column else {
        return prefix.to_owned();
    };
    let path = column.strip_prefix("$.").unwrap_or(column);
    let mut pointer = prefix.to_owned();
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (name, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(name, rest)| (name, rest));
        pointer.push('/');
        pointer.push_str(&escape_pointer(name));
        for index in indexes.split('[') {
            let index = index.trim_end_matches(']');
            if !index.is_empty() {
                pointer.push('/');
                pointer.push_str(index);
            }
        }
    }
    pointer
}

/// Validates report items (`(pointer, value)`) and builds their entries.
/// Every problem of every item is reported at once; nothing is logged if
/// any item is bad.
async fn prepare(
    state: &AppState,
    caller: &Caller,
    items: Vec<(String, Value)>,
) -> Result<Vec<PreparedEntry>, ApiError> {
    let mut problems: Vec<(usize, FieldProblem)> = Vec::new();
    let mut lines = Vec::with_capacity(items.len());
    let mut line_items = Vec::with_capacity(items.len());
    let mut agreements: Vec<Option<String>> = vec![None; items.len()];
    let prefixes: Vec<String> = items.iter().map(|(prefix, _)| prefix.clone()).collect();
    let kind = caller.kind.as_str();
    for (position, (prefix, item)) in items.into_iter().enumerate() {
        let Value::Object(mut object) = item else {
            problems.push((
                position,
                FieldProblem::at(prefix, "a report is a JSON object"),
            ));
            continue;
        };
        match object.remove(AGREEMENT_MEMBER) {
            Some(Value::String(agreement)) if !agreement.trim().is_empty() => {
                agreements[position] = Some(agreement);
            }
            Some(other) => problems.push((
                position,
                FieldProblem::at(format!("{prefix}/{AGREEMENT_MEMBER}"), format!("the agreement must be a non-empty string, not {other}")),
            )),
            None => problems.push((
                position,
                FieldProblem::at(format!("{prefix}/{AGREEMENT_MEMBER}"), "required field is missing: the id of the agreement the report is submitted under"),
            )),
        }
        let own = [
            ("source_id", Some(caller.key.as_str())),
            ("source_kind", Some(kind)),
            ("source_party", caller.party.as_deref()),
        ];
        for (field, expected) in own {
            match object.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::String(given)) if Some(given.as_str()) == expected => {}
                Some(given) => {
                    let expected =
                        expected.map_or_else(|| "absent".to_owned(), |value| format!("{value:?}"));
                    return Err(ApiError::Impersonation(FieldProblem::at(
                        format!("{prefix}/{field}"),
                        format!(
                            "{field} is {given} but the signing key's is {expected}: a key reports only as its own source and party"
                        ),
                    )));
                }
            }
            match expected {
                Some(value) => object.insert(field.to_owned(), Value::String(value.to_owned())),
                None => object.remove(field),
            };
        }
        lines.push(Value::Object(object).to_string());
        line_items.push(position);
    }

    let mut reports: Vec<Option<Report>> = vec![None; prefixes.len()];
    if !lines.is_empty() {
        let text = lines.join("\n");
        match parse_reports(
            InputFormat::Jsonl,
            "request",
            text.as_bytes(),
            &IngestOptions::default(),
        ) {
            Ok(ingested) => {
                for rejection in ingested.rejections {
                    let Some(&position) = usize::try_from(rejection.row)
                        .ok()
                        .and_then(|row| line_items.get(row.wrapping_sub(1)))
                    else {
                        continue;
                    };
                    let pointer =
                        pointer_of_column(&prefixes[position], rejection.column.as_deref());
                    let detail = match &rejection.value {
                        Some(value) => format!("{} (value {value:?})", rejection.reason),
                        None => rejection.reason.clone(),
                    };
                    problems.push((position, FieldProblem::at(pointer, detail)));
                }
                for (report, row) in ingested.reports.into_iter().zip(ingested.rows) {
                    if let Some(&position) = usize::try_from(row)
                        .ok()
                        .and_then(|row| line_items.get(row.wrapping_sub(1)))
                    {
                        reports[position] = Some(report);
                    }
                }
            }
            Err(error) => problems.push((0, FieldProblem::at("", error.to_string()))),
        }
    }

    // Agreements must exist; ids must be unique per agreement within the request.
    let names: BTreeSet<&String> = agreements.iter().flatten().collect();
    let mut unknown = HashSet::new();
    for name in names {
        if !state.agreement_exists(name).await? {
            unknown.insert(name.clone());
        }
    }
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (position, agreement) in agreements.iter().enumerate() {
        let Some(agreement) = agreement else { continue };
        if unknown.contains(agreement) {
            problems.push((
                position,
                FieldProblem::at(
                    format!("{}/{AGREEMENT_MEMBER}", prefixes[position]),
                    format!("unknown agreement {agreement:?}: submit the agreement first"),
                ),
            ));
        }
        if let Some(report) = &reports[position]
            && let Some(first) = seen.insert((agreement.clone(), report.id.to_string()), position)
        {
            problems.push((
                position,
                FieldProblem::at(
                    format!("{}/id", prefixes[position]),
                    format!(
                        "report id {:?} is also used by item {first} of this batch",
                        report.id.as_str()
                    ),
                ),
            ));
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|(position, _)| *position);
        let bad: BTreeSet<usize> = problems.iter().map(|(position, _)| *position).collect();
        return Err(ApiError::Invalid {
            detail: format!(
                "{} of {} report(s) are not valid; nothing was logged",
                bad.len(),
                prefixes.len()
            ),
            errors: problems.into_iter().map(|(_, problem)| problem).collect(),
        });
    }

    let cell_deg = state.shared.config.coarsen_cell_deg;
    let mut entries = Vec::with_capacity(reports.len());
    for ((report, agreement), prefix) in reports.into_iter().zip(agreements).zip(prefixes) {
        let (Some(report), Some(agreement)) = (report, agreement) else {
            return Err(ApiError::internal(&"a validated report went missing"));
        };
        let mut disclosure = ReportDisclosure {
            source_id: Some(salt()?),
            ..ReportDisclosure::default()
        };
        if caller.kind == SourceKind::Monitor {
            let shown = coarse_location(report.location, cell_deg).ok_or_else(|| {
                ApiError::invalid_at(format!("{prefix}/lon"), "the position cannot be coarsened")
            })?;
            disclosure.location = Some((salt()?, shown));
            if report.place().is_some() {
                disclosure.place = Some(salt()?);
            }
        }
        let (mut entry, openings) =
            ReportEntry::from_report(&report, &disclosure).map_err(|error| {
                let pointer = match &error {
                    truce_log::entry::EncodeError::Evidence { .. } => format!("{prefix}/evidence"),
                    _ => prefix.clone(),
                };
                ApiError::invalid_at(pointer, error.to_string())
            })?;
        // Entry format 2: the agreement and the request's time go into the log, so which
        // agreement a report counts under follows from the log alone. (Who submitted it stays
        // committed, as the source id is: the public never sees source identities.)
        entry.filing = Some(Filing {
            agreement_id: agreement.clone(),
            submitted_ms: caller.timestamp_ms,
        });
        // The writer stores the text with the group's other bodies, synced, before logging.
        let bodies = if report.text().is_empty() {
            Vec::new()
        } else {
            vec![report.text().as_bytes().to_vec()]
        };
        let entry = Entry::Report(entry);
        let bytes = entry
            .encode()
            .map_err(|error| ApiError::invalid_at(prefix.clone(), error.to_string()))?;
        entries.push(PreparedEntry {
            entry,
            bytes,
            agreement: Some(agreement),
            openings: Openings::from_report_openings(&openings),
            pointer: prefix,
            bodies,
        });
    }
    Ok(entries)
}

/// 32 random bytes for a commitment.
fn salt() -> Result<[u8; 32], ApiError> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).map_err(|error| ApiError::internal(&error))?;
    Ok(salt)
}

/// One report, as the reader may see it.
#[utoipa::path(
    get,
    path = "/v1/reports/{index}",
    tag = "reports",
    params(("index" = u64, Path, description = "The report's log index")),
    responses(
        (status = 200, description = "The report", body = ReportView, headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 400, description = "An index that is not a number, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No report at this index (in the store at the size the header names)", body = crate::error::Problem, content_type = "application/problem+json", headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path(index): Path<String>,
    reader: ReaderAuth,
) -> Result<Response, ApiError> {
    let index: u64 = index.parse().map_err(|_| {
        ApiError::BadParameter(FieldProblem::parameter(
            "index",
            format!("{index:?} is not a log index"),
        ))
    })?;
    let (store, size) = read_store(&state).await?;
    let Some(record) = store
        .report(index)
        .await
        .map_err(|error| ApiError::internal(&error))?
    else {
        // Not in the store at this size: a replica behind the log may have it later.
        let missing = ApiError::NotFound {
            what: format!("report at index {index}"),
            parameter: "index",
        };
        return Ok((size, missing).into_response());
    };
    let viewer = Viewer {
        role: reader.role(),
        party: reader.party(),
        cell_deg: state.shared.config.coarsen_cell_deg,
    };
    let mut view = viewer.report(record);
    if reader.role() != truce_auth::Role::Public {
        let entry = state
            .with_log(move |log| log.entry(index))
            .await?
            .map_err(|error| ApiError::internal(&error))?;
        if let Ok(Entry::Report(report)) = Entry::decode(&entry)
            && let Some(hash) = report.text_sha256
        {
            view.text = state
                .get_blob(hash.0)
                .await?
                .map(|text| String::from_utf8_lossy(&text).into_owned());
        }
    }
    Ok((size, Json(view)).into_response())
}

/// Filters and paging of the report list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// Submitted under this agreement.
    agreement: Option<String>,
    /// Falling in this zone of its agreement.
    zone: Option<String>,
    /// Submitted by a source of this party.
    party: Option<String>,
    /// Accusing this actor.
    actor: Option<String>,
    /// Submitted by a source of this kind.
    source_kind: Option<String>,
    /// Overlapping the time from this RFC 3339 instant on.
    from: Option<String>,
    /// Overlapping the time up to this RFC 3339 instant.
    to: Option<String>,
    /// `minlon,minlat,maxlon,maxlat` in degrees.
    bbox: Option<String>,
    /// In an incident whose finding (under `interpretation`, by the
    /// agreement's newest version) has this verdict: `violation`,
    /// `alleged`, `disputed`, `no_violation`, `undetermined`.
    verdict: Option<String>,
    /// The interpretation `verdict` refers to (`common` when absent).
    interpretation: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<String>,
}

/// The log indexes of the reports whose incident's finding has `verdict`
/// under `interpretation`, in the newest version of `agreement` (of every
/// agreement when `None`; an agreement without that interpretation then
/// contributes nothing).
async fn with_verdict(
    state: &AppState,
    agreement: Option<&str>,
    verdict: &str,
    interpretation: Option<&str>,
) -> Result<BTreeSet<u64>, ApiError> {
    let verdict = crate::live::parse_verdict(verdict).ok_or_else(|| {
        ApiError::BadParameter(FieldProblem::parameter(
            "verdict",
            format!(
                "{verdict:?} is not one of violation, alleged, disputed, no_violation, undetermined"
            ),
        ))
    })?;
    let mut indexes = BTreeSet::new();
    let Some(agreement) = agreement else {
        for live in state.shared.live.latest_versions() {
            let published = tokio::task::spawn_blocking(move || live.published())
                .await
                .map_err(|error| ApiError::internal(&error))?;
            if let Ok(position) = crate::api::incidents::interpretation(&published, interpretation)
            {
                indexes.extend(published.log_indexes_with_verdict(position, verdict));
            }
        }
        return Ok(indexes);
    };
    if state.shared.live.version(agreement, None).is_none() {
        return Ok(indexes);
    }
    let published = crate::api::incidents::published(state, agreement, None).await?;
    let position = crate::api::incidents::interpretation(&published, interpretation)?;
    indexes.extend(published.log_indexes_with_verdict(position, verdict));
    Ok(indexes)
}

pub(crate) fn parse_instant(parameter: &'static str, text: &str) -> Result<i64, ApiError> {
    jiff::Timestamp::from_str(text)
        .map(|instant| instant.as_millisecond())
        .map_err(|error| {
            ApiError::BadParameter(FieldProblem::parameter(
                parameter,
                format!("{text:?} is not an RFC 3339 instant: {error}"),
            ))
        })
}

pub(crate) fn parse_bbox(text: &str) -> Result<BoundingBox, ApiError> {
    let bad = |reason: &str| {
        ApiError::BadParameter(FieldProblem::parameter(
            "bbox",
            format!("{text:?} {reason}"),
        ))
    };
    let values: Vec<f64> = text
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("is not four numbers minlon,minlat,maxlon,maxlat"))?;
    let [min_lon, min_lat, max_lon, max_lat] = values[..] else {
        return Err(bad("is not four numbers minlon,minlat,maxlon,maxlat"));
    };
    let bbox = BoundingBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    };
    let in_range = (-180.0..=180.0).contains(&min_lon)
        && (-180.0..=180.0).contains(&max_lon)
        && (-90.0..=90.0).contains(&min_lat)
        && (-90.0..=90.0).contains(&max_lat);
    if !in_range || min_lon > max_lon || min_lat > max_lat {
        return Err(bad(
            "needs longitudes in -180..180, latitudes in -90..90 and each minimum at most its maximum",
        ));
    }
    Ok(bbox)
}

/// Reports matching the filters, a page at a time, as the reader may see
/// them. `verdict` keeps the reports of incidents whose live finding has
/// that verdict (see `/v1/agreements/{id}/incidents`). A bounding box is applied to the position the reader sees (the
/// coarsened one for monitors' reports, for readers who see no exact
/// monitor positions), so it reveals nothing finer than the view.
#[utoipa::path(
    get,
    path = "/v1/reports",
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "A page of reports", body = ReportPage, headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 400, description = "A parameter that is not valid, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
    reader: ReaderAuth,
) -> Result<(StoreSize, Json<ReportPage>), ApiError> {
    let Query(query) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("query", error.body_text()))
    })?;
    let time = match (&query.from, &query.to) {
        (None, None) => None,
        (from, to) => Some(TimeWindow {
            start_ms: from
                .as_deref()
                .map(|text| parse_instant("from", text))
                .transpose()?
                .unwrap_or(i64::MIN),
            end_ms: to
                .as_deref()
                .map(|text| parse_instant("to", text))
                .transpose()?
                .unwrap_or(i64::MAX),
        }),
    };
    let limit = query
        .limit
        .as_deref()
        .map(|text| {
            text.parse::<u32>().map_err(|_| {
                ApiError::BadParameter(FieldProblem::parameter(
                    "limit",
                    format!("{text:?} is not a page size from 1 to 1000"),
                ))
            })
        })
        .transpose()?;
    let bbox = query.bbox.as_deref().map(parse_bbox).transpose()?;
    let viewer = Viewer {
        role: reader.role(),
        party: reader.party(),
        cell_deg: state.shared.config.coarsen_cell_deg,
    };
    // Monitors' positions the reader sees coarsened: ask the store for a box
    // grown by half a cell, then keep what the reader's view puts in the box.
    let coarse = !viewer.sees_exact_position("monitor");
    let store_bbox = bbox.map(|bbox| {
        if coarse {
            let half = viewer.cell_deg / 2.0;
            BoundingBox {
                min_lon: (bbox.min_lon - half).max(-180.0),
                min_lat: (bbox.min_lat - half).max(-90.0),
                max_lon: (bbox.max_lon + half).min(180.0),
                max_lat: (bbox.max_lat + half).min(90.0),
            }
        } else {
            bbox
        }
    });
    let log_indexes = match query.verdict.as_deref() {
        Some(verdict) => Some(
            with_verdict(
                &state,
                query.agreement.as_deref(),
                verdict,
                query.interpretation.as_deref(),
            )
            .await?,
        ),
        None if query.interpretation.is_some() => {
            return Err(ApiError::BadParameter(FieldProblem::parameter(
                "interpretation",
                "interpretation is only used with verdict",
            )));
        }
        None => None,
    };
    let filter = ReportFilter {
        agreement_id: query.agreement,
        zone_id: query.zone,
        party: query.party,
        actor: query.actor,
        source_kind: query.source_kind,
        time,
        bbox: store_bbox,
        log_indexes,
    };
    filter.validate().map_err(store_read_error)?;
    let (store, size) = read_store(&state).await?;
    let page = store
        .reports(
            &filter,
            PageRequest {
                cursor: query.cursor,
                limit,
            },
        )
        .await
        .map_err(store_read_error)?;
    let items = page
        .items
        .into_iter()
        .map(|record| viewer.report(record))
        .filter(|view| match (bbox, &view.location) {
            (None, _) => true,
            (Some(bbox), Some(location)) => bbox.contains(location.lon, location.lat),
            (Some(_), None) => false,
        })
        .collect();
    Ok((
        size,
        Json(ReportPage {
            items,
            next_cursor: page.next_cursor,
        }),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ingest_columns_become_pointers() {
        assert_eq!(pointer_of_column("/3", Some("$.lat")), "/3/lat");
        assert_eq!(pointer_of_column("", Some("$.actors[2]")), "/actors/2");
        assert_eq!(pointer_of_column("/0", None), "/0");
    }

    #[test]
    fn bounding_boxes_are_checked() {
        let bbox = parse_bbox("30,45,40,50").unwrap();
        assert_eq!((bbox.min_lon, bbox.max_lat), (30.0, 50.0));
        for bad in ["30,45,40", "a,b,c,d", "40,45,30,50", "30,45,40,95"] {
            let error = parse_bbox(bad).unwrap_err();
            assert_eq!(
                error.problem().errors[0].parameter.as_deref(),
                Some("bbox"),
                "{bad}"
            );
        }
    }

    #[test]
    fn instants_are_rfc3339() {
        assert_eq!(
            parse_instant("from", "2025-03-18T00:00:00Z").unwrap(),
            1_742_256_000_000
        );
        assert!(parse_instant("from", "2025-03-18").is_err());
    }
}
