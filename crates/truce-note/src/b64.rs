//! Standard base64 (RFC 4648 §4) with padding, decoded strictly.
//!
//! Strict means canonical: padding is required and the unused low bits of the
//! last character must be zero. Every byte string therefore has exactly one
//! accepted encoding, so changing any character of an encoded signature or key
//! either changes the decoded bytes or is refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Encodes bytes as padded standard base64.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes padded, canonical standard base64; `None` for anything else.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}
