//! Why a request was refused, with its HTTP status and RFC 9457 problem type.

use truce_note::{KeyId, KeyName};

use crate::canonical::{Nonce, RequestError};
use crate::role::{Action, Role};

/// Why a request was not authenticated or not authorised.
///
/// Each variant has an HTTP status ([`AuthError::status`]), a stable slug for
/// the `type` of an RFC 9457 problem body ([`AuthError::problem_type`]) and,
/// where one is at fault, the header parameter to name ([`AuthError::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request has no `Authorization` header (or an empty one).
    #[error("the request has no authorization header")]
    MissingHeader,
    /// The header, the method or the path is not in the expected form.
    #[error("malformed authorization: {parameter}: {reason}")]
    Malformed {
        /// The parameter at fault (`key`, `id`, `ts`, `nonce`, `sig`, an
        /// unknown parameter's name, `scheme`, `method` or `path`).
        parameter: String,
        /// What is wrong, naming the offending value.
        reason: String,
    },
    /// No key of this name is registered.
    #[error("unknown key \"{name}\"")]
    UnknownKey {
        /// The key name in the header.
        name: KeyName,
    },
    /// The key id in the header is not the id of the registered key.
    #[error(
        "key id {stated} does not match the registered key \"{name}\", whose id is {registered}"
    )]
    KeyIdMismatch {
        /// The key name in the header.
        name: KeyName,
        /// The key id in the header.
        stated: KeyId,
        /// The key id of the registered key.
        registered: KeyId,
    },
    /// The key was revoked at or before the request's timestamp or the
    /// server's clock.
    #[error("key \"{name}\" was revoked at {revoked_at_ms} ms")]
    Revoked {
        /// The key name.
        name: KeyName,
        /// When it was revoked, in Unix milliseconds.
        revoked_at_ms: i64,
    },
    /// The request's timestamp is too far from the server's clock.
    #[error(
        "request timestamp is {skew_ms} ms away from the server clock, more than the {max_ms} ms allowed"
    )]
    ClockSkew {
        /// The distance between the timestamp and the clock, in milliseconds.
        skew_ms: u64,
        /// The largest distance accepted, in milliseconds.
        max_ms: u64,
    },
    /// The signature does not verify under the registered key.
    #[error("signature does not verify under key \"{name}\"")]
    BadSignature {
        /// The key name.
        name: KeyName,
    },
    /// This key already used this nonce within the replay window.
    #[error("nonce {nonce} was already used by key \"{name}\"")]
    ReplayedNonce {
        /// The key name.
        name: KeyName,
        /// The nonce seen before.
        nonce: Nonce,
    },
    /// The role may not perform the action.
    #[error("role {role} may not perform {action}")]
    Forbidden {
        /// The caller's role.
        role: Role,
        /// The refused action.
        action: Action,
    },
}

impl AuthError {
    /// The HTTP status to answer with: 400 for a malformed request, 401 when
    /// the caller is not authenticated, 403 when the role is not allowed.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed { .. } => 400,
            Self::MissingHeader
            | Self::UnknownKey { .. }
            | Self::KeyIdMismatch { .. }
            | Self::Revoked { .. }
            | Self::ClockSkew { .. }
            | Self::BadSignature { .. }
            | Self::ReplayedNonce { .. } => 401,
            Self::Forbidden { .. } => 403,
        }
    }

    /// A stable slug naming the kind of problem, for the `type` of an RFC 9457
    /// problem body. These strings are part of the service's interface.
    pub fn problem_type(&self) -> &'static str {
        match self {
            Self::MissingHeader => "missing-authorization",
            Self::Malformed { .. } => "malformed-authorization",
            Self::UnknownKey { .. } => "unknown-key",
            Self::KeyIdMismatch { .. } => "key-id-mismatch",
            Self::Revoked { .. } => "key-revoked",
            Self::ClockSkew { .. } => "clock-skew",
            Self::BadSignature { .. } => "bad-signature",
            Self::ReplayedNonce { .. } => "replayed-nonce",
            Self::Forbidden { .. } => "forbidden",
        }
    }

    /// The header parameter at fault (`key`, `id`, `ts`, `nonce`, `sig`, or
    /// for a malformed request the parameter named in it), if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Malformed { parameter, .. } => Some(parameter),
            Self::UnknownKey { .. } | Self::Revoked { .. } => Some("key"),
            Self::KeyIdMismatch { .. } => Some("id"),
            Self::ClockSkew { .. } => Some("ts"),
            Self::BadSignature { .. } => Some("sig"),
            Self::ReplayedNonce { .. } => Some("nonce"),
            Self::MissingHeader | Self::Forbidden { .. } => None,
        }
    }

    /// A malformed-request error for `parameter`.
    pub(crate) fn malformed(parameter: &str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            parameter: parameter.to_owned(),
            reason: reason.into(),
        }
    }
}

impl From<RequestError> for AuthError {
    fn from(error: RequestError) -> Self {
        Self::malformed(error.parameter(), error.to_string())
    }
}
