//! The 32-byte hash type and the RFC 9162 §2.1.1 hashing rules.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Length in bytes of every hash in this crate (SHA-256).
pub const HASH_LEN: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
///
/// `Display`, `Debug` and [`Hash::to_hex`] print lowercase hex; `FromStr` and
/// [`Hash::from_hex`] read hex in either case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash([u8; HASH_LEN]);

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// A byte string that cannot be a [`Hash`](struct@Hash) because its length is not 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a hash must be {HASH_LEN} bytes, got {len}")]
pub struct HashLengthError {
    /// The length that was given.
    pub len: usize,
}

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string does not have 64 characters.
    #[error("a hex hash must be {} characters, got {len}", HASH_LEN * 2)]
    Length {
        /// The number of bytes in the string.
        len: usize,
    },
    /// A character is not a hex digit.
    #[error("invalid hex digit at position {position}")]
    Digit {
        /// The byte offset of the first offending character.
        position: usize,
    },
}

impl Hash {
    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads a hash from a byte slice, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashLengthError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| HashLengthError { len: bytes.len() })
    }

    /// The 32 bytes of the hash.
    pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// The 32 bytes of the hash, by value.
    pub const fn to_bytes(self) -> [u8; HASH_LEN] {
        self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(HASH_LEN * 2);
        for byte in self.0 {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HexError> {
        let digits = text.as_bytes();
        if digits.len() != HASH_LEN * 2 {
            return Err(HexError::Length { len: digits.len() });
        }
        let mut out = [0u8; HASH_LEN];
        for (byte_idx, pair) in digits.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or(HexError::Digit {
                position: byte_idx * 2,
            })?;
            let low = hex_value(pair[1]).ok_or(HexError::Digit {
                position: byte_idx * 2 + 1,
            })?;
            out[byte_idx] = (high << 4) | low;
        }
        Ok(Self(out))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl From<[u8; HASH_LEN]> for Hash {
    fn from(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }
}

impl From<Hash> for [u8; HASH_LEN] {
    fn from(hash: Hash) -> Self {
        hash.0
    }
}

impl TryFrom<&[u8]> for Hash {
    type Error = HashLengthError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::from_slice(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for Hash {
    type Err = HexError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// The leaf hash of an entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// The root of the empty tree, [`EMPTY_ROOT`] (SHA-256 of the empty string).
pub const fn empty_root() -> Hash {
    EMPTY_ROOT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let computed: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(EMPTY_ROOT, Hash(computed));
        assert_eq!(
            EMPTY_ROOT.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_hashes_match_known_values() {
        // SHA-256 of the single byte 0x00.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        // SHA-256(0x01 || 0x00*32 || 0xff*32) and the swapped order, computed with Python hashlib.
        let zeros = Hash([0x00; 32]);
        let ones = Hash([0xff; 32]);
        assert_eq!(
            node_hash(&zeros, &ones).to_hex(),
            "bc6b943b820c449acf880d293c216a24a8066b153f87f2361fae2beda3a72641"
        );
        assert_eq!(
            node_hash(&ones, &zeros).to_hex(),
            "a72afab084e5434c27771f0c63ab22802c9f2e963e417e09b4a95a3fdf4baff6"
        );
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let hash = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&hash.to_hex()), Ok(hash));
        assert_eq!(hash.to_hex().to_uppercase().parse::<Hash>(), Ok(hash));
        assert_eq!(format!("{hash}"), hash.to_hex());
        assert_eq!(Hash::from_hex("abc"), Err(HexError::Length { len: 3 }));
        let mut bad = hash.to_hex();
        bad.replace_range(7..8, "g");
        assert_eq!(Hash::from_hex(&bad), Err(HexError::Digit { position: 7 }));
        // A multi-byte character must not panic on a char boundary.
        let mut unicode = "é".to_owned();
        unicode.push_str(&"0".repeat(62));
        assert_eq!(unicode.len(), 64);
        assert_eq!(
            Hash::from_hex(&unicode),
            Err(HexError::Digit { position: 0 })
        );
    }

    #[test]
    fn from_slice_checks_length() {
        assert_eq!(
            Hash::from_slice(&[0u8; 31]),
            Err(HashLengthError { len: 31 })
        );
        assert_eq!(Hash::from_slice(&[]), Err(HashLengthError { len: 0 }));
        assert_eq!(
            Hash::from_slice(&[0u8; 33]),
            Err(HashLengthError { len: 33 })
        );
        assert_eq!(Hash::from_slice(&[7u8; 32]), Ok(Hash([7u8; 32])));
    }
}
