//! The server's side: checking a signed request.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, VerifyingKey};
use truce_note::{KeyName, SignatureType, Verifier};

use crate::canonical::{self, Nonce, canonical_request};
use crate::error::AuthError;
use crate::header::AuthorizationHeader;
use crate::nonce::NonceWindow;
use crate::role::Role;

/// The clock skew accepted by default: five minutes, in milliseconds.
pub const DEFAULT_MAX_SKEW_MS: u64 = 300_000;

/// What the server knows of a registered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    /// The public key (an Ed25519 note verifier key, type 0x01).
    pub verifier: Verifier,
    /// What the key may do.
    pub role: Role,
    /// The party the key speaks for, if any.
    pub party: Option<String>,
    /// When the key was revoked, in Unix milliseconds, if it was.
    pub revoked_at_ms: Option<i64>,
}

/// Where the server looks up keys by name (its registry of sources).
pub trait KeyDirectory {
    /// The key registered under `name`, revoked or not.
    fn lookup(&self, name: &KeyName) -> Option<RegisteredKey>;
}

impl KeyDirectory for BTreeMap<KeyName, RegisteredKey> {
    fn lookup(&self, name: &KeyName) -> Option<RegisteredKey> {
        self.get(name).cloned()
    }
}

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The key that signed it.
    pub key: KeyName,
    /// The key's role.
    pub role: Role,
    /// The party the key speaks for, if any.
    pub party: Option<String>,
    /// The request's timestamp, in Unix milliseconds.
    pub timestamp_ms: i64,
    /// The request's nonce.
    pub nonce: Nonce,
}

/// Checks signed requests.
///
/// The checks run in this order, and the first that fails is reported:
///
/// 1. the method, the path and the header are well formed
///    ([`AuthError::MissingHeader`], [`AuthError::Malformed`]);
/// 2. the key name is registered ([`AuthError::UnknownKey`]);
/// 3. the key id is the registered key's ([`AuthError::KeyIdMismatch`]);
/// 4. the key is not revoked ([`AuthError::Revoked`]): a key revoked at or
///    before the request's timestamp is refused, and so is a request signed
///    before the revocation that arrives after it (revoked at or before
///    `now_ms`). A revocation is meant to stop a key at once, including
///    requests a thief signed in advance with a timestamp from the past;
/// 5. the timestamp is within `max_skew_ms` of `now_ms`, inclusive
///    ([`AuthError::ClockSkew`]);
/// 6. the signature verifies (strict Ed25519) over the canonical request text
///    ([`AuthError::BadSignature`]);
/// 7. the key has not used the nonce within the window
///    ([`AuthError::ReplayedNonce`]). The pair is recorded only now, after the
///    signature is known good, so forged requests cannot fill the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestVerifier {
    max_skew_ms: u64,
}

impl Default for RequestVerifier {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SKEW_MS)
    }
}

impl RequestVerifier {
    /// A verifier accepting timestamps up to `max_skew_ms` from the clock.
    pub const fn new(max_skew_ms: u64) -> Self {
        Self { max_skew_ms }
    }

    /// The largest accepted clock skew, in milliseconds.
    pub const fn max_skew_ms(&self) -> u64 {
        self.max_skew_ms
    }

    /// An empty replay window covering this verifier's skew.
    pub fn nonce_window(&self) -> NonceWindow {
        NonceWindow::new(self.max_skew_ms)
    }

    /// Checks one request: `header` is the `Authorization` value (`""` when
    /// absent), `method` and `path_and_query` as received, `body` the raw body
    /// bytes, `now_ms` the server's clock in Unix milliseconds.
    ///
    /// # Errors
    ///
    /// The [`AuthError`] of the first failing check, in the order of the
    /// type's documentation. On error the window is left as it was, apart
    /// from pruning.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of an HTTP request plus the server's clock, keys and window"
    )]
    pub fn verify(
        &self,
        header: &str,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        now_ms: i64,
        keys: &impl KeyDirectory,
        nonces: &mut NonceWindow,
    ) -> Result<Authenticated, AuthError> {
        canonical::canonical_method(method)?;
        canonical::check_path(path_and_query)?;
        let header = AuthorizationHeader::parse(header)?;
        let name = header.key();
        let registered = keys
            .lookup(name)
            .ok_or_else(|| AuthError::UnknownKey { name: name.clone() })?;
        let verifier = &registered.verifier;
        if !verifier.matches(name, header.key_id()) {
            return Err(AuthError::KeyIdMismatch {
                name: name.clone(),
                stated: header.key_id(),
                registered: verifier.key_id(),
            });
        }
        if let Some(revoked_at_ms) = registered.revoked_at_ms
            && revoked_at_ms <= header.timestamp_ms().max(now_ms)
        {
            return Err(AuthError::Revoked {
                name: name.clone(),
                revoked_at_ms,
            });
        }
        let skew_ms = now_ms.abs_diff(header.timestamp_ms());
        if skew_ms > self.max_skew_ms {
            return Err(AuthError::ClockSkew {
                skew_ms,
                max_ms: self.max_skew_ms,
            });
        }
        let text = canonical_request(
            method,
            path_and_query,
            name,
            header.key_id(),
            header.timestamp_ms(),
            &header.nonce(),
            body,
        )?;
        if !signature_verifies(verifier, &text, header.signature()) {
            return Err(AuthError::BadSignature { name: name.clone() });
        }
        nonces.check_and_insert(name, header.nonce(), header.timestamp_ms(), now_ms)?;
        Ok(Authenticated {
            key: name.clone(),
            role: registered.role,
            party: registered.party,
            timestamp_ms: header.timestamp_ms(),
            nonce: header.nonce(),
        })
    }
}

/// Strict Ed25519 verification of `text`; a registered key of another
/// signature type than Ed25519 (0x01) verifies nothing.
fn signature_verifies(verifier: &Verifier, text: &str, signature: &[u8; 64]) -> bool {
    if verifier.signature_type() != SignatureType::Ed25519 {
        return false;
    }
    let Ok(key) = VerifyingKey::from_bytes(verifier.public_key()) else {
        return false;
    };
    key.verify_strict(text.as_bytes(), &Signature::from_bytes(signature))
        .is_ok()
}
