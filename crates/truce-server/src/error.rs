//! Errors: [`ApiError`] answered as RFC 9457 `application/problem+json`,
//! and [`ServerError`] for what stops the service from starting or running.

use std::fmt;
use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use truce_auth::AuthError;
use utoipa::ToSchema;

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The prefix of every problem `type`; the slug after it names the kind of
/// problem (`urn:truce:problem:replayed-nonce`). These are stable.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:truce:problem:";

/// One thing wrong with a request, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    /// A JSON pointer (RFC 6901) into the request body, e.g. `/3/lat`; `""`
    /// is the whole body. Absent when the problem is elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The query, path or header parameter at fault, e.g. `bbox`, `name`
    /// or `authorization.ts`. Absent when the problem is in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// What is wrong, naming the offending value.
    pub detail: String,
}

impl FieldProblem {
    /// A problem at `pointer` in the body.
    pub fn at(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: Some(pointer.into()),
            parameter: None,
            detail: detail.into(),
        }
    }

    /// A problem with the parameter `parameter`.
    pub fn parameter(parameter: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: None,
            parameter: Some(parameter.into()),
            detail: detail.into(),
        }
    }
}

/// An RFC 9457 problem document, as the service writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:truce:problem:<slug>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// For server errors: the id under which the error was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Each problem found, with where it is; every 4xx names at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// Why a request was not served. Answered as `application/problem+json`
/// ([`Problem`]); 429 and 503 carry `Retry-After`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The signature or the caller's permissions (401, 403, or 400 for a
    /// malformed header).
    Auth(AuthError),
    /// The body is not JSON (or not the JSON shape expected) (400).
    Malformed {
        /// What the parser said.
        detail: String,
        /// Where.
        errors: Vec<FieldProblem>,
    },
    /// A query or path parameter is not valid (400).
    BadParameter(FieldProblem),
    /// The body is well formed but its content is not valid: every problem
    /// found (422).
    Invalid {
        /// A summary.
        detail: String,
        /// Each problem with its JSON pointer.
        errors: Vec<FieldProblem>,
    },
    /// A party key tried to speak for another party or another source (403).
    Impersonation(FieldProblem),
    /// Nothing at this address (404).
    NotFound {
        /// What was looked for.
        what: String,
        /// Which parameter named it.
        parameter: &'static str,
    },
    /// The submission conflicts with what is already logged (409).
    Conflict(FieldProblem),
    /// The body is larger than the limit (413).
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body's media type is not one the endpoint reads (415).
    UnsupportedMediaType {
        /// The media type sent.
        content_type: String,
    },
    /// The key sent more requests than its rate allows (429).
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after_s: u32,
    },
    /// The server is at capacity (503).
    Overloaded {
        /// Seconds to wait before retrying.
        retry_after_s: u32,
    },
    /// The server has not finished catching up with its log (503).
    NotReady {
        /// Seconds to wait before retrying.
        retry_after_s: u32,
    },
    /// This instance is not the log's sequencer and takes no writes (503): it lost the lease
    /// to another instance, or it follows the log and the sequencer advertises no address or
    /// cannot be reached. The same signed request may be sent to the instance that holds the
    /// lease.
    NotSequencer {
        /// What became of the lease (who holds it now, with which fencing token).
        lease: String,
        /// Seconds to wait before retrying here.
        retry_after_s: u32,
    },
    /// Something failed inside the server (500). The cause is logged with
    /// the id; the client sees only the id.
    Internal {
        /// The id of the log line with the cause.
        error_id: String,
    },
}

impl ApiError {
    /// Logs `cause` at error level under a fresh id and returns the 500
    /// answer naming that id.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        let error_id = new_error_id();
        tracing::error!(error_id = %error_id, error = %cause, "internal error");
        Self::Internal { error_id }
    }

    /// A 422 with one problem at `pointer`.
    pub fn invalid_at(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::Invalid {
            detail: detail.clone(),
            errors: vec![FieldProblem::at(pointer, detail)],
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Auth(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
            Self::Malformed { .. } | Self::BadParameter(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Impersonation(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } | Self::NotReady { .. } | Self::NotSequencer { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let status = self.status().as_u16();
        let (slug, title, detail, errors, instance): (&str, &str, String, Vec<FieldProblem>, _) =
            match self {
                Self::Auth(error) => (
                    error.problem_type(),
                    "request not authorised",
                    error.to_string(),
                    vec![match error.field() {
                        Some(field) => FieldProblem::parameter(
                            format!("authorization.{field}"),
                            error.to_string(),
                        ),
                        None => FieldProblem::parameter("authorization", error.to_string()),
                    }],
                    None,
                ),
                Self::Malformed { detail, errors } => (
                    "malformed-body",
                    "request body is not well formed",
                    detail.clone(),
                    errors.clone(),
                    None,
                ),
                Self::BadParameter(problem) => (
                    "invalid-parameter",
                    "request parameter is not valid",
                    problem.detail.clone(),
                    vec![problem.clone()],
                    None,
                ),
                Self::Invalid { detail, errors } => (
                    "invalid-content",
                    "request content is not valid",
                    detail.clone(),
                    errors.clone(),
                    None,
                ),
                Self::Impersonation(problem) => (
                    "impersonation",
                    "a key may only speak for its own source and party",
                    problem.detail.clone(),
                    vec![problem.clone()],
                    None,
                ),
                Self::NotFound { what, parameter } => (
                    "not-found",
                    "not found",
                    format!("{what} not found"),
                    vec![FieldProblem::parameter(
                        *parameter,
                        format!("{what} not found"),
                    )],
                    None,
                ),
                Self::Conflict(problem) => (
                    "conflict",
                    "conflicts with the log",
                    problem.detail.clone(),
                    vec![problem.clone()],
                    None,
                ),
                Self::TooLarge { limit } => {
                    let detail = format!("request body is larger than the limit of {limit} bytes");
                    (
                        "body-too-large",
                        "request body too large",
                        detail.clone(),
                        vec![FieldProblem::at("", detail)],
                        None,
                    )
                }
                Self::UnsupportedMediaType { content_type } => {
                    let detail = format!("content type {content_type:?} is not accepted here");
                    (
                        "unsupported-media-type",
                        "unsupported media type",
                        detail.clone(),
                        vec![FieldProblem::parameter("content-type", detail)],
                        None,
                    )
                }
                Self::RateLimited { retry_after_s } => {
                    let detail = format!(
                        "this key sent more requests than its rate allows; retry in {retry_after_s} s"
                    );
                    (
                        "rate-limited",
                        "too many requests",
                        detail.clone(),
                        vec![FieldProblem::parameter("authorization.key", detail)],
                        None,
                    )
                }
                Self::Overloaded { retry_after_s } => (
                    "overloaded",
                    "server at capacity",
                    format!("the server is at capacity; retry in {retry_after_s} s"),
                    Vec::new(),
                    None,
                ),
                Self::NotReady { retry_after_s } => (
                    "not-ready",
                    "server not ready",
                    format!(
                        "the server is still catching up with its log; retry in {retry_after_s} s"
                    ),
                    Vec::new(),
                    None,
                ),
                Self::NotSequencer { lease, .. } => (
                    "not-sequencer",
                    "not the log's sequencer",
                    format!(
                        "this instance is not the log's sequencer ({lease}) and takes no \
                         writes; send the same request to the instance that holds the lease, \
                         or here again later"
                    ),
                    Vec::new(),
                    None,
                ),
                Self::Internal { error_id } => (
                    "internal",
                    "internal server error",
                    format!("the server failed; the error was logged under id {error_id}"),
                    Vec::new(),
                    Some(format!("urn:truce:error:{error_id}")),
                ),
            };
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{slug}"),
            title: title.to_owned(),
            status,
            detail,
            instance,
            errors,
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            Self::RateLimited { retry_after_s }
            | Self::Overloaded { retry_after_s }
            | Self::NotReady { retry_after_s }
            | Self::NotSequencer { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = self.problem();
        write!(
            f,
            "{} {}: {}",
            problem.status, problem.title, problem.detail
        )
    }
}

impl std::error::Error for ApiError {}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match serde_json::to_vec(&self.problem()) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "could not serialise a problem document");
                b"{\"type\":\"urn:truce:problem:internal\",\"status\":500}".to_vec()
            }
        };
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A short random id for a logged server error (12 hex digits), or a
/// time-based one if the system's random source fails.
fn new_error_id() -> String {
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        return format!("t{nanos:x}");
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A file of the data directory could not be read or written.
    #[error("cannot {operation} {}: {source}", path.display())]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The log's signing key file does not hold a key.
    #[error("{} does not hold a log signing key: {reason}", path.display())]
    LogKey {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The admin key is missing on first start, does not parse, or is not
    /// the admin the log names.
    #[error("admin key: {reason}")]
    AdminKey {
        /// What is wrong.
        reason: String,
    },
    /// The log could not be opened or appended to.
    #[error("log: {0}")]
    Log(#[from] truce_log::LogError),
    /// The blob store could not be opened.
    #[error("blob store: {0}")]
    Blob(#[from] truce_log::BlobError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] truce_store::StoreError),
    /// The store could not be opened.
    #[error("cannot open the store ({database}): {source}")]
    OpenStore {
        /// Which store: the SQLite file, or the database URL without its
        /// password.
        database: String,
        /// The cause.
        #[source]
        source: truce_store::StoreError,
    },
    /// The store reflects more entries than the log holds: it belongs to
    /// another log or the log lost entries.
    #[error(
        "the store has applied {applied} entries but the log holds only {log_size}; the store is not a projection of this log"
    )]
    StoreAhead {
        /// The store's applied size.
        applied: u64,
        /// The log's size.
        log_size: u64,
    },
    /// The entry journal could not be written or read.
    #[error("journal {}: {reason}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The listener could not be bound or failed.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(String),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use truce_note::KeyName;

    use super::*;

    #[test]
    fn auth_errors_keep_status_type_and_field() {
        let error = ApiError::from(AuthError::ClockSkew {
            skew_ms: 400_000,
            max_ms: 300_000,
        });
        let problem = error.problem();
        assert_eq!(problem.status, 401);
        assert_eq!(problem.problem_type, "urn:truce:problem:clock-skew");
        assert_eq!(
            problem.errors[0].parameter.as_deref(),
            Some("authorization.ts")
        );
        let error = ApiError::from(AuthError::UnknownKey {
            name: KeyName::new("x").unwrap(),
        });
        assert_eq!(error.problem().errors[0].detail, "unknown key \"x\"");
    }

    #[test]
    fn every_client_error_names_where() {
        let errors = [
            ApiError::invalid_at("/3/lat", "latitude 130 is outside -90..90"),
            ApiError::TooLarge { limit: 10 },
            ApiError::RateLimited { retry_after_s: 2 },
            ApiError::NotFound {
                what: "report 7".into(),
                parameter: "index",
            },
            ApiError::Conflict(FieldProblem::at("/id", "report r1 exists")),
            ApiError::BadParameter(FieldProblem::parameter("bbox", "bad")),
            ApiError::UnsupportedMediaType {
                content_type: "text/csv".into(),
            },
            ApiError::Impersonation(FieldProblem::at("/source_party", "no")),
        ];
        for error in errors {
            let problem = error.problem();
            assert!((400..500).contains(&problem.status), "{error}");
            assert!(!problem.errors.is_empty(), "{error}");
        }
    }

    #[test]
    fn internal_errors_hide_the_cause_and_give_an_id() {
        let error = ApiError::internal(&"disk on fire at /secret/path");
        let problem = error.problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("secret"));
        let ApiError::Internal { error_id } = &error else {
            panic!("{error:?}");
        };
        assert!(problem.detail.contains(error_id.as_str()));
        assert_eq!(
            problem.instance,
            Some(format!("urn:truce:error:{error_id}"))
        );
    }

    #[test]
    fn retry_after_is_set_for_429_and_503() {
        let response = ApiError::Overloaded { retry_after_s: 3 }.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let response = ApiError::invalid_at("", "x").into_response();
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }
}
