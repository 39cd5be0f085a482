//! The Ed25519 `cosignature/v1` format of c2sp.org/tlog-cosignature.
//!
//! A cosignature is a note signature line whose bytes after the key id are a
//! `timestamped_signature`: an 8-byte big-endian POSIX timestamp followed by a
//! 64-byte Ed25519 signature over
//!
//! ```text
//! cosignature/v1\n
//! time <timestamp in decimal>\n
//! <checkpoint body, extension lines included, final newline included>
//! ```
//!
//! The key id is computed with type byte 0x04. The message does not commit to
//! the cosigner's name.

use std::fmt::Write as _;

/// The header line (with its newline) that starts every signed message.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// The largest timestamp the format allows: 2^63 − 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Length of a `timestamped_signature` for Ed25519: 8 + 64 bytes.
pub const TIMESTAMPED_SIGNATURE_LEN: usize = 72;

/// Why bytes are not an Ed25519 `timestamped_signature`, or a timestamp is
/// out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The signature bytes (after the key id) are not 72 bytes long.
    #[error("a timestamped Ed25519 signature is {TIMESTAMPED_SIGNATURE_LEN} bytes, got {actual}")]
    Length {
        /// The length given.
        actual: usize,
    },
    /// The timestamp exceeds 2^63 − 1.
    #[error("cosignature timestamp {timestamp} exceeds 2^63 - 1")]
    TimestampTooLarge {
        /// The rejected timestamp.
        timestamp: u64,
    },
}

/// An Ed25519 `timestamped_signature`: the bytes of a cosignature after its
/// key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampedSignature {
    /// POSIX seconds at which the cosignature was made.
    pub timestamp: u64,
    /// The Ed25519 signature over [`signed_message`].
    pub signature: [u8; 64],
}

impl TimestampedSignature {
    /// Reads 72 bytes: big-endian timestamp, then the signature. Refuses a
    /// timestamp above 2^63 − 1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CosignatureError> {
        let exact = <&[u8; TIMESTAMPED_SIGNATURE_LEN]>::try_from(bytes).map_err(|_| {
            CosignatureError::Length {
                actual: bytes.len(),
            }
        })?;
        let (time_bytes, signature_bytes) = exact.split_at(8);
        let mut time = [0u8; 8];
        time.copy_from_slice(time_bytes);
        let timestamp = u64::from_be_bytes(time);
        check_timestamp(timestamp)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(signature_bytes);
        Ok(Self {
            timestamp,
            signature,
        })
    }

    /// The 72 wire bytes.
    pub fn to_bytes(&self) -> [u8; TIMESTAMPED_SIGNATURE_LEN] {
        let mut out = [0u8; TIMESTAMPED_SIGNATURE_LEN];
        out[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..].copy_from_slice(&self.signature);
        out
    }
}

pub(crate) fn check_timestamp(timestamp: u64) -> Result<(), CosignatureError> {
    if timestamp > MAX_TIMESTAMP {
        Err(CosignatureError::TimestampTooLarge { timestamp })
    } else {
        Ok(())
    }
}

/// The exact message an Ed25519 `cosignature/v1` signs:
/// `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint body.
pub fn signed_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    let mut message = String::with_capacity(40 + checkpoint_text.len());
    message.push_str(COSIGNATURE_V1_HEADER);
    // Writing to a String cannot fail.
    let _ = writeln!(message, "time {timestamp}");
    message.push_str(checkpoint_text);
    message.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        assert_eq!(
            signed_message(1679315147, "o\n1\nAA==\n"),
            b"cosignature/v1\ntime 1679315147\no\n1\nAA==\n".to_vec()
        );
        assert_eq!(
            signed_message(0, "x\n"),
            b"cosignature/v1\ntime 0\nx\n".to_vec()
        );
    }

    #[test]
    fn timestamped_signature_bytes() {
        let value = TimestampedSignature {
            timestamp: 0x0102_0304_0506_0708,
            signature: [0xab; 64],
        };
        let bytes = value.to_bytes();
        assert_eq!(&bytes[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(TimestampedSignature::from_bytes(&bytes), Ok(value));
        assert_eq!(
            TimestampedSignature::from_bytes(&bytes[..71]),
            Err(CosignatureError::Length { actual: 71 })
        );
        let mut too_late = bytes;
        too_late[0] = 0x80;
        assert_eq!(
            TimestampedSignature::from_bytes(&too_late),
            Err(CosignatureError::TimestampTooLarge {
                timestamp: 0x8002_0304_0506_0708
            })
        );
    }
}
