//! The HTTP API under `/v1`: the router, its OpenAPI document, the request
//! middleware, and helpers the handlers share. Handlers stay thin: parsing
//! and permission checks here, entries built in the endpoint modules, the
//! log and the store reached through the writer and the store trait.

pub(crate) mod agreements;
pub(crate) mod annotations;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod incidents;
pub(crate) mod log;
pub(crate) mod reports;
pub(crate) mod sources;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use axum::routing::get;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use truce_auth::AuthError;
use truce_log::LogError;
use truce_store::{AnyStore, Store};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem, Problem};
use crate::state::AppState;
use crate::views::{ReceiptView, Submitted};
use crate::writer::{PreparedEntry, Submission, Submitter};

/// The document's fixed parts; paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "truce",
        description = "Ceasefire monitoring: signed submissions to a transparency log, and reads of its projection. Every write is signed (`Authorization: Truce-Ed25519 ...`, see truce-auth); reads are public unless signed, and the signature's role decides what is shown. Errors are RFC 9457 problem documents."
    ),
    components(schemas(Problem, FieldProblem))
)]
struct ApiDoc;

/// The tile route's documentation: axum matches it with a wildcard, which
/// OpenAPI writes as one parameter.
#[derive(OpenApi)]
#[openapi(paths(log::tile))]
struct TileDoc;

/// The routes documented in the OpenAPI document.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sources::register, sources::list))
        .routes(routes!(sources::revoke))
        .routes(routes!(agreements::submit, agreements::list))
        .routes(routes!(agreements::get_one))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::get_one))
        .routes(routes!(incidents::statistics))
        .routes(routes!(events::events))
        .routes(routes!(reports::submit_one, reports::list))
        .routes(routes!(reports::submit_batch))
        .routes(routes!(reports::get_one))
        .routes(routes!(annotations::review))
        .routes(routes!(annotations::contest))
        .routes(routes!(annotations::coverage))
        .routes(routes!(annotations::retraction))
        .routes(routes!(annotations::list))
        .routes(routes!(log::checkpoint))
        .routes(routes!(log::cosigned))
        .routes(routes!(log::witnesses))
        .routes(routes!(log::entries))
        .routes(routes!(log::inclusion))
        .routes(routes!(log::consistency))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi_json))
        // The dashboard's data (crate::dashboard).
        .routes(routes!(crate::dashboard::geography))
        .routes(routes!(crate::dashboard::zones))
        .routes(routes!(crate::dashboard::parties))
        .routes(routes!(crate::dashboard::log_vkey))
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = documented_routes().split_for_parts();
    doc.merge(TileDoc::openapi());
    doc
}

/// The service's router over `state`: every endpoint, a tracing span per
/// request named by its route template, the concurrency limit (503 with
/// `Retry-After` beyond it), and problem documents for unknown routes.
pub fn app(state: AppState) -> Router {
    let (router, mut doc) = documented_routes().split_for_parts();
    doc.merge(TileDoc::openapi());
    match doc.to_json() {
        Ok(json) => {
            // Set once per state; a second router over the same state serves the same document.
            let _ = state.shared.openapi_json.set(json);
        }
        Err(error) => tracing::error!(%error, "could not serialise the OpenAPI document"),
    }
    router
        .route("/v1/log/tile/{*path}", get(log::tile))
        // The dashboard's page and assets (crate::dashboard).
        .merge(crate::dashboard::pages())
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forward_writes,
        ))
        .with_state(state)
}

/// On an instance that follows another's appends: writes go to the
/// sequencer ([`crate::follower`]); everything else is served here.
async fn forward_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match crate::follower::link(&state) {
        Some(link) if crate::follower::is_write(&request) => {
            let span = tracing::info_span!(
                "forward",
                method = %request.method(),
                path = %request.uri().path(),
            );
            link.forward(request).instrument(span).await
        }
        _ => next.run(request).await,
    }
}

/// A span per request with the route template, and the concurrency limit.
async fn track(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        status = tracing::field::Empty,
    );
    let Ok(permit) = std::sync::Arc::clone(&state.shared.in_flight).try_acquire_owned() else {
        let _entered = span.enter();
        tracing::warn!("at the concurrency limit; answering 503");
        return ApiError::Overloaded {
            retry_after_s: state.shared.config.retry_after_s,
        }
        .into_response();
    };
    let response = next.run(request).instrument(span.clone()).await;
    span.record("status", response.status().as_u16());
    if response.status().is_server_error() {
        span.in_scope(|| tracing::warn!(status = response.status().as_u16(), "server error"));
    }
    drop(permit);
    response
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound {
        what: format!("route {} {}", request.method(), request.uri().path()),
        parameter: "path",
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    let json = state
        .shared
        .openapi_json
        .get()
        .cloned()
        .unwrap_or_else(|| openapi().to_json().unwrap_or_default());
    let mut response = json.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Reads a JSON body into `T`; a syntax error is a 400, a value of the
/// wrong shape a 422, each with the JSON pointer of the offending value.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let pointer = pointer_of(error.path());
        let inner = error.inner();
        let detail = inner.to_string();
        if inner.is_data() {
            ApiError::Invalid {
                detail: detail.clone(),
                errors: vec![FieldProblem::at(pointer, detail)],
            }
        } else {
            ApiError::Malformed {
                detail: format!("the body is not valid JSON: {detail}"),
                errors: vec![FieldProblem::at(pointer, detail)],
            }
        }
    })
}

/// The JSON pointer of a deserialiser path.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    let mut pointer = String::new();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                pointer.push('/');
                pointer.push_str(&index.to_string());
            }
            serde_path_to_error::Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&escape_pointer(key));
            }
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    pointer
}

/// Escapes one JSON pointer token (RFC 6901): `~` → `~0`, `/` → `~1`.
pub(crate) fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The answer to a submission that was logged before: the same (key,
/// nonce) has a receipt. `Ok(None)` for a new submission; a replayed nonce
/// without a receipt is refused.
pub(crate) async fn earlier_submission(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<Response>, ApiError> {
    let key = caller.key.as_str();
    let nonce = caller.nonce_hex();
    // A nonce the replay window has not seen, and whose pair has no receipt for sure: new,
    // without asking the store.
    if !caller.replayed && !state.shared.receipts.may_have(key, &nonce) {
        return Ok(None);
    }
    let internal = |error: truce_store::StoreError| ApiError::internal(&error);
    let Some(first) = state
        .store()
        .submission(key, &nonce)
        .await
        .map_err(internal)?
    else {
        if caller.replayed {
            return Err(AuthError::ReplayedNonce {
                name: caller.key.clone(),
                nonce: caller.nonce,
            }
            .into());
        }
        return Ok(None);
    };
    let last = state
        .store()
        .submission(key, &format!("{nonce}/end"))
        .await
        .map_err(internal)?
        .unwrap_or(first);
    let receipts = state
        .with_log(move |log| {
            (first..=last)
                .map(|index| {
                    let receipt = log.receipt(index)?;
                    let leaf = truce_merkle::leaf_hash(&log.entry(index)?);
                    Ok(ReceiptView::new(&receipt, &leaf))
                })
                .collect::<Result<Vec<_>, LogError>>()
        })
        .await?
        .map_err(|error| ApiError::internal(&error))?;
    tracing::info!(
        key,
        first,
        last,
        "resent submission answered with its receipts"
    );
    Ok(Some(
        (StatusCode::OK, Json(Submitted { receipts })).into_response(),
    ))
}

/// Hands `entries` to the writer as the caller's submission and answers
/// 201 with their receipts.
pub(crate) async fn commit(
    state: &AppState,
    caller: &Caller,
    entries: Vec<PreparedEntry>,
) -> Result<Response, ApiError> {
    let leaves: Vec<truce_merkle::Hash> = entries
        .iter()
        .map(|prepared| truce_merkle::leaf_hash(&prepared.bytes))
        .collect();
    let submitter = Submitter {
        key: caller.key.as_str().to_owned(),
        nonce: caller.nonce_hex(),
        ts_ms: caller.timestamp_ms,
    };
    let receipts = state
        .submit(|reply| Submission {
            submitter,
            entries,
            reply,
        })
        .await?;
    let receipts = receipts
        .iter()
        .zip(&leaves)
        .map(|(receipt, leaf)| ReceiptView::new(receipt, leaf))
        .collect();
    Ok((StatusCode::CREATED, Json(Submitted { receipts })).into_response())
}

/// Encodes an entry for the log; an entry the format refuses (too long, a
/// bad evidence reference) is a 422 at `pointer`.
pub(crate) fn prepared(
    entry: truce_log::entry::Entry,
    pointer: String,
) -> Result<PreparedEntry, ApiError> {
    let bytes = entry
        .encode()
        .map_err(|error| ApiError::invalid_at(pointer.clone(), error.to_string()))?;
    Ok(PreparedEntry {
        entry,
        bytes,
        agreement: None,
        openings: crate::journal::Openings::default(),
        pointer,
        bodies: Vec::new(),
    })
}

/// Maps a store error from a read to the answer: a bad cursor, limit or
/// filter is the client's (400 naming the parameter), anything else ours.
pub(crate) fn store_read_error(error: truce_store::StoreError) -> ApiError {
    use truce_store::StoreError;
    let parameter = match &error {
        StoreError::InvalidCursor { .. } => "cursor",
        StoreError::InvalidLimit { .. } => "limit",
        StoreError::InvalidTimeWindow { .. } => "from",
        StoreError::InvalidBoundingBox { .. } => "bbox",
        _ => return ApiError::internal(&error),
    };
    ApiError::BadParameter(FieldProblem::parameter(parameter, error.to_string()))
}

/// The header of answers read from the store: the store's applied size
/// (how many log entries it reflected) when the request was handled. The
/// answer reflects at least that many entries; with a read replica it may be
/// fewer than the log holds.
pub(crate) const STORE_SIZE_HEADER: &str = "truce-store-size";

/// The `Truce-Store-Size` of an answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreSize(pub u64);

impl IntoResponseParts for StoreSize {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        parts
            .headers_mut()
            .insert(STORE_SIZE_HEADER, HeaderValue::from(self.0));
        Ok(parts)
    }
}

/// The store the read-only endpoints query (the read replica if one is
/// configured) and its applied size, read first: the store only grows, so
/// what is read from it next reflects at least that many entries.
pub(crate) async fn read_store(state: &AppState) -> Result<(&AnyStore, StoreSize), ApiError> {
    let store = state.read_store();
    let applied = store
        .applied_size()
        .await
        .map_err(|error| ApiError::internal(&error))?;
    Ok((store, StoreSize(applied)))
}

/// Checks that the store, and the read replica if one is configured, are
/// reachable (for readiness).
pub(crate) async fn store_reachable(state: &AppState) -> Result<u64, ApiError> {
    let applied = state
        .store()
        .applied_size()
        .await
        .map_err(|error| ApiError::internal(&error))?;
    if let Some(read_store) = &state.shared.read_store {
        read_store
            .applied_size()
            .await
            .map_err(|error| ApiError::internal(&error))?;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "fields are only deserialised")]
    struct Shape {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "fields are only deserialised")]
    struct Item {
        lat: f64,
    }

    #[test]
    fn json_errors_carry_pointers() {
        let ApiError::Invalid { errors, .. } =
            parse_json::<Shape>(br#"{"items":[{"lat":1},{"lat":"x"}]}"#).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(errors[0].pointer.as_deref(), Some("/items/1/lat"));
        let error = parse_json::<Shape>(b"{\"items\":[").unwrap_err();
        assert!(matches!(error, ApiError::Malformed { .. }), "{error:?}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(escape_pointer("zones/a~b.geojson"), "zones~1a~0b.geojson");
    }
}
