//! Reviews, contests, coverage records and retractions: entries that speak
//! about reports and incidents. Their bodies (reasons, notes, geometry) go
//! to the blob store and the log keeps their hashes.

use std::str::FromStr;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use truce_auth::{Action, may_retract, require};
use truce_log::entry::{
    ContentHash, Contest, Coverage, CoverageKind, Decision, Entry, Retraction, Review,
};
use truce_model::TimeSpan;
use truce_note::KeyName;
use truce_store::Store;
use utoipa::{IntoParams, ToSchema};

use crate::api::{StoreSize, commit, earlier_submission, parse_json, prepared, read_store};
use crate::auth::{Caller, ReaderAuth, Signed, SingleBody};
use crate::error::{ApiError, FieldProblem};
use crate::projection::COMMON_INTERPRETATION;
use crate::state::AppState;
use crate::views::{AnnotationList, Viewer};

/// A monitor's decision on reports.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// The review's id.
    pub review_id: String,
    /// `confirm`, `reject`, `reattribute`, `merge` or `split`.
    pub decision: String,
    /// For `reattribute`: the party the event is attributed to (absent:
    /// nobody known).
    #[serde(default)]
    pub party: Option<String>,
    /// The report ids it concerns.
    pub reports: Vec<String>,
    /// The contest it answers.
    #[serde(default)]
    pub answers_contest: Option<String>,
    /// The reasons (kept in the blob store; the log holds their hash).
    #[serde(default)]
    pub reasons: Option<String>,
}

/// A party disputes a finding.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestRequest {
    /// The contest's id.
    pub contest_id: String,
    /// The party contesting: the key's own (required for keys of no party).
    #[serde(default)]
    pub party: Option<String>,
    /// The agreement of the finding.
    pub agreement_id: String,
    /// Its version.
    pub agreement_version: u32,
    /// Its interpretation (default `common`).
    #[serde(default)]
    pub interpretation: Option<String>,
    /// The incident whose finding is contested.
    pub incident: String,
    /// The log size of the published assessment that holds the finding.
    pub log_size: u64,
    /// The reasons (required).
    pub reasons: String,
    /// Evidence references, `sha256:<64 hex digits>`.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Where and when monitors could see, or were kept from seeing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageRequest {
    /// The record's id.
    pub coverage_id: String,
    /// `patrol`, `fixed_camera`, `drone`, `access_denial` or `jamming`.
    pub kind: String,
    /// Start, RFC 3339.
    pub start: String,
    /// End, RFC 3339 (not before `start`).
    pub end: String,
    /// The public extent `[west, south, east, north]` in degrees.
    pub extent: [f64; 4],
    /// The area: a GeoJSON geometry (kept in the blob store).
    #[schema(value_type = Object)]
    pub area: Value,
    /// The party that denied access or jammed.
    #[serde(default)]
    pub restricted_by: Option<String>,
    /// A note (kept in the blob store).
    #[serde(default)]
    pub note: Option<String>,
}

/// A source withdraws its own report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractionRequest {
    /// The agreement the report was submitted under.
    pub agreement: String,
    /// The report's id.
    pub report_id: String,
    /// Why (kept in the blob store).
    #[serde(default)]
    pub reason: Option<String>,
}

fn non_empty(pointer: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_at(pointer, "must not be empty"));
    }
    Ok(())
}

/// Stores an optional body and returns its hash.
async fn optional_body(
    state: &AppState,
    body: Option<String>,
) -> Result<Option<ContentHash>, ApiError> {
    match body.filter(|text| !text.is_empty()) {
        Some(text) => Ok(Some(ContentHash(state.put_blob(text.into_bytes()).await?))),
        None => Ok(None),
    }
}

/// The common start of every annotation write: the role, then a resent
/// request's earlier answer.
async fn begin(
    state: &AppState,
    caller: &Caller,
    action: Action,
) -> Result<Option<Response>, ApiError> {
    require(caller.role, action)?;
    earlier_submission(state, caller).await
}

/// Records a monitor's review.
#[utoipa::path(
    post,
    path = "/v1/reviews",
    tag = "annotations",
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "Logged; the receipt", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed JSON or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not review", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid review", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn review(
    State(state): State<AppState>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    if let Some(answer) = begin(&state, caller, Action::SubmitReview).await? {
        return Ok(answer);
    }
    let request: ReviewRequest = parse_json(&signed.body)?;
    non_empty("/review_id", &request.review_id)?;
    if request.reports.is_empty() {
        return Err(ApiError::invalid_at(
            "/reports",
            "a review concerns at least one report",
        ));
    }
    for (position, report) in request.reports.iter().enumerate() {
        non_empty(&format!("/reports/{position}"), report)?;
    }
    let decision = match request.decision.as_str() {
        "confirm" => Decision::Confirm,
        "reject" => Decision::Reject,
        "reattribute" => Decision::Reattribute(request.party.clone()),
        "merge" => Decision::Merge,
        "split" => Decision::Split,
        other => {
            return Err(ApiError::invalid_at(
                "/decision",
                format!(
                    "unknown decision {other:?}: expected confirm, reject, reattribute, merge or split"
                ),
            ));
        }
    };
    if request.party.is_some() && !matches!(decision, Decision::Reattribute(_)) {
        return Err(ApiError::invalid_at(
            "/party",
            "a party is given only with the decision reattribute",
        ));
    }
    let entry = Entry::Review(Review {
        review_id: request.review_id,
        reviewer: caller.key.as_str().to_owned(),
        at_ms: caller.timestamp_ms,
        decision,
        reports: request.reports,
        answers_contest: request.answers_contest,
        reasons_sha256: optional_body(&state, request.reasons).await?,
    });
    commit(&state, caller, vec![prepared(entry, String::new())?]).await
}

/// Records a party's contest of a finding.
#[utoipa::path(
    post,
    path = "/v1/contests",
    tag = "annotations",
    request_body = ContestRequest,
    responses(
        (status = 201, description = "Logged; the receipt", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed JSON or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not contest, or the contest speaks for another party", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid contest (unknown agreement version, log size beyond the log)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn contest(
    State(state): State<AppState>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    if let Some(answer) = begin(&state, caller, Action::SubmitContest).await? {
        return Ok(answer);
    }
    let request: ContestRequest = parse_json(&signed.body)?;
    non_empty("/contest_id", &request.contest_id)?;
    non_empty("/incident", &request.incident)?;
    non_empty("/reasons", &request.reasons)?;
    let party = match (&caller.party, request.party) {
        (Some(own), Some(given)) if *own != given => {
            return Err(ApiError::Impersonation(FieldProblem::at(
                "/party",
                format!("party {given:?} is not the signing key's party {own:?}"),
            )));
        }
        (Some(own), _) => own.clone(),
        (None, Some(given)) if !given.trim().is_empty() => given,
        (None, _) => {
            return Err(ApiError::invalid_at(
                "/party",
                "the key speaks for no party: name the party contesting",
            ));
        }
    };
    let interpretation = request
        .interpretation
        .unwrap_or_else(|| COMMON_INTERPRETATION.to_owned());
    let versions = state
        .store()
        .agreement(&request.agreement_id, Some(request.agreement_version))
        .await
        .map_err(|error| ApiError::internal(&error))?;
    if !versions
        .iter()
        .any(|version| version.interpretation == interpretation)
    {
        return Err(ApiError::invalid_at(
            "/agreement_id",
            format!(
                "unknown agreement {:?} version {} ({interpretation})",
                request.agreement_id, request.agreement_version
            ),
        ));
    }
    let size = state.log_size();
    if request.log_size > size {
        return Err(ApiError::invalid_at(
            "/log_size",
            format!(
                "log size {} is beyond the log's size {size}",
                request.log_size
            ),
        ));
    }
    let evidence = request
        .evidence
        .iter()
        .enumerate()
        .map(|(position, reference)| {
            ContentHash::from_evidence(reference).map_err(|error| {
                ApiError::invalid_at(format!("/evidence/{position}"), error.to_string())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reasons_sha256 = ContentHash(state.put_blob(request.reasons.into_bytes()).await?);
    let entry = Entry::Contest(Contest {
        contest_id: request.contest_id,
        party,
        at_ms: caller.timestamp_ms,
        agreement_id: request.agreement_id,
        agreement_version: request.agreement_version,
        interpretation,
        incident: request.incident,
        log_size: request.log_size,
        reasons_sha256,
        evidence,
    });
    commit(&state, caller, vec![prepared(entry, String::new())?]).await
}

fn coverage_kind(name: &str) -> Option<CoverageKind> {
    [
        CoverageKind::Patrol,
        CoverageKind::FixedCamera,
        CoverageKind::Drone,
        CoverageKind::AccessDenial,
        CoverageKind::Jamming,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == name)
}

fn instant(pointer: &str, text: &str) -> Result<i64, ApiError> {
    jiff::Timestamp::from_str(text)
        .map(|instant| instant.as_millisecond())
        .map_err(|error| {
            ApiError::invalid_at(
                pointer,
                format!("{text:?} is not an RFC 3339 instant: {error}"),
            )
        })
}

/// Records where and when monitors could see (or were kept from seeing).
#[utoipa::path(
    post,
    path = "/v1/coverage",
    tag = "annotations",
    request_body = CoverageRequest,
    responses(
        (status = 201, description = "Logged; the receipt", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed JSON or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not record coverage", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid record", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn coverage(
    State(state): State<AppState>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    if let Some(answer) = begin(&state, caller, Action::SubmitCoverage).await? {
        return Ok(answer);
    }
    let request: CoverageRequest = parse_json(&signed.body)?;
    non_empty("/coverage_id", &request.coverage_id)?;
    let kind = coverage_kind(&request.kind).ok_or_else(|| {
        ApiError::invalid_at(
            "/kind",
            format!("unknown coverage kind {:?}: expected patrol, fixed_camera, drone, access_denial or jamming", request.kind),
        )
    })?;
    let start_ms = instant("/start", &request.start)?;
    let end_ms = instant("/end", &request.end)?;
    if end_ms < start_ms {
        return Err(ApiError::invalid_at("/end", "the end is before the start"));
    }
    let [west, south, east, north] = request.extent;
    let lon_ok = |value: f64| (-180.0..=180.0).contains(&value);
    let lat_ok = |value: f64| (-90.0..=90.0).contains(&value);
    if !(lon_ok(west) && lon_ok(east) && lat_ok(south) && lat_ok(north))
        || west > east
        || south > north
    {
        return Err(ApiError::invalid_at(
            "/extent",
            format!(
                "extent {:?} needs west ≤ east in -180..180 and south ≤ north in -90..90",
                request.extent
            ),
        ));
    }
    let is_geometry = request
        .area
        .as_object()
        .and_then(|object| object.get("type"))
        .is_some_and(Value::is_string);
    if !is_geometry {
        return Err(ApiError::invalid_at(
            "/area",
            "the area must be a GeoJSON geometry object with a type",
        ));
    }
    let area = serde_json::to_vec(&request.area).map_err(|error| ApiError::internal(&error))?;
    let area_sha256 = ContentHash(state.put_blob(area).await?);
    let entry = Entry::Coverage(Coverage {
        coverage_id: request.coverage_id,
        observer: caller.key.as_str().to_owned(),
        kind,
        time: TimeSpan { start_ms, end_ms },
        extent: request.extent,
        area_sha256,
        restricted_by: request.restricted_by,
        note_sha256: optional_body(&state, request.note).await?,
    });
    commit(&state, caller, vec![prepared(entry, String::new())?]).await
}

/// Withdraws one of the caller's own reports; nothing is deleted.
#[utoipa::path(
    post,
    path = "/v1/retractions",
    tag = "annotations",
    request_body = RetractionRequest,
    responses(
        (status = 201, description = "Logged; the receipt", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed JSON or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not retract, or the report is another source's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown report", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn retraction(
    State(state): State<AppState>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    if let Some(answer) = begin(&state, caller, Action::SubmitRetraction).await? {
        return Ok(answer);
    }
    let request: RetractionRequest = parse_json(&signed.body)?;
    let report = state
        .store()
        .report_by_id(&request.agreement, &request.report_id)
        .await
        .map_err(|error| ApiError::internal(&error))?
        .ok_or_else(|| {
            ApiError::invalid_at(
                "/report_id",
                format!(
                    "no report {:?} under agreement {:?}",
                    request.report_id, request.agreement
                ),
            )
        })?;
    let submitter = KeyName::new(&report.source_name).ok();
    if !submitter.is_some_and(|submitter| may_retract(caller.role, &caller.key, &submitter)) {
        return Err(ApiError::Impersonation(FieldProblem::at(
            "/report_id",
            format!(
                "report {:?} was not submitted by this key; only its source may retract it",
                request.report_id
            ),
        )));
    }
    let entry = Entry::Retraction(Retraction {
        source_id: caller.key.as_str().to_owned(),
        report_id: request.report_id,
        at_ms: caller.timestamp_ms,
        reason_sha256: optional_body(&state, request.reason).await?,
    });
    commit(&state, caller, vec![prepared(entry, String::new())?]).await
}

/// Which subject.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SubjectQuery {
    /// A report, incident, contest or coverage id.
    subject: Option<String>,
}

/// The reviews, contests, coverage records and retractions about a subject.
#[utoipa::path(
    get,
    path = "/v1/annotations",
    tag = "annotations",
    params(SubjectQuery),
    responses(
        (status = 200, description = "The annotations, in log order", body = AnnotationList, headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 400, description = "No subject, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<SubjectQuery>, axum::extract::rejection::QueryRejection>,
    reader: ReaderAuth,
) -> Result<(StoreSize, Json<AnnotationList>), ApiError> {
    let Query(query) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("subject", error.body_text()))
    })?;
    let Some(subject) = query.subject.filter(|subject| !subject.is_empty()) else {
        return Err(ApiError::BadParameter(FieldProblem::parameter(
            "subject",
            "required: the id the annotations are about",
        )));
    };
    let (store, size) = read_store(&state).await?;
    let records = store
        .annotations(&subject)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    let viewer = Viewer {
        role: reader.role(),
        party: reader.party(),
        cell_deg: state.shared.config.coarsen_cell_deg,
    };
    Ok((
        size,
        Json(AnnotationList {
            annotations: records
                .into_iter()
                .map(|record| viewer.annotation(record))
                .collect(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_kinds_are_the_log_format_terms() {
        for name in [
            "patrol",
            "fixed_camera",
            "drone",
            "access_denial",
            "jamming",
        ] {
            assert_eq!(coverage_kind(name).map(CoverageKind::as_str), Some(name));
        }
        assert_eq!(coverage_kind("Patrol"), None);
    }
}
