//! `/v1/agreements`: submitting an agreement version (admin) and reading them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use truce_auth::{Action, require};
use truce_log::entry::{AgreementVersion, ContentHash, Entry};
use truce_model::agreement::{self, FileSource};
use truce_store::Store;
use utoipa::IntoParams;

use crate::api::{
    StoreSize, commit, earlier_submission, escape_pointer, parse_json, prepared, read_store,
};
use crate::auth::{LargeBody, ReaderAuth, Signed};
use crate::error::{ApiError, FieldProblem};
use crate::projection::AGREEMENT_FILE;
use crate::state::AppState;
use crate::views::{AgreementDetail, AgreementList, AgreementSubmission, AgreementView};

/// Hands the submitted files to the agreement loader and remembers which it
/// read: those are the files the agreement version commits to.
struct RecordingFiles<'a> {
    files: &'a BTreeMap<String, String>,
    read: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl FileSource for RecordingFiles<'_> {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        let body = self
            .files
            .get(relative)
            .map(|text| text.as_bytes().to_vec())
            .ok_or_else(|| format!("the file {relative:?} was not submitted with the agreement"))?;
        self.read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(relative.to_owned(), body.clone());
        Ok(body)
    }
}

/// Submits an agreement version (admin): the agreement file as the body
/// (`application/toml` or `text/plain`), or JSON `{toml, files}` with the
/// zone and line files it references. It is validated as `truce assess`
/// validates it; each interpretation becomes one agreement-version entry.
#[utoipa::path(
    post,
    path = "/v1/agreements",
    tag = "agreements",
    request_body(content(
        (AgreementSubmission = "application/json"),
        (String = "application/toml"),
    )),
    responses(
        (status = 201, description = "Logged; one receipt per interpretation", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipts", body = crate::views::Submitted),
        (status = 400, description = "Malformed body or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This version is already logged", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor TOML", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The agreement does not validate: each problem as file:line: key: message", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn submit(
    State(state): State<AppState>,
    signed: Signed<LargeBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    require(caller.role, Action::SubmitAgreement)?;
    if let Some(answer) = earlier_submission(&state, caller).await? {
        return Ok(answer);
    }
    let media = signed.content_type.as_deref().map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let (submission, json) = match media.as_deref() {
        Some("application/json") => (parse_json::<AgreementSubmission>(&signed.body)?, true),
        None | Some("application/toml" | "text/plain" | "text/x-toml") => {
            let toml = String::from_utf8(signed.body.to_vec()).map_err(|error| {
                ApiError::invalid_at("", format!("the agreement is not UTF-8: {error}"))
            })?;
            (
                AgreementSubmission {
                    toml,
                    files: BTreeMap::new(),
                },
                false,
            )
        }
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType {
                content_type: other.to_owned(),
            });
        }
    };
    let files = RecordingFiles {
        files: &submission.files,
        read: Mutex::new(BTreeMap::new()),
    };
    let text_pointer = if json { "/toml" } else { "" };
    let agreements =
        agreement::load(AGREEMENT_FILE, &submission.toml, &files).map_err(|errors| {
            let problems: Vec<FieldProblem> = errors
                .0
                .iter()
                .map(|error| {
                    let pointer = if error.file == AGREEMENT_FILE || !json {
                        text_pointer.to_owned()
                    } else {
                        format!("/files/{}", escape_pointer(&error.file))
                    };
                    FieldProblem::at(pointer, error.to_string())
                })
                .collect();
            ApiError::Invalid {
                detail: format!("the agreement has {} problem(s)", problems.len()),
                errors: problems,
            }
        })?;
    let read = files
        .read
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let text_sha256 = ContentHash(state.put_blob(submission.toml.clone().into_bytes()).await?);
    let mut committed_files = Vec::with_capacity(read.len());
    for (path, body) in read {
        let hash = state.put_blob(body).await?;
        committed_files.push((path, ContentHash(hash)));
    }
    let mut entries = Vec::with_capacity(agreements.len());
    for reading in &agreements {
        let entry = Entry::AgreementVersion(AgreementVersion {
            agreement_id: reading.id.clone(),
            version: reading.version,
            interpretation: reading.interpretation.clone(),
            text_sha256,
            files: committed_files.clone(),
        });
        entries.push(prepared(entry, text_pointer.to_owned())?);
    }
    commit(&state, caller, entries).await
}

/// Every agreement version and interpretation, in log order.
#[utoipa::path(
    get,
    path = "/v1/agreements",
    tag = "agreements",
    responses(
        (status = 200, description = "The agreement versions", body = AgreementList, headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 400, description = "Malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _reader: ReaderAuth,
) -> Result<(StoreSize, Json<AgreementList>), ApiError> {
    let (store, size) = read_store(&state).await?;
    let agreements = store
        .agreements()
        .await
        .map_err(|error| ApiError::internal(&error))?;
    Ok((
        size,
        Json(AgreementList {
            agreements: agreements.into_iter().map(AgreementView::from).collect(),
        }),
    ))
}

/// Which version of an agreement.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VersionQuery {
    /// The version (default: the latest).
    version: Option<u32>,
}

/// One version of an agreement (the latest unless `version` is given), with
/// its text.
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}",
    tag = "agreements",
    params(("id" = String, Path, description = "The agreement's id"), VersionQuery),
    responses(
        (status = 200, description = "The version's interpretations and text", body = AgreementDetail, headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 400, description = "A version that is not a number, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement or version (in the store at the size the header names)", body = crate::error::Problem, content_type = "application/problem+json", headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<VersionQuery>, axum::extract::rejection::QueryRejection>,
    _reader: ReaderAuth,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("version", error.body_text()))
    })?;
    let (store, size) = read_store(&state).await?;
    let versions = store
        .agreement(&id, query.version)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    let Some(first) = versions.first() else {
        let what = match query.version {
            Some(version) => format!("agreement {id:?} version {version}"),
            None => format!("agreement {id:?}"),
        };
        // Not in the store at this size: a replica behind the log may have it later.
        return Ok((
            size,
            ApiError::NotFound {
                what,
                parameter: "id",
            },
        )
            .into_response());
    };
    let hash = truce_merkle::Hash::from_hex(&first.content_sha256)
        .map_err(|error| ApiError::internal(&error))?;
    let text = state.get_blob(hash.to_bytes()).await?.ok_or_else(|| {
        ApiError::internal(&format!(
            "agreement text {} is missing from the blob store",
            first.content_sha256
        ))
    })?;
    Ok((
        size,
        Json(AgreementDetail {
            versions: versions.into_iter().map(AgreementView::from).collect(),
            toml: String::from_utf8_lossy(&text).into_owned(),
        }),
    )
        .into_response())
}
