//! Signed HTTP requests, replay protection and role permissions for the truce
//! service, without the service: no I/O, no clock, no randomness, no HTTP
//! framework. Callers pass the clock (`now_ms`, Unix milliseconds) and the
//! random nonce bytes.
//!
//! # Signing a request
//!
//! Every write to the service is signed with the submitter's Ed25519 key, the
//! note key of `truce-note` ([`truce_note::NoteSigner`], signer key text
//! `PRIVATE+KEY+<name>+<key id>+<base64>`). The server registers its public
//! half ([`truce_note::Verifier`], `<name>+<key id>+<base64>`) under the key
//! name, with a [`Role`] and maybe a party ([`RegisteredKey`]).
//!
//! The signature covers the *canonical request text* ([`canonical_request`]):
//! eight lines, each ended by a line feed (`\n`, so the text ends with one):
//!
//! 1. `truce-request/1`
//! 2. the method in upper case;
//! 3. the path with its query exactly as sent (it must start with `/` and hold
//!    no control character or space);
//! 4. the key name;
//! 5. the key id, 8 lower-case hex digits;
//! 6. the timestamp, decimal Unix milliseconds (no sign, no leading zeros);
//! 7. the nonce, 32 lower-case hex digits (16 random bytes);
//! 8. the SHA-256 of the body bytes in lower-case hex (of the empty string
//!    when there is no body).
//!
//! For example, `POST /v1/reports?x=1` with body `{"id":"r1"}`, signed by the
//! key `party-a.example/liaison` (key id `98dfabf3`) at 2025-03-18T00:00:00Z
//! with the nonce bytes 0x00 to 0x0f, signs this text:
//!
//! ```text
//! truce-request/1
//! POST
//! /v1/reports?x=1
//! party-a.example/liaison
//! 98dfabf3
//! 1742256000000
//! 000102030405060708090a0b0c0d0e0f
//! 920e5591b811bf1bd16faa41037aebddda98a2a15f1a1d468e04c23122733e77
//! ```
//!
//! and sends the signature in the header ([`AuthorizationHeader`]):
//!
//! ```text
//! Authorization: Truce-Ed25519 key=party-a.example/liaison, id=98dfabf3, ts=1742256000000, nonce=000102030405060708090a0b0c0d0e0f, sig=alcyv/fVgMUSO0vICkKbb+iZABVNkraRo5FTt3pEZ7mCj6eZ5FveGYXIqRjQcURNInmxpEU6bdZrniiDXlkQBw==
//! ```
//!
//! `sig` is the padded standard base64 of the 64 signature bytes. The key name
//! must be printable ASCII without `,`, `"` or `\` to travel unquoted.
//!
//! ```
//! use std::collections::BTreeMap;
//! use truce_auth::{RegisteredKey, RequestSigner, RequestVerifier, Role, canonical_request, Nonce};
//! use truce_note::{KeyName, NoteSigner};
//!
//! let name = KeyName::new("party-a.example/liaison")?;
//! let signer = RequestSigner::new(NoteSigner::from_seed(name.clone(), &[1; 32]))?;
//! let nonce: [u8; 16] = std::array::from_fn(|i| i as u8);
//! let body = br#"{"id":"r1"}"#;
//! let now_ms = 1_742_256_000_000;
//!
//! let text = canonical_request(
//!     "POST", "/v1/reports?x=1", &name, signer.verifier().key_id(), now_ms, &Nonce::new(nonce), body,
//! )?;
//! assert_eq!(text, "truce-request/1\nPOST\n/v1/reports?x=1\nparty-a.example/liaison\n98dfabf3\n\
//!     1742256000000\n000102030405060708090a0b0c0d0e0f\n\
//!     920e5591b811bf1bd16faa41037aebddda98a2a15f1a1d468e04c23122733e77\n");
//!
//! let header = signer.authorization("POST", "/v1/reports?x=1", body, now_ms, nonce)?;
//!
//! // The server side.
//! let mut keys = BTreeMap::new();
//! keys.insert(name.clone(), RegisteredKey {
//!     verifier: signer.verifier(),
//!     role: Role::Party,
//!     party: Some("party-a".to_owned()),
//!     revoked_at_ms: None,
//! });
//! let verifier = RequestVerifier::default();
//! let mut window = verifier.nonce_window();
//! let who = verifier.verify(&header, "POST", "/v1/reports?x=1", body, now_ms + 1_500, &keys, &mut window)?;
//! assert_eq!((who.key, who.role), (name, Role::Party));
//! // The same request again is a replay.
//! assert!(verifier.verify(&header, "POST", "/v1/reports?x=1", body, now_ms + 2_000, &keys, &mut window).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Checking a request
//!
//! [`RequestVerifier::verify`] checks, in order: the header's syntax, that the
//! key is known, its key id, revocation, clock skew (at most
//! [`DEFAULT_MAX_SKEW_MS`], five minutes, either way, by default), the
//! signature, and that the key has not used the nonce before. A key revoked at
//! or before the request's timestamp is refused, and so is a request signed
//! before the revocation but arriving after it. Each refusal is an
//! [`AuthError`] with an HTTP status, a stable problem type and the header
//! parameter at fault, for RFC 9457 problem bodies.
//!
//! # Replays
//!
//! [`NonceWindow`] remembers each key's nonces for as long as a request with
//! that timestamp could still be accepted; since a request whose timestamp is
//! further than the skew from the clock is refused anyway, forgetting older
//! nonces is safe, and memory is bounded by the requests stamped within twice
//! the skew. A server saves [`NonceWindow::entries`] and reloads them with
//! [`NonceWindow::restore`] across restarts.
//!
//! # Roles
//!
//! [`permits`] is the one table of which [`Role`] may perform which
//! [`Action`] (written out in the documentation of [`role`]); [`require`]
//! turns a refusal into [`AuthError::Forbidden`]. The public role never sees
//! source identities, clear sensitive fields or monitors' exact positions: it
//! sees a monitor's position only through [`coarsen_position`].

mod canonical;
mod coarsen;
mod error;
mod header;
mod nonce;
pub mod role;
mod signer;
mod verify;

pub use canonical::{
    CANONICAL_VERSION_LINE, NONCE_LEN, Nonce, NonceParseError, RequestError, body_digest_hex,
    canonical_request,
};
pub use coarsen::{CoarsenError, DEFAULT_CELL_DEG, MIN_CELL_DEG, coarsen_position};
pub use error::AuthError;
pub use header::{AuthorizationHeader, PARAMETERS, SCHEME};
pub use nonce::{NonceEntry, NonceWindow};
pub use role::{
    Action, Role, UnknownRole, may_read_source_identity, may_retract, permits, require,
};
pub use signer::RequestSigner;
pub use verify::{
    Authenticated, DEFAULT_MAX_SKEW_MS, KeyDirectory, RegisteredKey, RequestVerifier,
};
