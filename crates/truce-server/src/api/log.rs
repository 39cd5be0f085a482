//! `/v1/log`: the checkpoint, tiles, entries and proofs, for anyone to
//! verify the log. Entries hold only public values (committed fields stay
//! committed), so these reads are the same for every role.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use truce_log::TilePath;
use utoipa::{IntoParams, ToSchema};

use crate::auth::ReaderAuth;
use crate::error::{ApiError, FieldProblem};
use crate::state::AppState;
use crate::views::{ConsistencyProofView, InclusionProofView, LogEntries, LogEntryView};

/// The most entries one request returns.
pub const MAX_ENTRIES_PER_REQUEST: u64 = 1000;

fn with_type(body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The latest signed checkpoint (c2sp.org/tlog-checkpoint, a signed note).
#[utoipa::path(
    get,
    path = "/v1/log/checkpoint",
    tag = "log",
    responses(
        (status = 200, description = "The signed checkpoint", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, description = "Malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn checkpoint(State(state): State<AppState>, _reader: ReaderAuth) -> Response {
    let text = state.shared.log.head().note.to_string();
    with_type(text, "text/plain; charset=utf-8")
}

/// The latest checkpoint every configured witness cosigned: the log's
/// signed note with one cosignature/v1 line per witness
/// (c2sp.org/tlog-cosignature). It may be of a smaller tree than the
/// latest checkpoint: witnesses are asked after the log grows, a few
/// seconds apart.
#[utoipa::path(
    get,
    path = "/v1/log/checkpoint/cosigned",
    tag = "log",
    responses(
        (status = 200, description = "The cosigned checkpoint", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, description = "Malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No checkpoint has been cosigned yet (or no witnesses are configured)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cosigned(
    State(state): State<AppState>,
    _reader: ReaderAuth,
) -> Result<Response, ApiError> {
    let dir = state.shared.data.log_dir();
    let read = tokio::task::spawn_blocking(move || truce_cosign::read_cosigned(&dir))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| ApiError::internal(&error))?;
    match read {
        Some((note, _)) => Ok(with_type(note.to_bytes(), "text/plain; charset=utf-8")),
        None => Err(ApiError::NotFound {
            what: "a cosigned checkpoint".into(),
            parameter: "path",
        }),
    }
}

/// A witness of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WitnessView {
    /// The witness key's name, e.g. `witness.ua.example`.
    pub name: String,
    /// The key id, 8 hexadecimal digits.
    pub key_id: String,
    /// The verifier key (`<name>+<key id>+<base64>`, a cosignature/v1 key).
    pub vkey: String,
    /// The largest tree size this witness is known to have cosigned for the
    /// log; `null` before its first cosignature.
    pub cosigned_size: Option<u64>,
}

/// The log's witnesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WitnessList {
    /// The configured witnesses, in the configuration's order.
    pub witnesses: Vec<WitnessView>,
}

/// The witnesses that cosign the log's checkpoints: their keys (to verify
/// `/v1/log/checkpoint/cosigned` with) and the size each last cosigned.
#[utoipa::path(
    get,
    path = "/v1/log/witnesses",
    tag = "log",
    responses(
        (status = 200, description = "The witnesses (empty without any configured)", body = WitnessList),
        (status = 400, description = "Malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn witnesses(
    State(state): State<AppState>,
    _reader: ReaderAuth,
) -> Result<Json<WitnessList>, ApiError> {
    let dir = state.shared.data.log_dir();
    let sizes = tokio::task::spawn_blocking(move || truce_cosign::last_sizes(&dir))
        .await
        .map_err(|error| ApiError::internal(&error))?;
    Ok(Json(WitnessList {
        witnesses: state
            .shared
            .witnesses
            .iter()
            .map(|witness| WitnessView {
                name: witness.key.name().as_str().to_owned(),
                key_id: format!("{:08x}", witness.key.key_id().get()),
                vkey: witness.key.to_vkey(),
                cosigned_size: sizes.get(&witness.url).copied(),
            })
            .collect(),
    }))
}

/// A tile or entry bundle (c2sp.org/tlog-tiles), e.g. `0/x001/234`,
/// `1/000.p/17`, `entries/000`; only files of the current tree are served.
#[utoipa::path(
    get,
    path = "/v1/log/tile/{path}",
    tag = "log",
    params(("path" = String, Path, description = "The tile path below `tile/`, slashes included")),
    responses(
        (status = 200, description = "The tile's bytes", content_type = "application/octet-stream"),
        (status = 400, description = "Not a tile path, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tile in the current tree", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
    _reader: ReaderAuth,
) -> Result<Response, ApiError> {
    let text = format!("tile/{path}");
    let tile = TilePath::parse(&text).map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("path", error.to_string()))
    })?;
    let not_found = || ApiError::NotFound {
        what: format!("tile {text}"),
        parameter: "path",
    };
    let size = state.log_size();
    // Serve only files of checkpointed trees: up to the width the tile has now.
    match tile.key.width_at(size) {
        Some(width) if tile.width <= width => {}
        _ => return Err(not_found()),
    }
    // From wherever the record keeps its tiles (the data directory or the database).
    match state.read_tile(tile).await? {
        Some(bytes) => Ok(with_type(bytes, "application/octet-stream")),
        None => Err(not_found()),
    }
}

/// A range of entries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EntryRange {
    /// The first index.
    start: u64,
    /// One past the last index (at most `start + 1000`, at most the size).
    end: u64,
}

/// Entries `start .. end`, base64, with their leaf hashes.
#[utoipa::path(
    get,
    path = "/v1/log/entries",
    tag = "log",
    params(EntryRange),
    responses(
        (status = 200, description = "The entries", body = LogEntries),
        (status = 400, description = "A range that is not valid, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn entries(
    State(state): State<AppState>,
    query: Result<Query<EntryRange>, axum::extract::rejection::QueryRejection>,
    _reader: ReaderAuth,
) -> Result<Json<LogEntries>, ApiError> {
    let Query(range) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("start", error.body_text()))
    })?;
    let size = state.log_size();
    if range.start > range.end || range.end > size {
        return Err(ApiError::BadParameter(FieldProblem::parameter(
            "end",
            format!(
                "entries {}..{} are not in the log of size {size}",
                range.start, range.end
            ),
        )));
    }
    if range.end - range.start > MAX_ENTRIES_PER_REQUEST {
        return Err(ApiError::BadParameter(FieldProblem::parameter(
            "end",
            format!("at most {MAX_ENTRIES_PER_REQUEST} entries per request"),
        )));
    }
    let (start, end) = (range.start, range.end);
    let raw = state
        .with_log(move |log| log.entries(start, end))
        .await?
        .map_err(|error| ApiError::internal(&error))?;
    Ok(Json(LogEntries {
        entries: raw
            .iter()
            .zip(start..)
            .map(|(bytes, index)| LogEntryView {
                index,
                leaf_hash: truce_merkle::leaf_hash(bytes).to_hex(),
                entry: STANDARD.encode(bytes),
            })
            .collect(),
    }))
}

/// Which inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InclusionQuery {
    /// The entry's index.
    index: u64,
    /// The tree size (default: the log's size).
    size: Option<u64>,
}

/// The inclusion proof of an entry in a tree of the log.
#[utoipa::path(
    get,
    path = "/v1/log/proof/inclusion",
    tag = "log",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = InclusionProofView),
        (status = 400, description = "An index or size the log cannot prove, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    query: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
    _reader: ReaderAuth,
) -> Result<Json<InclusionProofView>, ApiError> {
    let Query(query) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("index", error.body_text()))
    })?;
    let size = query.size.unwrap_or_else(|| state.log_size());
    if query.index >= size || size > state.log_size() {
        return Err(ApiError::BadParameter(FieldProblem::parameter(
            "index",
            format!(
                "entry {} is not in a tree of size {size} of this log (size {})",
                query.index,
                state.log_size()
            ),
        )));
    }
    let index = query.index;
    let proof = state
        .with_log(move |log| log.inclusion_proof(index, size))
        .await?
        .map_err(|error| {
            ApiError::BadParameter(FieldProblem::parameter("index", error.to_string()))
        })?;
    Ok(Json(InclusionProofView {
        index,
        size,
        proof: proof
            .iter()
            .map(|hash| STANDARD.encode(hash.as_bytes()))
            .collect(),
    }))
}

/// Which consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The smaller tree size (at least 1).
    from: u64,
    /// The larger tree size (default: the log's size).
    to: Option<u64>,
}

/// The consistency proof between two tree sizes of the log.
#[utoipa::path(
    get,
    path = "/v1/log/proof/consistency",
    tag = "log",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProofView),
        (status = 400, description = "Sizes the log cannot prove, or a malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
    _reader: ReaderAuth,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let Query(query) = query.map_err(|error| {
        ApiError::BadParameter(FieldProblem::parameter("from", error.body_text()))
    })?;
    let size = state.log_size();
    let to = query.to.unwrap_or(size);
    if query.from == 0 || query.from > to || to > size {
        return Err(ApiError::BadParameter(FieldProblem::parameter(
            "from",
            format!(
                "no consistency proof from {} to {to} in a log of size {size} (0 < from ≤ to ≤ size)",
                query.from
            ),
        )));
    }
    let from = query.from;
    let proof = state
        .with_log(move |log| log.consistency_proof(from, to))
        .await?
        .map_err(|error| {
            ApiError::BadParameter(FieldProblem::parameter("from", error.to_string()))
        })?;
    Ok(Json(ConsistencyProofView {
        from,
        to,
        proof: proof
            .iter()
            .map(|hash| STANDARD.encode(hash.as_bytes()))
            .collect(),
    }))
}
