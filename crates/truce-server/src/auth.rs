//! Who is asking: request signatures checked with truce-auth, the replay
//! window, per-key rate limits, and the request body read within its limit.
//!
//! # Retries and the replay window
//!
//! A submission is identified by its (key, nonce). When the writer logs it,
//! the store records the receipt under that pair in the same transaction as
//! the entry's projection. A client that lost the answer resends the *same*
//! signed request (same nonce, same timestamp, same body): its signature is
//! checked as usual, the replay window then says the nonce was used, and
//! the server answers with the original receipts (200 instead of 201)
//! instead of refusing it. A replayed nonce without a recorded receipt (the
//! first request was refused, is still in the writer's queue, or failed) is
//! refused with 401 `replayed-nonce`: re-sign with a fresh nonce. A retry
//! must arrive within the clock skew of its timestamp (five minutes by
//! default), like any request; after that, look the entry up by its id.
//! After a restart the window is restored from the store's nonces, and a
//! resent submission is still recognised through its receipt.

use std::marker::PhantomData;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use truce_auth::{AuthError, Nonce, Role};
use truce_model::SourceKind;
use truce_note::KeyName;

use crate::config::BodyLimits;
use crate::error::ApiError;
use crate::state::{AppState, now_ms};

/// A caller whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The key that signed.
    pub key: KeyName,
    /// Its role.
    pub role: Role,
    /// The party it speaks for.
    pub party: Option<String>,
    /// Its kind of source.
    pub kind: SourceKind,
    /// The request's nonce.
    pub nonce: Nonce,
    /// The request's timestamp.
    pub timestamp_ms: i64,
    /// Whether the key had used this nonce before (a retry or a replay).
    pub replayed: bool,
}

impl Caller {
    /// The nonce as stored (lower-case hex).
    pub fn nonce_hex(&self) -> String {
        self.nonce.to_string()
    }
}

/// Checks a request's signature, its nonce and the key's rate.
fn authenticate(
    state: &AppState,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, ApiError> {
    let shared = &state.shared;
    let header = match headers.get(header::AUTHORIZATION) {
        None => return Err(AuthError::MissingHeader.into()),
        Some(value) => value.to_str().map_err(|_| AuthError::Malformed {
            parameter: "scheme".into(),
            reason: "the authorization header is not visible ASCII".into(),
        })?,
    };
    let now = now_ms();
    // Everything but the replay check, outside the shared window's lock.
    let mut scratch = shared.verifier.nonce_window();
    let verified = match shared.verifier.verify(
        header,
        method,
        path_and_query,
        body,
        now,
        shared.registry.as_ref(),
        &mut scratch,
    ) {
        Ok(verified) => verified,
        // Before the store has caught up with the log (on start, or before the admin's
        // registration is logged on a new directory) a key may be registered but not yet
        // known here: "not ready, retry" rather than "unknown key".
        Err(AuthError::UnknownKey { .. }) if !state.is_ready() => {
            return Err(ApiError::NotReady {
                retry_after_s: shared.config.retry_after_s,
            });
        }
        Err(error) => return Err(error.into()),
    };
    let replayed = {
        let mut window = shared
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match window.check_and_insert(&verified.key, verified.nonce, verified.timestamp_ms, now) {
            Ok(()) => false,
            Err(AuthError::ReplayedNonce { .. }) => true,
            Err(error) => return Err(error.into()),
        }
    };
    if let Err(retry_after_s) = shared.limiter.take(&verified.key, Instant::now()) {
        return Err(ApiError::RateLimited { retry_after_s });
    }
    let kind = shared
        .registry
        .get(&verified.key)
        .map_or(SourceKind::Public, |source| source.kind);
    Ok(Caller {
        key: verified.key,
        role: verified.role,
        party: verified.party,
        kind,
        nonce: verified.nonce,
        timestamp_ms: verified.timestamp_ms,
        replayed,
    })
}

/// Which body limit an endpoint has.
pub(crate) trait BodyLimit {
    /// The limit in bytes.
    fn limit(limits: &BodyLimits) -> usize;
}

/// The limit of single submissions.
#[derive(Debug)]
pub(crate) struct SingleBody;

impl BodyLimit for SingleBody {
    fn limit(limits: &BodyLimits) -> usize {
        limits.single_bytes
    }
}

/// The limit of batches and agreements.
#[derive(Debug)]
pub(crate) struct LargeBody;

impl BodyLimit for LargeBody {
    fn limit(limits: &BodyLimits) -> usize {
        limits.batch_bytes
    }
}

/// A signed write: the caller and the raw body (read within the limit `L`).
#[derive(Debug)]
pub(crate) struct Signed<L> {
    /// Who signed.
    pub caller: Caller,
    /// The body as signed.
    pub body: Bytes,
    /// The request's `Content-Type`, if any.
    pub content_type: Option<String>,
    limit: PhantomData<L>,
}

impl<L: BodyLimit + Send> FromRequest<AppState> for Signed<L> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body = read_body(
            &parts.headers,
            body,
            L::limit(&state.shared.config.body_limits),
        )
        .await?;
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |path| path.as_str());
        let caller = authenticate(state, parts.method.as_str(), path, &parts.headers, &body)?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            caller,
            body,
            content_type,
            limit: PhantomData,
        })
    }
}

/// Who reads: a key whose signature verified, or the public (no
/// `Authorization` header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReaderAuth {
    /// Nobody signed.
    Public,
    /// A key signed.
    Key(Caller),
}

impl ReaderAuth {
    /// The role that decides what is shown.
    pub fn role(&self) -> Role {
        match self {
            Self::Public => Role::Public,
            Self::Key(caller) => caller.role,
        }
    }

    /// The reader's party, if it speaks for one.
    pub fn party(&self) -> Option<&str> {
        match self {
            Self::Public => None,
            Self::Key(caller) => caller.party.as_deref(),
        }
    }
}

impl FromRequestParts<AppState> for ReaderAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(Self::Public);
        }
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |path| path.as_str());
        let caller = authenticate(state, parts.method.as_str(), path, &parts.headers, b"")?;
        if caller.replayed {
            return Err(AuthError::ReplayedNonce {
                name: caller.key,
                nonce: caller.nonce,
            }
            .into());
        }
        Ok(Self::Key(caller))
    }
}

/// Reads a body of at most `limit` bytes; a larger one is a 413 (told by
/// `Content-Length` before reading, or when the limit is crossed).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(ApiError::TooLarge { limit }),
        Err(error) => Err(ApiError::Malformed {
            detail: format!("the request body could not be read: {error}"),
            errors: vec![crate::error::FieldProblem::at(
                "",
                "the body could not be read",
            )],
        }),
    }
}
